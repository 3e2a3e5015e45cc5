"""One simulated stack: its origins and their faults, every vantage Region's evacuator as
EventBridge Scheduler and Lambda run it, the routing state's table and key value store, the edge
that reads them, and operators at the break-glass commands; on the kernel's clock.

The evacuator, the decisions, the state's layout, the break-glass commands and the edge's reading
of the state are the project's own code (``evacuation``, ``tools.rotation``,
``edge_function.origin_request.out_of_rotation``), given the simulated clients of
``simulation.aws``. What is modelled, each from AWS's documented contract:

- **EventBridge Scheduler**: a ``rate(1 minute)`` schedule per vantage Region, created at a random
  second, invoking "with 60 second precision" ("it will invoke the target API between 1:00:00 and
  1:00:59": EventBridge Scheduler user guide, "Schedule types in EventBridge Scheduler",
  https://docs.aws.amazon.com/scheduler/latest/UserGuide/schedule-types.html), uniformly within the
  minute (where within it is not documented: uniform is an assumption; the schedules below also
  draw the extremes).
- **Lambda's asynchronous invocation** ("EventBridge Scheduler invokes your Lambda function
  asynchronously": Lambda developer guide, "Invoke a Lambda function on a schedule",
  https://docs.aws.amazon.com/lambda/latest/dg/with-eventbridge-scheduler.html): an event may
  arrive twice ("it's possible for it to receive the same event from Lambda multiple times"), late
  (held in the queue up to its maximum age, 60 s here), or never ("events might also be deleted
  from the queue without being sent"): "How Lambda handles errors and retries with asynchronous
  invocation", https://docs.aws.amazon.com/lambda/latest/dg/invocation-async-error-handling.html.
  An invocation is stopped at the function's timeout.
- **Lambda@Edge containers**: each reads its own Region's replica of the table when a request
  comes and its last read is at least ``refresh`` old (15 s), keeps what it read, keeps the last
  state when a read fails (a new container: nothing, plus what the deployed code excludes by
  itself), and is replaced now and then (a cold start).
- **CloudFront Functions**: read the store at every request; an edge location sees a write once
  it has propagated (a parameter: AWS documents no propagation time).
"""

from __future__ import annotations

import argparse
import bisect
import contextlib
import dataclasses
import functools
import inspect
import json
import random
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from core import evacuation as evacuation_constants
from core.engine import Engine
from core.evacuation import EVACUATION_QUORUM, evacuator_document
from edge_function import origin_request
from evacuation import evacuator as evacuator_module
from evacuation.evacuator import Clients, Evacuator, Settings
from evacuation.state import ROTATION_KEY, StateTable, drained_item
from evacuation.state import KeyValueStore as StoreClient
from routing.artifact import DEFAULT_STATE_REFRESH_SECONDS
from settings.parser import Settings as StackSettings
from settings.parser import parse_settings
from settings.stack_file import settings_from_stack_file
from simulation.aws import (
    Answer,
    GlobalTable,
    KeyValueStore,
    Metrics,
    ProbeS3,
    Topic,
)
from simulation.edges import deploy_time_exclusions
from simulation.kernel import Kernel, Killed, SimulatedExecutor

# The simulated clock starts here (seconds since the epoch, as the code reads time).
EPOCH = 1_800_000_000.0
ACCOUNT = "123456789012"
MINUTE = 60.0
# Lambda's event queue keeps an event at most this long: the program sets 60 s, the API's least
# (Lambda developer guide, "Configuring error handling for asynchronous invocation").
MAXIMUM_EVENT_AGE_SECONDS = 60.0
# AWS documents no propagation time for a key value store ("CloudFront KeyValueStore"; its
# ``meta()`` says only when the store was last updated) and no public measurement was found. This
# conservative figure is an assumption, not a measurement: the reaction times of CloudFront
# Functions are reported with it added, and ``./dev simulate --kvs-propagation-seconds`` changes it.
DEFAULT_KVS_PROPAGATION_SECONDS = 60.0
# DynamoDB global tables replicate "typically within a second" and state no bound: most writes
# here arrive in 0.2-1 s, one in a hundred in up to 5 s (an assumption, for a tail).
REPLICATION_SECONDS = (0.2, 1.0)
REPLICATION_TAIL = (0.01, 5.0)
# How often a Lambda@Edge container is replaced, on average (cold starts).
CONTAINER_LIFETIME_SECONDS = 900.0
CONTAINERS_PER_REGION = 2


