"""The routing state under mocks, for every stack file and scenario: where each engine reads it, the
rules of DynamoDB global tables and CloudFront key value stores, and that Pulumi declares only its
own part of it, so a ``pulumi up`` after an evacuation shows no diff and undoes nothing."""

import json

import pytest
from moto import mock_aws

from core.naming import state_table_name
from evacuation.decide import Evacuation
from evacuation.state import (
    COMMITTED_PARTITION,
    DRAINED,
    DRAINED_KEY,
    EVACUATED,
    OPERATOR_PREFIX,
    PUBLISHED_PARTITION,
    ROTATION_KEY,
    ROTATION_PARTITION,
    VANTAGE_PARTITION,
    StateTable,
    out_value,
)
from routing.catalogue import lambda_edge_execution_regions, load_catalogue
from settings.table import PROJECT
from testing.mock_program import (
    CLOUDFRONT_FUNCTION,
    INVOCATION,
    KEY_VALUE_STORE,
    KVS_KEY,
    TABLE,
    TABLE_ITEM,
    Deployment,
    deploy,
)
from tests import aws_rules
from tests.components.conftest import config_of, deployed
from tests.evacuation.support import create_state_table, dynamodb
from tests.support import DOCUMENTED_EXECUTION_REGIONS

# pulumi-aws's resource that owns every key of a store: never declared (it would delete the
# evacuator's key).
KVS_KEYS_EXCLUSIVE = "aws:cloudfront/keyvaluestoreKeysExclusive:KeyvaluestoreKeysExclusive"


def state(deployment: Deployment) -> dict:
    return deployment.exports["routingState"]


def test_the_state_is_where_the_engine_reads_it(deployment):
    exported, origins = state(deployment), deployment.exports["buckets"]
    drained = deployment.exports["routing"]["drained"]
    tables, stores = deployment.all(TABLE), deployment.all(KEY_VALUE_STORE)
    engine = deployment.exports["engine"]
    # The shape the break-glass commands read from `pulumi stack output --json`.
    assert list(exported) == [
        "engine",
        "table",
        "tableRegion",
        "tableRegions",
        "kvsArn",
        "stateKey",
        "evacuation",
        "vantages",
    ]
    assert json.loads(json.dumps(exported)) == exported
    assert exported["engine"] == engine
    if len(origins) == 1:
        # One origin is never out of rotation: nothing to store, nothing to check.
        assert (tables, stores, deployment.all(TABLE_ITEM)) == ([], [], [])
        assert exported == {
            "engine": engine,
            "table": None,
            "tableRegion": None,
            "tableRegions": [],
            "kvsArn": None,
            "stateKey": None,
            "evacuation": False,
            "vantages": [],
        }
        return
    if engine == "lambda-edge":
        # A replica in every Region where the function runs, so every read is local.
        assert exported["tableRegions"] == list(lambda_edge_execution_regions())
        assert set(exported["tableRegions"]) == set(DOCUMENTED_EXECUTION_REGIONS)
        assert (stores, exported["kvsArn"], exported["stateKey"]) == ([], None, None)
    elif exported["evacuation"]:
        # The evacuator keeps its state where it runs; the function reads the store. While a
        # switch to or from Lambda@Edge is under way (nextEngine), the table also holds a replica
        # wherever Lambda@Edge runs.
        vantages = ["us-east-1", *exported["vantages"]]
        switching = deployment.stack == "switch-to-lambda-edge"  # nextEngine: lambda-edge
        readers = [*vantages, *lambda_edge_execution_regions()] if switching else vantages
        assert exported["tableRegions"] == list(dict.fromkeys(readers))
        assert exported["stateKey"] == ROTATION_KEY
    else:
        # The store alone: Pulumi writes the drained list the function reads.
        assert (tables, exported["table"], exported["tableRegions"]) == ([], None, [])
        assert exported["stateKey"] == DRAINED_KEY
        (key,) = deployment.all(KVS_KEY)
        assert (key.inputs["key"], key.inputs["value"]) == (DRAINED_KEY, out_value(drained))
        assert key.inputs["keyValueStoreArn"] == exported["kvsArn"]
    if exported["table"] is not None:
        (table,) = tables
        assert (
            table.inputs["name"] == exported["table"] == state_table_name(PROJECT, deployment.stack)
        )
        # Always the same home Region: a table's Region cannot change without replacing it.
        assert table.region == exported["tableRegion"] == exported["tableRegions"][0] == "us-east-1"
        replicas = [replica["regionName"] for replica in table.inputs.get("replicas", [])]
        assert [table.region, *replicas] == exported["tableRegions"]
    if engine == "cloudfront-functions":
        (store,) = stores
        assert exported["kvsArn"] == store.outputs["arn"]


