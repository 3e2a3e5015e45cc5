"""Show where a stack sends every edge Region's requests, and what that costs, without deploying.

    ./dev plan [--stack prod] [--json | --html FILE] [--requests-per-month N] [--cache-hit-ratio R]

Reads Pulumi.<stack>.yaml the way the Pulumi CLI hands it to the program, validates it with the
program's own settings code (same messages), and prints the routing table the routing function would
carry, with great-circle distances and pinned routes (with ``routingMetric: latency``, the measured
round trips too, and where the fastest origin is not the nearest); which engine runs it and the
size of what it would deploy against that engine's limit; and the monthly cost of the routing logic
with each engine for a traffic you give, with the cache hit ratio where they cost the same; and what
the stack's monitoring and its web ACL cost a month. ``--json`` prints the same as data; ``--html
FILE`` writes a page with a world map of it.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from core.engine import Engine
from core.naming import bucket_prefix
from edge_function.cloudfront_function import MAX_CODE_BYTES, render_function_code
from edge_function.package import routing_package_files, zip_package
from routing.catalogue import (
    great_circle_km,
    lambda_edge_execution_regions,
    load_catalogue,
    rank_origins,
)
from routing.latency import RoutingMetric
from settings.parser import Settings
from settings.stack_file import settings_from_stack_file
from settings.table import PROJECT, Replication
from tools.cli import ToolError, hit_ratio, milliseconds, requests_per_month, run_command
from tools.cost import (
    DEFAULT_CACHE_HIT_RATIO,
    DEFAULT_LAMBDA_EDGE_BILLED_MS,
    DEFAULT_REQUESTS_PER_MONTH,
    MANAGED_WEB_ACL_RULES,
    METRICS_PER_REPLICATION_RULE,
    CostEstimate,
    MonitoringCost,
    MonitoringPrices,
    PriceError,
    Prices,
    WafCost,
    WafPrices,
    estimate,
    load_monitoring_prices,
    load_prices,
    load_waf_prices,
    monitoring_estimate,
    waf_estimate,
)
from tools.plan_latency import (
    Measured,
    difference_lines,
    latency_document,
    latency_warnings,
    measured,
    metric_line,
)

# S3 completes bucket names at deploy time; a placeholder of the real length sizes the package.
_PLACEHOLDER_SUFFIX = "0" * 26
# "Maximum compressed size of a Lambda function" for origin-request triggers (CloudFront quotas).
LAMBDA_EDGE_ORIGIN_PACKAGE_LIMIT = 50 * 1024 * 1024
# CloudFront's default quota of origins per distribution ("Quotas": 100; older copies said 25); the
# CloudFront Functions engine declares every bucket as one (adjustable in Service Quotas). Today's
# catalogue holds 34 Regions, so this guards against a catalogue that grows past it.
DEFAULT_ORIGINS_QUOTA = 100


@dataclass(frozen=True)
class PlanRow:
    """Where one edge Region's cache misses go, and why."""

    edge: str
    primary: str
    primary_km: float
    failover: str | None
    failover_km: float | None
    # The nearest origin in rotation; differs from primary only where a route pins the Region.
    nearest: str
    pinned: bool
    # Lambda@Edge executes there today (a Regional edge cache Region).
    execution: bool
    # Fixed failover whose secondary is this Region's primary: a failure there has nowhere to go.
    failover_is_primary: bool
    # A drained origin nearer than the primary: where this Region's requests went before the drain.
    drained_nearer: str | None = None
    # With routingMetric latency: the snapshot's round trips (else all None).
    measured: Measured = Measured()

    @property
    def notes(self) -> list[str]:
        """What the table's note column says of this row."""
        notes = []
        if self.drained_nearer:
            notes.append(f"{self.drained_nearer} drained")
        if self.pinned:
            notes.append(f"pinned (nearest is {self.nearest})")
        if self.measured.latency_changed and self.measured.gain_ms is not None:
            notes.append(
                f"latency: {self.measured.gain_ms:.1f} ms faster than nearest {self.nearest}"
            )
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
        nearest_of_all = rank_origins(edge, table.origins)[0]
        nearest = rank_origins(edge, table.active_origins)[0]
        pinned = edge in table.pinned
        rows.append(
            PlanRow(
                edge=edge,
                primary=route.primary,
                primary_km=km(edge, route.primary),
                failover=route.failover,
                failover_km=km(edge, route.failover) if route.failover else None,
                nearest=nearest,
                pinned=pinned,
                execution=catalogue[edge].lambda_edge_execution,
                failover_is_primary=route.failover == route.primary,
                drained_nearer=nearest_of_all if nearest_of_all in table.drained else None,
                measured=measured(settings, edge, (route.primary, route.failover), nearest, pinned),
            )
        )
    return sorted(rows, key=lambda row: not row.execution)


