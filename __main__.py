"""Geo-proximity delivery: CloudFront in front of one S3 bucket per Region, each cache miss served
by the bucket nearest the edge that asked, with origin failover when a Region is down."""

from collections.abc import Callable
from typing import Any

import pulumi
import pulumi_aws as aws

from components.access_logs import AccessLogs, AccessLogsArgs
from components.batch_replication import BatchReplication, BatchReplicationArgs
from components.cloudfront_function import CloudFrontFunctionRouter, CloudFrontFunctionRouterArgs
from components.distribution import GeoProximityDistribution, GeoProximityDistributionArgs
from components.evacuator import Evacuator, EvacuatorArgs
from components.lambda_edge import LambdaEdgeRouter, LambdaEdgeRouterArgs
from components.monitoring import Monitoring, MonitoringArgs, ReplicationPair
from components.promises import Promises
from components.regional_origin import RegionalOrigin, RegionalOriginArgs
from components.replication import ReplicationMesh, ReplicationMeshArgs
from components.routing_state import RoutingState, RoutingStateArgs
from components.web_acl import WebAcl, WebAclArgs
from core.engine import Engine
from core.routing_state import routing_state_output
from core.waf import WEB_ACL_MANAGED
from routing.catalogue import lambda_edge_execution_regions
from settings.parser import load_settings
from settings.table import Replication

settings = load_settings()
routing = settings.routing

# An error anywhere below still ends the run with that error: an output promised early and not
# yet kept would otherwise keep Pulumi waiting for it (components/promises.py).
with Promises() as promises:
    # Every bucket grants the identity the distribution signs with; with origin access control that
    # identity names the distribution, which itself needs the buckets, so the grant is promised here
    # and kept below once the distribution exists (and so changes only after the distribution does).
    read_grants: pulumi.Output[list[dict[str, Any]]]
    grant_read_access: Callable[[pulumi.Output[list[dict[str, Any]]]], None]
    read_grants, grant_read_access = promises.promise()

    origins = {
        region: RegionalOrigin(
            f"origin-{region}",
            RegionalOriginArgs(
                region=region,
                read_grants=read_grants,
                noncurrent_version_days=settings.noncurrent_version_days,
                # What the evacuator's health checks read.
                health_object=settings.evacuation,
                tags=settings.tags,
            ),
        )
        for region in settings.origins
    }

    bucket_names = {region: origin.bucket_name for region, origin in origins.items()}

    # Nearest-bucket routing is only right if every bucket holds the same objects.
    replication = (
        ReplicationMesh(
            "replication",
            ReplicationMeshArgs(
                origins=origins,
                replication_time_control=settings.replication_time_control,
                # Replication metrics feed the alarms and the dashboard.
                metrics=settings.monitoring,
                tags=settings.tags,
            ),
        )
        if settings.replication is Replication.MESH
        else None
    )
    # What ./dev backfill needs to fill a new Region with S3 Batch Replication
    # (docs/adding-a-region.md).
    batch_replication = (
        BatchReplication(
            "batch-replication", BatchReplicationArgs(origins=origins, tags=settings.tags)
        )
        if replication
        else None
    )

    # Which origins are out of rotation is data the edge reads at run time, not code: a DynamoDB
    # global table (read by Lambda@Edge where it runs; the evacuator's state) and, for a CloudFront
    # function, a key value store. Pulumi writes the drained list (and the edge code carries it);
    # the evacuator, what it evacuates. Where each store lives is derived once
    # (core.routing_state), for the program, the sandbox and the tools.
    lambda_edge = settings.engine is Engine.LAMBDA_EDGE
    layout = settings.routing_state
    routing_state = (
        RoutingState(
            "routing-state",
            RoutingStateArgs(
                table_regions=layout.table_regions,
                key_value_store=layout.key_value_store,
                drained_key=layout.drained_key,
                drained=sorted(routing.drained),
                tags=settings.tags,
            ),
        )
        if layout is not None
        else None
    )

    # A web ACL in front (webAcl): the program's own (managed), or the operator's, by ARN.
    web_acl = (
        WebAcl("web-acl", WebAclArgs(rate_limit=settings.waf_rate_limit, tags=settings.tags))
        if settings.web_acl == WEB_ACL_MANAGED
        else None
    )
    web_acl_arn: pulumi.Input[str] | None = web_acl.arn if web_acl else settings.web_acl
    # The dashboard names a web ACL by its metric name; an operator's own is assumed to use its name
    # (the AWS WAF console's default), the part of its ARN before the id.
    web_acl_metric_name = (
        web_acl.metric_name if web_acl else settings.web_acl and settings.web_acl.split("/")[-2]
    )

    # Alarms and a dashboard (on by default). Declared before what they watch: the evacuator
    # notifies on their topic, and a CloudFront function is published only once the evacuator has
    # written the state it reads, so alarms on the distribution and the function, declared after
    # them, would close a cycle (topic → evacuator → function → distribution → alarms). The topics
    # come first; the distribution's id and the function's name are promised here and kept below,
    # once both exist.
    distribution_id: pulumi.Output[str]
    function_name: pulumi.Output[str]
    keep_distribution_id: Callable[[pulumi.Output[str]], None]
    keep_function_name: Callable[[pulumi.Output[str]], None]
    distribution_id, keep_distribution_id = promises.promise()
    function_name, keep_function_name = promises.promise()
    monitoring = (
        Monitoring(
            "monitoring",
            MonitoringArgs(
                distribution_id=distribution_id,
                function_name=function_name,
                engine=settings.engine,
                execution_regions=lambda_edge_execution_regions(),
                replication=[
                    ReplicationPair(source, target, bucket_names[source], bucket_names[target])
                    for source, targets in (replication.destinations if replication else {}).items()
                    for target in targets
                ],
                alarm_email=settings.alarm_email,
                error_rate_percent=settings.alarm_error_rate_percent,
                evaluation_minutes=settings.alarm_evaluation_minutes,
                error_count=settings.alarm_error_count,
                evacuation_stack=settings.stack if settings.evacuation else None,
                evacuation_vantages=settings.evacuation_vantages if settings.evacuation else (),
                evacuation_buckets=bucket_names if settings.evacuation else {},
                web_acl_metric_name=web_acl_metric_name,
                tags=settings.tags,
            ),
        )
        if settings.monitoring
        else None
    )

    # Health checks from several vantage Regions that take a failing origin out of rotation by
    # themselves and bring it back (on by default with two or more origins).
    evacuator = (
        Evacuator(
            "evacuator",
            EvacuatorArgs(
                vantages=settings.evacuation_vantages,
                bucket_names=bucket_names,
                table_name=routing_state.table_name,
                table_region=routing_state.table_region,
                kvs_arn=routing_state.kvs_arn,
                topic_arn=monitoring.global_topic_arn if monitoring else None,
                drained=sorted(routing.drained),
                failures=settings.evacuation_failures,
                recoveries=settings.evacuation_recoveries,
                max_out=settings.evacuation_max_out,
                connect_timeout=settings.origin_connection_timeout,
                log_retention_days=settings.log_retention_days,
                stack_name=settings.stack,
                tags=settings.tags,
            ),
        )
        if settings.evacuation
        and routing_state is not None
        and routing_state.table_name is not None
        else None
    )

    # The routing logic: Lambda@Edge on every cache miss, or a CloudFront function on every request.
    router: LambdaEdgeRouter | CloudFrontFunctionRouter
    if lambda_edge:
        router = LambdaEdgeRouter(
            "router",
            LambdaEdgeRouterArgs(
                routing=routing,
                bucket_names=bucket_names,
                marker_header=settings.marker_header,
                log_retention_days=settings.log_retention_days,
                state_table_name=routing_state.table_name if routing_state else None,
                state_regions=routing_state.table_regions if routing_state else (),
                tags=settings.tags,
            ),
        )
        function_arn = router.qualified_arn
    else:
        router = CloudFrontFunctionRouter(
            "router",
            CloudFrontFunctionRouterArgs(
                routing=routing,
                failover_status_codes=settings.failover_status_codes,
                log_retention_days=settings.log_retention_days,
                # With an evacuator, the store once it holds the state the function reads.
                kvs_arn=(
                    evacuator.synced_kvs_arn
                    if evacuator is not None
                    else routing_state.kvs_arn
                    if routing_state is not None
                    else None
                ),
                state_key=settings.state_key,
                tags=settings.tags,
            ),
        )
        function_arn = router.arn

    cdn = GeoProximityDistribution(
        "cdn",
        GeoProximityDistributionArgs(
            origin_domain_names={region: origin.domain_name for region, origin in origins.items()},
            default_origin=routing.default_origin,
            function_arn=function_arn,
            engine=settings.engine,
            next_engine=settings.next_engine,
            failover_origin=routing.failover_origin,
            failover_status_codes=settings.failover_status_codes,
            connection_attempts=settings.origin_connection_attempts,
            connection_timeout=settings.origin_connection_timeout,
            response_completion_timeout=settings.origin_response_completion_timeout,
            security_headers=settings.security_headers,
            price_class=settings.price_class,
            aliases=settings.aliases,
            certificate_arn=settings.certificate_arn,
            marker_header=settings.marker_header,
            tags=settings.tags,
            web_acl_id=web_acl_arn,
        ),
    )
    grant_read_access(cdn.read_grants)
    keep_distribution_id(cdn.distribution_id)
    keep_function_name(router.function_name)

