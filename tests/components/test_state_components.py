"""The routing state's components built alone under mocks, from their flat arguments, as another
program would use them: RoutingState, Evacuator, and the routers and origins with a state."""

import json

import pytest

from components.cloudfront_function import (
    CloudFrontFunctionRouter,
    CloudFrontFunctionRouterArgs,
    CloudFrontFunctionRouterError,
)
from components.evacuator import (
    MAX_ENVIRONMENT_BYTES,
    Evacuator,
    EvacuatorArgs,
    EvacuatorError,
    environment_bytes,
    environment_variables,
)
from components.lambda_edge import LambdaEdgeRouter, LambdaEdgeRouterArgs, LambdaEdgeRouterError
from components.monitoring import Monitoring, MonitoringArgs
from components.regional_origin import RegionalOrigin, RegionalOriginArgs
from components.routing_state import RoutingState, RoutingStateArgs, RoutingStateError
from edge_function.cloudfront_function import render_function_code
from evacuation.evacuator import HEALTH_KEY, Settings
from evacuation.lambda_function import SETTINGS_VARIABLE
from evacuation.state import DRAINED_KEY, ROTATION_KEY, drained_item, out_value
from routing.catalogue import load_catalogue
from routing.table import derive_routing_table
from testing.mock_program import (
    ACCOUNT_ID,
    CLOUDFRONT_FUNCTION,
    FUNCTION,
    INVOCATION,
    KEY_VALUE_STORE,
    KVS_KEY,
    ROLE_POLICY,
    SCHEDULE,
    TABLE,
    TABLE_ITEM,
    run_under_mocks,
)

CONFIG = {"aws:region": "us-east-1"}
BUCKETS = {"us-east-1": "bucket-a-0001", "eu-central-1": "bucket-b-0001"}
KVS_ARN = "arn:aws:cloudfront::123456789012:key-value-store/0a1b2c3d-4e5f-6a7b-8c9d-0e1f2a3b4c5d"
TOPIC_ARN = "arn:aws:sns:us-east-1:123456789012:alarms"


def build(component):
    """Run ``component()`` (which returns its outputs) alone under mocks."""
    return run_under_mocks(component, CONFIG, stack="alone")


def test_routing_state_for_lambda_edge_or_an_evacuator_is_a_global_table_with_pulumis_item():
    def program():
        state = RoutingState(
            "state",
            RoutingStateArgs(
                table_regions=["eu-west-1", "us-east-1", "ap-northeast-1"],
                drained=["eu-central-1"],
                table_name="my-routing-state",
            ),
        )
        return {"table": state.table_name, "region": state.table_region, "kvs": state.kvs_arn}

    deployment = build(program)
    table = deployment.one(TABLE)
    assert table.region == "eu-west-1" and table.inputs["name"] == "my-routing-state"
    assert [r["regionName"] for r in table.inputs["replicas"]] == ["us-east-1", "ap-northeast-1"]
    assert (table.inputs["streamEnabled"], table.inputs["streamViewType"]) == (
        True,
        "NEW_AND_OLD_IMAGES",
    )
    item = deployment.one(TABLE_ITEM)
    assert item.region == "eu-west-1"
    assert json.loads(item.inputs["item"]) == drained_item(["eu-central-1"])
    assert deployment.exports == {"table": "my-routing-state", "region": "eu-west-1", "kvs": None}
    assert deployment.all(KEY_VALUE_STORE) == []


def test_routing_state_for_a_function_without_an_evacuator_is_a_store_and_the_drained_key():
    def program():
        state = RoutingState(
            "state",
            RoutingStateArgs(key_value_store=True, drained_key=True, drained=["us-east-1"]),
        )
        return {"kvs": state.kvs_arn, "table": state.table_name}

    deployment = build(program)
    store, key = deployment.one(KEY_VALUE_STORE), deployment.one(KVS_KEY)
    assert (key.inputs["key"], key.inputs["value"]) == (DRAINED_KEY, out_value(["us-east-1"]))
    assert key.inputs["keyValueStoreArn"] == store.outputs["arn"] == deployment.exports["kvs"]
    assert deployment.exports["table"] is None and deployment.all(TABLE) == []
    assert len(store.inputs["comment"]) <= 128


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ({}, "needs a table"),
        ({"table_regions": ["us-east-1", "us-east-1"]}, "twice"),
        ({"table_regions": ["us-east-1"], "drained": ["Frankfurt"]}, "'Frankfurt' is not"),
        ({"drained_key": True, "table_regions": ["us-east-1"]}, "needs key_value_store"),
        (
            {"table_regions": ["us-east-1"], "key_value_store": True, "drained_key": True},
            "without a table",
        ),
    ],
)
def test_routing_state_arguments_are_checked_before_anything_is_declared(arguments, message):
    with pytest.raises(RoutingStateError, match=message):
        RoutingStateArgs(**arguments)