def warnings(settings: Settings, rows: list[PlanRow]) -> list[str]:
    """What a person should know before deploying this routing."""
    found = []
    lost = [row.edge for row in rows if row.failover_is_primary]
    if lost:
        secondary = settings.routing.failover_origin
        found.append(
            f"failover {settings.routing.failover_mode.value}: {secondary} is both the primary "
            f"and the failover of {', '.join(lost)}; while {secondary} is down their requests "
            "fail (no other bucket is tried). 'ranked' failover never does this "
            f"(pulumi config set {PROJECT}:failover ranked)."
        )
    if (
        settings.engine is Engine.CLOUDFRONT_FUNCTIONS
        and len(settings.origins) > DEFAULT_ORIGINS_QUOTA
    ):
        found.append(
            f"{len(settings.origins)} origins: the {settings.engine.value} engine declares every "
            f"bucket as an origin of the distribution, and CloudFront's default quota is "
            f"{DEFAULT_ORIGINS_QUOTA} per distribution; raise it in Service Quotas before "
            "`pulumi up`, or use fewer origins."
        )
    opt_in = [code for code in settings.origins if load_catalogue()[code].opt_in]
    if opt_in:
        found.append(
            f"opt-in Region(s) among the origins: {', '.join(opt_in)}. AWS leaves them disabled "
            "in an account until someone enables them (console: Account, AWS Regions; or `aws "
            f"account enable-region --region-name {opt_in[0]}`); enable each before `pulumi up`, "
            "or creating its bucket fails."
        )
    if settings.routing.drained:
        moved = sorted({row.edge for row in rows if row.drained_nearer})
        found.append(
            f"drained: {', '.join(sorted(settings.routing.drained))} keep their buckets but take "
            f"no traffic; {len(moved)} edge Region(s) that were theirs go to the next-nearest "
            "bucket in rotation (see the note column). Undrain with "
            f"`pulumi config rm {PROJECT}:drained` (or drop one entry) and `pulumi up`."
        )
    if settings.next_engine is not None:
        found.append(
            f"switching engines: every bucket also grants the {settings.next_engine.value} "
            "engine's identity. After `pulumi up`, finish with "
            f"`pulumi config set {PROJECT}:engine {settings.next_engine.value}` and "
            f"`pulumi config rm {PROJECT}:nextEngine`, then `pulumi up` again."
        )
    return found + latency_warnings(settings)


@dataclass(frozen=True)
class FunctionSize:
    """What the engine deploys, against CloudFront's limit for it."""

    engine: Engine
    what: str
    size_bytes: int
    limit_bytes: int

    def describe(self) -> str:
        share = self.size_bytes / self.limit_bytes
        return (
            f"{self.what}: {self.size_bytes:,} bytes of the {self.limit_bytes:,} CloudFront "
            f"allows ({'under 0.1%' if share < 0.001 else f'{share:.1%}'})"
        )


def function_size(settings: Settings) -> FunctionSize:
    if settings.engine is Engine.LAMBDA_EDGE:
        return FunctionSize(
            settings.engine,
            "Lambda@Edge package (zipped)",
            package_size(settings),
            LAMBDA_EDGE_ORIGIN_PACKAGE_LIMIT,
        )
    code = render_function_code(settings.routing, settings.failover_status_codes)
    return FunctionSize(
        settings.engine, "CloudFront function code", len(code.encode("utf-8")), MAX_CODE_BYTES
    )


