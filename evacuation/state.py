"""The routing state as stored: which origins are out of rotation and by whose decision, what each
vantage Region has seen, and what the key value store holds.

A DynamoDB global table holds, under partition key ``pk`` and sort key ``sk``, one item per owner,
so that no writer ever replaces another's decision:

- ``rotation``/``drained``: the origins the stack drains, written by Pulumi (``pulumi up``) and by
  nothing else;
- ``rotation``/``evacuated``: the origins the health checks hold out, with since when and why, the
  origins they would take out but hold (``held``), and a version: written by the checks only,
  only in the table's home Region, only if nobody changed it since it was read (a conditional
  write holds "against the version of the item in the Region": DynamoDB developer guide, "How
  DynamoDB global tables work",
  https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/V2globaltables_HowItWorks.html);
- ``rotation``/``operator#<Region>``: an operator's decision about that origin, ``out`` (evacuated)
  or ``in`` (held in rotation: the checks leave it in), written by the break-glass commands only;
- ``vantage``/<Region>: that vantage Region's streaks per origin and the tick it last counted,
  written by its evacuator only, conditionally on the tick it read (so two invocations of one
  vantage Region count a tick once);
- ``committed``/``rotation``: the union of the owners' lists with a version that grows with every
  change (what the key value store is given);
- ``published``/``kvs``: the version the key value store was last seen to hold.

The Lambda@Edge function reads the ``rotation`` items in one Query
(``edge_function.origin_request.out_of_rotation``). A CloudFront function reads one key of its key
value store, so the union is published there, under ``ROTATION_KEY``, with its version; a writer
never replaces a newer version (it reads the store's version and writes only with the store's
ETag: "IfMatch: The current version (ETag) of the key value store", CloudFront API reference,
PutKey, https://docs.aws.amazon.com/cloudfront/latest/APIReference/API_kvs_PutKey.html).

An earlier layout kept operators' evacuations in the ``evacuated`` item too (any ``by`` other than
the checks); they still read as operators' decisions, and the first writer moves them to their own
items (``move_operator_entries``).
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from evacuation.decide import (
    OUT,
    Evacuation,
    OperatorDecision,
    Streak,
    View,
    out_of_rotation,
)

ROTATION_PARTITION = "rotation"
DRAINED = "drained"
EVACUATED = "evacuated"
OPERATOR_PREFIX = "operator#"
VANTAGE_PARTITION = "vantage"
COMMITTED_PARTITION = "committed"
PUBLISHED_PARTITION = "published"
# The key value store's keys: what the CloudFront function reads with an evacuator (the union,
# which the evacuator writes), and without one (the drained list, which Pulumi writes).
ROTATION_KEY = "rotation"
DRAINED_KEY = "drained"
# Optimistic writes give up after this many tries (each a fresh read).
ATTEMPTS = 3
# Names for attributes in expressions: any name may be one of DynamoDB's reserved words.
_NAMES = {"#pk": "pk", "#version": "version", "#tick": "tick", "#store": "store"}


def drained_item(regions: Iterable[str]) -> dict[str, Any]:
    """The ``rotation``/``drained`` item (DynamoDB JSON), as Pulumi writes it."""
    return {
        "pk": {"S": ROTATION_PARTITION},
        "sk": {"S": DRAINED},
        "regions": {"L": [{"S": region} for region in sorted(regions)]},
    }


def out_value(out: Collection[str], version: int | None = None) -> str:
    """What a CloudFront function reads from its key value store: ``{"out": [Region, ...]}``, and
    the committed version it is (``"v"``; the function reads ``out`` only)."""
    document: dict[str, Any] = {"out": sorted(out)}
    if version is not None:
        document["v"] = version
    return json.dumps(document, separators=(",", ":"))


def value_version(value: str | None) -> int:
    """The version a store value carries; -1 for none (no value, Pulumi's, an older writer's)."""
    if value is None:
        return -1
    try:
        version = json.loads(value).get("v")
    except (ValueError, AttributeError):
        return -1
    return version if isinstance(version, int) and not isinstance(version, bool) else -1


@dataclass(frozen=True)
class RoutingState:
    """Every owner's part, and the version of the checks' item they were read at."""

    drained: frozenset[str] = frozenset()
    # The ``evacuated`` item: the checks' evacuations (and, from the earlier layout, operators').
    evacuated: Mapping[str, Evacuation] = field(default_factory=lambda: MappingProxyType({}))
    version: int = 0
    # What the checks would take out but hold, and why.
    held: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))
    operators: Mapping[str, OperatorDecision] = field(default_factory=lambda: MappingProxyType({}))

    @property
    def checks(self) -> dict[str, Evacuation]:
        return {origin: record for origin, record in self.evacuated.items() if record.by_checks}

    @property
    def legacy(self) -> dict[str, Evacuation]:
        """Operators' evacuations kept in the ``evacuated`` item by the earlier layout."""
        return {origin: record for origin, record in self.evacuated.items() if not record.by_checks}

    @property
    def decisions(self) -> dict[str, OperatorDecision]:
        """Every operator's decision, those of the earlier layout included."""
        decisions = {
            origin: OperatorDecision(OUT, record.since, record.by, record.reason)
            for origin, record in self.legacy.items()
        }
        decisions.update(self.operators)
        return decisions

    @property
    def out(self) -> frozenset[str]:
        return out_of_rotation(drained=self.drained, checks=self.checks, operators=self.decisions)


