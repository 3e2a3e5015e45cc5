"""The evacuator under mocks, for every stack file and scenario: a function, log group and schedule
per vantage Region within Lambda's and EventBridge Scheduler's rules, settings the function reads
back, health objects in every bucket, and roles that may do exactly what an evacuator does with this
stack's own resources."""

import json

import pytest

from core.evacuation import EVACUATOR_TIMEOUT_SECONDS
from core.naming import evacuator_function_name
from evacuation.evacuator import HEALTH_KEY, METRIC_NAMESPACE, Settings
from evacuation.lambda_function import SETTINGS_VARIABLE
from settings.parser import parse_settings
from settings.table import PROJECT
from testing.mock_program import (
    ACCOUNT_ID,
    INVOCATION,
    ROLE,
    ROLE_POLICY,
    SCHEDULE,
    Deployment,
    deploy,
)
from tests import aws_rules
from tests.components.conftest import SCENARIOS, config_of, deployed

LOG_GROUP = "aws:cloudwatch/logGroup:LogGroup"
OBJECT = "aws:s3/bucketObjectv2:BucketObjectv2"
TOPIC = "aws:sns/topic:Topic"
DISTRIBUTION = "aws:cloudfront/distribution:Distribution"
EVACUATOR = "geo-proximity:index:Evacuator"


def children(deployment: Deployment, type_: str) -> list:
    """The evacuator's resources of ``type_``."""
    return [
        r
        for r in deployment.all(type_)
        if r.parent and deployment.by_urn(r.parent).type == EVACUATOR
    ]


def settings_of(deployment: Deployment) -> dict:
    return json.loads(
        next(iter(deployment.evacuator_functions().values())).inputs["environment"]["variables"][
            SETTINGS_VARIABLE
        ]
    )


def stack_settings(key: str):
    config, stack = config_of(key)
    return parse_settings(
        {
            k.removeprefix(f"{PROJECT}:"): v
            for k, v in config.items()
            if k.startswith(f"{PROJECT}:")
        },
        stack=stack,
    )


@pytest.fixture(scope="module", params=[*(f"stack:{s}" for s in ("prod", "dev")), *SCENARIOS])
def keyed(request):
    return request.param, deployed(request.param)


def test_a_function_log_group_and_schedule_per_vantage_region_or_nothing(keyed):
    key, deployment = keyed
    settings = stack_settings(key)
    functions = deployment.evacuator_functions()
    if not settings.evacuation:
        assert functions == {} and deployment.all(SCHEDULE) == []
        assert not [r for r in deployment.resources if r.type == EVACUATOR]
        return
    vantages = list(settings.evacuation_vantages)
    assert sorted(functions) == sorted(vantages)
    assert vantages == deployment.exports["routingState"]["vantages"]
    name = evacuator_function_name(PROJECT, deployment.stack)
    groups = {g.region: g for g in children(deployment, LOG_GROUP)}
    schedules = {s.region: s for s in deployment.all(SCHEDULE)}
    (scheduler_role,) = [r for r in deployment.all(ROLE) if r.name == "evacuator-scheduler-role"]
    assert set(groups) == set(schedules) == set(vantages)
    for vantage, function in functions.items():
        inputs = function.inputs
        assert inputs["name"] == name and aws_rules.is_valid_function_name(name)
        assert (inputs["runtime"], inputs["handler"]) == (
            "python3.13",
            "evacuation.lambda_function.handler",
        )
        assert (inputs["memorySize"], inputs["timeout"]) == (128, EVACUATOR_TIMEOUT_SECONDS)
        # Declared before the function, with the stack's retention: Lambda never creates it.
        group = groups[vantage]
        assert group.inputs["name"] == f"/aws/lambda/{name}"
        assert group.inputs["retentionInDays"] == settings.log_retention_days
        assert group.urn in function.dependencies
        schedule = schedules[vantage].inputs
        assert aws_rules.schedule_problems(schedule) == []
        assert schedule["scheduleExpression"] == "rate(1 minute)"
        assert schedule["flexibleTimeWindow"] == {"mode": "OFF"}
        assert schedule["target"]["arn"] == function.outputs["arn"]
        assert schedule["target"]["roleArn"] == scheduler_role.outputs["arn"]
        assert json.loads(schedule["target"]["input"]) == {"action": "check"}
        assert schedule["target"]["retryPolicy"] == {
            "maximumEventAgeInSeconds": 60,
            "maximumRetryAttempts": 0,
        }


