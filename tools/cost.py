"""What the routing logic costs per month with each engine and where the two cross; what the
stack's monitoring and its web ACL cost.

Lambda@Edge runs at origin-request, on cache misses only: a price per request plus duration
(memory x billed time, billed per 1 ms). CloudFront Functions run at viewer-request, on every
request: a price per invocation and nothing else. So Lambda@Edge is cheaper above a cache hit ratio
that depends on prices alone (and on the billed duration), CloudFront Functions below it, unless a
Lambda@Edge invocation costs no more than a function's, when it is cheaper at any ratio. The words
that say so are made from the same figures they stand under (``routing_verdict``).

Monitoring (``monitoring: true``, the default) costs the same at any traffic, but grows with the
square of the origins: a replication mesh of n origins has n x (n - 1) rules, each with a
failed-replication alarm and 4 replication metrics. A web ACL (``webAcl``) costs a month per web ACL
and per rule, and per million requests it inspects: every viewer request, cache hits included.

Prices are data (``tools/*_prices.json``, read by ``tools.prices``), kept as Decimal so that every
figure is an exact product of the files' numbers; ``--prices FILE`` replaces any of them.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from decimal import ROUND_HALF_EVEN, Decimal
from pathlib import Path
from typing import Any

from core.cloudfront import EDGE_FUNCTION_MEMORY_MB
from core.engine import Engine
from core.waf import WAF_MANAGED_RULE_GROUPS, WEB_ACL_MANAGED
from routing.catalogue import lambda_edge_execution_regions
from tools.prices import PriceBook, as_dollars, load_price_book

# An assumption: the handler answers in microseconds in a local interpreter (./dev bench), so each
# invocation would bill the 1 ms minimum; Lambda's billed duration on AWS is not measured, and an
# invocation that reads the routing state waits for DynamoDB (--lambda-edge-ms changes it).
DEFAULT_LAMBDA_EDGE_BILLED_MS = Decimal(1)
DEFAULT_REQUESTS_PER_MONTH = 100_000_000
DEFAULT_CACHE_HIT_RATIO = Decimal("0.9")


# --requests-per-month: at least one request, and at most a million billion (10^15), a thousand
# times the traffic of the largest CDNs; below 2^53, so every count is exact in a float as well.
REQUESTS_PER_MONTH_RANGE = (1, 10**15)

# What components/monitoring.py declares (``alarm_specs`` and one dashboard), counted here so that
# planning does not import Pulumi; tests/tools/test_plan.py checks the two agree under mocks.
VIEWER_ALARMS = 1  # the distribution's 5xxErrorRate
LAMBDA_EDGE_ALARMS_PER_EXECUTION_REGION = 2  # Errors and Throttles where replicas run
CLOUDFRONT_FUNCTIONS_ALARMS = 3  # FunctionExecutionErrors, FunctionValidationErrors, Throttles
DASHBOARDS = 1
# S3 Replication metrics of each rule: ReplicationLatency, BytesPendingReplication,
# OperationsPendingReplication and OperationsFailedReplication (S3 User Guide, "S3 Replication
# metrics in CloudWatch"), billed as CloudWatch custom metrics.
METRICS_PER_REPLICATION_RULE = 4
# What components/web_acl.py declares for webAcl: managed: the rate limit and one rule per managed
# rule group (tests/tools/test_plan_waf.py checks the two agree under mocks).
MANAGED_WEB_ACL_RULES = 1 + len(WAF_MANAGED_RULE_GROUPS)


@dataclass(frozen=True)
class Prices:
    """The routing logic's prices (Lambda@Edge, CloudFront Functions), in dollars per unit."""

    as_of: str
    source: str
    lambda_edge_per_million_requests: Decimal
    lambda_edge_per_gb_second: Decimal
    cloudfront_functions_per_million_invocations: Decimal

    @classmethod
    def of(cls, book: PriceBook) -> Prices:
        return cls(*_dated(book, _PRICE_KEYS), *_amounts(book, _PRICE_KEYS))

    def per_lambda_edge_invocation(self, billed_ms: Decimal | float) -> Decimal:
        """Request price plus duration at 128 MB for ``billed_ms``, rounded up to whole ms."""
        gb_seconds = Decimal(EDGE_FUNCTION_MEMORY_MB) / 1024 * math.ceil(billed_ms) / 1000
        return (
            self.lambda_edge_per_million_requests / 1_000_000
            + gb_seconds * self.lambda_edge_per_gb_second
        )

    @property
    def per_function_invocation(self) -> Decimal:
        return self.cloudfront_functions_per_million_invocations / 1_000_000


