"""A self-contained HTML page of a stack's routing: a world map with an arrow from every edge Region
to its primary bucket (dashed: to its failover; green: a route measured latency moved away from the
nearest bucket), pinned Regions marked, and the table beneath.
The map takes the window's width (an SVG viewBox at width 100%); where Regions cluster (Europe,
us-east-1/us-east-2, Tokyo/Osaka/Seoul, Singapore/Kuala Lumpur/Jakarta) their labels move apart,
each joined to its dot by a leader line, so that no label covers another label or a dot.

Land outlines: Natural Earth 1:110m via world-atlas (``tools/map/ATTRIBUTION.md``), decoded from
TopoJSON here and drawn as inline SVG in an equirectangular projection: the page loads nothing, so
it opens anywhere, offline included.
"""

from __future__ import annotations

import html
import itertools
import json
import math
from collections.abc import Iterable
from dataclasses import dataclass
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


# Labels: a monospaced font whose every glyph is 0.6 em wide, and textLength pins each label to
# exactly that width in any browser, so their boxes are known here without measuring text.
LABEL_FONT_SIZE = 10.0
_CHAR_WIDTH = 0.6 * LABEL_FONT_SIZE
# A line's box: the font's ascent and descent (about 1.17 em for DejaVu and Liberation Mono).
LABEL_HEIGHT = 1.2 * LABEL_FONT_SIZE
# Space kept between a label and any other label, dot or leader line.
_GAP = 2.0
ORIGIN_RADIUS, REGION_RADIUS = 6.0, 3.5

Box = tuple[float, float, float, float]  # left, top, right, bottom


@dataclass(frozen=True)
class Label:
    """Where a Region's code is written: a box beside its dot, or further out with a leader line
    from the dot's edge to the box."""

    code: str
    left: float
    middle: float  # the text's vertical centre (dominant-baseline: central)
    width: float
    leader: tuple[float, float, float, float] | None = None

    @property
    def box(self) -> Box:
        half = LABEL_HEIGHT / 2
        return self.left, self.middle - half, self.left + self.width, self.middle + half


def _overlap(a: Box, b: Box, gap: float = 0.0) -> bool:
    return a[0] < b[2] + gap and b[0] < a[2] + gap and a[1] < b[3] + gap and b[1] < a[3] + gap


def _segment_hits_box(segment: tuple[float, float, float, float], box: Box) -> bool:
    """Whether the segment passes through the box (Liang-Barsky clipping)."""
    x1, y1, x2, y2 = segment
    dx, dy = x2 - x1, y2 - y1
    low, high = 0.0, 1.0
    for p, q in ((-dx, x1 - box[0]), (dx, box[2] - x1), (-dy, y1 - box[1]), (dy, box[3] - y1)):
        if p == 0:
            if q < 0:
                return False
        elif p < 0:
            low = max(low, q / p)
        else:
            high = min(high, q / p)
        if low > high:
            return False
    return True


def _segments_cross(a: tuple[float, ...], b: tuple[float, ...]) -> bool:
    def side(ox: float, oy: float, px: float, py: float, qx: float, qy: float) -> float:
        return (px - ox) * (qy - oy) - (py - oy) * (qx - ox)

    d1 = side(b[0], b[1], b[2], b[3], a[0], a[1])
    d2 = side(b[0], b[1], b[2], b[3], a[2], a[3])
    d3 = side(a[0], a[1], a[2], a[3], b[0], b[1])
    d4 = side(a[0], a[1], a[2], a[3], b[2], b[3])
    return d1 * d2 < 0 and d3 * d4 < 0


def _candidates(x: float, y: float, radius: float, width: float, away: float) -> list[Label]:
    """Where a label may go, best first: beside the dot (right, left, above, below, diagonals),
    then ever further out with a leader line, the directions facing away from the cluster first."""
    half = LABEL_HEIGHT / 2
    near = radius + 3
    diagonal = radius * 0.7 + 2
    beside = [
        (x + near, y),
        (x - near - width, y),
        (x - width / 2, y - radius - 2 - half),
        (x - width / 2, y + radius + 2 + half),
        (x + diagonal, y - diagonal - half + 2),
        (x + diagonal, y + diagonal + half - 2),
        (x - diagonal - width, y - diagonal - half + 2),
        (x - diagonal - width, y + diagonal + half - 2),
    ]
    found = [Label("", left, middle, width) for left, middle in beside]
    directions = sorted(
        (math.radians(degrees) for degrees in range(0, 360, 15)),
        key=lambda angle: -math.cos(angle - away),
    )
    for distance in (16, 24, 34, 46, 60, 76, 94, 115, 140):
        for angle in directions:
            cos, sin = math.cos(angle), math.sin(angle)
            px, py = x + distance * cos, y + distance * sin
            left = px if cos > 0.25 else px - width if cos < -0.25 else px - width / 2
            middle = py + half if sin > 0.25 else py - half if sin < -0.25 else py
            leader = (x + radius * cos, y + radius * sin, px, py)
            found.append(Label("", left, middle, width, leader))
    return found