def test_each_function_reads_back_settings_that_describe_this_stack(keyed):
    key, deployment = keyed
    settings = stack_settings(key)
    if not settings.evacuation:
        return
    exported = deployment.exports["routingState"]
    topics = {t.region: t.outputs["arn"] for t in deployment.all(TOPIC)}
    origins = deployment.one(DISTRIBUTION).inputs["origins"]
    for vantage, function in deployment.evacuator_functions().items():
        variables = function.inputs["environment"]["variables"]
        assert list(variables) == [SETTINGS_VARIABLE]
        read = Settings.from_document(json.loads(variables[SETTINGS_VARIABLE]))
        assert read.stack == deployment.stack and read.vantage == vantage
        assert list(read.vantages) == exported["vantages"]
        assert read.buckets == deployment.exports["buckets"]
        assert read.table == exported["table"]
        assert read.kvs_arn == exported["kvsArn"]
        assert read.topic_arn == topics.get("us-east-1")
        assert (read.failures, read.recoveries) == (
            settings.evacuation_failures,
            settings.evacuation_recoveries,
        )
        assert (read.quorum, read.probe_seconds, read.read_timeout) == (2, 10, 5)
        assert (read.invocation_seconds, read.fresh_seconds) == (120, 90)
        assert read.max_out == settings.evacuation_max_out == max(1, len(settings.origins) // 2)
        # Every probe names the account that must own the bucket.
        assert read.account == "123456789012"
        # A probe connects as CloudFront does, with its connection timeout.
        assert {o["connectionTimeout"] for o in origins} == {read.connect_timeout}
        # Lambda quotas: 4 KB of environment in all, counted both ways.
        assert (
            aws_rules.lambda_environment_bytes(variables) <= aws_rules.MAX_LAMBDA_ENVIRONMENT_BYTES
        )
        assert len(json.dumps(variables).encode()) <= aws_rules.MAX_LAMBDA_ENVIRONMENT_BYTES
        # Lambda quotas: at most 900 s, and long enough for the rounds and the last one at its
        # bounds.
        longest = read.invocation_seconds + read.round_seconds
        assert longest <= function.inputs["timeout"] <= aws_rules.MAX_LAMBDA_TIMEOUT_SECONDS
        # Longer than the widest gap between two invocations of a rate(1 minute) schedule at 60 s
        # precision: a vantage Region probes at every tick, whatever the scheduler's phase.
        assert read.invocation_seconds >= 2 * 60


def test_twenty_origins_and_the_longest_stack_name_fit_lambdas_environment_quota():
    config, _ = config_of("functions-everything-twenty")
    deployment = deploy(config, stack="s" * 100)
    sizes = [
        len(json.dumps(f.inputs["environment"]["variables"]).encode())
        for f in deployment.evacuator_functions().values()
    ]
    assert len(sizes) == 3 and max(sizes) <= aws_rules.MAX_LAMBDA_ENVIRONMENT_BYTES
    # The margin: twenty buckets of 63 characters take about half of it.
    assert 1500 < max(sizes) < 3000


def test_every_bucket_holds_the_health_object_the_checks_read(keyed):
    key, deployment = keyed
    objects = {o.inputs["bucket"]: o for o in deployment.all(OBJECT)}
    if not stack_settings(key).evacuation:
        assert objects == {}
        return
    buckets = deployment.exports["buckets"]
    assert set(objects) == set(buckets.values())
    for region, bucket in buckets.items():
        inputs = objects[bucket].inputs
        assert (inputs["key"], inputs["content"], inputs["contentType"]) == (
            HEALTH_KEY,
            "ok\n",
            "text/plain",
        )
        assert objects[bucket].region == region


def test_the_evacuator_may_do_exactly_what_it_does_with_this_stacks_resources(keyed):
    key, deployment = keyed
    if not stack_settings(key).evacuation:
        return
    exported = deployment.exports["routingState"]
    (role,) = [r for r in deployment.all(ROLE) if r.name == "evacuator-role"]
    (trust,) = json.loads(role.inputs["assumeRolePolicy"])["Statement"]
    assert trust == {
        "Effect": "Allow",
        "Principal": {"Service": "lambda.amazonaws.com"},
        "Action": "sts:AssumeRole",
    }
    policies = [p for p in deployment.all(ROLE_POLICY) if p.inputs["role"] == role.id]
    assert [p.name for p in policies] == ["evacuator-policy"]
    statements = {s["Sid"]: s for s in json.loads(policies[0].inputs["policy"])["Statement"]}
    name = evacuator_function_name(PROJECT, deployment.stack)
    topics = {t.region: t.outputs["arn"] for t in deployment.all(TOPIC)}
    expected = {
        "ReadHealthObjects": (
            "s3:GetObject",
            sorted(
                f"arn:aws:s3:::{bucket}/{HEALTH_KEY}"
                for bucket in deployment.exports["buckets"].values()
            ),
        ),
        "ReadWriteRoutingState": (
            ["dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:Query"],
            f"arn:aws:dynamodb:*:{ACCOUNT_ID}:table/{exported['table']}",
        ),
        "PublishMetrics": ("cloudwatch:PutMetricData", "*"),
        "WriteOwnLogs": (
            ["logs:CreateLogStream", "logs:PutLogEvents"],
            [
                form
                for vantage in exported["vantages"]
                for group in [f"arn:aws:logs:{vantage}:{ACCOUNT_ID}:log-group:/aws/lambda/{name}"]
                for form in (group, f"{group}:*")
            ],
        ),
    }
    if exported["kvsArn"] is not None:
        expected["PublishRoutingState"] = (
            [
                "cloudfront-keyvaluestore:DescribeKeyValueStore",
                "cloudfront-keyvaluestore:GetKey",
                "cloudfront-keyvaluestore:PutKey",
            ],
            exported["kvsArn"],
        )
    if topics:
        expected["Notify"] = ("sns:Publish", topics["us-east-1"])
    assert {sid: (s["Action"], s["Resource"]) for sid, s in statements.items()} == expected
    assert all(s["Effect"] == "Allow" for s in statements.values())
    # Metrics in the project's namespace only; nothing else is conditioned or needs to be.
    assert statements["PublishMetrics"]["Condition"] == {
        "StringEquals": {"cloudwatch:namespace": METRIC_NAMESPACE}
    }
    assert [sid for sid, s in statements.items() if "Condition" in s] == ["PublishMetrics"]


def test_the_scheduler_may_invoke_these_functions_and_nothing_else(keyed):
    key, deployment = keyed
    if not stack_settings(key).evacuation:
        return
    (role,) = [r for r in deployment.all(ROLE) if r.name == "evacuator-scheduler-role"]
    (trust,) = json.loads(role.inputs["assumeRolePolicy"])["Statement"]
    assert trust["Principal"] == {"Service": "scheduler.amazonaws.com"}
    assert trust["Condition"] == {"StringEquals": {"aws:SourceAccount": ACCOUNT_ID}}
    (policy,) = [p for p in deployment.all(ROLE_POLICY) if p.inputs["role"] == role.id]
    (statement,) = json.loads(policy.inputs["policy"])["Statement"]
    assert statement["Action"] == "lambda:InvokeFunction"
    assert statement["Resource"] == sorted(
        f.outputs["arn"] for f in deployment.evacuator_functions().values()
    )
    # The schedules wait for that permission.
    assert all(policy.urn in s.dependencies for s in deployment.all(SCHEDULE))


def resources_named(deployment: Deployment) -> set[str]:
    """Every ARN or ARN pattern the evacuator's policy names."""
    (policy,) = [p for p in deployment.all(ROLE_POLICY) if p.name == "evacuator-policy"]
    named = set()
    for statement in json.loads(policy.inputs["policy"])["Statement"]:
        resource = statement["Resource"]
        named |= set(resource if isinstance(resource, list) else [resource])
    return named


def test_the_evacuator_never_reads_or_writes_another_stacks_state():
    """Two stacks of the same project in one account: neither evacuator's policy names anything
    of the other's (table, store, buckets, topic, logs), and none names a wildcard but the Region
    of the state table's ARN and the resource of PutMetricData, which has none."""
    config, _ = config_of("stack:dev")
    first, second = deploy(config, stack="dev"), deploy(config, stack="dev-eu")
    mine, theirs = resources_named(first), resources_named(second)
    # PutMetricData names no resource ("*", its namespace the condition).
    assert (mine - {"*"}).isdisjoint(theirs - {"*"})
    for deployment, named in ((first, mine), (second, theirs)):
        exported = deployment.exports["routingState"]
        assert f"arn:aws:dynamodb:*:{ACCOUNT_ID}:table/{exported['table']}" in named
        assert exported["kvsArn"] in named
        wildcards = sorted(r for r in named if "*" in r)
        assert wildcards == sorted(
            [
                "*",
                f"arn:aws:dynamodb:*:{ACCOUNT_ID}:table/{exported['table']}",
                *(
                    f"arn:aws:logs:{v}:{ACCOUNT_ID}:log-group:/aws/lambda/"
                    f"{evacuator_function_name(PROJECT, deployment.stack)}:*"
                    for v in exported["vantages"]
                ),
            ]
        )
    assert first.exports["routingState"]["table"] != second.exports["routingState"]["table"]


def test_only_cloudfront_functions_stacks_sync_their_store_on_pulumi_up(keyed):
    key, deployment = keyed
    settings = stack_settings(key)
    invocations = children(deployment, INVOCATION)
    if not (settings.evacuation and settings.engine.value == "cloudfront-functions"):
        assert invocations == []
        return
    (sync,) = invocations
    vantages = settings.evacuation_vantages
    assert sync.region == ("us-east-1" if "us-east-1" in vantages else vantages[0])
    assert json.loads(sync.inputs["input"]) == {"action": "sync"}
    # Under mocks the sync answers with the drained list it published.
    assert json.loads(sync.outputs["result"]) == {"out": sorted(settings.routing.drained)}


def test_the_rules_refuse_what_dynamodb_cloudfront_and_the_scheduler_refuse():
    assert aws_rules.schedule_problems(
        {
            "scheduleExpression": "rate(30 seconds)",
            "flexibleTimeWindow": {"mode": "FLEXIBLE"},
            "target": {"retryPolicy": {"maximumEventAgeInSeconds": 30}},
        }
    ) == [
        "expression 'rate(30 seconds)'",
        "a flexible window without 1-1440 minutes",
        "event age 30",
    ]
    assert aws_rules.schedule_problems(
        {"scheduleExpression": "rate(0 minutes)", "flexibleTimeWindow": {}, "target": {}}
    ) == ["expression 'rate(0 minutes)'", "window mode None"]
    assert (
        len(
            aws_rules.schedule_problems(
                {
                    "scheduleExpression": "rate(1 minutes)",
                    "flexibleTimeWindow": {"mode": "OFF"},
                    "target": {},
                }
            )
        )
        == 1
    )
    assert aws_rules.global_table_problems(
        {"name": "ab", "replicas": [{"regionName": "eu-west-1"}], "streamEnabled": True},
        "eu-west-1",
    ) == [
        "replicas without a NEW_AND_OLD_IMAGES stream",
        "more than one replica in a Region: eu-west-1 and ['eu-west-1']",
        "table name 'ab'",
    ]
    assert aws_rules.kvs_pair_problems("k" * 513, "v" * 1025) == [
        "key of 513 bytes",
        "value of 1025 bytes",
    ]
    assert not aws_rules.is_valid_function_name("geo-proximity-Team_A.Staging-evacuator")
