"""Monitoring: CloudWatch alarms where each metric lives, an SNS topic per Region that has alarms,
and one cross-Region dashboard, for either engine.

A CloudWatch alarm can notify only an SNS topic of its own Region, so every Region with an alarm
gets a topic (and, with ``alarm_email``, a subscription to confirm). Where the metrics live:
CloudFront's and CloudFront Functions' in us-east-1 (``Region=Global``); Lambda@Edge's in each
Region where a replica ran, under the function name ``us-east-1.<name>``; S3 replication's in the
source bucket's Region, per rule, once the rule turns replication metrics on; the evacuator's
``GeoProximity``/``OriginsInRotation`` in us-east-1, alarmed on when every origin is out. Which
alarms and widgets exist is decided by plain functions (``alarm_specs``, ``dashboard_body``),
testable without Pulumi.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import pulumi
import pulumi_aws as aws

from components.replication import replication_rule_id
from core.engine import Engine
from core.monitoring import (
    CHECKS_HELD_ALARM,
    DEFAULT_ALARM_ERROR_COUNT,
    DEFAULT_ALARM_ERROR_RATE_PERCENT,
    DEFAULT_ALARM_EVALUATION_MINUTES,
    HEALTH_OBJECT_ALARM_PROBES,
    health_object_alarm_name,
)
from core.naming import dashboard_name, sns_display_name
from core.policies import deny_insecure_transport
from evacuation.evacuator import HEALTH_KEY, HEALTH_METRIC, HELD_METRIC
from evacuation.evacuator import METRIC_NAME as EVACUATION_METRIC
from evacuation.evacuator import METRIC_NAMESPACE as EVACUATION_METRIC_NAMESPACE

# CloudFront publishes its metrics, and CloudFront Functions', in us-east-1 under Region=Global.
CLOUDFRONT_METRICS_REGION = "us-east-1"
_MINUTE = 60

# How an alarm treats a period without data, chosen by how its metric reports. AWS's guidance
# (CloudWatch user guide, "Configuring how CloudWatch alarms treat missing data",
# https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/alarms-and-missing-data.html): "if
# you are creating an application rollback alarm using a metric that continually reports data, you
# might want to treat missing data points as breaching, because it might indicate that something is
# wrong. But for a metric that generates data points only when an error occurs, such as
# ThrottledRequests in Amazon DynamoDB, you would want to treat missing data as notBreaching."
# - a metric reported only while there is activity (requests, invocations, replication): no data is
#   no activity, so nothing failed: NOT_BREACHING;
# - a heartbeat (a report after every run): no data is the failure it watches for: BREACHING;
# - a level reported continuously whose silence another alarm already calls (the origins in
#   rotation, beside each vantage Region's heartbeat): IGNORE keeps the alarm's state, so a minute
#   without a report neither clears an alarm that is up nor raises one that would say "every origin
#   is out" when the evacuators fell silent (their heartbeats say that);
# - "Alarms that evaluate metrics in the AWS/DynamoDB namespace always ignore missing data even if
#   you choose a different option" (PutMetricAlarm, TreatMissingData): no alarm here watches one,
#   and tests/aws_rules.py refuses any that says otherwise.
NOT_BREACHING = "notBreaching"
BREACHING = "breaching"
IGNORE = "ignore"


@dataclass(frozen=True)
class AlarmSpec:
    """One CloudWatch alarm: what it watches, where, and when it fires."""

    key: str
    region: str
    namespace: str
    metric: str
    dimensions: Mapping[str, Any]
    statistic: str
    threshold: float
    description: pulumi.Input[str]
    # Rates breach only when every one of the evaluation minutes does; counts are summed over them.
    rate: bool = False
    # A level that breaches below the threshold, in any one minute (the origins in rotation).
    below: bool = False
    # A heartbeat: breaches when fewer reports than the threshold arrived in five minutes, and
    # when none did (missing data breaches).
    heartbeat: bool = False
    # A period without data: NOT_BREACHING, BREACHING or IGNORE (see above).
    missing_data: str = NOT_BREACHING


@dataclass(frozen=True)
class ReplicationPair:
    source: str
    destination: str
    source_bucket: pulumi.Input[str]
    destination_bucket: pulumi.Input[str]

    @property
    def rule_id(self) -> str:
        return replication_rule_id(self.destination)


def alarm_specs(
    *,
    engine: Engine,
    distribution_id: pulumi.Input[str],
    function_name: pulumi.Input[str],
    execution_regions: Sequence[str],
    replication: Sequence[ReplicationPair],
    error_rate_percent: float,
    error_count: int,
    evacuation_stack: str | None = None,
    evacuation_vantages: Sequence[str] = (),
    evacuation_buckets: Mapping[str, pulumi.Input[str]] | None = None,
) -> list[AlarmSpec]:
    """Every alarm the stack needs, in the Region where its metric lives."""
    specs = [
        AlarmSpec(
            "5xx-error-rate",
            CLOUDFRONT_METRICS_REGION,
            "AWS/CloudFront",
            "5xxErrorRate",
            {"DistributionId": distribution_id, "Region": "Global"},
            "Average",
            error_rate_percent,
            f"More than {error_rate_percent:g}% of viewer requests answered 5xx",
            rate=True,
            # A rate of the requests there were: a minute without data had none to fail.
            missing_data=NOT_BREACHING,
        )
    ]
    if engine is Engine.LAMBDA_EDGE:
        edge_name = pulumi.Output.from_input(function_name).apply(lambda name: f"us-east-1.{name}")
        for region in execution_regions:
            for metric, what in (("Errors", "failed"), ("Throttles", "were throttled")):
                specs.append(
                    AlarmSpec(
                        f"router-{metric.lower()}-{region}",
                        region,
                        "AWS/Lambda",
                        metric,
                        {"FunctionName": edge_name},
                        "Sum",
                        error_count,
                        f"Lambda@Edge router invocations in {region} {what}",
                        # Reported for invocations: no data, no invocation in that Region.
                        missing_data=NOT_BREACHING,
                    )
                )
    else:
        # CloudFront Functions' metrics ("Types of metrics for CloudFront"): AWS/CloudFront in
        # us-east-1, dimensions FunctionName and Region=Global, statistic Sum.
        for metric, what in (
            ("FunctionExecutionErrors", "threw"),
            ("FunctionValidationErrors", "asked CloudFront for something invalid"),
            ("FunctionThrottles", "was throttled"),
        ):
            specs.append(
                AlarmSpec(
                    f"router-{metric.lower()}",
                    CLOUDFRONT_METRICS_REGION,
                    "AWS/CloudFront",
                    metric,
                    {"FunctionName": function_name, "Region": "Global"},
                    "Sum",
                    error_count,
                    f"The CloudFront router function {what}",
                    # Reported for invocations: no data, no request.
                    missing_data=NOT_BREACHING,
                )
            )
    if evacuation_stack is not None:
        specs += evacuation_alarms(evacuation_stack, evacuation_vantages, evacuation_buckets or {})
    for pair in replication:
        specs.append(
            AlarmSpec(
                f"replication-failed-{pair.source}-to-{pair.destination}",
                pair.source,
                "AWS/S3",
                "OperationsFailedReplication",
                {
                    "SourceBucket": pair.source_bucket,
                    "DestinationBucket": pair.destination_bucket,
                    "RuleId": pair.rule_id,
                },
                "Sum",
                error_count,
                f"Objects failed to replicate from {pair.source} to {pair.destination}",
                # "Is this metric still published if replication doesn't occur?": "No" for
                # Operations Failed Replication (S3 user guide, "Using S3 Replication metrics",
                # https://docs.aws.amazon.com/AmazonS3/latest/userguide/repl-metrics.html): no
                # data is no replication, and so no failure. Counted over the whole window, so
                # one quiet minute does not clear it; a window without failures does.
                missing_data=NOT_BREACHING,
            )
        )
    return specs


def evacuation_alarms(
    stack: str, vantages: Sequence[str], buckets: Mapping[str, pulumi.Input[str]]
) -> list[AlarmSpec]:
    """The evacuator's alarms: every origin out, each vantage Region silent, each origin's health
    object unreadable, the checks held."""
    return [
        origins_in_rotation_alarm(stack),
        *(evacuator_silent_alarm(stack, vantage) for vantage in vantages),
        *(health_object_alarm(stack, origin, bucket) for origin, bucket in buckets.items()),
        checks_held_alarm(stack),
    ]


def origins_in_rotation_alarm(stack: str) -> AlarmSpec:
    """Every origin out of rotation: the edge then fails open and routes as if none were, and that
    state raises this alarm. The evacuator reports the origins in rotation after every invocation
    from each vantage Region (``evacuation.evacuator``); the highest report of a minute below 1
    means no vantage Region saw an origin in rotation. No report is not this alarm's business: an
    evacuator that stops reporting raises ``evacuator_silent_alarm``."""
    return AlarmSpec(
        "origins-in-rotation",
        CLOUDFRONT_METRICS_REGION,
        EVACUATION_METRIC_NAMESPACE,
        EVACUATION_METRIC,
        {"Stack": stack},
        "Maximum",
        1,
        f"Every origin of {stack} is out of rotation: the edge routes as if none were",
        below=True,
        # Reported after every run from every vantage Region, so continuous; its silence is each
        # vantage's heartbeat alarm's to call (evacuator_silent_alarm). Up, it stays up through a
        # minute without a report; it never claims every origin out because no one reported.
        missing_data=IGNORE,
    )


# How long an evacuator may go without reporting: five of its one-minute invocations.
HEARTBEAT_MINUTES = 5


def evacuator_silent_alarm(stack: str, vantage: str) -> AlarmSpec:
    """An evacuator that stopped working (its role, its signing or the state table failing it,
    Lambda throttling it): it reports after every invocation that completes, with a ``Vantage``
    dimension, so fewer than one report in five minutes, or none, raises this alarm. Without it a
    broken evacuator would evacuate nothing, and say nothing."""
    return AlarmSpec(
        f"evacuator-silent-{vantage}",
        CLOUDFRONT_METRICS_REGION,
        EVACUATION_METRIC_NAMESPACE,
        EVACUATION_METRIC,
        {"Stack": stack, "Vantage": vantage},
        "SampleCount",
        1,
        f"The evacuator of {stack} in {vantage} has not completed a run in {HEARTBEAT_MINUTES} "
        "minutes: its health checks are not running",
        heartbeat=True,
        missing_data=BREACHING,
    )


def health_object_alarm(stack: str, origin: str, bucket: pulumi.Input[str]) -> AlarmSpec:
    """The health object of ``origin``'s bucket cannot be read: its probes answer 403 or 404 (the
    object deleted, in this bucket or, through a mesh that replicates delete markers, in all; a
    policy or an SCP denying the probe; another account owning the bucket) or cannot be sent.
    The checks do not judge the origin on such answers (it serves; CloudFront does not fail over
    on them unless told to) and do not act on them: this alarm says so, naming the bucket. The
    evacuator counts such probes after each invocation; ``HEALTH_OBJECT_ALARM_PROBES`` of them in
    the window (about two minutes of one vantage Region's probes) raise it."""
    where = pulumi.Output.from_input(bucket).apply(
        lambda name: (
            f"The evacuator of {stack} cannot read the health object s3://{name}/{HEALTH_KEY} "
            f"of {origin} (403 or 404, or the probe cannot be sent): it does not judge "
            f"{origin} on it. Put the object back (pulumi up writes it) or fix the policy"
        )
    )
    return AlarmSpec(
        health_object_alarm_name(origin),
        CLOUDFRONT_METRICS_REGION,
        EVACUATION_METRIC_NAMESPACE,
        HEALTH_METRIC,
        {"Stack": stack, "Origin": origin},
        "Sum",
        HEALTH_OBJECT_ALARM_PROBES,
        where,
    )


def checks_held_alarm(stack: str) -> AlarmSpec:
    """The health checks would take an origin out and hold it in: past their blast radius
    (``evacuationMaxOut``), the last origin in rotation, or the table's home Region not answering
    (then they decide nothing). Origin failover still serves; the evacuator's notification names
    the origin and why."""
    return AlarmSpec(
        CHECKS_HELD_ALARM,
        CLOUDFRONT_METRICS_REGION,
        EVACUATION_METRIC_NAMESPACE,
        HELD_METRIC,
        {"Stack": stack},
        "Maximum",
        1,
        f"The health checks of {stack} hold an origin in rotation that they would take out "
        "(their limit, the last origin, or the state table's home Region not answering)",
    )


# CloudWatch dashboard body ("Dashboard Body Structure and Syntax"): at most 500 widgets; one
# metrics array holds at most 500 metrics; an alarm status widget 1-100 alarm ARNs. CloudWatch's
# quotas page (archived copy) adds at most 2,500 metrics per dashboard across all widgets.
MAX_WIDGETS = 500
MAX_METRICS_PER_WIDGET = 500
MAX_ALARMS_PER_WIDGET = 100
MAX_METRICS_PER_DASHBOARD = 2500
_WIDGET_HEIGHT = 6


def chunks(items: Sequence[Any], size: int) -> list[list[Any]]:
    """``items`` in consecutive lists of at most ``size``."""
    return [list(items[start : start + size]) for start in range(0, len(items), size)]


# The web ACL-wide series AWS WAF publishes beside each rule's: the same metric with Rule=ALL,
# the sum over every rule ("ALL" is among the metric names AWS WAF reserves, with
# "Default_Action": CloudFormation, AWS::WAFv2::WebACL VisibilityConfig, MetricName). Drawn among
# the rules it would double every one and dwarf them.
WAF_ALL_RULES = "ALL"


def web_acl_graph(web_acl_metric_name: str) -> tuple[str, list[list[Any]], str]:
    """The web ACL's allowed and blocked requests, per rule: AWS WAF's metrics (``AWS/WAFV2``,
    ``AllowedRequests`` and ``BlockedRequests``, dimensions ``WebACL`` (its metric name) and
    ``Rule``; no ``Region`` for CloudFront; in us-east-1: AWS WAF developer guide, "Monitoring
    with Amazon CloudWatch"). A SEARCH expression draws every ``Rule`` value AWS WAF publishes for
    the web ACL but the web ACL-wide ``Rule=ALL`` (a search term "can also contain Boolean
    operators": CloudWatch user guide, "CloudWatch search expression syntax"), so the rules of an
    operator's own web ACL need no knowing. A metric name is letters, digits, '-' and '_' only:
    nothing to escape."""
    metrics = [
        [
            {
                "expression": (
                    f'SEARCH(\'{{AWS/WAFV2,Rule,WebACL}} MetricName="{metric}" '
                    f'WebACL="{web_acl_metric_name}" NOT Rule="{WAF_ALL_RULES}"\', '
                    f"'Sum', {_MINUTE})"
                ),
                "id": metric.lower(),
                "label": metric,
            }
        ]
        for metric in ("AllowedRequests", "BlockedRequests")
    ]
    return ("Web ACL: allowed and blocked requests per rule (AWS WAF)", metrics, "Sum")


def routing_graphs(
    engine: Engine,
    function_name: str,
    execution_regions: Sequence[str],
    evacuation_stack: str | None,
) -> list[tuple[str, list[list[Any]], str]]:
    """The dashboard's graphs of the routing: the function's invocations where it runs and, with
    an evacuator, the origins in rotation (title, metrics, statistic)."""
    if engine is Engine.LAMBDA_EDGE:
        invocations = [
            [
                "AWS/Lambda",
                "Invocations",
                "FunctionName",
                f"us-east-1.{function_name}",
                {"region": region, "label": region},
            ]
            for region in execution_regions
        ]
        title = "Router invocations per execution Region (Lambda@Edge, cache misses)"
    else:
        invocations = [
            ["AWS/CloudFront", metric, "FunctionName", function_name, "Region", "Global"]
            for metric in ("FunctionInvocations", "FunctionExecutionErrors", "FunctionThrottles")
        ]
        title = "Router invocations (CloudFront Functions, every request)"
    graphs = [(title, invocations, "Sum")]
    if evacuation_stack is not None:
        graphs.append(
            (
                "Origins in rotation (evacuator, lowest report of each minute)",
                [[EVACUATION_METRIC_NAMESPACE, EVACUATION_METRIC, "Stack", evacuation_stack]],
                "Minimum",
            )
        )
    return graphs


def dashboard_body(
    *,
    engine: Engine,
    distribution_id: str,
    function_name: str,
    execution_regions: Sequence[str],
    replication: Sequence[tuple[str, str, str, str]],
    alarm_arns: Sequence[str],
    evacuation_stack: str | None = None,
    web_acl_metric_name: str | None = None,
) -> dict[str, Any]:
    """One dashboard over every Region: traffic and errors, where the routing runs, replication
    per pair (source Region, destination Region, source bucket, destination bucket), alarms; with a
    web ACL (its metric name), the requests it allowed and blocked. Within CloudWatch's limits at
    any number of origins: graphs of at most 500 metrics, alarm
    widgets of at most 100 alarms (as many as it takes, so every alarm shows), and replication
    drawn per pair only while the dashboard stays within 2,500 metrics."""
    cloudfront = ["AWS/CloudFront"]
    distribution = ["DistributionId", distribution_id, "Region", "Global"]
    graphs: list[tuple[str, list[list[Any]], str]] = [
        ("Requests", [[*cloudfront, "Requests", *distribution]], "Sum"),
        (
            "Error rates (%)",
            [
                [*cloudfront, metric, *distribution]
                for metric in ("4xxErrorRate", "5xxErrorRate", "TotalErrorRate")
            ],
            "Average",
        ),
    ]
    graphs += routing_graphs(engine, function_name, execution_regions, evacuation_stack)
    if web_acl_metric_name:
        graphs.append(web_acl_graph(web_acl_metric_name))
    budget = MAX_METRICS_PER_DASHBOARD - sum(len(metrics) for _, metrics, _ in graphs)
    # Latency first: it is what tells a replication falling behind; bytes pending while room lasts.
    # Both are "published in the Region of the destination bucket" (S3 user guide, "Using S3
    # Replication metrics"); OperationsFailedReplication, the alarms', in the source bucket's.
    for metric, stat in (("ReplicationLatency", "Maximum"), ("BytesPendingReplication", "Maximum")):
        if not replication or len(replication) > budget:
            break
        budget -= len(replication)
        pairs = [
            [
                "AWS/S3",
                metric,
                "SourceBucket",
                source_bucket,
                "DestinationBucket",
                destination_bucket,
                "RuleId",
                replication_rule_id(destination),
                {"region": destination, "label": f"{source} -> {destination}"},
            ]
            for source, destination, source_bucket, destination_bucket in replication
        ]
        parts = chunks(pairs, MAX_METRICS_PER_WIDGET)
        for number, part in enumerate(parts, start=1):
            suffix = f" ({number} of {len(parts)})" if len(parts) > 1 else ""
            graphs.append((f"Replication: {metric} per pair{suffix}", part, stat))
    widgets: list[dict[str, Any]] = [
        {
            "type": "metric",
            "properties": {
                "title": title,
                "metrics": metrics,
                "region": CLOUDFRONT_METRICS_REGION,
                "stat": stat,
                "period": _MINUTE,
                "view": "timeSeries",
            },
        }
        for title, metrics, stat in graphs
    ]
    alarm_parts = chunks(alarm_arns, MAX_ALARMS_PER_WIDGET)
    for number, part in enumerate(alarm_parts, start=1):
        suffix = f" ({number} of {len(alarm_parts)})" if len(alarm_parts) > 1 else ""
        widgets.append(
            {"type": "alarm", "properties": {"title": f"Alarms{suffix}", "alarms": part}}
        )
    if len(widgets) > MAX_WIDGETS:
        raise ValueError(f"{len(widgets)} dashboard widgets; CloudWatch allows {MAX_WIDGETS}")
    # One full-width widget under another.
    for row, widget in enumerate(widgets):
        widget.update(x=0, y=row * _WIDGET_HEIGHT, width=24, height=_WIDGET_HEIGHT)
    return {"widgets": widgets}


def topic_policy(topic_arn: str, account_id: str) -> dict[str, Any]:
    """Only this account's CloudWatch alarms may publish; nothing reaches the topic without TLS."""
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "CloudWatchAlarmsOfThisAccount",
                "Effect": "Allow",
                "Principal": {"Service": "cloudwatch.amazonaws.com"},
                "Action": "sns:Publish",
                "Resource": topic_arn,
                "Condition": {"StringEquals": {"aws:SourceAccount": account_id}},
            },
            deny_insecure_transport("sns:*", topic_arn),
        ],
    }