@dataclass(frozen=True)
class Committed:
    """The union last committed for the key value store, and its version."""

    version: int = 0
    out: tuple[str, ...] = ()


class StaleStateError(Exception):
    """Another writer changed the item since it was read."""


def _streak(attribute: Mapping[str, Any]) -> Streak:
    values = attribute["M"]
    return Streak(
        failures=int(values["failures"]["N"]),
        successes=int(values["successes"]["N"]),
        since=int(values.get("since", {"N": "0"})["N"]),
        tick=int(values.get("tick", {"N": "0"})["N"]),
    )


def _view(item: Mapping[str, Any]) -> View:
    if "tick" not in item:
        # Written by an earlier evacuator: no ticks, so nothing it says is fresh.
        return View()
    return View(
        int(item["tick"]["N"]),
        MappingProxyType(
            {origin: _streak(streak) for origin, streak in item["origins"]["M"].items()}
        ),
    )


class StateTable:
    """The state table through a DynamoDB client (boto3's low-level client, DynamoDB JSON), in
    one Region's replica (every writer uses the home Region's)."""

    def __init__(self, client: Any, table: str) -> None:
        self.client = client
        self.table = table

    def _items(self, partition: str) -> list[dict[str, Any]]:
        items: list[dict[str, Any]] = []
        arguments: dict[str, Any] = {
            "TableName": self.table,
            "KeyConditionExpression": "pk = :pk",
            "ExpressionAttributeValues": {":pk": {"S": partition}},
            # Writers decide on what was last written in this Region.
            "ConsistentRead": True,
        }
        while True:
            page = self.client.query(**arguments)
            items += page.get("Items", [])
            if "LastEvaluatedKey" not in page:
                return items
            arguments["ExclusiveStartKey"] = page["LastEvaluatedKey"]

    def _item(self, partition: str, sort: str) -> dict[str, Any] | None:
        answer = self.client.get_item(
            TableName=self.table,
            Key={"pk": {"S": partition}, "sk": {"S": sort}},
            ConsistentRead=True,
        )
        item: dict[str, Any] | None = answer.get("Item")
        return item

    def _put(
        self, item: Mapping[str, Any], condition: str | None, values: Mapping[str, Any]
    ) -> None:
        request: dict[str, Any] = {"TableName": self.table, "Item": dict(item)}
        if condition is not None:
            request["ConditionExpression"] = condition
            request["ExpressionAttributeNames"] = {
                name: attribute for name, attribute in _NAMES.items() if name in condition
            }
            if values:
                request["ExpressionAttributeValues"] = dict(values)
        try:
            self.client.put_item(**request)
        except self.client.exceptions.ConditionalCheckFailedException:
            raise StaleStateError(
                f"{item['pk']['S']}/{item['sk']['S']} changed meanwhile"
            ) from None

    # The rotation partition.

    def read(self) -> RoutingState:
        drained: frozenset[str] = frozenset()
        evacuated: dict[str, Evacuation] = {}
        held: dict[str, str] = {}
        operators: dict[str, OperatorDecision] = {}
        version = 0
        for item in self._items(ROTATION_PARTITION):
            owner = item["sk"]["S"]
            if owner == DRAINED:
                drained = frozenset(entry["S"] for entry in item["regions"]["L"])
            elif owner == EVACUATED:
                version = int(item["version"]["N"])
                evacuated = {
                    region: Evacuation(
                        since=record["M"]["since"]["S"],
                        by=record["M"]["by"]["S"],
                        reason=record["M"]["reason"]["S"],
                    )
                    for region, record in item["regions"]["M"].items()
                }
                held = {
                    region: reason["S"]
                    for region, reason in item.get("held", {"M": {}})["M"].items()
                }
            elif owner.startswith(OPERATOR_PREFIX):
                operators[item["region"]["S"]] = OperatorDecision(
                    state=item["state"]["S"],
                    since=item["since"]["S"],
                    by=item["by"]["S"],
                    reason=item["reason"]["S"],
                )
        return RoutingState(
            drained,
            MappingProxyType(evacuated),
            version,
            MappingProxyType(held),
            MappingProxyType(operators),
        )

    def write_evacuated(
        self,
        evacuated: Mapping[str, Evacuation],
        read_at_version: int,
        held: Mapping[str, str] | None = None,
    ) -> int:
        """Replace the checks' item, unless another writer changed it since ``read_at_version``
        (StaleStateError). The new version."""
        version = read_at_version + 1
        item = {
            "pk": {"S": ROTATION_PARTITION},
            "sk": {"S": EVACUATED},
            "version": {"N": str(version)},
            "regions": {
                "M": {
                    region: {
                        "M": {
                            "since": {"S": record.since},
                            "by": {"S": record.by},
                            "reason": {"S": record.reason},
                        }
                    }
                    for region, record in sorted(evacuated.items())
                }
            },
            "held": {
                "M": {region: {"S": reason} for region, reason in sorted((held or {}).items())}
            },
        }
        if read_at_version:
            self._put(item, "#version = :read", {":read": {"N": str(read_at_version)}})
        else:
            self._put(item, "attribute_not_exists(#pk)", {})
        return version

    def write_operator(self, region: str, decision: OperatorDecision) -> None:
        """An operator's decision about ``region`` (the latest operator's stands)."""
        self._put(
            {
                "pk": {"S": ROTATION_PARTITION},
                "sk": {"S": OPERATOR_PREFIX + region},
                "region": {"S": region},
                "state": {"S": decision.state},
                "since": {"S": decision.since},
                "by": {"S": decision.by},
                "reason": {"S": decision.reason},
            },
            None,
            {},
        )

    def remove_operator(self, region: str) -> None:
        """Hand ``region`` back to the health checks."""
        self.client.delete_item(
            TableName=self.table,
            Key={"pk": {"S": ROTATION_PARTITION}, "sk": {"S": OPERATOR_PREFIX + region}},
        )

    # Each vantage Region's view.

    def view(self, vantage: str) -> View:
        item = self._item(VANTAGE_PARTITION, vantage)
        return _view(item) if item is not None else View()

    def views(self) -> dict[str, View]:
        """Every vantage Region's view."""
        return {item["sk"]["S"]: _view(item) for item in self._items(VANTAGE_PARTITION)}

    def write_view(self, vantage: str, view: View, read_at_tick: int) -> None:
        """Replace the vantage Region's view, unless another invocation counted a tick since
        ``read_at_tick`` (StaleStateError)."""
        item = {
            "pk": {"S": VANTAGE_PARTITION},
            "sk": {"S": vantage},
            "tick": {"N": str(view.tick)},
            "origins": {
                "M": {
                    origin: {
                        "M": {
                            "failures": {"N": str(streak.failures)},
                            "successes": {"N": str(streak.successes)},
                            "since": {"N": str(streak.since)},
                            "tick": {"N": str(streak.tick)},
                        }
                    }
                    for origin, streak in sorted(view.streaks.items())
                }
            },
        }
        if read_at_tick:
            self._put(item, "#tick = :read", {":read": {"N": str(read_at_tick)}})
        else:
            self._put(item, "attribute_not_exists(#tick)", {})

    # The union, as committed for the key value store and as published there.

    def committed(self) -> Committed:
        item = self._item(COMMITTED_PARTITION, ROTATION_PARTITION)
        if item is None:
            return Committed()
        return Committed(int(item["version"]["N"]), tuple(e["S"] for e in item["out"]["L"]))

    def commit(self, out: Collection[str], read: Committed) -> Committed:
        """Commit ``out`` as the next version, unless another writer committed since ``read``."""
        committed = Committed(read.version + 1, tuple(sorted(out)))
        item = {
            "pk": {"S": COMMITTED_PARTITION},
            "sk": {"S": ROTATION_PARTITION},
            "version": {"N": str(committed.version)},
            "out": {"L": [{"S": region} for region in committed.out]},
        }
        if read.version:
            self._put(item, "#version = :read", {":read": {"N": str(read.version)}})
        else:
            self._put(item, "attribute_not_exists(#pk)", {})
        return committed

    def published(self, store: str) -> int:
        """The version ``store`` was last seen to hold; -1 when unknown (another store)."""
        item = self._item(PUBLISHED_PARTITION, "kvs")
        if item is None or item.get("store", {}).get("S") != store or "version" not in item:
            return -1
        return int(item["version"]["N"])

    def write_published(self, version: int, store: str) -> None:
        """Record that ``store`` holds ``version``, unless a newer one is recorded already."""
        # StaleStateError: another writer saw a newer version in the store.
        with contextlib.suppress(StaleStateError):
            self._put(
                {
                    "pk": {"S": PUBLISHED_PARTITION},
                    "sk": {"S": "kvs"},
                    "version": {"N": str(version)},
                    "store": {"S": store},
                },
                "attribute_not_exists(#version) OR #version < :version OR #store <> :store",
                {":version": {"N": str(version)}, ":store": {"S": store}},
            )


