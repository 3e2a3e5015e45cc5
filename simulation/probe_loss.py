"""False evacuations under random probe loss over many simulated hours, event-driven: fast enough
for 10,000 hours in seconds, with the project's own counting (``View.after``) and decision
(``decide``).

Every origin healthy; each probe lost (a timeout) at random with probability ``loss``,
independently.
A vantage Region counts one probe per tick (``evacuation.decide``), so its counted probes of an
origin are a sequence of ticks, each failed with probability ``loss``: drawn here as runs of
failures (the gap to the next failure, then the run's length, both geometric), never probe by
probe. Only a run of ``failures`` or more can take an origin out, and only while runs of
``quorum`` vantage Regions overlap, so the decision is asked at every tick of every such run, with
every vantage Region's view of that tick replayed through ``View.after`` from the start of its run.

Assumed: a vantage Region counts a probe at every tick (its invocations overlap: two minutes of
rounds, one a minute, ``core.evacuation``); a lost invocation leaves a gap, which counts no
failure, so ignoring gaps counts no fewer.
"""

from __future__ import annotations

import bisect
import math
import random
from array import array
from dataclasses import dataclass
from types import MappingProxyType

from evacuation.decide import Rules, Streak, View, decide


@dataclass(frozen=True)
class ProbeLossRun:
    hours: float
    loss: float
    origins: int
    vantages: int
    # Runs of ``failures`` or more lost probes in a row, over every vantage Region and origin.
    long_runs: int
    # Times ``decide`` was asked, and the evacuations it called for.
    decisions: int
    evacuations: int


def _geometric(rng: random.Random, success: float) -> int:
    """Failures before the first success, each try succeeding with ``success``."""
    if success >= 1.0:
        return 0
    return int(math.log(1.0 - rng.random()) / math.log(1.0 - success))


def _runs(rng: random.Random, ticks: int, loss: float) -> tuple[array[int], array[int]]:
    """The runs of lost probes in ``ticks`` counted probes: their first ticks and lengths."""
    starts, lengths = array("q"), array("q")
    at = 0
    while True:
        at += _geometric(rng, loss)
        if at >= ticks:
            return starts, lengths
        length = 1 + _geometric(rng, 1.0 - loss)
        starts.append(at)
        lengths.append(length)
        at += length


def _streak(starts: array[int], lengths: array[int], tick: int, rules: Rules, cap: int) -> Streak:
    """A vantage Region's streak of one origin at ``tick``, replayed through ``Streak.after``."""
    index = bisect.bisect_right(starts, tick) - 1
    if index >= 0 and tick < starts[index] + lengths[index]:
        start = starts[index]
        streak = Streak(0, cap, start - cap, start - 1)
        for counted in range(start, tick + 1):
            streak = streak.after(False, counted, gap=rules.fresh_ticks, cap=cap)
        return streak
    previous = starts[index] + lengths[index] if index >= 0 else 0
    return Streak(0, min(cap, tick - previous + 1), previous, tick)


def false_evacuations(
    *,
    hours: float,
    loss: float,
    origins: tuple[str, ...],
    vantages: tuple[str, ...],
    rules: Rules,
    probe_seconds: float,
    seed: int = 0,
) -> ProbeLossRun:
    rng = random.Random(f"probe-loss-{seed}")
    ticks = int(hours * 3600 / probe_seconds)
    cap = max(rules.failures, rules.recoveries)
    runs = {
        (vantage, origin): _runs(rng, ticks, loss) for vantage in vantages for origin in origins
    }
    long_runs = decisions = evacuations = 0
    for origin in origins:
        # Every tick at which some vantage Region has ``failures`` or more lost in a row.
        asked: set[int] = set()
        for vantage in vantages:
            starts, lengths = runs[(vantage, origin)]
            for start, length in zip(starts, lengths, strict=True):
                if length >= rules.failures:
                    long_runs += 1
                    asked.update(range(start + rules.failures - 1, start + length))
        for tick in sorted(asked):
            views = {
                vantage: View(
                    tick,
                    MappingProxyType({origin: _streak(*runs[(vantage, origin)], tick, rules, cap)}),
                )
                for vantage in vantages
            }
            decisions += 1
            decision = decide(
                views,
                origins=list(origins),
                drained=(),
                checks=(),
                operators={},
                now=tick,
                rules=rules,
            )
            evacuations += len(decision.evacuate)
    return ProbeLossRun(hours, loss, len(origins), len(vantages), long_runs, decisions, evacuations)
