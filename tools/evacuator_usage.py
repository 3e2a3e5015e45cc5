"""What the evacuator asks of AWS in a month, counted by running its own code.

The bill does not copy the evacuator's calls into numbers that would go stale: it runs
``evacuation.evacuator.Evacuator`` itself, every vantage Region twice, against in-memory stand-ins
for S3, the state table, the key value store and CloudWatch that count each call and the size of
each item read and written, and takes the second run of each (the steady state: nothing changes, so
nothing is published or notified). The second starts a schedule period after the first, while the
first still runs (each runs rounds for longer than the period, ``core.evacuation``), as the schedule
makes them overlap: the ticks the first counted already are the second's duplicates (probed, and
its view read, but not counted again), the rest its own. The schedule, the timeout and the memory
the bill multiplies them by are ``core.evacuation``'s; the vantage Regions are the stack's
settings. A change to any of them reaches the bill without an edit here.

Sizes follow "DynamoDB item sizes and formats" (DynamoDB developer guide): strings and attribute
names by their UTF-8 bytes, a number "(1 byte per two significant digits) + (1 byte)", a list or
map "3 bytes of overhead" and "1 byte" per element. A Query reads the sum of the items it returns,
rounded up to 4 KB, one read unit per 4 KB when strongly consistent ("How AWS Pricing Works",
DynamoDB); a write is one unit per 1 KB of the larger of the old and new item.
"""

from __future__ import annotations

import functools
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from core.cloudfront import DEFAULT_CONNECTION_TIMEOUT_SECONDS
from core.evacuation import (
    EVACUATION_FRESH_SECONDS,
    EVACUATION_INVOCATION_SECONDS,
    EVACUATION_PROBE_SECONDS,
    EVACUATION_QUORUM,
    EVACUATION_READ_TIMEOUT_SECONDS,
    EVACUATOR_SCHEDULE,
    STATE_TABLE_HOME_REGION,
    default_max_out,
    evacuator_document,
)
from evacuation.evacuator import Clients, Evacuator, Settings
from tools.cloudwatch_logs import log_event_bytes

# A month as the bill counts it: 30 days.
MONTH_SECONDS = 30 * 24 * 3600
READ_UNIT_BYTES = 4096
WRITE_UNIT_BYTES = 1024
# EventBridge Scheduler's rate expressions: "rate(value unit)", a unit of minute(s), hour(s) or
# day(s) (EventBridge Scheduler user guide, "Schedule types in EventBridge Scheduler").
_RATE = re.compile(r"^rate\((?P<value>[1-9][0-9]*) (?P<unit>minutes?|hours?|days?)\)\Z")
_UNIT_SECONDS = {"minute": 60, "hour": 3600, "day": 86400}


def schedule_seconds(expression: str = EVACUATOR_SCHEDULE) -> int:
    """The period of a ``rate(...)`` schedule in seconds."""
    match = _RATE.match(expression)
    if match is None:
        raise ValueError(f"{expression!r} is not a rate(value unit) expression")
    return int(match["value"]) * _UNIT_SECONDS[match["unit"].rstrip("s")]


def invocations_per_month(expression: str = EVACUATOR_SCHEDULE) -> int:
    """How often a vantage Region's schedule invokes its function in a month."""
    return MONTH_SECONDS // schedule_seconds(expression)


def attribute_bytes(value: Mapping[str, Any]) -> int:
    """The size of one DynamoDB JSON value, without its attribute name."""
    kind, content = next(iter(value.items()))
    if kind == "S":
        return len(str(content).encode("utf-8"))
    if kind == "N":
        digits = str(content).lstrip("-").replace(".", "").strip("0") or "0"
        return math.ceil(len(digits) / 2) + 1
    if kind in {"BOOL", "NULL"}:
        return 1
    if kind == "L":
        return 3 + sum(attribute_bytes(element) + 1 for element in content)
    if kind == "M":
        return 3 + sum(
            len(name.encode("utf-8")) + attribute_bytes(element) + 1
            for name, element in content.items()
        )
    raise ValueError(f"no size rule for DynamoDB type {kind}")


