import ast
import copy
import json
import subprocess
import sys

import pytest

from edge_function import origin_request
from edge_function.package import RUNTIME_MODULES, package_files
from routing.artifact import DEFAULT_MARKER_HEADER
from routing.table import derive_routing_table
from tests.support import (
    SEED_ORIGINS,
    LambdaContext,
    artifact_for,
    context_in,
    custom_origin_event,
    expected_reroute,
    failover_request_event,
    origin_request_event,
    request_of,
    seed_artifact,
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


@pytest.mark.parametrize("mode", ["fixed", "off"])
def test_fixed_and_off_modes_leave_failover_requests_untouched(make_handler, mode):
    handler = make_handler(seed_artifact(failover=mode))
    event = failover_request_event(origin_region="ap-northeast-1")
    untouched = copy.deepcopy(request_of(event))
    assert handler(event, context_in("eu-west-1")) == untouched
    # Normal requests are still routed in both modes.
    assert (
        handler(origin_request_event(), context_in("eu-west-1"))["origin"]["s3"]["region"]
        == "eu-central-1"
    )


def test_single_origin_routes_everything_there_and_never_reroutes_failover(make_handler):
    handler = make_handler(artifact_for(derive_routing_table(["eu-west-1"])))
    event = origin_request_event(origin_region="eu-west-1")
    assert handler(event, context_in("ap-southeast-2")) == expected_reroute(event, "eu-west-1")
    marked = failover_request_event(origin_region="eu-west-1")
    assert handler(marked, context_in("ap-southeast-2")) == request_of(
        failover_request_event(origin_region="eu-west-1")
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


def test_packaged_function_reads_its_artifact_once_per_container(tmp_path):
    for name, text in package_files(seed_artifact()).items():
        (tmp_path / name).write_text(text, encoding="utf-8")
    event = origin_request_event()
    completed = subprocess.run(
        [sys.executable, "-B", "-E", "-s", "-c", COLD_CONTAINER.format(edge="ap-southeast-2")],
        input=json.dumps(event),
        capture_output=True,
        text=True,
        cwd=tmp_path,
        check=True,
    )
    first, second = json.loads(completed.stdout)
    assert first == second == expected_reroute(event, "ap-northeast-1")
    assert completed.stderr == ""


def test_runtime_imports_only_the_standard_library_and_nothing_that_talks_to_the_network():
    imported = set()
    for module in RUNTIME_MODULES:
        for node in ast.walk(ast.parse(module.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                imported |= {alias.name.split(".")[0] for alias in node.names}
            elif isinstance(node, ast.ImportFrom):
                imported.add(node.module.split(".")[0])
    shipped = {module.stem for module in RUNTIME_MODULES}
    assert imported - shipped <= set(sys.stdlib_module_names)
    assert imported - shipped == {"_json", "json", "os", "sys"}


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
