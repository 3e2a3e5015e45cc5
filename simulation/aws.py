"""Simulated AWS clients with the methods the project's code calls, on the kernel's clock, no
kinder than AWS's documented contracts.

- ``GlobalTable``: a DynamoDB global table (multi-Region eventual consistency): a replica per
  Region; a write lands in the Region it was sent to and reaches the others after a replication
  delay ("typically within a second", no SLA: DynamoDB developer guide, "How DynamoDB global tables
  work", https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/V2globaltables_HowItWorks.html);
  concurrent changes to one item are settled "last writer wins" by the time of the write, and a
  condition is evaluated "against the version of the item in the Region" (same page); a Region that
  does not answer times its callers out and, once back, receives what it missed ("DynamoDB keeps
  track of any writes that have been performed but have not yet been propagated").
- ``ProbeS3``: the S3 GetObject a vantage Region's probe sends to one origin bucket, answering
  as the origin's state makes it: connections refused or timing out, a stall the read timeout
  ends, 503 Slow Down ("you may see some 503 (Slow Down) errors", S3 user guide, "Best practices
  design patterns: optimizing Amazon S3 performance",
  https://docs.aws.amazon.com/AmazonS3/latest/userguide/optimizing-performance.html), 403 for a
  missing object when the caller may not list the bucket ("If you don't have the s3:ListBucket
  permission, Amazon S3 returns an HTTP status code 403", and the same for an
  ``ExpectedBucketOwner`` that is not the owner: S3 API reference, GetObject,
  https://docs.aws.amazon.com/AmazonS3/latest/API/API_GetObject.html).
- ``KeyValueStore``: the CloudFront KeyValueStore data plane: a store-wide ETag that every PutKey
  must name ("IfMatch: The current version (ETag) of the key value store", API reference, PutKey,
  https://docs.aws.amazon.com/cloudfront/latest/APIReference/API_kvs_PutKey.html), and a history
  of values, from which each edge location sees a write only after a propagation delay (AWS
  documents none: a parameter).
- ``Topic`` and ``Metrics``: SNS Publish and CloudWatch PutMetricData, recorded.
"""

from __future__ import annotations

import heapq
import json
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from botocore.exceptions import (
    ClientError,
    ConnectTimeoutError,
    EndpointConnectionError,
    NoCredentialsError,
    ReadTimeoutError,
)

from simulation.kernel import Kernel

# Round trips: within a Region, within a continent, and between continents (typical public
# figures; nothing here depends on them being exact: the evacuator's waits are bounded by its
# timeouts, not by these).
SAME_REGION_SECONDS = 0.005
SAME_CONTINENT_SECONDS = 0.03
_BETWEEN_CONTINENTS = {
    frozenset({"america", "europe"}): 0.08,
    frozenset({"america", "asia"}): 0.15,
    frozenset({"europe", "asia"}): 0.2,
}
_OTHER_CONTINENTS_SECONDS = 0.25
# How long a call to a Region that does not answer waits before it fails: the connection
# timeout of the caller's client, twice (two attempts).
UNANSWERED_SECONDS = 4.0
# The key value store's API (one global endpoint) and SNS, CloudWatch: a round trip.
SERVICE_SECONDS = 0.1


def _continent(region: str) -> str:
    prefix = region.split("-", 1)[0]
    if prefix in ("us", "ca", "sa", "mx"):
        return "america"
    if prefix in ("eu", "il", "me", "af"):
        return "europe"
    return "asia" if prefix == "ap" else prefix


def round_trip(source: str, target: str) -> float:
    """A request's round trip from ``source``'s Region to ``target``'s."""
    if source == target:
        return SAME_REGION_SECONDS
    first, second = _continent(source), _continent(target)
    if first == second:
        return SAME_CONTINENT_SECONDS
    return _BETWEEN_CONTINENTS.get(frozenset({first, second}), _OTHER_CONTINENTS_SECONDS)


def client_error(
    code: str, status: int, operation: str, message: str = "", kind: type[ClientError] = ClientError
) -> ClientError:
    return kind(
        {
            "Error": {"Code": code, "Message": message or code},
            "ResponseMetadata": {"HTTPStatusCode": status},
        },
        operation,
    )


def _error_class(name: str) -> type[ClientError]:
    return type(name, (ClientError,), {})


# DynamoDB items: DynamoDB JSON, {"pk": {"S": ...}, ...}.
Item = dict[str, Any]
Key = tuple[str, str]


@dataclass
class _Stored:
    item: Item | None  # None: deleted
    written_at: float
    region: str


