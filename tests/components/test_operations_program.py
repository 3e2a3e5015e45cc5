"""Operating it, under mocks: alarms where their metrics live, a topic per Region, one dashboard,
and access logs into a private bucket that expires them."""

import json

import pytest

from testing.mock_program import (
    ACCOUNT_ID,
    CLOUDFRONT_FUNCTION,
    EVENT_INVOKE_CONFIG,
    FUNCTION,
    REPLICATION_CONFIG,
    deploy,
    project_config,
)
from tests import aws_rules
from tests.components.conftest import deployed
from tests.support import DOCUMENTED_EXECUTION_REGIONS

ALARM = "aws:cloudwatch/metricAlarm:MetricAlarm"
TOPIC = "aws:sns/topic:Topic"
TOPIC_POLICY = "aws:sns/topicPolicy:TopicPolicy"
SUBSCRIPTION = "aws:sns/topicSubscription:TopicSubscription"
DASHBOARD = "aws:cloudwatch/dashboard:Dashboard"
DISTRIBUTION = "aws:cloudfront/distribution:Distribution"
BUCKET = "aws:s3/bucket:Bucket"


def alarms_by(deployment, metric):
    return [a for a in deployment.all(ALARM) if a.inputs["metricName"] == metric]


def test_every_alarm_obeys_cloudwatchs_rules_and_notifies_a_topic_of_its_own_region(deployment):
    topics = {topic.outputs["arn"]: topic for topic in deployment.all(TOPIC)}
    for alarm in deployment.all(ALARM):
        assert aws_rules.alarm_problems(alarm.inputs) == [], alarm.name
        assert alarm.inputs["alarmActions"] == alarm.inputs["okActions"]
        (action,) = alarm.inputs["alarmActions"]
        assert topics[action].region == alarm.region == alarm.inputs["region"]
    # One topic per Region that has alarms, no more.
    assert sorted(t.region for t in deployment.all(TOPIC)) == sorted(
        {a.region for a in deployment.all(ALARM)}
    )


@pytest.mark.parametrize("scenario", ["stack:prod", "operated"])
def test_lambda_edge_stacks_alarm_on_5xx_on_the_router_in_every_execution_region_and_on_replication(
    scenario,
):
    deployment = deployed(scenario)
    (rate,) = alarms_by(deployment, "5xxErrorRate")
    assert rate.region == "us-east-1" and rate.inputs["namespace"] == "AWS/CloudFront"
    assert rate.inputs["dimensions"] == {
        "DistributionId": deployment.exports["distributionId"],
        "Region": "Global",
    }
    edge_name = "us-east-1." + deployment.edge_function().outputs["name"]
    for metric in ("Errors", "Throttles"):
        alarms = alarms_by(deployment, metric)
        assert sorted(a.region for a in alarms) == sorted(DOCUMENTED_EXECUTION_REGIONS)
        assert all(a.inputs["namespace"] == "AWS/Lambda" for a in alarms)
        assert all(a.inputs["dimensions"] == {"FunctionName": edge_name} for a in alarms)
    buckets = deployment.exports["buckets"]
    rules = {
        (config.region, rule["destination"]["bucket"]): rule["id"]
        for config in deployment.all(REPLICATION_CONFIG)
        for rule in config.inputs["rules"]
    }
    failed = alarms_by(deployment, "OperationsFailedReplication")
    assert len(failed) == len(rules) == 6
    for alarm in failed:
        # Not published while nothing replicates (S3 user guide, "Using S3 Replication metrics"):
        # no data is no failure. The rest report per request or invocation: the same.
        assert alarm.inputs["treatMissingData"] == "notBreaching"
        dimensions = alarm.inputs["dimensions"]
        assert dimensions["SourceBucket"] == buckets[alarm.region]
        destination_arn = f"arn:aws:s3:::{dimensions['DestinationBucket']}"
        assert rules[(alarm.region, destination_arn)] == dimensions["RuleId"]
    assert not alarms_by(deployment, "FunctionExecutionErrors")
    for alarm in [rate, *alarms_by(deployment, "Errors"), *alarms_by(deployment, "Throttles")]:
        assert alarm.inputs["treatMissingData"] == "notBreaching"