def _fits(
    label: Label, placed: Iterable[Label], other_dots: dict[str, Box], *, strict: bool
) -> bool:
    """Whether ``label`` stays on the map and clear of every placed label, every dot and every
    placed leader line; ``strict``: and its own leader crosses no label, leader or other dot."""
    box = label.box
    if box[0] < 1 or box[1] < 1 or box[2] > WIDTH - 1 or box[3] > HEIGHT - 1:
        return False
    placed = list(placed)
    if any(_overlap(box, other.box, _GAP) for other in placed):
        return False
    if any(_overlap(box, dot, _GAP) for dot in other_dots.values()):
        return False
    if any(other.leader and _segment_hits_box(other.leader, box) for other in placed):
        return False
    if label.leader is None or not strict:
        return True
    return not any(
        _segment_hits_box(label.leader, other.box)
        or (other.leader is not None and _segments_cross(label.leader, other.leader))
        for other in placed
    ) and not any(_segment_hits_box(label.leader, dot) for dot in other_dots.values())


def place_labels(dots: dict[str, tuple[float, float, float]]) -> dict[str, Label]:
    """A label for every dot (code → x, y, radius) that overlaps no other label, no dot and no
    other leader line, within the map; the most crowded dots are placed first."""

    def crowd(code: str) -> list[str]:
        x, y, _ = dots[code]
        return [
            other
            for other, (ox, oy, _) in dots.items()
            if other != code and math.hypot(ox - x, oy - y) < 60
        ]

    dot_boxes = {
        code: (x - radius, y - radius, x + radius, y + radius)
        for code, (x, y, radius) in dots.items()
    }
    placed: dict[str, Label] = {}
    for code in sorted(dots, key=lambda code: (-len(crowd(code)), code)):
        x, y, radius = dots[code]
        neighbours = crowd(code)
        if neighbours:
            cx = sum(dots[other][0] for other in neighbours) / len(neighbours)
            cy = sum(dots[other][1] for other in neighbours) / len(neighbours)
            away = math.atan2(y - cy, x - cx) if (cx, cy) != (x, y) else 0.0
        else:
            away = 0.0
        width = len(code) * _CHAR_WIDTH

        candidates = _candidates(x, y, radius, width, away)
        others = {other: box for other, box in dot_boxes.items() if other != code}
        label = next(
            (c for c in candidates if _fits(c, placed.values(), others, strict=True)), None
        ) or next(
            (c for c in candidates if _fits(c, placed.values(), others, strict=False)),
            candidates[0],
        )
        placed[code] = Label(code, label.left, label.middle, label.width, label.leader)
    return placed


def _curve(start: tuple[float, float], end: tuple[float, float]) -> str:
    """A gently bowed path from ``start`` to ``end``, so arrows to one bucket do not overlap."""
    (x1, y1), (x2, y2) = start, end
    bend = 0.18
    cx, cy = (x1 + x2) / 2 - (y2 - y1) * bend, (y1 + y2) / 2 + (x2 - x1) * bend
    return f"M{x1:.1f},{y1:.1f}Q{cx:.1f},{cy:.1f} {x2:.1f},{y2:.1f}"


def _region_markers(plan: dict[str, Any], dots: dict[str, tuple[float, float, float]]) -> str:
    """Every Region's dot, its label and any leader line, with its route as a tooltip."""
    origins = set(plan["origins"])
    labels = place_labels(dots)
    markers = []
    for code, (x, y, radius) in dots.items():
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
        title = (
            f"{code}: primary {route['primary']} ({route['primaryKm']:,.0f} km"
            + (f", {route['primaryMs']:.1f} ms" if route.get("primaryMs") is not None else "")
            + ")"
            + (f", failover {route['failover']}" if route["failover"] else "")
        )
        label = labels[code]
        leader = (
            '<line class="leader" x1="{:.1f}" y1="{:.1f}" x2="{:.1f}" y2="{:.1f}"/>'.format(
                *label.leader
            )
            if label.leader
            else ""
        )
        markers.append(
            f'<g class="{" ".join(kinds)}" data-region="{code}"><title>{html.escape(title)}</title>'
            f"{leader}"
            f'<circle cx="{x:.1f}" cy="{y:.1f}" r="{radius}"/>'
            f'<text x="{label.left:.1f}" y="{label.middle:.1f}" textLength="{label.width:.1f}" '
            f'lengthAdjust="spacingAndGlyphs">{code}</text></g>'
        )
    return "\n".join(markers)


