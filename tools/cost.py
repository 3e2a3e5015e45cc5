"""What the routing logic costs per month with each engine, and where the two cross.

Lambda@Edge runs at origin-request, on cache misses only: a price per request plus duration
(memory x billed time, billed per 1 ms). CloudFront Functions run at viewer-request, on every
request: a price per invocation and nothing else. So Lambda@Edge is cheaper above a cache hit ratio
that depends on prices alone (and on the billed duration), CloudFront Functions below it. Prices are
data (``tools/edge_prices.json``) with their source and date; ``--prices FILE`` overrides them.
Failover retries (a second Lambda@Edge invocation per failed-over miss) and free tiers are left
out: both are small next to the request counts this is for.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from components.defaults import EDGE_FUNCTION_MEMORY_MB

PRICES_FILE = Path(__file__).with_name("edge_prices.json")
# The handler answers in microseconds (./dev bench), so each invocation bills the 1 ms minimum.
DEFAULT_LAMBDA_EDGE_BILLED_MS = 1.0
DEFAULT_REQUESTS_PER_MONTH = 100_000_000
DEFAULT_CACHE_HIT_RATIO = 0.9


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


# The prices file's keys → Prices' fields; the dollar amounts among them.
_PRICE_KEYS = {
    "lambdaEdgePerMillionRequests": "lambda_edge_per_million_requests",
    "lambdaEdgePerGbSecond": "lambda_edge_per_gb_second",
    "cloudFrontFunctionsPerMillionInvocations": "cloudfront_functions_per_million_invocations",
}
_KEYS = {"asOf": "as_of", "source": "source", **_PRICE_KEYS}


def load_prices(override: Path | None = None) -> Prices:
    """The shipped prices, with any keys of ``override`` replacing them."""
    values: dict[str, Any] = json.loads(PRICES_FILE.read_text(encoding="utf-8"))
    if override is not None:
        try:
            changes = json.loads(override.read_text(encoding="utf-8"))
        except OSError as error:
            raise PriceError(f"--prices {override}: {error.strerror}") from None
        except ValueError as error:
            raise PriceError(f"--prices {override}: not JSON ({error})") from None
        if not isinstance(changes, dict) or not set(changes) <= set(_KEYS):
            raise PriceError(
                f"--prices {override}: expected an object with some of {', '.join(_KEYS)}"
            )
        values.update(changes)
        values["source"] = f"{values['source']} Overridden by {override}."
    for key in _PRICE_KEYS:
        price = values[key]
        if isinstance(price, bool) or not isinstance(price, (int, float)) or price < 0:
            raise PriceError(f"price {key}: {price!r} is not a number of dollars")
    return Prices(**{attribute: values[key] for key, attribute in _KEYS.items()})


@dataclass(frozen=True)
class CostEstimate:
    requests_per_month: int
    cache_hit_ratio: float
    lambda_edge_billed_ms: float
    lambda_edge_invocations: float
    lambda_edge_dollars: float
    cloudfront_functions_invocations: float
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


def estimate(
    prices: Prices,
    requests_per_month: int,
    cache_hit_ratio: float,
    lambda_edge_billed_ms: float = DEFAULT_LAMBDA_EDGE_BILLED_MS,
) -> CostEstimate:
    misses = float(round(requests_per_month * (1 - cache_hit_ratio)))
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
        cloudfront_functions_invocations=float(requests_per_month),
        cloudfront_functions_dollars=requests_per_month * per_function,
        break_even_hit_ratio=break_even,
    )