def render_cost(cost: CostEstimate, prices: Prices, engine: Engine) -> str:
    rows = [
        (
            Engine.LAMBDA_EDGE.value,
            "cache misses",
            f"{cost.lambda_edge_invocations:,}",
            f"{cost.lambda_edge_dollars:,.2f}",
        ),
        (
            Engine.CLOUDFRONT_FUNCTIONS.value,
            "every request",
            f"{cost.cloudfront_functions_invocations:,}",
            f"{cost.cloudfront_functions_dollars:,.2f}",
        ),
    ]
    header = ("engine", "runs on", "invocations", "$/month")
    # Columns as wide as their widest cell (at 10^15 requests the counts take 21 characters).
    widths = [max(len(row[column]) for row in [header, *rows]) for column in range(4)]
    engines = [candidate.value for candidate in (Engine.LAMBDA_EDGE, Engine.CLOUDFRONT_FUNCTIONS)]

    def line(cells: tuple[str, str, str, str]) -> str:
        name, runs_on, invocations, dollars = cells
        return (
            f"  {name:<{widths[0] + 2}}{runs_on:<{widths[1] + 2}}"
            f"{invocations:>{widths[2] + 2}}{dollars:>{widths[3] + 2}}"
        )

    lines = [
        f"routing cost per month at {cost.requests_per_month:,} requests with "
        f"{cost.cache_hit_ratio:.0%} served from the edge cache (USD, prices of {prices.as_of}):",
        line(header),
        *(
            line(row) + ("  <- this stack" if candidate == engine.value else "")
            for candidate, row in zip(engines, rows, strict=True)
        ),
        f"  (Lambda@Edge: {cost.lambda_edge_billed_ms:.0f} ms billed per invocation at 128 MB; "
        "free tiers and failover retries left out)",
    ]
    if cost.break_even_hit_ratio is None:
        lines.append("  break-even: none; CloudFront Functions cost less at any cache hit ratio")
    else:
        lines.append(
            f"  break-even: {cost.break_even_hit_ratio:.1%} cache hits; above that Lambda@Edge "
            "costs less, below it CloudFront Functions do"
        )
    return "\n".join(lines)


def stack_monitoring(settings: Settings, prices: MonitoringPrices | None = None) -> MonitoringCost:
    """What this stack's monitoring declares and costs (none with ``monitoring: false``)."""
    return monitoring_estimate(
        prices or load_monitoring_prices(),
        enabled=settings.monitoring,
        engine=settings.engine,
        origins=len(settings.origins),
        mesh=settings.replication is Replication.MESH,
        evacuation=settings.evacuation,
        vantages=len(settings.evacuation_vantages),
    )


def render_monitoring(monitoring: MonitoringCost) -> str:
    prices = monitoring.prices
    if not monitoring.enabled:
        return (
            "monitoring cost per month: none (monitoring is off: no alarms, dashboard or "
            "replication metrics)"
        )
    if monitoring.engine is Engine.LAMBDA_EDGE:
        router = (
            f"{monitoring.router_alarms} Lambda@Edge in "
            f"{len(lambda_edge_execution_regions())} execution Regions"
        )
    else:
        router = f"{monitoring.router_alarms} CloudFront function"
    alarm_kinds = f"{monitoring.viewer_alarms} viewer 5xx, {router}"
    if monitoring.replication_alarms:
        alarm_kinds += f", {monitoring.replication_alarms} failed replication"
    if monitoring.evacuation_alarms:
        alarm_kinds += (
            f", 1 every origin out of rotation, {monitoring.evacuation_vantages} evacuator "
            f"silent, {monitoring.evacuation_origins} health object unreadable, 1 checks held"
        )
    rows = [
        (
            "alarms",
            monitoring.alarms,
            prices.alarm_per_month,
            monitoring.alarm_dollars,
            alarm_kinds,
        ),
        (
            "dashboard",
            monitoring.dashboards,
            prices.dashboard_per_month,
            monitoring.dashboard_dollars,
            "",
        ),
        (
            "metrics",
            monitoring.metrics,
            prices.metric_per_month,
            monitoring.metric_dollars,
            (
                f"{monitoring.replication_rules} replication rules x {METRICS_PER_REPLICATION_RULE}"
                if monitoring.replication_rules
                else "replication is off"
            )
            + (
                f", {monitoring.evacuation_alarms} evacuator series"
                if monitoring.evacuation_alarms
                else ""
            ),
        ),
    ]
    cells = [
        (what, f"{number:,} x ${price:,.2f} =", f"${dollars:,.2f}", detail)
        for what, number, price, dollars, detail in rows
    ]
    total = ("total", "", f"${monitoring.dollars:,.2f}", "")
    widths = [max(len(cell[column]) for cell in [*cells, total]) for column in range(3)]
    lines = [
        f"monitoring cost per month (USD, CloudWatch prices of {prices.as_of}, before the free "
        "tier; the same at any traffic):",
        *(
            f"  {what:<{widths[0]}}  {count:>{widths[1]}}  {dollars:>{widths[2]}}"
            + (f"  ({detail})" if detail else "")
            for what, count, dollars, detail in [*cells, total]
        ),
    ]
    if monitoring.replication_rules:
        lines.append(
            "  (it grows with the square of the origins: a mesh of n origins has n x (n - 1) "
            f"replication rules, each with an alarm and {METRICS_PER_REPLICATION_RULE} metrics; "
            f"`pulumi config set {PROJECT}:monitoring false` turns all of it off)"
        )
    return "\n".join(lines)