def test_thresholds_and_windows_come_from_the_settings():
    deployment = deployed("operated")
    (rate,) = alarms_by(deployment, "5xxErrorRate")
    # A rate: above 2.5% in each of 3 consecutive minutes.
    assert (rate.inputs["threshold"], rate.inputs["period"], rate.inputs["evaluationPeriods"]) == (
        2.5,
        60,
        3,
    )
    assert rate.inputs["comparisonOperator"] == "GreaterThanThreshold"
    for alarm in alarms_by(deployment, "Errors"):
        # A count: 10 or more within a 3-minute window.
        assert (alarm.inputs["threshold"], alarm.inputs["period"]) == (10, 180)
        assert alarm.inputs["evaluationPeriods"] == 1
        assert alarm.inputs["comparisonOperator"] == "GreaterThanOrEqualToThreshold"
    default = alarms_by(deployed("stack:prod"), "5xxErrorRate")[0].inputs
    assert (default["threshold"], default["evaluationPeriods"]) == (5, 5)


def test_cloudfront_functions_stacks_alarm_on_the_functions_own_errors():
    deployment = deployed("functions-operated")
    name = deployment.one(CLOUDFRONT_FUNCTION).outputs["name"]
    for metric in ("FunctionExecutionErrors", "FunctionValidationErrors", "FunctionThrottles"):
        (alarm,) = alarms_by(deployment, metric)
        assert alarm.region == "us-east-1" and alarm.inputs["namespace"] == "AWS/CloudFront"
        assert alarm.inputs["dimensions"] == {"FunctionName": name, "Region": "Global"}
    assert not alarms_by(deployment, "Errors") and not alarms_by(deployment, "Throttles")
    assert {a.region for a in deployment.all(ALARM)} == {"us-east-1", "eu-west-1"}