@dataclass(frozen=True)
class MonitoringPrices:
    as_of: str
    source: str
    alarm_per_month: Decimal
    dashboard_per_month: Decimal
    metric_per_month: Decimal

    @classmethod
    def of(cls, book: PriceBook) -> MonitoringPrices:
        return cls(*_dated(book, _MONITORING_PRICE_KEYS), *_amounts(book, _MONITORING_PRICE_KEYS))


# Each price key of a prices view → its dataclass's field.
_PRICE_KEYS = {
    "lambdaEdgePerMillionRequests": "lambda_edge_per_million_requests",
    "lambdaEdgePerGbSecond": "lambda_edge_per_gb_second",
    "cloudFrontFunctionsPerMillionInvocations": "cloudfront_functions_per_million_invocations",
}
_MONITORING_PRICE_KEYS = {
    "alarmPerMonth": "alarm_per_month",
    "dashboardPerMonth": "dashboard_per_month",
    "metricPerMonth": "metric_per_month",
}
_WAF_PRICE_KEYS = {
    "webAclPerMonth": "web_acl_per_month",
    "rulePerMonth": "rule_per_month",
    "wafPerMillionRequests": "per_million_requests",
}
_BACKFILL_PRICE_KEYS = {
    "s3BatchJob": "batch_job",
    "s3BatchPerMillionObjects": "batch_per_million_objects",
    "s3PutPerThousand": "replication_put_per_thousand",
    "s3InterRegionTransferPerGb": "transfer_per_gb",
}


def _dated(book: PriceBook, keys: dict[str, str]) -> tuple[str, str]:
    """The oldest date these prices were read, and where each comes from."""
    return (
        book.oldest(keys).isoformat(),
        " ".join(f"{key}: {book[key].citation()}." for key in keys),
    )


def _amounts(book: PriceBook, keys: dict[str, str]) -> list[Decimal]:
    """Each price in dollars per its stated quantity (0.60 per million requests), in the order of
    ``keys``, which is the order of the fields after ``as_of`` and ``source``."""
    return [book[key].usd for key in keys]


def _prices_document(prices: Any, keys: dict[str, str]) -> dict[str, Any]:
    return {
        "asOf": prices.as_of,
        "source": prices.source,
        **{key: float(getattr(prices, attribute)) for key, attribute in keys.items()},
    }


def load_prices(override: Path | None = None) -> Prices:
    """The shipped prices of the routing logic, with any amounts of ``override`` replacing them."""
    return Prices.of(load_price_book(override))


def load_monitoring_prices(override: Path | None = None) -> MonitoringPrices:
    """The shipped CloudWatch prices, with any amounts of ``override`` replacing them."""
    return MonitoringPrices.of(load_price_book(override))


@dataclass(frozen=True)
class WafPrices:
    as_of: str
    source: str
    web_acl_per_month: Decimal
    rule_per_month: Decimal
    per_million_requests: Decimal

    @classmethod
    def of(cls, book: PriceBook) -> WafPrices:
        return cls(*_dated(book, _WAF_PRICE_KEYS), *_amounts(book, _WAF_PRICE_KEYS))


def load_waf_prices(override: Path | None = None) -> WafPrices:
    """The shipped AWS WAF prices, with any amounts of ``override`` replacing them."""
    return WafPrices.of(load_price_book(override))


@dataclass(frozen=True)
class WafCost:
    """What the web ACL in front costs a month: ``mode`` None (no web ACL), "managed" (the
    program's: one web ACL, its rules), or "own" (the operator's: only the requests this
    distribution sends it are counted; its web ACL and rules are billed whatever it fronts)."""

    mode: str | None
    rules: int
    requests_per_month: int
    prices: WafPrices

    @property
    def web_acls(self) -> int:
        return 1 if self.mode == "managed" else 0

    @property
    def fixed_dollars(self) -> Decimal:
        return (
            self.web_acls * self.prices.web_acl_per_month + self.rules * self.prices.rule_per_month
        )

    @property
    def request_dollars(self) -> Decimal:
        if self.mode is None:
            return Decimal(0)
        return self.requests_per_month * self.prices.per_million_requests / 1_000_000

    @property
    def dollars(self) -> Decimal:
        return self.fixed_dollars + self.request_dollars

    def as_document(self) -> dict[str, Any]:
        return {
            "webAcl": self.mode,
            "webAcls": self.web_acls,
            "rules": self.rules,
            "requestsPerMonth": self.requests_per_month if self.mode else 0,
            "dollarsPerMonth": {
                "webAclAndRules": as_dollars(self.fixed_dollars),
                "requests": as_dollars(self.request_dollars),
                "total": as_dollars(self.dollars),
            },
            "prices": _prices_document(self.prices, _WAF_PRICE_KEYS),
        }


