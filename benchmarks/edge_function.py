"""Benchmark the origin-request handler: per-invocation time, cold start and package size.

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
import time
import timeit
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from edge_function import origin_request
from edge_function.package import package_files, zip_package
from routing.artifact import regional_domain_name, render_artifact
from routing.catalogue import load_catalogue
from routing.table import derive_routing_table

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


def artifact(origins: Sequence[str]) -> str:
    return render_artifact(derive_routing_table(origins), bucket_names(origins))


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
) -> dict[str, float]:
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
    return {name: statistics.median(values) for name, values in samples.items()}


def interpreter_start_ms(code: str, cwd: str, starts: int) -> float:
    times = []
    for _ in range(starts):
        begun = time.perf_counter()
        # -B: Lambda's code directory is read-only, so every cold start compiles the modules.
        subprocess.run([sys.executable, "-B", "-E", "-s", "-c", code], cwd=cwd, check=True)
        times.append((time.perf_counter() - begun) * 1e3)
    return statistics.median(times)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=25)
    parser.add_argument("--calls", type=int, default=20_000)
    parser.add_argument("--starts", type=int, default=30)
    options = parser.parse_args(argv)

    seed_artifact = artifact(SEED_ORIGINS)
    document = json.loads(seed_artifact)
    handler: Handler = origin_request.build_handler(document)  # type: ignore[no-untyped-call]
    mapping = {
        edge: document["origins"][route["primary"]]["domainName"]
        for edge, route in document["routes"].items()
    }
    naive = naive_handler(mapping, mapping["us-east-1"], parse_arn=True)
    resolved_once = naive_handler(mapping, mapping["us-east-1"], parse_arn=False)
    context = Context(EDGE_REGION)
    marker = document["markerHeader"]
    normal_event = event({})
    failover_event = event({marker.lower(): [{"key": marker, "value": "true"}]})
    assert handler(normal_event, context)["origin"]["s3"]["region"] == "eu-central-1"
    assert handler(failover_event, context)["origin"]["s3"]["region"] == "us-east-1"

    timings = per_call_ns(
        {
            "naive baseline": (naive, (event({}), context)),
            "naive, Region resolved once": (resolved_once, (event({}), context)),
            "handler, normal request": (handler, (normal_event, context)),
            "handler, failover request": (handler, (failover_event, context)),
        },
        options.repeats,
        options.calls,
    )
    baseline = timings["naive baseline"]
    reference = timings["naive, Region resolved once"]
    print(
        f"Python {sys.version.split()[0]}; median of {options.repeats} runs x {options.calls} "
        f"calls; edge {EDGE_REGION}"
    )
    for name, ns in timings.items():
        print(
            f"  {name:<28} {ns:7.1f} ns/call  {ns / baseline:5.2f}x baseline"
            f"  {ns / reference:5.2f}x resolved-once"
        )

    with tempfile.TemporaryDirectory() as directory:
        for name, text in package_files(seed_artifact).items():
            Path(directory, name).write_text(text, encoding="utf-8")
        bare = interpreter_start_ms("pass", directory, options.starts)
        loaded = interpreter_start_ms("import lambda_function", directory, options.starts)
    print(
        f"cold start: bare interpreter {bare:.1f} ms, with handler and artifact {loaded:.1f} ms, "
        f"overhead {loaded - bare:.2f} ms (median of {options.starts} fresh interpreters)"
    )

    all_regions = list(load_catalogue())[:20]
    for label, origins in (("3 origins (prod)", SEED_ORIGINS), ("20 origins", all_regions)):
        files = package_files(artifact(origins))
        size = len(zip_package(files))
        raw = sum(len(text.encode()) for text in files.values())
        print(f"package, {label}: {size:,} bytes zipped ({raw:,} bytes unzipped)")


if __name__ == "__main__":
    main()