@dataclass(frozen=True)
class MonitoringArgs:
    distribution_id: pulumi.Input[str]
    """Required. The distribution whose error rate to watch."""

    function_name: pulumi.Input[str]
    """Required. The routing function's name: Lambda@Edge (its replicas report as
    ``us-east-1.<name>``) or the CloudFront function."""

    engine: Engine = Engine.LAMBDA_EDGE
    """Which engine ``function_name`` belongs to. Default ``lambda-edge``."""

    execution_regions: Sequence[str] = ()
    """Lambda@Edge: the Regions where replicas run, each with its own alarms. Default none."""

    replication: Sequence[ReplicationPair] = ()
    """Replicating bucket pairs whose failed operations to alarm on. Default none."""

    alarm_email: str | None = None
    """An address subscribed to every Region's topic (each subscription must be confirmed).
    Default None: topics without subscribers."""

    error_rate_percent: float = DEFAULT_ALARM_ERROR_RATE_PERCENT
    """The 5xx error rate (%) that, sustained, raises the alarm.
    Default ``DEFAULT_ALARM_ERROR_RATE_PERCENT``."""

    evaluation_minutes: int = DEFAULT_ALARM_EVALUATION_MINUTES
    """Minutes a rate must stay above its threshold, and the window counts are summed over.
    Default ``DEFAULT_ALARM_EVALUATION_MINUTES``."""

    error_count: int = DEFAULT_ALARM_ERROR_COUNT
    """Function errors, throttles or failed replications within the window that raise an alarm.
    Default ``DEFAULT_ALARM_ERROR_COUNT``."""

    evacuation_stack: str | None = None
    """With an evacuator: the stack name it reports ``GeoProximity``/``OriginsInRotation`` under
    (dimension ``Stack``), alarmed on below 1 and graphed. Default None: no evacuator."""

    evacuation_vantages: Sequence[str] = ()
    """With an evacuator: its vantage Regions, each with an alarm when it stops reporting (the
    same metric with a ``Vantage`` dimension). Default none."""

    evacuation_buckets: Mapping[str, pulumi.Input[str]] = field(default_factory=dict)
    """With an evacuator: origin Region → its bucket, each with an alarm when the checks cannot
    read its health object (named in the alarm). Default none."""

    web_acl_metric_name: pulumi.Input[str] | None = None
    """The metric name of the web ACL in front of the distribution (its ``WebACL`` dimension), whose
    allowed and blocked requests the dashboard draws. Default None: no web ACL, no graph."""

    tags: Mapping[str, str] = field(default_factory=dict)
    """Tags of the topics and alarms. Default none."""


