"""A self-contained HTML page of a stack's routing: a world map with an arrow from every edge Region
to its primary bucket (dashed: to its failover), pinned Regions marked, and the table beneath.

Land outlines: Natural Earth 1:110m via world-atlas (``tools/map/ATTRIBUTION.md``), decoded from
TopoJSON here and drawn as inline SVG in an equirectangular projection: the page loads nothing, so
it opens anywhere, offline included.
"""

from __future__ import annotations

import html
import itertools
import json
from functools import cache
from pathlib import Path
from typing import Any

from routing.catalogue import load_catalogue

LAND_FILE = Path(__file__).with_name("map") / "land-110m.json"
# Pixels per degree, and the latitudes shown: Antarctica and the Arctic hold no Region.
_SCALE = 3.0
_NORTH, _SOUTH = 78.0, -58.0
WIDTH = round(360 * _SCALE)
HEIGHT = round((_NORTH - _SOUTH) * _SCALE)


def project(longitude: float, latitude: float) -> tuple[float, float]:
    """Equirectangular: x grows east from 180°W, y grows south from the map's northern edge."""
    return (longitude + 180.0) * _SCALE, (_NORTH - latitude) * _SCALE


@cache
def land_path() -> str:
    """The SVG path data of every land polygon in the TopoJSON file."""
    topology = json.loads(LAND_FILE.read_text(encoding="utf-8"))
    (scale_x, scale_y), (shift_x, shift_y) = (
        topology["transform"]["scale"],
        topology["transform"]["translate"],
    )
    arcs = []
    for quantized in topology["arcs"]:
        # TopoJSON arcs are delta-encoded, quantized positions.
        x = y = 0
        points = []
        for dx, dy in quantized:
            x, y = x + dx, y + dy
            points.append(project(x * scale_x + shift_x, y * scale_y + shift_y))
        arcs.append(points)

    def rings(indices: list[int]) -> list[str]:
        points: list[tuple[float, float]] = []
        for index in indices:
            # A negative index is the one's complement of an arc walked backwards.
            arc = arcs[index] if index >= 0 else arcs[~index][::-1]
            points.extend(arc[1:] if points else arc)
        # A ring that crosses the antimeridian (Russia, Fiji) jumps across the whole map: unwrap it
        # into one continuous shape, then draw it once more a map's width over; the view clips both.
        unwrapped, offset = [points[0]], 0.0
        for (previous_x, _), (x, y) in itertools.pairwise(points):
            if x - previous_x > WIDTH / 2:
                offset -= WIDTH
            elif previous_x - x > WIDTH / 2:
                offset += WIDTH
            unwrapped.append((x + offset, y))
        shifts = [0.0]
        if min(x for x, _ in unwrapped) < 0:
            shifts.append(WIDTH)
        if max(x for x, _ in unwrapped) > WIDTH:
            shifts.append(-WIDTH)
        return [
            "M" + "L".join(f"{x + shift:.1f},{y:.1f}" for x, y in unwrapped) + "Z"
            for shift in shifts
        ]

    commands: list[str] = []
    for geometry in topology["objects"]["land"]["geometries"]:
        polygons = geometry["arcs"] if geometry["type"] == "MultiPolygon" else [geometry["arcs"]]
        for polygon in polygons:
            for indices in polygon:
                commands.extend(rings(indices))
    return "".join(commands)


def _curve(start: tuple[float, float], end: tuple[float, float]) -> str:
    """A gently bowed path from ``start`` to ``end``, so arrows to one bucket do not overlap."""
    (x1, y1), (x2, y2) = start, end
    bend = 0.18
    cx, cy = (x1 + x2) / 2 - (y2 - y1) * bend, (y1 + y2) / 2 + (x2 - x1) * bend
    return f"M{x1:.1f},{y1:.1f}Q{cx:.1f},{cy:.1f} {x2:.1f},{y2:.1f}"