@pytest.mark.parametrize(
    "change",
    [
        {"geo-proximity:engine": "cloudfront-functions"},
        {"geo-proximity:evacuationVantages": json.dumps(["eu-west-1", "ap-southeast-2"])},
    ],
)
def test_an_engine_switch_or_other_vantages_keep_the_table_and_its_home(change):
    before = deployed("stack:prod")
    config = {**config_of("stack:prod")[0], **change}
    after = deploy(config, stack="prod")
    table_before, table_after = before.one(TABLE), after.one(TABLE)
    # The same resource (URN), the same name and Region: only replicas are added or removed.
    assert table_after.urn == table_before.urn
    for key in ("name", "region", "hashKey", "rangeKey", "attributes"):
        assert table_after.inputs[key] == table_before.inputs[key]
    assert after.one(TABLE_ITEM).inputs == before.one(TABLE_ITEM).inputs
    assert after.one(TABLE_ITEM).urn == before.one(TABLE_ITEM).urn


def test_state_tables_obey_dynamodbs_rules(deployment):
    for table in deployment.all(TABLE):
        inputs = table.inputs
        assert aws_rules.global_table_problems(inputs, table.region) == []
        assert inputs["streamViewType"] == aws_rules.GLOBAL_TABLE_STREAM_VIEW_TYPE
        assert inputs["billingMode"] == "PAY_PER_REQUEST"
        assert (inputs["hashKey"], inputs["rangeKey"]) == ("pk", "sk")
        assert inputs["attributes"] == [{"name": "pk", "type": "S"}, {"name": "sk", "type": "S"}]
        assert all(replica["propagateTags"] for replica in inputs.get("replicas", []))
        # The evacuations in force live here: the table and every replica, each on its own, are
        # protected from deletion (DynamoDB: "You must enable deletion protection on each replica").
        assert inputs["deletionProtectionEnabled"] is True
        assert all(
            replica["deletionProtectionEnabled"] is True for replica in inputs.get("replicas", [])
        )


def test_the_table_has_time_to_make_its_replicas_one_after_another(deployment):
    for table in deployment.all(TABLE):
        regions = 1 + len(table.inputs.get("replicas", []))
        # Ten minutes for the table and for each replica, every one made (or removed) after the
        # one before; pulumi-aws's own defaults (30 minutes to create, 60 to update) would not do
        # for Lambda@Edge's thirteen Regions.
        expected = f"{10 * regions}m"
        assert table.custom_timeouts == {
            "create": expected,
            "update": expected,
            "delete": expected,
        }
        if deployment.exports["engine"] == "lambda-edge":
            assert regions == 13 and expected == "130m"


def test_pulumi_declares_only_its_own_part_of_the_state(deployment):
    """The drained list is Pulumi's; everything the evacuator writes (the evacuated list, each
    vantage Region's streaks, the value last published, the store's rotation key) is never
    declared, so Pulumi neither shows a diff for it nor deletes it."""
    drained = deployment.exports["routing"]["drained"]
    items = [json.loads(item.inputs["item"]) for item in deployment.all(TABLE_ITEM)]
    assert [(item["pk"]["S"], item["sk"]["S"]) for item in items] == [
        (ROTATION_PARTITION, DRAINED)
    ] * bool(state(deployment)["table"])
    for item in items:
        assert item["regions"] == {"L": [{"S": region} for region in sorted(drained)]}
    owned_by_the_evacuator = {
        EVACUATED,
        VANTAGE_PARTITION,
        PUBLISHED_PARTITION,
        COMMITTED_PARTITION,
    }
    assert not [
        item for item in items if {item["pk"]["S"], item["sk"]["S"]} & owned_by_the_evacuator
    ]
    # Nor an operator's decision: the break-glass commands own those.
    assert not [item for item in items if item["sk"]["S"].startswith(OPERATOR_PREFIX)]
    assert {key.inputs["key"] for key in deployment.all(KVS_KEY)} <= {DRAINED_KEY}
    assert ROTATION_KEY not in {key.inputs["key"] for key in deployment.all(KVS_KEY)}
    assert deployment.all(KVS_KEYS_EXCLUSIVE) == []
    for item in deployment.all(TABLE_ITEM):
        # Pulumi writes its item where the table was created.
        assert item.region == state(deployment)["tableRegion"]
        assert (item.inputs["hashKey"], item.inputs["rangeKey"]) == ("pk", "sk")