# The edge's own reading of the state's items (its module is untyped: it ships as it is).
edge_out_of_rotation: Callable[[Sequence[Mapping[str, Any]]], frozenset[str]] = (
    origin_request.out_of_rotation
)


class Fault(StrEnum):
    DOWN = "down"  # the Regional endpoint refuses connections
    UNREACHABLE = "unreachable"  # connection attempts time out
    STALLED = "stalled"  # connections accepted, no answer
    SLOW_DOWN = "503"  # 503 Slow Down
    INTERNAL_ERROR = "500"  # 500 Internal Error
    FLAPPING = "flapping"  # down and up in turn
    HEALTH_MISSING = "health object deleted"  # 403 to the probe (no s3:ListBucket)
    DENIED = "probe denied"  # a bucket policy or an SCP denying the probe: 403
    CANNOT_PROBE = "cannot probe"  # the evacuator cannot sign its probe (no credentials)


# What CloudFront fails over on, and the evacuator must act on: no answer, or a 5xx.
GENUINE = frozenset(
    {
        Fault.DOWN,
        Fault.UNREACHABLE,
        Fault.STALLED,
        Fault.SLOW_DOWN,
        Fault.INTERNAL_ERROR,
        Fault.FLAPPING,
    }
)
_ANSWERS = {
    Fault.DOWN: Answer.REFUSED,
    Fault.UNREACHABLE: Answer.CONNECT_TIMEOUT,
    Fault.STALLED: Answer.STALLED,
    Fault.SLOW_DOWN: Answer.SLOW_DOWN,
    Fault.INTERNAL_ERROR: Answer.INTERNAL_ERROR,
    Fault.HEALTH_MISSING: Answer.FORBIDDEN,
    Fault.DENIED: Answer.FORBIDDEN,
}


@dataclass(frozen=True)
class FaultWindow:
    """``origin`` has ``kind`` from ``start`` to ``end`` (seconds from the simulation's start),
    seen from every vantage Region, or only from ``vantages`` (a network partition)."""

    origin: str
    kind: Fault
    start: float
    end: float
    vantages: frozenset[str] | None = None
    # Flapping: down for the first half of each period, up for the second.
    period: float = 60.0

    def covers(self, vantage: str | None, at: float) -> bool:
        if not self.start <= at < self.end:
            return False
        return self.vantages is None or vantage is None or vantage in self.vantages

    def failing(self, at: float) -> bool:
        """Whether the fault fails a request at ``at`` (flapping: only in its down half)."""
        if self.kind is not Fault.FLAPPING:
            return True
        return (at - self.start) % self.period < self.period / 2


@dataclass(frozen=True)
class OperatorAction:
    """A person at a break-glass command: ``evacuate``, ``restore`` or ``hand-back``."""

    at: float
    command: str
    origin: str


@dataclass(frozen=True)
class Scenario:
    """What happens to one stack, in seconds from the simulation's start."""

    stack: str = "prod"
    duration: float = 1200.0
    seed: int = 0
    drained: tuple[str, ...] = ()
    faults: tuple[FaultWindow, ...] = ()
    # Each probe is lost (times out) with this probability, whatever the origin's state.
    probe_loss: float = 0.0
    # Intervals when the table's home Region does not answer.
    home_outages: tuple[tuple[float, float], ...] = ()
    operators: tuple[OperatorAction, ...] = ()
    # Per scheduled invocation: delivered twice, held in the queue, lost.
    duplicate_rate: float = 0.0
    late_rate: float = 0.0
    drop_rate: float = 0.0
    # Per vantage Region: its schedule invokes at the first (or last) second of every minute.
    scheduler_extremes: Mapping[str, str] = field(default_factory=dict)
    # A Lambda@Edge container's read of the state fails with this probability.
    edge_read_failure: float = 0.0
    kvs_propagation: float = DEFAULT_KVS_PROPAGATION_SECONDS
    # The store's API failing (5xx) in these intervals.
    kvs_outages: tuple[tuple[float, float], ...] = ()
    # The function's timeout cuts invocations this often (a slow start, a stuck call).
    timeout_rate: float = 0.0


@dataclass(frozen=True)
class Rotation:
    """The rotation items of one replica, read by owner."""

    drained: frozenset[str]
    checks: frozenset[str]
    operator_out: frozenset[str]
    operator_in: frozenset[str]
    # What the edge's own reading of the items gives (``out_of_rotation``), or None if it fails.
    out: frozenset[str] | None