def item_bytes(item: Mapping[str, Mapping[str, Any]]) -> int:
    """The size of a DynamoDB item: its attribute names and values."""
    return sum(len(name.encode("utf-8")) + attribute_bytes(value) for name, value in item.items())


class _Counter:
    """The calls made, and the read and write units they took."""

    def __init__(self) -> None:
        self.calls: dict[str, int] = {}
        self.read_units = Decimal(0)
        self.write_units = 0
        self.log_lines: list[str] = []

    def count(self, call: str) -> None:
        self.calls[call] = self.calls.get(call, 0) + 1


class _ConditionalCheckFailedError(Exception):
    pass


class _Table:
    """The state table: items by (pk, sk), every call counted on the shared counter. Nothing
    races here (one run at a time), so conditions are not evaluated."""

    class exceptions:  # noqa: N801 - the name boto3's clients give this attribute
        ConditionalCheckFailedException = _ConditionalCheckFailedError

    def __init__(self, counter: list[_Counter]) -> None:
        self.items: dict[tuple[str, str], dict[str, Any]] = {}
        self.counter = counter

    def _read(self, call: str, found: Sequence[Mapping[str, Any]], consistent: bool) -> None:
        units = max(1, math.ceil(sum(item_bytes(item) for item in found) / READ_UNIT_BYTES))
        counter = self.counter[0]
        counter.count(call)
        counter.read_units += units * Decimal(1 if consistent else "0.5")

    def query(self, **arguments: Any) -> dict[str, Any]:
        partition = arguments["ExpressionAttributeValues"][":pk"]["S"]
        found = [item for (pk, _), item in sorted(self.items.items()) if pk == partition]
        self._read("query", found, bool(arguments.get("ConsistentRead")))
        return {"Items": found}

    def get_item(self, **arguments: Any) -> dict[str, Any]:
        key = (arguments["Key"]["pk"]["S"], arguments["Key"]["sk"]["S"])
        item = self.items.get(key)
        self._read("get_item", [item] if item else [], bool(arguments.get("ConsistentRead")))
        return {"Item": item} if item is not None else {}

    def put_item(self, **arguments: Any) -> dict[str, Any]:
        item = arguments["Item"]
        key = (item["pk"]["S"], item["sk"]["S"])
        old = self.items.get(key)
        larger = max(item_bytes(item), item_bytes(old) if old else 0)
        counter = self.counter[0]
        counter.count("put_item")
        counter.write_units += math.ceil(larger / WRITE_UNIT_BYTES)
        self.items[key] = item
        return {}


class _Body:
    def read(self) -> bytes:
        return b"ok"


class _Bucket:
    def __init__(self, counter: list[_Counter]) -> None:
        self.counter = counter

    def get_object(self, **_: Any) -> dict[str, Any]:
        self.counter[0].count("get_object")
        return {"Body": _Body()}


class _Recorder:
    """Any other client: every call counted by its name (put_metric_data, put_key, ...)."""

    class exceptions:  # noqa: N801 - the name boto3's clients give this attribute
        ConflictException = type("ConflictException", (Exception,), {})
        ResourceNotFoundException = type("ResourceNotFoundException", (Exception,), {})

    def __init__(self, counter: list[_Counter]) -> None:
        self.counter = counter

    def __getattr__(self, name: str) -> Any:
        def call(**_: Any) -> dict[str, Any]:
            self.counter[0].count(name)
            return {"ETag": "etag"}

        return call


class _Store(_Recorder):
    """The key value store: what it was last written, every call counted."""

    def __init__(self, counter: list[_Counter]) -> None:
        super().__init__(counter)
        self.value: str | None = None

    def get_key(self, **_: Any) -> dict[str, Any]:
        self.counter[0].count("get_key")
        if self.value is None:
            raise self.exceptions.ResourceNotFoundException
        return {"Value": self.value}

    def put_key(self, **arguments: Any) -> dict[str, Any]:
        self.counter[0].count("put_key")
        self.value = str(arguments["Value"])
        return {"ETag": "etag"}


