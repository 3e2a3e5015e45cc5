"""Benchmark both engines' routing code: per-request time, cold start and size.

The Lambda@Edge origin-request handler runs in CPython; the CloudFront Functions viewer-request
function runs in V8 (mini-racer), the JavaScript engine the sandbox and the tests use. CloudFront's
own JavaScript runtime is neither, so the JavaScript figures compare the two codes' work, not what
CloudFront will measure.

    .venv/bin/python -m benchmarks.edge_function [--repeats 25] [--calls 20000] [--starts 30]
    (./dev bench runs it)

Prints figures; asserts nothing. Per-invocation times are medians over repeats, with the naive
baseline timed in the same process, interleaved with the handler so drift hits both alike.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import timeit
from collections.abc import Callable, Sequence
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from edge_function import origin_request
from edge_function.cloudfront_function import (
    MAX_CODE_BYTES,
    origin_id,
    render_function_code,
)
from edge_function.package import package_files, zip_package
from evacuation.state import ROTATION_KEY, out_value
from routing.artifact import (
    DEFAULT_STATE_TIMEOUT_SECONDS,
    StateSource,
    regional_domain_name,
    render_artifact,
)
from routing.catalogue import load_catalogue
from routing.table import derive_routing_table
from sandbox.function_runtime import CloudFrontFunction, edge_location, viewer_request_event
from tools.cli import run_command

SEED_ORIGINS = ("us-east-1", "eu-central-1", "ap-northeast-1")
EDGE_REGION = "eu-west-2"
# An origin-request handler: (event, context) → the request CloudFront sends on.
Handler = Callable[[dict[str, Any], Any], Any]


class Context:
    def __init__(self, region: str) -> None:
        self.invoked_function_arn = (
            f"arn:aws:lambda:{region}:123456789012:function:us-east-1.geo-router:7"
        )


def bucket_names(origins: Sequence[str]) -> dict[str, str]:
    return {code: f"geo-proximity-prod-{code}-0a1b2c3" for code in origins}


STATE = StateSource(table="geo-proximity-prod-routing-state", regions=("us-east-1", "eu-west-2"))


def artifact(origins: Sequence[str]) -> str:
    return render_artifact(derive_routing_table(origins), bucket_names(origins), state=STATE)


class ReadState(origin_request.RoutingState):
    """The handler's routing state with its read answered in process: what a container does
    between two reads of the state table (the read itself is network time, not the handler's)."""

    def __init__(self, out: frozenset[str]) -> None:
        super().__init__(STATE.document())  # type: ignore[no-untyped-call]
        self._answer = out

    def _read(self, region: str) -> frozenset[str]:
        return self._answer


def event(custom_headers: dict[str, Any]) -> dict[str, Any]:
    domain = regional_domain_name(bucket_names(SEED_ORIGINS)["us-east-1"], "us-east-1")
    return {
        "Records": [
            {
                "cf": {
                    "config": {"distributionId": "EDFDVBD6EXAMPLE", "eventType": "origin-request"},
                    "request": {
                        "clientIp": "203.0.113.178",
                        "method": "GET",
                        "uri": "/picture.jpg",
                        "querystring": "",
                        "headers": {
                            "host": [{"key": "Host", "value": domain}],
                            "user-agent": [{"key": "User-Agent", "value": "Amazon CloudFront"}],
                        },
                        "origin": {
                            "s3": {
                                "authMethod": "origin-access-identity",
                                "customHeaders": custom_headers,
                                "domainName": domain,
                                "path": "",
                                "region": "us-east-1",
                            }
                        },
                    },
                }
            }
        ]
    }


def naive_handler(mapping: dict[str, str], default: str, *, parse_arn: bool) -> Handler:
    """The seed's shape without its failover logic: find the Region, look up, assign three fields.

    With ``parse_arn`` it splits the ARN on every call, as the seed does: the baseline. Without, it
    reads a Region resolved once per container, as the handler does: a stricter reference that
    isolates the cost of the handler's checks (custom origin, marker header, malformed input).
    """
    resolved_region = EDGE_REGION

    def handler(event: dict[str, Any], context: Context) -> Any:
        request = event["Records"][0]["cf"]["request"]
        region = context.invoked_function_arn.split(":")[3] if parse_arn else resolved_region
        domain = mapping.get(region, default)
        request["origin"]["s3"]["domainName"] = domain
        request["origin"]["s3"]["region"] = region
        request["headers"]["host"] = [{"key": "Host", "value": domain}]
        return request

    return handler


def per_call_ns(
    functions: dict[str, tuple[Handler, tuple[Any, ...]]], repeats: int, calls: int
) -> tuple[dict[str, float], dict[str, float]]:
    """(median, best) nanoseconds per call of each function over ``repeats`` interleaved runs.
    The best is what the timeit module's documentation recommends reading ("the lowest value
    gives a lower bound for how fast your machine can run the given code snippet; higher values
    ... are typically not caused by variability in Python's speed, but by other processes
    interfering"): on a busy machine the interference adds to every function alike and pulls the
    medians' ratios towards 1."""
    samples: dict[str, list[float]] = {name: [] for name in functions}
    for _ in range(repeats):
        for name, (function, arguments) in functions.items():
            # A statement string, not a lambda: the loop then adds no call of its own to the figure.
            timer = timeit.Timer(
                "function(event, context)",
                globals={"function": function, "event": arguments[0], "context": arguments[1]},
            )
            seconds = timer.timeit(number=calls)
            samples[name].append(seconds / calls * 1e9)
    return (
        {name: statistics.median(values) for name, values in samples.items()},
        {name: min(values) for name, values in samples.items()},
    )


# A cold container's first request: the import, then one request whose state read goes to a store
# on loopback (plain HTTP; on AWS the read also imports ssl and shakes hands over TLS, in its own
# thread, and the request waits for it at most the artifact's deadline).
FIRST_REQUEST = """
import json, sys, time
started = time.perf_counter()
import lambda_function
imported = time.perf_counter()
class Context:
    invoked_function_arn = "arn:aws:lambda:{edge}:123456789012:function:us-east-1.geo-router:7"
request = lambda_function.handler(json.loads(sys.stdin.read()), Context())
done = time.perf_counter()
print(json.dumps([(imported - started) * 1e3, (done - imported) * 1e3, request["origin"]]))
"""
# Credentials the first read signs with: never real ones.
FAKE_CREDENTIALS = {"AWS_ACCESS_KEY_ID": "AKIDEXAMPLE", "AWS_SECRET_ACCESS_KEY": "bench"}


class LoopbackStore:
    """A DynamoDB stand-in on loopback answering every Query with ``items``."""

    def __init__(self, items: list[dict[str, Any]]) -> None:
        body = json.dumps({"Count": len(items), "Items": items}).encode()

        class Answer(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:
                self.rfile.read(int(self.headers.get("Content-Length", "0")))
                self.send_response(200)
                self.send_header("Content-Type", "application/x-amz-json-1.0")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Answer)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join()


def first_request_ms(starts: int) -> tuple[float, float]:
    """Medians over fresh interpreters: (import of the handler, its first request), the first
    request's read of the state answered by a store on loopback that evacuates eu-central-1."""
    evacuated = {
        "pk": {"S": "rotation"},
        "sk": {"S": "evacuated"},
        "regions": {"M": {"eu-central-1": {"M": {"by": {"S": "bench"}}}}},
    }
    store = LoopbackStore([evacuated])
    imports, requests = [], []
    try:
        source = StateSource(table=STATE.table, regions=STATE.regions, endpoint=store.endpoint)
        text = render_artifact(
            derive_routing_table(SEED_ORIGINS), bucket_names(SEED_ORIGINS), state=source
        )
        with tempfile.TemporaryDirectory() as directory:
            for name, content in package_files(text).items():
                Path(directory, name).write_text(content, encoding="utf-8")
            for _ in range(starts):
                completed = subprocess.run(
                    [
                        sys.executable,
                        "-B",
                        "-E",
                        "-s",
                        "-c",
                        FIRST_REQUEST.format(edge=EDGE_REGION),
                    ],
                    input=json.dumps(event({})),
                    capture_output=True,
                    text=True,
                    cwd=directory,
                    env={"PATH": "", **FAKE_CREDENTIALS},
                    check=True,
                )
                imported, first, origin = json.loads(completed.stdout)
                # The read came back in time: the evacuated origin was routed around.
                assert origin["s3"]["region"] == "us-east-1", origin
                imports.append(imported)
                requests.append(first)
    finally:
        store.close()
    return statistics.median(imports), statistics.median(requests)


def interpreter_starts_ms(
    codes: dict[str, str], cwd: str, starts: int
) -> tuple[dict[str, float], dict[str, float]]:
    """(median, best) milliseconds a fresh interpreter takes to run each of ``codes``, the starts
    interleaved (one of each in turn) so a busy spell of the machine hits every code alike rather
    than one block of starts; the best reads as the per-call figures' does."""
    samples: dict[str, list[float]] = {name: [] for name in codes}
    for _ in range(starts):
        for name, code in codes.items():
            begun = time.perf_counter()
            # -B: Lambda's code directory is read-only, so every cold start compiles the modules.
            subprocess.run([sys.executable, "-B", "-E", "-s", "-c", code], cwd=cwd, check=True)
            samples[name].append((time.perf_counter() - begun) * 1e3)
    return (
        {name: statistics.median(values) for name, values in samples.items()},
        {name: min(values) for name, values in samples.items()},
    )


def print_cold_start_and_package(seed_artifact: str, starts: int) -> None:
    """A fresh interpreter with the handler against a bare one, a cold container's first request,
    and the package's size."""
    with tempfile.TemporaryDirectory() as directory:
        for name, text in package_files(seed_artifact).items():
            Path(directory, name).write_text(text, encoding="utf-8")
        start_median, start_best = interpreter_starts_ms(
            {"bare": "pass", "loaded": "import lambda_function"}, directory, starts
        )
    bare, loaded = start_median["bare"], start_median["loaded"]
    best_bare, best_loaded = start_best["bare"], start_best["loaded"]
    print(
        f"cold start: bare interpreter {bare:.1f} ms, with handler and artifact {loaded:.1f} ms, "
        f"overhead {loaded - bare:.2f} ms (median of {starts} fresh interpreters each, "
        f"interleaved; best {best_bare:.1f} ms and {best_loaded:.1f} ms, overhead "
        f"{best_loaded - best_bare:.2f} ms)"
    )
    imported, first = first_request_ms(starts)
    print(
        f"cold container's first request: import {imported:.1f} ms, then the request {first:.1f} "
        "ms, its state read answered by a store on loopback (plain HTTP; the request waits for "
        f"the read at most {DEFAULT_STATE_TIMEOUT_SECONDS:g} s; median of {starts})"
    )

    all_regions = list(load_catalogue())[:20]
    for label, origins in (("3 origins (prod)", SEED_ORIGINS), ("20 origins", all_regions)):
        files = package_files(artifact(origins))
        size = len(zip_package(files))
        raw = sum(len(text.encode()) for text in files.values())
        print(f"package, {label}: {size:,} bytes zipped ({raw:,} bytes unzipped)")


def print_cloudfront_function(repeats: int, calls: int, normal: float) -> None:
    """The CloudFront function's per-call time in V8, next to the Python handler's, and its size."""
    all_regions = list(load_catalogue())[:20]
    javascript = javascript_per_call_ns(repeats, calls)
    bridge = javascript.pop("bridge")
    print(
        f"CloudFront function in V8 {javascript.pop('v8')}; median of {repeats} runs x "
        f"{calls} calls inside V8; edge {EDGE_REGION}"
    )
    for name, ns in javascript.items():
        print(f"  {name:<30} {ns:7.1f} ns/call  {ns / normal:5.2f}x the Python handler's request")
    print(
        f"  one call through the Python-V8 bridge, as the sandbox makes it: {bridge / 1e3:,.0f} us "
        "(the sandbox's cost, not the function's)"
    )
    for label, origins in (("3 origins (prod)", SEED_ORIGINS), ("20 origins", all_regions)):
        code = render_function_code(derive_routing_table(origins), DEFAULT_CODES, ROTATION_KEY)
        size = len(code.encode())
        print(
            f"function code, {label}: {size:,} bytes of CloudFront's {MAX_CODE_BYTES:,} "
            f"({size / MAX_CODE_BYTES:.0%})"
        )


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=25)
    parser.add_argument("--calls", type=int, default=20_000)
    parser.add_argument("--starts", type=int, default=30)
    options = parser.parse_args(argv)

    seed_artifact = artifact(SEED_ORIGINS)
    document = json.loads(seed_artifact)
    handler: Handler = origin_request.build_handler(  # type: ignore[no-untyped-call]
        document, state=ReadState(frozenset())
    )
    drained: Handler = origin_request.build_handler(  # type: ignore[no-untyped-call]
        document, state=ReadState(frozenset({"eu-central-1"}))
    )
    mapping = {
        edge: document["origins"][ranking[0]]["domainName"]
        for edge, ranking in document["rankings"].items()
    }
    naive = naive_handler(mapping, mapping["us-east-1"], parse_arn=True)
    resolved_once = naive_handler(mapping, mapping["us-east-1"], parse_arn=False)
    context = Context(EDGE_REGION)
    marker = document["markerHeader"]
    normal_event = event({})
    failover_event = event({marker.lower(): [{"key": marker, "value": "true"}]})
    assert handler(normal_event, context)["origin"]["s3"]["region"] == "eu-central-1"
    assert handler(failover_event, context)["origin"]["s3"]["region"] == "us-east-1"
    assert drained(normal_event, context)["origin"]["s3"]["region"] == "us-east-1"

    timings, best = per_call_ns(
        {
            "naive baseline": (naive, (event({}), context)),
            "naive, Region resolved once": (resolved_once, (event({}), context)),
            "handler, normal request": (handler, (normal_event, context)),
            "handler, failover request": (handler, (failover_event, context)),
            "handler, an origin out": (drained, (normal_event, context)),
        },
        options.repeats,
        options.calls,
    )
    baseline = timings["naive baseline"]
    reference = timings["naive, Region resolved once"]
    print(
        f"Python {sys.version.split()[0]}; median (and best) of {options.repeats} runs x "
        f"{options.calls} calls; edge {EDGE_REGION}"
    )
    for name, ns in timings.items():
        print(
            f"  {name:<28} {ns:7.1f} ns/call  {ns / baseline:5.2f}x baseline"
            f"  {ns / reference:5.2f}x resolved-once"
            f"  (best {best[name]:6.1f} ns, {best[name] / best['naive baseline']:4.2f}x baseline)"
        )

    print_cold_start_and_package(seed_artifact, options.starts)
    print_cloudfront_function(options.repeats, options.calls, timings["handler, normal request"])
    return 0