def evacuator_args(**overrides) -> EvacuatorArgs:
    return EvacuatorArgs(
        **{
            "vantages": ["us-east-1", "eu-west-1"],
            "bucket_names": BUCKETS,
            "table_name": "my-routing-state",
            **overrides,
        }
    )


def test_evacuator_alone_with_a_store_syncs_it_once_and_hands_it_on():
    def program():
        evacuator = Evacuator(
            "evac",
            evacuator_args(kvs_arn=KVS_ARN, topic_arn=TOPIC_ARN, drained=["eu-central-1"]),
        )
        return {"synced": evacuator.synced_kvs_arn, "names": evacuator.function_names}

    deployment = build(program)
    functions = {f.region: f for f in deployment.all(FUNCTION)}
    assert sorted(functions) == ["eu-west-1", "us-east-1"]
    assert deployment.exports["names"] == dict.fromkeys(functions, "geo-proximity-alone-evacuator")
    read = Settings.from_document(
        json.loads(functions["eu-west-1"].inputs["environment"]["variables"][SETTINGS_VARIABLE])
    )
    assert (read.vantage, read.buckets, read.table, read.kvs_arn, read.topic_arn) == (
        "eu-west-1",
        BUCKETS,
        "my-routing-state",
        KVS_ARN,
        TOPIC_ARN,
    )
    assert (read.failures, read.recoveries, read.connect_timeout) == (4, 13, 1)
    # Two origins: the checks may hold one out.
    assert (read.max_out, read.invocation_seconds, read.account) == (1, 120, "123456789012")
    sync = deployment.one(INVOCATION)
    assert sync.region == "us-east-1"
    assert sync.inputs["triggers"]["drained"] == out_value(["eu-central-1"])
    assert deployment.exports["synced"] == KVS_ARN
    assert len(deployment.all(SCHEDULE)) == 2


def test_evacuator_alone_for_lambda_edge_has_no_store_to_sync():
    def program():
        evacuator = Evacuator(
            "evac", evacuator_args(vantages=["us-east-1", "eu-west-1", "sa-east-1"])
        )
        return {"synced": evacuator.synced_kvs_arn}

    deployment = build(program)
    assert deployment.all(INVOCATION) == [] and deployment.exports["synced"] is None
    (policy,) = [p for p in deployment.all(ROLE_POLICY) if p.name == "evac-policy"]
    sids = {s["Sid"] for s in json.loads(policy.inputs["policy"])["Statement"]}
    assert sids == {"ReadHealthObjects", "ReadWriteRoutingState", "PublishMetrics", "WriteOwnLogs"}


def many_origins(count: int) -> dict[str, str]:
    return {f"zz-region-{number}": f"bucket-{number:02d}" for number in range(count)}


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"vantages": ["us-east-1"]}, "quorum of 2 needs that many"),
        ({"vantages": ["us-east-1", "us-east-1"]}, "twice"),
        ({"bucket_names": {"us-east-1": "bucket-a-0001"}}, "two or more origins"),
        ({"drained": ["sa-east-1"]}, "are not all origins"),
        ({"failures": 0}, "1 or more"),
        ({"invocation_seconds": 180}, "take 218 s, more than the function's 210 s timeout"),
        ({"connect_timeout": 10, "read_timeout": 60}, "take 222 s"),
        ({"max_out": 2}, "max_out 2 must be from 1 to 1"),
        ({"max_out": 0}, "max_out 0 must be from 1 to 1"),
        ({"bucket_names": many_origins(60)}, f"Lambda allows {MAX_ENVIRONMENT_BYTES}"),
        ({"vantages": ["us-east-1", "EU"]}, "'EU' is not a Region code"),
    ],
)
def test_evacuator_arguments_are_checked_before_anything_is_declared(overrides, message):
    with pytest.raises(EvacuatorError, match=message):
        evacuator_args(**overrides)


