"""One vantage Region's evacuator: probe every origin, share what it saw, act on what the vantage
Regions agree on.

A round: probe every origin's health object at once, as CloudFront would reach it (a signed GET to
the bucket's Regional endpoint, CloudFront's connection timeout, a read timeout that catches a
stall); record the streaks in this vantage Region's item of the state table; read every vantage
Region's streaks and the routing state; decide (``evacuation.decide``); write the evacuated list
(only if nobody changed it meanwhile) and say so on the monitoring topic; and, with CloudFront
Functions, publish the origins out of rotation to the key value store when they changed.
"""

from __future__ import annotations

import json
import time
import urllib.parse
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, TypeVar

from botocore.exceptions import (
    ClientError,
    ConnectionClosedError,
    ConnectTimeoutError,
    EndpointConnectionError,
    ReadTimeoutError,
)

from evacuation.decide import BY_CHECKS, Decision, Evacuation, Streak, decide
from evacuation.state import (
    ROTATION_KEY,
    KeyValueStore,
    RoutingState,
    StaleStateError,
    StateTable,
    out_value,
)

# The object every origin bucket holds for the checks (written by Pulumi into each bucket).
HEALTH_KEY = ".well-known/geo-proximity/health"
# A metric the all-origins-out alarm watches.
METRIC_NAMESPACE = "GeoProximity"
METRIC_NAME = "OriginsInRotation"
_Result = TypeVar("_Result")


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
    rounds: int
    connect_timeout: float
    read_timeout: float
    table: str
    # The table's home Region: where every vantage Region reads and writes while it answers.
    table_region: str | None = None
    kvs_arn: str | None = None
    topic_arn: str | None = None
    health_key: str = HEALTH_KEY

    @property
    def fresh_seconds(self) -> float:
        # Two missed rounds and a vantage Region has no say.
        return self.probe_seconds * 2.5 + self.connect_timeout + self.read_timeout

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
            probe_seconds=float(document["probeSeconds"]),
            rounds=int(document["rounds"]),
            connect_timeout=float(document["connectTimeout"]),
            read_timeout=float(document["readTimeout"]),
            table=str(document["table"]),
            table_region=document.get("tableRegion"),
            kvs_arn=document.get("kvsArn"),
            topic_arn=document.get("topicArn"),
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

    healthy: dict[str, bool]
    details: dict[str, str]
    decision: Decision = field(default_factory=Decision)
    state: RoutingState = field(default_factory=RoutingState)
    published: bool = False


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
        # Every vantage Region reads, decides and writes on the table's home replica: a conditional
        # write holds only within one Region ("might return stale data if the item was updated in
        # a different Region", DynamoDB global tables, consistency), so one Region decides. While
        # the home Region does not answer, each decides on its own replica, and across Regions the
        # last writer wins: a lost decision is taken again in the next round.
        self.local = StateTable(clients.dynamodb, settings.table)
        self.home = (
            StateTable(clients.dynamodb_home, settings.table)
            if clients.dynamodb_home is not None
            else self.local
        )
        self.table = self.home
        self.kvs = KeyValueStore(clients.kvs, settings.kvs_arn) if settings.kvs_arn else None
        self.clock = clock
        self.sleep = sleep
        self.log = log
        self._streaks: dict[str, Streak] | None = None

    def run(self) -> list[Round]:
        """``rounds`` rounds, ``probe_seconds`` apart (a scheduled invocation)."""
        rounds = []
        for number in range(self.settings.rounds):
            started = self.clock()
            rounds.append(self.round())
            if number + 1 < self.settings.rounds:
                self.sleep(max(0.0, started + self.settings.probe_seconds - self.clock()))
        self._put_metric(rounds[-1].state)
        return rounds

    def probe(self, origin: str) -> tuple[bool, str]:
        """Read the origin's health object as CloudFront would reach it."""
        client = self.clients.s3[origin]
        try:
            answer = client.get_object(
                Bucket=self.settings.buckets[origin], Key=self.settings.health_key
            )
            answer["Body"].read()
        except Exception as error:  # noqa: BLE001 - any failure to read is what the check is for
            return False, f"{type(error).__name__}: {error}"[:300]
        return True, "ok"

    def round(self) -> Round:
        origins = list(self.settings.buckets)
        with ThreadPoolExecutor(max_workers=len(origins)) as pool:
            results = dict(zip(origins, pool.map(self.probe, origins), strict=True))
        now = self.clock()
        report = self._on_a_replica(lambda: self._record_and_act(results, now))
        # On the replica the round settled on: a home Region that did not answer is not waited
        # for a second time in the same round.
        report.published = self._on_a_replica(lambda: self.publish(report.state), home_first=False)
        return report

    def _on_a_replica(self, work: Callable[[], _Result], *, home_first: bool = True) -> _Result:
        """``work`` on the home replica (with ``home_first`` False: on the one in use), or, when
        the home Region does not answer, on this one."""
        if home_first:
            self.table = self.home
        try:
            return work()
        except Exception as error:
            if self.table is self.local or not unreachable(error, self.table.client):
                raise
            self.log(
                f"{self.settings.vantage}: the state table's home Region did not answer ({error}); "
                "deciding on this Region's replica"
            )
            self.table = self.local
            return work()

    def _record_and_act(self, results: Mapping[str, tuple[bool, str]], now: float) -> Round:
        # The streaks are kept only once the round is done: when the home Region fails half-way
        # and the round is done again on this Region's replica, each probe still counts once.
        known = self._streaks
        if known is None:
            known = self.table.views().get(self.settings.vantage, {})
        cap = max(self.settings.failures, self.settings.recoveries)
        streaks = {
            origin: known.get(origin, Streak()).after(healthy, now, cap)
            for origin, (healthy, _) in results.items()
        }
        self.table.write_view(self.settings.vantage, streaks)
        report = Round(
            healthy={origin: healthy for origin, (healthy, _) in results.items()},
            details={origin: detail for origin, (_, detail) in results.items()},
        )
        for origin, (healthy, detail) in results.items():
            if not healthy:
                self.log(f"{self.settings.vantage}: probe of {origin} failed: {detail}")
        report.decision, report.state = self._act(now)
        self._streaks = streaks
        return report

    def _act(self, now: float) -> tuple[Decision, RoutingState]:
        state = self.table.read()
        decision = decide(
            self.table.views(),
            origins=list(self.settings.buckets),
            drained=state.drained,
            evacuated=state.evacuated,
            now=now,
            failures=self.settings.failures,
            recoveries=self.settings.recoveries,
            quorum=self.settings.quorum,
            fresh_seconds=self.settings.fresh_seconds,
        )
        for origin, reason in decision.held.items():
            self.log(f"{self.settings.vantage}: {origin} not evacuated: {reason}")
        if not decision.changes:
            return decision, state
        since = datetime.fromtimestamp(now, UTC).isoformat(timespec="seconds")
        evacuated = {
            origin: record
            for origin, record in state.evacuated.items()
            if origin not in decision.restore
        }
        evacuated.update(
            {
                origin: Evacuation(since=since, by=BY_CHECKS, reason=reason)
                for origin, reason in decision.evacuate.items()
            }
        )
        try:
            version = self.table.write_evacuated(evacuated, state.version)
        except StaleStateError as error:
            # Another vantage Region acted first; the next round sees what it did.
            self.log(f"{self.settings.vantage}: no change made: {error}")
            return Decision(held=decision.held), state
        # One notification a round, however many changes: each is a request the run waits on
        # (evacuation.budget).
        changes = [f"{o} evacuated: out of rotation ({r})" for o, r in decision.evacuate.items()]
        changes += [f"{o} restored: back in rotation ({r})" for o, r in decision.restore.items()]
        self.notify("; ".join(changes))
        return decision, RoutingState(state.drained, evacuated, version)

    def publish(self, state: RoutingState, *, always: bool = False) -> bool:
        """With CloudFront Functions: write the origins out of rotation to the key value store if
        they changed since the last write (or ``always``). True when it wrote."""
        if self.kvs is None:
            return False
        value = out_value(state.out)
        if not always and self.table.published() == value:
            return False
        self.kvs.put(ROTATION_KEY, value)
        self.table.write_published(value)
        self.log(f"{self.settings.vantage}: published {value} to the key value store")
        return True

    def sync(self) -> RoutingState:
        """Publish the current state without probing (after ``pulumi up`` changed the drained list
        or created the store, and after a break-glass command). It writes whatever the table says
        was published last: a store created anew (an engine switched back, a store replaced) holds
        no key yet while the table, which outlives it, remembers the value."""

        def publish() -> RoutingState:
            state = self.table.read()
            self.publish(state, always=True)
            return state

        return self._on_a_replica(publish)

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

    def _put_metric(self, state: RoutingState) -> None:
        if self.clients.cloudwatch is None:
            return
        in_rotation = len([origin for origin in self.settings.buckets if origin not in state.out])
        stack = {"Name": "Stack", "Value": self.settings.stack}
        vantage = {"Name": "Vantage", "Value": self.settings.vantage}
        try:
            # The stack's series, which the every-origin-out alarm reads, and this vantage
            # Region's, whose silence raises its heartbeat alarm.
            self.clients.cloudwatch.put_metric_data(
                Namespace=METRIC_NAMESPACE,
                MetricData=[
                    {
                        "MetricName": METRIC_NAME,
                        "Dimensions": dimensions,
                        "Value": in_rotation,
                        "Unit": "Count",
                    }
                    for dimensions in ([stack], [stack, vantage])
                ],
            )
        except Exception as error:  # noqa: BLE001 - the metric is for the alarm, not the routing
            self.log(f"{self.settings.vantage}: metric not sent: {error}")


def settings_from_environment(text: str) -> Settings:
    return Settings.from_document(json.loads(text))
