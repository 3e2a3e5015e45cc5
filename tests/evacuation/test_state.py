"""The state table and the key value store, as the evacuator and the break-glass commands use
them: DynamoDB through moto, the KeyValueStore data plane through botocore's Stubber (which checks
every request against the real service model; moto has no KeyValueStore)."""

import boto3
import pytest
from botocore.stub import Stubber
from hypothesis import given, settings
from hypothesis import strategies as st
from moto import mock_aws

from edge_function import origin_request
from evacuation.decide import IN, OUT, Evacuation, OperatorDecision, Streak, View
from evacuation.state import (
    Committed,
    KeyValueStore,
    RoutingState,
    StaleStateError,
    StateTable,
    drained_item,
    move_operator_entries,
    out_value,
    value_version,
)
from tests.evacuation.support import create_state_table, dynamodb

KVS_ARN = "arn:aws:cloudfront::123456789012:key-value-store/9a8b7c6d-1e2f-4a5b-8c9d-0e1f2a3b4c5d"
RECORD = Evacuation("2026-11-30T06:00:00+00:00", "checks", "4 failed probes in a row")
ORIGINS = ["us-east-1", "eu-central-1", "ap-northeast-1", "sa-east-1"]


@pytest.fixture
def table():
    with mock_aws():
        client = dynamodb()
        yield StateTable(client, create_state_table(client))


def operator(state, by="arn:aws:iam::123456789012:user/alice"):
    return OperatorDecision(state, "2026-11-30T06:00:00+00:00", by, "maintenance")


def rotation_items(table):
    return table.client.query(
        TableName=table.table,
        KeyConditionExpression="pk = :pk",
        ExpressionAttributeValues={":pk": {"S": origin_request.STATE_PARTITION}},
    )["Items"]


def test_every_owners_items_read_as_one_state_and_as_the_edge_reads_them(table):
    assert table.read() == RoutingState()
    table.client.put_item(TableName=table.table, Item=drained_item(["ap-northeast-1"]))
    version = table.write_evacuated({"eu-central-1": RECORD}, 0, {"us-east-1": "held: limit"})
    table.write_operator("sa-east-1", operator(OUT))
    table.write_operator("eu-central-1", operator(IN))
    state = table.read()
    assert (state.drained, dict(state.evacuated), state.version) == (
        {"ap-northeast-1"},
        {"eu-central-1": RECORD},
        version,
    )
    assert dict(state.held) == {"us-east-1": "held: limit"}
    assert dict(state.operators) == {"sa-east-1": operator(OUT), "eu-central-1": operator(IN)}
    # Held in rotation by an operator: the checks' evacuation does not count.
    assert state.out == {"ap-northeast-1", "sa-east-1"}
    # The Lambda@Edge function reads the same items and finds the same origins out.
    assert origin_request.out_of_rotation(rotation_items(table)) == state.out
    table.remove_operator("eu-central-1")
    assert table.read().out == {"ap-northeast-1", "sa-east-1", "eu-central-1"}


def test_a_write_made_on_a_stale_read_is_refused(table):
    first = table.write_evacuated({"eu-central-1": RECORD}, 0)
    assert first == 1
    with pytest.raises(StaleStateError, match="changed meanwhile"):
        table.write_evacuated({}, 0)
    assert table.write_evacuated({}, first) == 2
    assert dict(table.read().evacuated) == {}


def test_a_vantage_regions_view_is_counted_once_a_tick(table):
    view = View(100, {"eu-central-1": Streak(3, 0, 98, 100)})
    table.write_view("us-east-1", view, 0)
    assert table.view("us-east-1") == view
    # A second invocation that read the same (nothing) loses; one that read tick 100 wins.
    with pytest.raises(StaleStateError):
        table.write_view("us-east-1", View(100, {}), 0)
    later = View(101, {"eu-central-1": Streak(4, 0, 98, 101)})
    with pytest.raises(StaleStateError):
        table.write_view("us-east-1", later, 99)
    table.write_view("us-east-1", later, 100)
    table.write_view("eu-west-1", View(101, {"eu-central-1": Streak(0, 6, 95, 101)}), 0)
    assert table.views() == {
        "us-east-1": later,
        "eu-west-1": View(101, {"eu-central-1": Streak(0, 6, 95, 101)}),
    }
    assert table.view("ap-northeast-1") == View()


def test_a_view_written_by_an_earlier_evacuator_counts_for_nothing(table):
    # Its items carried seconds ("at"), no ticks: nothing in it is fresh.
    table.client.put_item(
        TableName=table.table,
        Item={
            "pk": {"S": "vantage"},
            "sk": {"S": "us-east-1"},
            "origins": {
                "M": {
                    "eu-central-1": {
                        "M": {"failures": {"N": "9"}, "successes": {"N": "0"}, "at": {"N": "1.5"}}
                    }
                }
            },
        },
    )
    assert table.view("us-east-1") == View()
    table.write_view("us-east-1", View(5, {}), 0)  # its successor takes over the item
    assert table.view("us-east-1").tick == 5


def test_the_union_is_committed_with_a_version_that_only_grows(table):
    assert table.committed() == Committed()
    first = table.commit({"eu-central-1"}, Committed())
    assert first == Committed(1, ("eu-central-1",))
    with pytest.raises(StaleStateError):
        table.commit(set(), Committed())
    assert table.commit(set(), first) == Committed(2, ())
    assert table.committed() == Committed(2, ())