def _summary(plan: dict[str, Any]) -> str:
    """The line above the map: engine, origins, function size, routing and monitoring cost."""
    group = plan["originGroup"]
    function, cost, monitoring = plan["function"], plan["cost"], plan["monitoring"]
    latency = plan.get("latency")
    metric = (
        f"; routing by measured latency ({latency['file']}, measured {latency['measured']}, "
        f"margin {latency['marginMs']} ms)"
        if latency
        else "; routing by distance"
    )
    return (
        f"engine {plan['engine']}; origins {', '.join(plan['origins'])}; default "
        f"{plan['defaultOrigin']}; failover {plan['failover']}"
        + (f"; drained {', '.join(plan['drained'])} (no traffic)" if plan["drained"] else "")
        + (
            f" (origin group: {group['primary']} → {group['secondary']})"
            if group and plan["engine"] == "lambda-edge"
            else ""
        )
        + metric
        + f"; {function['what']} {function['bytes']:,} of {function['limitBytes']:,} bytes; "
        f"routing cost at {cost['requestsPerMonth']:,} requests a month and "
        f"{cost['cacheHitRatio']:.0%} cache hits: lambda-edge "
        f"${cost['lambdaEdge']['dollarsPerMonth']:,.2f}, cloudfront-functions "
        f"${cost['cloudfrontFunctions']['dollarsPerMonth']:,.2f}; "
        + (
            f"monitoring ${monitoring['dollarsPerMonth']['total']:,.2f} a month "
            f"({monitoring['alarms']['total']:,} alarms, a dashboard and "
            f"{monitoring['replicationMetrics']:,} replication metrics)"
            if monitoring["enabled"]
            else "monitoring off"
        )
    )


def render_page(plan: dict[str, Any]) -> str:
    """The page for ``plan`` (``tools.plan.plan_document``)."""
    catalogue = load_catalogue()
    origins = set(plan["origins"])

    def at(code: str) -> tuple[float, float]:
        region = catalogue[code]
        return project(region.longitude, region.latitude)

    arrows = []
    for edge, route in plan["routes"].items():
        if route["primary"] != edge:
            # A route measured latency moved away from the nearest bucket is drawn apart.
            moved = bool(route.get("latencyChanged"))
            kind, head = ("primary latency", "head-latency") if moved else ("primary", "head")
            arrows.append(
                f'<path class="{kind}" data-edge="{edge}" '
                f'd="{_curve(at(edge), at(route["primary"]))}" '
                f'marker-end="url(#{head})"/>'
            )
        if route["failover"] and route["failover"] != edge:
            arrows.append(
                f'<path class="failover" data-edge="{edge}" '
                f'd="{_curve(at(edge), at(route["failover"]))}" '
                'marker-end="url(#head-failover)"/>'
            )
    dots = {
        code: (*at(code), ORIGIN_RADIUS if code in origins else REGION_RADIUS) for code in catalogue
    }
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
    return _PAGE.format(
        stack=html.escape(plan["stack"]),
        summary=html.escape(_summary(plan)),
        width=WIDTH,
        height=HEIGHT,
        font_size=f"{LABEL_FONT_SIZE:g}",
        land=land_path(),
        arrows="\n".join(arrows),
        markers=_region_markers(plan, dots),
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
svg {{ display: block; width: 100%; height: auto; background: #eaf2fa;
  outline: 1px solid #c9d6e3; }}
.land {{ fill: #d9dfd3; stroke: #a9b3a0; stroke-width: 0.5; }}
path.primary {{ fill: none; stroke: #1f6fb2; stroke-width: 1.4; opacity: 0.8; }}
path.primary.latency {{ stroke: #1a8a3a; stroke-width: 2.2; opacity: 0.95; }}
path.failover {{ fill: none; stroke: #c2571a; stroke-width: 1; stroke-dasharray: 5 4;
  opacity: 0.6; }}
.region circle {{ fill: #ffffff; stroke: #1d2733; stroke-width: 1; }}
.region.execution circle {{ fill: #9cc3e6; }}
.region.origin circle {{ fill: #1f6fb2; stroke: #0c2f4d; stroke-width: 2; }}
.region.pinned circle {{ stroke: #b0006a; stroke-width: 2.5; }}
.region.drained circle {{ fill: #ffffff; stroke: #6b7785; stroke-width: 2;
  stroke-dasharray: 2 2; }}
.region text {{ font: {font_size}px "DejaVu Sans Mono", "Liberation Mono", Menlo, Consolas,
  monospace; dominant-baseline: central; fill: #1d2733; paint-order: stroke; stroke: #eaf2fa;
  stroke-width: 2.5px; stroke-linejoin: round; }}
.region line.leader {{ stroke: #5b6b7b; stroke-width: 0.7; }}
.region:hover text {{ font-weight: 700; fill: #000000; }}
.region:hover circle {{ stroke-width: 3; }}
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
<span>solid arrow: primary</span><span>dashed arrow: failover</span>
<span>green arrow: primary moved by measured latency</span></p>
<svg id="map" viewBox="0 0 {width} {height}" xmlns="http://www.w3.org/2000/svg" role="img"
 aria-label="World map: each edge Region's arrow to its primary and failover bucket">
<defs>
<marker id="head" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="6" markerHeight="6"
 orient="auto-start-reverse">
<path d="M0,0L10,5L0,10z" fill="#1f6fb2"/></marker>
<marker id="head-latency" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="6" markerHeight="6"
 orient="auto-start-reverse"><path d="M0,0L10,5L0,10z" fill="#1a8a3a"/></marker>
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
