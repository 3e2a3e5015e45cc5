"""End-to-end through the edge emulator's HTTP port, for the prod stack."""

import dataclasses
import http.client
import json
import signal
import socket
import subprocess
import sys
import threading
import time

import pytest

from core.engine import Engine, OriginAccess
from routing.catalogue import lambda_edge_execution_regions
from sandbox.__main__ import main as sandbox_main
from sandbox.drill import _busiest_origins, ask, run_drill
from sandbox.edge import METHOD_NOT_ALLOWED, OriginFailure
from sandbox.regional_s3 import Fault
from sandbox.stack import Sandbox
from settings import stack_file
from settings.parser import parse_settings
from settings.stack_file import settings_from_stack_file
from settings.table import PROJECT_ROOT, ConfigError
from tests.sandbox.support import SCALED_CONNECT_TIMEOUT
from tests.support import origin_request_event, request_of
from tools.cli import run_command


@pytest.fixture(scope="module")
def prod():
    with Sandbox(settings_from_stack_file("prod"), read_timeout=0.5) as sandbox:
        yield sandbox


@pytest.fixture
def box(prod):
    prod.edge.invalidate()
    yield prod
    for emulator in prod.emulators.regions.values():
        emulator.fault = None
        if not emulator.running:
            emulator.start()
    # An evacuation a failed test left behind would fail every test after it: undone here.
    if prod.state is not None:
        table = prod.state.state_table()
        state = table.read()
        if state.evacuated:
            table.write_evacuated({}, state.version)
        for origin in state.operators:
            table.remove_operator(origin)
            prod.await_propagation()


@pytest.fixture(scope="module")
def prod_drill(prod):
    """The prod stack's drill, every phase at the stack's own connection timeout: run once for the
    tests that only read what it printed."""
    prod.edge.invalidate()
    lines: list[str] = []
    status = run_drill(prod, prod.keys, out=lines.append)
    return status, lines


def test_every_execution_region_is_served_by_its_primary(box):
    routes = box.settings.routing.routes
    for edge in lambda_edge_execution_regions():
        answer = ask(box, edge, "assets/where.json")
        assert answer.status == 200
        assert answer.served_by == routes[edge].primary
        assert json.loads(answer.body)["region"] == routes[edge].primary
        assert not answer.failover and answer.cache == "Miss" and answer.invocations == 1


def test_failover_on_connection_refused(box):
    box.emulators.regions["eu-central-1"].stop()
    answer = ask(box, "eu-west-2", "index.html")
    assert (answer.status, answer.served_by, answer.failover, answer.invocations) == (
        200,
        "us-east-1",
        True,
        2,
    )
    assert b"served from us-east-1" in answer.body


def test_failover_on_503(box):
    box.emulators.regions["ap-northeast-1"].fault = Fault.UNAVAILABLE
    answer = ask(box, "ap-southeast-2", "index.html")
    assert (answer.status, answer.served_by, answer.failover) == (200, "us-east-1", True)
    answer = ask(box, "ap-northeast-2", "index.html")
    assert (answer.status, answer.served_by, answer.failover) == (200, "eu-central-1", True)


def test_a_stalled_region_holds_a_miss_every_attempt_then_fails_over(box):
    # No response completion timeout by default (CloudFront's own): GET is tried again after each
    # response time-out, as many times as connection attempts, 3 x 0.5 s here (S3 origins: 3 x
    # 30 s), then the group fails over. The upper bound leaves a loaded machine room for the
    # function and the failover fetch.
    assert box.settings.origin_response_completion_timeout == 0
    assert box.edge.response_completion_timeout is None
    assert box.settings.origin_connection_attempts == 3
    box.emulators.regions["us-east-1"].fault = Fault.STALLED
    answer = ask(box, "us-west-2", "index.html")
    assert (answer.status, answer.served_by, answer.failover) == (200, "ap-northeast-1", True)
    assert 1500 <= answer.first_byte_ms < 3500