def stack_waf(
    settings: Settings, requests_per_month: int, prices: WafPrices | None = None
) -> WafCost:
    """What this stack's web ACL costs a month at ``requests_per_month`` viewer requests."""
    return waf_estimate(
        prices or load_waf_prices(),
        web_acl=settings.web_acl,
        rules=MANAGED_WEB_ACL_RULES,
        requests_per_month=requests_per_month,
    )


def render_waf(waf: WafCost) -> str:
    prices = waf.prices
    if waf.mode is None:
        return (
            "web ACL cost per month: none (no webAcl; "
            f"`pulumi config set {PROJECT}:webAcl managed` adds one)"
        )
    requests = (
        f"  requests   {waf.requests_per_month:,} x ${prices.per_million_requests:,.2f} per "
        f"million = ${waf.request_dollars:,.2f} (every viewer request, cache hits included)"
    )
    heading = f"web ACL cost per month (USD, AWS WAF prices of {prices.as_of}"
    if waf.mode == "own":
        return "\n".join(
            [
                f"{heading}): your own web ACL; its web ACL and rule charges are its own, the "
                "requests this distribution sends it:",
                requests,
            ]
        )
    acl_dollars = waf.web_acls * prices.web_acl_per_month
    return "\n".join(
        [
            f"{heading}; webAcl: managed):",
            f"  web ACL    1 x ${prices.web_acl_per_month:,.2f} = ${acl_dollars:,.2f}",
            f"  rules      {waf.rules} x ${prices.rule_per_month:,.2f} = "
            f"${waf.rules * prices.rule_per_month:,.2f} (a rate limit per client IP and "
            f"{waf.rules - 1} AWS managed rule groups)",
            requests,
            f"  total      ${waf.dollars:,.2f}",
        ]
    )


def package_size(settings: Settings) -> int:
    """The Lambda@Edge package's zipped size, with bucket names as long as S3 will make them."""
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
    if settings.engine is Engine.CLOUDFRONT_FUNCTIONS:
        # The function makes each request's group itself; no origin group is declared.
        group = ""
    lines = [
        f"stack {settings.stack}: engine {settings.engine.value}; origins "
        f"{', '.join(table.origins)}; default {table.default_origin}; "
        f"failover {table.failover_mode.value}{group}"
        + (f"; drained {', '.join(sorted(table.drained))}" if table.drained else ""),
        f"origin connections: {settings.origin_connection_attempts} attempt(s) x "
        f"{settings.origin_connection_timeout} s, so an unreachable Region delays failover by at "
        f"most {settings.origin_connection_attempts * settings.origin_connection_timeout} s",
        metric_line(settings),
        "",
    ]
    # With latency, each destination's measured round trip beside its distance ('-': unmeasured).
    by_latency = settings.routing_metric is RoutingMetric.LATENCY
    ms = f"{'ms':>7}" if by_latency else ""
    lines.append(
        f" {'edge Region':<16}{'primary':<16}{'km':>7}{ms}  {'failover':<16}{'km':>7}{ms}  note"
    )
    for row in rows:
        failover_km = f"{row.failover_km:>7,.0f}" if row.failover_km is not None else f"{'-':>7}"
        primary_ms = _ms(row.measured.primary_ms) if by_latency else ""
        failover_ms = _ms(row.measured.failover_ms) if by_latency else ""
        lines.append(
            f"{'*' if row.execution else ' '}{row.edge:<16}"
            f"{row.primary:<16}{row.primary_km:>7,.0f}{primary_ms}  "
            f"{row.failover or '-':<16}{failover_km}{failover_ms}  {'; '.join(row.notes)}".rstrip()
        )
    default = table.default_route
    blank_ms = " " * len(ms)
    lines.append(
        f" {'(unknown)':<16}{default.primary:<16}{'':>7}{blank_ms}  {default.failover or '-':<16}"
    )
    lines.append("")
    lines.append(
        "* a Regional edge cache Region (where Lambda@Edge executes, and what "
        "cf.edgeLocation.region names); others are routed in advance."
    )
    if by_latency:
        lines += ["", *difference_lines(settings, rows)]
    return "\n".join(lines)


def _ms(value: float | None) -> str:
    return f"{value:>7.1f}" if value is not None else f"{'-':>7}"


