"""./dev bench: every benchmark, one after another, each in a fresh interpreter (so that none pays
for what an earlier one left in memory): the edge functions, the program under mocks, the
sandbox, and publish and drift next to the AWS CLI. Prints figures; asserts nothing.

Ctrl-C or SIGTERM is passed to the benchmark running, which stops with one line and cleans up
(its emulators, temporary folders and the commands it timed); the rest do not run.
"""

from __future__ import annotations

import signal
import subprocess
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from types import FrameType
from typing import Any

from tools.cli import CommandParser, run_command
from tools.interrupt import STOP_SIGNALS, say, stopping_line

BENCHMARKS = (
    "benchmarks.edge_function",
    "benchmarks.program",
    "benchmarks.sandbox",
    "benchmarks.publish",
)


@contextmanager
def signals_passed_to(child: subprocess.Popen[Any], passed: list[int]) -> Iterator[None]:
    """SIGINT and SIGTERM go to ``child`` inside the block, once each time they arrive (and are
    noted in ``passed``): it says that it stops and cleans up, so this process says nothing."""

    def forward(number: int, frame: FrameType | None) -> None:
        passed.append(number)
        if child.poll() is None:
            child.send_signal(number)

    previous = {number: signal.signal(number, forward) for number in STOP_SIGNALS}
    try:
        yield
    finally:
        for number, handler in previous.items():
            signal.signal(number, handler)


def run_benchmark(module: str) -> int:
    """``python -m module``'s exit status. The child has a process group of its own, so that a
    Ctrl-C at the terminal reaches it once, from here, and not twice (which stops at once)."""
    # Through tools.launch, as ./dev starts a command: a signal passed on while the child still
    # imports is one line too.
    command = [sys.executable, "-m", "tools.launch", module]
    passed: list[int] = []
    with subprocess.Popen(command, process_group=0) as child:
        try:
            with signals_passed_to(child, passed):
                status = child.wait()
        except BaseException:
            # Stopped before the signals were passed on (or by an error here): the child too.
            child.send_signal(signal.SIGTERM)
            raise
    if status < 0 and passed:
        # The signal ended the child before Python in it could take it over: it said nothing.
        say(stopping_line(passed[0], f"{module} stopped as it started", again=False))
    # A child a signal ended has a negative status: the shell's 128 + its number instead.
    return status if status >= 0 else 128 - status


def main(argv: Sequence[str] | None = None) -> int:
    parser = CommandParser(prog="./dev bench", description=__doc__.split("\n\n")[0])
    parser.parse_args(argv)
    for module in BENCHMARKS:
        status = run_benchmark(module)
        if status != 0:
            return status
    return 0


if __name__ == "__main__":
    sys.exit(run_command(main, stopping="stopping the benchmarks"))