def test_topics_admit_only_this_accounts_alarms_over_tls_and_mail_the_address_given():
    deployment = deployed("operated")
    for policy in deployment.all(TOPIC_POLICY):
        document = json.loads(policy.inputs["policy"])
        allow, deny = document["Statement"]
        assert allow["Principal"] == {"Service": "cloudwatch.amazonaws.com"}
        assert allow["Action"] == "sns:Publish" and allow["Resource"] == policy.inputs["arn"]
        assert allow["Condition"] == {"StringEquals": {"aws:SourceAccount": ACCOUNT_ID}}
        assert deny["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
    subscriptions = deployment.all(SUBSCRIPTION)
    assert {s.region for s in subscriptions} == {t.region for t in deployment.all(TOPIC)}
    assert all(
        (s.inputs["protocol"], s.inputs["endpoint"]) == ("email", "oncall@example.com")
        for s in subscriptions
    )
    assert deployed("stack:prod").all(SUBSCRIPTION) == []


def test_one_dashboard_shows_traffic_routing_replication_and_every_alarm():
    deployment = deployed("stack:prod")
    dashboard = deployment.one(DASHBOARD)
    assert dashboard.region == "us-east-1"
    assert dashboard.inputs["dashboardName"] == "geo-proximity-prod"
    widgets = json.loads(dashboard.inputs["dashboardBody"])["widgets"]
    titles = [w["properties"]["title"] for w in widgets]
    assert titles[:2] == ["Requests", "Error rates (%)"]
    routing = next(w for w in widgets if w["properties"]["title"].startswith("Router invocations"))
    assert sorted(m[-1]["region"] for m in routing["properties"]["metrics"]) == sorted(
        DOCUMENTED_EXECUTION_REGIONS
    )
    for metric in ("ReplicationLatency", "BytesPendingReplication"):
        widget = next(w for w in widgets if metric in w["properties"]["title"])
        assert len(widget["properties"]["metrics"]) == 6
        assert all(
            # Published in the destination bucket's Region (S3 user guide, "Using S3 Replication
            # metrics").
            m[-1]["region"] == m[-1]["label"].split(" -> ")[1]
            for m in widget["properties"]["metrics"]
        )
    (alarms,) = [w for w in widgets if w["type"] == "alarm"]
    assert sorted(alarms["properties"]["alarms"]) == sorted(
        a.outputs["arn"] for a in deployment.all(ALARM)
    )


def test_every_dashboard_is_one_cloudwatch_accepts_and_shows_every_alarm(deployment):
    if "dashboardName" not in deployment.exports:
        return
    dashboard = deployment.one(DASHBOARD)
    body = json.loads(dashboard.inputs["dashboardBody"])
    assert aws_rules.dashboard_problems(body) == []
    assert aws_rules.DASHBOARD_NAME.match(dashboard.inputs["dashboardName"])
    shown = [
        arn for w in body["widgets"] if w["type"] == "alarm" for arn in w["properties"]["alarms"]
    ]
    assert sorted(shown) == sorted(a.outputs["arn"] for a in deployment.all(ALARM))
    # No two widgets overlap: one full-width widget under another.
    assert len({w["y"] for w in body["widgets"]}) == len(body["widgets"])


def test_twenty_origins_split_alarms_over_widgets_of_at_most_a_hundred():
    deployment = deployed("everything-twenty")
    alarms = deployment.all(ALARM)
    # 1 + 13 x 2 + 20 x 19 + 1 (every origin out of rotation) + 3 (each vantage's silence) + 20
    # (each origin's health object) + 1 (the checks held) = 432 alarms, over five widgets.
    assert len(alarms) == 1 + 13 * 2 + 20 * 19 + 1 + 3 + 20 + 1
    body = json.loads(deployment.one(DASHBOARD).inputs["dashboardBody"])
    sizes = [len(w["properties"]["alarms"]) for w in body["widgets"] if w["type"] == "alarm"]
    assert sizes == [100, 100, 100, 100, 32]
    latency = [w for w in body["widgets"] if "ReplicationLatency" in w["properties"]["title"]]
    assert sum(len(w["properties"]["metrics"]) for w in latency) == 380


def test_the_dashboard_checks_refuse_what_cloudwatch_refuses():
    alarm = {"type": "alarm", "properties": {"alarms": ["arn"] * 101}}
    graph = {"type": "metric", "properties": {"metrics": [["AWS/S3", "m"]] * 501}}
    assert aws_rules.dashboard_problems({"widgets": [alarm, graph]}) == [
        "an alarm widget of 101 alarms",
        "a widget of 501 metrics",
    ]
    assert aws_rules.dashboard_problems({"widgets": [graph] * 5}) == [
        "a widget of 501 metrics"
    ] * 5 + ["2505 metrics on one dashboard"]


def test_monitoring_false_removes_it_all():
    deployment = deployed("unmonitored")
    for type_ in (ALARM, TOPIC, TOPIC_POLICY, SUBSCRIPTION, DASHBOARD):
        assert deployment.all(type_) == []
    assert "dashboardName" not in deployment.exports
    for config in deployment.all(REPLICATION_CONFIG):
        assert all("metrics" not in rule["destination"] for rule in config.inputs["rules"])


@pytest.mark.parametrize(
    ("scenario", "home"), [("operated", "eu-west-1"), ("functions-operated", "us-east-1")]
)
def test_access_logs_go_to_a_private_expiring_bucket_in_the_home_region(scenario, home):
    deployment = deployed(scenario)
    name = deployment.exports["accessLogBucket"]
    (bucket,) = [b for b in deployment.all(BUCKET) if b.outputs["bucket"] == name]
    assert bucket.region == home
    # Not an origin, and not one of the routed buckets.
    assert name not in deployment.exports["buckets"].values()
    origins = deployment.one(DISTRIBUTION).inputs["origins"]
    assert all(name not in origin["domainName"] for origin in origins)

    def one(type_):
        (resource,) = [r for r in deployment.all(type_) if r.inputs.get("bucket") == name]
        return resource

    block = one("aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock").inputs
    assert all(
        block[flag]
        for flag in (
            "blockPublicAcls",
            "blockPublicPolicy",
            "ignorePublicAcls",
            "restrictPublicBuckets",
        )
    )
    assert one("aws:s3/bucketOwnershipControls:BucketOwnershipControls").inputs["rule"] == {
        "objectOwnership": "BucketOwnerEnforced"
    }
    (rule,) = one(
        "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration"
    ).inputs["rules"]
    assert rule["applyServerSideEncryptionByDefault"]["sseAlgorithm"] == "AES256"
    (expire,) = one("aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration").inputs[
        "rules"
    ]
    assert expire["expiration"] == {"days": 30 if scenario == "operated" else 90}
    source = deployment.one("aws:cloudwatch/logDeliverySource:LogDeliverySource")
    assert source.region == "us-east-1" and source.inputs["logType"] == "ACCESS_LOGS"
    assert source.inputs["resourceArn"] == deployment.exports["distributionArn"]
    policy = one("aws:s3/bucketPolicy:BucketPolicy")
    write, deny = json.loads(policy.inputs["policy"])["Statement"]
    assert write["Principal"] == {"Service": "delivery.logs.amazonaws.com"}
    assert write["Action"] == "s3:PutObject"
    assert write["Resource"] == f"{bucket.outputs['arn']}/AWSLogs/{ACCOUNT_ID}/*"
    assert write["Condition"]["StringEquals"]["aws:SourceAccount"] == ACCOUNT_ID
    assert write["Condition"]["ArnLike"] == {"aws:SourceArn": source.outputs["arn"]}
    assert deny["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
    destination = deployment.one("aws:cloudwatch/logDeliveryDestination:LogDeliveryDestination")
    assert destination.inputs["deliveryDestinationConfiguration"] == {
        "destinationResourceArn": bucket.outputs["arn"]
    }
    delivery = deployment.one("aws:cloudwatch/logDelivery:LogDelivery")
    assert delivery.region == destination.region == "us-east-1"
    assert delivery.inputs["deliverySourceName"] == source.outputs["name"]
    assert delivery.inputs["deliveryDestinationArn"] == destination.outputs["arn"]
    assert policy.urn in delivery.dependencies
    # The free format unless the stack asks for another.
    assert destination.inputs["outputFormat"] == "w3c"


@pytest.mark.parametrize("output_format", ["parquet", "json"])
def test_access_logs_come_in_the_format_the_stack_sets(output_format):
    deployment = deploy(
        project_config(
            origins=["us-east-1", "eu-west-1"], accessLogs="true", accessLogFormat=output_format
        )
    )
    destination = deployment.one("aws:cloudwatch/logDeliveryDestination:LogDeliveryDestination")
    assert destination.inputs["outputFormat"] == output_format


def test_a_new_access_log_format_replaces_the_destination_and_its_delivery():
    # AWS sets a destination's format only when it is created: a new format is a new destination,
    # and a new delivery to it, never an update AWS would refuse. Neither carries a name of its
    # own, so each replacement is named anew and created before the old one goes.
    deployment = deploy(project_config(origins=["us-east-1", "eu-west-1"], accessLogs="true"))
    destination = deployment.one("aws:cloudwatch/logDeliveryDestination:LogDeliveryDestination")
    delivery = deployment.one("aws:cloudwatch/logDelivery:LogDelivery")
    assert destination.replace_on_changes == ["outputFormat"]
    assert delivery.replace_on_changes == ["deliveryDestinationArn"]
    assert "name" not in destination.inputs


def test_access_logs_are_off_by_default():
    deployment = deployed("stack:prod")
    assert "accessLogBucket" not in deployment.exports
    assert deployment.all("aws:cloudwatch/logDelivery:LogDelivery") == []


def test_topic_display_names_and_the_dashboard_name_use_only_what_aws_accepts():
    for scenario in ("stack:prod", "operated"):
        deployment = deployed(scenario)
        for topic in deployment.all(TOPIC):
            name = topic.inputs["displayName"]
            assert len(name) <= 100 and all(c.isalnum() or c in " -_" for c in name), name
        dashboard = deployment.one(DASHBOARD).inputs["dashboardName"]
        assert len(dashboard) <= 255 and all(c.isalnum() or c in "-_" for c in dashboard)


def test_every_origin_out_of_rotation_raises_an_alarm_where_there_is_an_evacuator(deployment):
    exported = deployment.exports["routingState"]
    alarms = alarms_by(deployment, "OriginsInRotation")
    if not (exported["evacuation"] and "dashboardName" in deployment.exports):
        assert alarms == []
        return
    (alarm,) = [a for a in alarms if a.inputs["statistic"] == "Maximum"]
    inputs = alarm.inputs
    assert alarm.region == "us-east-1" and inputs["namespace"] == "GeoProximity"
    assert inputs["dimensions"] == {"Stack": deployment.stack}
    # The highest report of a minute below 1: no vantage Region saw an origin in rotation.
    assert (inputs["statistic"], inputs["comparisonOperator"], inputs["threshold"]) == (
        "Maximum",
        "LessThanThreshold",
        1,
    )
    assert (inputs["period"], inputs["evaluationPeriods"]) == (60, 1)
    # Reported continuously, by every run: a minute without a report keeps the alarm as it is. It
    # neither clears an alarm that is up nor raises one when the evacuators fall silent, which
    # their heartbeat alarms (breaching on no data) call instead.
    assert inputs["treatMissingData"] == "ignore"
    heartbeats = [a for a in alarms if a.name.startswith("monitoring-evacuator-silent-")]
    assert heartbeats and all(a.inputs["treatMissingData"] == "breaching" for a in heartbeats)
    (topic,) = [t for t in deployment.all(TOPIC) if t.region == "us-east-1"]
    assert inputs["alarmActions"] == [topic.outputs["arn"]]
    body = json.loads(deployment.one(DASHBOARD).inputs["dashboardBody"])
    (graph,) = [w for w in body["widgets"] if "Origins in rotation" in w["properties"]["title"]]
    assert graph["properties"]["metrics"] == [
        ["GeoProximity", "OriginsInRotation", "Stack", deployment.stack]
    ]
    assert graph["properties"]["region"] == "us-east-1"


def test_an_unreadable_health_object_raises_an_alarm_naming_its_bucket(deployment):
    exported = deployment.exports["routingState"]
    alarms = alarms_by(deployment, "HealthObjectUnreadable")
    if not (exported["evacuation"] and "dashboardName" in deployment.exports):
        assert alarms == []
        return
    buckets = deployment.exports["buckets"]
    assert sorted(a.inputs["dimensions"]["Origin"] for a in alarms) == sorted(buckets)
    (topic,) = [t for t in deployment.all(TOPIC) if t.region == "us-east-1"]
    for alarm in alarms:
        inputs = alarm.inputs
        origin = inputs["dimensions"]["Origin"]
        assert alarm.region == "us-east-1" and inputs["namespace"] == "GeoProximity"
        assert inputs["dimensions"] == {"Stack": deployment.stack, "Origin": origin}
        # Twelve unreadable probes in the window: about two minutes of one vantage Region's.
        assert (inputs["statistic"], inputs["comparisonOperator"], inputs["threshold"]) == (
            "Sum",
            "GreaterThanOrEqualToThreshold",
            12,
        )
        assert inputs["treatMissingData"] == "notBreaching"
        assert inputs["alarmActions"] == [topic.outputs["arn"]]
        # The bucket and the object, by name, for whoever is paged.
        assert (
            f"s3://{buckets[origin]}/.well-known/geo-proximity/health"
            in (inputs["alarmDescription"])
        )
        assert aws_rules.alarm_problems(inputs) == []


def test_checks_held_by_their_limits_raise_an_alarm(deployment):
    exported = deployment.exports["routingState"]
    alarms = alarms_by(deployment, "ChecksHeld")
    if not (exported["evacuation"] and "dashboardName" in deployment.exports):
        assert alarms == []
        return
    (alarm,) = alarms
    inputs = alarm.inputs
    assert alarm.region == "us-east-1" and inputs["dimensions"] == {"Stack": deployment.stack}
    # One held origin reported in the window (or nothing decided: the home Region away).
    assert (inputs["statistic"], inputs["comparisonOperator"], inputs["threshold"]) == (
        "Maximum",
        "GreaterThanOrEqualToThreshold",
        1,
    )
    assert inputs["treatMissingData"] == "notBreaching"
    assert aws_rules.alarm_problems(inputs) == []


def test_an_evacuator_that_stops_reporting_raises_an_alarm_per_vantage_region(deployment):
    exported = deployment.exports["routingState"]
    silent = [
        a
        for a in alarms_by(deployment, "OriginsInRotation")
        if a.name.startswith("monitoring-evacuator-silent-")
    ]
    if not (exported["evacuation"] and "dashboardName" in deployment.exports):
        assert silent == []
        return
    assert sorted(a.inputs["dimensions"]["Vantage"] for a in silent) == sorted(exported["vantages"])
    for alarm in silent:
        inputs = alarm.inputs
        assert alarm.region == "us-east-1" and inputs["namespace"] == "GeoProximity"
        assert inputs["dimensions"]["Stack"] == deployment.stack
        # Fewer than one completed run in five minutes, or none: no data is the failure.
        assert (inputs["statistic"], inputs["comparisonOperator"], inputs["threshold"]) == (
            "SampleCount",
            "LessThanThreshold",
            1,
        )
        assert (inputs["period"], inputs["evaluationPeriods"]) == (300, 1)
        assert inputs["treatMissingData"] == "breaching"
        assert aws_rules.alarm_problems(inputs) == []


def test_the_evacuators_runs_are_never_retried_by_lambda(deployment):
    configs = deployment.all(EVENT_INVOKE_CONFIG)
    functions = [f for f in deployment.all(FUNCTION) if f.name.startswith("evacuator-")]
    assert sorted(c.region for c in configs) == sorted(f.region for f in functions)
    for config in configs:
        assert (
            config.inputs["maximumRetryAttempts"],
            config.inputs["maximumEventAgeInSeconds"],
        ) == (
            0,
            60,
        )


def test_alarms_on_the_distribution_and_the_function_wait_for_them(deployment):
    # Monitoring is declared before the distribution and the function, on promised values: the
    # alarms still follow what they watch.
    if "dashboardName" not in deployment.exports:
        return
    distribution = deployment.one(DISTRIBUTION)
    (rate,) = alarms_by(deployment, "5xxErrorRate")
    assert distribution.urn in rate.dependencies
    assert rate.inputs["dimensions"]["DistributionId"] == deployment.exports["distributionId"]
    function = (
        deployment.edge_function()
        if deployment.exports["engine"] == "lambda-edge"
        else deployment.one(CLOUDFRONT_FUNCTION)
    )
    router_alarms = [a for a in deployment.all(ALARM) if a.name.startswith("monitoring-router-")]
    assert router_alarms and all(function.urn in a.dependencies for a in router_alarms)
    assert distribution.urn in deployment.one(DASHBOARD).dependencies


@pytest.mark.parametrize(
    ("treatment", "problems"),
    [
        ("ignore", []),
        ("breaching", ["missing data breaching on an AWS/DynamoDB metric"]),
        (None, ["missing data None on an AWS/DynamoDB metric"]),
    ],
)
def test_an_alarm_on_a_dynamodb_metric_must_say_it_ignores_missing_data(treatment, problems):
    # CloudWatch ignores missing data on AWS/DynamoDB metrics whatever the alarm says, so a
    # liveness alarm on, say, the state table's ReplicationLatency would hold its last state.
    inputs = {
        "namespace": "AWS/DynamoDB",
        "metricName": "ReplicationLatency",
        "dimensions": {"TableName": "t", "ReceivingRegion": "eu-west-1"},
        "statistic": "Maximum",
        "period": 60,
        "evaluationPeriods": 1,
        "comparisonOperator": "GreaterThanThreshold",
        **({"treatMissingData": treatment} if treatment else {}),
    }
    assert aws_rules.alarm_problems(inputs) == problems
