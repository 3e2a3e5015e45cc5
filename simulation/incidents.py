"""Reaction times over many incidents: an origin fails (down, unreachable, stalled or answering
503), the checks take it out, it recovers, they bring it back; one after another in one simulated
stack, under the documented contract's everyday behaviour (duplicated, late and lost invocations,
lost probes, replication delays, failed edge reads, cut invocations).

Measured from the moment the origin fails (then recovers), each to the first moment it holds:
- **written**: the home Region's table has it out (in);
- **Lambda@Edge**: no container of any Regional edge cache Region routes to it (every one does);
- **store**: the key value store holds it out (in), and **CloudFront Functions**: that, plus the
  store's propagation (AWS documents none: ``Scenario.kvs_propagation``, an assumption).
"""

from __future__ import annotations

import dataclasses
import random
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from core.engine import Engine
from evacuation.state import ROTATION_KEY
from simulation.world import EPOCH, Fault, FaultWindow, Scenario, World, _function_out

KINDS = (Fault.DOWN, Fault.UNREACHABLE, Fault.STALLED, Fault.SLOW_DOWN)
# The contract's everyday behaviour, during the incidents.
BACKGROUND = {
    "duplicate_rate": 0.1,
    "late_rate": 0.05,
    "drop_rate": 0.01,
    "probe_loss": 0.01,
    "edge_read_failure": 0.05,
    "timeout_rate": 0.01,
}
# How long the fault outlasts the state written, and the pause between incidents.
FAULT_AFTER_WRITTEN_SECONDS = 30.0
PAUSE_SECONDS = 30.0
# An incident not decided this long after it began counts as missed.
GIVE_UP_SECONDS = 900.0
_POLL_SECONDS = 1.0


@dataclass
class Incident:
    origin: str
    kind: Fault
    failed: float
    written: float | None = None
    recovered: float | None = None
    restored: float | None = None


@dataclass
class Reactions:
    """The incidents of one stack, and what each measure took."""

    stack: str
    engine: Engine
    kvs_propagation: float
    incidents: list[Incident] = field(default_factory=list)
    # Measure → seconds per incident (None: never happened).
    seconds: dict[str, list[float | None]] = field(default_factory=dict)


class _Driver:
    """Starts an incident, ends its fault once the state is written, starts the next once the
    origin is back."""

    def __init__(self, world: World, count: int, rng: random.Random) -> None:
        self.world = world
        self.count = count
        self.rng = rng
        self.incidents: list[Incident] = []
        self.origins = [o for o in world.origins if o not in world.settings.routing.drained]
        self._fault_index: int | None = None

    def start(self, at: float) -> None:
        self.world.kernel.at(EPOCH + at, self._begin)

    def _begin(self) -> None:
        if len(self.incidents) >= self.count:
            return
        number = len(self.incidents)
        origin = self.origins[number % len(self.origins)]
        kind = KINDS[self.rng.randrange(len(KINDS))]
        at = self.world.now()
        self.incidents.append(Incident(origin, kind, at))
        self._fault_index = len(self.world.faults)
        self.world.faults.append(FaultWindow(origin, kind, at, float("inf")))
        self._poll()

    def _home_checks(self) -> frozenset[str]:
        timeline = self.world.trace.rotations[self.world.table.home]
        return timeline[-1][1].checks if timeline else frozenset()

    def _poll(self) -> None:
        incident, now = self.incidents[-1], self.world.now()
        if incident.written is None and (
            incident.origin in self._home_checks() or now - incident.failed > GIVE_UP_SECONDS
        ):
            incident.written = now if incident.origin in self._home_checks() else None
            self.world.kernel.at(EPOCH + now + FAULT_AFTER_WRITTEN_SECONDS, self._recover)
            return
        self.world.kernel.at(EPOCH + now + _POLL_SECONDS, self._poll)

    def _recover(self) -> None:
        incident, now = self.incidents[-1], self.world.now()
        assert self._fault_index is not None
        fault = self.world.faults[self._fault_index]
        self.world.faults[self._fault_index] = dataclasses.replace(fault, end=now)
        incident.recovered = now
        self._await_restore()

    def _await_restore(self) -> None:
        incident, now = self.incidents[-1], self.world.now()
        if (
            incident.origin not in self._home_checks()
            or now - incident.failed > 2 * GIVE_UP_SECONDS
        ):
            incident.restored = now if incident.origin not in self._home_checks() else None
            self.world.kernel.at(EPOCH + now + PAUSE_SECONDS + self.rng.uniform(0, 10), self._begin)
            return
        self.world.kernel.at(EPOCH + now + _POLL_SECONDS, self._await_restore)