def _key(item: Mapping[str, Any]) -> Key:
    return (item["pk"]["S"], item["sk"]["S"])


def _value(attribute: Mapping[str, Any]) -> Any:
    ((kind, value),) = attribute.items()
    if kind == "N":
        return Decimal(value)
    if kind in ("S", "BOOL"):
        return value
    raise NotImplementedError(f"a condition on a {kind} attribute")


_COMPARISON = re.compile(r"^\s*([#\w]+)\s*(=|<>|<=|>=|<|>)\s*(:\w+)\s*$")
_FUNCTION = re.compile(r"^\s*(attribute_not_exists|attribute_exists)\(\s*([#\w]+)\s*\)\s*$")
_COMPARE: dict[str, Callable[[Any, Any], bool]] = {
    "=": lambda a, b: a == b,
    "<>": lambda a, b: a != b,
    "<": lambda a, b: a < b,
    "<=": lambda a, b: a <= b,
    ">": lambda a, b: a > b,
    ">=": lambda a, b: a >= b,
}


def condition_holds(
    expression: str,
    item: Item | None,
    values: Mapping[str, Any] | None,
    names: Mapping[str, str] | None,
) -> bool:
    """A ``ConditionExpression`` of the forms the project writes: ``attribute_not_exists(a)``,
    ``attribute_exists(a)`` and ``a OP :v`` joined by ``AND`` and ``OR`` (``AND`` first), as
    DynamoDB evaluates it. Anything else is refused, so that this table can never accept a
    condition DynamoDB would read differently."""
    values, names = values or {}, names or {}

    def name(token: str) -> str:
        return names[token] if token.startswith("#") else token

    def term(text: str) -> bool:
        function = _FUNCTION.match(text)
        if function:
            present = item is not None and name(function.group(2)) in item
            return present if function.group(1) == "attribute_exists" else not present
        comparison = _COMPARISON.match(text)
        if not comparison:
            raise NotImplementedError(f"condition {expression!r}: {text!r}")
        attribute, operator, placeholder = comparison.groups()
        if item is None or name(attribute) not in item:
            return False
        return _COMPARE[operator](_value(item[name(attribute)]), _value(values[placeholder]))

    return any(
        all(term(part) for part in re.split(r"\s+AND\s+", alternative))
        for alternative in re.split(r"\s+OR\s+", expression)
    )


