"""The routing state in the sandbox, for both engines: what ``pulumi up`` writes at start, the
health objects, a drain through the state with no code change, a Lambda@Edge container that sees a
change only after its refresh (never sooner than on AWS), and the evacuation: the evacuator needs
its failures in a row before it takes a stalled Region out, and the edge follows the state."""

import json
import time

import pytest

from core.engine import Engine
from evacuation.evacuator import HEALTH_KEY
from evacuation.state import DRAINED_KEY, ROTATION_KEY, drained_item, out_value
from routing.catalogue import lambda_edge_execution_regions
from sandbox.drill import ask
from sandbox.evacuation_drill import EvacuationDrill
from sandbox.stack import HEALTH_BODY, Sandbox
from sandbox.state import PROBE_SECONDS
from settings.parser import parse_settings
from tests.sandbox.support import SCALED_CONNECT_TIMEOUT

ORIGINS = ["us-east-1", "eu-central-1", "ap-northeast-1"]
ENGINES = ["lambda-edge", "cloudfront-functions"]


def settings_for(engine, stack, **values):
    raw = {"origins": json.dumps(ORIGINS), "engine": engine}
    return parse_settings({**raw, **{k: json.dumps(v) for k, v in values.items()}}, stack=stack)


def rotation_items(state, region):
    return state.dynamodb(region).query(
        TableName=state.table,
        KeyConditionExpression="pk = :pk",
        ExpressionAttributeValues={":pk": {"S": "rotation"}},
    )["Items"]


@pytest.mark.parametrize("engine", ENGINES)
def test_pulumis_drained_item_is_written_at_start_and_read_alike_in_every_replica(engine):
    settings = settings_for(engine, f"start-{engine[:2]}", drained=["ap-northeast-1"])
    with Sandbox(settings, read_timeout=0.5) as sandbox:
        state = sandbox.state
        assert state.read().drained == {"ap-northeast-1"}
        # A global table: every Region that reads or writes it has the same item.
        expected = [drained_item(["ap-northeast-1"])]
        assert set(settings.evacuation_vantages) <= set(state.table_regions)
        if engine == "lambda-edge":
            assert set(lambda_edge_execution_regions()) <= set(state.table_regions)
        for region in state.table_regions:
            assert rotation_items(state, region) == expected, region
        assert state.outputs()["table"] == state.table
        # What the edge reads says the same: nothing goes to the drained Region.
        for edge in ("ap-northeast-2", "ap-southeast-1"):
            assert "ap-northeast-1" not in sandbox.edge.routes_now(edge)


@pytest.mark.parametrize(("evacuation", "key"), [(False, DRAINED_KEY), (True, ROTATION_KEY)])
def test_the_key_value_store_holds_pulumis_key_or_the_evacuators_union(evacuation, key):
    settings = settings_for(
        "cloudfront-functions", f"kvs-{evacuation}", drained=["us-east-1"], evacuation=evacuation
    )
    with Sandbox(settings, read_timeout=0.5) as sandbox:
        items = dict(sandbox.state.function_store())
        # Pulumi's key, or the evacuator's union at its first committed version.
        assert items == {key: out_value({"us-east-1"}, 1 if evacuation else None)}
        assert sandbox.state.outputs()["stateKey"] == key
        if not evacuation:
            # As the program declares it: without an evacuator the function reads the store alone.
            assert sandbox.state.outputs()["table"] is None
            assert sandbox.state.table_regions == ()
            return
        table = sandbox.state.state_table()
        assert table.published(sandbox.state.kvs_arn) == table.committed().version == 1


def test_a_missing_health_object_answers_the_probe_403_and_another_owner_403_too():
    # The evacuator may read the health object and list nothing: S3 answers 403, not 404.
    settings = settings_for("lambda-edge", "health-403")
    with Sandbox(settings, read_timeout=0.5) as sandbox:
        client, bucket = sandbox.emulators.client("eu-central-1"), sandbox.buckets["eu-central-1"]
        client.delete_object(Bucket=bucket, Key=HEALTH_KEY)
        with pytest.raises(client.exceptions.ClientError) as denied:
            client.get_object(Bucket=bucket, Key=HEALTH_KEY)
        assert denied.value.response["ResponseMetadata"]["HTTPStatusCode"] == 403
        sandbox.put_health_object("eu-central-1")
        with pytest.raises(client.exceptions.ClientError) as other:
            client.get_object(Bucket=bucket, Key=HEALTH_KEY, ExpectedBucketOwner="111122223333")
        assert other.value.response["Error"]["Code"] == "AccessDenied"
        assert client.get_object(Bucket=bucket, Key=HEALTH_KEY, ExpectedBucketOwner="123456789012")


def test_every_bucket_holds_the_health_object_a_new_empty_one_too():
    settings = settings_for("lambda-edge", "health")
    with Sandbox(settings, read_timeout=0.5, empty_regions=["ap-northeast-1"]) as sandbox:
        for region, bucket in sandbox.buckets.items():
            body = sandbox.emulators.client(region).get_object(Bucket=bucket, Key=HEALTH_KEY)
            assert body["Body"].read() == HEALTH_BODY
        listing = sandbox.emulators.client("ap-northeast-1").list_objects_v2(
            Bucket=sandbox.buckets["ap-northeast-1"]
        )
        assert [item["Key"] for item in listing["Contents"]] == [HEALTH_KEY]
        assert HEALTH_KEY not in sandbox.keys


