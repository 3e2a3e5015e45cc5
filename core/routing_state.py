"""Where a stack's routing state lives, derived once: the table (its name, home Region and
replicas), the key value store, the key a CloudFront function reads, and the ``routingState``
stack output that names them.

``__main__.py`` declares the stores from this layout, the sandbox builds its emulated stores from
it, and the break-glass commands read the output it describes, so the three never disagree about
where the state is.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from core.engine import Engine
from core.evacuation import STATE_TABLE_HOME_REGION
from core.naming import state_table_name
from evacuation.state import DRAINED_KEY, ROTATION_KEY
from routing.catalogue import lambda_edge_execution_regions

# Adding a replica "might take a few minutes for an empty table, or up to several hours for large
# tables", and "you can only add or remove a single replica in each update" (CloudFormation,
# AWS::DynamoDB::GlobalTable, Replicas: https://docs.aws.amazon.com/AWSCloudFormation/latest/
# UserGuide/aws-resource-dynamodb-globaltable.html). pulumi-aws's Table adds and removes its
# replicas one after another within one create or update, inside its time-outs, 30 minutes to
# create and 60 to update by default (the Terraform AWS provider's aws_dynamodb_table,
# "Timeouts"): too little for twelve replicas. The table holds a few small items, so "a few
# minutes" each; AWS gives no figure, so this program allows 10 minutes for the table and 10 for
# each replica, a conservative reading of its own.
TABLE_CHANGE_MINUTES_PER_REGION = 10


def table_change_minutes(table_regions: Sequence[str]) -> int:
    """How long ``pulumi up`` may take to create, change or delete the table in ``table_regions``
    (its home and its replicas, each created or removed after the one before)."""
    return TABLE_CHANGE_MINUTES_PER_REGION * max(len(table_regions), 1)


@dataclass(frozen=True)
class RoutingStateLayout:
    """The stores of one stack's routing state."""

    engine: Engine
    table_name: str
    table_regions: tuple[str, ...]
    """Every Region holding the table, its home Region first; empty when there is no table
    (CloudFront Functions without an evacuator)."""

    key_value_store: bool
    """Whether a CloudFront KeyValueStore holds the state a CloudFront function reads."""

    state_key: str | None
    """The store key the CloudFront function reads: the union the evacuator publishes
    (``ROTATION_KEY``), or without an evacuator the drained list Pulumi writes (``DRAINED_KEY``);
    None with Lambda@Edge."""

    vantages: tuple[str, ...]
    """The Regions the evacuator probes from; empty without an evacuator."""

    @property
    def table_region(self) -> str | None:
        """The table's home Region: where it is created, Pulumi writes its item and every
        evacuator decides; None without a table."""
        return self.table_regions[0] if self.table_regions else None

    @property
    def evacuation(self) -> bool:
        return bool(self.vantages)

    @property
    def drained_key(self) -> bool:
        """Whether Pulumi writes the drained list to the store itself (no evacuator to publish)."""
        return self.state_key == DRAINED_KEY


def table_readers(engine: Engine, evacuation: bool, vantages: Sequence[str]) -> tuple[str, ...]:
    """The Regions whose replica of the state table ``engine``'s code reads: every Region where
    Lambda@Edge runs, or with CloudFront Functions the evacuator's vantage Regions (none without
    an evacuator, which is then the table's only reader)."""
    if engine is Engine.LAMBDA_EDGE:
        return lambda_edge_execution_regions()
    return tuple(vantages) if evacuation else ()


def routing_state_layout(
    *,
    project: str,
    stack: str,
    engine: Engine,
    origins: Sequence[str],
    evacuation: bool,
    vantages: Sequence[str],
    next_engine: Engine | None = None,
) -> RoutingStateLayout | None:
    """The routing state of a stack, or None when it needs none (one origin is never out of
    rotation).

    The table's home Region is always ``STATE_TABLE_HOME_REGION``, whatever the engine and the
    vantage Regions: a table's Region cannot change in place, so an engine switch or new vantage
    Regions only add and remove replicas. Lambda@Edge reads the table in the Region it runs in, so
    with that engine every Region where it runs holds a replica; with CloudFront Functions only the
    evacuator reads it, in its vantage Regions, and without an evacuator there is no table.

    While a switch is under way (``next_engine`` set) the table serves both engines' readers: the
    replicas a new Lambda@Edge version reads exist before it does, and those an old one reads stay
    until ``nextEngine`` is removed, after the distribution has moved (docs/engines.md). A table
    update comes before the distribution's in one ``pulumi up`` (the function reads the table's
    name, with CloudFront Functions through the evacuator), so the step that moves the
    distribution must not drop a replica."""
    if len(origins) < 2:
        return None
    lambda_edge = engine is Engine.LAMBDA_EDGE
    readers = table_readers(engine, evacuation, vantages)
    if next_engine is not None and readers:
        # Without readers of its own the engine has no table: the next one's comes with it (a
        # Lambda@Edge function waits for its table), and a table the program drops is deleted at
        # the end of `pulumi up`, after the distribution has moved.
        readers = (*readers, *table_readers(next_engine, evacuation, vantages))
    table_regions = tuple(dict.fromkeys([STATE_TABLE_HOME_REGION, *readers])) if readers else ()
    return RoutingStateLayout(
        engine=engine,
        table_name=state_table_name(project, stack),
        table_regions=table_regions,
        key_value_store=not lambda_edge,
        state_key=None if lambda_edge else ROTATION_KEY if evacuation else DRAINED_KEY,
        vantages=tuple(vantages) if evacuation else (),
    )


def routing_state_output(
    layout: RoutingStateLayout | None,
    *,
    engine: Engine,
    table: Any = None,
    kvs_arn: Any = None,
) -> dict[str, Any]:
    """The ``routingState`` stack output, as ``pulumi stack output --json`` prints it: what the
    break-glass commands read to find the stores. ``table`` and ``kvs_arn`` are the deployed
    names (Pulumi outputs in the program, plain text in the sandbox)."""
    return {
        "engine": engine.value,
        "table": table if layout and layout.table_regions else None,
        "tableRegion": layout.table_region if layout else None,
        "tableRegions": list(layout.table_regions) if layout else [],
        "kvsArn": kvs_arn if layout and layout.key_value_store else None,
        "stateKey": layout.state_key if layout else None,
        "evacuation": bool(layout and layout.evacuation),
        "vantages": list(layout.vantages) if layout else [],
    }
