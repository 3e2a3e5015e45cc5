"""Benchmark the local sandbox: requests per second and latency through the edge emulator's HTTP
port.

    .venv/bin/python -m benchmarks.sandbox [--requests 2000] [--threads 4]  (./dev bench runs it)

Three runs over the prod stack, each spread over the 13 execution Regions: cache misses (the cache
is emptied before every request, so each one invokes the handler and fetches from an S3 emulator),
cache hits, and misses with one Region down (every request to it fails over). Prints figures;
asserts nothing.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor

from routing.catalogue import lambda_edge_execution_regions
from sandbox.drill import ask
from sandbox.stack import Sandbox
from settings.stack_file import settings_from_stack_file
from tools.cli import run_command


def measure(
    sandbox: Sandbox, count: int, threads: int, *, cold: bool
) -> tuple[float, list[float], int]:
    edges = lambda_edge_execution_regions()

    def one(index: int) -> tuple[float, int]:
        if cold:
            sandbox.edge.invalidate()
        answer = ask(sandbox, edges[index % len(edges)], "index.html")
        return answer.milliseconds, answer.status

    started = time.perf_counter()
    with ThreadPoolExecutor(threads) as pool:
        results = list(pool.map(one, range(count)))
    elapsed = time.perf_counter() - started
    return (
        count / elapsed,
        sorted(ms for ms, _ in results),
        sum(status != 200 for _, status in results),
    )


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--threads", type=int, default=4)
    options = parser.parse_args(argv)
    with Sandbox(settings_from_stack_file("prod")) as sandbox:
        ask(sandbox, "us-east-1", "index.html")  # warm up
        runs = {"cache misses": True, "cache hits": False}
        for label, cold in runs.items():
            report(label, *measure(sandbox, options.requests, options.threads, cold=cold), options)
        sandbox.emulators.regions["us-east-1"].stop()
        try:
            report(
                "misses, us-east-1 down",
                *measure(sandbox, options.requests, options.threads, cold=True),
                options,
            )
        finally:
            sandbox.emulators.regions["us-east-1"].start()
    return 0


def report(
    label: str, rate: float, latencies: list[float], errors: int, options: argparse.Namespace
) -> None:
    p99 = latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))]
    print(
        f"{label:<24} {rate:7.0f} req/s  p50 {statistics.median(latencies):6.2f} ms  "
        f"p99 {p99:6.2f} ms"
        f"  non-200: {errors}  ({options.requests} requests, {options.threads} client threads)"
    )


if __name__ == "__main__":
    sys.exit(run_command(main, stopping="stopping the sandbox benchmark and its emulators"))