def no_request_reaches(sandbox, region):
    """Ask from the Regions next to ``region`` and from every edge's routes: none goes there."""
    target = sandbox.emulators.regions[region]
    before = target.viewer_requests
    for edge_region in lambda_edge_execution_regions():
        assert region not in sandbox.edge.routes_now(edge_region), edge_region
    for edge_region in ("eu-west-1", "eu-west-2", "eu-central-1"):
        answer = ask(sandbox, edge_region, "index.html")
        assert (answer.status, answer.failover) == (200, False)
        assert answer.served_by != region
    assert target.viewer_requests == before


@pytest.mark.parametrize("engine", ENGINES)
def test_a_drain_reaches_the_running_code_through_the_state_and_the_new_code_keeps_it(engine):
    with Sandbox(settings_for(engine, f"drain-{engine[:2]}"), read_timeout=0.5) as sandbox:
        edge = sandbox.edge
        code = (edge.handler, edge.viewer_request)
        # `pulumi up` writes the state first: the code that is running routes around the drain.
        with sandbox.drained_in_state({"eu-central-1"}):
            assert (edge.handler, edge.viewer_request) == code  # the code that was running
            no_request_reaches(sandbox, "eu-central-1")
            # But a container of that code that cannot read the state (a cold one whose first
            # read fails; an edge the store has not reached) would send requests there.
            with sandbox.cold_started(), sandbox.store_not_reached():
                assert sandbox.edge.routes_now("eu-west-2")[0] == "eu-central-1"
        # Then the new code, which carries the drain: its containers route around it whether or
        # not they can read the state (drains fail safe).
        with sandbox.drained({"eu-central-1"}):
            assert (edge.handler, edge.viewer_request) != code
            no_request_reaches(sandbox, "eu-central-1")
            with sandbox.cold_started(), sandbox.store_not_reached():
                no_request_reaches(sandbox, "eu-central-1")
        sandbox.edge.invalidate()
        assert ask(sandbox, "eu-west-2", "index.html").served_by == "eu-central-1"


def test_a_lambda_edge_container_sees_a_change_only_after_its_refresh():
    settings = settings_for("lambda-edge", "refresh")
    refresh = 2.0  # room for a slow write on a busy machine
    with Sandbox(settings, read_timeout=0.5, state_refresh_seconds=refresh) as sandbox:
        edge = sandbox.edge
        assert edge.routes_now("eu-west-2")[0] == "eu-central-1"  # the container reads now
        read_at = time.monotonic()
        sandbox.state.write_drained({"eu-central-1"})
        # Still within its refresh: it routes by what it read, as a container on Lambda does.
        assert edge.routes_now("eu-west-2")[0] == "eu-central-1"
        assert time.monotonic() - read_at < refresh
        time.sleep(refresh - (time.monotonic() - read_at) + 0.05)
        assert edge.routes_now("eu-west-2")[0] == "us-east-1"


@pytest.mark.parametrize("engine", ENGINES)
def test_the_evacuator_takes_a_stalled_region_out_after_its_failures_and_brings_it_back(engine):
    settings = settings_for(engine, f"evac-{engine[:2]}")
    with Sandbox(settings, read_timeout=0.5) as sandbox:
        drill = EvacuationDrill(sandbox, "eu-central-1")
        with drill.stalled():
            assert drill.problem is None
            record = sandbox.state.read().evacuated["eu-central-1"]
            assert record.by == "checks"
            assert record.reason.startswith("4 failed probes in a row from ")
            for edge_region in lambda_edge_execution_regions():
                assert "eu-central-1" not in sandbox.edge.routes_now(edge_region)
        with drill.recovered():
            assert drill.back_problem is None
            assert sandbox.state.read().evacuated == {}
        figures = drill.figures
        # Never at once: four failed probes, a tick apart, take it out (the first may be one
        # sent just before the stall); thirteen good ones bring it back.
        assert figures.out_s >= PROBE_SECONDS * (settings.evacuation_failures - 2)
        assert figures.back_s >= PROBE_SECONDS * (settings.evacuation_recoveries - 2)
        assert figures.edge_out_s >= figures.out_s and figures.edge_back_s >= figures.back_s
        if engine == "lambda-edge":
            # Within a refresh of the state, and a second for a loaded machine's polling.
            assert figures.edge_out_s - figures.out_s <= sandbox.state.refresh_seconds + 1.0
        assert any("eu-central-1 evacuated" in event for event in figures.events)
        assert any("eu-central-1 restored" in event for event in figures.events)
        if settings.engine is Engine.CLOUDFRONT_FUNCTIONS:
            assert any("the key value store holds version" in event for event in figures.events)
        report = "\n".join(drill.report())
        assert "AWS's intervals / 40" in report and "./dev simulate's figures" in report


def test_no_evacuation_phase_without_an_evacuator():
    from sandbox.drill import run_drill

    settings = settings_for("lambda-edge", "no-evac", evacuation=False)
    with Sandbox(settings, read_timeout=0.5, connect_timeout=SCALED_CONNECT_TIMEOUT) as sandbox:
        lines: list[str] = []
        assert run_drill(sandbox, sandbox.keys, out=lines.append) == 0
    assert "no evacuator (geo-proximity:evacuation false)" in lines[1]
    assert not any("stalled: the evacuator" in line for line in lines)
