"""One vantage Region's evacuator: probe every origin, count what it saw, act on what the vantage
Regions agree on, within the limits, and keep the key value store up to the table.

An invocation runs a round at every tick (``probe_seconds`` on the epoch's grid) for
``invocation_seconds``, longer than EventBridge Scheduler's widest gap between two invocations
("60 second precision": two may start nearly two minutes apart), so a vantage Region probes at every
tick, whatever the scheduler's phase; two invocations overlap most of the time, and a tick is
counted once.

A round: probe every origin at once (``evacuation.probe``); count the results in this vantage
Region's view in the table's home Region, conditionally on the tick last counted there (an
invocation that finds the tick counted already, a duplicate or an overlap, stops: it changes
nothing); read every view and the routing state and decide (``evacuation.decide``); write the
checks' item if the decision changes it, conditionally on its version, and say so on the
monitoring topic; with CloudFront Functions, bring the key value store up to the table
(``evacuation.state.publish``).

Every decision is made in the home Region: a conditional write holds within one Region only. While
the home Region does not answer, the checks change nothing (the edge keeps reading the replicas,
and CloudFront's origin groups still fail over) and say so (the ``ChecksHeld`` metric).
"""

from __future__ import annotations

import contextlib
import json
import math
import time
import urllib.parse
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from botocore.exceptions import (
    ClientError,
    ConnectionClosedError,
    ConnectTimeoutError,
    EndpointConnectionError,
    ReadTimeoutError,
)

from evacuation.budget import RequestLimits, round_paths, worst_first_round_seconds
from evacuation.decide import BY_CHECKS, Decision, Evacuation, Rules, decide
from evacuation.probe import ProbeResult, Verdict, probe
from evacuation.state import (
    ATTEMPTS,
    KeyValueStore,
    Publication,
    RoutingState,
    StaleStateError,
    StateTable,
    move_operator_entries,
    publish,
)

# The object every origin bucket holds for the checks (written by Pulumi into each bucket).
HEALTH_KEY = ".well-known/geo-proximity/health"
# The metrics the alarms watch (namespace, names).
METRIC_NAMESPACE = "GeoProximity"
METRIC_NAME = "OriginsInRotation"
HEALTH_METRIC = "HealthObjectUnreadable"
HELD_METRIC = "ChecksHeld"


@dataclass(frozen=True)
class Settings:
    """What an evacuator needs to know, as Pulumi passes it (``from_document``)."""

    stack: str
    vantage: str
    vantages: tuple[str, ...]
    # Origin Region → its bucket.
    buckets: Mapping[str, str]
    failures: int
    recoveries: int
    quorum: int
    probe_seconds: float
    connect_timeout: float
    read_timeout: float
    table: str
    # The most origins the checks hold out at once.
    max_out: int = 1
    # How long an invocation runs rounds.
    invocation_seconds: float = 120.0
    # How long a view counts after its last probe, and the widest gap a run survives.
    fresh_seconds: float = 90.0
    # The table's home Region: where every vantage Region reads and writes.
    table_region: str | None = None
    kvs_arn: str | None = None
    topic_arn: str | None = None
    # The account that must own every bucket (``ExpectedBucketOwner``).
    account: str | None = None
    health_key: str = HEALTH_KEY

    @property
    def rules(self) -> Rules:
        return Rules(
            failures=self.failures,
            recoveries=self.recoveries,
            quorum=self.quorum,
            max_out=self.max_out,
            fresh_ticks=math.ceil(self.fresh_seconds / self.probe_seconds),
        )

    @property
    def probe_limits(self) -> RequestLimits:
        """A probe's limits: the settings' timeouts, one attempt (a failed probe is an answer, not
        something to hide)."""
        return RequestLimits(self.connect_timeout, self.read_timeout, attempts=1)

    @property
    def round_seconds(self) -> float:
        """The longest a round and the run's metrics take, every request at its limits
        (``evacuation.budget``): a round is started only with this much of the function's time
        left."""
        paths = round_paths(kvs=self.kvs_arn is not None, topic=self.topic_arn is not None)
        return worst_first_round_seconds(self.probe_limits, paths)

    @classmethod
    def from_document(cls, document: Mapping[str, Any]) -> Settings:
        return cls(
            stack=str(document["stack"]),
            vantage=str(document["vantage"]),
            vantages=tuple(document["vantages"]),
            buckets=dict(document["buckets"]),
            failures=int(document["failures"]),
            recoveries=int(document["recoveries"]),
            quorum=int(document["quorum"]),
            max_out=int(document["maxOut"]),
            probe_seconds=float(document["probeSeconds"]),
            invocation_seconds=float(document["invocationSeconds"]),
            fresh_seconds=float(document["freshSeconds"]),
            connect_timeout=float(document["connectTimeout"]),
            read_timeout=float(document["readTimeout"]),
            table=str(document["table"]),
            table_region=document.get("tableRegion"),
            kvs_arn=document.get("kvsArn"),
            topic_arn=document.get("topicArn"),
            account=document.get("account"),
        )


