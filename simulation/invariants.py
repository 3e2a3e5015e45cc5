"""The invariants the self-healing layer keeps in every schedule, each a check over a run's trace
that returns what broke it (empty: it held).

1. No false evacuation: the checks take an origin out only when at least a quorum of vantage
   Regions saw it fail as CloudFront would fail over (no answer, a timeout, a 5xx) shortly
   before; a 403 or 404 to the probe, a probe that cannot be signed, one vantage Region alone and
   lost probes never take one out.
2. Blast radius: the checks never hold more than ``evacuationMaxOut`` origins out at once, nothing
   ever leaves the rotation empty, and while the checks want more out than they may take they say
   so (the held metric the ``evacuations-held`` alarm watches).
3. No stale publication: the key value store never goes back to an older committed state, and it
   holds the table's state once the last change has had a round to reach it.
4. No lost decision: an operator's evacuate or restore stays until an operator changes it, in the
   home Region and in every replica, whatever the checks and a home Region outage do.
5. Fail-safe drains: no edge sends a request to a drained Region, whatever it reads or fails to
   read.
6. Bounded reaction: an origin is restored only after at least two minutes of health (the
   reaction times are figures, over incidents: ``simulation.incidents``).
7. Told, never silent: a health object that cannot be read (a 403 or 404 to the probe) or a probe
   that cannot be sent raises the ``health-object`` metric for that origin while it lasts.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass

from core import evacuation as evacuation_constants
from core.evacuation import EVACUATION_QUORUM
from core.monitoring import DEFAULT_ALARM_EVALUATION_MINUTES, HEALTH_OBJECT_ALARM_PROBES
from simulation.world import EPOCH, GENUINE, Fault, Rotation, World

# An evacuation is justified by failures seen this long before it at most: the failures counted,
# their spacing, the freshness of a vantage Region's view, with room to spare.
JUSTIFICATION_SECONDS = 300.0
# A restore needs this much health first.
RESTORE_AFTER_SECONDS = 120.0
# A replica has the home Region's writes after this long (replication's tail, with room).
REPLICATION_GRACE_SECONDS = 10.0
# A health object unreadable this long must have raised its alarm by then (the metric is sent at
# the end of each two-minute invocation, and the alarm counts it over its window).
TOLD_WITHIN_SECONDS = 300.0
# The store must hold the table's state this long after the last change (a round, with room).
CONVERGED_WITHIN_SECONDS = 30.0
# CloudWatch metric names the evacuator sends.
HEALTH_METRIC = "HealthObjectUnreadable"
HELD_METRIC = "ChecksHeld"


@dataclass(frozen=True)
class Invariant:
    number: int
    name: str
    check: Callable[[World], list[str]]


def _changes(world: World, region: str | None = None) -> list[tuple[float, Rotation]]:
    return world.trace.rotations[region or world.table.home]


def _newly(
    timeline: list[tuple[float, Rotation]], owner: Callable[[Rotation], frozenset[str]]
) -> Iterator[tuple[float, str, bool]]:
    """(time, origin, True when it joined / False when it left) for ``owner``'s set."""
    before: frozenset[str] = frozenset()
    for at, rotation in timeline:
        now = owner(rotation)
        for origin in sorted(now - before):
            yield at, origin, True
        for origin in sorted(before - now):
            yield at, origin, False
        before = now


def _seen_failing_by(world: World, origin: str, start: float, end: float) -> list[str]:
    """The vantage Regions that had ``origin`` genuinely failing at some time in [start, end]."""
    seen = []
    for vantage in world.vantages:
        for fault in world.faults:
            if fault.origin != origin or fault.kind not in GENUINE:
                continue
            if fault.vantages is not None and vantage not in fault.vantages:
                continue
            if fault.start <= end and fault.end >= start:
                seen.append(vantage)
                break
    return seen


