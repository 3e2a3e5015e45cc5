"""./dev simulate: the evacuator's whole control loop on a simulated clock, under AWS's documented
contracts; prints the reaction times per engine, the false evacuations under random probe loss and
each invariant with the number of fault schedules it held in. Exit status 0 when every invariant
held and every target was met, 1 otherwise, 2 for a bad option."""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor

from tools.cli import run_command


def _count(low: int, high: int) -> Callable[[str], int]:
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            value = low - 1
        if not low <= value <= high:
            raise argparse.ArgumentTypeError(f"{text!r} is not a whole number from {low} to {high}")
        return value

    return parse


def _share(text: str) -> float:
    try:
        value = float(text.rstrip("%")) / (100 if text.endswith("%") else 1)
    except ValueError:
        value = -1.0
    if not 0 <= value < 1:
        raise argparse.ArgumentTypeError(f"{text!r} is not a share from 0 to below 1 (0.05 or 5%)")
    return value


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not 0 <= value <= 3600:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of seconds from 0 to 3600")
    return value


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="./dev simulate", description=__doc__.split(";")[0])
    parser.add_argument(
        "--incidents",
        type=_count(10, 100_000),
        default=1000,
        help="incidents per engine for the reaction times (default 1000)",
    )
    parser.add_argument(
        "--schedules",
        type=_count(1, 100_000),
        default=200,
        help="fault schedules the invariants are checked over (default 200)",
    )
    parser.add_argument(
        "--hours",
        type=_count(1, 10_000_000),
        default=10_000,
        help="simulated hours of random probe loss (default 10000)",
    )
    parser.add_argument(
        "--probe-loss",
        type=_share,
        default=0.05,
        help="the share of probes lost at random in that run (default 0.05)",
    )
    parser.add_argument(
        "--kvs-propagation-seconds",
        type=_seconds,
        default=None,
        help="how long a key value store write takes to reach the edges (AWS "
        "documents none; default 60, an assumption)",
    )
    parser.add_argument(
        "--seed",
        type=_count(0, 1_000_000),
        default=0,
        help="the seed every random draw follows (default 0)",
    )
    parser.add_argument(
        "--jobs", type=_count(1, 64), default=2, help="processes to run the parts in (default 2)"
    )
    options = parser.parse_args(argv)
    # Imported here so that --help answers at once.
    from simulation.figures import compute, lines
    from simulation.world import DEFAULT_KVS_PROPAGATION_SECONDS

    propagation = options.kvs_propagation_seconds
    started = time.monotonic()
    print(
        "simulating the evacuator's control loop under AWS's documented contracts (seed "
        f"{options.seed}): {options.incidents} incidents per engine, {options.schedules} fault "
        f"schedules, {options.hours:,} hours of probe loss ...",
        flush=True,
    )
    arguments = {
        "incidents": options.incidents,
        "schedules": options.schedules,
        "hours": options.hours,
        "loss": options.probe_loss,
        "seed": options.seed,
        "kvs_propagation": DEFAULT_KVS_PROPAGATION_SECONDS if propagation is None else propagation,
    }
    if options.jobs > 1:
        with ProcessPoolExecutor(options.jobs) as executor:
            figures = compute(**arguments, executor=executor)
    else:
        figures = compute(**arguments)
    for line in lines(figures):
        print(line)
    print(f"({time.monotonic() - started:.0f} s)")
    return 0 if figures.passed else 1


if __name__ == "__main__":
    sys.exit(run_command(main))