@dataclass
class Clients:
    """The AWS clients an evacuator uses (boto3, or the sandbox's emulators)."""

    # Origin Region → an S3 client for that Region, with the probe's timeouts and no retries.
    s3: Mapping[str, Any]
    # The state table in this vantage Region, and in the table's home Region (None: the same).
    dynamodb: Any
    kvs: Any | None = None
    sns: Any | None = None
    cloudwatch: Any | None = None
    dynamodb_home: Any | None = None


# What botocore raises when an endpoint gave no answer (each names the endpoint's URL).
_NO_ANSWER = (EndpointConnectionError, ConnectTimeoutError, ReadTimeoutError, ConnectionClosedError)


def unreachable(error: Exception, table: Any) -> bool:
    """Whether ``error`` says that the DynamoDB endpoint of ``table`` (a client) did not answer (no
    connection, a time-out, a 5xx), as opposed to an answer such as a refused condition, or to
    another service failing in the same piece of work: a key value store's 5xx or time-out says
    nothing of the table. Told apart by service: a ClientError by its operation, which only one of
    the services has; the others by the endpoint they name. A client that does not say what it
    is for (no ``meta``: a stand-in) is judged by the error alone."""
    meta = getattr(table, "meta", None)
    if isinstance(error, ClientError):
        status = int(error.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0))
        operations: list[str] = (
            meta.service_model.operation_names if meta else [error.operation_name]
        )
        return error.operation_name in operations and status >= 500
    if isinstance(error, _NO_ANSWER):
        if meta is None:
            return True
        endpoint = urllib.parse.urlsplit(str(error.kwargs.get("endpoint_url", ""))).netloc
        return endpoint == urllib.parse.urlsplit(str(meta.endpoint_url)).netloc
    return False


@dataclass
class Round:
    """What one round saw and did."""

    tick: int
    results: dict[str, ProbeResult]
    decision: Decision = field(default_factory=Decision)
    state: RoutingState = field(default_factory=RoutingState)
    published: bool = False
    # Another invocation of this vantage Region counted this tick already: nothing done.
    duplicate: bool = False
    # The table's home Region did not answer: nothing decided.
    home_unreachable: bool = False

    @property
    def healthy(self) -> dict[str, bool]:
        """Origin → whether its probe found it serving (a probe that could not tell: True)."""
        return {origin: result.healthy is not False for origin, result in self.results.items()}

    @property
    def details(self) -> dict[str, str]:
        return {origin: result.detail for origin, result in self.results.items()}

    @property
    def held(self) -> int:
        """How many origins the checks hold in rotation that they would take out (1 when nothing
        could be decided)."""
        return max(len(self.decision.held), 1 if self.home_unreachable else 0)