def test_a_completion_timeout_ends_a_stalled_miss_with_504_and_no_failover(box):
    # originResponseCompletionTimeout 30 (S3's response timeout: 0.5 s on this scale) ends the
    # connection after one response timeout, every attempt together. AWS documents no failover
    # after it, so the viewer gets CloudFront's 504, not the next-nearest bucket's answer.
    values = {**box.settings.values, "originResponseCompletionTimeout": "30"}
    bounded = Sandbox(parse_settings(values, stack="prod"), read_timeout=0.5)
    assert bounded.response_completion_timeout == 0.5
    box.emulators.regions["us-east-1"].fault = Fault.STALLED
    requests_before = box.emulators.regions["ap-northeast-1"].viewer_requests
    box.edge.response_completion_timeout = bounded.response_completion_timeout
    try:
        answer = ask(box, "us-west-2", "index.html")
    finally:
        box.edge.response_completion_timeout = box.response_completion_timeout
    assert (answer.status, answer.served_by, answer.failover) == (504, "none", False)
    assert box.emulators.regions["ap-northeast-1"].viewer_requests == requests_before
    assert 500 <= answer.first_byte_ms < 1500


@pytest.mark.parametrize(
    ("completion", "status", "failure"),
    [(None, 200, None), (0.3, 504, OriginFailure.COMPLETION_TIMED_OUT)],
)
def test_a_completion_timeout_ends_a_steady_answer_that_comes_whole_after_it(
    box, completion, status, failure
):
    # It counts the whole response, "across all packets and retries": an answer that streams
    # steadily (a chunk every 0.1 s, well within the 0.5 s response timeout) but comes whole only
    # after it (a large download) is ended too, and answered 504 without failover. Without one
    # (the default) the same answer is served.
    chunks, pause = 6, 0.1
    listener = socket.create_server(("127.0.0.1", 0))

    def trickle() -> None:
        connection, _ = listener.accept()
        with connection:
            connection.recv(65536)
            connection.sendall(f"HTTP/1.1 200 OK\r\nContent-Length: {chunks}\r\n\r\n".encode())
            for _ in range(chunks):
                time.sleep(pause)
                connection.sendall(b"x")

    server = threading.Thread(target=trickle, daemon=True)
    server.start()
    box.edge.response_completion_timeout = completion
    try:
        port = listener.getsockname()[1]
        answer, _ = box.edge._attempt("GET", port, "/bucket/big.bin", {}, None)
    finally:
        box.edge.response_completion_timeout = box.response_completion_timeout
        server.join(5)
        listener.close()
    assert (answer.status, answer.failure) == (status, failure)
    if failure is not None:
        assert not answer.fails_over((403, 404, 500, 502, 503, 504))


def test_failover_on_a_missing_object(box):
    region = "us-east-1"
    box.emulators.client(region).delete_object(Bucket=box.buckets[region], Key="index.html")
    try:
        answer = ask(box, "sa-east-1", "index.html")
        assert (answer.status, answer.served_by, answer.failover) == (200, "eu-central-1", True)
        other = ask(box, "sa-east-1", "assets/where.json")
        assert (other.served_by, other.failover) == ("us-east-1", False)
    finally:
        box.restore_object(region, "index.html")


def test_a_cache_hit_does_not_invoke_the_function(box):
    first = ask(box, "eu-west-1", "index.html")
    invocations, origin_requests = box.edge.stats.invocations, box.edge.stats.origin_requests
    second = ask(box, "eu-west-1", "index.html")
    assert (first.cache, second.cache) == ("Miss", "Hit")
    assert (
        second.invocations == 0 and second.body == first.body and second.served_by == "eu-central-1"
    )
    assert (box.edge.stats.invocations, box.edge.stats.origin_requests) == (
        invocations,
        origin_requests,
    )
    # Each edge Region has its own cache.
    assert ask(box, "eu-west-2", "index.html").cache == "Miss"


@pytest.mark.parametrize("method", ["POST", "PUT", "PATCH", "DELETE"])
def test_a_method_the_behavior_does_not_allow_never_reaches_an_origin(box, method):
    before = (
        box.edge.stats.invocations,
        box.edge.stats.origin_requests,
        [e.requests for e in box.emulators.regions.values()],
    )
    connection = http.client.HTTPConnection("127.0.0.1", box.port, timeout=5)
    connection.request(method, "/index.html", body=b"x", headers={"X-Edge-Region": "eu-west-1"})
    response = connection.getresponse()
    assert response.status == 403
    assert response.read() == METHOD_NOT_ALLOWED
    connection.close()
    after = (
        box.edge.stats.invocations,
        box.edge.stats.origin_requests,
        [e.requests for e in box.emulators.regions.values()],
    )
    assert after == before


def head_length(box, edge_region, key):
    connection = http.client.HTTPConnection("127.0.0.1", box.port, timeout=10)
    connection.request("HEAD", f"/{key}", headers={"X-Edge-Region": edge_region})
    response = connection.getresponse()
    body = response.read()
    connection.close()
    return response.status, int(response.getheader("Content-Length")), body, response


