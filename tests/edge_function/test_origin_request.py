import ast
import copy
import datetime
import json
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import boto3
import botocore.auth
import botocore.session
import pytest
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from botocore.serialize import create_serializer
from botocore.validate import validate_parameters
from hypothesis import given
from hypothesis import strategies as st

from edge_function import origin_request
from edge_function.origin_request import RoutingState, out_of_rotation
from edge_function.package import RUNTIME_MODULES, package_files
from edge_function.state_read import sign_v4
from routing.artifact import DEFAULT_MARKER_HEADER
from routing.table import Route, derive_routing_table
from tests.evacuation.support import create_state_table
from tests.support import (
    FAKE_CREDENTIALS,
    SEED_ORIGINS,
    STATE_TABLE,
    FakeClock,
    FakeState,
    LambdaContext,
    StateServer,
    artifact_for,
    context_in,
    custom_origin_event,
    drained_item,
    evacuated_item,
    expected_reroute,
    failover_request_event,
    free_port,
    origin_request_event,
    request_of,
    seed_artifact,
    start_moto_server,
    state_source,
)


@pytest.fixture(autouse=True)
def fresh_log_state(monkeypatch):
    # The handler logs each cause once per container; every test is a new container.
    monkeypatch.setattr(origin_request, "_logged", set())
    monkeypatch.delenv("AWS_REGION", raising=False)


@pytest.fixture
def seed_handler(make_handler):
    return make_handler(seed_artifact())


@pytest.mark.parametrize(
    ("edge", "target"),
    [
        ("us-east-1", "us-east-1"),
        ("us-west-2", "us-east-1"),
        ("sa-east-1", "us-east-1"),
        ("eu-west-1", "eu-central-1"),
        ("eu-west-2", "eu-central-1"),
        ("ap-south-1", "eu-central-1"),
        ("ap-southeast-1", "ap-northeast-1"),
        ("ap-southeast-2", "ap-northeast-1"),
    ],
)
def test_normal_request_goes_to_the_primary_and_changes_only_the_origin(seed_handler, edge, target):
    event = origin_request_event(origin_region="us-east-1")
    expected = expected_reroute(event, target)
    assert seed_handler(event, context_in(edge)) == expected


@pytest.mark.parametrize(
    ("edge", "group_member", "target"),
    [
        # group's failover member is the bucket that failed
        ("eu-central-1", "eu-central-1", "us-east-1"),
        ("eu-west-1", "eu-central-1", "us-east-1"),
        ("us-east-1", "eu-central-1", "eu-central-1"),
        ("ap-northeast-1", "eu-central-1", "eu-central-1"),
        ("ap-southeast-2", "eu-central-1", "us-east-1"),
    ],
)
def test_failover_request_goes_to_the_regions_failover_origin(
    seed_handler, edge, group_member, target
):
    event = failover_request_event(origin_region=group_member)
    primary_request = seed_handler(origin_request_event(), context_in(edge))
    failover_request = seed_handler(event, context_in(edge))
    assert failover_request == expected_reroute(event, target)
    assert (
        failover_request["origin"]["s3"]["domainName"]
        != primary_request["origin"]["s3"]["domainName"]
    )


@pytest.mark.parametrize(
    "configured", ["X-Geo-Failover", "x-geo-failover", "X-GEO-FAILOVER", "originTypeFailover"]
)
def test_marker_is_recognised_whatever_the_case_of_the_configured_name(make_handler, configured):
    handler = make_handler(
        artifact_for(derive_routing_table(SEED_ORIGINS), marker_header=configured)
    )
    event = failover_request_event(origin_region="eu-central-1", marker_header=configured)
    assert list(request_of(event)["origin"]["s3"]["customHeaders"]) == [configured.lower()]
    assert handler(event, context_in("eu-central-1"))["origin"]["s3"]["region"] == "us-east-1"


def test_marker_under_a_non_lowercase_key_is_still_recognised(seed_handler):
    event = failover_request_event(origin_region="eu-central-1")
    headers = request_of(event)["origin"]["s3"]["customHeaders"]
    headers["X-Geo-Failover"] = headers.pop("x-geo-failover")
    assert seed_handler(event, context_in("eu-central-1"))["origin"]["s3"]["region"] == "us-east-1"


def test_other_custom_headers_do_not_look_like_failover(seed_handler):
    event = origin_request_event(
        origin_region="us-east-1", custom_headers={"X-Origin-Verify": "s3cr3t"}
    )
    assert seed_handler(event, context_in("eu-west-1")) == expected_reroute(event, "eu-central-1")


def test_fixed_mode_sends_failover_requests_to_the_fixed_origin_unless_it_is_out(make_handler):
    state = FakeState()
    handler = make_handler(
        seed_artifact(failover="fixed", failover_origin="ap-northeast-1"), state=state
    )
    event = failover_request_event(origin_region="ap-northeast-1")
    assert handler(copy.deepcopy(event), context_in("eu-west-1")) == expected_reroute(
        event, "ap-northeast-1"
    )
    # Normal requests go to the nearest bucket.
    assert (
        handler(origin_request_event(), context_in("eu-west-1"))["origin"]["s3"]["region"]
        == "eu-central-1"
    )
    # With the fixed origin out there is no failover: the retry goes to the primary again.
    state.current = frozenset({"ap-northeast-1"})
    assert handler(copy.deepcopy(event), context_in("eu-west-1")) == expected_reroute(
        event, "eu-central-1"
    )