def move_operator_entries(table: StateTable, state: RoutingState) -> None:
    """Operators' evacuations of the earlier layout, moved to their own items: each item written
    first (the union is the same either way), then the ``evacuated`` item without them, if it has
    not changed meanwhile (StaleStateError: read again)."""
    for origin, record in sorted(state.legacy.items()):
        if origin not in state.operators:
            table.write_operator(
                origin, OperatorDecision(OUT, record.since, record.by, record.reason)
            )
    table.write_evacuated(state.checks, state.version, state.held)


class KeyValueStore:
    """A CloudFront key value store through the ``cloudfront-keyvaluestore`` data-plane client.
    Each call is billed (KeyValueStore-APIOperations), so a writer calls it only when the table
    says the store is behind."""

    def __init__(self, client: Any, arn: str) -> None:
        self.client = client
        self.arn = arn

    def publish(self, key: str, out: Sequence[str], version: int) -> int:
        """Write ``out`` at ``version`` unless the store holds that version or a newer one; the
        version the store holds after. The store's ETag is read first and the write names it, so
        the value compared is the value replaced ("IfMatch", PutKey): a write that raced another
        is refused, and tried again on what won."""
        for attempt in range(ATTEMPTS):
            etag = self.client.describe_key_value_store(KvsARN=self.arn)["ETag"]
            held = value_version(self.get(key))
            if held >= version:
                return held
            try:
                self.client.put_key(
                    KvsARN=self.arn, Key=key, Value=out_value(out, version), IfMatch=etag
                )
            except self.client.exceptions.ConflictException:
                if attempt + 1 == ATTEMPTS:
                    raise StaleStateError("the key value store kept changing") from None
                continue
            return version
        raise StaleStateError("the key value store kept changing")

    def put(self, key: str, value: str) -> None:
        """Write ``value`` whatever the store holds (Pulumi's key, the tests)."""
        for attempt in range(2):
            etag = self.client.describe_key_value_store(KvsARN=self.arn)["ETag"]
            try:
                self.client.put_key(KvsARN=self.arn, Key=key, Value=value, IfMatch=etag)
                return
            except self.client.exceptions.ConflictException:
                if attempt:
                    raise

    def get(self, key: str) -> str | None:
        try:
            return str(self.client.get_key(KvsARN=self.arn, Key=key)["Value"])
        except self.client.exceptions.ResourceNotFoundException:
            return None