def waf_estimate(
    prices: WafPrices, *, web_acl: str | None, rules: int, requests_per_month: int
) -> WafCost:
    """The web ACL's monthly cost: ``web_acl`` None, "managed" (with ``rules`` rules) or an ARN
    (the operator's own). AWS WAF inspects every viewer request, cache hits included."""
    if web_acl is None:
        return WafCost(None, 0, requests_per_month, prices)
    if web_acl == WEB_ACL_MANAGED:
        return WafCost("managed", rules, requests_per_month, prices)
    return WafCost("own", 0, requests_per_month, prices)


@dataclass(frozen=True)
class CostEstimate:
    """The routing logic's monthly cost with each engine, exact: Lambda@Edge on every cache miss,
    CloudFront Functions on every request."""

    requests_per_month: int
    cache_hit_ratio: Decimal
    lambda_edge_billed_ms: int
    lambda_edge_invocations: Decimal
    lambda_edge_dollars: Decimal
    cloudfront_functions_invocations: int
    cloudfront_functions_dollars: Decimal
    per_lambda_edge_invocation: Decimal
    per_function_invocation: Decimal

    @property
    def break_even_hit_ratio(self) -> Decimal | None:
        """The cache hit ratio at which both cost the same, above which Lambda@Edge costs less;
        None when Lambda@Edge costs less at any ratio (an invocation costs no more than a
        function's, and it runs on misses only)."""
        if self.per_lambda_edge_invocation <= self.per_function_invocation:
            return None
        # Equal when (1 - ratio) x per_lambda = per_function.
        return 1 - self.per_function_invocation / self.per_lambda_edge_invocation

    def as_document(self, prices: Prices) -> dict[str, Any]:
        break_even = self.break_even_hit_ratio
        return {
            "requestsPerMonth": self.requests_per_month,
            "cacheHitRatio": float(self.cache_hit_ratio),
            "lambdaEdge": {
                "invocations": _count(self.lambda_edge_invocations),
                "billedMs": self.lambda_edge_billed_ms,
                "dollarsPerMonth": as_dollars(self.lambda_edge_dollars),
            },
            "cloudfrontFunctions": {
                "invocations": self.cloudfront_functions_invocations,
                "dollarsPerMonth": as_dollars(self.cloudfront_functions_dollars),
            },
            "breakEvenCacheHitRatio": None if break_even is None else float(round(break_even, 4)),
            "cheaper": routing_verdict(self).cheaper,
            "prices": _prices_document(prices, _PRICE_KEYS),
        }


def _count(value: Decimal) -> int | float:
    return int(value) if value == value.to_integral_value() else float(value)


def cache_misses(requests_per_month: int, cache_hit_ratio: Decimal | float) -> Decimal:
    """The requests that miss the cache: 5% of 10^15 is 5 x 10^13 exactly. The ratio is taken as
    written (0.95, not 0.9499999999999999556), so that no float noise reaches the count."""
    ratio = (
        cache_hit_ratio if isinstance(cache_hit_ratio, Decimal) else Decimal(repr(cache_hit_ratio))
    )
    return requests_per_month * (1 - ratio)


def estimate(
    prices: Prices,
    requests_per_month: int,
    cache_hit_ratio: Decimal | float,
    lambda_edge_billed_ms: Decimal | float = DEFAULT_LAMBDA_EDGE_BILLED_MS,
) -> CostEstimate:
    ratio = (
        cache_hit_ratio if isinstance(cache_hit_ratio, Decimal) else Decimal(repr(cache_hit_ratio))
    )
    misses = cache_misses(requests_per_month, ratio)
    per_lambda = prices.per_lambda_edge_invocation(lambda_edge_billed_ms)
    per_function = prices.per_function_invocation
    return CostEstimate(
        requests_per_month=requests_per_month,
        cache_hit_ratio=ratio,
        lambda_edge_billed_ms=math.ceil(lambda_edge_billed_ms),
        lambda_edge_invocations=misses,
        lambda_edge_dollars=misses * per_lambda,
        cloudfront_functions_invocations=requests_per_month,
        cloudfront_functions_dollars=requests_per_month * per_function,
        per_lambda_edge_invocation=per_lambda,
        per_function_invocation=per_function,
    )