def read_rotation(items: Sequence[Mapping[str, Any]]) -> Rotation:
    """The ``rotation`` items as this checker reads them, whatever their layout's version: the
    checks' evacuations (entries of ``evacuated`` by the checks), an operator's decisions (entries
    of ``evacuated`` by anyone else; ``operator#<Region>`` items, out or in)."""
    drained: set[str] = set()
    checks: set[str] = set()
    operator_out: set[str] = set()
    operator_in: set[str] = set()
    for item in items:
        owner = item["sk"]["S"]
        if owner == "drained":
            drained.update(entry["S"] for entry in item["regions"]["L"])
        elif owner == "evacuated":
            for region, record in item.get("regions", {}).get("M", {}).items():
                by = record["M"].get("by", {}).get("S", "checks")
                (checks if by == "checks" else operator_out).add(region)
        elif owner.startswith("operator#"):
            region = item["region"]["S"]
            (operator_out if item["state"]["S"] == "out" else operator_in).add(region)
    try:
        out: frozenset[str] | None = edge_out_of_rotation(items)
    except Exception:  # noqa: BLE001 - an edge that cannot read the items fails open
        out = None
    return Rotation(
        frozenset(drained),
        frozenset(checks),
        frozenset(operator_out),
        frozenset(operator_in),
        out,
    )


@dataclass
class Invocation:
    vantage: str
    scheduled: float
    started: float
    duplicate: bool = False
    killed: bool = False
    error: str | None = None


@dataclass
class OperatorOutcome:
    action: OperatorAction
    started: float
    finished: float | None = None
    ok: bool = False
    message: str = ""


@dataclass
class Trace:
    """What happened, for the invariants and the figures."""

    # Every change of the rotation items, by replica: Region → [(time, Rotation)].
    rotations: dict[str, list[tuple[float, Rotation]]] = field(default_factory=dict)
    invocations: list[Invocation] = field(default_factory=list)
    operators: list[OperatorOutcome] = field(default_factory=list)
    logs: list[tuple[float, str]] = field(default_factory=list)
    # Lambda@Edge: (time, Region, container id, origins it routes to).
    container_routes: list[tuple[float, str, int, frozenset[str]]] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)


