"""LambdaEdgeRouter: the Lambda@Edge engine's origin-request router, its role and its package.

CloudFront accepts Lambda@Edge functions from us-east-1 only, as a numbered version (CloudFront
developer guide, "Restrictions on Lambda@Edge"), so the function lives in us-east-1 whatever the
stack's ``aws:region`` is and the component exposes ``qualified_arn``, the ARN of the version
published with this package. Lambda@Edge has no environment variables, so the routing table is baked
into the package as ``routing.json``: the same table and buckets give the same bytes, and so no new
version.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import pulumi
import pulumi_aws as aws

from components.aliases import known_before_as
from core.cloudfront import (
    EDGE_FUNCTION_DESCRIPTION,
    EDGE_FUNCTION_MEMORY_MB,
    EDGE_FUNCTION_RUNTIME,
    EDGE_FUNCTION_TIMEOUT_SECONDS,
    LAMBDA_EDGE_REGION,
)
from core.monitoring import DEFAULT_LOG_RETENTION_DAYS
from core.policies import (
    edge_function_log_group_names,
    edge_function_logging_policy,
    edge_function_trust_policy,
    state_reader_policy,
)
from edge_function.package import HANDLER_NAME, routing_package_files
from routing.artifact import DEFAULT_MARKER_HEADER, StateSource
from routing.catalogue import lambda_edge_execution_regions
from routing.table import RoutingTable

# The component's type token before it was named after its engine: stacks deployed then keep it.
_PREVIOUS_TYPE = "geo-proximity:index:EdgeFunction"


class LambdaEdgeRouterError(ValueError):
    """LambdaEdgeRouterArgs that do not describe a function the edge can run."""


@dataclass(frozen=True)
class LambdaEdgeRouterArgs:
    routing: RoutingTable
    """Required. Where every edge Region sends a cache miss (``derive_routing_table``)."""

    bucket_names: Mapping[str, pulumi.Input[str]]
    """Origin Region → the name of its bucket, for every origin of ``routing``. Required."""

    marker_header: str = DEFAULT_MARKER_HEADER
    """The custom header the origin group's failover member carries. Default ``X-Geo-Failover``."""

    log_retention_days: int = DEFAULT_LOG_RETENTION_DAYS
    """Days CloudWatch keeps the function's logs, in every Region where it runs.
    Default ``DEFAULT_LOG_RETENTION_DAYS``."""

    state_table_name: pulumi.Input[str] | None = None
    """The routing state table (``RoutingState.table_name``) the function reads which origins are
    out of rotation from, in the replica of the Region it runs in. Default None: no routing state
    (one origin); the rankings alone decide."""

    state_regions: Sequence[str] = ()
    """The Regions holding a replica of ``state_table_name``, its home Region first. Required with
    a table. Default none."""

    log_regions: Sequence[str] = field(default_factory=lambda_edge_execution_regions)
    """Regions whose log group to declare: where replicas run. Default: the Regional edge cache
    Regions of the catalogue."""

    tags: Mapping[str, str] = field(default_factory=dict)
    """Tags of the function, its role and its log groups. Default none."""

    def __post_init__(self) -> None:
        if (self.state_table_name is None) != (not self.state_regions):
            raise LambdaEdgeRouterError(
                "state_table_name and state_regions go together: the table and where its "
                "replicas are"
            )