def test_off_mode_sends_failover_requests_to_the_primary(make_handler):
    handler = make_handler(seed_artifact(failover="off"), state=FakeState({"eu-central-1"}))
    event = failover_request_event(origin_region="ap-northeast-1")
    # Frankfurt is out: Dublin's primary is the next nearest, and so is the retry.
    assert handler(event, context_in("eu-west-1")) == expected_reroute(event, "us-east-1")


def test_single_origin_routes_everything_there(make_handler):
    handler = make_handler(artifact_for(derive_routing_table(["eu-west-1"])))
    event = origin_request_event(origin_region="eu-west-1")
    assert handler(event, context_in("ap-southeast-2")) == expected_reroute(event, "eu-west-1")
    marked = failover_request_event(origin_region="eu-west-1")
    assert handler(copy.deepcopy(marked), context_in("ap-southeast-2")) == expected_reroute(
        marked, "eu-west-1"
    )


def test_custom_origin_is_returned_untouched_and_not_logged(seed_handler, capsys):
    event = custom_origin_event()
    untouched = copy.deepcopy(request_of(event))
    assert seed_handler(event, context_in("eu-west-1")) == untouched
    # The developer guide's example lists both origin kinds; the custom one wins, as it must.
    both = origin_request_event()
    request_of(both)["origin"].update(request_of(custom_origin_event())["origin"])
    untouched = copy.deepcopy(request_of(both))
    assert seed_handler(both, context_in("eu-west-1")) == untouched
    assert capsys.readouterr().err == ""


def test_region_unknown_to_the_artifact_takes_the_default_route(seed_handler):
    event = origin_request_event(origin_region="eu-central-1")
    assert seed_handler(event, context_in("xx-future-1")) == expected_reroute(event, "us-east-1")
    failover = failover_request_event(origin_region="eu-central-1")
    assert seed_handler(failover, context_in("xx-future-1")) == expected_reroute(
        failover, "eu-central-1"
    )


@pytest.mark.parametrize(
    "arn",
    [
        "not-an-arn",
        "arn:aws:lambda",
        "arn:aws:lambda::123456789012:function:us-east-1.geo-router:7",
        "arn:aws:lambda:EU-WEST-1:123456789012:function:x:1",
        "arn:aws:lambda:eu-west:123456789012:function:x:1",
        "arn:aws:lambda:eur-west-1:123456789012:function:x:1",
        "arn:aws:lambda:eu-west-x:123456789012:function:x:1",
        "",
    ],
)
def test_malformed_arn_falls_back_to_aws_region_then_to_the_default(seed_handler, monkeypatch, arn):
    event = origin_request_event()
    assert seed_handler(copy.deepcopy(event), LambdaContext(arn)) == expected_reroute(
        event, "us-east-1"
    )
    monkeypatch.setenv("AWS_REGION", "ap-southeast-1")
    fresh_container = origin_request.build_handler(json.loads(seed_artifact()))
    assert fresh_container(copy.deepcopy(event), LambdaContext(arn)) == expected_reroute(
        event, "ap-northeast-1"
    )


def test_context_without_an_arn_uses_aws_region(seed_handler, monkeypatch):
    monkeypatch.setenv("AWS_REGION", "eu-west-1")
    event = origin_request_event()
    assert seed_handler(event, object()) == expected_reroute(event, "eu-central-1")


def test_missing_artifact_passes_requests_through_and_logs_once(tmp_path, capsys):
    handler = origin_request.build_handler(
        origin_request.load_artifact(str(tmp_path / "routing.json"))
    )
    for _ in range(3):
        event = origin_request_event()
        untouched = copy.deepcopy(request_of(event))
        assert handler(event, context_in("eu-west-1")) == untouched
    logged = capsys.readouterr().err.strip().splitlines()
    assert len(logged) == 1
    assert "cannot read routing artifact" in logged[0] and "pass through unchanged" in logged[0]


@pytest.mark.parametrize(
    "content",
    ["{not json", "[]", '{"schema": 2}', json.dumps({**json.loads(seed_artifact()), "schema": 99})],
)
def test_unusable_artifact_passes_requests_through(make_handler, capsys, content):
    handler = make_handler(content)
    event = origin_request_event()
    untouched = copy.deepcopy(request_of(event))
    assert handler(event, context_in("eu-west-1")) == untouched
    assert len(capsys.readouterr().err.strip().splitlines()) == 1


@pytest.mark.parametrize(
    "mangle",
    [
        lambda request: request.pop("headers"),
        lambda request: request.update(headers=[]),
        lambda request: request.update(origin=[]),
        lambda request: request["origin"].update(s3=None),
        lambda request: request["origin"]["s3"].update(customHeaders=5),
    ],
)
def test_malformed_requests_are_returned_without_a_partial_rewrite(seed_handler, mangle):
    event = origin_request_event()
    mangle(request_of(event))
    before = copy.deepcopy(request_of(event))
    assert seed_handler(event, context_in("eu-west-1")) == before


