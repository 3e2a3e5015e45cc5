"""The simulation's figures: reaction times per engine over many incidents, false evacuations
under random probe loss over many hours, and the invariants over many fault schedules; computed
and said by the same code (``./dev simulate`` prints them, docs/evacuation.md quotes them).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from concurrent.futures import Executor
from dataclasses import dataclass, field

from simulation.incidents import BACKGROUND, Reactions, run_incidents
from simulation.invariants import INVARIANTS, check
from simulation.probe_loss import ProbeLossRun, false_evacuations
from simulation.schedules import draw_scenario
from simulation.world import (
    DEFAULT_KVS_PROPAGATION_SECONDS,
    REPLICATION_SECONDS,
    REPLICATION_TAIL,
    World,
    evacuator_settings,
    stack_settings,
)

# The targets: an origin out at every edge within 2 minutes (p99), CloudFront Functions plus the
# store's propagation; back only after 2 minutes of health, within 4 (p99).
EDGE_TARGET_SECONDS = 120.0
RESTORE_AFTER_SECONDS = 120.0
RESTORE_TARGET_SECONDS = 240.0
# The shipped stacks, one per engine.
ENGINE_STACKS = (("lambda-edge", "prod"), ("cloudfront-functions", "dev"))


def percentile(values: Sequence[float], share: float) -> float:
    """The nearest-rank percentile: the smallest value at least ``share`` of them do not exceed."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(share * len(ordered)) - 1)]


@dataclass(frozen=True)
class Spread:
    count: int
    missing: int
    p50: float
    p99: float
    low: float
    high: float

    @classmethod
    def of(cls, values: Sequence[float | None]) -> Spread:
        present = [value for value in values if value is not None]
        if not present:
            return cls(0, len(values), math.nan, math.nan, math.nan, math.nan)
        return cls(
            len(present),
            len(values) - len(present),
            percentile(present, 0.5),
            percentile(present, 0.99),
            min(present),
            max(present),
        )

    def text(self) -> str:
        missed = f", {self.missing} never" if self.missing else ""
        return f"p50 {self.p50:5.0f} s   p99 {self.p99:5.0f} s   max {self.high:5.0f} s{missed}"


@dataclass
class InvariantTally:
    number: int
    name: str
    held: int = 0
    runs: int = 0
    # (seed, first problem) of schedules where it broke.
    broken: list[tuple[int, str]] = field(default_factory=list)


def run_schedules(seeds: Sequence[int]) -> list[InvariantTally]:
    """Every invariant over the schedules of ``seeds``."""
    tallies = [InvariantTally(invariant.number, invariant.name) for invariant in INVARIANTS]
    for seed in seeds:
        world = World(draw_scenario(seed))
        world.run()
        problems = check(world)
        if world.trace.errors:
            problems = {number: [*found, *world.trace.errors] for number, found in problems.items()}
        for tally in tallies:
            tally.runs += 1
            found = problems[tally.number]
            if found:
                tally.broken.append((seed, found[0]))
            else:
                tally.held += 1
    return tallies


def merge(parts: Sequence[list[InvariantTally]]) -> list[InvariantTally]:
    merged = [InvariantTally(invariant.number, invariant.name) for invariant in INVARIANTS]
    for part in parts:
        for total, tally in zip(merged, part, strict=True):
            total.held += tally.held
            total.runs += tally.runs
            total.broken += tally.broken
    return merged


def probe_loss_run(hours: float, loss: float, seed: int) -> ProbeLossRun:
    settings = stack_settings("prod")
    evacuator = evacuator_settings(settings)
    return false_evacuations(
        hours=hours,
        loss=loss,
        origins=settings.origins,
        vantages=settings.evacuation_vantages,
        rules=evacuator.rules,
        probe_seconds=evacuator.probe_seconds,
        seed=seed,
    )


@dataclass
class Figures:
    reactions: list[Reactions]
    probe_loss: ProbeLossRun
    invariants: list[InvariantTally]
    seed: int

    @property
    def passed(self) -> bool:
        return (
            all(tally.held == tally.runs for tally in self.invariants)
            and self.probe_loss.evacuations == 0
            and all(ok for reaction in self.reactions for _, _, ok in targets(reaction))
        )


def targets(reaction: Reactions) -> list[tuple[str, str, bool]]:
    """(measure, what it must meet, whether it does) for one engine's incidents."""
    edge = Spread.of(reaction.seconds["edge"])
    restored = Spread.of(reaction.seconds["restored"])
    allowance = EDGE_TARGET_SECONDS + (
        reaction.kvs_propagation if reaction.engine.value == "cloudfront-functions" else 0.0
    )
    back = Spread.of(reaction.seconds["edge back"])
    return [
        ("edge", f"p99 <= {allowance:.0f} s", edge.missing == 0 and edge.p99 <= allowance),
        (
            "edge back",
            f"p99 <= {RESTORE_TARGET_SECONDS + allowance - EDGE_TARGET_SECONDS:.0f} s",
            back.missing == 0
            and back.p99 <= RESTORE_TARGET_SECONDS + allowance - EDGE_TARGET_SECONDS,
        ),
        (
            "restored",
            f">= {RESTORE_AFTER_SECONDS:.0f} s, p99 <= {RESTORE_TARGET_SECONDS:.0f} s",
            restored.missing == 0
            and restored.low >= RESTORE_AFTER_SECONDS
            and restored.p99 <= RESTORE_TARGET_SECONDS,
        ),
    ]


