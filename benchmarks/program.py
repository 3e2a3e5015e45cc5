"""Benchmark the Pulumi program under mocks: how long it takes to declare a stack.

    .venv/bin/python -m benchmarks.program [--runs 7]  (./dev bench runs it)

Prints median and best wall time for the prod stack file, a 20-origin stack, and the dev stack
file (the CloudFront Functions engine). Asserts nothing.
"""

from __future__ import annotations

import argparse
import asyncio
import queue
import statistics
import sys
import threading
import time
import warnings
from collections.abc import Sequence

from routing.catalogue import load_catalogue
from settings.stack_file import read_stack_config, stack_file_path
from testing.mock_program import Deployment, deploy, project_config
from tools.cli import run_command


class MockRunner:
    """Runs the program under mocks in one thread of its own, a daemon with its own event loop,
    and waits for it in short slices. Pulumi's event loop cannot take a KeyboardInterrupt
    half-way (an asyncio callback reports it and the loop hangs), so a Ctrl-C stops the
    benchmark in the main thread, and the program under mocks ends with the process."""

    def __init__(self) -> None:
        self._jobs: queue.SimpleQueue[tuple[dict[str, str], str]] = queue.SimpleQueue()
        self._results: queue.SimpleQueue[Deployment | BaseException] = queue.SimpleQueue()
        threading.Thread(target=self._serve, name="program-under-mocks", daemon=True).start()

    def _serve(self) -> None:
        # Pulumi's mocks take the thread's event loop, which only the main thread has by itself;
        # one for the thread's life, as the main thread's is.
        asyncio.set_event_loop(asyncio.new_event_loop())
        while True:
            config, stack = self._jobs.get()
            try:
                self._results.put(deploy(config, stack=stack))
            except BaseException as error:  # noqa: BLE001 - raised in the main thread
                self._results.put(error)

    def deploy(self, config: dict[str, str], stack: str = "test") -> Deployment:
        self._jobs.put((config, stack))
        while True:
            try:
                result = self._results.get(timeout=0.1)
            except queue.Empty:
                continue
            if isinstance(result, BaseException):
                raise result
            return result


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
    runner = MockRunner()
    runner.deploy(cases["prod stack (3 origins)"][0])
    for label, (config, stack) in cases.items():
        times, resources = [], 0
        for _ in range(options.runs):
            started = time.perf_counter()
            deployment = runner.deploy(config, stack=stack)
            times.append(time.perf_counter() - started)
            resources = len(deployment.resources)
        print(
            f"{label:<24} {resources:4d} resources  median {statistics.median(times) * 1e3:7.1f} ms"
            f"  best {min(times) * 1e3:7.1f} ms  ({options.runs} runs under mocks)"
        )
    return 0


if __name__ == "__main__":
    sys.exit(run_command(main, stopping="stopping the program benchmark"))