class Monitoring(pulumi.ComponentResource):
    dashboard_name: pulumi.Output[str]
    """The dashboard's name (CloudWatch console, any Region)."""

    topic_arns: pulumi.Output[dict[str, str]]
    """Region → the SNS topic its alarms notify."""

    global_topic_arn: pulumi.Output[str]
    """The topic in us-east-1, where CloudFront's metrics and alarms live: where the rest of the
    stack notifies (the evacuator's evacuations and restores)."""

    alarm_count: int
    """How many alarms are declared (each is billed monthly)."""

    def __init__(
        self, name: str, args: MonitoringArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("geo-proximity:index:Monitoring", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        specs = alarm_specs(
            engine=args.engine,
            distribution_id=args.distribution_id,
            function_name=args.function_name,
            execution_regions=args.execution_regions,
            replication=args.replication,
            error_rate_percent=args.error_rate_percent,
            error_count=args.error_count,
            evacuation_stack=args.evacuation_stack,
            evacuation_vantages=args.evacuation_vantages,
            evacuation_buckets=args.evacuation_buckets,
        )
        topics = self._topics(name, args, [spec.region for spec in specs], child)
        alarms = self._alarms(name, args, specs, topics, child)
        dashboard = self._dashboard(name, args, alarms, child)
        self.dashboard_name = dashboard.dashboard_name
        self.topic_arns = pulumi.Output.all(
            **{region: topic.arn for region, topic in topics.items()}
        ).apply(dict)
        self.global_topic_arn = topics[CLOUDFRONT_METRICS_REGION].arn
        self.alarm_count = len(alarms)
        self.register_outputs(
            {
                "dashboardName": self.dashboard_name,
                "topicArns": self.topic_arns,
                "globalTopicArn": self.global_topic_arn,
                "alarmCount": self.alarm_count,
            }
        )

    def _topics(
        self,
        name: str,
        args: MonitoringArgs,
        regions: Sequence[str],
        child: pulumi.ResourceOptions,
    ) -> dict[str, aws.sns.Topic]:
        """Region → the SNS topic its alarms notify (one per Region with an alarm), each with its
        policy and, with ``alarm_email``, an email subscription."""
        account_id = aws.get_caller_identity_output(
            opts=pulumi.InvokeOptions(parent=self)
        ).account_id
        display_name = sns_display_name(pulumi.get_project(), pulumi.get_stack(), "alarms")
        tags = dict(args.tags)
        topics: dict[str, aws.sns.Topic] = {}
        for region in dict.fromkeys(regions):
            # Not encrypted: alarms cannot publish to a topic under the AWS managed SNS key, and
            # alarm messages carry no content. The policy admits this account's alarms only.
            topic = aws.sns.Topic(
                f"{name}-alarms-{region}",
                aws.sns.TopicArgs(
                    region=region,
                    display_name=display_name,
                    tags=tags,
                ),
                opts=child,
            )
            aws.sns.TopicPolicy(
                f"{name}-alarms-{region}-policy",
                aws.sns.TopicPolicyArgs(
                    region=region,
                    arn=topic.arn,
                    policy=pulumi.Output.all(topic.arn, account_id).apply(
                        lambda values: json.dumps(topic_policy(values[0], values[1]))
                    ),
                ),
                opts=child,
            )
            if args.alarm_email:
                aws.sns.TopicSubscription(
                    f"{name}-alarms-{region}-email",
                    aws.sns.TopicSubscriptionArgs(
                        region=region, topic=topic.arn, protocol="email", endpoint=args.alarm_email
                    ),
                    opts=child,
                )
            topics[region] = topic
        return topics

    @staticmethod
    def _alarms(
        name: str,
        args: MonitoringArgs,
        specs: Sequence[AlarmSpec],
        topics: Mapping[str, aws.sns.Topic],
        child: pulumi.ResourceOptions,
    ) -> list[aws.cloudwatch.MetricAlarm]:
        """An alarm per spec, in its metric's Region, notifying that Region's topic."""
        tags = dict(args.tags)
        return [
            aws.cloudwatch.MetricAlarm(
                f"{name}-{spec.key}",
                aws.cloudwatch.MetricAlarmArgs(
                    region=spec.region,
                    alarm_description=spec.description,
                    namespace=spec.namespace,
                    metric_name=spec.metric,
                    dimensions=dict(spec.dimensions),
                    statistic=spec.statistic,
                    threshold=spec.threshold,
                    comparison_operator=(
                        "LessThanThreshold"
                        if spec.below or spec.heartbeat
                        else "GreaterThanThreshold"
                        if spec.rate
                        else "GreaterThanOrEqualToThreshold"
                    ),
                    period=_MINUTE * HEARTBEAT_MINUTES
                    if spec.heartbeat
                    else _MINUTE
                    if spec.rate or spec.below
                    else _MINUTE * args.evaluation_minutes,
                    evaluation_periods=args.evaluation_minutes if spec.rate else 1,
                    treat_missing_data=spec.missing_data,
                    alarm_actions=[topics[spec.region].arn],
                    ok_actions=[topics[spec.region].arn],
                    tags=tags,
                ),
                opts=child,
            )
            for spec in specs
        ]

    @staticmethod
    def _dashboard(
        name: str,
        args: MonitoringArgs,
        alarms: Sequence[aws.cloudwatch.MetricAlarm],
        child: pulumi.ResourceOptions,
    ) -> aws.cloudwatch.Dashboard:
        """The one cross-Region dashboard, in us-east-1, its body from ``dashboard_body``."""
        replication_names = [
            pulumi.Output.all(
                pair.source, pair.destination, pair.source_bucket, pair.destination_bucket
            ).apply(tuple)
            for pair in args.replication
        ]
        body = pulumi.Output.all(
            args.distribution_id,
            args.function_name,
            pulumi.Output.all(*replication_names),
            pulumi.Output.all(*(alarm.arn for alarm in alarms)),
            args.web_acl_metric_name,
        ).apply(
            lambda values: json.dumps(
                dashboard_body(
                    engine=args.engine,
                    distribution_id=values[0],
                    function_name=values[1],
                    execution_regions=args.execution_regions,
                    replication=values[2],
                    alarm_arns=values[3],
                    evacuation_stack=args.evacuation_stack,
                    web_acl_metric_name=values[4],
                ),
                sort_keys=True,
            )
        )
        return aws.cloudwatch.Dashboard(
            f"{name}-dashboard",
            aws.cloudwatch.DashboardArgs(
                region=CLOUDFRONT_METRICS_REGION,
                dashboard_name=dashboard_name(pulumi.get_project(), pulumi.get_stack()),
                dashboard_body=body,
            ),
            opts=child,
        )