def plan_document(
    settings: Settings,
    rows: list[PlanRow],
    cost: tuple[CostEstimate, Prices] | None = None,
    monitoring: MonitoringCost | None = None,
    waf: WafCost | None = None,
) -> dict[str, Any]:
    """The plan as data: what ``--json`` prints and the HTML page shows."""
    table = settings.routing
    size = function_size(settings)
    cost = cost or _default_cost()
    monitoring = monitoring or stack_monitoring(settings)
    waf = waf or stack_waf(settings, cost[0].requests_per_month)
    return {
        "stack": settings.stack,
        "engine": settings.engine.value,
        "nextEngine": settings.next_engine.value if settings.next_engine else None,
        "originAccess": settings.engine.origin_access.value,
        "origins": list(table.origins),
        "defaultOrigin": table.default_origin,
        "drained": sorted(table.drained),
        "failover": table.failover_mode.value,
        "routingMetric": settings.routing_metric.value,
        "latency": latency_document(settings),
        "originGroup": (
            {"primary": table.default_origin, "secondary": table.failover_origin}
            if table.failover_origin is not None
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
                "drainedNearer": row.drained_nearer,
                "primaryMs": row.measured.primary_ms,
                "failoverMs": row.measured.failover_ms,
                "nearestMs": row.measured.nearest_ms,
                "fastest": row.measured.fastest,
                "fastestMs": row.measured.fastest_ms,
                "gainMs": row.measured.gain_ms,
                "latencyChanged": row.measured.latency_changed,
                "notes": row.notes,
            }
            for row in rows
        },
        "defaultRoute": asdict(table.default_route),
        "originConnection": {
            "attempts": settings.origin_connection_attempts,
            "timeoutSeconds": settings.origin_connection_timeout,
        },
        "function": {
            "what": size.what,
            "bytes": size.size_bytes,
            "limitBytes": size.limit_bytes,
        },
        "cost": cost[0].as_document(cost[1]),
        "monitoring": monitoring.as_document(),
        "webAcl": waf.as_document(),
        "warnings": warnings(settings, rows),
    }


def _default_cost() -> tuple[CostEstimate, Prices]:
    prices = load_prices()
    return estimate(prices, DEFAULT_REQUESTS_PER_MONTH, DEFAULT_CACHE_HIT_RATIO), prices


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
    traffic = parser.add_argument_group("cost model")
    traffic.add_argument(
        "--requests-per-month",
        type=requests_per_month,
        default=DEFAULT_REQUESTS_PER_MONTH,
        metavar="N",
        help=f"viewer requests per month, 1 to 10^15 (default {DEFAULT_REQUESTS_PER_MONTH:,})",
    )
    traffic.add_argument(
        "--cache-hit-ratio",
        type=hit_ratio,
        default=DEFAULT_CACHE_HIT_RATIO,
        metavar="R",
        help=f"share of requests served from the edge cache, 0-1 or a percentage "
        f"(default {DEFAULT_CACHE_HIT_RATIO})",
    )
    traffic.add_argument(
        "--lambda-edge-ms",
        type=milliseconds,
        default=DEFAULT_LAMBDA_EDGE_BILLED_MS,
        metavar="MS",
        help="Lambda@Edge duration per invocation, more than 0 and at most 30000, billed per whole "
        "ms (default 1: the handler answers in microseconds, see BENCHMARKS.md)",
    )
    traffic.add_argument(
        "--prices",
        type=Path,
        metavar="FILE",
        help="JSON overriding keys of tools/edge_prices.json, tools/monitoring_prices.json and "
        "tools/waf_prices.json",
    )
    options = parser.parse_args(argv)
    settings = settings_from_stack_file(options.stack)
    try:
        prices = load_prices(options.prices)
        monitoring = stack_monitoring(settings, load_monitoring_prices(options.prices))
        waf = stack_waf(settings, options.requests_per_month, load_waf_prices(options.prices))
    except PriceError as error:
        raise ToolError(str(error)) from None
    cost = estimate(
        prices, options.requests_per_month, options.cache_hit_ratio, options.lambda_edge_ms
    )
    rows = plan_rows(settings)
    if options.json:
        print(json.dumps(plan_document(settings, rows, (cost, prices), monitoring, waf), indent=2))
        return 0
    if options.html:
        from tools.plan_map import render_page

        try:
            options.html.write_text(
                render_page(plan_document(settings, rows, (cost, prices), monitoring, waf)),
                encoding="utf-8",
            )
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
    print(f"\n{function_size(settings).describe()}")
    print(f"\n{render_cost(cost, prices, settings.engine)}")
    print(f"\n{render_monitoring(monitoring)}")
    print(f"\n{render_waf(waf)}")
    print("\nNothing was deployed; run `pulumi up` to deploy.")
    return 0


if __name__ == "__main__":
    sys.exit(run_command(main))