@dataclass(frozen=True)
class EvacuatorUsage:
    """What one vantage Region's function asks of AWS per invocation, in the steady state."""

    probes: int
    queries: int
    # Single items read (GetItem): the vantage's own view, the committed version, what the store
    # was last seen to hold.
    item_reads: int
    read_units: Decimal
    writes: int
    write_units: int
    metric_calls: int
    other_calls: int
    # The bytes of the lines the evacuator's own code logs (one log event each, as CloudWatch Logs
    # weighs them), beyond Lambda's own START, END and REPORT lines.
    log_bytes: int


@functools.cache
def evacuator_usage(
    *,
    origins: Sequence[str],
    vantages: Sequence[str],
    key_value_store: bool,
    failures: int,
    recoveries: int,
) -> EvacuatorUsage:
    """The evacuator's calls per invocation of one vantage Region, averaged over the vantage
    Regions, each counted on its second invocation (the first publishes for the first time),
    started a schedule period after the first. Traffic does not change them, so a plan's several
    bills run the evacuator once (cached)."""
    counter = [_Counter()]
    table = _Table(counter)
    second: list[_Counter] = []
    start = 1_765_000_000.123_456_7
    clock = [start]

    def now() -> float:
        return clock[0]

    def sleep(seconds: float) -> None:
        clock[0] += max(seconds, 0.000_001)

    buckets = {origin: f"bucket-{origin}" for origin in origins}
    store = _Store(counter)
    for vantage in vantages:
        document = evacuator_document(
            stack="stack",
            vantage=vantage,
            vantages=vantages,
            buckets=buckets,
            table="table",
            table_region=STATE_TABLE_HOME_REGION,
            kvs_arn="arn:kvs" if key_value_store else None,
            topic_arn="arn:topic",
            account="123456789012",
            failures=failures,
            recoveries=recoveries,
            quorum=EVACUATION_QUORUM,
            max_out=default_max_out(len(origins)),
            probe_seconds=EVACUATION_PROBE_SECONDS,
            invocation_seconds=EVACUATION_INVOCATION_SECONDS,
            fresh_seconds=EVACUATION_FRESH_SECONDS,
            connect_timeout=DEFAULT_CONNECTION_TIMEOUT_SECONDS,
            read_timeout=EVACUATION_READ_TIMEOUT_SECONDS,
        )
        for invocation in range(2):
            counter[0] = _Counter()
            clock[0] = start + invocation * schedule_seconds()
            clients = Clients(
                s3={origin: _Bucket(counter) for origin in origins},
                dynamodb=table,
                kvs=store if key_value_store else None,
                sns=_Recorder(counter),
                cloudwatch=_Recorder(counter),
            )
            Evacuator(
                Settings.from_document(document),
                clients,
                clock=now,
                sleep=sleep,
                log=counter[0].log_lines.append,
            ).run()
            if invocation:
                second.append(counter[0])
    return _average(second)


def _average(counters: Sequence[_Counter]) -> EvacuatorUsage:
    count = len(counters)

    def mean(call: str) -> int:
        return math.ceil(sum(counter.calls.get(call, 0) for counter in counters) / count)

    known = {"get_object", "query", "get_item", "put_item", "put_metric_data"}
    return EvacuatorUsage(
        probes=mean("get_object"),
        queries=mean("query"),
        item_reads=mean("get_item"),
        read_units=sum((counter.read_units for counter in counters), Decimal(0)) / count,
        writes=mean("put_item"),
        write_units=math.ceil(sum(counter.write_units for counter in counters) / count),
        metric_calls=mean("put_metric_data"),
        other_calls=sum(
            calls
            for counter in counters
            for name, calls in counter.calls.items()
            if name not in known
        ),
        log_bytes=math.ceil(
            sum(log_event_bytes(counter.log_lines) for counter in counters) / count
        ),
    )