class LambdaEdgeRouter(pulumi.ComponentResource):
    qualified_arn: pulumi.Output[str]
    """The published version's ARN (``...:function:<name>:<version>``): what CloudFront uses."""

    function_name: pulumi.Output[str]
    """The function's name; its replicas log to ``/aws/lambda/us-east-1.<name>`` where they run."""

    log_group_names: pulumi.Output[dict[str, str]]
    """Region → the log group declared there, with ``log_retention_days``."""

    role_arn: pulumi.Output[str]
    """The execution role: trusted by Lambda and Lambda@Edge, allowed to write its own logs and,
    with a routing state, to query its table, nothing else."""

    def __init__(
        self, name: str, args: LambdaEdgeRouterArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__(
            "geo-proximity:index:LambdaEdgeRouter",
            name,
            None,
            known_before_as(_PREVIOUS_TYPE, opts),
        )
        tags = dict(args.tags)
        # Lambda@Edge functions live in us-east-1, whatever aws:region says; the role is global.
        child = pulumi.ResourceOptions(parent=self)
        role = aws.iam.Role(
            f"{name}-role",
            aws.iam.RoleArgs(
                assume_role_policy=json.dumps(edge_function_trust_policy()),
                description="Lambda@Edge origin-request router: writes its own logs, reads the "
                "routing state",
                tags=tags,
            ),
            opts=child,
        )
        function = aws.lambda_.Function(
            f"{name}-function",
            aws.lambda_.FunctionArgs(
                region=LAMBDA_EDGE_REGION,
                role=role.arn,
                runtime=EDGE_FUNCTION_RUNTIME,
                architectures=["x86_64"],
                handler=HANDLER_NAME,
                code=self._code(args),
                memory_size=EDGE_FUNCTION_MEMORY_MB,
                timeout=EDGE_FUNCTION_TIMEOUT_SECONDS,
                # CloudFront needs a numbered version; every routing change publishes a new one.
                publish=True,
                # Replicas outlive the association by hours and block deletion until then: on
                # destroy the function leaves the stack and stays in the account
                # (docs/cleanup.md).
                skip_destroy=True,
                # What ./dev cleanup also recognises the router by (docs/cleanup.md).
                description=EDGE_FUNCTION_DESCRIPTION,
                tags=tags,
            ),
            opts=child,
        )
        log_groups = self._log_groups(name, function.name, args, tags)
        account_id = aws.get_caller_identity_output(
            opts=pulumi.InvokeOptions(parent=self)
        ).account_id
        aws.iam.RolePolicy(
            f"{name}-logs",
            aws.iam.RolePolicyArgs(
                role=role.id,
                policy=pulumi.Output.all(account_id, function.name).apply(
                    lambda values: json.dumps(edge_function_logging_policy(values[0], values[1]))
                ),
            ),
            opts=child,
        )

        waits_for = [group.name for group in log_groups.values()]
        if args.state_table_name is not None:
            state_policy = aws.iam.RolePolicy(
                f"{name}-state",
                aws.iam.RolePolicyArgs(
                    role=role.id,
                    policy=pulumi.Output.all(account_id, args.state_table_name).apply(
                        lambda values: json.dumps(state_reader_policy(values[0], values[1]))
                    ),
                ),
                opts=child,
            )
            waits_for.append(state_policy.id)

        # The ARN CloudFront associates becomes known only once every log group exists (no replica
        # runs, and so none logs into a group Lambda would create without retention, before then)
        # and the function may read the routing state.
        self.qualified_arn = pulumi.Output.all(function.qualified_arn, *waits_for).apply(
            lambda values: str(values[0])
        )
        self.function_name = function.name
        self.role_arn = role.arn
        self.log_group_names = pulumi.Output.all(
            **{region: group.name for region, group in log_groups.items()}
        ).apply(dict)
        self.register_outputs(
            {
                "qualifiedArn": self.qualified_arn,
                "functionName": self.function_name,
                "roleArn": self.role_arn,
                "logGroupNames": self.log_group_names,
            }
        )

    @staticmethod
    def _code(args: LambdaEdgeRouterArgs) -> pulumi.Output[pulumi.AssetArchive]:
        """The package: the handler and its routing artifact, over the bucket names and, with a
        routing state, the table it reads (``edge_function.package``)."""
        regions = tuple(args.state_regions)

        def archive(values: list[Any]) -> pulumi.AssetArchive:
            names, table = values
            state = StateSource(table=table, regions=regions) if table is not None else None
            files = routing_package_files(
                args.routing, names, marker_header=args.marker_header, state=state
            )
            return pulumi.AssetArchive(
                {file_name: pulumi.StringAsset(text) for file_name, text in files.items()}
            )

        return pulumi.Output.all(
            pulumi.Output.all(**args.bucket_names), args.state_table_name
        ).apply(archive)

    def _log_groups(
        self,
        name: str,
        function_name: pulumi.Output[str],
        args: LambdaEdgeRouterArgs,
        tags: dict[str, str],
    ) -> dict[str, aws.cloudwatch.LogGroup]:
        """Lambda@Edge logs to ``/aws/lambda/us-east-1.<name>`` in each Region where a replica
        runs; a group Lambda creates itself never expires, so each is declared first, with a
        retention (CloudFront developer guide, "Edge function logs")."""
        names = function_name.apply(edge_function_log_group_names)
        # (output key, logical name, Region, group name): one per Region where replicas run, and
        # us-east-1's group for direct invocations (a console test), which log without the prefix.
        placements = [
            (region, f"{name}-logs-{region}", region, names[0])
            for region in dict.fromkeys([LAMBDA_EDGE_REGION, *args.log_regions])
        ]
        placements.append(
            (f"{LAMBDA_EDGE_REGION} (direct)", f"{name}-logs-direct", LAMBDA_EDGE_REGION, names[1])
        )
        return {
            key: aws.cloudwatch.LogGroup(
                logical_name,
                aws.cloudwatch.LogGroupArgs(
                    region=region,
                    name=group_name,
                    retention_in_days=args.log_retention_days,
                    # Replicas outlive the stack by hours, as the function does
                    # (docs/cleanup.md).
                    skip_destroy=True,
                    tags=tags,
                ),
                opts=pulumi.ResourceOptions(parent=self),
            )
            for key, logical_name, region, group_name in placements
        }
