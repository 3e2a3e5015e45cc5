"""Benchmark the Pulumi program under mocks: how long it takes to declare a stack.

    .venv/bin/python -m benchmarks.program [--runs 7]  (./dev bench runs it)

Prints median and best wall time for the prod stack file, a 20-origin stack, and the dev stack
file (the CloudFront Functions engine). Asserts nothing.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
import warnings
from collections.abc import Sequence

from routing.catalogue import load_catalogue
from settings.stack_file import read_stack_config, stack_file_path
from testing.mock_program import deploy, project_config
from tools.cli import run_command


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7)
    options = parser.parse_args(argv)
    warnings.simplefilter("ignore", DeprecationWarning)
    # Regions launched after 2022 cannot be origins of Lambda@Edge (OAI does not work there).
    twenty = [code for code, region in load_catalogue().items() if region.supports_oai][:20]
    cases = {
        "prod stack (3 origins)": (read_stack_config(stack_file_path("prod")), "prod"),
        "20 origins": (project_config(origins=twenty), "twenty"),
        "dev stack (CF Functions)": (read_stack_config(stack_file_path("dev")), "dev"),
    }
    # Warm imports first, so the first case pays no more than the second.
    deploy(cases["prod stack (3 origins)"][0])
    for label, (config, stack) in cases.items():
        times, resources = [], 0
        for _ in range(options.runs):
            started = time.perf_counter()
            deployment = deploy(config, stack=stack)
            times.append(time.perf_counter() - started)
            resources = len(deployment.resources)
        print(
            f"{label:<24} {resources:4d} resources  median {statistics.median(times) * 1e3:7.1f} ms"
            f"  best {min(times) * 1e3:7.1f} ms  ({options.runs} runs under mocks)"
        )
    return 0


if __name__ == "__main__":
    sys.exit(run_command(main, stopping="stopping the program benchmark"))
