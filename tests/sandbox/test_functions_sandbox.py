"""End-to-end through the edge emulator with the CloudFront Functions engine: the stack's real
function code runs in V8 at viewer-request on every request, and its choice is applied as CloudFront
applies it."""

import pytest

import sandbox.__main__ as sandbox_cli
from edge_function.cloudfront_function import render_function_code
from routing.catalogue import lambda_edge_execution_regions
from sandbox.__main__ import main as sandbox_main
from sandbox.drill import ask, run_drill
from sandbox.function_runtime import CloudFrontFunction
from sandbox.regional_s3 import Fault
from sandbox.stack import Sandbox
from settings.parser import parse_settings
from tests.sandbox.support import SCALED_CONNECT_TIMEOUT, edge_ignoring_the_state

ORIGINS = '["us-east-1", "eu-central-1", "ap-northeast-1"]'


def functions_settings(stack="functions", **values):
    return parse_settings(
        {"origins": ORIGINS, "engine": "cloudfront-functions", **values}, stack=stack
    )


@pytest.fixture(scope="module")
def functions():
    with Sandbox(
        functions_settings(), read_timeout=0.5, connect_timeout=SCALED_CONNECT_TIMEOUT
    ) as sandbox:
        yield sandbox


@pytest.fixture
def box(functions):
    functions.edge.invalidate()
    yield functions
    for emulator in functions.emulators.regions.values():
        emulator.fault = None
        if not emulator.running:
            emulator.start()


def test_every_edge_region_is_served_by_its_primary_with_one_invocation(box):
    routes = box.settings.routing.routes
    for edge in lambda_edge_execution_regions():
        answer = ask(box, edge, "assets/where.json")
        assert (answer.status, answer.served_by) == (200, routes[edge].primary), edge
        assert not answer.failover and answer.cache == "Miss" and answer.invocations == 1


def test_the_function_runs_on_cache_hits_too(box):
    before = box.edge.stats.invocations
    first, second = ask(box, "eu-west-2", "index.html"), ask(box, "eu-west-2", "index.html")
    assert (first.cache, second.cache) == ("Miss", "Hit")
    assert second.invocations == 1 and box.edge.stats.invocations == before + 2
    assert first.body == second.body


@pytest.mark.parametrize(
    ("fault", "edge", "down", "expected"),
    [
        ("stop", "eu-west-2", "eu-central-1", "us-east-1"),
        (Fault.UNAVAILABLE, "ap-southeast-2", "ap-northeast-1", "us-east-1"),
        (Fault.STALLED, "us-west-2", "us-east-1", "ap-northeast-1"),
    ],
)
def test_the_request_group_fails_over_without_running_the_function_again(
    box, fault, edge, down, expected
):
    if fault == "stop":
        box.emulators.regions[down].stop()
    else:
        box.emulators.regions[down].fault = fault
    origin_requests = box.edge.stats.origin_requests
    answer = ask(box, edge, "index.html")
    assert (answer.status, answer.served_by, answer.failover) == (200, expected, True)
    assert answer.invocations == 1
    assert box.edge.stats.origin_requests == origin_requests + 2


def test_a_missing_object_fails_over_only_on_the_groups_status_codes():
    settings = functions_settings(stack="only-503", failoverStatusCodes="[503, 504]")
    with Sandbox(settings, read_timeout=0.5) as sandbox:
        sandbox.emulators.client("eu-central-1").delete_object(
            Bucket=sandbox.buckets["eu-central-1"], Key="index.html"
        )
        missing = ask(sandbox, "eu-west-1", "index.html")
        sandbox.emulators.regions["eu-central-1"].fault = Fault.UNAVAILABLE
        unavailable = ask(sandbox, "eu-west-1", "assets/where.json")
    assert (missing.status, missing.failover) == (404, False)
    assert (unavailable.status, unavailable.served_by, unavailable.failover) == (
        200,
        "us-east-1",
        True,
    )


def test_each_request_is_signed_for_the_region_of_the_bucket_it_goes_to(box):
    signed = []
    fetch = box.edge._fetch

    def recording(method, region, bucket, signing_region, uri, byte_range):
        signed.append((region, signing_region))
        return fetch(method, region, bucket, signing_region, uri, byte_range)

    box.edge._fetch = recording
    try:
        box.emulators.regions["ap-northeast-1"].fault = Fault.UNAVAILABLE
        for edge in ("eu-west-2", "ap-southeast-2", "us-west-1"):
            assert ask(box, edge, "index.html").status == 200
    finally:
        del box.edge._fetch
    assert signed and all(region == signing for region, signing in signed)
    assert {region for region, _ in signed} == {"eu-central-1", "ap-northeast-1", "us-east-1"}


def test_a_function_that_throws_is_a_503_even_for_a_cached_object(box):
    assert ask(box, "eu-west-2", "index.html").status == 200  # now cached
    original = box.edge.viewer_request
    code = render_function_code(box.settings.routing, box.settings.failover_status_codes)
    box.edge.viewer_request = CloudFrontFunction(
        code.replace("return event.request;", "throw new Error('broken');"),
        original.origin_ids,
    )
    try:
        answer = ask(box, "eu-west-2", "index.html")
    finally:
        box.edge.viewer_request = original
    assert answer.status == 503 and b"The CloudFront function failed" in answer.body
    assert answer.served_by == "none" and answer.invocations == 1