DEFAULT_CODES = (403, 404, 500, 502, 503, 504)
_EMPTY_FUNCTION = (
    "import cf from 'cloudfront';\nfunction handler(event) { return event.request; }\n"
)


def javascript_per_call_ns(repeats: int, calls: int) -> dict[str, Any]:
    """The router's time per request inside V8, next to a handler that does nothing (the loop's
    own cost), and one call through the Python-to-V8 bridge as the sandbox makes it."""
    table = derive_routing_table(SEED_ORIGINS)
    origin_ids = [origin_id(region) for region in SEED_ORIGINS]
    store = {ROTATION_KEY: out_value(())}
    functions = {
        "router, ranked group": CloudFrontFunction(
            render_function_code(table, DEFAULT_CODES, ROTATION_KEY), origin_ids, store
        ),
        "router, an origin out": CloudFrontFunction(
            render_function_code(table, DEFAULT_CODES, ROTATION_KEY),
            origin_ids,
            {ROTATION_KEY: out_value({"eu-central-1"})},
        ),
        "router without a store": CloudFrontFunction(
            render_function_code(table, DEFAULT_CODES), origin_ids
        ),
        "empty handler (loop baseline)": CloudFrontFunction(_EMPTY_FUNCTION, origin_ids),
    }
    request = viewer_request_event(
        "GET", "/picture.jpg", host="d111111abcdef8.cloudfront.net", client_ip="203.0.113.178"
    )
    location = edge_location(EDGE_REGION)
    router = functions["router, ranked group"]
    assert router.invoke(request, location).choice is not None
    samples: dict[str, list[float]] = {name: [] for name in functions}
    bridge: list[float] = []
    for _ in range(repeats):
        for name, function in functions.items():
            begun = time.perf_counter()
            function.repeat(request, location, calls)
            samples[name].append((time.perf_counter() - begun) / calls * 1e9)
        begun = time.perf_counter()
        for _ in range(100):
            router.invoke(request, location)
        bridge.append((time.perf_counter() - begun) / 100 * 1e9)
    figures: dict[str, Any] = {name: statistics.median(values) for name, values in samples.items()}
    figures["bridge"] = statistics.median(bridge)
    figures["v8"] = router.v8_version
    return figures


if __name__ == "__main__":
    sys.exit(run_command(main, stopping="stopping the edge function benchmark"))