def compute(
    *,
    incidents: int,
    schedules: int,
    hours: float,
    loss: float,
    seed: int,
    kvs_propagation: float = DEFAULT_KVS_PROPAGATION_SECONDS,
    executor: Executor | None = None,
) -> Figures:
    """Every figure; the parts run on ``executor`` when given (they are independent)."""
    jobs: list[tuple[Callable[..., object], tuple[object, ...], dict[str, object]]] = [
        (run_incidents, (stack, incidents), {"seed": seed, "kvs_propagation": kvs_propagation})
        for _, stack in ENGINE_STACKS
    ]
    jobs.append((probe_loss_run, (hours, loss, seed), {}))
    chunk = max(1, math.ceil(schedules / 4))
    seeds = list(range(seed * 100_000, seed * 100_000 + schedules))
    for start in range(0, schedules, chunk):
        jobs.append((run_schedules, (seeds[start : start + chunk],), {}))
    if executor is None:
        results = [function(*args, **kwargs) for function, args, kwargs in jobs]
    else:
        futures = [executor.submit(function, *args, **kwargs) for function, args, kwargs in jobs]
        results = [future.result() for future in futures]
    reactions = list(results[: len(ENGINE_STACKS)])
    probe = results[len(ENGINE_STACKS)]
    tallies = merge(results[len(ENGINE_STACKS) + 1 :])  # type: ignore[arg-type]
    return Figures(reactions, probe, tallies, seed)  # type: ignore[arg-type]


def lines(figures: Figures) -> list[str]:
    """The figures, as ``./dev simulate`` prints them."""
    out = [
        f"assumed: EventBridge Scheduler invokes uniformly within its 60 s window; Lambda delivers "
        f"{BACKGROUND['duplicate_rate']:.0%} of events twice, holds {BACKGROUND['late_rate']:.0%} "
        f"up to 60 s and loses {BACKGROUND['drop_rate']:.0%}; {BACKGROUND['probe_loss']:.0%} of "
        f"probes are lost; DynamoDB replicates in {REPLICATION_SECONDS[0]:g}-"
        f"{REPLICATION_SECONDS[1]:g} s ({REPLICATION_TAIL[0]:.0%} up to "
        f"{REPLICATION_TAIL[1]:g} s); "
        f"{BACKGROUND['edge_read_failure']:.0%} of Lambda@Edge state reads fail; the key value "
        f"store reaches the edges in {figures.reactions[-1].kvs_propagation:g} s (AWS documents "
        "no propagation time: an assumption)"
    ]
    for reaction in figures.reactions:
        out += _reaction_lines(reaction)
    loss = figures.probe_loss
    out.append(
        f"false evacuations under {loss.loss:.0%} random probe loss: {loss.evacuations} in "
        f"{loss.hours:,.0f} simulated hours ({loss.origins} origins, {loss.vantages} vantage "
        f"Regions; {loss.long_runs} runs of lost probes long enough to count, {loss.decisions} "
        "decisions asked)"
    )
    runs = figures.invariants[0].runs if figures.invariants else 0
    out.append(
        f"invariants, over {runs} fault schedules (both engines; origin faults, probe loss, "
        "home Region outages, operators, duplicated, late and lost runs, cut invocations):"
    )
    for tally in figures.invariants:
        out.append(f"  {tally.number}. {tally.name}: held in {tally.held} of {tally.runs}")
        for seed, problem in tally.broken[:3]:
            out.append(f"       schedule {seed}: {problem}")
    out.append("all held, targets met" if figures.passed else "FAILED: see above")
    return out


def _reaction_lines(reaction: Reactions) -> list[str]:
    engine = reaction.engine.value
    kinds = "down, unreachable, stalled, 503"
    count = len(reaction.incidents)
    out = [f"reaction, {engine} (stack {reaction.stack}, {count} incidents: {kinds}):"]
    verdicts = {measure: (goal, ok) for measure, goal, ok in targets(reaction)}
    lambda_edge = engine == "lambda-edge"
    plus = f"(store + {reaction.kvs_propagation:g} s)"
    labels = {
        "written": "a Region fails -> the state says it is out",
        "edge": "a Region fails -> no Lambda@Edge container routes there"
        if lambda_edge
        else f"a Region fails -> no CloudFront function routes there {plus}",
        "restored": "it recovers -> the state says it is back",
        "edge back": "it recovers -> every Lambda@Edge container routes there"
        if lambda_edge
        else f"it recovers -> every CloudFront function routes there {plus}",
    }
    for measure, label in labels.items():
        spread = Spread.of(reaction.seconds[measure])
        verdict = ""
        if measure in verdicts:
            goal, ok = verdicts[measure]
            verdict = f"   (target {goal}: {'met' if ok else 'MISSED'})"
        out.append(f"  {label:<78}{spread.text()}{verdict}")
    return out