class World:
    def __init__(self, scenario: Scenario, settings: StackSettings | None = None) -> None:
        self.scenario = scenario
        self.settings = settings or stack_settings(scenario.stack, tuple(scenario.drained))
        layout = self.settings.routing_state
        if layout is None or not layout.vantages:
            raise ValueError(f"stack {self.settings.stack} has no evacuator to simulate")
        self.layout = layout
        self.rng = random.Random(scenario.seed)
        self.kernel = Kernel(EPOCH)
        self.origins = self.settings.origins
        self.vantages = layout.vantages
        self.buckets = {origin: f"geo-proximity-sim-{origin}" for origin in self.origins}
        self.table = GlobalTable(
            self.kernel,
            layout.table_name,
            layout.table_regions,
            replication_delay=self._replication_delay,
            answers=self._region_answers,
        )
        self.kvs = (
            KeyValueStore(
                self.kernel,
                f"arn:aws:cloudfront::{ACCOUNT}:key-value-store/sim",
                lambda time: not _within(scenario.kvs_outages, time - EPOCH),
            )
            if layout.key_value_store
            else None
        )
        self.topic = Topic(self.kernel)
        self.metrics = Metrics(self.kernel)
        self.trace = Trace(rotations={region: [] for region in layout.table_regions})
        self.excluded = deploy_time_exclusions(self.settings, self.buckets)
        self.edges_from = 0.0
        self.ended = 0.0
        # The origins' faults; a driver may add and end some during the run (incidents).
        self.faults: list[FaultWindow] = list(scenario.faults)

    # The world's state.

    def now(self) -> float:
        """Seconds since the simulation's start."""
        return self.kernel.now - EPOCH

    def _region_answers(self, region: str, time: float) -> bool:
        return region != self.table.home or not _within(self.scenario.home_outages, time - EPOCH)

    def _replication_delay(self) -> float:
        if self.rng.random() < REPLICATION_TAIL[0]:
            return self.rng.uniform(REPLICATION_SECONDS[1], REPLICATION_TAIL[1])
        return self.rng.uniform(*REPLICATION_SECONDS)

    def fault_of(self, origin: str, vantage: str | None, at: float) -> FaultWindow | None:
        for fault in self.faults:
            if fault.origin == origin and fault.covers(vantage, at):
                return fault
        return None

    def genuinely_failing(self, origin: str, vantage: str | None, at: float) -> bool:
        fault = self.fault_of(origin, vantage, at)
        return fault is not None and fault.kind in GENUINE and fault.failing(at)

    def probe_answer(self, vantage: str, origin: str) -> str:
        at = self.now()
        fault = self.fault_of(origin, vantage, at)
        if fault is not None:
            if fault.kind is Fault.FLAPPING:
                if fault.failing(at):
                    return Answer.REFUSED
            elif fault.kind is Fault.CANNOT_PROBE:
                return Answer.NO_CREDENTIALS
            else:
                return _ANSWERS[fault.kind]
        if self.scenario.probe_loss and self.rng.random() < self.scenario.probe_loss:
            # A lost packet: the connection attempt, or the answer, never arrives.
            return Answer.CONNECT_TIMEOUT if self.rng.random() < 0.5 else Answer.STALLED
        return Answer.OK

    def _record_rotation(self, region: str, at: float) -> None:
        rotation = read_rotation(self.table.history[region][-1][1])
        timeline = self.trace.rotations[region]
        if not timeline or timeline[-1][1] != rotation:
            timeline.append((at - EPOCH, rotation))

    # Running.

    def run(self) -> Trace:
        """The whole scenario, then the edge's view of it."""
        return self.run_while(lambda: True, until=self.scenario.duration)

    def run_while(
        self, going: Callable[[], bool], *, until: float | None = None, step: float = 60.0
    ) -> Trace:
        """Run while ``going()`` (asked every ``step``) and before ``until``."""
        end = self.scenario.duration if until is None else until
        with patched_project(self):
            self._deploy()
            self._schedule_invocations()
            self._schedule_operators()
            try:
                at = 0.0
                while at < end and going():
                    at = min(end, at + step)
                    self.kernel.run_until(EPOCH + at)
            finally:
                self.kernel.stop()
        self.table.settle()
        for name, error in self.kernel.errors:
            self.trace.errors.append(f"{name}: {type(error).__name__}: {error}")
        self.ended = self.now()
        if self.settings.engine is Engine.LAMBDA_EDGE and until is not None:
            self.trace.container_routes = list(
                self.containers(max(self.edges_from, 2 * REPLICATION_TAIL[1]), self.ended, 0)
            )
        return self.trace

    def _deploy(self) -> None:
        """``pulumi up``: the drained item in the home Region, then (with a store) the sync."""
        self.table.on_change = self._record_rotation
        self.table.put_direct(self.table.home, drained_item(self.settings.routing.drained))
        self.edges_from = 0.0
        if self.kvs is not None:
            vantage = self.vantages[0]
            sync = self.kernel.spawn(
                f"sync-{vantage}",
                lambda: self._evacuator(vantage, Invocation(vantage, 0.0, 0.0)).sync(),
                at=EPOCH + 1.0,
                timeout=evacuation_constants.EVACUATOR_TIMEOUT_SECONDS,
            )
            # The function is published, and reads the store, only once the sync has written
            # it (the program orders it so), and then everywhere only once it has propagated.
            self.edges_from = 1.0 + 5.0 + self.scenario.kvs_propagation
            del sync

    def _schedule_invocations(self) -> None:
        """Each vantage Region's schedule, created at a random second: a minute's invocations are
        worked out when its nominal time comes."""
        for vantage in self.vantages:
            created = self.rng.uniform(0, MINUTE)
            self.kernel.at(EPOCH + created, self._minute_target(vantage, created, 0))

    def _minute_target(self, vantage: str, created: float, minute: int) -> Callable[[], None]:
        def schedule() -> None:
            nominal = created + minute * MINUTE
            if nominal >= self.scenario.duration:
                return
            self._invocations_of(vantage, nominal, minute)
            self.kernel.at(
                EPOCH + nominal + MINUTE, self._minute_target(vantage, created, minute + 1)
            )

        return schedule

    def _invocations_of(self, vantage: str, nominal: float, minute: int) -> None:
        """The invocations EventBridge Scheduler and Lambda make of one nominal minute."""
        scenario = self.scenario
        timeout = float(evacuation_constants.EVACUATOR_TIMEOUT_SECONDS)
        extreme = scenario.scheduler_extremes.get(vantage)
        if extreme == "alternate":
            # Early one minute, late the next: the widest gaps the contract allows.
            extreme = "first" if minute % 2 else "last"
        precision = {"first": 0.0, "last": MINUTE - 0.001}.get(
            extreme or "", self.rng.uniform(0, MINUTE)
        )
        deliveries = [] if self.rng.random() < scenario.drop_rate else [0.0]
        if self.rng.random() < scenario.duplicate_rate:
            deliveries.append(self.rng.uniform(0, MAXIMUM_EVENT_AGE_SECONDS))
        for number, extra in enumerate(deliveries):
            late = (
                self.rng.uniform(0, MAXIMUM_EVENT_AGE_SECONDS)
                if self.rng.random() < scenario.late_rate
                else 0.0
            )
            # The async queue's own delay, and the function's start.
            start = nominal + precision + extra + late + self.rng.uniform(0.05, 0.5)
            cut = timeout
            if self.rng.random() < scenario.timeout_rate:
                cut = self.rng.uniform(1.0, timeout)
            invocation = Invocation(vantage, nominal, start, duplicate=number > 0)
            self.trace.invocations.append(invocation)
            self.kernel.spawn(
                f"evacuator-{vantage}-{minute}-{number}",
                self._invoke_target(invocation, cut),
                at=EPOCH + start,
                timeout=cut,
            )

    def _invoke_target(self, invocation: Invocation, timeout: float) -> Callable[[], None]:
        def target() -> None:
            evacuator = self._evacuator(invocation.vantage, invocation)
            try:
                run_evacuator(evacuator, timeout)
            except Killed:
                invocation.killed = True
                raise
            except Exception as error:  # noqa: BLE001 - a failed invocation is reported
                invocation.error = f"{type(error).__name__}: {error}"

        return target

    def _evacuator(self, vantage: str, invocation: Invocation) -> Evacuator:
        document = evacuator_settings_document(self, vantage)
        settings = Settings.from_document(document)
        s3 = {
            origin: ProbeS3(
                self.kernel,
                vantage,
                origin,
                self.buckets[origin],
                ACCOUNT,
                settings.connect_timeout,
                settings.read_timeout,
                answer=functools.partial(self.probe_answer, vantage, origin),
            )
            for origin in self.origins
        }
        clients = Clients(
            s3=s3,
            dynamodb=self.table.client(
                vantage, vantage if vantage in self.table.regions else self.table.home
            ),
            kvs=self.kvs,
            sns=self.topic,
            cloudwatch=self.metrics,
            dynamodb_home=self.table.client(vantage, self.table.home),
        )

        def log(line: str) -> None:
            self.trace.logs.append((self.now(), line))

        return Evacuator(
            settings, clients, clock=self.kernel.clock, sleep=self.kernel.sleep, log=log
        )

    def _schedule_operators(self) -> None:
        for number, action in enumerate(self.scenario.operators):
            outcome = OperatorOutcome(action, action.at)
            self.trace.operators.append(outcome)
            self.kernel.spawn(
                f"operator-{number}",
                self._operator_target(outcome),
                at=EPOCH + action.at,
                # A person waits no more than this for a command.
                timeout=120.0,
            )

    def _operator_target(self, outcome: OperatorOutcome) -> Callable[[], None]:
        def target() -> None:
            outcome.ok, outcome.message = run_operator(self, outcome.action)
            outcome.finished = self.now()

        return target

    # The edge, worked out after the run from what each replica held when (it only reads).

    def containers(
        self, start: float, end: float, seed: int
    ) -> Iterator[tuple[float, str, int, frozenset[str]]]:
        """Every Lambda@Edge container's reads from ``start`` to ``end``, in time order: (time,
        Region, container, the origins it may route to after the read). Busy containers: each
        reads whenever its refresh is due, keeps what it had when a read fails (a new one:
        nothing), and is replaced now and then (a cold start)."""
        rng = random.Random(f"edges-{self.scenario.seed}-{seed}")
        reads: list[tuple[float, str, int, frozenset[str]]] = []
        number = 0
        for region in self.table.regions:
            history = self.table.history[region]
            times = [at - EPOCH for at, _ in history]
            for _ in range(CONTAINERS_PER_REGION):
                started = start
                while started < end:
                    ends = started + rng.expovariate(1 / CONTAINER_LIFETIME_SECONDS)
                    reads += self._container(
                        rng, region, number, started, min(ends, end), history, times
                    )
                    number += 1
                    started = ends
        return iter(sorted(reads))

    def _container(
        self,
        rng: random.Random,
        region: str,
        number: int,
        started: float,
        ends: float,
        history: list[tuple[float, list[dict[str, Any]]]],
        times: list[float],
    ) -> list[tuple[float, str, int, frozenset[str]]]:
        out: frozenset[str] | None = None
        reads = []
        at = started
        while at < ends:
            if rng.random() >= self.scenario.edge_read_failure:
                index = bisect.bisect_right(times, at) - 1
                # An unreadable state keeps what it had.
                with contextlib.suppress(Exception):
                    out = edge_out_of_rotation(history[index][1] if index >= 0 else [])
            reads.append((at, region, number, self.routes(out)))
            at += DEFAULT_STATE_REFRESH_SECONDS
        return reads

    def routes(self, state_out: frozenset[str] | None) -> frozenset[str]:
        """The origins an edge may send a request to when it read ``state_out`` (None: nothing,
        or nothing it could use), with what its deployed code excludes by itself: a state that
        would leave no origin in rotation is not used."""
        out = set(self.excluded) | set(state_out or ())
        if out >= set(self.origins):
            out = set(self.excluded)
            if out >= set(self.origins):
                out = set()
        return frozenset(self.origins) - out

    def function_routes(self, at: float) -> frozenset[str]:
        """The origins a CloudFront function may send a request to at ``at``: what the store held
        a propagation ago, read as the function reads it."""
        if self.kvs is None:
            return frozenset(self.origins)
        value = self.kvs.seen_at(ROTATION_KEY, EPOCH + at, self.scenario.kvs_propagation)
        return self.routes(_function_out(value))


