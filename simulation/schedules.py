"""Fault schedules, drawn from a seed: what happens to the origins, the probes, the scheduler,
Lambda, the table's home Region, the store, the edge and the operators during one run.

Every schedule ends with a quiet stretch (no fault, no outage, no operator), so that what must
converge has the time to.
"""

from __future__ import annotations

import random
from collections.abc import Sequence

from simulation.world import Fault, FaultWindow, OperatorAction, Scenario, stack_settings

# The shipped stacks: prod (Lambda@Edge, three origins), dev (CloudFront Functions, two).
STACKS = ("prod", "dev")
DURATION_SECONDS = 1500.0
QUIET_SECONDS = 360.0
_KINDS = (
    (Fault.DOWN, 3),
    (Fault.UNREACHABLE, 3),
    (Fault.STALLED, 3),
    (Fault.SLOW_DOWN, 2),
    (Fault.INTERNAL_ERROR, 1),
    (Fault.FLAPPING, 2),
    (Fault.HEALTH_MISSING, 3),
    (Fault.DENIED, 1),
    (Fault.CANNOT_PROBE, 1),
)


def draw_scenario(
    seed: int, *, stack: str | None = None, duration: float = DURATION_SECONDS
) -> Scenario:
    """One schedule; the same seed gives the same schedule."""
    rng = random.Random(seed)
    stack = stack or rng.choice(STACKS)
    origins = stack_settings(stack).origins
    drained: tuple[str, ...] = ()
    if len(origins) > 2 and rng.random() < 0.3:
        drained = (rng.choice(origins),)
    judged = [origin for origin in origins if origin not in drained]
    vantages = stack_settings(stack).evacuation_vantages
    busy = duration - QUIET_SECONDS
    faults = [_fault(rng, rng.choice(judged), vantages, busy) for _ in range(rng.randint(0, 3))]
    if rng.random() < 0.15:
        # One delete through a mesh that replicates delete markers: gone from every bucket.
        start = rng.uniform(30, busy / 2)
        end = min(busy, start + rng.uniform(240, 600))
        faults += [FaultWindow(origin, Fault.HEALTH_MISSING, start, end) for origin in origins]
    if rng.random() < 0.15 and len(judged) > 1:
        # Every origin but one failing at once: more than the checks may take out.
        start = rng.uniform(30, busy / 2)
        end = min(busy, start + rng.uniform(300, 600))
        kind = rng.choice((Fault.DOWN, Fault.STALLED, Fault.SLOW_DOWN))
        faults += [FaultWindow(origin, kind, start, end) for origin in judged]
    return Scenario(
        stack=stack,
        duration=duration,
        seed=seed,
        drained=drained,
        faults=tuple(faults),
        probe_loss=rng.choice((0.0, 0.0, 0.01, 0.05)),
        home_outages=_windows(rng, 0.3, busy, (30, 300)),
        operators=tuple(_operators(rng, origins, busy)),
        duplicate_rate=rng.choice((0.0, 0.1, 0.3)),
        late_rate=rng.choice((0.0, 0.05, 0.2)),
        drop_rate=rng.choice((0.0, 0.02)),
        scheduler_extremes={
            vantage: rng.choice(("first", "last", "alternate"))
            for vantage in vantages
            if rng.random() < 0.2
        },
        edge_read_failure=rng.choice((0.0, 0.05, 0.3)),
        kvs_outages=_windows(rng, 0.1, busy, (20, 120)),
        timeout_rate=rng.choice((0.0, 0.05)),
    )


def _fault(rng: random.Random, origin: str, vantages: Sequence[str], busy: float) -> FaultWindow:
    kind = rng.choices([kind for kind, _ in _KINDS], [weight for _, weight in _KINDS])[0]
    start = rng.uniform(30, busy - 60)
    end = min(busy, start + rng.uniform(40, 700))
    seen_from = None
    if rng.random() < 0.2 or kind is Fault.CANNOT_PROBE:
        # A network partition between one vantage Region and the origin (or one vantage Region
        # that cannot sign its probes).
        seen_from = frozenset({rng.choice(vantages)})
    return FaultWindow(origin, kind, start, end, seen_from, period=rng.choice((40.0, 60.0, 120.0)))


def _windows(
    rng: random.Random, chance: float, busy: float, length: tuple[float, float]
) -> tuple[tuple[float, float], ...]:
    if rng.random() >= chance:
        return ()
    start = rng.uniform(30, busy - length[1])
    return ((start, start + rng.uniform(*length)),)


def _operators(rng: random.Random, origins: Sequence[str], busy: float) -> list[OperatorAction]:
    actions = []
    at = 0.0
    for _ in range(rng.randint(0, 3)):
        at = rng.uniform(at + 30, at + busy / 3)
        if at >= busy:
            break
        command = rng.choice(("evacuate", "restore", "restore", "hand-back"))
        actions.append(OperatorAction(at, command, rng.choice(origins)))
    return actions