def test_a_function_that_asks_for_something_invalid_is_a_502_validation_error(box):
    original = box.edge.viewer_request
    # An origin id the distribution does not have: CloudFront validates it after the function
    # returns ("HTTP 502 status code (Bad Gateway)": CloudFront function validation error).
    box.edge.viewer_request = CloudFrontFunction(
        render_function_code(box.settings.routing, box.settings.failover_status_codes),
        [origin for origin in original.origin_ids if origin != "s3-eu-central-1"],
    )
    try:
        answer = ask(box, "eu-west-2", "index.html")
    finally:
        box.edge.viewer_request = original
    assert answer.status == 502 and b"is not an origin of the distribution" in answer.body
    assert answer.served_by == "none" and answer.invocations == 1


def test_a_function_that_chooses_nothing_leaves_the_request_on_the_default_origin(box):
    original = box.edge.viewer_request
    box.edge.viewer_request = CloudFrontFunction(
        "import cf from 'cloudfront';\nfunction handler(event) { return event.request; }\n",
        original.origin_ids,
    )
    try:
        answer = ask(box, "ap-northeast-2", "index.html")
    finally:
        box.edge.viewer_request = original
    assert (answer.status, answer.served_by, answer.failover) == (200, "us-east-1", False)


@pytest.mark.slow(reason="a whole drill with the CloudFront function in V8, every phase")
def test_the_drill_passes_every_fault_phase(box):
    lines: list[str] = []
    assert run_drill(box, box.keys, out=lines.append) == 0, "\n".join(lines)
    assert lines[0].startswith("drill: stack functions, engine cloudfront-functions,")
    assert any("unreachable (connections time out" in line for line in lines)
    assert any("a cache hit with 1 function invocation(s)" in line for line in lines)


@pytest.mark.slow(reason="two whole drills, one per engine, compared")
def test_fixed_failover_loses_by_design_what_lambda_edge_loses():
    settings = functions_settings(stack="fixed-fn", failover="fixed")
    with Sandbox(settings, read_timeout=0.5, connect_timeout=SCALED_CONNECT_TIMEOUT) as sandbox:
        lines: list[str] = []
        assert run_drill(sandbox, sandbox.keys, out=lines.append) == 0, "\n".join(lines)
    assert any(line.endswith("<-- lost by design") for line in lines)
    assert not any("FAILED" in line for line in lines)


@pytest.mark.slow(
    reason="a whole drill of a stack of the newest Regions; the routing tables of those Regions "
    "are checked without the sandbox"
)
def test_regions_launched_after_2022_are_drilled():
    settings = parse_settings(
        {
            "origins": '["us-east-1", "ca-west-1", "ap-southeast-4"]',
            "engine": "cloudfront-functions",
        },
        stack="new-regions",
    )
    with Sandbox(settings, read_timeout=0.5, connect_timeout=SCALED_CONNECT_TIMEOUT) as sandbox:
        lines: list[str] = []
        assert run_drill(sandbox, sandbox.keys, out=lines.append) == 0, "\n".join(lines)
        assert ask(sandbox, "ap-southeast-2", "index.html").served_by == "ap-southeast-4"


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["drill", "--every-stack", "--stack", "prod"], "--every-stack drills every stack file"),
        (["serve", "--stack", "prod", "--stack", "dev"], "serve answers for one stack at a time"),
        (
            ["serve", "--failures-only"],
            "./dev sandbox: error: --failures-only applies to drill only",
        ),
        (["serve", "--stall"], "./dev sandbox: error: --stall applies to drill only"),
    ],
)
def test_stack_choice_errors_are_one_line(capsys, monkeypatch, arguments, message):
    # Refused before anything starts: a sandbox that started would serve until Ctrl-C.
    monkeypatch.setattr(sandbox_cli, "_run", lambda *_: pytest.fail(f"{arguments} started"))
    with pytest.raises(SystemExit) as exited:
        sandbox_main(arguments)
    assert exited.value.code == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err


@pytest.mark.slow(
    reason="a whole drill per engine, to show it fails when the edge ignores the state; the "
    "routing-state tests check the same rule request by request"
)
@pytest.mark.parametrize("engine", ["lambda-edge", "cloudfront-functions"])
def test_the_drill_fails_when_the_edge_ignores_the_routing_state(engine):
    settings = parse_settings(
        {"origins": '["us-east-1", "eu-west-1"]', "engine": engine}, stack=f"leak-{engine[:2]}"
    )
    with Sandbox(settings, read_timeout=0.5, connect_timeout=SCALED_CONNECT_TIMEOUT) as sandbox:
        lines: list[str] = []
        assert run_drill(sandbox, sandbox.keys, out=lines.append) == 0
        assert any(line.startswith("no request reached ") for line in lines)
        assert any(line.startswith("evacuation of ") for line in lines)
        lines = []
        with edge_ignoring_the_state(sandbox):
            assert run_drill(sandbox, sandbox.keys, out=lines.append) == 1
    failed = [line for line in lines if line.startswith("FAILED")]
    # The drain reached the state and not the edge: requests still went to the drained Region.
    assert any("which is drained" in line for line in failed), failed
    # The evacuator took the stalled Region out, and the edge never routed around it.
    assert any(
        "the edge still routes to " in line and "its requests were not asked" in line
        for line in failed
    ), failed
