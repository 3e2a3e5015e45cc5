"""What the routing logic costs per month with each engine, where the two cross, and what the
stack's monitoring costs.

Lambda@Edge runs at origin-request, on cache misses only: a price per request plus duration
(memory x billed time, billed per 1 ms). CloudFront Functions run at viewer-request, on every
request: a price per invocation and nothing else. So Lambda@Edge is cheaper above a cache hit ratio
that depends on prices alone (and on the billed duration), CloudFront Functions below it. Prices are
data (``tools/edge_prices.json``) with their source and date; ``--prices FILE`` overrides them.
Failover retries (a second Lambda@Edge invocation per failed-over miss) and free tiers are left
out: both are small next to the request counts this is for.

Monitoring (``monitoring: true``, the default) costs the same at any traffic, but grows with the
square of the origins: a replication mesh of n origins has n x (n - 1) rules, each with a
failed-replication alarm and 4 replication metrics. Its prices are data too
(``tools/monitoring_prices.json``), and ``--prices FILE`` overrides them as well.

A web ACL (``webAcl``) costs a month per web ACL and per rule, and per million requests it
inspects: every viewer request, cache hits included (``tools/waf_prices.json``).
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from decimal import ROUND_HALF_EVEN, Decimal
from pathlib import Path
from typing import Any

from core.cloudfront import EDGE_FUNCTION_MEMORY_MB
from core.engine import Engine
from core.waf import WAF_MANAGED_RULE_GROUPS, WEB_ACL_MANAGED
from routing.catalogue import lambda_edge_execution_regions

PRICES_FILE = Path(__file__).with_name("edge_prices.json")
MONITORING_PRICES_FILE = Path(__file__).with_name("monitoring_prices.json")
WAF_PRICES_FILE = Path(__file__).with_name("waf_prices.json")
BACKFILL_PRICES_FILE = Path(__file__).with_name("backfill_prices.json")
# The handler answers in microseconds (./dev bench), so each invocation bills the 1 ms minimum.
DEFAULT_LAMBDA_EDGE_BILLED_MS = 1.0
DEFAULT_REQUESTS_PER_MONTH = 100_000_000
DEFAULT_CACHE_HIT_RATIO = 0.9


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


class PriceError(ValueError):
    """A prices file that cannot be used."""


@dataclass(frozen=True)
class Prices:
    as_of: str
    source: str
    lambda_edge_per_million_requests: float
    lambda_edge_per_gb_second: float
    cloudfront_functions_per_million_invocations: float

    def per_lambda_edge_invocation(self, billed_ms: float) -> float:
        """Request price plus duration at 128 MB for ``billed_ms``, rounded up to whole ms."""
        gb_seconds = (EDGE_FUNCTION_MEMORY_MB / 1024) * (math.ceil(billed_ms) / 1000)
        return (
            self.lambda_edge_per_million_requests / 1e6
            + gb_seconds * self.lambda_edge_per_gb_second
        )

    @property
    def per_function_invocation(self) -> float:
        return self.cloudfront_functions_per_million_invocations / 1e6


@dataclass(frozen=True)
class MonitoringPrices:
    as_of: str
    source: str
    alarm_per_month: float
    dashboard_per_month: float
    metric_per_month: float


# Each prices file's keys → its dataclass's fields; the dollar amounts among them.
_DATED = {"asOf": "as_of", "source": "source"}
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
_KEYS = {**_DATED, **_PRICE_KEYS}
_MONITORING_KEYS = {**_DATED, **_MONITORING_PRICE_KEYS}
_WAF_KEYS = {**_DATED, **_WAF_PRICE_KEYS}


def _read_override(override: Path) -> dict[str, Any]:
    """``--prices FILE``: some keys of either prices file; its asOf and source apply to both."""
    try:
        changes = json.loads(override.read_text(encoding="utf-8"))
    except OSError as error:
        raise PriceError(f"--prices {override}: {error.strerror}") from None
    except ValueError as error:
        raise PriceError(f"--prices {override}: not JSON ({error})") from None
    known = {**_KEYS, **_MONITORING_PRICE_KEYS, **_WAF_PRICE_KEYS}
    if not isinstance(changes, dict) or not set(changes) <= set(known):
        raise PriceError(f"--prices {override}: expected an object with some of {', '.join(known)}")
    return changes


def _load(path: Path, keys: dict[str, str], override: Path | None) -> dict[str, Any]:
    """``path``'s values by field name, with the override's keys of this file replacing them."""
    values: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    if override is not None:
        changes = {key: value for key, value in _read_override(override).items() if key in keys}
        if changes:
            values.update(changes)
            values["source"] = f"{values['source']} Overridden by {override}."
    for key in set(keys) - set(_DATED):
        price = values[key]
        if isinstance(price, bool) or not isinstance(price, (int, float)) or price < 0:
            raise PriceError(f"price {key}: {price!r} is not a number of dollars")
    return {attribute: values[key] for key, attribute in keys.items()}


def load_prices(override: Path | None = None) -> Prices:
    """The shipped prices of the routing logic, with any keys of ``override`` replacing them."""
    return Prices(**_load(PRICES_FILE, _KEYS, override))


def load_monitoring_prices(override: Path | None = None) -> MonitoringPrices:
    """The shipped CloudWatch prices, with any keys of ``override`` replacing them."""
    return MonitoringPrices(**_load(MONITORING_PRICES_FILE, _MONITORING_KEYS, override))


@dataclass(frozen=True)
class WafPrices:
    as_of: str
    source: str
    web_acl_per_month: float
    rule_per_month: float
    per_million_requests: float


def load_waf_prices(override: Path | None = None) -> WafPrices:
    """The shipped AWS WAF prices, with any keys of ``override`` replacing them."""
    return WafPrices(**_load(WAF_PRICES_FILE, _WAF_KEYS, override))


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
    def fixed_dollars(self) -> float:
        return (
            self.web_acls * self.prices.web_acl_per_month + self.rules * self.prices.rule_per_month
        )

    @property
    def request_dollars(self) -> float:
        if self.mode is None:
            return 0.0
        return self.requests_per_month / 1e6 * self.prices.per_million_requests

    @property
    def dollars(self) -> float:
        return self.fixed_dollars + self.request_dollars

    def as_document(self) -> dict[str, Any]:
        return {
            "webAcl": self.mode,
            "webAcls": self.web_acls,
            "rules": self.rules,
            "requestsPerMonth": self.requests_per_month if self.mode else 0,
            "dollarsPerMonth": {
                "webAclAndRules": round(self.fixed_dollars, 2),
                "requests": round(self.request_dollars, 2),
                "total": round(self.dollars, 2),
            },
            "prices": {
                key: getattr(self.prices, attribute) for key, attribute in _WAF_KEYS.items()
            },
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
    requests_per_month: int
    cache_hit_ratio: float
    lambda_edge_billed_ms: float
    lambda_edge_invocations: int
    lambda_edge_dollars: float
    cloudfront_functions_invocations: int
    cloudfront_functions_dollars: float
    # Above this cache hit ratio Lambda@Edge costs less; None when it never does.
    break_even_hit_ratio: float | None

    def as_document(self, prices: Prices) -> dict[str, Any]:
        return {
            "requestsPerMonth": self.requests_per_month,
            "cacheHitRatio": self.cache_hit_ratio,
            "lambdaEdge": {
                "invocations": self.lambda_edge_invocations,
                "billedMs": self.lambda_edge_billed_ms,
                "dollarsPerMonth": round(self.lambda_edge_dollars, 2),
            },
            "cloudfrontFunctions": {
                "invocations": self.cloudfront_functions_invocations,
                "dollarsPerMonth": round(self.cloudfront_functions_dollars, 2),
            },
            "breakEvenCacheHitRatio": (
                None if self.break_even_hit_ratio is None else round(self.break_even_hit_ratio, 4)
            ),
            "prices": {key: getattr(prices, attribute) for key, attribute in _KEYS.items()},
        }


def cache_misses(requests_per_month: int, cache_hit_ratio: float) -> int:
    """The requests that miss the cache, in whole requests: 5% of 10^15 is 5 x 10^13 exactly."""
    # The ratio as written (0.95, not 0.9499999999999999556), so that no float noise reaches the
    # count at 10^15 requests.
    missed = requests_per_month * (1 - Decimal(repr(cache_hit_ratio)))
    return int(missed.to_integral_value(ROUND_HALF_EVEN))


def estimate(
    prices: Prices,
    requests_per_month: int,
    cache_hit_ratio: float,
    lambda_edge_billed_ms: float = DEFAULT_LAMBDA_EDGE_BILLED_MS,
) -> CostEstimate:
    misses = cache_misses(requests_per_month, cache_hit_ratio)
    per_lambda = prices.per_lambda_edge_invocation(lambda_edge_billed_ms)
    per_function = prices.per_function_invocation
    # Equal when (1 - hit ratio) x per_lambda = per_function.
    break_even = 1 - per_function / per_lambda if per_lambda > per_function else None
    return CostEstimate(
        requests_per_month=requests_per_month,
        cache_hit_ratio=cache_hit_ratio,
        lambda_edge_billed_ms=float(math.ceil(lambda_edge_billed_ms)),
        lambda_edge_invocations=misses,
        lambda_edge_dollars=misses * per_lambda,
        cloudfront_functions_invocations=requests_per_month,
        cloudfront_functions_dollars=requests_per_month * per_function,
        break_even_hit_ratio=break_even,
    )


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
    def alarm_dollars(self) -> float:
        return self.alarms * self.prices.alarm_per_month

    @property
    def dashboard_dollars(self) -> float:
        return self.dashboards * self.prices.dashboard_per_month

    @property
    def metrics(self) -> int:
        """Replication metrics, and the evacuator's series (one per alarm on them)."""
        return self.replication_metrics + self.evacuation_alarms

    @property
    def metric_dollars(self) -> float:
        return self.metrics * self.prices.metric_per_month

    @property
    def dollars(self) -> float:
        return self.alarm_dollars + self.dashboard_dollars + self.metric_dollars

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
                "alarms": round(self.alarm_dollars, 2),
                "dashboards": round(self.dashboard_dollars, 2),
                "metrics": round(self.metric_dollars, 2),
                "total": round(self.dollars, 2),
            },
            "prices": {
                key: getattr(self.prices, attribute) for key, attribute in _MONITORING_KEYS.items()
            },
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
) -> MonitoringCost:
    """The alarms, dashboard and replication metrics of a stack with ``origins`` buckets
    (``mesh``: replicating to one another; ``evacuation``: with an evacuator in ``vantages``
    Regions), as
    ``components/monitoring.py`` declares them."""
    if not enabled:
        return MonitoringCost(False, engine, 0, 0, 0, 0, 0, prices)
    router = (
        LAMBDA_EDGE_ALARMS_PER_EXECUTION_REGION * len(lambda_edge_execution_regions())
        if engine is Engine.LAMBDA_EDGE
        else CLOUDFRONT_FUNCTIONS_ALARMS
    )
    rules = origins * (origins - 1) if mesh else 0
    return MonitoringCost(
        True,
        engine,
        VIEWER_ALARMS,
        router,
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
    batch_job: float
    batch_per_million_objects: float
    replication_put_per_thousand: float
    transfer_per_gb: float

    def jobs_and_requests(self, jobs: int, objects: int, copies: int) -> float:
        """S3 Batch Operations' charges for ``jobs`` jobs over ``objects`` objects, and the
        replication PUTs of ``copies`` replicas (data transfer, by bytes, not included)."""
        return (
            jobs * self.batch_job
            + objects / 1e6 * self.batch_per_million_objects
            + copies / 1e3 * self.replication_put_per_thousand
        )


_BACKFILL_KEYS = {
    **_DATED,
    "batchJob": "batch_job",
    "batchPerMillionObjects": "batch_per_million_objects",
    "replicationPutPerThousand": "replication_put_per_thousand",
    "transferPerGb": "transfer_per_gb",
}


def load_backfill_prices() -> BackfillPrices:
    """The shipped prices of S3 Batch Replication (``tools/backfill_prices.json``)."""
    return BackfillPrices(**_load(BACKFILL_PRICES_FILE, _BACKFILL_KEYS, None))
