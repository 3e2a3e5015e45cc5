"""Which origins the health checks take out of rotation and which they bring back: hysteresis over
the probes of several vantage Regions, as pure functions.

Time is counted in *ticks*: the probe interval on the epoch's grid (tick ``k`` starts at ``k *
probe_seconds``). A vantage Region counts at most one probe of an origin per tick, however many
of its invocations probe in that tick (EventBridge Scheduler and Lambda may run two at once, or the
same one twice), so "four failed probes in a row" always spans at least three probe intervals of
real time, and a duplicate is a no-op.

Per vantage Region and origin a ``Streak``: the counted failed or good probes in a row, the tick
the run began and the tick last counted. A run survives a gap between counted probes of up to the
freshness window (EventBridge Scheduler's "60 second precision" and Lambda's event queue leave
gaps); a longer gap starts a new run. A view counts only while fresh: its last probe of the origin
within the freshness window.

- An origin is **evacuated** when ``quorum`` vantage Regions each see ``failures`` failed probes in
  a row: no single vantage point takes a Region out on its own view of the network.
- It is **restored** when ``quorum`` of them each see ``recoveries`` good probes in a row, or when
  an operator holds it in rotation.
- **Limits**: the checks hold at most ``max_out`` origins out at once (the blast radius), never
  the last origin in rotation, never a drained one, never one an operator decided on. An origin
  past a limit is *held*: not evacuated, and said so.
- **Operators' decisions** (``OperatorDecision``) are theirs alone: the checks never change them.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType

# Who evacuated an origin when the health checks did; an operator's evacuation names the operator.
BY_CHECKS = "checks"
# An operator's decision about one origin: out of rotation, or held in it.
OUT = "out"
IN = "in"


@dataclass(frozen=True)
class Streak:
    """One vantage Region's counted probes of one origin."""

    failures: int = 0
    successes: int = 0
    # The tick of the first probe of the current run.
    since: int = 0
    # The tick of the last counted probe; 0: never probed.
    tick: int = 0

    def after(self, healthy: bool, tick: int, *, gap: int, cap: int) -> Streak:
        """The streak after a probe counted at ``tick`` (later than ``self.tick``); counts stop at
        ``cap`` (nothing above it matters); a probe more than ``gap`` ticks after the last starts
        a new run."""
        continues = self.tick > 0 and tick - self.tick <= gap
        if healthy:
            if continues and self.successes:
                return Streak(0, min(self.successes + 1, cap), self.since, tick)
            return Streak(0, 1, tick, tick)
        if continues and self.failures:
            return Streak(min(self.failures + 1, cap), 0, self.since, tick)
        return Streak(1, 0, tick, tick)

    def fresh(self, now: int, window: int) -> bool:
        return self.tick > 0 and now - self.tick <= window


@dataclass(frozen=True)
class View:
    """One vantage Region's streaks, as of the last tick it counted."""

    tick: int = 0
    streaks: Mapping[str, Streak] = field(default_factory=lambda: MappingProxyType({}))

    def after(self, healthy: Mapping[str, bool | None], tick: int, *, gap: int, cap: int) -> View:
        """The view after a round at ``tick``: each origin's probe counted, except where the probe
        could not tell (None), which leaves that origin's streak as it was."""
        streaks = dict(self.streaks)
        for origin, verdict in healthy.items():
            if verdict is not None:
                streaks[origin] = streaks.get(origin, Streak()).after(
                    verdict, tick, gap=gap, cap=cap
                )
        return View(tick, MappingProxyType(streaks))


@dataclass(frozen=True)
class Evacuation:
    """Why an origin is out of rotation by the checks (or, in the earlier layout, by anyone)."""

    since: str
    by: str
    reason: str

    @property
    def by_checks(self) -> bool:
        return self.by == BY_CHECKS