def test_malformed_events_never_raise(seed_handler):
    for event in [None, {}, {"Records": []}, {"Records": [{"cf": {}}]}, "event"]:
        assert seed_handler(event, context_in("eu-west-1")) is None


COLD_CONTAINER = """
import json, os, sys
import lambda_function

class Context:
    invoked_function_arn = "arn:aws:lambda:{edge}:123456789012:function:us-east-1.geo-router:7"

event = json.loads(sys.stdin.read())
first = lambda_function.handler(event, Context())
os.remove("routing.json")  # read once per container: later requests do not need the file
second = lambda_function.handler(json.loads(json.dumps(event)), Context())
print(json.dumps([first, second]))
"""


def run_cold_container(directory, artifact, event, edge, environ=None):
    for name, text in package_files(artifact).items():
        (directory / name).write_text(text, encoding="utf-8")
    return subprocess.run(
        [sys.executable, "-B", "-E", "-s", "-c", COLD_CONTAINER.format(edge=edge)],
        input=json.dumps(event),
        capture_output=True,
        text=True,
        cwd=directory,
        check=True,
        env=environ,
    )


def test_packaged_function_reads_its_artifact_once_per_container(tmp_path):
    event = origin_request_event()
    completed = run_cold_container(tmp_path, seed_artifact(), event, "ap-southeast-2")
    first, second = json.loads(completed.stdout)
    assert first == second == expected_reroute(event, "ap-northeast-1")
    assert completed.stderr == ""


def test_a_cold_container_whose_state_store_is_unreachable_routes_by_the_rankings(tmp_path):
    # Nothing listens on the endpoint: the read fails at once, the function fails open and says
    # so once.
    artifact = artifact_for(
        derive_routing_table(SEED_ORIGINS), state=state_source(f"http://127.0.0.1:{free_port()}")
    )
    event = origin_request_event()
    completed = run_cold_container(
        tmp_path, artifact, event, "ap-southeast-2", environ={"PATH": "", **FAKE_CREDENTIALS}
    )
    first, second = json.loads(completed.stdout)
    assert first == second == expected_reroute(event, "ap-northeast-1")
    (logged,) = completed.stderr.splitlines()
    assert "routing state unreadable (ConnectionRefusedError" in logged
    assert "keeping every origin in rotation" in logged


