"""The CloudFront Functions engine's code: ``router.js`` with the stack's routing table filled in.

CloudFront Functions (JavaScript runtime 2.0, viewer-request) can pick the request's origin among
the distribution's own: ``cf.selectRequestOriginById(id)``, or ``cf.createRequestOriginGroup({
originIds, failoverCriteria})`` for a failover group made for this one request (CloudFront developer
guide, "Helper methods for origin modification"). ``cf.edgeLocation.region`` is "the CloudFront
Regional Edge Cache (REC) that the request is expected to use if there is a cache miss" ("General
helper methods"): the key the rankings are built on. CloudFront Functions have no environment and no
network, so the rankings are written into the code, deterministically: the same table gives the
same bytes, and CloudFront publishes nothing new.

The origins the stack drains are in the code too, so no request goes to one whatever the store says
or fails to say (a drain publishes new code; the store, written first, carries it to the edges
before the code arrives). Which other origins are out of rotation the function reads once per
request from the key value store associated with it (``cf.kvs()``, "Helper methods for key value
stores"), under ``state_key``, as ``{"out": [Region, ...]}`` (other fields of the value are
ignored): an evacuation writes that value and publishes no code. A missing key, an unreadable
store or a value of another shape puts nothing out but the drains. The function chooses as
``routing.table.choose`` does: the first origin in rotation, and a failover group with the next in
rotation (``ranked``) or the fixed failover origin unless it is out (``fixed``); a group of one
bucket twice is no failover, so there is none then.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from pathlib import Path

from routing.table import FailoverMode, Route, RoutingTable

TEMPLATE = Path(__file__).with_name("router.js")
RUNTIME = "cloudfront-js-2.0"
# "Maximum size of a function" (code and configuration), CloudFront developer guide, "Quotas on
# CloudFront Functions": 10 KB.
MAX_CODE_BYTES = 10_240
# The first line CloudFront requires for the origin modification helpers.
CLOUDFRONT_MODULE_IMPORT = "import cf from 'cloudfront';"
# What the runtime refuses or does not have ("Restrictions on CloudFront Functions": no dynamic code
# evaluation, no network, file system or timers), and modules other than cloudfront.
_RESTRICTED = re.compile(
    r"\b(eval|Function|require|fetch|XMLHttpRequest|WebSocket|setTimeout|setInterval)\s*\("
    r"|^\s*(import|export)\b",
    re.MULTILINE,
)


class FunctionCodeError(ValueError):
    """The generated code would break one of CloudFront Functions' limits."""


class FunctionTooLargeError(FunctionCodeError):
    """The routing table makes the code larger than CloudFront Functions accept."""


def origin_id(region: str) -> str:
    """The distribution's id of the origin that is ``region``'s bucket."""
    return f"s3-{region}"


def route_targets(route: Route) -> tuple[str, ...]:
    """The buckets a request on ``route`` may be served by, in order: the primary, then the
    failover when it is another bucket."""
    if route.failover is None or route.failover == route.primary:
        return (route.primary,)
    return (route.primary, route.failover)


def render_function_code(
    table: RoutingTable, failover_status_codes: Sequence[int], state_key: str | None = None
) -> str:
    """The function's code for ``table``, reading the routing state under ``state_key`` (None: no
    store; the rankings alone decide). Raises FunctionTooLargeError past CloudFront's size limit,
    and FunctionCodeError if the template uses what the runtime does not offer."""
    index = {region: position for position, region in enumerate(table.origins)}

    def encode(ranking: Sequence[str]) -> str:
        # Compact: with every catalogue Region an origin the rankings are most of the 10 KB.
        return json.dumps([index[region] for region in ranking], separators=(",", ":"))

    rankings = ",\n".join(
        f"    {json.dumps(edge)}: {encode(ranking)}" for edge, ranking in table.rankings.items()
    )
    fixed = table.failover_origin if table.failover_mode is FailoverMode.FIXED else None
    values = {
        "/* origin ids */[]": json.dumps([origin_id(region) for region in table.origins]),
        "/* origin regions */[]": json.dumps(list(table.origins)),
        "/* rankings */{}": "{\n" + rankings + "\n}",
        "/* default ranking */[]": encode(table.default_ranking),
        "/* failover */'off'": json.dumps(table.failover_mode.value),
        "/* fixed failover */-1": str(index[fixed]) if fixed is not None else "-1",
        "/* failover status codes */[]": json.dumps(sorted(set(failover_status_codes))),
        "/* state key */null": json.dumps(state_key),
        "/* drained */[]": json.dumps(sorted(index[region] for region in table.drained)),
    }
    code = TEMPLATE.read_text(encoding="utf-8")
    for placeholder, value in values.items():
        code = code.replace(placeholder, value)
    first_line, _, rest = code.partition("\n")
    if first_line != CLOUDFRONT_MODULE_IMPORT:
        raise FunctionCodeError(f"{TEMPLATE.name} must start with {CLOUDFRONT_MODULE_IMPORT!r}")
    restricted = _RESTRICTED.search(rest)
    if restricted:
        raise FunctionCodeError(
            f"{TEMPLATE.name} uses {restricted.group(0).strip()!r}, which CloudFront Functions "
            "do not offer (no network, timers, dynamic code or other modules)"
        )
    size = len(code.encode("utf-8"))
    if size > MAX_CODE_BYTES:
        raise FunctionTooLargeError(
            f"the generated CloudFront function is {size:,} bytes and CloudFront Functions accept "
            f"at most {MAX_CODE_BYTES:,} (CloudFront quotas)"
        )
    return code
