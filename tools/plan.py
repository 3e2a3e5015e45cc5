"""Show where a stack sends every edge Region's cache misses, without deploying anything.

    ./dev plan [--stack prod] [--json | --html FILE]

Reads Pulumi.<stack>.yaml the way the Pulumi CLI hands it to the program, validates it with the
program's own settings code (same messages), and prints the routing table the edge function would
carry, with great-circle distances, pinned routes and the size of the function package it would
deploy. ``--json`` prints the same as data; ``--html FILE`` writes a page with a world map of it.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from components.naming import bucket_prefix
from edge_function.package import routing_package_files, zip_package
from routing.catalogue import great_circle_km, load_catalogue
from routing.table import FailoverMode, rank_origins
from settings import PROJECT, Settings
from tools.cli import ToolError, run_command
from tools.stack_file import settings_from_stack_file

# S3 completes bucket names at deploy time; a placeholder of the real length sizes the package.
_PLACEHOLDER_SUFFIX = "0" * 26


@dataclass(frozen=True)
class PlanRow:
    """Where one edge Region's cache misses go, and why."""

    edge: str
    primary: str
    primary_km: float
    failover: str | None
    failover_km: float | None
    # The nearest origin; differs from primary only where a route pins the Region elsewhere.
    nearest: str
    pinned: bool
    # Lambda@Edge executes there today (a Regional edge cache Region).
    execution: bool
    # Fixed failover whose secondary is this Region's primary: a failure there has nowhere to go.
    failover_is_primary: bool

    @property
    def notes(self) -> list[str]:
        """What the table's note column says of this row."""
        notes = []
        if self.pinned:
            notes.append(f"pinned (nearest is {self.nearest})")
        if self.failover_is_primary:
            notes.append("failover = primary: lost while it is down")
        return notes


def plan_rows(settings: Settings) -> list[PlanRow]:
    """One row per catalogue Region, execution Regions first (where Lambda@Edge runs today)."""
    catalogue = load_catalogue()
    table = settings.routing

    def km(edge: str, origin: str) -> float:
        return round(great_circle_km(catalogue[edge], catalogue[origin]), 1)

    rows = []
    for edge, route in table.routes.items():
        rows.append(
            PlanRow(
                edge=edge,
                primary=route.primary,
                primary_km=km(edge, route.primary),
                failover=route.failover,
                failover_km=km(edge, route.failover) if route.failover else None,
                nearest=rank_origins(edge, table.origins)[0],
                pinned=edge in table.pinned,
                execution=catalogue[edge].lambda_edge_execution,
                failover_is_primary=route.failover == route.primary,
            )
        )
    return sorted(rows, key=lambda row: not row.execution)


def warnings(settings: Settings, rows: list[PlanRow]) -> list[str]:
    """What a person should know before deploying this routing."""
    lost = [row.edge for row in rows if row.failover_is_primary]
    if not lost:
        return []
    secondary = settings.routing.failover_origin
    return [
        f"failover {settings.routing.failover_mode.value}: {secondary} is both the primary and "
        f"the failover of {', '.join(lost)}; while {secondary} is down their cache misses fail "
        "(no other bucket is tried). 'ranked' failover never does this "
        f"(pulumi config set {PROJECT}:failover ranked)."
    ]


def package_size(settings: Settings) -> int:
    placeholder_names = {
        code: bucket_prefix(PROJECT, settings.stack, code) + _PLACEHOLDER_SUFFIX
        for code in settings.origins
    }
    files = routing_package_files(
        settings.routing, placeholder_names, marker_header=settings.marker_header
    )
    return len(zip_package(files))


def render_table(settings: Settings, rows: list[PlanRow]) -> str:
    table = settings.routing
    group = (
        f" (origin group: {table.default_origin} -> {table.failover_origin})"
        if table.failover_origin
        else ""
    )
    lines = [
        f"stack {settings.stack}: origins {', '.join(table.origins)}; "
        f"default {table.default_origin}; failover {table.failover_mode.value}{group}",
        f"origin connections: {settings.origin_connection_attempts} attempt(s) x "
        f"{settings.origin_connection_timeout} s, so an unreachable Region delays failover by at "
        f"most {settings.origin_connection_attempts * settings.origin_connection_timeout} s",
        "",
        f" {'edge Region':<16}{'primary':<16}{'km':>7}  {'failover':<16}{'km':>7}  note",
    ]
    for row in rows:
        failover_km = f"{row.failover_km:>7,.0f}" if row.failover_km is not None else f"{'-':>7}"
        lines.append(
            f"{'*' if row.execution else ' '}{row.edge:<16}"
            f"{row.primary:<16}{row.primary_km:>7,.0f}  "
            f"{row.failover or '-':<16}{failover_km}  {'; '.join(row.notes)}".rstrip()
        )
    default = table.default_route
    lines.append(f" {'(unknown)':<16}{default.primary:<16}{'':>7}  {default.failover or '-':<16}")
    lines.append("")
    lines.append(
        "* Lambda@Edge executes there today (Regional edge cache); others are routed in advance."
    )
    return "\n".join(lines)


def plan_document(settings: Settings, rows: list[PlanRow]) -> dict[str, Any]:
    """The plan as data: what ``--json`` prints and the HTML page shows."""
    table = settings.routing
    return {
        "stack": settings.stack,
        "origins": list(table.origins),
        "defaultOrigin": table.default_origin,
        "failover": table.failover_mode.value,
        "originGroup": (
            {"primary": table.default_origin, "secondary": table.failover_origin}
            if table.failover_mode is not FailoverMode.OFF
            else None
        ),
        "routes": {
            row.edge: {
                "primary": row.primary,
                "primaryKm": row.primary_km,
                "failover": row.failover,
                "failoverKm": row.failover_km,
                "nearest": row.nearest,
                "pinned": row.pinned,
                "lambdaEdgeExecution": row.execution,
                "failoverIsPrimary": row.failover_is_primary,
                "notes": row.notes,
            }
            for row in rows
        },
        "defaultRoute": asdict(table.default_route),
        "originConnection": {
            "attempts": settings.origin_connection_attempts,
            "timeoutSeconds": settings.origin_connection_timeout,
        },
        "packageBytes": package_size(settings),
        "warnings": warnings(settings, rows),
    }


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="./dev plan", description=__doc__.splitlines()[0])
    parser.add_argument(
        "--stack", default="prod", help="stack name: reads Pulumi.<stack>.yaml (default: prod)"
    )
    output = parser.add_mutually_exclusive_group()
    output.add_argument("--json", action="store_true", help="print the plan as JSON")
    output.add_argument(
        "--html", type=Path, metavar="FILE", help="write a self-contained page with a world map"
    )
    options = parser.parse_args(argv)
    settings = settings_from_stack_file(options.stack)
    rows = plan_rows(settings)
    if options.json:
        print(json.dumps(plan_document(settings, rows), indent=2))
        return 0
    if options.html:
        from tools.plan_map import render_page

        try:
            options.html.write_text(render_page(plan_document(settings, rows)), encoding="utf-8")
        except OSError as error:
            raise ToolError(f"cannot write {options.html}: {error.strerror}") from None
        print(
            f"wrote {options.html}: the routing of stack {settings.stack} on a world map; "
            "open it in a browser"
        )
        return 0
    print(render_table(settings, rows))
    for warning in warnings(settings, rows):
        print(f"\nwarning: {warning}")
    print(
        f"\nfunction package: {package_size(settings):,} bytes zipped. "
        "Nothing was deployed; run `pulumi up` to deploy."
    )
    return 0


if __name__ == "__main__":
    sys.exit(run_command(main))