def no_false_evacuation(world: World) -> list[str]:
    problems = []
    for at, origin, joined in _newly(_changes(world), lambda rotation: rotation.checks):
        if not joined:
            continue
        seen = _seen_failing_by(world, origin, at - JUSTIFICATION_SECONDS, at)
        if len(seen) < EVACUATION_QUORUM:
            faults = [
                fault.kind.value
                for fault in world.faults
                if fault.origin == origin and fault.start <= at < fault.end + JUSTIFICATION_SECONDS
            ]
            problems.append(
                f"{at:.0f} s: {origin} evacuated by the checks, failing only from "
                f"{seen or 'no vantage Region'} (its faults: {faults or 'none'}; probe loss "
                f"{world.scenario.probe_loss:.0%})"
            )
    return problems


def blast_radius(world: World) -> list[str]:
    limit = getattr(world.settings, "evacuation_max_out", max(1, len(world.origins) // 2))
    problems = []
    for at, rotation in _changes(world):
        if len(rotation.checks) > limit:
            problems.append(
                f"{at:.0f} s: the checks hold {sorted(rotation.checks)} out, more than {limit}"
            )
        if rotation.out is not None and rotation.out >= set(world.origins):
            problems.append(f"{at:.0f} s: every origin is out of rotation ({sorted(rotation.out)})")
    problems += _held_told(world, limit)
    return problems[:5]


def _held_told(world: World, limit: int) -> list[str]:
    """While more origins than the limit fail from every vantage Region for three minutes (origins
    an operator decided on aside: theirs is not the checks' to hold), the held metric must have said
    so."""
    scenario = world.scenario
    step = 30.0
    at, streak_start = 0.0, None
    while at < scenario.duration:
        rotation = _state_at(_changes(world), at)
        decided = (rotation.operator_in | rotation.operator_out) if rotation else frozenset()
        failing = [
            origin
            for origin in world.origins
            if origin not in world.settings.routing.drained
            and origin not in decided
            and all(world.genuinely_failing(origin, vantage, at) for vantage in world.vantages)
            and world.fault_of(origin, None, at) is not None
            and world.fault_of(origin, None, at).kind is not Fault.FLAPPING  # type: ignore[union-attr]
        ]
        if len(failing) > limit and not _within(scenario.home_outages, at):
            streak_start = at if streak_start is None else streak_start
            if at - streak_start >= 180.0:
                held = [
                    point
                    for point in world.metrics.points
                    if point[2] == HELD_METRIC
                    and point[4] >= 1
                    and streak_start <= point[0] - EPOCH <= at + 60
                ]
                if not held:
                    return [
                        f"{streak_start:.0f}-{at:.0f} s: {failing} failing, more than the "
                        f"{limit} the checks may hold out, and no {HELD_METRIC} metric said so"
                    ]
                streak_start = None
        else:
            streak_start = None
        at += step
    return []


def _within(intervals: tuple[tuple[float, float], ...], at: float) -> bool:
    return any(start <= at < end for start, end in intervals)


def no_stale_publication(world: World) -> list[str]:
    if world.kvs is None:
        return []
    commits = [(at, rotation.out) for at, rotation in _changes(world) if rotation.out is not None]
    problems = []
    previous = -1
    previous_version = None
    for written_at, _, value in world.kvs.history:
        at = written_at - EPOCH
        out, version = _store_value(value)
        if version is not None:
            if previous_version is not None and version <= previous_version:
                problems.append(
                    f"{at:.1f} s: the store got version {version} after {previous_version}"
                )
            previous_version = version
        index = max(
            (i for i, (commit_at, union) in enumerate(commits) if commit_at <= at and union == out),
            default=None,
        )
        if index is None:
            problems.append(f"{at:.1f} s: the store got {sorted(out)}, which the table never held")
            continue
        if index < previous:
            problems.append(
                f"{at:.1f} s: the store went back to {sorted(out)} (held by the table at "
                f"{commits[index][0]:.1f} s) after {sorted(commits[previous][1])} (at "
                f"{commits[previous][0]:.1f} s)"
            )
        previous = max(previous, index)
    problems += _converged(world, commits)
    return problems[:5]


def _converged(world: World, commits: list[tuple[float, frozenset[str]]]) -> list[str]:
    if not commits or world.kvs is None:
        return []
    last_at, last = commits[-1]
    quiet_from = max(
        [last_at, *(end for _, end in world.scenario.home_outages)]
        + [end for _, end in world.scenario.kvs_outages]
    )
    if quiet_from + CONVERGED_WITHIN_SECONDS > world.scenario.duration:
        return []
    deadline = EPOCH + quiet_from + CONVERGED_WITHIN_SECONDS
    held = None
    for written_at, _, value in world.kvs.history:
        if written_at <= deadline:
            held = _store_value(value)[0]
    if held != last:
        return [
            f"{quiet_from + CONVERGED_WITHIN_SECONDS:.0f} s: the store holds "
            f"{sorted(held) if held is not None else 'nothing'}, the table {sorted(last)} since "
            f"{last_at:.0f} s"
        ]
    return []


def _store_value(value: str) -> tuple[frozenset[str], int | None]:
    import json

    document = json.loads(value)
    version = document.get("v")
    return frozenset(document["out"]), int(version) if version is not None else None


def no_lost_decision(world: World) -> list[str]:
    done = sorted(
        (outcome for outcome in world.trace.operators if outcome.ok and outcome.finished),
        key=lambda outcome: outcome.started,
    )
    problems = []
    for number, outcome in enumerate(done):
        origin, command = outcome.action.origin, outcome.action.command
        if command == "hand-back":
            continue
        before = _state_at(_changes(world), outcome.started)
        if command == "restore" and (
            before is None or before.out is None or origin not in before.out
        ):
            continue  # nothing was out to restore: no decision was made
        later = [other for other in done[number + 1 :] if other.action.origin == origin]
        until = later[0].started if later else world.scenario.duration
        assert outcome.finished is not None
        for region, timeline in world.trace.rotations.items():
            # The home Region has it once the command is done; a replica once the write has
            # reached it (not while the home Region is away): from then on, none may lose it.
            start = outcome.finished
            state = _state_at(timeline, start)
            points = [(start, state)] if state is not None else []
            points += [(at, rotation) for at, rotation in timeline if start < at < until]
            arrived = region == world.table.home
            for at, rotation in points:
                if rotation.out is None:
                    continue
                holds = (
                    origin in rotation.out
                    if command == "evacuate"
                    else origin not in rotation.out or origin in rotation.drained
                )
                if holds:
                    arrived = True
                    continue
                if arrived:
                    what = "back in" if command == "evacuate" else "out of"
                    problems.append(
                        f"{at:.1f} s, {region}: {origin} {what} rotation after an operator's "
                        f"{command} at {outcome.started:.0f} s, and no operator changed it since"
                    )
                    break
    return problems[:5]


def _state_at(timeline: list[tuple[float, Rotation]], at: float) -> Rotation | None:
    state = None
    for changed, rotation in timeline:
        if changed > at:
            break
        state = rotation
    return state


def fail_safe_drains(world: World) -> list[str]:
    drained = set(world.settings.routing.drained)
    if not drained:
        return []
    problems = []
    for at, region, container, routes in world.trace.container_routes:
        reached = drained & routes
        if reached:
            problems.append(
                f"{at:.0f} s: a Lambda@Edge container in {region} (#{container}) may route to "
                f"{sorted(reached)}, which the stack drains"
            )
            break
    if world.kvs is not None:
        at = world.edges_from
        while at < world.scenario.duration:
            reached = drained & world.function_routes(at)
            if reached:
                problems.append(
                    f"{at:.0f} s: the CloudFront function may route to {sorted(reached)}, which "
                    "the stack drains"
                )
                break
            at += 5.0
    excluded = drained - world.excluded
    if excluded:
        problems.append(
            f"the deployed edge code sends requests to {sorted(excluded)} when it cannot read the "
            "routing state: drains are not in the code"
        )
    return problems


def restore_after_health(world: World) -> list[str]:
    problems = []
    for at, origin, joined in _newly(_changes(world), lambda rotation: rotation.checks):
        if joined:
            continue
        if any(
            outcome.ok
            and outcome.action.origin == origin
            and outcome.finished is not None
            and outcome.started <= at <= outcome.finished + REPLICATION_GRACE_SECONDS
            for outcome in world.trace.operators
        ):
            continue  # an operator's restore, not the checks'
        if origin not in world.origins:
            continue
        healthy = [
            vantage
            for vantage in world.vantages
            if not _failing_within(world, origin, vantage, at - RESTORE_AFTER_SECONDS, at)
        ]
        if len(healthy) < EVACUATION_QUORUM:
            problems.append(
                f"{at:.0f} s: {origin} restored by the checks, though it failed from "
                f"{sorted(set(world.vantages) - set(healthy))} within the "
                f"{RESTORE_AFTER_SECONDS:.0f} s before"
            )
    return problems[:5]


def _failing_within(world: World, origin: str, vantage: str, start: float, end: float) -> bool:
    """Whether ``origin`` failed from ``vantage`` in [start, end] for at least a probe interval:
    a failure shorter than that may fall between two probes, and no evacuator can see it."""
    seen = evacuation_constants.EVACUATION_PROBE_SECONDS
    stretch = 0.0
    at = start
    while at <= end:
        stretch = stretch + 1.0 if world.genuinely_failing(origin, vantage, at) else 0.0
        if stretch >= seen:
            return True
        at += 1.0
    return False


def told(world: World) -> list[str]:
    """A health object unreadable (or probes that cannot be sent) for long enough raises the
    origin's ``health-object`` alarm: the evacuator's count of such probes reaches the alarm's
    threshold within its window."""
    problems = []
    window = DEFAULT_ALARM_EVALUATION_MINUTES * 60.0
    for fault in world.faults:
        if fault.kind in GENUINE:
            continue
        if (
            fault.end - fault.start < TOLD_WITHIN_SECONDS + 60
            or fault.end > world.scenario.duration
        ):
            continue
        masked = any(
            other.origin == fault.origin
            and other.kind in GENUINE
            and other.start < fault.start + TOLD_WITHIN_SECONDS
            and other.end > fault.start
            for other in world.faults
        )
        if masked:
            continue  # the probes see the origin failing, not the object missing
        told_at = None
        points = sorted(
            (at - EPOCH, value)
            for at, _, name, dimensions, value in world.metrics.points
            if name == HEALTH_METRIC and dimensions.get("Origin") == fault.origin
        )
        for at, _ in points:
            if not fault.start <= at <= fault.start + TOLD_WITHIN_SECONDS:
                continue
            counted = sum(value for when, value in points if at - window < when <= at)
            if counted >= HEALTH_OBJECT_ALARM_PROBES:
                told_at = at
                break
        if told_at is None:
            problems.append(
                f"{fault.start:.0f}-{fault.end:.0f} s: {fault.origin}: {fault.kind.value}, and "
                f"its {HEALTH_METRIC} alarm was not raised within {TOLD_WITHIN_SECONDS:.0f} s"
            )
    return problems[:5]


INVARIANTS = (
    Invariant(1, "no false evacuation", no_false_evacuation),
    Invariant(2, "blast radius", blast_radius),
    Invariant(3, "no stale publication", no_stale_publication),
    Invariant(4, "no lost decision", no_lost_decision),
    Invariant(5, "fail-safe drains", fail_safe_drains),
    Invariant(6, "restore only after two minutes of health", restore_after_health),
    Invariant(7, "unreadable health objects are told", told),
)


def check(world: World) -> dict[int, list[str]]:
    """Every invariant's problems in a run (empty lists: it held)."""
    return {invariant.number: invariant.check(world) for invariant in INVARIANTS}