# Access logs (off by default).
access_logs = (
    AccessLogs(
        "access-logs",
        AccessLogsArgs(
            distribution_arn=cdn.arn,
            # The stack's home Region: its aws:region.
            region=aws.get_region_output().region,
            days=settings.access_log_days,
            output_format=settings.access_log_format,
            tags=settings.tags,
        ),
    )
    if settings.access_logs
    else None
)

pulumi.export("distributionId", cdn.distribution_id)
pulumi.export("distributionArn", cdn.arn)
pulumi.export("distributionDomainName", cdn.domain_name)
pulumi.export("engine", settings.engine.value)
if isinstance(router, LambdaEdgeRouter):
    pulumi.export("edgeFunctionVersionArn", router.qualified_arn)
else:
    pulumi.export("cloudFrontFunctionArn", router.arn)
pulumi.export("buckets", bucket_names)
pulumi.export("routing", routing.summary())
pulumi.export("replication", replication.destinations if replication else {})
if batch_replication is not None:
    pulumi.export(
        "batchReplication",
        {"roleArn": batch_replication.role_arn, "reportBuckets": batch_replication.report_buckets},
    )
# Where the routing state lives, for ./dev evacuate, restore and status (break-glass).
pulumi.export(
    "routingState",
    routing_state_output(
        layout,
        engine=settings.engine,
        table=routing_state.table_name if routing_state else None,
        kvs_arn=routing_state.kvs_arn if routing_state else None,
    ),
)
if monitoring is not None:
    pulumi.export("dashboardName", monitoring.dashboard_name)
    pulumi.export("alarmTopics", monitoring.topic_arns)
if access_logs is not None:
    pulumi.export("accessLogBucket", access_logs.bucket_name)
if web_acl_arn is not None:
    pulumi.export("webAclArn", web_acl_arn)