def test_what_the_store_holds_is_remembered_per_store_and_never_goes_back(table):
    assert table.published(KVS_ARN) == -1
    table.write_published(3, KVS_ARN)
    table.write_published(2, KVS_ARN)  # a slower writer: ignored
    assert table.published(KVS_ARN) == 3
    assert table.published(KVS_ARN + "-new") == -1  # another store: unknown
    table.write_published(1, KVS_ARN + "-new")
    assert table.published(KVS_ARN + "-new") == 1


def test_operators_evacuations_of_the_earlier_layout_move_to_their_own_items(table):
    table.client.put_item(
        TableName=table.table,
        Item={
            "pk": {"S": "rotation"},
            "sk": {"S": "evacuated"},
            "version": {"N": "4"},
            "regions": {
                "M": {
                    "eu-central-1": {
                        "M": {
                            "since": {"S": "2026-11-30T06:00:00+00:00"},
                            "by": {"S": "arn:aws:iam::123456789012:user/alice"},
                            "reason": {"S": "maintenance"},
                        }
                    },
                    "ap-northeast-1": {
                        "M": {
                            "since": {"S": RECORD.since},
                            "by": {"S": "checks"},
                            "reason": {"S": RECORD.reason},
                        }
                    },
                }
            },
        },
    )
    before = table.read()
    assert before.decisions == {"eu-central-1": operator(OUT)}
    assert before.out == {"eu-central-1", "ap-northeast-1"}
    assert origin_request.out_of_rotation(rotation_items(table)) == before.out
    move_operator_entries(table, before)
    after = table.read()
    assert dict(after.evacuated) == {"ap-northeast-1": RECORD} and after.version == 5
    assert dict(after.operators) == {"eu-central-1": operator(OUT)}
    assert after.out == before.out == origin_request.out_of_rotation(rotation_items(table))


states = st.fixed_dictionaries(
    {
        "drained": st.sets(st.sampled_from(ORIGINS)),
        "checks": st.sets(st.sampled_from(ORIGINS)),
        "operators": st.dictionaries(st.sampled_from(ORIGINS), st.sampled_from([IN, OUT])),
    }
)


@settings(max_examples=40, deadline=None)
@given(states)
def test_the_edge_reads_the_items_as_the_evacuator_reads_them(state):
    with mock_aws():
        client = dynamodb()
        table = StateTable(client, create_state_table(client))
        client.put_item(TableName=table.table, Item=drained_item(state["drained"]))
        table.write_evacuated(dict.fromkeys(state["checks"], RECORD), 0)
        for origin, decision in state["operators"].items():
            table.write_operator(origin, operator(decision))
        read = table.read()
        assert origin_request.out_of_rotation(rotation_items(table)) == read.out


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


def test_a_store_is_written_only_when_it_holds_an_older_version():
    client = kvs_client()
    store = KeyValueStore(client, KVS_ARN)
    key = {"KvsARN": KVS_ARN, "Key": "rotation"}
    held = {"Key": "rotation", "ItemCount": 1, "TotalSizeInBytes": 30}
    with Stubber(client) as stub:
        # It holds version 5: a writer of version 4 leaves it.
        stub.add_response("describe_key_value_store", describe("E1"), {"KvsARN": KVS_ARN})
        stub.add_response("get_key", {"Value": out_value({"eu-central-1"}, 5), **held}, key)
        assert store.publish("rotation", ["us-east-1"], 4) == 5
        # A writer of version 6 writes, naming the ETag it read before the value; a race is
        # read again, and the store's version compared again.
        stub.add_response("describe_key_value_store", describe("E1"), {"KvsARN": KVS_ARN})
        stub.add_response("get_key", {"Value": out_value(set(), 5), **held}, key)
        stub.add_client_error(
            "put_key",
            "ConflictException",
            http_status_code=409,
            expected_params={**key, "Value": '{"out":["us-east-1"],"v":6}', "IfMatch": "E1"},
        )
        stub.add_response("describe_key_value_store", describe("E2"), {"KvsARN": KVS_ARN})
        stub.add_response("get_key", {"Value": '{"out":[]}', **held}, key)
        stub.add_response(
            "put_key",
            {"ItemCount": 1, "TotalSizeInBytes": 30, "ETag": "E3"},
            {**key, "Value": '{"out":["us-east-1"],"v":6}', "IfMatch": "E2"},
        )
        assert store.publish("rotation", ["us-east-1"], 6) == 6
        stub.assert_no_pending_responses()


def test_a_values_version_reads_as_minus_one_when_it_has_none():
    assert value_version(None) == -1
    assert value_version('{"out":[]}') == -1  # Pulumi's, or an earlier evacuator's
    assert value_version("not json") == -1
    assert value_version('{"out":[],"v":true}') == -1
    assert value_version(out_value(["us-east-1"], 7)) == 7


def test_a_commit_never_carries_an_older_state_than_the_commit_it_follows(table, monkeypatch):
    # Another writer (the checks) changes the state and commits it while this one is between its
    # first and second read: whatever order the reads are in, what is committed last is the
    # state as it is now.
    from evacuation import state as state_module

    table.write_evacuated({}, 0)
    state_module.commit(table)  # version 1: nothing out
    interleaved = []

    def other_writer():
        read = table.read()
        table.write_evacuated({"eu-central-1": RECORD}, read.version)
        table.commit({"eu-central-1"}, table.committed())

    for name in ("read", "committed"):
        original = getattr(StateTable, name)

        def first_call_then_the_other(self, *args, _original=original, **kwargs):
            answer = _original(self, *args, **kwargs)
            if not interleaved:
                interleaved.append(True)
                other_writer()
            return answer

        monkeypatch.setattr(StateTable, name, first_call_then_the_other)
    _, committed = state_module.commit(table)
    assert interleaved
    assert table.committed() == committed
    assert committed.out == ("eu-central-1",)