def test_head_answers_the_objects_size_on_a_miss_and_on_a_hit(box):
    size = box.emulators.client("eu-central-1").head_object(
        Bucket=box.buckets["eu-central-1"], Key="index.html"
    )["ContentLength"]
    assert size > 0
    status, length, body, response = head_length(box, "eu-west-1", "index.html")
    assert (status, length, body, response.getheader("X-Cache")) == (
        200,
        size,
        b"",
        "Miss from cloudfront",
    )
    ask(box, "eu-west-1", "index.html")  # a GET fills the cache
    status, length, body, response = head_length(box, "eu-west-1", "index.html")
    assert (status, length, body, response.getheader("X-Cache")) == (
        200,
        size,
        b"",
        "Hit from cloudfront",
    )


def test_options_is_refused_like_every_method_that_could_not_fail_over(box):
    before = box.edge.stats.origin_requests
    answer = ask(box, "eu-west-1", "index.html", method="OPTIONS")
    assert (answer.status, answer.body) == (403, METHOD_NOT_ALLOWED)
    assert box.edge.stats.origin_requests == before


def test_the_default_root_object(box):
    root = ask(box, "ap-northeast-1", "")
    assert root.status == 200 and b"served from ap-northeast-1" in root.body


def test_the_event_has_the_developer_guides_shape(box):
    event = box.edge.origin_request_event(
        "GET", "/index.html", "eu-central-1", "X-Geo-Failover", "203.0.113.178"
    )
    reference = origin_request_event(
        origin_region="eu-central-1", custom_headers={"X-Geo-Failover": "true"}
    )
    ours, theirs = request_of(event), request_of(reference)
    assert set(ours) == set(theirs)
    assert set(ours["origin"]["s3"]) == set(theirs["origin"]["s3"])
    assert ours["origin"]["s3"]["customHeaders"] == theirs["origin"]["s3"]["customHeaders"]
    assert all(
        key == key.lower() and all(set(item) == {"key", "value"} for item in values)
        for key, values in ours["headers"].items()
    )
    assert set(event["Records"][0]["cf"]["config"]) == set(reference["Records"][0]["cf"]["config"])


def test_the_emulated_regions_reject_a_rewrite_as_s3_does(box):
    original = box.edge.handler

    # the AWS blog post's defect 2: region set to the executing Region
    def wrong_region(event, context):
        request = original(event, context)
        request["origin"]["s3"]["region"] = context.invoked_function_arn.split(":")[3]
        return request

    def stale_host(event, context):
        host = request_of(event)["headers"]["host"]
        request = original(event, context)
        request["headers"]["host"] = host
        return request

    try:
        box.edge.handler = wrong_region
        answer = ask(box, "eu-west-2", "index.html")
        assert (
            answer.status == 400
            and b"the region 'eu-west-2' is wrong; expecting 'eu-central-1'" in answer.body
        )
        box.edge.handler = stale_host
        assert ask(box, "eu-west-2", "index.html").status == 301
    finally:
        box.edge.handler = original


def test_the_drill_loses_nothing(prod_drill):
    status, lines = prod_drill
    assert status == 0
    text = "\n".join(lines)
    # Eleven phases, each asking every one of the 13 edge Regions for two keys.
    asked = 11 * 13 * 2
    assert f"summary: {asked} requests, {asked} answered 200 from the expected Region" in text
    assert "phase 2: us-east-1 down" in text and "phase 3: us-east-1 unreachable" in text
    assert "phase 4: eu-central-1 answers 503" in text
    assert "phase 5: index.html deleted in ap-northeast-1" in text
    assert (
        "phase 6: us-east-1 drained (geo-proximity:drained): the routing state first, which the "
        "running code reads: no request may reach it" in text
    )
    assert (
        "phase 7: us-east-1 drained (geo-proximity:drained): then the new code, which carries the "
        "drain, in cold containers that cannot read the routing state: no request may reach it"
        in text
    )
    assert text.count("no request reached us-east-1 while it was drained") == 2
    assert "phase 8: the health object deleted in every bucket" in text
    assert "no Region may be taken out, and each origin's alarm is raised" in text
    assert "phase 9: us-east-1 stalled: the evacuator takes it out of rotation" in text
    assert "us-east-1's runs duplicated, each tick counted once" in text
    assert "no request reached us-east-1 while it was evacuated" in text
    assert "phase 10: us-east-1 recovered: the evacuator brings it back" in text
    assert "request(s) reached us-east-1 again" in text
    assert "phase 11: every fault restored" in text
    assert "FAILED" not in text