def percent(ratio: Decimal) -> str:
    """A ratio as a percentage, as exact as it was given: 0.9 → 90%, 0.8351 → 83.51%."""
    text = format((ratio * 100).normalize(), "f")
    return f"{text}%"


def percent_beside(ratio: Decimal, other: Decimal) -> str:
    """``ratio`` as a percentage with one decimal, or as many more as it takes to keep it on the
    same side of ``other`` (and unequal to it, when it is) as the exact figures are."""
    for places in range(1, 29):
        shown = ratio.quantize(Decimal(1).scaleb(-places - 2), rounding=ROUND_HALF_EVEN)
        if (shown > other) == (ratio > other) and (shown < other) == (ratio < other):
            return f"{shown * 100:.{places}f}%"
    return percent(ratio)


@dataclass(frozen=True)
class RoutingVerdict:
    """Which engine's routing costs less at this traffic, and the words that say so, both made
    from the figures printed (dollars to the cent)."""

    cheaper: str | None
    sentences: tuple[str, ...]


def routing_verdict(cost: CostEstimate) -> RoutingVerdict:
    """What the routing cost table says: which costs less here, and where the two cross."""
    edge = Decimal(as_dollars(cost.lambda_edge_dollars)).quantize(Decimal("0.01"))
    functions = Decimal(as_dollars(cost.cloudfront_functions_dollars)).quantize(Decimal("0.01"))
    if edge < functions:
        cheaper: str | None = Engine.LAMBDA_EDGE.value
        here = f"here lambda-edge costs ${functions - edge:,.2f} a month less"
    elif functions < edge:
        cheaper = Engine.CLOUDFRONT_FUNCTIONS.value
        here = f"here cloudfront-functions costs ${edge - functions:,.2f} a month less"
    else:
        cheaper = None
        here = "here both cost the same to the cent"
    break_even = cost.break_even_hit_ratio
    if break_even is None:
        crossing = (
            "break-even: none; a Lambda@Edge invocation costs no more than a CloudFront "
            "function's and runs on cache misses only, so lambda-edge costs no more at any cache "
            "hit ratio"
        )
    else:
        crossing = (
            f"break-even: {percent_beside(break_even, cost.cache_hit_ratio)} cache hits; above "
            "that lambda-edge costs less, below it cloudfront-functions does"
        )
    return RoutingVerdict(cheaper, (crossing, here))