def run_incidents(
    stack: str, count: int, *, seed: int = 0, kvs_propagation: float | None = None
) -> Reactions:
    """``count`` incidents on ``stack``, one after another."""
    rng = random.Random(f"incidents-{seed}")
    scenario = Scenario(
        stack=stack,
        duration=count * 600.0,
        seed=seed,
        duplicate_rate=BACKGROUND["duplicate_rate"],
        late_rate=BACKGROUND["late_rate"],
        drop_rate=BACKGROUND["drop_rate"],
        probe_loss=BACKGROUND["probe_loss"],
        edge_read_failure=BACKGROUND["edge_read_failure"],
        timeout_rate=BACKGROUND["timeout_rate"],
    )
    if kvs_propagation is not None:
        scenario = dataclasses.replace(scenario, kvs_propagation=kvs_propagation)
    world = World(scenario)
    driver = _Driver(world, count, rng)
    # Once every vantage Region has views (its first invocations).
    driver.start(180.0 + rng.uniform(0, 10))

    def going() -> bool:
        last = driver.incidents[-1] if driver.incidents else None
        if len(driver.incidents) < count or last is None or last.restored is None:
            return True
        # The edge's view of the last restore, too.
        return world.now() < last.restored + 180.0

    world.run_while(going)
    reactions = Reactions(stack, world.settings.engine, scenario.kvs_propagation, driver.incidents)
    reactions.seconds = _measures(world, driver.incidents)
    return reactions


def _measures(world: World, incidents: Sequence[Incident]) -> dict[str, list[float | None]]:
    measures: dict[str, list[float | None]] = {
        "written": [],
        "edge": [],
        "restored": [],
        "edge back": [],
    }
    lambda_edge = world.settings.engine is Engine.LAMBDA_EDGE
    timeline = world.trace.rotations[world.table.home]
    for number, incident in enumerate(incidents):
        # To the moment the home Region's table changed (the driver looks once a second).
        incident.written = _changed(timeline, incident.origin, incident.failed, joined=True)
        if incident.recovered is not None:
            incident.restored = _changed(
                timeline, incident.origin, incident.recovered, joined=False
            )
        measures["written"].append(_since(incident.failed, incident.written))
        measures["restored"].append(_since(incident.recovered, incident.restored))
        if lambda_edge:
            # The containers around the incident, from well before it (what each had read).
            start = max(world.edges_from, 10.0, incident.failed - LOOKBACK_SECONDS)
            end = min(world.ended, (incident.restored or incident.failed) + 180.0)
            reads = list(world.containers(start, end, number))
            out = _containers_agree(reads, incident.origin, incident.written, routed=False)
            back = _containers_agree(reads, incident.origin, incident.restored, routed=True)
        else:
            out = _store_agrees(world, incident.origin, incident.written, routed=False)
            back = _store_agrees(world, incident.origin, incident.restored, routed=True)
        measures["edge"].append(_since(incident.failed, out))
        measures["edge back"].append(_since(incident.recovered, back))
    return measures


# Containers are followed from this long before an incident: long enough that one alive then has
# read the state since (at a 5% chance of a failed read, 20 reads), short enough to stay cheap.
LOOKBACK_SECONDS = 300.0


def _changed(
    timeline: Sequence[tuple[float, Any]], origin: str, after: float, *, joined: bool
) -> float | None:
    """When the checks first held ``origin`` out (``joined``) or no longer did, from ``after``."""
    for at, rotation in timeline:
        if at >= after and (origin in rotation.checks) == joined:
            return float(at)
    return None


def _since(start: float | None, end: float | None) -> float | None:
    return None if start is None or end is None else end - start


def _containers_agree(
    reads: Sequence[tuple[float, str, int, frozenset[str]]],
    origin: str,
    after: float | None,
    *,
    routed: bool,
) -> float | None:
    """The first time from ``after`` at which every container alive routes to ``origin``
    (``routed``) or none does."""
    if after is None:
        return None
    latest: dict[tuple[str, int], tuple[float, bool]] = {}
    for at, region, number, routes in reads:
        latest[(region, number)] = (at, origin in routes)
        if at < after:
            continue
        # Alive: it read within its last refresh (a replaced container reads no more).
        alive = [reaches for when, reaches in latest.values() if at - when < 15.0]
        if alive and all(reaches == routed for reaches in alive):
            return at
    return None


def _store_agrees(world: World, origin: str, after: float | None, *, routed: bool) -> float | None:
    """When the key value store first held ``origin`` in (``routed``) or out from ``after``, plus
    the store's propagation to the edges."""
    if after is None or world.kvs is None:
        return None
    for written_at, key, value in world.kvs.history:
        at = written_at - EPOCH
        if key != ROTATION_KEY or at < after - 1e-6:
            continue
        out = _function_out(value) or frozenset()
        if (origin not in out) == routed:
            return at + world.scenario.kvs_propagation
    return None