@pytest.mark.slow(reason="a whole drill with a broken function, to show the drill fails")
def test_the_drill_fails_when_the_function_does_not_recognise_failover(box):
    original = box.edge.handler

    def ignores_marker(event, context):  # the AWS blog post's defect 1
        request_of(event)["origin"]["s3"]["customHeaders"] = {}
        return original(event, context)

    box.edge.handler = ignores_marker
    try:
        lines = []
        assert run_drill(box, box.keys, out=lines.append) == 1
        assert any(
            "eu-central-1 index.html: 503 from eu-central-1, expected 200 from us-east-1" in line
            for line in lines
        )
    finally:
        box.edge.handler = original


def test_a_single_origin_stack_runs_only_the_healthy_phase(capsys, tmp_path, monkeypatch):
    settings = parse_settings({"origins": '["eu-west-1"]'}, stack="solo")
    with Sandbox(settings) as sandbox:
        lines = []
        assert run_drill(sandbox, sandbox.keys, out=lines.append) == 0
    assert "failover is off for this stack" in "\n".join(lines)
    assert "phase 2" not in "\n".join(lines)


def test_cli_errors_are_the_programs_messages(capsys, tmp_path, monkeypatch):
    assert run_command(sandbox_main, ["drill", "--stack", "nope"]) == 2
    assert f"error: no stack file at {PROJECT_ROOT / 'Pulumi.nope.yaml'}" in capsys.readouterr().err
    monkeypatch.setattr(stack_file, "PROJECT_ROOT", tmp_path)
    (tmp_path / "Pulumi.sandboxtest.yaml").write_text(
        "config:\n  geo-proximity:origins: [us-east-1, ca-west-1]\n", encoding="utf-8"
    )
    with pytest.raises(ConfigError) as expected:
        settings_from_stack_file("sandboxtest")
    assert run_command(sandbox_main, ["drill", "--stack", "sandboxtest"]) == 2
    assert capsys.readouterr().err.strip() == f"error: {expected.value}"


def test_cli_reports_a_busy_port(capsys, prod):
    assert run_command(sandbox_main, ["serve", "--port", str(prod.port)]) == 2
    assert (
        capsys.readouterr().err.strip()
        == f"error: port {prod.port} is busy; choose another with --port"
    )


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["serve", "--port", "99999"], "argument --port: 99999 is not a port number (0-65535)"),
        (["serve", "--port", "http"], "argument --port: 'http' is not a port number (0-65535)"),
        (
            ["drill", "--edge-region", "mars-1"],
            "argument --edge-region: 'mars-1' is not a known AWS Region code",
        ),
    ],
)
def test_bad_arguments_are_one_line_errors(capsys, arguments, message):
    with pytest.raises(SystemExit) as exited:
        sandbox_main(arguments)
    assert exited.value.code == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err