@dataclass(frozen=True)
class MonitoringCost:
    """What a stack's monitoring declares, and its price per month. All zero when it is off."""

    enabled: bool
    engine: Engine
    viewer_alarms: int
    router_alarms: int
    # One per replication rule: a mesh of n origins has n x (n - 1).
    replication_alarms: int
    dashboards: int
    replication_rules: int
    prices: MonitoringPrices
    # With an evacuator: one alarm on every origin out of rotation, one per vantage Region on its
    # silence (a heartbeat), one per origin on its unreadable health object and one on the checks
    # held by their limits; they read one custom metric series each.
    evacuation_alarms: int = 0
    evacuation_vantages: int = 0
    evacuation_origins: int = 0

    @property
    def alarms(self) -> int:
        return (
            self.viewer_alarms
            + self.router_alarms
            + self.replication_alarms
            + self.evacuation_alarms
        )

    @property
    def replication_metrics(self) -> int:
        return self.replication_rules * METRICS_PER_REPLICATION_RULE

    @property
    def alarm_dollars(self) -> Decimal:
        return self.alarms * self.prices.alarm_per_month

    @property
    def dashboard_dollars(self) -> Decimal:
        return self.dashboards * self.prices.dashboard_per_month

    @property
    def metrics(self) -> int:
        """Replication metrics, and the evacuator's series (one per alarm on them)."""
        return self.replication_metrics + self.evacuation_alarms

    @property
    def metric_dollars(self) -> Decimal:
        return self.metrics * self.prices.metric_per_month

    @property
    def dollars(self) -> Decimal:
        return self.alarm_dollars + self.dashboard_dollars + self.metric_dollars

    def alarm_kinds(self) -> str:
        """What the alarms watch, as the bill's note says it."""
        if self.router_alarms and self.engine is Engine.LAMBDA_EDGE:
            router = (
                f", {self.router_alarms} Lambda@Edge in "
                f"{len(lambda_edge_execution_regions())} execution Regions"
            )
        elif self.router_alarms:
            router = f", {self.router_alarms} CloudFront function"
        else:
            router = ""
        kinds = f"{self.viewer_alarms} viewer 5xx{router}"
        if self.replication_alarms:
            kinds += f", {self.replication_alarms} failed replication"
        if self.evacuation_alarms:
            kinds += (
                f", 1 every origin out of rotation, {self.evacuation_vantages} evacuator silent, "
                f"{self.evacuation_origins} health object unreadable, 1 checks held"
            )
        return kinds

    def metric_kinds(self) -> str:
        kinds = (
            f"{self.replication_rules} replication rules x {METRICS_PER_REPLICATION_RULE}"
            if self.replication_rules
            else "replication is off"
        )
        if self.evacuation_alarms:
            kinds += f", {self.evacuation_alarms} evacuator series"
        return kinds

    def as_document(self) -> dict[str, Any]:
        return {
            "enabled": self.enabled,
            "alarms": {
                "viewer5xx": self.viewer_alarms,
                "router": self.router_alarms,
                "failedReplication": self.replication_alarms,
                "evacuator": self.evacuation_alarms,
                "total": self.alarms,
            },
            "dashboards": self.dashboards,
            "replicationRules": self.replication_rules,
            "replicationMetrics": self.replication_metrics,
            "evacuatorMetrics": self.evacuation_alarms,
            "dollarsPerMonth": {
                "alarms": as_dollars(self.alarm_dollars),
                "dashboards": as_dollars(self.dashboard_dollars),
                "metrics": as_dollars(self.metric_dollars),
                "total": as_dollars(self.dollars),
            },
            "prices": _prices_document(self.prices, _MONITORING_PRICE_KEYS),
        }


def monitoring_estimate(
    prices: MonitoringPrices,
    *,
    enabled: bool,
    engine: Engine,
    origins: int,
    mesh: bool,
    evacuation: bool = False,
    vantages: int = 0,
    router: bool = True,
) -> MonitoringCost:
    """The alarms, dashboard and replication metrics of a stack with ``origins`` buckets
    (``mesh``: replicating to one another; ``evacuation``: with an evacuator in ``vantages``
    Regions; ``router``: with a routing function, which AWS's own routing has not), as
    ``components/monitoring.py`` declares them."""
    if not enabled:
        return MonitoringCost(False, engine, 0, 0, 0, 0, 0, prices)
    if not router:
        router_alarms = 0
    elif engine is Engine.LAMBDA_EDGE:
        router_alarms = LAMBDA_EDGE_ALARMS_PER_EXECUTION_REGION * len(
            lambda_edge_execution_regions()
        )
    else:
        router_alarms = CLOUDFRONT_FUNCTIONS_ALARMS
    rules = origins * (origins - 1) if mesh else 0
    return MonitoringCost(
        True,
        engine,
        VIEWER_ALARMS,
        router_alarms,
        rules,
        DASHBOARDS,
        rules,
        prices,
        (2 + vantages + origins) if evacuation else 0,
        vantages if evacuation else 0,
        origins if evacuation else 0,
    )


@dataclass(frozen=True)
class BackfillPrices:
    as_of: str
    source: str
    batch_job: Decimal
    batch_per_million_objects: Decimal
    replication_put_per_thousand: Decimal
    transfer_per_gb: Decimal

    @classmethod
    def of(cls, book: PriceBook) -> BackfillPrices:
        return cls(*_dated(book, _BACKFILL_PRICE_KEYS), *_amounts(book, _BACKFILL_PRICE_KEYS))

    def jobs_and_requests(self, jobs: int, objects: int, copies: int) -> Decimal:
        """S3 Batch Operations' charges for ``jobs`` jobs over ``objects`` objects, and the
        replication PUTs of ``copies`` replicas (data transfer, by bytes, not included)."""
        return (
            jobs * self.batch_job
            + objects * self.batch_per_million_objects / 1_000_000
            + copies * self.replication_put_per_thousand / 1_000
        )


def load_backfill_prices() -> BackfillPrices:
    """The shipped prices of S3 Batch Replication (``tools/s3_prices.json``)."""
    return BackfillPrices.of(load_price_book())
