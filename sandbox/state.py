"""The routing state on one machine: the store each engine's edge code reads, and the evacuator,
in-process, against the S3 emulators.

- **The state table** (both engines): DynamoDB on loopback, moto's server (``ThreadedMotoServer``),
  holding the stack's table (``pk``/``sk``) in every Region that reads or writes it, as a global
  table has a replica in each. The replicas are one table here, so a write is visible in every
  Region at once; DynamoDB replicates "typically within a second" (DynamoDB developer guide, "Read
  consistency": global tables). Pulumi's ``drained`` item is written at start from the settings, as
  ``pulumi up`` writes it. The Lambda@Edge function reads the table with its own SigV4 signer and
  the credentials in the environment, as on Lambda.
- **CloudFront Functions**: a key value store (``sandbox.kvs``) associated with the function, which
  reads it at each invocation, and its data-plane API on loopback for botocore's own client.
  Without an evacuator Pulumi's key (the drained list, ``DRAINED_KEY``) is written at start; with
  one, the first sync publishes the union of every owner's part (``ROTATION_KEY``). Its changes
  reach the function at once: AWS documents no propagation time for key value stores.
- **The evacuator**: one ``Evacuator`` per vantage Region (two for one of them when its runs are
  duplicated, as Lambda may deliver an event twice), each in a thread of its own, probing the S3
  emulators with the Lambda's own clients (``evacuation.lambda_function.clients_for``: the
  stack's ``originConnectionTimeout`` to connect, a read timeout, no retries). The vantage Regions
  share one machine, so they see the same network. What each sends CloudWatch after an
  invocation's worth of rounds goes to ``SandboxAlarms``, which raises the evacuator's alarms as
  CloudWatch would and says so.

Scaled down by ``SCALE`` (40), so that an evacuation's whole timeline is 40 times shorter here: the
probe interval (10 s: 0.25 s), the freshness of a view (90 s: 2.25 s), an alarm's window (5
minutes: 7.5 s) and the Lambda@Edge function's refresh of the state (15 s: 0.375 s). Not scaled:
the failures and recoveries counted, the probe's connection timeout, its read timeout (0.5 s, see
``PROBE_READ_TIMEOUT_SECONDS``), and the function's bound on a read of the store (0.3 s).
"""

from __future__ import annotations

import json
import os
import secrets
import threading
import time
from collections.abc import Callable, Collection, Iterator, Mapping
from contextlib import ExitStack, contextmanager
from typing import Any

from moto.core.models import DEFAULT_ACCOUNT_ID
from moto.dynamodb.models import dynamodb_backends
from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app
from moto.server import ThreadedMotoServer
from werkzeug.serving import make_server

from core.evacuation import (
    EVACUATION_FRESH_SECONDS,
    EVACUATION_INVOCATION_SECONDS,
    EVACUATION_PROBE_SECONDS,
    EVACUATION_QUORUM,
    EVACUATION_READ_TIMEOUT_SECONDS,
    evacuator_document,
)
from core.monitoring import (
    CHECKS_HELD_ALARM,
    DEFAULT_ALARM_EVALUATION_MINUTES,
    HEALTH_OBJECT_ALARM_PROBES,
    health_object_alarm_name,
)
from core.routing_state import routing_state_output
from evacuation.evacuator import HEALTH_KEY, HEALTH_METRIC, HELD_METRIC, Evacuator, Round
from evacuation.evacuator import Settings as EvacuatorSettings
from evacuation.lambda_function import clients_for
from evacuation.state import DRAINED_KEY, RoutingState, StateTable, drained_item, out_value
from routing.artifact import (
    DEFAULT_STATE_REFRESH_SECONDS,
    StateSource,
)
from sandbox.kvs import KeyValueStoreEmulator, StoreItems
from sandbox.regional_s3 import POLL_SECONDS, QuietRequestHandler
from sandbox.session import SANDBOX_CREDENTIALS, sandbox_session
from settings.parser import Settings
from settings.table import PROJECT