class GlobalTable:
    """One table, a replica in each of ``regions`` (the first its home).

    Replication is worked out when a replica is next looked at, not by events of its own: each
    write is queued for every other replica with the time it arrives there (its replication delay,
    deferred while either Region does not answer), and applied, in the order of arrival, before
    anything reads or writes that replica. ``history`` keeps every replica's ``rotation`` items as
    they changed, for what only reads them (the edge)."""

    class exceptions:  # noqa: N801 - botocore's attribute name
        ConditionalCheckFailedException = _error_class("ConditionalCheckFailedException")
        ResourceNotFoundException = _error_class("ResourceNotFoundException")

    def __init__(
        self,
        kernel: Kernel,
        name: str,
        regions: Sequence[str],
        *,
        replication_delay: Callable[[], float],
        answers: Callable[[str, float], bool],
    ) -> None:
        self.kernel = kernel
        self.name = name
        self.regions = tuple(regions)
        self.replicas: dict[str, dict[Key, _Stored]] = {region: {} for region in self.regions}
        self.replication_delay = replication_delay
        # Whether the Region's endpoint answers at a time (the world's outages).
        self.answers = answers
        self.writes = 0
        # Region → writes on their way to it: (arrival, sequence, key, entry).
        self._pending: dict[str, list[tuple[float, int, Key, _Stored]]] = {
            region: [] for region in self.regions
        }
        self._sequence = 0
        # Region → [(time, the rotation items then)], every change.
        self.history: dict[str, list[tuple[float, list[Item]]]] = {
            region: [] for region in self.regions
        }
        # Called with the Region and the time after a change of one of its ``rotation`` items.
        self.on_change: Callable[[str, float], None] | None = None

    @property
    def home(self) -> str:
        return self.regions[0]

    def client(self, caller: str, region: str) -> DynamoDBClient:
        """A client in ``caller``'s Region for the replica in ``region``."""
        return DynamoDBClient(self, caller, region)

    def replica(self, region: str) -> dict[Key, _Stored]:
        """The replica as it is now, every write that has arrived applied."""
        pending = self._pending[region]
        while pending and pending[0][0] <= self.kernel.now:
            arrival, _, key, entry = heapq.heappop(pending)
            self._apply(region, key, entry, arrival)
        return self.replicas[region]

    def settle(self) -> None:
        """Every replica caught up to now (at the end of a run)."""
        for region in self.regions:
            self.replica(region)

    def items(self, region: str, partition: str) -> list[Item]:
        """The replica's items of ``partition``, by sort key (no latency: the checkers' view)."""
        stored = self.replica(region)
        return [
            json.loads(json.dumps(entry.item))
            for (pk, _), entry in sorted(stored.items())
            if pk == partition and entry.item is not None
        ]

    def put_direct(self, region: str, item: Item) -> None:
        """A write from outside the simulated processes (Pulumi's, at deploy time)."""
        self.replica(region)
        self._write(region, _key(item), json.loads(json.dumps(item)))

    def _write(self, region: str, key: Key, item: Item | None) -> None:
        written_at = self.kernel.now
        self.writes += 1
        entry = _Stored(item, written_at, region)
        self._apply(region, key, entry, written_at)
        for other in self.regions:
            if other != region:
                arrival = self._arrival(region, other, written_at + self.replication_delay())
                heapq.heappush(self._pending[other], (arrival, self._sequence, key, entry))
                self._sequence += 1

    def _arrival(self, source: str, target: str, at: float) -> float:
        """When a write sent at ``at`` lands: once both Regions answer ("DynamoDB keeps track of
        any writes that have been performed but have not yet been propagated")."""
        while not (self.answers(source, at) and self.answers(target, at)):
            at += 1.0
        return at

    def _apply(self, region: str, key: Key, entry: _Stored, at: float) -> None:
        current = self.replicas[region].get(key)
        # Last writer wins, by the time of the write (then by Region, for a deterministic tie).
        if current is not None and (entry.written_at, entry.region) < (
            current.written_at,
            current.region,
        ):
            return
        self.replicas[region][key] = entry
        if key[0] == "rotation":
            items = [
                json.loads(json.dumps(stored.item))
                for (pk, _), stored in sorted(self.replicas[region].items())
                if pk == "rotation" and stored.item is not None
            ]
            self.history[region].append((at, items))
            if self.on_change is not None:
                self.on_change(region, at)


class DynamoDBClient:
    """The low-level client's calls the project makes, against one replica."""

    def __init__(self, table: GlobalTable, caller: str, region: str) -> None:
        self.table = table
        self.caller = caller
        self.region = region
        self.exceptions = GlobalTable.exceptions
        self.calls = 0

    def _round_trip(self, operation: str) -> None:
        kernel = self.table.kernel
        self.calls += 1
        if not self.table.answers(self.region, kernel.now):
            kernel.spend(UNANSWERED_SECONDS)
            raise ConnectTimeoutError(endpoint_url=f"https://dynamodb.{self.region}.amazonaws.com")
        kernel.spend(round_trip(self.caller, self.region))
        if not self.table.answers(self.region, kernel.now):
            raise ConnectTimeoutError(endpoint_url=f"https://dynamodb.{self.region}.amazonaws.com")

    def _check_table(self, name: str, operation: str) -> None:
        if name != self.table.name:
            raise client_error(
                "ResourceNotFoundException",
                400,
                operation,
                kind=GlobalTable.exceptions.ResourceNotFoundException,
            )

    def query(self, **request: Any) -> dict[str, Any]:
        self._check_table(request["TableName"], "Query")
        if request["KeyConditionExpression"].replace(" ", "") != "pk=:pk":
            raise NotImplementedError(request["KeyConditionExpression"])
        self._round_trip("Query")
        partition = request["ExpressionAttributeValues"][":pk"]["S"]
        return {"Items": self.table.items(self.region, partition)}

    def get_item(self, **request: Any) -> dict[str, Any]:
        self._check_table(request["TableName"], "GetItem")
        self._round_trip("GetItem")
        entry = self.table.replica(self.region).get(_key(request["Key"]))
        if entry is None or entry.item is None:
            return {}
        return {"Item": json.loads(json.dumps(entry.item))}

    def _conditional(self, operation: str, key: Key, request: Mapping[str, Any]) -> None:
        expression = request.get("ConditionExpression")
        if expression is None:
            return
        entry = self.table.replica(self.region).get(key)
        current = entry.item if entry is not None else None
        if not condition_holds(
            expression,
            current,
            request.get("ExpressionAttributeValues"),
            request.get("ExpressionAttributeNames"),
        ):
            raise client_error(
                "ConditionalCheckFailedException",
                400,
                operation,
                "The conditional request failed",
                GlobalTable.exceptions.ConditionalCheckFailedException,
            )

    def put_item(self, **request: Any) -> dict[str, Any]:
        self._check_table(request["TableName"], "PutItem")
        self._round_trip("PutItem")
        item = json.loads(json.dumps(request["Item"]))
        self._conditional("PutItem", _key(item), request)
        self.table._write(self.region, _key(item), item)
        return {}

    def delete_item(self, **request: Any) -> dict[str, Any]:
        self._check_table(request["TableName"], "DeleteItem")
        self._round_trip("DeleteItem")
        key = _key(request["Key"])
        self._conditional("DeleteItem", key, request)
        self.table._write(self.region, key, None)
        return {}