def render_page(plan: dict[str, Any]) -> str:
    """The page for ``plan`` (``tools.plan.plan_document``)."""
    catalogue = load_catalogue()
    origins = set(plan["origins"])

    def at(code: str) -> tuple[float, float]:
        region = catalogue[code]
        return project(region.longitude, region.latitude)

    arrows, markers = [], []
    for edge, route in plan["routes"].items():
        if route["primary"] != edge:
            arrows.append(
                f'<path class="primary" data-edge="{edge}" '
                f'd="{_curve(at(edge), at(route["primary"]))}" '
                'marker-end="url(#head)"/>'
            )
        if route["failover"] and route["failover"] != edge:
            arrows.append(
                f'<path class="failover" data-edge="{edge}" '
                f'd="{_curve(at(edge), at(route["failover"]))}" '
                'marker-end="url(#head-failover)"/>'
            )
    for code in catalogue:
        x, y = at(code)
        route = plan["routes"][code]
        kinds = ["region"]
        if code in plan["drained"]:
            kinds.append("drained")
        elif code in origins:
            kinds.append("origin")
        if route["pinned"]:
            kinds.append("pinned")
        if route["lambdaEdgeExecution"]:
            kinds.append("execution")
        radius = 6 if code in origins else 3.5
        title = f"{code}: primary {route['primary']} ({route['primaryKm']:,.0f} km)" + (
            f", failover {route['failover']}" if route["failover"] else ""
        )
        # Labels sit right of the marker, or left of it near the map's eastern edge.
        label_x, anchor = (x + radius + 2, "start") if x < WIDTH - 90 else (x - radius - 2, "end")
        markers.append(
            f'<g class="{" ".join(kinds)}" data-region="{code}"><title>{html.escape(title)}</title>'
            f'<circle cx="{x:.1f}" cy="{y:.1f}" r="{radius}"/>'
            f'<text x="{label_x:.1f}" y="{y + 3:.1f}" text-anchor="{anchor}">{code}</text></g>'
        )

    rows = []
    for edge, route in plan["routes"].items():
        failover_km = f"{route['failoverKm']:,.0f}" if route["failoverKm"] is not None else "-"
        rows.append(
            f"<tr><td>{edge}{' *' if route['lambdaEdgeExecution'] else ''}</td>"
            f"<td>{route['primary']}</td>"
            f"<td class=num>{route['primaryKm']:,.0f}</td><td>{route['failover'] or '-'}</td>"
            f"<td class=num>{failover_km}</td>"
            f"<td>{html.escape('; '.join(route['notes']))}</td></tr>"
        )
    warnings = "".join(
        f'<p class="warning">warning: {html.escape(text)}</p>' for text in plan["warnings"]
    )
    group = plan["originGroup"]
    function, cost = plan["function"], plan["cost"]
    summary = (
        f"engine {plan['engine']}; origins {', '.join(plan['origins'])}; default "
        f"{plan['defaultOrigin']}; failover {plan['failover']}"
        + (f"; drained {', '.join(plan['drained'])} (no traffic)" if plan["drained"] else "")
        + (
            f" (origin group: {group['primary']} → {group['secondary']})"
            if group and plan["engine"] == "lambda-edge"
            else ""
        )
        + f"; {function['what']} {function['bytes']:,} of {function['limitBytes']:,} bytes; "
        f"routing cost at {cost['requestsPerMonth']:,} requests a month and "
        f"{cost['cacheHitRatio']:.0%} cache hits: lambda-edge "
        f"${cost['lambdaEdge']['dollarsPerMonth']:,.2f}, cloudfront-functions "
        f"${cost['cloudfrontFunctions']['dollarsPerMonth']:,.2f}"
    )
    return _PAGE.format(
        stack=html.escape(plan["stack"]),
        summary=html.escape(summary),
        width=WIDTH,
        height=HEIGHT,
        land=land_path(),
        arrows="\n".join(arrows),
        markers="\n".join(markers),
        warnings=warnings,
        rows="\n".join(rows),
    )


_PAGE = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>geo-proximity routing: stack {stack}</title>
<style>
body {{ font: 14px/1.4 system-ui, sans-serif; margin: 1.5em; color: #1d2733; }}
svg {{ width: 100%; max-width: {width}px; height: auto; background: #eaf2fa;
  border: 1px solid #c9d6e3; }}
.land {{ fill: #d9dfd3; stroke: #a9b3a0; stroke-width: 0.5; }}
path.primary {{ fill: none; stroke: #1f6fb2; stroke-width: 1.4; opacity: 0.8; }}
path.failover {{ fill: none; stroke: #c2571a; stroke-width: 1; stroke-dasharray: 5 4;
  opacity: 0.6; }}
.region circle {{ fill: #ffffff; stroke: #1d2733; stroke-width: 1; }}
.region.execution circle {{ fill: #9cc3e6; }}
.region.origin circle {{ fill: #1f6fb2; stroke: #0c2f4d; stroke-width: 2; }}
.region.pinned circle {{ stroke: #b0006a; stroke-width: 2.5; }}
.region.drained circle {{ fill: #ffffff; stroke: #6b7785; stroke-width: 2;
  stroke-dasharray: 2 2; }}
.region text {{ font-size: 9px; fill: #1d2733; paint-order: stroke; stroke: #eaf2fa;
  stroke-width: 2px; }}
.legend span {{ margin-right: 1.5em; }}
.warning {{ color: #8a1c00; font-weight: 600; }}
table {{ border-collapse: collapse; margin-top: 1em; }}
td, th {{ padding: 2px 10px; border-bottom: 1px solid #dde3ea; text-align: left; }}
td.num {{ text-align: right; font-variant-numeric: tabular-nums; }}
footer {{ margin-top: 1.5em; font-size: 12px; color: #5b6b7b; }}
</style>
</head>
<body>
<h1>Routing of stack {stack}</h1>
<p>{summary}</p>
{warnings}
<p class="legend"><span>● filled dark: origin bucket</span>
<span>● light blue: a Regional edge cache Region</span><span>○ dotted: drained origin</span>
<span>ring magenta: pinned route</span>
<span>solid arrow: primary</span><span>dashed arrow: failover</span></p>
<svg id="map" viewBox="0 0 {width} {height}" xmlns="http://www.w3.org/2000/svg" role="img"
 aria-label="World map: each edge Region's arrow to its primary and failover bucket">
<defs>
<marker id="head" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="6" markerHeight="6"
 orient="auto-start-reverse">
<path d="M0,0L10,5L0,10z" fill="#1f6fb2"/></marker>
<marker id="head-failover" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="6" markerHeight="6"
 orient="auto-start-reverse"><path d="M0,0L10,5L0,10z" fill="#c2571a"/></marker>
</defs>
<path class="land" d="{land}"/>
<g id="arrows">
{arrows}
</g>
<g id="regions">
{markers}
</g>
</svg>
<table>
<thead><tr><th>edge Region (* Regional edge cache)</th><th>primary</th><th>km</th>
<th>failover</th><th>km</th><th>note</th></tr></thead>
<tbody>
{rows}
</tbody>
</table>
<footer>Map: Natural Earth 1:110m land (public domain), via world-atlas 2.0.2 (ISC).
Distances are great-circle kilometres between metro areas.
Generated by <code>./dev plan --html</code>; nothing was deployed.</footer>
</body>
</html>
"""