SCALE = 40
PROBE_SECONDS = EVACUATION_PROBE_SECONDS / SCALE
# An alarm's window, scaled down like everything else.
ALARM_WINDOW_SECONDS = DEFAULT_ALARM_EVALUATION_MINUTES * 60 / SCALE
# The probe's read timeout: 5 s on AWS, some fifty times an S3 GET's answer. Scaled down it would be
# 0.125 s, which a loaded machine's emulators (moto in this process, with the drill's viewers and
# four evacuators) miss now and then: a healthy Region's probe would fail, and thirteen good probes
# in a row would never come. So a longer bound, no kinder in what is judged: a stalled Region still
# fails every probe, and a Region that refuses or answers 503 fails at once either way.
PROBE_READ_TIMEOUT_SECONDS = 0.5
STATE_REFRESH_SECONDS = DEFAULT_STATE_REFRESH_SECONDS / SCALE
# The longest a request waits for the function's read of the state. On AWS 0.3 s, some thirty
# times a DynamoDB read in the Region; here the store is moto in this process, which a loaded
# machine (the drill's 26 viewers, the evacuators, the suite) can slow past 0.3 s, and a read that
# misses the deadline leaves that request on the old state. So a longer bound, no kinder in what is
# routed: a store that refuses (the sandbox's unreadable fault) fails at once either way.
STATE_TIMEOUT_SECONDS = 1.0
ACCOUNT_ID = DEFAULT_ACCOUNT_ID


class _QuietMotoServer(ThreadedMotoServer):
    """moto's threaded server without a log line per request, closing its port when stopped."""

    def _server_entry(self) -> None:
        app = DomainDispatcherApplication(create_backend_app)
        self._server = make_server(
            self._ip_address, self._port, app, True, request_handler=QuietRequestHandler
        )
        self._server_ready_event.set()
        self._server.serve_forever(POLL_SECONDS)

    def stop(self) -> None:
        super().stop()
        if self._server is not None:
            self._server.server_close()


class SandboxAlarms:
    """CloudWatch for the evacuators' metrics (``PutMetricData``), raising their alarms as the
    program declares them (components/monitoring.py): an origin's health object unreadable in
    ``HEALTH_OBJECT_ALARM_PROBES`` probes within the window, the checks held in any report within
    it. Each alarm that changes state is said once."""

    def __init__(self, buckets: Mapping[str, str], log: Callable[[str], None]) -> None:
        self.buckets = dict(buckets)
        self.log = log
        self.points: list[tuple[float, str, dict[str, str], float]] = []
        # Alarm name → why it is raised.
        self.raised: dict[str, str] = {}
        self._lock = threading.Lock()

    def put_metric_data(self, *, Namespace: str, MetricData: list[dict[str, Any]]) -> None:  # noqa: N803 - boto3's names
        now = time.monotonic()
        with self._lock:
            for datum in MetricData:
                dimensions = {d["Name"]: d["Value"] for d in datum.get("Dimensions", [])}
                self.points.append((now, datum["MetricName"], dimensions, float(datum["Value"])))
            self._evaluate(now)

    def _window(self, now: float, metric: str, **dimensions: str) -> list[float]:
        return [
            value
            for at, name, seen, value in self.points
            if name == metric
            and now - at <= ALARM_WINDOW_SECONDS
            and all(seen.get(key) == wanted for key, wanted in dimensions.items())
        ]

    def _evaluate(self, now: float) -> None:
        states: dict[str, str | None] = {}
        for origin, bucket in self.buckets.items():
            unreadable = sum(self._window(now, HEALTH_METRIC, Origin=origin))
            states[health_object_alarm_name(origin)] = (
                f"the health object s3://{bucket}/{HEALTH_KEY} of {origin} cannot be read "
                f"({unreadable:.0f} probes in the window): {origin} is not judged on it"
                if unreadable >= HEALTH_OBJECT_ALARM_PROBES
                else None
            )
        held = max(self._window(now, HELD_METRIC), default=0.0)
        states[CHECKS_HELD_ALARM] = (
            "the health checks hold an origin in rotation that they would take out"
            if held >= 1
            else None
        )
        for name, why in states.items():
            if why is not None and name not in self.raised:
                self.raised[name] = why
                self.log(f"alarm {name} raised: {why}")
            elif why is None and name in self.raised:
                del self.raised[name]
                self.log(f"alarm {name} back to OK")