def _function_out(value: str | None) -> frozenset[str] | None:
    """The function's reading of the value (router.js): ``{"out": [...]}``, anything else read
    as nothing out."""
    if value is None:
        return None
    try:
        document = json.loads(value)
    except ValueError:
        return None
    out = document.get("out") if isinstance(document, dict) else None
    return frozenset(str(region) for region in out) if isinstance(out, list) else None


def _within(intervals: Sequence[tuple[float, float]], at: float) -> bool:
    return any(start <= at < end for start, end in intervals)


@functools.cache
def stack_settings(stack: str, drained: tuple[str, ...] = ()) -> StackSettings:
    """A shipped stack's settings, with ``drained`` drained."""
    settings = settings_from_stack_file(stack)
    if not drained:
        return settings
    values = {**settings.values, "drained": json.dumps(sorted(drained))}
    return parse_settings(values, stack=settings.stack)


# The project's code, as this simulation calls it: one place that knows its entry points.


def _accepted(function: Callable[..., Any], candidates: Mapping[str, Any]) -> dict[str, Any]:
    parameters = inspect.signature(function).parameters
    return {name: value for name, value in candidates.items() if name in parameters}


def evacuator_settings_document(world: World, vantage: str) -> dict[str, Any]:
    """The settings document Pulumi gives ``vantage``'s function, built by the program's own
    ``evacuator_document`` from the stack's settings."""
    return settings_document(
        world.settings,
        vantage,
        buckets=world.buckets,
        table=world.table.name,
        table_region=world.table.home,
        kvs_arn=world.kvs.arn if world.kvs is not None else None,
    )


