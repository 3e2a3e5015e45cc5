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


def routing_state_layout(
    *,
    project: str,
    stack: str,
    engine: Engine,
    origins: Sequence[str],
    evacuation: bool,
    vantages: Sequence[str],
) -> RoutingStateLayout | None:
    """The routing state of a stack, or None when it needs none (one origin is never out of
    rotation).

    The table's home Region is always ``STATE_TABLE_HOME_REGION``, whatever the engine and the
    vantage Regions: a table's Region cannot change in place, so an engine switch or new vantage
    Regions only add and remove replicas. Lambda@Edge reads the table in the Region it runs in, so
    with that engine every Region where it runs holds a replica; with CloudFront Functions only the
    evacuator reads it, in its vantage Regions, and without an evacuator there is no table."""
    if len(origins) < 2:
        return None
    lambda_edge = engine is Engine.LAMBDA_EDGE
    readers: Sequence[str] = (
        lambda_edge_execution_regions() if lambda_edge else vantages if evacuation else ()
    )
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
