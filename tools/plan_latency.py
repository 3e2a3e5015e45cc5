"""What ``./dev plan`` says of the routing metric: which one a stack uses and, with ``latency``,
where the nearest origin by distance and the fastest by measurement differ, and by how much."""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from typing import Any

from routing.catalogue import rank_origins
from routing.latency import LatencySnapshot, RoutingMetric, edge_origin_pairs
from settings.parser import Settings
from settings.table import PROJECT_ROOT

# Inter-Region paths change as AWS adds capacity and cables: past this age the plan says to refresh.
STALE_AFTER_DAYS = 90


@dataclass(frozen=True)
class Measured:
    """An edge Region's measured round trips to its route and to the origins that matter."""

    primary_ms: float | None = None
    failover_ms: float | None = None
    # The nearest origin in rotation by distance, and its round trip.
    nearest_ms: float | None = None
    # The fastest origin in rotation by measurement (ties: the nearer), and its round trip.
    fastest: str | None = None
    fastest_ms: float | None = None
    # The primary is not the nearest by distance because latency moved it (not a pin).
    latency_changed: bool = False

    @property
    def gain_ms(self) -> float | None:
        """How much faster the fastest is than the nearest, where both are measured."""
        if self.nearest_ms is None or self.fastest_ms is None:
            return None
        return round(self.nearest_ms - self.fastest_ms, 1)


def measured(
    settings: Settings, edge: str, route: tuple[str, str | None], nearest: str, pinned: bool
) -> Measured:
    """What the snapshot says of ``edge`` (nothing when the stack routes by distance)."""
    snapshot = settings.latency
    if settings.routing_metric is not RoutingMetric.LATENCY or snapshot is None:
        return Measured()
    active = settings.routing.active_origins
    times = {
        code: ms
        for code in rank_origins(edge, active)
        if (ms := snapshot.between(edge, code)) is not None
    }
    fastest = min(times, key=times.__getitem__, default=None)
    primary, failover = route
    return Measured(
        primary_ms=snapshot.between(edge, primary),
        failover_ms=snapshot.between(edge, failover) if failover else None,
        nearest_ms=times.get(nearest),
        fastest=fastest,
        fastest_ms=times.get(fastest) if fastest else None,
        latency_changed=not pinned and primary != nearest,
    )


def metric_line(settings: Settings) -> str:
    """The plan's line on the routing metric."""
    snapshot = settings.latency
    if settings.routing_metric is not RoutingMetric.LATENCY or snapshot is None:
        return "routing metric: distance (the nearest origin by great-circle km)"
    held, asked = pair_coverage(settings, snapshot)
    return (
        f"routing metric: latency ({shown_path(settings)}, p50 round trips measured "
        f"{snapshot.measured.isoformat()}; margin {settings.latency_margin_ms} ms): {held} of "
        f"{asked} pairs from the Regional edge cache Regions to the origins measured, the others "
        "ranked by distance"
    )


def difference_lines(settings: Settings, rows: list[Any]) -> list[str]:
    """Every edge Region whose nearest origin by distance is not the fastest measured one."""
    lines = []
    for row in rows:
        if row.measured.gain_ms is None or row.measured.fastest == row.nearest:
            continue
        if row.pinned:
            outcome = f"pinned to {row.primary}"
        elif row.measured.latency_changed:
            outcome = f"routed to {row.primary}"
        else:
            outcome = f"kept on {row.nearest} (under the {settings.latency_margin_ms} ms margin)"
        lines.append(
            f"- {row.edge}: nearest {row.nearest} ({row.measured.nearest_ms:.1f} ms), fastest "
            f"{row.measured.fastest} ({row.measured.fastest_ms:.1f} ms), "
            f"{row.measured.gain_ms:.1f} ms faster: {outcome}"
        )
    if not lines:
        return ["nearest by distance and fastest by measurement agree for every edge Region"]
    return ["where the nearest origin by distance is not the fastest measured:", *lines]


def latency_warnings(settings: Settings, today: datetime.date | None = None) -> list[str]:
    """Pairs of this stack the snapshot lacks, and a snapshot old enough to refresh."""
    snapshot = settings.latency
    if settings.routing_metric is not RoutingMetric.LATENCY or snapshot is None:
        return []
    found = []
    refresh = f"./dev latency fetch --stack {settings.stack}"
    held, asked = pair_coverage(settings, snapshot)
    if held < asked:
        found.append(
            f"the latency snapshot holds {held} of the {asked} pairs from the Regional edge cache "
            f"Regions to this stack's origins; the other {asked - held} are ranked by distance "
            f"(`{refresh}` asks AWS for them; Regions Infrastructure Performance does not cover "
            "stay unmeasured)."
        )
    age = ((today or datetime.datetime.now(datetime.UTC).date()) - snapshot.measured).days
    if age > STALE_AFTER_DAYS:
        found.append(
            f"the latency snapshot was measured {age} days ago ({snapshot.measured.isoformat()}); "
            f"inter-Region paths change: refresh it with `{refresh}`, review the change with "
            "`./dev plan`, then `pulumi up`."
        )
    return found


def latency_document(settings: Settings) -> dict[str, Any] | None:
    """The plan's ``latency`` object: None when the stack routes by distance."""
    snapshot = settings.latency
    if settings.routing_metric is not RoutingMetric.LATENCY or snapshot is None:
        return None
    held, asked = pair_coverage(settings, snapshot)
    return {
        "file": shown_path(settings),
        "source": snapshot.source,
        "measured": snapshot.measured.isoformat(),
        "statistic": snapshot.statistic,
        "unit": snapshot.unit,
        "marginMs": settings.latency_margin_ms,
        "pairsMeasured": held,
        "pairsToOrigins": asked,
    }


def pair_coverage(settings: Settings, snapshot: LatencySnapshot) -> tuple[int, int]:
    """(pairs held, pairs there are) from every Regional edge cache Region to every origin."""
    pairs = edge_origin_pairs(settings.origins)
    return sum(snapshot.between(*pair) is not None for pair in pairs), len(pairs)


def shown_path(settings: Settings) -> str:
    """The snapshot's path from the project directory where it lies there, else as it is."""
    path = settings.latency_file
    return str(path.relative_to(PROJECT_ROOT)) if path.is_relative_to(PROJECT_ROOT) else str(path)