def settings_document(
    settings: StackSettings,
    vantage: str,
    *,
    buckets: Mapping[str, str],
    table: str,
    table_region: str,
    kvs_arn: str | None,
) -> dict[str, Any]:
    constants = evacuation_constants
    candidates: dict[str, Any] = {
        "stack": settings.stack,
        "vantage": vantage,
        "vantages": settings.evacuation_vantages,
        "buckets": buckets,
        "table": table,
        "table_region": table_region,
        "kvs_arn": kvs_arn,
        "topic_arn": f"arn:aws:sns:us-east-1:{ACCOUNT}:alarms",
        "account": ACCOUNT,
        "failures": settings.evacuation_failures,
        "recoveries": settings.evacuation_recoveries,
        "quorum": EVACUATION_QUORUM,
        "max_out": getattr(settings, "evacuation_max_out", None)
        or getattr(constants, "default_max_out", lambda count: None)(len(settings.origins)),
        "fresh_seconds": getattr(constants, "EVACUATION_FRESH_SECONDS", None),
        "probe_seconds": constants.EVACUATION_PROBE_SECONDS,
        "rounds": getattr(constants, "EVACUATION_ROUNDS", None),
        "invocation_seconds": getattr(constants, "EVACUATION_INVOCATION_SECONDS", None),
        "connect_timeout": settings.origin_connection_timeout,
        "read_timeout": constants.EVACUATION_READ_TIMEOUT_SECONDS,
    }
    return evacuator_document(**_accepted(evacuator_document, candidates))


