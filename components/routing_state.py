"""RoutingState: where the edge reads which origins are out of rotation, and Pulumi's part of it.

Two owners write the routing state and never the same value (``evacuation.state``): Pulumi writes
the origins the stack drains, on ``pulumi up``; the evacuator and the break-glass commands write
the origins evacuated at run time. This component declares the stores and Pulumi's part only, so a
``pulumi up`` after an evacuation shows no diff and undoes nothing:

- a DynamoDB global table (Lambda@Edge reads it in the replica of the Region it runs in; the
  evacuator keeps its state there), with Pulumi's ``rotation``/``drained`` item;
- with CloudFront Functions, a CloudFront KeyValueStore the function reads once per request; without
  an evacuator Pulumi writes the drained list under ``DRAINED_KEY`` itself, with one the evacuator
  publishes the union under ``ROTATION_KEY`` and Pulumi declares no key at all.

Never ``KeyvaluestoreKeysExclusive``: it would delete every key Pulumi did not declare, the
evacuator's among them.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import pulumi
import pulumi_aws as aws

from core.naming import resource_comment, state_table_name
from core.routing_state import table_change_minutes
from evacuation.state import DRAINED_KEY, drained_item, out_value
from routing.catalogue import REGION_CODE_PATTERN

# The table's key schema (evacuation.state): partition key pk, sort key sk, both strings.
PARTITION_KEY = "pk"
SORT_KEY = "sk"
# A global table (multi-Region eventual consistency, the default) replicates through DynamoDB
# Streams: "DynamoDB Streams is enabled by default on all replicas in an MREC global table and
# cannot be disabled on those replicas" (AWS Prescriptive Guidance, "DynamoDB global tables", FAQ),
# so a table declared without it would show a diff forever, each update trying to turn it off. Which
# view type: "The table must have DynamoDB Streams enabled, with the stream containing both the new
# and the old images of the item" (DynamoDB API reference, CreateGlobalTable, version 2017.11.29);
# the current version's pages do not say, so both images, the conservative reading (what
# CloudFormation's AWS::DynamoDB::GlobalTable StreamSpecification requires a value for "with more
# than one entry in Replicas").
STREAM_VIEW_TYPE = "NEW_AND_OLD_IMAGES"
# The table holds what no deployment can rebuild: the evacuations in force and who made them, the
# operators' among them. A replacement or a stray delete would bring every evacuated Region back at
# once, so the table and each replica are protected: "You should enable deletion protection on
# global table replicas you want protected against accidental deletion. You must enable deletion
# protection on each replica" (DynamoDB developer guide, "Best practices for global tables",
# https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/globaltables-bestpractices.html).
# Removing the table (or a replica) is then a deliberate step (docs/evacuation.md).
DELETION_PROTECTION = True


class RoutingStateError(ValueError):
    """RoutingStateArgs that cannot describe a routing state store."""


@dataclass(frozen=True)
class RoutingStateArgs:
    table_regions: Sequence[str] = ()
    """The Regions of the state table, its home Region first (where it is created and Pulumi writes
    its item; every other Region gets a replica). Default none: no table (CloudFront Functions
    without an evacuator need none)."""

    key_value_store: bool = False
    """Declare a CloudFront KeyValueStore for the CloudFront function to read. Default False."""

    drained_key: bool = False
    """Write the drained list to the key value store under ``DRAINED_KEY`` (CloudFront Functions
    without an evacuator). Needs ``key_value_store``. Default False: with an evacuator, which
    publishes the key the function reads."""

    drained: Sequence[str] = ()
    """The origins the stack drains (Region codes): Pulumi's part of the routing state. Default
    none."""

    table_name: str | None = None
    """The table's name. Default ``<project>-<stack>-routing-state``
    (``naming.state_table_name``)."""

    tags: Mapping[str, str] = field(default_factory=dict)
    """Tags of the table and the key value store. Default none."""

    def __post_init__(self) -> None:
        regions = list(self.table_regions)
        if not regions and not self.key_value_store:
            raise RoutingStateError(
                "a routing state needs a table (table_regions), a store, or both"
            )
        if len(set(regions)) != len(regions):
            raise RoutingStateError(f"table_regions {regions} lists a Region twice")
        for code in [*regions, *self.drained]:
            if not REGION_CODE_PATTERN.match(code):
                raise RoutingStateError(f"{code!r} is not a Region code")
        if self.drained_key and not self.key_value_store:
            raise RoutingStateError("drained_key needs key_value_store")
        if self.drained_key and regions:
            # With a table there is an evacuator publishing the union; a second writer of the key
            # the function reads would race it.
            raise RoutingStateError("drained_key is for a store without a table (no evacuator)")


class RoutingState(pulumi.ComponentResource):
    table_name: pulumi.Output[str] | None
    """The table's name, known once the table and Pulumi's item exist; None without a table."""

    table_arn: pulumi.Output[str] | None
    """The table's ARN in its home Region; None without a table."""

    table_region: str | None
    """The table's home Region; None without a table."""

    table_regions: tuple[str, ...]
    """Every Region holding the table, the home Region first."""

    kvs_arn: pulumi.Output[str] | None
    """The key value store's ARN, known once Pulumi's key (if any) is written; None without a
    store."""

    def __init__(
        self, name: str, args: RoutingStateArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("geo-proximity:index:RoutingState", name, None, opts)
        tags = dict(args.tags)
        self.table_regions = tuple(args.table_regions)
        self.table_region = self.table_regions[0] if self.table_regions else None
        self.table_name = self.table_arn = self.kvs_arn = None
        if self.table_regions:
            self._table(name, args, tags)
        if args.key_value_store:
            self._store(name, args, tags)
        self.register_outputs(
            {
                "tableName": self.table_name,
                "tableArn": self.table_arn,
                "tableRegion": self.table_region,
                "tableRegions": list(self.table_regions),
                "kvsArn": self.kvs_arn,
            }
        )

    def _table(self, name: str, args: RoutingStateArgs, tags: dict[str, str]) -> None:
        home, *replicas = self.table_regions
        child = pulumi.ResourceOptions(parent=self)
        minutes = f"{table_change_minutes(self.table_regions)}m"
        table = aws.dynamodb.Table(
            f"{name}-table",
            aws.dynamodb.TableArgs(
                region=home,
                name=args.table_name or state_table_name(pulumi.get_project(), pulumi.get_stack()),
                # A few items, read by the edge at most once per container and refresh period:
                # on demand costs nothing while idle.
                billing_mode="PAY_PER_REQUEST",
                hash_key=PARTITION_KEY,
                range_key=SORT_KEY,
                attributes=[
                    aws.dynamodb.TableAttributeArgs(name=PARTITION_KEY, type="S"),
                    aws.dynamodb.TableAttributeArgs(name=SORT_KEY, type="S"),
                ],
                stream_enabled=True,
                stream_view_type=STREAM_VIEW_TYPE,
                deletion_protection_enabled=DELETION_PROTECTION,
                # "Do tags on tables propagate? No, tags do not automatically propagate" (the
                # same FAQ): each replica is told to; and each is protected on its own.
                replicas=[
                    aws.dynamodb.TableReplicaArgs(
                        region_name=region,
                        propagate_tags=True,
                        deletion_protection_enabled=DELETION_PROTECTION,
                    )
                    for region in replicas
                ],
                tags=tags,
            ),
            # Its replicas are made (and removed) one after another: up to two hours for the 13
            # Regions of Lambda@Edge (core.routing_state).
            opts=pulumi.ResourceOptions.merge(
                child,
                pulumi.ResourceOptions(
                    custom_timeouts=pulumi.CustomTimeouts(
                        create=minutes, update=minutes, delete=minutes
                    )
                ),
            ),
        )
        # Pulumi's item only: rotation/drained. The evacuator's items (rotation/evacuated,
        # vantage/<Region>, published/kvs) are never declared, so Pulumi neither diffs nor
        # deletes them.
        item = aws.dynamodb.TableItem(
            f"{name}-drained",
            aws.dynamodb.TableItemArgs(
                region=home,
                table_name=table.name,
                hash_key=table.hash_key,
                range_key=table.range_key,
                item=json.dumps(drained_item(args.drained), sort_keys=True),
            ),
            # A replacement names the same item (table, pk, sk): created first, it would be deleted
            # by the old one's deletion.
            opts=pulumi.ResourceOptions.merge(
                child, pulumi.ResourceOptions(delete_before_replace=True)
            ),
        )
        # Whoever reads the table's name reads it once Pulumi's part of the state is written.
        self.table_name = pulumi.Output.all(table.name, item.id).apply(lambda values: values[0])
        self.table_arn = table.arn

    def _store(self, name: str, args: RoutingStateArgs, tags: dict[str, str]) -> None:
        child = pulumi.ResourceOptions(parent=self)
        store = aws.cloudfront.KeyValueStore(
            f"{name}-store",
            aws.cloudfront.KeyValueStoreArgs(
                comment=resource_comment(
                    pulumi.get_project(), pulumi.get_stack(), "origins out of rotation"
                ),
                tags=tags,
            ),
            opts=child,
        )
        if not args.drained_key:
            self.kvs_arn = store.arn
            return
        key = aws.cloudfront.KeyvaluestoreKey(
            f"{name}-drained-key",
            aws.cloudfront.KeyvaluestoreKeyArgs(
                key_value_store_arn=store.arn, key=DRAINED_KEY, value=out_value(args.drained)
            ),
            opts=child,
        )
        self.kvs_arn = pulumi.Output.all(store.arn, key.id).apply(lambda values: values[0])
