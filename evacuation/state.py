"""The routing state as stored: which origins are out of rotation, who put them there, and what
each vantage Region has seen.

A DynamoDB table (a global table: a replica where the state is read) holds, under partition key
``pk`` and sort key ``sk``:

- ``rotation``/``drained``: the origins the stack drains, written by Pulumi (``pulumi up``) and by
  nothing else;
- ``rotation``/``evacuated``: the origins out of rotation at run time, with since when, by whom and
  why, and a version for optimistic concurrency, written by the evacuator and the break-glass
  commands and by nothing else;
- ``vantage``/<Region>: that vantage Region's streaks per origin, written by its evacuator only;
- ``published``/``kvs``: with CloudFront Functions, the value last written to the key value store.

The Lambda@Edge function reads the two ``rotation`` items in one Query. A CloudFront function can
read one key of its key value store per request, so the evacuator publishes the union of both
owners' lists there, under ``ROTATION_KEY``, whenever it changes.
"""

from __future__ import annotations

import json
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from evacuation.decide import Evacuation, Streak

ROTATION_PARTITION = "rotation"
DRAINED = "drained"
EVACUATED = "evacuated"
VANTAGE_PARTITION = "vantage"
PUBLISHED_PARTITION = "published"
# The key value store's keys: what the CloudFront function reads with an evacuator (the union,
# which the evacuator writes), and without one (the drained list, which Pulumi writes).
ROTATION_KEY = "rotation"
DRAINED_KEY = "drained"


def drained_item(regions: Iterable[str]) -> dict[str, Any]:
    """The ``rotation``/``drained`` item (DynamoDB JSON), as Pulumi writes it."""
    return {
        "pk": {"S": ROTATION_PARTITION},
        "sk": {"S": DRAINED},
        "regions": {"L": [{"S": region} for region in sorted(regions)]},
    }


def out_value(out: Collection[str]) -> str:
    """What a CloudFront function reads from its key value store: ``{"out": [Region, ...]}``."""
    return json.dumps({"out": sorted(out)}, separators=(",", ":"))


@dataclass(frozen=True)
class RoutingState:
    """Both owners' lists, and the version of the evacuated list they were read at."""

    drained: frozenset[str] = frozenset()
    evacuated: Mapping[str, Evacuation] = field(default_factory=lambda: MappingProxyType({}))
    version: int = 0

    @property
    def out(self) -> frozenset[str]:
        return self.drained | frozenset(self.evacuated)


class StaleStateError(Exception):
    """Another writer changed the evacuated list since it was read."""


class StateTable:
    """The state table through a DynamoDB client (boto3's low-level client, DynamoDB JSON)."""

    def __init__(self, client: Any, table: str) -> None:
        self.client = client
        self.table = table

    def _items(self, partition: str) -> list[dict[str, Any]]:
        items: list[dict[str, Any]] = []
        arguments: dict[str, Any] = {
            "TableName": self.table,
            "KeyConditionExpression": "pk = :pk",
            "ExpressionAttributeValues": {":pk": {"S": partition}},
            # Writers decide on what every replica agrees was last written in this Region.
            "ConsistentRead": True,
        }
        while True:
            page = self.client.query(**arguments)
            items += page.get("Items", [])
            if "LastEvaluatedKey" not in page:
                return items
            arguments["ExclusiveStartKey"] = page["LastEvaluatedKey"]

    def read(self) -> RoutingState:
        drained: frozenset[str] = frozenset()
        evacuated: dict[str, Evacuation] = {}
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
        return RoutingState(drained, MappingProxyType(evacuated), version)

    def write_evacuated(self, evacuated: Mapping[str, Evacuation], read_at_version: int) -> int:
        """Replace the evacuated list, unless another writer changed it since ``read_at_version``
        (StaleStateError). The new version."""
        version = read_at_version + 1
        try:
            self.client.put_item(
                TableName=self.table,
                Item={
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
                },
                ConditionExpression="attribute_not_exists(pk) OR version = :read",
                ExpressionAttributeValues={":read": {"N": str(read_at_version)}},
            )
        except self.client.exceptions.ConditionalCheckFailedException:
            raise StaleStateError(
                f"the evacuated list changed since version {read_at_version}"
            ) from None
        return version

    def views(self) -> dict[str, dict[str, Streak]]:
        """Every vantage Region's streaks, by vantage Region and origin."""
        return {
            item["sk"]["S"]: {
                origin: Streak(
                    failures=int(streak["M"]["failures"]["N"]),
                    successes=int(streak["M"]["successes"]["N"]),
                    at=float(streak["M"]["at"]["N"]),
                )
                for origin, streak in item["origins"]["M"].items()
            }
            for item in self._items(VANTAGE_PARTITION)
        }

    def write_view(self, vantage: str, streaks: Mapping[str, Streak]) -> None:
        self.client.put_item(
            TableName=self.table,
            Item={
                "pk": {"S": VANTAGE_PARTITION},
                "sk": {"S": vantage},
                "origins": {
                    "M": {
                        origin: {
                            "M": {
                                "failures": {"N": str(streak.failures)},
                                "successes": {"N": str(streak.successes)},
                                "at": {"N": repr(streak.at)},
                            }
                        }
                        for origin, streak in sorted(streaks.items())
                    }
                },
            },
        )

    def published(self) -> str | None:
        """The value last written to the key value store, or None."""
        items = self._items(PUBLISHED_PARTITION)
        return str(items[0]["value"]["S"]) if items else None

    def write_published(self, value: str) -> None:
        self.client.put_item(
            TableName=self.table,
            Item={"pk": {"S": PUBLISHED_PARTITION}, "sk": {"S": "kvs"}, "value": {"S": value}},
        )


class KeyValueStore:
    """A CloudFront key value store through the ``cloudfront-keyvaluestore`` data-plane client.
    Every write names the store's current ETag ("IfMatch ... which you can get using
    DescribeKeyValueStore", API reference), so a write that raced another is refused and tried
    once more. Each call is billed (KeyValueStore-APIOperations), so the evacuator writes only
    when the value changes."""

    def __init__(self, client: Any, arn: str) -> None:
        self.client = client
        self.arn = arn

    def put(self, key: str, value: str) -> None:
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