class Body:
    """A GetObject answer's body (botocore's StreamingBody, as far as the probe reads it)."""

    def __init__(self, data: bytes) -> None:
        self.data = data
        self.read_bytes = 0
        self.closed = False

    def read(self, amt: int | None = None) -> bytes:
        chunk = self.data[self.read_bytes :] if amt is None else self.data[self.read_bytes :][:amt]
        self.read_bytes += len(chunk)
        return chunk

    def close(self) -> None:
        self.closed = True


class Answer:
    """What a probe gets from an origin, chosen by the world at the moment it is sent."""

    OK = "ok"
    REFUSED = "refused"  # the Region's endpoint refuses connections
    CONNECT_TIMEOUT = "connect timeout"  # nothing answers the connection attempt (or a lost SYN)
    STALLED = "stalled"  # connected, no answer until the read timeout
    SLOW_DOWN = "503 SlowDown"
    INTERNAL_ERROR = "500 InternalError"
    FORBIDDEN = "403 AccessDenied"  # a missing object without ListBucket, a denying policy
    NO_CREDENTIALS = "no credentials"  # the probe cannot be signed: it never leaves


@dataclass
class ProbeS3:
    """A vantage Region's S3 client for one origin's Regional endpoint, with the probe's
    timeouts and a single attempt."""

    kernel: Kernel
    # The probing vantage Region, and the origin's.
    vantage: str
    region: str
    bucket: str
    account: str
    connect_timeout: float
    read_timeout: float
    # The answer to a probe sent now (the world's state of the origin, seen from this vantage).
    answer: Callable[[], str]
    health_body: bytes = b"ok\n"
    calls: list[dict[str, Any]] = field(default_factory=list)

    def get_object(self, **request: Any) -> dict[str, Any]:
        self.calls.append(dict(request))
        endpoint = f"https://s3.{self.region}.amazonaws.com/{request.get('Bucket')}"
        answer = self.answer()
        if answer == Answer.NO_CREDENTIALS:
            raise NoCredentialsError()
        latency = round_trip(self.vantage, self.region)
        if answer == Answer.REFUSED:
            self.kernel.spend(latency)
            raise EndpointConnectionError(endpoint_url=endpoint)
        if answer == Answer.CONNECT_TIMEOUT:
            self.kernel.spend(self.connect_timeout)
            raise ConnectTimeoutError(endpoint_url=endpoint)
        if answer == Answer.STALLED:
            self.kernel.spend(latency + self.read_timeout)
            raise ReadTimeoutError(endpoint_url=endpoint)
        # Connecting (a round trip), then the request and its answer (another).
        self.kernel.spend(2 * latency)
        owner = request.get("ExpectedBucketOwner")
        if request.get("Bucket") != self.bucket or (owner is not None and owner != self.account):
            raise client_error("AccessDenied", 403, "GetObject", "Access Denied")
        if answer == Answer.SLOW_DOWN:
            raise client_error("SlowDown", 503, "GetObject", "Please reduce your request rate.")
        if answer == Answer.INTERNAL_ERROR:
            raise client_error("InternalError", 500, "GetObject", "We encountered an error.")
        if answer == Answer.FORBIDDEN:
            raise client_error("AccessDenied", 403, "GetObject", "Access Denied")
        data = self.health_body
        status = 200
        ranged = request.get("Range")
        if ranged is not None:
            match = re.fullmatch(r"bytes=(\d+)-(\d+)", ranged)
            if not match:
                raise NotImplementedError(ranged)
            first, last = int(match.group(1)), int(match.group(2))
            if first >= len(data):
                raise client_error(
                    "InvalidRange", 416, "GetObject", "The requested range is not satisfiable"
                )
            data, status = data[first : last + 1], 206
        return {
            "Body": Body(data),
            "ContentLength": len(data),
            "ResponseMetadata": {"HTTPStatusCode": status},
        }