class EvacuatorRunner:
    """Every vantage Region's evacuator, each in its own thread, a round at every tick. After an
    invocation's worth of rounds each sends its metrics, as an invocation does at its end. Its log
    lines (evacuations, restores, publications, unreadable health objects, alarms) go to ``log``
    and ``events``."""

    def __init__(
        self,
        evacuators: list[Evacuator],
        interval: float,
        log: Callable[[str], None],
        alarms: SandboxAlarms | None = None,
    ) -> None:
        self.evacuators = evacuators
        self.interval = interval
        self.log = log
        self.alarms = alarms
        self.events: list[str] = []
        self.rounds = {id(evacuator): 0 for evacuator in evacuators}
        self._stopped = threading.Event()
        self._progress = threading.Condition()
        self._threads: list[threading.Thread] = []

    def start(self) -> None:
        if self.alarms is not None:
            self.alarms.log = self._record
        for evacuator in self.evacuators:
            evacuator.log = self._record
            thread = threading.Thread(
                target=self._loop,
                args=(evacuator,),
                name=f"evacuator-{evacuator.settings.vantage}",
                daemon=True,
            )
            thread.start()
            self._threads.append(thread)

    def stop(self) -> None:
        self._stopped.set()
        for thread in self._threads:
            thread.join()
        self._threads = []

    def _record(self, line: str) -> None:
        # Failed probes are counted in the table; each one is not news.
        if ": probe of " in line:
            return
        self.events.append(line)
        self.log(line)

    def _loop(self, evacuator: Evacuator) -> None:
        vantage = evacuator.settings.vantage
        per_invocation = round(
            evacuator.settings.invocation_seconds / evacuator.settings.probe_seconds
        )
        done: list[Round] = []
        while not self._stopped.is_set():
            started = time.monotonic()
            try:
                done.append(evacuator.round())
            except Exception as error:  # noqa: BLE001 - a failed round must not end the checks
                self._record(f"{vantage}: round failed: {error!r}")
            if len(done) >= per_invocation:
                evacuator.put_metrics(done)
                done = []
            with self._progress:
                self.rounds[id(evacuator)] += 1
                self._progress.notify_all()
            self._stopped.wait(max(0.0, started + self.interval - time.monotonic()))

    def after(self, count: int) -> Callable[[], bool]:
        """Whether every evacuator has run ``count`` more rounds than now, asked later."""
        with self._progress:
            target = {key: done + count for key, done in self.rounds.items()}
        return lambda: all(self.rounds[key] >= n for key, n in target.items())

    def wait_rounds(self, count: int, timeout: float) -> bool:
        """Wait until every evacuator has run ``count`` more rounds; False on time-out."""
        with self._progress:
            target = {key: done + count for key, done in self.rounds.items()}
            return self._progress.wait_for(
                lambda: all(self.rounds[key] >= n for key, n in target.items()), timeout
            )


def create_state_table(client: Any, table: str) -> None:
    """The state table as the program declares it (components/routing_state.py): partition key
    ``pk`` and sort key ``sk``, both strings, billed per request. The sandbox and the tests create
    it in moto with this."""
    client.create_table(
        TableName=table,
        KeySchema=[
            {"AttributeName": "pk", "KeyType": "HASH"},
            {"AttributeName": "sk", "KeyType": "RANGE"},
        ],
        AttributeDefinitions=[
            {"AttributeName": "pk", "AttributeType": "S"},
            {"AttributeName": "sk", "AttributeType": "S"},
        ],
        BillingMode="PAY_PER_REQUEST",
    )