@pytest.mark.slow(
    reason="a real ./dev sandbox serve process, stopped with a real SIGINT: what a person's Ctrl-C "
    "does to it (its signal handling, its clean shutdown and exit status) shows only there"
)
def test_serve_answers_and_stops_cleanly_on_ctrl_c():
    # Port 0: the system gives serve a free port when it binds (a port found free beforehand could
    # be taken meanwhile, by another test of a parallel run); serve prints the one it has.
    process = subprocess.Popen(
        [sys.executable, "-m", "sandbox", "serve", "--port", "0"],
        cwd=PROJECT_ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        startup = [process.stdout.readline()]
        assert startup[0].startswith("edge: http://127.0.0.1:")
        port = int(startup[0].split()[1].rsplit(":", 1)[1])
        assert port > 0
        # Read the start-up text up to its last line here: communicate() below reads the pipe itself
        # and would miss what this file object has already buffered.
        while not startup[-1].startswith("Ctrl-C stops everything"):
            startup.append(process.stdout.readline())
            assert startup[-1], "serve stopped before its start-up text was complete"
        deadline = time.monotonic() + 30
        while True:
            try:
                connection = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
                connection.request(
                    "GET", "/assets/where.json", headers={"X-Edge-Region": "ap-southeast-1"}
                )
                response = connection.getresponse()
                response.read()
                connection.close()
                break
            except ConnectionRefusedError:
                connection.close()
                assert time.monotonic() < deadline
                time.sleep(0.1)
        assert (
            response.status == 200 and response.getheader("X-Served-By-Region") == "ap-northeast-1"
        )
        process.send_signal(signal.SIGINT)
        out, err = process.communicate(timeout=30)
    finally:
        with process:  # its pipes closed and the process reaped, however the test ended
            process.kill()
    assert process.returncode == 130, err
    assert "interrupted (Ctrl-C): stopping the sandbox's edge and emulators" in err
    # The commands to publish to and check these buckets, and one line per request answered.
    assert "./dev publish examples/site --all --bucket us-east-1=" in "".join(startup)
    assert "--endpoint-url eu-central-1=http://127.0.0.1:" in "".join(startup)
    assert (
        "GET /assets/where.json edge ap-southeast-1: 200 from ap-northeast-1, miss, 1 invocation(s)"
        in out
    )
    assert "Traceback" not in err


def test_a_failing_function_is_a_502_as_cloudfront_answers_it(box):
    original = box.edge.handler

    def crashes(event, context):
        raise RuntimeError("boom")

    box.edge.handler = crashes
    try:
        answer = ask(box, "eu-west-1", "index.html")
    finally:
        box.edge.handler = original
    assert (
        answer.status == 502
        and b"Lambda function associated with the CloudFront distribution failed" in answer.body
    )
    assert answer.served_by == "none" and not answer.failover and answer.invocations == 1


def get(box, path, edge_region="eu-west-2", headers=None):
    connection = http.client.HTTPConnection("127.0.0.1", box.port, timeout=30)
    try:
        connection.request("GET", path, headers={"X-Edge-Region": edge_region, **(headers or {})})
        response = connection.getresponse()
        return response, response.read()
    finally:
        connection.close()


def test_an_edge_region_that_is_no_region_is_a_400_naming_the_known_codes(box):
    invocations = box.edge.stats.invocations
    response, body = get(box, "/index.html", edge_region="europe")
    assert response.status == 400
    assert body.startswith(b"X-Edge-Region: 'europe' is not a known AWS Region code")
    assert b"eu-west-2" in body and b"us-east-1" in body
    assert box.edge.stats.invocations == invocations  # never reached the function


def test_a_region_where_lambda_edge_does_not_run_is_served_with_a_warning(box):
    response, _ = get(box, "/index.html", edge_region="ca-central-1")
    assert response.status == 200 and response.getheader("X-Served-By-Region") == "us-east-1"
    assert "ca-central-1 is not a Regional edge cache Region" in response.getheader(
        "X-Sandbox-Warning"
    )
    response, _ = get(box, "/index.html", edge_region="eu-west-2")
    assert response.getheader("X-Sandbox-Warning") is None


def test_range_requests_answer_206_and_416_on_a_miss_and_from_the_cache(box):
    _, whole = get(box, "/assets/where.json", headers={})
    box.edge.invalidate()
    for cache in ("Miss", "Hit"):
        response, body = get(box, "/assets/where.json", headers={"Range": "bytes=2-9"})
        if cache == "Hit":
            # a full GET fills the cache; the range is then cut from it
            get(box, "/assets/where.json")
            response, body = get(box, "/assets/where.json", headers={"Range": "bytes=2-9"})
        assert response.status == 206, cache
        assert response.getheader("X-Cache").startswith(cache)
        assert body == whole[2:10]
        assert response.getheader("Content-Range") == f"bytes 2-9/{len(whole)}"
    response, body = get(box, "/assets/where.json", headers={"Range": "bytes=-4"})
    assert (response.status, body) == (206, whole[-4:])
    response, _ = get(box, "/assets/where.json", headers={"Range": f"bytes={len(whole) + 10}-"})
    assert response.status == 416 and response.getheader("Content-Range") == f"bytes */{len(whole)}"


def test_a_416_from_the_origin_fails_over_when_416_is_a_failover_code():
    settings = parse_settings(
        {"origins": '["us-east-1", "eu-central-1"]', "failoverStatusCodes": "[416, 503, 504]"},
        stack="range",
    )
    with Sandbox(settings) as sandbox:
        response, _ = get(
            sandbox, "/index.html", edge_region="eu-west-2", headers={"Range": "bytes=100000-"}
        )
    # S3 answers 416 in eu-central-1; the origin group retries on the failover member (us-east-1),
    # whose 416 is the answer.
    assert response.status == 416
    assert (
        response.getheader("X-Failover") == "true"
        and response.getheader("X-Function-Invocations") == "2"
    )


@pytest.mark.slow(reason="a whole drill with fixed failover")
def test_fixed_failover_drill_reports_lost_by_design_and_passes():
    settings = parse_settings(
        {"origins": '["us-east-1", "eu-central-1", "ap-northeast-1"]', "failover": "fixed"},
        stack="fixed",
    )
    with Sandbox(settings, read_timeout=0.5, connect_timeout=SCALED_CONNECT_TIMEOUT) as sandbox:
        lines: list[str] = []
        assert run_drill(sandbox, sandbox.keys, out=lines.append) == 0
    text = "\n".join(lines)
    assert "expected 200 from None" not in text and "FAILED" not in text
    lost = [line for line in lines if line.endswith("<-- lost by design")]
    # Phase 2 stops the busiest origin; the group's secondary (eu-central-1) is the busiest in fixed
    # mode, so every object from every edge whose primary is eu-central-1 is lost by design.
    europe = [
        e
        for e in lambda_edge_execution_regions()
        if settings.routing.routes[e].primary == "eu-central-1"
    ]
    assert len(lost) >= len(europe) * len(sandbox.keys) > 0
    summary = next(line for line in lines if line.strip().startswith("summary:"))
    assert f"{len(lost)} lost by design" in summary
    assert any(
        line.startswith("lost by design: with 'fixed' failover every retry goes to eu-central-1")
        for line in lines
    )


@pytest.mark.slow(reason="a whole drill, for its printed output")
def test_failures_only_prints_no_passing_request(box):
    lines: list[str] = []
    assert run_drill(box, box.keys, out=lines.append, failures_only=True) == 0
    assert not any(line.startswith(("us-east-1 ", "eu-west-2 ")) for line in lines)
    # No phase failed, so none prints, not even its title: the drill's line and the summary only.
    assert not any("== phase" in line for line in lines), lines
    assert lines[-1] == "drill passed"


@pytest.mark.slow(reason="a whole drill of a site with awkward names")
def test_assets_with_spaces_queries_and_accents_are_drilled(tmp_path):
    site = tmp_path / "site"
    (site / "a dir").mkdir(parents=True)
    for name in (
        "index.html",
        "a dir/space name.txt",
        "café.html",
        "q?a=1.txt",
        "hash#frag.txt",
        "100%.txt",
    ):
        (site / name).write_text(f"content of {name}\n", encoding="utf-8")
    settings = parse_settings(
        {"origins": '["us-east-1", "eu-central-1"]', "originConnectionTimeout": "1"}, stack="assets"
    )
    with Sandbox(settings, assets=site, connect_timeout=SCALED_CONNECT_TIMEOUT) as sandbox:
        lines: list[str] = []
        assert run_drill(sandbox, sandbox.keys, out=lines.append) == 0, "\n".join(lines)
        answer = ask(sandbox, "eu-west-2", "café.html")
        assert answer.status == 200 and answer.body == "content of café.html\n".encode()
        answer = ask(sandbox, "eu-west-2", "q?a=1.txt")
        assert answer.body == b"content of q?a=1.txt\n"


def test_an_empty_or_missing_assets_folder_is_one_line(capsys, tmp_path):
    (tmp_path / "empty").mkdir()
    assert run_command(sandbox_main, ["drill", "--assets", str(tmp_path / "empty")]) == 2
    assert (
        capsys.readouterr().err.strip()
        == f"error: --assets {tmp_path / 'empty'}: the folder holds no files to serve"
    )
    assert run_command(sandbox_main, ["drill", "--assets", str(tmp_path / "nowhere")]) == 2
    assert capsys.readouterr().err.strip() == f"error: {tmp_path / 'nowhere'} does not exist"


def test_oac_behind_the_origin_rewrite_fails_as_on_aws(monkeypatch):
    # Settings refuse this combination and the engine decides the access; made by hand (Lambda@Edge
    # signing with OAC), the sandbox must not be kinder than AWS.
    settings = dataclasses.replace(settings_from_stack_file("prod"), stack="oac-by-hand")
    monkeypatch.setattr(Engine, "origin_access", property(lambda engine: OriginAccess.OAC))
    with Sandbox(settings, read_timeout=0.5) as sandbox:
        home = ask(sandbox, "us-east-1", "index.html")  # primary = the group's own member
        rewritten = ask(sandbox, "eu-west-2", "index.html")  # rewritten to eu-central-1
    assert (home.status, home.served_by) == (200, "us-east-1")
    # Signed for us-east-1 (the declared origin), sent to eu-central-1's bucket: S3 refuses it.
    assert rewritten.status == 400 and b"AuthorizationHeaderMalformed" in rewritten.body
    assert b"the region 'us-east-1' is wrong; expecting 'eu-central-1'" in rewritten.body


@pytest.mark.parametrize(("attempts", "timeout"), [(1, 1), (2, 1)])
def test_failover_from_an_unreachable_region_waits_attempts_times_timeout(attempts, timeout):
    settings = parse_settings(
        {
            "origins": '["us-east-1", "eu-central-1"]',
            "originConnectionAttempts": str(attempts),
            "originConnectionTimeout": str(timeout),
        },
        stack=f"wait-{attempts}x{timeout}",
    )
    with Sandbox(settings, read_timeout=0.5) as sandbox:
        sandbox.emulators.regions["eu-central-1"].make_unreachable()
        answer = ask(sandbox, "eu-west-2", "index.html")
    assert (answer.status, answer.served_by, answer.failover) == (200, "us-east-1", True)
    wait_ms = attempts * timeout * 1000
    # Above the wait: a fresh sandbox's first state read and S3 GET, on a loaded machine.
    assert wait_ms <= answer.first_byte_ms < wait_ms + 2000


def test_the_drill_reports_the_wait_before_failover_from_an_unreachable_region(prod_drill):
    status, lines = prod_drill
    assert status == 0
    title = next(i for i, line in enumerate(lines) if "unreachable (connections time out" in line)
    report = next(line for line in lines[title:] if line.startswith("failover: "))
    assert (
        "(this stack: 3 x 1 s; CloudFront's defaults, 3 x 10 s, would hold each of them 30 s)"
        in (report)
    )
    median = int(report.split("time to first byte median ")[1].split(" ms")[0])
    # At the defaults failover waits 3 x 1 s, within the 4 s promised; CloudFront's own: 30 s.
    assert 3000 <= median < 4000


@pytest.mark.slow(reason="a whole drill of each other shipped stack (./dev run's job)")
@pytest.mark.parametrize("stack", [s for s in stack_file.shipped_stacks() if s != "prod"])
def test_every_other_shipped_stack_drills_clean(stack):
    # prod is drilled by test_the_drill_loses_nothing; every fault, the unreachable one included.
    with Sandbox(
        settings_from_stack_file(stack), read_timeout=0.5, connect_timeout=SCALED_CONNECT_TIMEOUT
    ) as sandbox:
        lines: list[str] = []
        assert run_drill(sandbox, sandbox.keys, out=lines.append) == 0, "\n".join(lines)
    assert any("unreachable (connections time out" in line for line in lines)


def test_a_sandbox_of_the_same_stack_can_follow_another_in_one_process():
    settings = parse_settings({"origins": '["us-east-1", "eu-west-1"]'}, stack="twice")
    for _ in range(2):
        with Sandbox(settings) as sandbox:
            assert ask(sandbox, "eu-west-2", "index.html").status == 200


@pytest.mark.parametrize(
    ("codes", "fault", "status"),
    [
        ((500, 502, 504), "stop", 502),
        ((500, 502, 503), Fault.STALLED, 504),
        # A connection time-out is "fails to connect" (503) to the failover guide, and a 504 to the
        # viewer by its timeout settings: the sandbox needs both codes.
        ((500, 502, 503), "unreachable", 504),
        ((500, 502, 504), "unreachable", 504),
    ],
)
def test_the_edge_fails_over_on_exactly_the_configured_codes(codes, fault, status):
    # settings.parser refuses such codes; the edge must still not be kinder than CloudFront, which
    # fails over from a Region it cannot reach only on 503, and from one that times out only on 504.
    settings = dataclasses.replace(
        parse_settings(
            {"origins": '["us-east-1", "eu-central-1"]'}, stack=f"codes-{fault}-{len(codes)}"
        ),
        failover_status_codes=codes,
    )
    with Sandbox(settings, read_timeout=0.5) as sandbox:
        if fault == "stop":
            sandbox.emulators.regions["eu-central-1"].stop()
        elif fault == "unreachable":
            sandbox.emulators.regions["eu-central-1"].make_unreachable()
        else:
            sandbox.emulators.regions["eu-central-1"].fault = fault
        answer = ask(sandbox, "eu-west-2", "index.html")
    assert (answer.status, answer.served_by, answer.failover) == (status, "none", False)


@pytest.mark.slow(
    reason="waits out S3's own 30 s response timeout on each of three attempts, AWS's figures "
    "themselves, which no scaled-down test shows "
    "(test_a_stalled_region_holds_a_miss_every_attempt_then_fails_over scales them)"
)
def test_a_stalled_region_holds_each_miss_for_three_30_second_response_timeouts():
    # AWS's own timeouts, not scaled ones, and CloudFront's three attempts: with no response
    # completion timeout (the default), each miss to the stalled Region waits 3 x 30 s, then fails
    # over.
    settings = parse_settings({"origins": '["us-east-1", "eu-central-1"]'}, stack="stalled")
    lines: list[str] = []
    with Sandbox(settings) as sandbox:
        assert sandbox.read_timeout == 30 and sandbox.response_completion_timeout is None
        assert settings.origin_connection_attempts == 3
        assert run_drill(sandbox, sandbox.keys, out=lines.append, stall=True) == 0, "\n".join(lines)
    title = next(i for i, line in enumerate(lines) if "stalled (connections accepted" in line)
    assert "3 attempt(s) x 30 s response timeout before failover" in lines[title]
    report = next(line for line in lines[title:] if line.startswith("failover: "))
    median = int(report.split("time to first byte median ")[1].split(" ms")[0])
    assert 90_000 <= median < 93_000
    assert "(S3 origins: 3 attempt(s) x the 30 s response timeout" in report


@pytest.mark.slow(reason="a whole stall drill with the completion timeout on")
def test_with_a_completion_timeout_the_stall_drill_counts_its_misses_lost_not_failed_over():
    # originResponseCompletionTimeout set: each miss to the stalled Region ends at it with a 504
    # (no failover after it is documented). The drill expects exactly that, counts them lost by
    # design, says why, and passes; any of them served from elsewhere would fail it.
    settings = parse_settings(
        {"origins": '["us-east-1", "eu-central-1"]', "originResponseCompletionTimeout": "30"},
        stack="stalled-bounded",
    )
    lines: list[str] = []
    with Sandbox(settings, read_timeout=0.5, connect_timeout=SCALED_CONNECT_TIMEOUT) as sandbox:
        assert sandbox.response_completion_timeout == 0.5
        assert run_drill(sandbox, sandbox.keys, out=lines.append, stall=True) == 0, "\n".join(lines)
        stalled = _busiest_origins(sandbox)[0]
        routes = settings.routing.routes
        expected_lost = len(sandbox.keys) * sum(
            routes[edge].primary == stalled for edge in lambda_edge_execution_regions()
        )
    title = next(i for i, line in enumerate(lines) if "stalled (connections accepted" in line)
    assert "the 0.5 s response completion timeout ends each miss" in lines[title]
    end = next((i for i in range(title + 1, len(lines)) if "== phase" in lines[i]), len(lines))
    phase_lines = lines[title + 1 : end]
    lost = [line for line in phase_lines if line.endswith("<-- lost by design")]
    assert expected_lost > 0 and len(lost) == expected_lost
    assert all(" 504  none " in line for line in lost)
    ended = next(line for line in phase_lines if line.startswith("ended without failover: "))
    assert f"{expected_lost} request(s) answered an error" in ended
    summary = next(line for line in lines if line.startswith("\nsummary: "))
    assert f"{expected_lost} lost by design" in summary
    assert any(
        line.startswith("lost by design in phase ") and "AWS documents no failover after it" in line
        for line in lines
    )
    assert not any("'fixed' failover" in line for line in lines)


@pytest.mark.slow(
    reason="a whole drill with a drained Region; the drain phases of ./dev run's drill check the "
    "same"
)
def test_the_drill_never_breaks_a_drained_region_and_names_it():
    settings = parse_settings(
        {
            "origins": '["us-east-1", "eu-central-1", "ap-northeast-1"]',
            "drained": '["eu-central-1"]',
        },
        stack="drained-drill",
    )
    lines: list[str] = []
    with Sandbox(settings, read_timeout=0.5, connect_timeout=SCALED_CONNECT_TIMEOUT) as sandbox:
        assert run_drill(sandbox, sandbox.keys, out=lines.append) == 0, "\n".join(lines)
    assert "(drained: eu-central-1)" in lines[0]
    titles = [line for line in lines if line.startswith("\n== phase")]
    assert len(titles) >= 6
    assert not any("eu-central-1" in title for title in titles), titles
