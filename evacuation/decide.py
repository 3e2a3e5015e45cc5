"""Which origins to take out of rotation and which to bring back: hysteresis over the health
checks of several vantage Regions, as a pure function.

Each vantage Region probes every origin and keeps, per origin, how many probes in a row failed and
how many in a row succeeded (a ``Streak``). An origin is evacuated when at least ``quorum`` vantage
Regions (two by default) have each seen ``failures`` failures in a row, so that no single vantage
point can take a Region out on its own view of the network; it is restored when ``quorum`` of them
have each seen ``recoveries`` successes in a row. Views older than ``fresh_seconds`` do not count
(a vantage Region that stopped reporting has no say). The last origin in rotation is never
evacuated, origins the stack drains are not judged, and an evacuation made by an operator is never
undone by the checks: only by an operator.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field

# Who evacuated an origin when the health checks did; an operator's evacuation names the operator.
BY_CHECKS = "checks"


@dataclass(frozen=True)
class Streak:
    """One vantage Region's recent probes of one origin."""

    failures: int = 0
    successes: int = 0
    # When the vantage Region last probed it (seconds since the epoch).
    at: float = 0.0

    def after(self, healthy: bool, at: float, cap: int) -> Streak:
        """The streak after one more probe; counts stop at ``cap`` (nothing above it matters)."""
        if healthy:
            return Streak(0, min(self.successes + 1, cap), at)
        return Streak(min(self.failures + 1, cap), 0, at)


@dataclass(frozen=True)
class Evacuation:
    """Why an origin is out of rotation at run time."""

    since: str
    by: str
    reason: str

    @property
    def by_checks(self) -> bool:
        return self.by == BY_CHECKS


@dataclass(frozen=True)
class Decision:
    """Changes to make: origin → reason; and evacuations the checks asked for but must not make."""

    evacuate: Mapping[str, str] = field(default_factory=dict)
    restore: Mapping[str, str] = field(default_factory=dict)
    held: Mapping[str, str] = field(default_factory=dict)

    @property
    def changes(self) -> bool:
        return bool(self.evacuate or self.restore)


def decide(
    views: Mapping[str, Mapping[str, Streak]],
    *,
    origins: Sequence[str],
    drained: Collection[str],
    evacuated: Mapping[str, Evacuation],
    now: float,
    failures: int,
    recoveries: int,
    quorum: int,
    fresh_seconds: float,
) -> Decision:
    """What the checks of every vantage Region (``views``: vantage → origin → streak) call for."""
    fresh = {
        vantage: {
            origin: streak for origin, streak in view.items() if now - streak.at <= fresh_seconds
        }
        for vantage, view in views.items()
    }

    def agreeing(origin: str, holds: int, counted: str) -> list[str]:
        return sorted(
            vantage
            for vantage, view in fresh.items()
            if origin in view and getattr(view[origin], counted) >= holds
        )

    in_rotation = [
        origin for origin in origins if origin not in drained and origin not in evacuated
    ]
    evacuate: dict[str, str] = {}
    held: dict[str, str] = {}
    for origin in list(in_rotation):
        seen_by = agreeing(origin, failures, "failures")
        if len(seen_by) < quorum:
            continue
        reason = f"{failures} failed probes in a row from {', '.join(seen_by)}"
        if len(in_rotation) <= 1:
            held[origin] = f"{reason}, but it is the last origin in rotation"
            continue
        evacuate[origin] = reason
        in_rotation.remove(origin)
    restore = {}
    for origin, evacuation in evacuated.items():
        if not evacuation.by_checks or origin not in origins:
            continue
        seen_by = agreeing(origin, recoveries, "successes")
        if len(seen_by) >= quorum:
            restore[origin] = f"{recoveries} good probes in a row from {', '.join(seen_by)}"
    return Decision(evacuate, restore, held)
