"""Show where a stack sends every edge Region's requests, and what that costs, without deploying.

    ./dev plan [--stack prod] [--json | --html FILE] [--compare] [--requests-per-month N] ...

Reads Pulumi.<stack>.yaml the way the Pulumi CLI hands it to the program, validates it with the
program's own settings code (same messages), and prints the routing table the routing function would
carry, with great-circle distances and pinned routes (with ``routingMetric: latency``, the measured
round trips too, and where the fastest origin is not the nearest); which engine runs it and the
size of what it would deploy against that engine's limit; the monthly cost of the routing logic
with each engine, with the cache hit ratio where they cost the same; and the stack's whole bill at
the traffic given (``tools.bill``): every line, the total each way, what moves it most and the
flat-rate plans; ``--compare`` adds both engines and AWS's own routing side by side with the facts
that decide (``tools.choosing``). ``--json`` prints the same as data; ``--html FILE`` writes a page
with a world map of it.
"""

from __future__ import annotations

import argparse
import datetime
import json
import sys
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

from core.cloudfront import ORIGINS_PER_DISTRIBUTION_QUOTA
from core.engine import Engine
from core.naming import bucket_prefix
from edge_function.cloudfront_function import MAX_CODE_BYTES, render_function_code
from edge_function.package import routing_package_files, zip_package
from routing.catalogue import (
    great_circle_km,
    load_catalogue,
    rank_origins,
)
from routing.latency import RoutingMetric
from settings.parser import Settings
from settings.stack_file import settings_from_stack_file
from settings.table import PROJECT, Replication
from tools.bill import (
    DEFAULT_LOG_BYTES_PER_REQUEST,
    DEFAULT_OBJECT_KB,
    DEFAULT_PUBLISHED_GB,
    DEFAULT_STORED_GB,
    Stack,
    Traffic,
)
from tools.cli import (
    CommandParser,
    ToolError,
    hit_ratio,
    input_file,
    milliseconds,
    named_path,
    quantity,
    requests_per_month,
    run_command,
    whole,
)
from tools.cost import (
    DEFAULT_CACHE_HIT_RATIO,
    DEFAULT_LAMBDA_EDGE_BILLED_MS,
    DEFAULT_REQUESTS_PER_MONTH,
    MANAGED_WEB_ACL_RULES,
    CostEstimate,
    MonitoringCost,
    MonitoringPrices,
    Prices,
    WafCost,
    WafPrices,
    estimate,
    monitoring_estimate,
    percent,
    routing_verdict,
    waf_estimate,
)
from tools.plan_bill import (
    BillReport,
    bill_report,
    default_traffic,
    render_bill,
    render_compare,
    render_plans,
    render_totals,
)
from tools.plan_latency import (
    Measured,
    difference_lines,
    latency_document,
    latency_warnings,
    measured,
    metric_line,
)
from tools.prices import PriceError, load_price_book