def evacuator_settings(settings: StackSettings) -> Settings:
    """A stack's evacuator settings (its first vantage Region's), for what needs only its rules."""
    layout = settings.routing_state
    assert layout is not None
    document = settings_document(
        settings,
        settings.evacuation_vantages[0],
        buckets={origin: f"geo-proximity-sim-{origin}" for origin in settings.origins},
        table=layout.table_name,
        table_region=layout.table_region or "",
        kvs_arn=None,
    )
    return Settings.from_document(document)


def run_evacuator(evacuator: Evacuator, timeout: float) -> None:
    """What the Lambda handler does with a scheduled event: the rounds of one invocation, told
    how long the function may run."""
    run: Callable[..., object] = evacuator.run
    if "remaining_seconds" in inspect.signature(run).parameters:
        run(remaining_seconds=timeout)
    else:
        run()


def run_operator(world: World, action: OperatorAction) -> tuple[bool, str]:
    """A break-glass command, the tool's own code with the world's clients."""
    from tools import rotation
    from tools.cli import ToolError

    command = {
        "evacuate": rotation.evacuate,
        "restore": rotation.restore,
        "hand-back": rotation.restore,
    }
    options = argparse.Namespace(
        stack=world.settings.stack,
        outputs=None,
        table=world.table.name,
        table_region=world.table.home,
        kvs_arn=world.kvs.arn if world.kvs is not None else None,
        endpoint_url=[],
        region=action.origin,
        reason=f"simulated operator at {action.at:.0f} s",
        hand_back=action.command == "hand-back",
    )
    if action.command == "hand-back" and not _has_hand_back(rotation):
        return False, "this version has no hand-back"
    try:
        command[action.command](options)
    except ToolError as error:
        return False, str(error)
    return True, ""


def _has_hand_back(rotation: Any) -> bool:
    return "hand_back" in inspect.getsource(rotation.restore)


@contextlib.contextmanager
def patched_project(world: World) -> Iterator[None]:
    """The project's seams pointed at the world for the run: the probes' thread pool runs on the
    kernel's clock, and the break-glass commands reach the world's stores as its operator."""
    from tools import rotation

    def connect(options: argparse.Namespace) -> Any:
        store_fields = {
            "engine": world.settings.engine,
            "table": world.table.name,
            "table_region": world.table.home,
            "kvs_arn": world.kvs.arn if world.kvs is not None else None,
            "state_key": world.settings.state_key,
        }
        store = rotation.Store(**_fields(rotation.Store, store_fields))
        kvs = StoreClient(world.kvs, world.kvs.arn) if world.kvs is not None else None
        target_fields = {
            "settings": world.settings,
            "store": store,
            "table": StateTable(world.table.client("operator", world.table.home), world.table.name),
            "kvs": kvs,
            "endpoints": {},
            "session": None,
        }
        return rotation.Target(**_fields(rotation.Target, target_fields))

    # The seams, by name: the probes' pool, and the commands' clients, identity and output.
    patches: list[tuple[Any, str, Any]] = [
        (evacuator_module, "ThreadPoolExecutor", SimulatedExecutor),
        (rotation, "connect", connect),
        (rotation, "identity", lambda target: f"arn:aws:iam::{ACCOUNT}:user/operator"),
        (rotation, "print", lambda *args, **kwargs: None),
    ]
    saved = [(module, name, module.__dict__.get(name)) for module, name, _ in patches]
    SimulatedExecutor.kernel = world.kernel
    for module, name, value in patches:
        setattr(module, name, value)
    try:
        yield
    finally:
        for module, name, value in saved:
            if value is None:
                delattr(module, name)
            else:
                setattr(module, name, value)
        SimulatedExecutor.kernel = None


def _fields(cls: Any, candidates: Mapping[str, Any]) -> dict[str, Any]:
    names = {item.name for item in dataclasses.fields(cls)}
    return {name: value for name, value in candidates.items() if name in names}