class RoutingStateEmulator:
    """The stack's routing state store(s) on loopback; start with ``with``."""

    def __init__(
        self,
        settings: Settings,
        buckets: Mapping[str, str],
        *,
        refresh_seconds: float = STATE_REFRESH_SECONDS,
    ) -> None:
        self.settings = settings
        self.buckets = dict(buckets)
        self.refresh_seconds = refresh_seconds
        layout = settings.routing_state
        if layout is None:
            raise ValueError(f"stack {settings.stack} has one origin, which is never out: no state")
        self.layout = layout
        # The program's layout, the table named apart: moto keeps one backend per process, so
        # two sandboxes of one stack would otherwise share a table.
        self.table = f"{layout.table_name}-{secrets.token_hex(4)[:7]}"
        self.table_regions = layout.table_regions
        # Without a table (CloudFront Functions without an evacuator) nothing asks for it.
        self.table_region = layout.table_region or ""
        self.kvs = (
            KeyValueStoreEmulator(SANDBOX_CREDENTIALS, ACCOUNT_ID)
            if layout.key_value_store
            else None
        )
        self.kvs_arn: str | None = None
        # Where the evacuator reaches each origin's S3 endpoint (set once they run).
        self.s3_endpoints: dict[str, str] = {}
        self._moto: _QuietMotoServer | None = None
        self._port = 0
        self._syncer: Evacuator | None = None
        # boto3 clients are thread-safe and costly to make: one per Region.
        self._clients: dict[str, Any] = {}
        self._clients_lock = threading.Lock()
        self._running = ExitStack()

    def __enter__(self) -> RoutingStateEmulator:
        with ExitStack() as undo:
            if self.table_regions:
                self._start_dynamodb()
                undo.callback(self._stop_dynamodb)
                self._create_table()
                undo.callback(self._delete_table)
            if self.kvs is not None:
                undo.enter_context(self.kvs)
                self.kvs_arn = self.kvs.create(f"{PROJECT}-{self.settings.stack}-routing")
            self.write_drained(self.settings.routing.drained)
            self._running = undo.pop_all()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._running.close()

    # DynamoDB: moto's server, and the table in every replica Region.

    def _start_dynamodb(self) -> None:
        self._moto = _QuietMotoServer(ip_address="127.0.0.1", port=self._port, verbose=False)
        self._moto.start()
        self._port = self._moto.get_host_and_port()[1]

    def _stop_dynamodb(self) -> None:
        if self._moto is not None:
            self._moto.stop()
            self._moto = None

    def _create_table(self) -> None:
        create_state_table(self.dynamodb(), self.table)
        # A global table: every replica Region finds the same table (and the same items).
        backends = dynamodb_backends[ACCOUNT_ID]
        table = backends[self.table_region].tables[self.table]
        for region in self.table_regions:
            backends[region].tables[self.table] = table

    def _delete_table(self) -> None:
        # moto keeps tables for the life of the process: the next sandbox starts from nothing.
        for region in self.table_regions:
            dynamodb_backends[ACCOUNT_ID][region].tables.pop(self.table, None)

    @property
    def dynamodb_endpoint(self) -> str:
        return f"http://127.0.0.1:{self._port}"

    def dynamodb(self, region: str | None = None) -> Any:
        """A DynamoDB client for the table's replica in ``region`` (by default its home)."""
        region = region or self.table_region
        with self._clients_lock:
            if region not in self._clients:
                self._clients[region] = sandbox_session().client(
                    "dynamodb", region_name=region, endpoint_url=self.dynamodb_endpoint
                )
            return self._clients[region]

    def state_table(self, region: str | None = None) -> StateTable:
        return StateTable(self.dynamodb(region), self.table)

    def read(self) -> RoutingState:
        """Both owners' lists as the table holds them now; without a table (CloudFront Functions
        without an evacuator), the drained list in the key value store."""
        if self.table_regions:
            return self.state_table().read()
        drained = json.loads(dict(self.function_store())[DRAINED_KEY])["out"]
        return RoutingState(drained=frozenset(drained))

    @contextmanager
    def unreadable(self) -> Iterator[None]:
        """The engine's store unreadable inside the block: the DynamoDB endpoint stopped
        (connections refused), or the key value store failing every read of the function."""
        if self.kvs is not None:
            self.kvs.unreadable = True
            try:
                yield
            finally:
                self.kvs.unreadable = False
            return
        self._stop_dynamodb()
        try:
            yield
        finally:
            self._start_dynamodb()

    # What the edge code reads.

    def state_source(self) -> StateSource:
        """Where the Lambda@Edge function reads the state: this table, at this endpoint."""
        return StateSource(
            self.table,
            regions=self.table_regions,
            refresh_seconds=self.refresh_seconds,
            timeout_seconds=STATE_TIMEOUT_SECONDS,
            endpoint=self.dynamodb_endpoint,
        )

    def function_store(self) -> StoreItems:
        """The key value store as the CloudFront function reads it."""
        if self.kvs is None or self.kvs_arn is None:
            raise RuntimeError("only the cloudfront-functions engine has a key value store")
        return self.kvs.items(self.kvs_arn)

    # Writers.

    def write_drained(self, regions: Collection[str]) -> None:
        """Pulumi's part of the state, as ``pulumi up`` writes it: the ``drained`` item and, with
        CloudFront Functions, the key the function reads (the drained list without an evacuator;
        with one, the union, published as the evacuator's sync does)."""
        if self.table_regions:
            self.dynamodb().put_item(TableName=self.table, Item=drained_item(regions))
        if self.kvs is None or self.kvs_arn is None:
            return
        if self.settings.evacuation:
            if self._syncer is None:
                self._syncer = self.evacuator(self.settings.evacuation_vantages[0])
            self._syncer.sync()
        else:
            self.kvs.put(self.kvs_arn, DRAINED_KEY, out_value(regions))

    def evacuator_document(self, vantage: str) -> dict[str, Any]:
        """The settings document the deployed function of ``vantage`` receives (built by the same
        function Pulumi uses), with its waits scaled down by ``SCALE``."""
        settings, layout = self.settings, self.layout
        assert layout.table_region is not None
        document = evacuator_document(
            stack=settings.stack,
            vantage=vantage,
            vantages=layout.vantages,
            buckets=self.buckets,
            table=self.table,
            table_region=layout.table_region,
            kvs_arn=self.kvs_arn,
            topic_arn=None,
            account=ACCOUNT_ID,
            failures=settings.evacuation_failures,
            recoveries=settings.evacuation_recoveries,
            quorum=EVACUATION_QUORUM,
            max_out=settings.evacuation_max_out,
            probe_seconds=EVACUATION_PROBE_SECONDS,
            invocation_seconds=EVACUATION_INVOCATION_SECONDS,
            fresh_seconds=EVACUATION_FRESH_SECONDS,
            connect_timeout=settings.origin_connection_timeout,
            read_timeout=EVACUATION_READ_TIMEOUT_SECONDS,
        )
        # Not scaled: the connection timeout (a refused connection fails at once either way).
        scaled = ("probeSeconds", "invocationSeconds", "freshSeconds")
        return {
            **document,
            **{name: document[name] / SCALE for name in scaled},
            "readTimeout": PROBE_READ_TIMEOUT_SECONDS,
        }

    def evacuator_settings(self, vantage: str) -> EvacuatorSettings:
        """The evacuator of ``vantage`` as Pulumi configures it, read from its document."""
        return EvacuatorSettings.from_document(self.evacuator_document(vantage))

    def endpoints(self) -> dict[str, str]:
        """The endpoint overrides of the emulated services, by name (and S3's by origin)."""
        endpoints = {**self.s3_endpoints, "dynamodb": self.dynamodb_endpoint}
        if self.kvs is not None:
            endpoints["cloudfront-keyvaluestore"] = self.kvs.endpoint
        return endpoints

    def evacuator(
        self,
        vantage: str,
        log: Callable[[str], None] | None = None,
        alarms: SandboxAlarms | None = None,
    ) -> Evacuator:
        settings = self.evacuator_settings(vantage)
        clients = clients_for(settings, self.endpoints(), sandbox_session())
        # Its metrics go to the sandbox's alarms (or nowhere), never to AWS.
        clients.cloudwatch = alarms
        return Evacuator(settings, clients, log=log or (lambda _: None))

    @contextmanager
    def evacuating(
        self, log: Callable[[str], None] | None = None, *, duplicated: str | None = None
    ) -> Iterator[EvacuatorRunner]:
        """Every vantage Region's evacuator running inside the block; with ``duplicated``, that
        vantage Region's twice over (as Lambda may deliver the same event twice)."""
        if not self.settings.evacuation:
            raise RuntimeError(f"stack {self.settings.stack} has no evacuator (evacuation false)")
        told = log or (lambda _: None)
        alarms = SandboxAlarms(self.buckets, told)  # says what it raises through the runner
        vantages = [*self.settings.evacuation_vantages, *([duplicated] if duplicated else [])]
        runner = EvacuatorRunner(
            [self.evacuator(vantage, alarms=alarms) for vantage in vantages],
            PROBE_SECONDS,
            told,
            alarms,
        )
        runner.start()
        try:
            yield runner
        finally:
            runner.stop()

    def outputs(self) -> dict[str, Any]:
        """The stack output ``routingState``, as ``pulumi stack output --json`` prints it."""
        return routing_state_output(
            self.layout, engine=self.settings.engine, table=self.table, kvs_arn=self.kvs_arn
        )


@contextmanager
def credentials_in_environment() -> Iterator[None]:
    """The sandbox's credentials in the environment inside the block, where none are set: the
    Lambda@Edge function signs its state reads with what Lambda puts there."""
    (key, secret), *_ = SANDBOX_CREDENTIALS.items()
    added = []
    for name, value in (("AWS_ACCESS_KEY_ID", key), ("AWS_SECRET_ACCESS_KEY", secret)):
        if name not in os.environ:
            os.environ[name] = value
            added.append(name)
    try:
        yield
    finally:
        for name in added:
            os.environ.pop(name, None)
