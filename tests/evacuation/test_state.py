"""The state table and the key value store, as the evacuator and the break-glass commands use
them: DynamoDB through moto, the KeyValueStore data plane through botocore's Stubber (which checks
every request against the real service model; moto has no KeyValueStore)."""

import boto3
import pytest
from botocore.stub import Stubber
from moto import mock_aws

from edge_function import origin_request
from evacuation.decide import Evacuation, Streak
from evacuation.state import (
    KeyValueStore,
    RoutingState,
    StaleStateError,
    StateTable,
    drained_item,
    out_value,
)
from tests.evacuation.support import create_state_table, dynamodb

KVS_ARN = "arn:aws:cloudfront::123456789012:key-value-store/9a8b7c6d-1e2f-4a5b-8c9d-0e1f2a3b4c5d"
RECORD = Evacuation("2026-11-30T06:00:00+00:00", "checks", "3 failed probes in a row")


@pytest.fixture
def table():
    with mock_aws():
        client = dynamodb()
        yield StateTable(client, create_state_table(client))


def test_both_owners_items_read_as_one_state_and_as_the_edge_reads_them(table):
    assert table.read() == RoutingState()
    table.client.put_item(TableName=table.table, Item=drained_item(["ap-northeast-1"]))
    version = table.write_evacuated({"eu-central-1": RECORD}, 0)
    state = table.read()
    assert (state.drained, dict(state.evacuated), state.version) == (
        {"ap-northeast-1"},
        {"eu-central-1": RECORD},
        version,
    )
    assert state.out == {"ap-northeast-1", "eu-central-1"}
    # The Lambda@Edge function reads the same two items and finds the same origins out.
    items = table.client.query(
        TableName=table.table,
        KeyConditionExpression="pk = :pk",
        ExpressionAttributeValues={":pk": {"S": origin_request.STATE_PARTITION}},
    )["Items"]
    assert origin_request.out_of_rotation(items) == state.out


def test_a_write_made_on_a_stale_read_is_refused(table):
    first = table.write_evacuated({"eu-central-1": RECORD}, 0)
    assert first == 1
    with pytest.raises(StaleStateError, match="changed since version 0"):
        table.write_evacuated({}, 0)
    assert table.write_evacuated({}, first) == 2
    assert dict(table.read().evacuated) == {}


def test_views_round_trip_every_vantage_regions_streaks(table):
    table.write_view("us-east-1", {"eu-central-1": Streak(3, 0, 1_000.5)})
    table.write_view("eu-west-1", {"eu-central-1": Streak(0, 6, 1_001.25)})
    assert table.views() == {
        "us-east-1": {"eu-central-1": Streak(3, 0, 1_000.5)},
        "eu-west-1": {"eu-central-1": Streak(0, 6, 1_001.25)},
    }


def test_the_published_value_is_remembered(table):
    assert table.published() is None
    table.write_published(out_value({"eu-central-1"}))
    assert table.published() == '{"out":["eu-central-1"]}'


def kvs_client():
    return boto3.client(
        "cloudfront-keyvaluestore",
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )


def describe(etag):
    return {
        "ItemCount": 2,
        "TotalSizeInBytes": 40,
        "KvsARN": KVS_ARN,
        "Created": "2026-11-30T06:00:00Z",
        "ETag": etag,
    }


def test_a_key_value_store_write_names_the_current_etag_and_retries_a_race_once():
    client = kvs_client()
    store = KeyValueStore(client, KVS_ARN)
    put = {"KvsARN": KVS_ARN, "Key": "rotation", "Value": '{"out":[]}'}
    written = {"ItemCount": 2, "TotalSizeInBytes": 40, "ETag": "E3"}
    with Stubber(client) as stub:
        stub.add_response("describe_key_value_store", describe("E1"), {"KvsARN": KVS_ARN})
        stub.add_client_error(
            "put_key",
            "ConflictException",
            http_status_code=409,
            expected_params={**put, "IfMatch": "E1"},
        )
        stub.add_response("describe_key_value_store", describe("E2"), {"KvsARN": KVS_ARN})
        stub.add_response("put_key", written, {**put, "IfMatch": "E2"})
        store.put("rotation", '{"out":[]}')
        stub.assert_no_pending_responses()


def test_a_second_race_is_an_error_and_a_missing_key_reads_as_none():
    client = kvs_client()
    store = KeyValueStore(client, KVS_ARN)
    with Stubber(client) as stub:
        for etag in ("E1", "E2"):
            stub.add_response("describe_key_value_store", describe(etag), {"KvsARN": KVS_ARN})
            stub.add_client_error("put_key", "ConflictException", http_status_code=409)
        with pytest.raises(client.exceptions.ConflictException):
            store.put("rotation", "{}")
        stub.add_client_error(
            "get_key",
            "ResourceNotFoundException",
            http_status_code=404,
            expected_params={"KvsARN": KVS_ARN, "Key": "rotation"},
        )
        assert store.get("rotation") is None
        stub.add_response(
            "get_key",
            {"Key": "rotation", "Value": '{"out":[]}', "ItemCount": 1, "TotalSizeInBytes": 20},
            {"KvsARN": KVS_ARN, "Key": "rotation"},
        )
        assert store.get("rotation") == '{"out":[]}'