def test_runtime_imports_only_the_standard_library_and_talks_only_socket_and_ssl():
    imported = set()
    for module in RUNTIME_MODULES:
        for node in ast.walk(ast.parse(module.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                imported |= {alias.name for alias in node.names}
            elif isinstance(node, ast.ImportFrom):
                imported.add(node.module)
    shipped = {module.stem for module in RUNTIME_MODULES}
    assert {name.split(".")[0] for name in imported - shipped} <= set(sys.stdlib_module_names)
    # The network: socket and ssl, to the state table only. No botocore (half a second to
    # import), no http.client (the email package, tens of milliseconds).
    assert imported - shipped == {
        "_json",
        "_thread",
        "json",
        "hashlib",
        "hmac",
        "os",
        "socket",
        "ssl",
        "sys",
        "time",
    }


COLD_IMPORTS = """
import sys
import lambda_function
heavy = set({names})
print(" ".join(sorted(name for name in sys.modules if {{name, name.split(".")[0]}} & heavy)))
"""


def test_a_cold_container_imports_no_network_module_before_its_first_request(tmp_path):
    # What a cold start costs is what it imports: the modules the state read needs are imported
    # by the read, in its own thread, and never before the first request.
    heavy = {"socket", "ssl", "http", "email", "hashlib", "hmac", "json", "threading", "re"}
    heavy |= {"state_read", "geo_proximity_state_read", "importlib.util", "types"}
    for name, text in package_files(
        artifact_for(derive_routing_table(SEED_ORIGINS), state=state_source())
    ).items():
        (tmp_path / name).write_text(text, encoding="utf-8")
    completed = subprocess.run(
        [sys.executable, "-B", "-E", "-s", "-c", COLD_IMPORTS.format(names=sorted(heavy))],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        check=True,
    )
    assert completed.stdout.split() == [], completed.stdout
    assert completed.stderr == ""


def test_default_marker_header_name_is_configured_in_the_artifact(seed_table):
    assert json.loads(artifact_for(seed_table))["markerHeader"] == DEFAULT_MARKER_HEADER


def test_parse_json_reads_the_constants_json_loads_reads():
    parsed = origin_request.parse_json('[NaN, Infinity, -Infinity, 1.5e3, "x\\u00e9"]')
    assert str(parsed[:3]) == "[nan, inf, -inf]" and parsed[3:] == [1500.0, "x\u00e9"]


def test_parse_json_falls_back_to_the_json_package_without_the_c_scanner(monkeypatch):
    monkeypatch.setattr(origin_request, "_c_scanner", lambda: None)
    assert origin_request.parse_json(seed_artifact()) == json.loads(seed_artifact())
    with pytest.raises(ValueError):
        origin_request.parse_json("{")


# The routing state in the handler: a stand-in state (tests.support.FakeState) decides what is out.


@pytest.mark.parametrize(
    ("out", "edge", "primary", "failover"),
    [
        # London's ranking: eu-central-1, us-east-1, ap-northeast-1.
        (set(), "eu-west-2", "eu-central-1", "us-east-1"),
        ({"eu-central-1"}, "eu-west-2", "us-east-1", "ap-northeast-1"),
        ({"us-east-1"}, "eu-west-2", "eu-central-1", "ap-northeast-1"),
        # One origin left: the retry goes to it again, never to one out of rotation.
        ({"eu-central-1", "us-east-1"}, "eu-west-2", "ap-northeast-1", "ap-northeast-1"),
        # All out: as if none were.
        (set(SEED_ORIGINS), "eu-west-2", "eu-central-1", "us-east-1"),
        # Unknown edge: the default ranking, us-east-1, eu-central-1, ap-northeast-1.
        ({"us-east-1"}, "xx-future-1", "eu-central-1", "ap-northeast-1"),
    ],
)
def test_origins_out_of_rotation_are_never_a_target(make_handler, out, edge, primary, failover):
    handler = make_handler(seed_artifact(), state=FakeState(out))
    normal = origin_request_event(origin_region="us-east-1")
    assert handler(copy.deepcopy(normal), context_in(edge)) == expected_reroute(normal, primary)
    retry = failover_request_event(origin_region="eu-central-1")
    assert handler(copy.deepcopy(retry), context_in(edge)) == expected_reroute(retry, failover)


def test_the_state_is_asked_once_per_request_for_the_executing_region(make_handler):
    state = FakeState()
    handler = make_handler(seed_artifact(), state=state)
    handler(origin_request_event(), context_in("eu-west-1"))
    handler(failover_request_event(origin_region="eu-central-1"), context_in("sa-east-1"))
    assert state.asked == ["eu-west-1", "sa-east-1"]
    # A custom origin is not routed, so the state is not asked.
    handler(custom_origin_event(), context_in("eu-west-1"))
    assert state.asked == ["eu-west-1", "sa-east-1"]


def test_a_state_change_takes_effect_on_the_next_request_without_a_new_handler(make_handler):
    state = FakeState()
    handler = make_handler(seed_artifact(), state=state)

    def region():
        return handler(origin_request_event(), context_in("eu-west-1"))["origin"]["s3"]["region"]

    assert region() == "eu-central-1"
    state.current = frozenset({"eu-central-1"})
    assert region() == "us-east-1"
    state.current = frozenset({"eu-central-1", "us-east-1"})
    assert region() == "ap-northeast-1"
    state.current = frozenset()
    assert region() == "eu-central-1"


def test_the_routes_a_container_remembers_are_bounded(make_handler, monkeypatch):
    monkeypatch.setattr(origin_request, "_MAX_CACHED_ROUTES", 4)
    state = FakeState()
    handler = make_handler(seed_artifact(), state=state)
    for out in [(), ("eu-central-1",), ("us-east-1",), ("ap-northeast-1",)] * 3:
        state.current = frozenset(out)
        expected = derive_routing_table(SEED_ORIGINS).route_for("eu-west-1", out).primary
        request = handler(origin_request_event(), context_in("eu-west-1"))
        assert request["origin"]["s3"]["region"] == expected


def test_a_document_with_a_state_source_reads_it(monkeypatch):
    # build_handler makes the RoutingState itself from the document's state source.
    made = []
    monkeypatch.setattr(
        origin_request,
        "RoutingState",
        lambda config: made.append(config) or FakeState({"us-east-1"}),
    )
    source = state_source("http://127.0.0.1:4566")
    handler = origin_request.build_handler(
        json.loads(artifact_for(derive_routing_table(SEED_ORIGINS), state=source))
    )
    assert made == [source.document()]
    event = origin_request_event()
    assert handler(copy.deepcopy(event), context_in("us-east-2")) == expected_reroute(
        event, "eu-central-1"
    )


# out_of_rotation: the state table's items (DynamoDB JSON) → the origins out.


@pytest.mark.parametrize(
    ("items", "out"),
    [
        ([], set()),
        ([drained_item(["eu-central-1"])], {"eu-central-1"}),
        ([evacuated_item(["ap-northeast-1", "us-east-1"])], {"ap-northeast-1", "us-east-1"}),
        (
            [drained_item(["eu-central-1"]), evacuated_item(["eu-central-1", "us-east-1"])],
            {"eu-central-1", "us-east-1"},
        ),
        ([drained_item([]), evacuated_item([])], set()),
        # An item without its list (written before any Region was put out): nothing out.
        ([{"pk": {"S": "rotation"}, "sk": {"S": "evacuated"}, "version": {"N": "0"}}], set()),
        # Another owner's item: not the function's to read, and no reason to drop the others.
        (
            [
                {"pk": {"S": "rotation"}, "sk": {"S": "someone"}, "regions": {"L": []}},
                drained_item(["eu-central-1"]),
            ],
            {"eu-central-1"},
        ),
    ],
)
def test_out_of_rotation_reads_both_owners_items(items, out):
    assert out_of_rotation(items) == out


def operator_item(region, state):
    return {
        "pk": {"S": "rotation"},
        "sk": {"S": f"operator#{region}"},
        "region": {"S": region},
        "state": {"S": state},
        "since": {"S": "2026-11-30T06:00:00+00:00"},
        "by": {"S": "arn:aws:iam::123456789012:user/alice"},
        "reason": {"S": "maintenance"},
    }


@pytest.mark.parametrize(
    ("items", "out"),
    [
        # An operator's evacuation.
        ([drained_item([]), operator_item("eu-central-1", "out")], {"eu-central-1"}),
        # An operator holding in what the checks took out: in.
        (
            [evacuated_item(["eu-central-1", "us-east-1"]), operator_item("eu-central-1", "in")],
            {"us-east-1"},
        ),
        # A drained Region stays out whatever an operator says.
        ([drained_item(["eu-central-1"]), operator_item("eu-central-1", "in")], {"eu-central-1"}),
        # A decision of a kind this version does not know: not read, the rest still is.
        (
            [drained_item(["us-east-1"]), operator_item("eu-central-1", "sideways")],
            {"us-east-1"},
        ),
    ],
)
def test_out_of_rotation_reads_each_operators_decision(items, out):
    assert out_of_rotation(items) == out


def test_an_earlier_version_reading_the_new_items_misses_only_operators_decisions():
    # What a container of the earlier version does (it reads drained and evacuated only): it
    # fails open for an operator's evacuation until it is replaced, never for a drain.
    def earlier(items):
        out = set()
        for item in items:
            if item["sk"]["S"] == "drained":
                out.update(entry["S"] for entry in item["regions"]["L"])
            elif item["sk"]["S"] == "evacuated" and "regions" in item:
                out.update(item["regions"]["M"])
        return out

    items = [
        drained_item(["ap-northeast-1"]),
        evacuated_item(["us-east-1"]),
        operator_item("eu-central-1", "out"),
    ]
    assert out_of_rotation(items) == {"ap-northeast-1", "us-east-1", "eu-central-1"}
    assert earlier(items) == {"ap-northeast-1", "us-east-1"}


@pytest.mark.parametrize(
    "items",
    [
        [{**drained_item([]), "regions": {"SS": ["eu-central-1"]}}],
        [{**drained_item([]), "regions": {"L": [{"N": "1"}]}}],
        [{"pk": {"S": "rotation"}}],
        [{**drained_item([]), "regions": {"L": [{"S": ["eu-central-1"]}]}}],
        [{"pk": {"S": "rotation"}, "sk": {"S": "operator#eu-central-1"}, "state": {"S": "out"}}],
    ],
)
def test_out_of_rotation_refuses_items_it_does_not_understand(items):
    with pytest.raises((ValueError, KeyError, TypeError)):
        out_of_rotation(items)


# RoutingState: reading the state table, against a stand-in server, botocore and moto.

REFRESH = 15.0
TIMEOUT = 0.3
FROZEN = datetime.datetime(2026, 11, 30, 6, 31, 22, tzinfo=datetime.UTC)


def reader(endpoint, clock=None, *, regions=("eu-west-1", "us-east-1"), table=STATE_TABLE, **kw):
    config = state_source(
        endpoint, regions=regions, refresh_seconds=REFRESH, timeout_seconds=TIMEOUT, table=table
    ).document()
    return RoutingState(
        config,
        clock=clock or FakeClock(),
        wall_clock=FROZEN.timestamp,
        environ=kw.get("environ", FAKE_CREDENTIALS),
    )


@pytest.fixture
def server():
    with StateServer() as running:
        yield running


def test_the_state_is_read_at_most_once_per_refresh_period(server):
    clock = FakeClock()
    server.answer([drained_item(["eu-central-1"])])
    state = reader(server.endpoint, clock)
    assert state.out("eu-west-1") == {"eu-central-1"}
    server.answer([evacuated_item(["ap-northeast-1"])])
    for _ in range(5):
        clock.advance(REFRESH / 5 - 0.01)
        assert state.out("eu-west-1") == {"eu-central-1"}
    assert len(server.requests) == 1
    clock.advance(0.05)
    assert state.out("eu-west-1") == {"ap-northeast-1"}
    assert state.out("eu-west-1") == {"ap-northeast-1"}
    assert len(server.requests) == 2


FAILURES = {
    "server error": (500, b'{"__type":"com.amazonaws.dynamodb.v20120810#InternalServerError"}'),
    "throttled": (
        400,
        b'{"__type":"com.amazonaws.dynamodb.v20120810#ThrottlingException","message":"slow"}',
    ),
    "access denied": (400, b'{"__type":"com.amazon.coral.service#AccessDeniedException"}'),
    "not json": (200, b"<html>gateway</html>"),
    "json, not a Query answer": (200, b'{"Count": 0}'),
    "an item it does not understand": (
        200,
        json.dumps({"Items": [{**drained_item([]), "regions": {"SS": ["eu-central-1"]}}]}).encode(),
    ),
    "a Region that is not a string": (
        200,
        json.dumps({"Items": [{**drained_item([]), "regions": {"L": [{"N": "1"}]}}]}).encode(),
    ),
    "empty": (200, b""),
}


@pytest.mark.parametrize("failure", sorted(FAILURES))
def test_a_failed_read_keeps_the_last_state_and_is_retried_after_a_whole_period(
    server, capsys, failure
):
    clock = FakeClock()
    server.answer([evacuated_item(["us-east-1"])])
    state = reader(server.endpoint, clock)
    assert state.out("eu-west-1") == {"us-east-1"}
    server.status, server.body = FAILURES[failure]
    clock.advance(REFRESH)
    assert state.out("eu-west-1") == {"us-east-1"}
    assert len(server.requests) == 2
    # Not asked again before a whole period has passed since the failed read.
    clock.advance(REFRESH - 0.01)
    assert state.out("eu-west-1") == {"us-east-1"}
    assert len(server.requests) == 2
    server.answer([drained_item(["ap-northeast-1"])])
    clock.advance(0.01)
    assert state.out("eu-west-1") == {"ap-northeast-1"}
    assert len(server.requests) == 3
    (logged,) = capsys.readouterr().err.splitlines()
    assert "routing state unreadable" in logged and "keeping us-east-1" in logged


def test_a_read_that_raises_keeps_the_last_state(server, monkeypatch, capsys):
    clock = FakeClock()
    server.answer([evacuated_item(["us-east-1"])])
    state = reader(server.endpoint, clock)
    assert state.out("eu-west-1") == {"us-east-1"}
    attempts = []

    def unreachable(host, *args, **kwargs):
        attempts.append(host)
        raise OSError("network is unreachable")

    monkeypatch.setattr(socket, "getaddrinfo", unreachable)
    state._close()  # the kept-alive connection gone: the next reads resolve the name again
    for _ in range(3):
        clock.advance(REFRESH)
        assert state.out("eu-west-1") == {"us-east-1"}
        assert state.settle(5)
    assert attempts == ["127.0.0.1"] * 3
    # One line per cause and container, whatever the request rate.
    assert capsys.readouterr().err.count("routing state unreadable (OSError") == 1


def test_a_cold_container_with_an_unreadable_store_routes_by_the_rankings(
    make_handler, capsys, monkeypatch
):
    for name, value in FAKE_CREDENTIALS.items():
        monkeypatch.setenv(name, value)
    handler = make_handler(
        artifact_for(
            derive_routing_table(SEED_ORIGINS),
            state=state_source(f"http://127.0.0.1:{free_port()}"),
        )
    )
    for edge, target in [("eu-west-1", "eu-central-1"), ("ap-southeast-2", "ap-northeast-1")]:
        event = origin_request_event()
        assert handler(copy.deepcopy(event), context_in(edge)) == expected_reroute(event, target)
    assert "keeping every origin in rotation" in capsys.readouterr().err


def test_without_credentials_the_read_fails_open(server, capsys):
    server.answer([drained_item(["eu-central-1"])])
    state = reader(server.endpoint, environ={})
    assert state.out("eu-west-1") == frozenset()
    assert server.requests == []
    assert "routing state unreadable (KeyError('AWS_ACCESS_KEY_ID')" in capsys.readouterr().err


def botocore_signed(url, body, region, token):
    """The headers botocore's SigV4Auth gives the same request, at FROZEN."""
    request = AWSRequest(
        method="POST",
        url=url,
        data=body,
        headers={
            "Content-Type": "application/x-amz-json-1.0",
            "X-Amz-Target": "DynamoDB_20120810.Query",
        },
    )
    credentials = Credentials(
        FAKE_CREDENTIALS["AWS_ACCESS_KEY_ID"], FAKE_CREDENTIALS["AWS_SECRET_ACCESS_KEY"], token
    )
    signer = botocore.auth.SigV4Auth(credentials, "dynamodb", region)
    original = botocore.auth.get_current_datetime
    botocore.auth.get_current_datetime = lambda: FROZEN.replace(tzinfo=None)
    try:
        signer.add_auth(request)
    finally:
        botocore.auth.get_current_datetime = original
    return {name.lower(): value for name, value in request.headers.items()}


@pytest.mark.parametrize("token", [None, "IQoJb3JpZ2luX2VjEXAMPLE//session+token=="])
@pytest.mark.parametrize(
    ("edge", "home"), [("eu-west-1", "eu-west-1"), ("ap-south-1", "eu-west-1")]
)
def test_the_read_is_signed_exactly_as_botocore_signs_it(server, token, edge, home):
    environ = {**FAKE_CREDENTIALS, **({"AWS_SESSION_TOKEN": token} if token else {})}
    reader(server.endpoint, environ=environ).out(edge)
    (sent,) = server.requests
    assert (sent.method, sent.path) == ("POST", "/")
    expected = botocore_signed(server.endpoint + "/", sent.body, home, token)
    assert sent.headers["authorization"] == expected["authorization"]
    assert f"/20261130/{home}/dynamodb/aws4_request" in sent.headers["authorization"]
    for name in ("x-amz-date", "content-type", "x-amz-target", "host"):
        assert sent.headers[name] == expected.get(name, sent.headers["host"]), name
    assert sent.headers["x-amz-date"] == "20261130T063122Z"
    assert sent.headers.get("x-amz-security-token") == token
    assert sent.headers["host"] == server.endpoint.removeprefix("http://")


header_values = st.text(st.characters(min_codepoint=0x20, max_codepoint=0x7E), max_size=20)


@given(
    body=st.binary(max_size=200),
    headers=st.dictionaries(
        st.from_regex(r"x-[a-z][a-z0-9-]{0,15}", fullmatch=True), header_values, max_size=4
    ),
    region=st.sampled_from(["us-east-1", "eu-west-1", "ap-southeast-2", "us-gov-west-1"]),
    secret=st.text(st.characters(min_codepoint=0x21, max_codepoint=0x7E), min_size=1, max_size=40),
    token=st.none() | st.text(st.characters(min_codepoint=0x21, max_codepoint=0x7E), min_size=1),
    moment=st.datetimes(datetime.datetime(2000, 1, 1), datetime.datetime(2099, 12, 31)),
)
def test_sign_v4_equals_botocore_for_any_body_headers_and_credentials(
    body, headers, region, secret, token, moment
):
    moment = moment.replace(microsecond=0)
    host = f"dynamodb.{region}.amazonaws.com"
    signed = sign_v4(
        "POST",
        host,
        "/",
        body,
        headers,
        region,
        "dynamodb",
        ("AKIDEXAMPLE", secret, token),
        moment.strftime("%Y%m%dT%H%M%SZ"),
    )
    request = AWSRequest(method="POST", url=f"https://{host}/", data=body, headers=headers)
    signer = botocore.auth.SigV4Auth(Credentials("AKIDEXAMPLE", secret, token), "dynamodb", region)
    original = botocore.auth.get_current_datetime
    botocore.auth.get_current_datetime = lambda: moment
    try:
        signer.add_auth(request)
    finally:
        botocore.auth.get_current_datetime = original
    assert signed["authorization"] == request.headers["Authorization"]
    assert signed["x-amz-date"] == request.headers["X-Amz-Date"]


def test_the_query_is_a_valid_dynamodb_query_for_the_rotation_partition(server):
    reader(server.endpoint).out("eu-west-1")
    (sent,) = server.requests
    model = botocore.session.get_session().get_service_model("dynamodb").operation_model("Query")
    params = json.loads(sent.body)
    validate_parameters(params, model.input_shape)  # raises ParamValidationError if not
    assert params == {
        "TableName": STATE_TABLE,
        "KeyConditionExpression": "pk = :pk",
        "ExpressionAttributeValues": {":pk": {"S": "rotation"}},
    }
    # The same body and protocol headers as botocore's own serializer gives.
    serialized = create_serializer("json").serialize_to_request(params, model)
    assert json.loads(serialized["body"]) == params
    assert sent.headers["x-amz-target"] == serialized["headers"]["X-Amz-Target"]
    assert sent.headers["content-type"] == serialized["headers"]["Content-Type"]


def test_a_store_that_never_answers_holds_a_request_for_the_deadline_only(server, capsys):
    clock = FakeClock()
    server.answer([evacuated_item(["eu-central-1"])])
    state = reader(server.endpoint, clock)
    assert state.out("eu-west-1") == {"eu-central-1"}
    server.stall = True
    clock.advance(REFRESH)
    started = time.monotonic()
    assert state.out("eu-west-1") == {"eu-central-1"}
    elapsed = time.monotonic() - started
    # The request waits for the read at most the deadline, then goes on with the last state.
    assert TIMEOUT * 0.9 <= elapsed < TIMEOUT + 1.5, elapsed
    assert "routing state not read within 0.3 s" in capsys.readouterr().err
    assert server.recorded(2) == 2
    # Within the period no request reads again, nor waits: the read under way is the only one.
    started = time.monotonic()
    for _ in range(5):
        assert state.out("eu-west-1") == {"eu-central-1"}
    assert time.monotonic() - started < TIMEOUT
    assert server.recorded(2) == 2
    server.release_stalled()
    assert state.settle(5)
    assert "routing state unreadable (ConnectionResetError" in capsys.readouterr().err


class ClosingKeepAliveServer:
    """Answers each request over HTTP/1.1 keep-alive, then closes the connection once idle, as a
    store does with a frozen container's connection."""

    def __init__(self, items):
        self.body = json.dumps({"Items": items}).encode()
        self.requests = 0
        self._stop = threading.Event()
        self._listener = socket.create_server(("127.0.0.1", 0))
        self._listener.settimeout(0.05)
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    @property
    def endpoint(self):
        return f"http://127.0.0.1:{self._listener.getsockname()[1]}"

    def _serve(self):
        while not self._stop.is_set():
            try:
                connection, _ = self._listener.accept()
            except TimeoutError:
                continue
            with connection:
                connection.settimeout(5)
                data = b""
                while b"\r\n\r\n" not in data:
                    chunk = connection.recv(65536)
                    if not chunk:
                        break
                    data += chunk
                head, _, body = data.partition(b"\r\n\r\n")
                lengths = [
                    int(line.split(b":")[1])
                    for line in head.split(b"\r\n")
                    if line.lower().startswith(b"content-length:")
                ]
                if not lengths:
                    continue
                while len(body) < lengths[0]:
                    body += connection.recv(65536)
                self.requests += 1
                connection.sendall(
                    b"HTTP/1.1 200 OK\r\nContent-Type: application/x-amz-json-1.0\r\n"
                    b"Content-Length: %d\r\n\r\n%s" % (len(self.body), self.body)
                )

    def close(self):
        self._stop.set()
        self._thread.join()
        self._listener.close()


def test_a_kept_alive_connection_the_store_closed_is_opened_again(capsys):
    store = ClosingKeepAliveServer([evacuated_item(["eu-central-1"])])
    clock = FakeClock()
    state = reader(store.endpoint, clock)
    try:
        for reads in range(1, 4):
            assert state.out("eu-west-1") == {"eu-central-1"}
            assert store.requests == reads
            time.sleep(0.05)  # the store closes the idle connection
            clock.advance(REFRESH)
    finally:
        state._close()
        store.close()
    assert capsys.readouterr().err == ""


@dataclass
class DynamoDB:
    endpoint: str
    # A table of its own: moto's backends outlive its servers, within the process.
    table: str
    create: Callable[[str], Any]
    stop: Callable[[], None]


@pytest.fixture
def dynamodb():
    table = f"routing-state-{uuid.uuid4().hex[:12]}"
    moto, endpoint = start_moto_server()

    def client(region):
        return boto3.client(
            "dynamodb",
            region_name=region,
            endpoint_url=endpoint,
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
        )

    def create(region):
        create_state_table(client(region), table)
        return client(region)

    running = [True]

    def stop():
        if running[0]:
            running[0] = False
            moto.stop()

    yield DynamoDB(endpoint, table, create, stop)
    stop()


def test_a_real_read_from_dynamodb_and_fail_open_when_it_goes(dynamodb, capsys):
    clock = FakeClock()
    client = dynamodb.create("eu-west-1")
    # Pulumi writes the drained item; the evacuator, the evacuated one; other partitions exist.
    client.put_item(TableName=dynamodb.table, Item=drained_item(["eu-central-1"]))
    client.put_item(TableName=dynamodb.table, Item=evacuated_item(["ap-northeast-1", "us-east-1"]))
    client.put_item(
        TableName=dynamodb.table,
        Item={"pk": {"S": "vantage"}, "sk": {"S": "us-east-1"}, "streaks": {"M": {}}},
    )
    state = reader(dynamodb.endpoint, clock, table=dynamodb.table)
    try:
        assert state.out("eu-west-1") == {"eu-central-1", "ap-northeast-1", "us-east-1"}
        client.put_item(TableName=dynamodb.table, Item=evacuated_item([], version=2))
        clock.advance(REFRESH)
        assert state.out("eu-west-1") == {"eu-central-1"}
        assert capsys.readouterr().err == ""
        dynamodb.stop()
        clock.advance(REFRESH)
        assert state.out("eu-west-1") == {"eu-central-1"}
        assert "routing state unreadable" in capsys.readouterr().err
    finally:
        state._close()


def test_each_region_reads_its_own_replica_and_others_the_first(dynamodb):
    dynamodb.create("eu-west-1").put_item(
        TableName=dynamodb.table, Item=drained_item(["eu-central-1"])
    )
    dynamodb.create("us-east-1").put_item(
        TableName=dynamodb.table, Item=drained_item(["us-east-1"])
    )
    for edge, out in [
        ("eu-west-1", {"eu-central-1"}),
        ("us-east-1", {"us-east-1"}),
        # No replica in its Region: the first listed.
        ("ap-south-1", {"eu-central-1"}),
        (None, {"eu-central-1"}),
    ]:
        state = reader(dynamodb.endpoint, regions=("eu-west-1", "us-east-1"), table=dynamodb.table)
        try:
            assert state.out(edge) == out, edge
        finally:
            state._close()


def test_the_handler_routes_around_what_dynamodb_says_is_out(dynamodb, monkeypatch):
    for name, value in FAKE_CREDENTIALS.items():
        monkeypatch.setenv(name, value)
    dynamodb.create("eu-west-1").put_item(
        TableName=dynamodb.table, Item=evacuated_item(["eu-central-1"])
    )
    source = state_source(dynamodb.endpoint, regions=["eu-west-1"], table=dynamodb.table)
    handler = origin_request.build_handler(
        json.loads(artifact_for(derive_routing_table(SEED_ORIGINS), state=source))
    )
    event = origin_request_event()
    assert handler(copy.deepcopy(event), context_in("eu-west-1")) == expected_reroute(
        event, "us-east-1"
    )
    retry = failover_request_event(origin_region="eu-central-1")
    assert handler(copy.deepcopy(retry), context_in("eu-west-1")) == expected_reroute(
        retry, "ap-northeast-1"
    )


def test_routes_match_the_python_table_for_the_seed_with_any_out_set(make_handler):
    table = derive_routing_table(SEED_ORIGINS)
    state = FakeState()
    handler = make_handler(seed_artifact(), state=state)
    subsets = [set(), *({code} for code in SEED_ORIGINS), set(SEED_ORIGINS[:2]), set(SEED_ORIGINS)]
    for out in subsets:
        state.current = frozenset(out)
        for edge in ["eu-west-1", "ap-south-1", "us-west-2"]:
            route = table.route_for(edge, out)
            assert isinstance(route, Route)
            request = handler(origin_request_event(), context_in(edge))
            assert request["origin"]["s3"]["region"] == route.primary, (out, edge)