class KeyValueStore:
    """The store's data plane, and what each edge location sees of it."""

    class exceptions:  # noqa: N801 - botocore's attribute name
        ConflictException = _error_class("ConflictException")
        ResourceNotFoundException = _error_class("ResourceNotFoundException")
        ValidationException = _error_class("ValidationException")

    def __init__(self, kernel: Kernel, arn: str, answers: Callable[[float], bool]) -> None:
        self.kernel = kernel
        self.arn = arn
        self.answers = answers
        self.etag = 0
        self.values: dict[str, str] = {}
        # Every accepted write: (time, key, value).
        self.history: list[tuple[float, str, str]] = []
        self.calls = 0

    def _call(self, arn: str, operation: str) -> None:
        self.calls += 1
        self.kernel.spend(SERVICE_SECONDS)
        if not self.answers(self.kernel.now):
            raise client_error("InternalServerException", 500, operation)
        if arn != self.arn:
            raise client_error(
                "ResourceNotFoundException",
                404,
                operation,
                kind=self.exceptions.ResourceNotFoundException,
            )

    def describe_key_value_store(self, *, KvsARN: str) -> dict[str, Any]:  # noqa: N803
        self._call(KvsARN, "DescribeKeyValueStore")
        return {"ETag": f"E{self.etag}", "KvsARN": self.arn, "ItemCount": len(self.values)}

    def get_key(self, *, KvsARN: str, Key: str) -> dict[str, Any]:  # noqa: N803
        self._call(KvsARN, "GetKey")
        if Key not in self.values:
            raise client_error(
                "ResourceNotFoundException",
                404,
                "GetKey",
                kind=self.exceptions.ResourceNotFoundException,
            )
        return {"Key": Key, "Value": self.values[Key], "ItemCount": len(self.values)}

    def put_key(self, *, KvsARN: str, Key: str, Value: str, IfMatch: str) -> dict[str, Any]:  # noqa: N803
        self._call(KvsARN, "PutKey")
        if len(Value.encode()) > 1024:
            raise client_error(
                "ValidationException",
                400,
                "PutKey",
                "value over 1 KB",
                self.exceptions.ValidationException,
            )
        if IfMatch != f"E{self.etag}":
            raise client_error(
                "ConflictException", 409, "PutKey", "stale ETag", self.exceptions.ConflictException
            )
        self.etag += 1
        self.values[Key] = Value
        self.history.append((self.kernel.now, Key, Value))
        return {"ETag": f"E{self.etag}", "ItemCount": len(self.values)}

    def seen_at(self, key: str, time: float, propagation: float) -> str | None:
        """The value of ``key`` an edge location reads at ``time``: the last write that reached it
        (written at least ``propagation`` seconds before)."""
        seen = None
        for written_at, written_key, value in self.history:
            if written_at + propagation > time:
                break
            if written_key == key:
                seen = value
        return seen


@dataclass
class Topic:
    """SNS Publish, recorded."""

    kernel: Kernel
    messages: list[tuple[float, str, str]] = field(default_factory=list)

    def publish(self, *, TopicArn: str, Subject: str, Message: str) -> dict[str, Any]:  # noqa: N803
        self.kernel.spend(SERVICE_SECONDS)
        if len(Subject) > 100:
            raise client_error("InvalidParameter", 400, "Publish", "Subject over 100 characters")
        self.messages.append((self.kernel.now, Subject, Message))
        return {"MessageId": str(len(self.messages))}


@dataclass
class Metrics:
    """CloudWatch PutMetricData, recorded: (time, namespace, name, dimensions, value)."""

    kernel: Kernel
    points: list[tuple[float, str, str, dict[str, str], float]] = field(default_factory=list)

    def put_metric_data(
        self,
        *,
        Namespace: str,  # noqa: N803 - boto3's parameter names
        MetricData: list[dict[str, Any]],  # noqa: N803
    ) -> dict[str, Any]:
        self.kernel.spend(SERVICE_SECONDS)
        if len(MetricData) > 1000:
            raise client_error("InvalidParameterValue", 400, "PutMetricData", "over 1,000 items")
        for datum in MetricData:
            dimensions = {d["Name"]: d["Value"] for d in datum.get("Dimensions", [])}
            self.points.append(
                (self.kernel.now, Namespace, datum["MetricName"], dimensions, float(datum["Value"]))
            )
        return {}