@pytest.mark.parametrize("scenario", ["stack:prod", "drained", "functions-drained"])
def test_pulumi_up_after_an_evacuation_leaves_it_in_place(scenario):
    """Apply what the program declares to a table (moto), let the evacuator evacuate, apply the
    declaration again (a later ``pulumi up``, with the drained list changed, then unchanged): the
    evacuation is still there, and Pulumi's part follows the stack."""
    deployment = deployed(scenario)
    (declared,) = deployment.all(TABLE_ITEM)
    origins = list(deployment.exports["buckets"])
    with mock_aws():
        client = dynamodb(declared.region)
        table = deployment.one(TABLE).inputs["name"]
        create_state_table(client, table)

        def pulumi_up(item: str) -> None:
            # What the provider does for a TableItem: put the declared item, keyed by pk and sk.
            client.put_item(TableName=table, Item=json.loads(item))

        pulumi_up(declared.inputs["item"])
        store = StateTable(client, table)
        evacuated = origins[-1]
        store.write_evacuated(
            {
                evacuated: Evacuation(
                    since="2026-11-30T06:00:00+00:00", by="checks", reason="3 failed"
                )
            },
            store.read().version,
        )
        pulumi_up(declared.inputs["item"])
        after = store.read()
        assert set(after.evacuated) == {evacuated}
        assert after.drained == frozenset(deployment.exports["routing"]["drained"])
        # A drain changed in the stack config: Pulumi's item changes, the evacuation stays.
        redrained = json.loads(declared.inputs["item"])
        redrained["regions"] = {"L": [{"S": origins[0]}]}
        pulumi_up(json.dumps(redrained))
        assert store.read().drained == {origins[0]} and set(store.read().evacuated) == {evacuated}
        assert store.read().out == {origins[0], evacuated}


def test_key_value_store_pairs_fit_cloudfronts_quotas(functions_deployment):
    exported = state(functions_deployment)
    function = functions_deployment.one(CLOUDFRONT_FUNCTION)
    if exported["kvsArn"] is None:
        assert "keyValueStoreAssociations" not in function.inputs
        return
    # "Maximum number of key value stores per function: 1"; it is this stack's store.
    assert function.inputs["keyValueStoreAssociations"] == [exported["kvsArn"]]
    assert len(function.inputs["keyValueStoreAssociations"]) <= aws_rules.MAX_KVS_PER_FUNCTION
    # The largest value either owner writes: every origin out of rotation, at a version no stack
    # reaches (a change a second for thirty years).
    every_origin = list(functions_deployment.exports["buckets"])
    largest = out_value(every_origin, 10**9)
    assert aws_rules.kvs_pair_problems(exported["stateKey"], largest) == []
    for key in functions_deployment.all(KVS_KEY):
        assert aws_rules.kvs_pair_problems(key.inputs["key"], key.inputs["value"]) == []


def test_twenty_origins_out_fit_a_key_value_store_value_and_so_would_every_region():
    # The largest stack the docs describe, every one of its twenty origins out: 285 bytes, 300
    # with a version of ten digits.
    deployment = deployed("functions-everything-twenty")
    value = out_value(list(deployment.exports["buckets"]))
    assert len(value.encode()) == 285
    assert len(out_value(list(deployment.exports["buckets"]), 10**9).encode()) == 300
    # Even every Region of the catalogue out would fit.
    every_region = out_value(list(load_catalogue()), 10**9)
    assert aws_rules.kvs_pair_problems(ROTATION_KEY, every_region) == []


def test_the_function_is_published_only_once_the_state_it_reads_exists(functions_deployment):
    exported = state(functions_deployment)
    function = functions_deployment.one(CLOUDFRONT_FUNCTION)
    urns = {functions_deployment.by_urn(urn).type: urn for urn in function.dependencies}
    if exported["kvsArn"] is None:
        assert KEY_VALUE_STORE not in urns
    elif exported["evacuation"]:
        # The evacuator's sync has published the union under the key the function reads.
        assert INVOCATION in urns and KVS_KEY not in urns
    else:
        # Pulumi has written the drained key.
        assert KVS_KEY in urns


def test_the_sync_invocation_follows_pulumis_item_and_the_function_and_its_permissions():
    deployment = deployed("stack:dev")
    sync = deployment.one(INVOCATION)
    depends_on = {deployment.by_urn(urn).name for urn in sync.dependencies}
    assert {
        "routing-state-drained",
        "evacuator-policy",
        "evacuator-function-us-east-1",
    } <= depends_on
    # Where Pulumi wrote its item, so the sync reads it, not a replica a moment behind.
    assert sync.region == state(deployment)["tableRegion"] == "us-east-1"
    assert sync.inputs["triggers"] == {
        "drained": out_value([]),
        "table": state(deployment)["table"],
        "store": state(deployment)["kvsArn"],
    }
    assert (
        sync.inputs["functionName"] == deployment.evacuator_functions()["us-east-1"].outputs["name"]
    )
    assert deployed("stack:prod").all(INVOCATION) == []