class Evacuator:
    def __init__(
        self,
        settings: Settings,
        clients: Clients,
        *,
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], None] = time.sleep,
        log: Callable[[str], None] = print,
    ) -> None:
        self.settings = settings
        self.clients = clients
        # Every read and write on the table's home replica: a conditional write holds "against
        # the version of the item in the Region" (DynamoDB global tables), so one Region decides.
        self.table = StateTable(clients.dynamodb_home or clients.dynamodb, settings.table)
        self.kvs = KeyValueStore(clients.kvs, settings.kvs_arn) if settings.kvs_arn else None
        self.clock = clock
        self.sleep = sleep
        self.log = log
        # Origin → the last unreadable answer told in this invocation (one log line per change).
        self._told: dict[str, str] = {}

    def tick(self, at: float | None = None) -> int:
        """The tick ``at`` (default now) falls in."""
        return math.floor((self.clock() if at is None else at) / self.settings.probe_seconds)

    def run(self, remaining_seconds: float | None = None) -> list[Round]:
        """A scheduled invocation: a round at every tick for ``invocation_seconds``, none started
        that could not finish within ``remaining_seconds`` (what Lambda says is left)."""
        settings = self.settings
        started = self.clock()
        last_start = started + settings.invocation_seconds
        if remaining_seconds is not None:
            last_start = min(last_start, started + remaining_seconds - settings.round_seconds)
        rounds: list[Round] = []
        tick = math.ceil(started / settings.probe_seconds)
        while tick * settings.probe_seconds <= last_start:
            self.sleep(max(0.0, tick * settings.probe_seconds - self.clock()))
            rounds.append(self.round(tick))
            tick = max(tick + 1, math.ceil(self.clock() / settings.probe_seconds))
        self.put_metrics(rounds)
        return rounds

    def probe_all(self) -> dict[str, ProbeResult]:
        origins = list(self.settings.buckets)
        settings = self.settings

        def one(origin: str) -> ProbeResult:
            return probe(
                self.clients.s3[origin],
                settings.buckets[origin],
                settings.health_key,
                settings.account,
            )

        with ThreadPoolExecutor(max_workers=len(origins)) as pool:
            return dict(zip(origins, pool.map(one, origins), strict=True))

    def round(self, tick: int | None = None) -> Round:
        """One round, counted at ``tick`` (default: the tick it starts in)."""
        tick = self.tick() if tick is None else tick
        report = Round(tick, self.probe_all())
        self._tell(report.results)
        try:
            if not self._record(tick, report.results):
                report.duplicate = True
                return report
            report.decision, report.state = self._act(tick)
        except Exception as error:
            if not unreachable(error, self.table.client):
                raise
            report.home_unreachable = True
            self.log(
                f"{self.settings.vantage}: the state table's home Region did not answer ({error}); "
                "nothing decided this round"
            )
            return report
        if self.kvs is not None:
            # A store that fails (a 5xx of its own) is not the table failing: the decision
            # stands, and the next round, of any vantage Region, publishes it.
            try:
                report.published = self._publish() is not None
            except Exception as error:  # noqa: BLE001 - told, and tried again next round
                self.log(f"{self.settings.vantage}: the key value store was not updated: {error}")
        return report

    def _tell(self, results: Mapping[str, ProbeResult]) -> None:
        """One log line when an origin's health object becomes unreadable, or readable again."""
        for origin, result in results.items():
            before = self._told.get(origin)
            if result.told and before is None:
                bucket = self.settings.buckets[origin]
                self.log(
                    f"{self.settings.vantage}: the health object s3://{bucket}/"
                    f"{self.settings.health_key} of {origin} cannot be read ({result.verdict}: "
                    f"{result.detail}); {origin} is not judged on it, and the alarm says so"
                )
                self._told[origin] = result.detail
            elif result.verdict is Verdict.HEALTHY and before is not None:
                self.log(f"{self.settings.vantage}: the health object of {origin} reads again")
                del self._told[origin]

    def _record(self, tick: int, results: Mapping[str, ProbeResult]) -> bool:
        """Count the round in this vantage Region's view; False when it is counted already."""
        settings = self.settings
        healthy = {origin: result.healthy for origin, result in results.items()}
        cap = max(settings.failures, settings.recoveries)
        for _ in range(ATTEMPTS):
            view = self.table.view(settings.vantage)
            if view.tick >= tick:
                return False
            updated = view.after(healthy, tick, gap=settings.rules.fresh_ticks, cap=cap)
            try:
                self.table.write_view(settings.vantage, updated, view.tick)
            except StaleStateError:
                continue
            for origin, result in results.items():
                if result.healthy is False:
                    self.log(f"{settings.vantage}: probe of {origin} failed: {result.detail}")
            return True
        return False

    def _act(self, tick: int) -> tuple[Decision, RoutingState]:
        """Decide on every view and write the checks' item if that changes it."""
        state = RoutingState()
        for _ in range(ATTEMPTS):
            state = self.table.read()
            if state.legacy:
                with contextlib.suppress(StaleStateError):
                    move_operator_entries(self.table, state)
                continue
            decision = decide(
                self.table.views(),
                origins=list(self.settings.buckets),
                drained=state.drained,
                checks=state.checks,
                operators=state.operators,
                now=tick,
                rules=self.settings.rules,
            )
            if not decision.changes and set(decision.held) == set(state.held):
                return decision, state
            try:
                return decision, self._write(state, decision, tick)
            except StaleStateError as error:
                # Another vantage Region decided meanwhile: decide again on what it wrote.
                self.log(f"{self.settings.vantage}: deciding again: {error}")
        return Decision(held=dict(state.held)), state

    def _write(self, state: RoutingState, decision: Decision, tick: int) -> RoutingState:
        since = datetime.fromtimestamp(tick * self.settings.probe_seconds, UTC).isoformat(
            timespec="seconds"
        )
        evacuated = {
            origin: record
            for origin, record in state.checks.items()
            if origin not in decision.restore
        }
        evacuated.update(
            {
                origin: Evacuation(since=since, by=BY_CHECKS, reason=reason)
                for origin, reason in decision.evacuate.items()
            }
        )
        version = self.table.write_evacuated(evacuated, state.version, decision.held)
        # One notification a round, however many changes: each is a request the run waits on
        # (evacuation.budget).
        changes = [f"{o} evacuated: out of rotation ({r})" for o, r in decision.evacuate.items()]
        changes += [f"{o} restored: back in rotation ({r})" for o, r in decision.restore.items()]
        changes += [
            f"{o} not evacuated: {r}" for o, r in decision.held.items() if o not in state.held
        ]
        if changes:
            self.notify("; ".join(changes))
        return RoutingState(state.drained, evacuated, version, dict(decision.held), state.operators)

    def _publish(self, *, always: bool = False) -> Publication | None:
        """With CloudFront Functions: the key value store brought up to the table."""
        if self.kvs is None:
            return None
        publication = publish(self.table, self.kvs, always=always)
        if publication.stored == publication.committed.version:
            self.log(
                f"{self.settings.vantage}: the key value store holds version "
                f"{publication.committed.version}: {list(publication.committed.out)} out"
            )
        return publication if publication.stored is not None else None

    def sync(self) -> RoutingState:
        """Publish the current state without probing (after ``pulumi up`` changed the drained list
        or created the store, and after a break-glass command). The store itself is asked what it
        holds: one created anew (an engine switched back, a store replaced) holds nothing yet,
        while the table, which outlives it, remembers what the old one held."""
        self._publish(always=True)
        return self.table.read()

    def notify(self, message: str) -> None:
        line = f"geo-proximity {self.settings.stack}: {message} (seen from {self.settings.vantage})"
        self.log(line)
        if self.clients.sns is None or self.settings.topic_arn is None:
            return
        try:
            self.clients.sns.publish(
                TopicArn=self.settings.topic_arn,
                Subject=f"geo-proximity {self.settings.stack}: routing changed"[:100],
                Message=line,
            )
        except Exception as error:  # noqa: BLE001 - a lost notification must not undo the change
            self.log(f"{self.settings.vantage}: notification failed: {error}")

    def put_metrics(self, rounds: list[Round]) -> None:
        """After an invocation: the origins in rotation (the every-origin-out alarm and this
        vantage Region's heartbeat), each origin's unreadable probes (its health-object alarm)
        and the most origins held (the checks-held alarm)."""
        if self.clients.cloudwatch is None or not rounds:
            return
        settings = self.settings
        decided = [
            report for report in rounds if not report.duplicate and not report.home_unreachable
        ]
        stack = {"Name": "Stack", "Value": settings.stack}
        data: list[dict[str, Any]] = []
        if decided:
            in_rotation = len([o for o in settings.buckets if o not in decided[-1].state.out])
            data += [
                {"MetricName": METRIC_NAME, "Dimensions": dimensions, "Value": in_rotation}
                for dimensions in ([stack], [stack, {"Name": "Vantage", "Value": settings.vantage}])
            ]
        data += [
            {
                "MetricName": HEALTH_METRIC,
                "Dimensions": [stack, {"Name": "Origin", "Value": origin}],
                "Value": sum(report.results[origin].told for report in rounds),
            }
            for origin in settings.buckets
        ]
        data.append(
            {
                "MetricName": HELD_METRIC,
                "Dimensions": [stack],
                "Value": max(report.held for report in rounds),
            }
        )
        try:
            self.clients.cloudwatch.put_metric_data(
                Namespace=METRIC_NAMESPACE,
                MetricData=[{**datum, "Unit": "Count"} for datum in data],
            )
        except Exception as error:  # noqa: BLE001 - the metric is for the alarm, not the routing
            self.log(f"{settings.vantage}: metric not sent: {error}")


def settings_from_environment(text: str) -> Settings:
    return Settings.from_document(json.loads(text))