# The largest object S3 stores (5 TB, in KB) and the most GB a month the plan takes (10^12).
MAX_OBJECT_KB = Decimal(5 * 1024**3)
# About one byte: a smaller average object is not one, and would count PUTs by the quintillion.
MIN_OBJECT_KB = Decimal("0.001")
MAX_GB = Decimal(10**12)
# S3 completes bucket names at deploy time; a placeholder of the real length sizes the package.
_PLACEHOLDER_SUFFIX = "0" * 26
# "Maximum compressed size of a Lambda function" for origin-request triggers (CloudFront quotas).
LAMBDA_EDGE_ORIGIN_PACKAGE_LIMIT = 50 * 1024 * 1024


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
    # The origin a route pins this Region to when it is drained: the pin holds no more (the Region
    # goes to the next origin in rotation), so the row is not pinned.
    drained_pin: str | None = None
    # With routingMetric latency: the snapshot's round trips (else all None).
    measured: Measured = Measured()

    @property
    def notes(self) -> list[str]:
        """What the table's note column says of this row."""
        notes = []
        if self.drained_nearer and self.drained_nearer != self.drained_pin:
            notes.append(f"{self.drained_nearer} drained")
        if self.drained_pin:
            notes.append(f"pinned to {self.drained_pin}, drained: next in rotation")
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
        pin = table.rankings[edge][0] if edge in table.pinned else None
        pinned = pin is not None and pin not in table.drained
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
                drained_pin=pin if pin in table.drained else None,
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
        and len(settings.origins) > ORIGINS_PER_DISTRIBUTION_QUOTA
    ):
        found.append(
            f"{len(settings.origins)} origins: the {settings.engine.value} engine declares every "
            f"bucket as an origin of the distribution, and CloudFront's default quota is "
            f"{ORIGINS_PER_DISTRIBUTION_QUOTA} per distribution; raise it in Service Quotas before "
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
        other, serving = settings.next_engine.value, settings.engine.value
        found.append(
            f"switching engines: every bucket also grants the {other} engine's identity and the "
            f"routing state's table keeps its replicas. To move the distribution to {other}: "
            f"`pulumi config set {PROJECT}:engine {other}` and `pulumi config set "
            f"{PROJECT}:nextEngine {serving}`, `pulumi up`. Once it serves with the engine you "
            f"want: `pulumi config rm {PROJECT}:nextEngine`, `pulumi up` (docs/engines.md)."
        )
    for key in sorted(settings.secrets):
        found.append(
            f"{PROJECT}:{key} is a secret (secure:), which only the Pulumi CLI can decrypt: this "
            "plan leaves it unchecked; `pulumi preview` checks it."
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
            _count(cost.lambda_edge_invocations),
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

    return "\n".join(
        [
            f"routing cost per month at {cost.requests_per_month:,} requests with "
            f"{percent(cost.cache_hit_ratio)} served from the edge cache (USD, prices of "
            f"{prices.as_of}):",
            line(header),
            *(
                line(row) + ("  <- this stack" if candidate == engine.value else "")
                for candidate, row in zip(engines, rows, strict=True)
            ),
            f"  (Lambda@Edge: {cost.lambda_edge_billed_ms} ms billed per invocation at 128 MB; "
            "free tiers and failover retries left out; the function invocations only: the "
            "engines' logs, routing state and evacuator differ too, and the whole bill weighs "
            "them)",
            *(f"  {sentence}" for sentence in routing_verdict(cost).sentences),
        ]
    )


def _count(value: Decimal) -> str:
    """A count of invocations: whole as it nearly always is, or to two places."""
    return f"{value:,.0f}" if value == value.to_integral_value() else f"{value:,.2f}"


def stack_monitoring(settings: Settings, prices: MonitoringPrices | None = None) -> MonitoringCost:
    """What this stack's monitoring declares and costs (none with ``monitoring: false``)."""
    return monitoring_estimate(
        prices or MonitoringPrices.of(load_price_book()),
        enabled=settings.monitoring,
        engine=settings.engine,
        origins=len(settings.origins),
        mesh=settings.replication is Replication.MESH,
        evacuation=settings.evacuation,
        vantages=len(settings.evacuation_vantages),
    )


def stack_waf(
    settings: Settings, requests_per_month: int, prices: WafPrices | None = None
) -> WafCost:
    """What this stack's web ACL costs a month at ``requests_per_month`` viewer requests."""
    return waf_estimate(
        prices or WafPrices.of(load_price_book()),
        web_acl=settings.web_acl,
        rules=MANAGED_WEB_ACL_RULES,
        requests_per_month=requests_per_month,
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


@dataclass(frozen=True)
class Costs:
    """What the plan says a stack costs: the routing logic each engine, the monitoring and the web
    ACL (as the map's summary reads them), and the whole bill each way."""

    routing: CostEstimate
    prices: Prices
    monitoring: MonitoringCost
    waf: WafCost
    report: BillReport


def stack_costs(
    settings: Settings,
    traffic: Traffic | None = None,
    override: Path | None = None,
    today: datetime.date | None = None,
) -> Costs:
    """Every cost of ``settings``'s stack at ``traffic`` (by default the default traffic)."""
    traffic = traffic or default_traffic()
    try:
        book = load_price_book(override)
        report = bill_report(Stack.of(settings), traffic, book, today or datetime.date.today())
    except PriceError as error:
        raise ToolError(str(error)) from None
    prices = Prices.of(book)
    return Costs(
        routing=estimate(prices, traffic.requests, traffic.hit_ratio, traffic.lambda_edge_ms),
        prices=prices,
        monitoring=stack_monitoring(settings, MonitoringPrices.of(book)),
        waf=stack_waf(settings, traffic.requests, WafPrices.of(book)),
        report=report,
    )


def plan_document(
    settings: Settings, rows: list[PlanRow], costs: Costs | None = None
) -> dict[str, Any]:
    """The plan as data: what ``--json`` prints and the HTML page shows."""
    table = settings.routing
    size = function_size(settings)
    costs = costs or stack_costs(settings)
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
        "cost": costs.routing.as_document(costs.prices),
        "monitoring": costs.monitoring.as_document(),
        "webAcl": costs.waf.as_document(),
        "bill": costs.report.document(),
        "warnings": warnings(settings, rows),
    }


def _parser() -> argparse.ArgumentParser:
    parser = CommandParser(prog="./dev plan", description=__doc__.splitlines()[0])
    parser.add_argument(
        "--stack", default="prod", help="stack name: reads Pulumi.<stack>.yaml (default: prod)"
    )
    output = parser.add_mutually_exclusive_group()
    output.add_argument("--json", action="store_true", help="print the plan as JSON")
    output.add_argument(
        "--html",
        type=named_path,
        metavar="FILE",
        help="write a self-contained page with a world map",
    )
    parser.add_argument(
        "--compare",
        action="store_true",
        help="also print the three ways side by side (both engines and CloudFront in front of an "
        "S3 Multi-Region Access Point), with the facts that decide and the flat-rate plans",
    )
    _traffic_arguments(parser.add_argument_group("traffic (the bill's quantities)"))
    parser.add_argument(
        "--prices",
        type=input_file,
        metavar="FILE",
        help="a JSON object replacing the dollar amounts of some keys of tools/*_prices.json",
    )
    return parser


def _traffic_arguments(traffic: Any) -> None:
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
        "--average-object-kb",
        type=quantity(MIN_OBJECT_KB, MAX_OBJECT_KB, "KB"),
        default=DEFAULT_OBJECT_KB,
        metavar="KB",
        help=f"average size of an object served, in KB (1,024 bytes; default {DEFAULT_OBJECT_KB}, "
        "0.001 to S3's 5 TB)",
    )
    traffic.add_argument(
        "--gb-per-month",
        type=quantity(Decimal(0), MAX_GB, "GB"),
        metavar="GB",
        help="GB served to viewers a month (default: every request's average object)",
    )
    traffic.add_argument(
        "--stored-gb",
        type=quantity(Decimal(0), MAX_GB, "GB"),
        default=DEFAULT_STORED_GB,
        metavar="GB",
        help=f"content held in each bucket (default {DEFAULT_STORED_GB})",
    )
    traffic.add_argument(
        "--published-gb-per-month",
        type=quantity(Decimal(0), MAX_GB, "GB"),
        default=DEFAULT_PUBLISHED_GB,
        metavar="GB",
        help=f"content written or changed a month, which replication copies to every other "
        f"bucket (default {DEFAULT_PUBLISHED_GB})",
    )
    traffic.add_argument(
        "--lambda-edge-ms",
        type=milliseconds,
        default=DEFAULT_LAMBDA_EDGE_BILLED_MS,
        metavar="MS",
        help="Lambda@Edge duration per invocation, more than 0 and at most 30000, billed per whole "
        "ms (default 1, an assumption: the handler answers in microseconds in a local "
        "interpreter, see BENCHMARKS.md; Lambda's billed duration is not measured)",
    )
    traffic.add_argument(
        "--lambda-edge-instances",
        type=whole(1, 10_000_000, "instances"),
        metavar="N",
        help="Lambda@Edge instances reading the routing state, each at most every 15 s (default: "
        "none given, so one read per cache miss, the most there can be)",
    )
    traffic.add_argument(
        "--log-bytes-per-request",
        type=whole(1, 100_000, "bytes"),
        default=DEFAULT_LOG_BYTES_PER_REQUEST,
        metavar="B",
        help="size of an access log line, with accessLogs (default "
        f"{DEFAULT_LOG_BYTES_PER_REQUEST})",
    )


def traffic_of(options: argparse.Namespace) -> Traffic:
    return default_traffic(
        options.requests_per_month,
        options.cache_hit_ratio,
        object_kb=options.average_object_kb,
        gb_served=options.gb_per_month,
        stored_gb=options.stored_gb,
        published_gb=options.published_gb_per_month,
        lambda_edge_ms=options.lambda_edge_ms,
        log_bytes_per_request=options.log_bytes_per_request,
        lambda_edge_instances=options.lambda_edge_instances,
    )


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    options = parser.parse_args(argv)
    if options.compare and (options.json or options.html):
        # The document carries the comparison whatever the flags: bill.byWay, bill.facts and
        # bill.flatRatePlans hold every way.
        parser.error(
            "--compare is for the printed plan; --json always carries the comparison (its "
            "bill's byWay, facts and flatRatePlans)"
            if options.json
            else "--compare is for the printed plan, not the --html map"
        )
    settings = settings_from_stack_file(options.stack)
    costs = stack_costs(settings, traffic_of(options), options.prices)
    rows = plan_rows(settings)
    if options.json:
        print(json.dumps(plan_document(settings, rows, costs), indent=2))
        return 0
    if options.html:
        from tools.plan_map import render_page

        try:
            options.html.write_text(
                render_page(plan_document(settings, rows, costs)), encoding="utf-8"
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
    print(f"\n{render_cost(costs.routing, costs.prices, settings.engine)}")
    report = costs.report
    own = report.bills[report.own]
    print(f"\n{render_bill(own, report.book, report.today)}")
    print(f"\n{render_totals(report.bills, report.own, report.book, compared=options.compare)}")
    if options.compare:
        # The side-by-side view ends with every way's flat-rate plans, the stack's own included.
        print(f"\n{render_compare(report.bills, report.plans)}")
    else:
        print(f"\n{render_plans(own, report.plans)}")
    print("\nNothing was deployed; run `pulumi up` to deploy.")
    return 0


if __name__ == "__main__":
    sys.exit(run_command(main))