@dataclass(frozen=True)
class OperatorDecision:
    """An operator's decision about one origin: ``OUT`` of rotation, or held ``IN`` it (the checks
    do not take it out), until an operator changes it."""

    state: str
    since: str
    by: str
    reason: str

    @property
    def out(self) -> bool:
        return self.state == OUT


@dataclass(frozen=True)
class Rules:
    failures: int
    recoveries: int
    quorum: int
    # The most origins the checks hold out at once.
    max_out: int
    # How many ticks a view stays fresh, and a run survives a gap.
    fresh_ticks: int


@dataclass(frozen=True)
class Decision:
    """Changes to make: origin → reason; and what the checks would evacuate but hold."""

    evacuate: Mapping[str, str] = field(default_factory=dict)
    restore: Mapping[str, str] = field(default_factory=dict)
    held: Mapping[str, str] = field(default_factory=dict)

    @property
    def changes(self) -> bool:
        return bool(self.evacuate or self.restore)


def out_of_rotation(
    *,
    drained: Collection[str],
    checks: Collection[str],
    operators: Mapping[str, OperatorDecision],
) -> frozenset[str]:
    """The origins out of rotation: drained, or out by an operator, or out by the checks unless an
    operator holds them in. (The edge reads the same rule from the items:
    ``edge_function.origin_request.out_of_rotation``.)"""
    held_in = {origin for origin, decision in operators.items() if not decision.out}
    operator_out = {origin for origin, decision in operators.items() if decision.out}
    return frozenset(set(drained) | operator_out | (set(checks) - held_in))


def decide(
    views: Mapping[str, View],
    *,
    origins: Sequence[str],
    drained: Collection[str],
    checks: Collection[str],
    operators: Mapping[str, OperatorDecision],
    now: int,
    rules: Rules,
) -> Decision:
    """What the checks of every vantage Region call for at tick ``now``, given the origins the
    checks hold out (``checks``) and the operators' decisions."""

    def seen(origin: str, counted: str, holds: int) -> list[str]:
        return sorted(
            vantage
            for vantage, view in views.items()
            if (streak := view.streaks.get(origin)) is not None
            and streak.fresh(now, rules.fresh_ticks)
            and getattr(streak, counted) >= holds
        )

    held_in = {origin for origin, decision in operators.items() if not decision.out}
    operator_out = {origin for origin, decision in operators.items() if decision.out}
    restore: dict[str, str] = {}
    for origin in sorted(checks):
        if origin not in origins:
            restore[origin] = "no longer an origin of the stack"
        elif origin in held_in:
            restore[origin] = f"an operator holds it in rotation ({operators[origin].by})"
        elif len(up := seen(origin, "successes", rules.recoveries)) >= rules.quorum:
            restore[origin] = f"{rules.recoveries} good probes in a row from {', '.join(up)}"
    kept = set(checks) - set(restore)
    candidates = [
        origin
        for origin in origins
        if origin not in set(drained) | operator_out | held_in | kept
        and len(seen(origin, "failures", rules.failures)) >= rules.quorum
    ]

    def first_seen(origin: str) -> tuple[int, int]:
        down = seen(origin, "failures", rules.failures)
        return (
            min(views[vantage].streaks[origin].since for vantage in down),
            origins.index(origin),
        )

    evacuate: dict[str, str] = {}
    held: dict[str, str] = {}
    for origin in sorted(candidates, key=first_seen):
        reason = (
            f"{rules.failures} failed probes in a row from "
            f"{', '.join(seen(origin, 'failures', rules.failures))}"
        )
        out = set(drained) | operator_out | (kept - held_in) | set(evacuate)
        if len(kept) + len(evacuate) >= rules.max_out:
            held[origin] = (
                f"{reason}; held in rotation: the checks hold {rules.max_out} origin(s) out "
                "already, their limit (evacuationMaxOut)"
            )
        elif not [other for other in origins if other not in out | {origin}]:
            held[origin] = f"{reason}; held in rotation: it is the last origin in rotation"
        else:
            evacuate[origin] = reason
    return Decision(evacuate, restore, held)