def test_the_slowest_probes_the_settings_allow_fit_the_timeout_and_every_region_the_environment():
    # Two minutes of rounds, then a last one with every request at its limits (evacuation.budget):
    # 10 + 5 s of probes, 15 table requests of 2 s, the metrics' 2 s.
    assert evacuator_args(connect_timeout=10).longest_invocation_seconds == 120 + 15 + 30 + 2
    assert evacuator_args(connect_timeout=10).longest_invocation_seconds <= 210
    # Every Region of the catalogue an origin, with a store and a topic, every name at its
    # longest: still under 4 KB (the check above refuses what would not be).
    every_region = dict.fromkeys(load_catalogue(), "bucket")
    evacuator = evacuator_args(bucket_names=every_region, kvs_arn=KVS_ARN, topic_arn=TOPIC_ARN)
    assert 3500 < environment_bytes(environment_variables(evacuator.worst_case_settings())) <= 4096


def test_the_cloudfront_function_reads_its_store_under_the_key_it_is_given():
    routing = derive_routing_table(["us-east-1", "eu-central-1", "ap-southeast-4"])

    def program():
        router = CloudFrontFunctionRouter(
            "router",
            CloudFrontFunctionRouterArgs(routing=routing, kvs_arn=KVS_ARN, state_key=ROTATION_KEY),
        )
        return {"arn": router.arn}

    function = build(program).one(CLOUDFRONT_FUNCTION)
    assert function.inputs["keyValueStoreAssociations"] == [KVS_ARN]
    assert function.inputs["code"] == render_function_code(
        routing, (403, 404, 500, 502, 503, 504), ROTATION_KEY
    )
    assert 'var STATE_KEY = "rotation";' in function.inputs["code"]


@pytest.mark.parametrize(
    "overrides",
    [
        {"kvs_arn": KVS_ARN},
        {"state_key": ROTATION_KEY},
        {"kvs_arn": KVS_ARN, "state_key": "k" * 513},
    ],
)
def test_a_store_and_its_key_go_together(overrides):
    routing = derive_routing_table(["us-east-1", "eu-central-1"])
    with pytest.raises(CloudFrontFunctionRouterError):
        CloudFrontFunctionRouterArgs(routing=routing, **overrides)


def test_the_lambda_edge_function_reads_its_table_and_may_query_it_only():
    routing = derive_routing_table(["us-east-1", "eu-central-1"])

    def program():
        router = LambdaEdgeRouter(
            "router",
            LambdaEdgeRouterArgs(
                routing=routing,
                bucket_names=BUCKETS,
                state_table_name="my-routing-state",
                state_regions=["us-east-1", "eu-west-1"],
            ),
        )
        return {"arn": router.qualified_arn}

    deployment = build(program)
    artifact = json.loads(deployment.function_package()["routing.json"])
    assert artifact["state"] == {
        "table": "my-routing-state",
        "regions": ["us-east-1", "eu-west-1"],
        "refreshSeconds": 15.0,
        "timeoutSeconds": 0.3,
    }
    (statement,) = json.loads(deployment.one(ROLE_POLICY, "router-state").inputs["policy"])[
        "Statement"
    ]
    assert (statement["Action"], statement["Resource"]) == (
        "dynamodb:Query",
        f"arn:aws:dynamodb:*:{ACCOUNT_ID}:table/my-routing-state",
    )
    with pytest.raises(LambdaEdgeRouterError):
        LambdaEdgeRouterArgs(routing=routing, bucket_names=BUCKETS, state_table_name="t-1")


def test_an_origin_holds_the_health_object_when_asked():
    def program():
        origin = RegionalOrigin(
            "origin-eu",
            RegionalOriginArgs(region="eu-central-1", read_grants=[], health_object=True),
        )
        return {"bucket": origin.bucket_name}

    deployment = build(program)
    health = deployment.one("aws:s3/bucketObjectv2:BucketObjectv2")
    assert (health.region, health.inputs["key"], health.inputs["bucket"]) == (
        "eu-central-1",
        HEALTH_KEY,
        deployment.exports["bucket"],
    )


def test_monitoring_alone_alarms_on_every_origin_out_for_the_stack_it_is_given():
    def program():
        monitoring = Monitoring(
            "monitoring",
            MonitoringArgs(
                distribution_id="E1EXAMPLE",
                function_name="router",
                evacuation_stack="blue",
            ),
        )
        return {"topic": monitoring.global_topic_arn}

    deployment = build(program)
    (alarm,) = [
        a
        for a in deployment.all("aws:cloudwatch/metricAlarm:MetricAlarm")
        if a.inputs["metricName"] == "OriginsInRotation"
    ]
    assert alarm.inputs["dimensions"] == {"Stack": "blue"}
    assert alarm.inputs["alarmActions"] == [deployment.exports["topic"]]