@dataclass(frozen=True)
class Publication:
    """What a publication found and did."""

    committed: Committed
    # The version the store holds after it; None when the table said it was up to date already.
    stored: int | None


def commit(table: StateTable) -> tuple[RoutingState, Committed]:
    """Read the state and commit its union if it differs from the committed one (re-reading when
    another writer committed meanwhile). The committed version is read *before* the state: a
    commit made on it (conditionally) then carries a state read after the commit it follows, so a
    later version never holds an older state than an earlier one."""
    for _ in range(ATTEMPTS):
        committed = table.committed()
        state = table.read()
        out = tuple(sorted(state.out))
        if committed.out == out and committed.version:
            return state, committed
        try:
            return state, table.commit(out, committed)
        except StaleStateError:
            continue
    raise StaleStateError("the committed state kept changing")


def publish(table: StateTable, kvs: KeyValueStore, *, always: bool = False) -> Publication:
    """Bring the key value store up to the table: re-read the state right before, commit its
    union if it changed, and write the store unless the table says it holds that version (with
    ``always``, ask the store itself: a store created anew holds nothing yet)."""
    _, committed = commit(table)
    if not always and table.published(kvs.arn) >= committed.version:
        return Publication(committed, None)
    stored = kvs.publish(ROTATION_KEY, committed.out, committed.version)
    table.write_published(stored, kvs.arn)
    return Publication(committed, stored)
