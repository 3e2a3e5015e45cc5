"""The routing artifact: the JSON document baked into the edge function's package.

Lambda@Edge has no environment variables, so the routing table travels inside the code archive,
and so do the origins the stack drains: the function never routes to one of them, whatever the
routing state says or fails to say (a drain therefore publishes a new function version; the routing
state, written first, carries it to the running containers before the new version arrives).
Rendering is deterministic (sorted keys, fixed layout): the same table and bucket names give the
same bytes, so an unchanged stack publishes no new function version. Every document is validated
before it is returned, with the same checks the function would need to trust it.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from routing.catalogue import REGION_CODE_PATTERN
from routing.table import FailoverMode, RoutingTable

SCHEMA_VERSION = 3
ARTIFACT_FILE_NAME = "routing.json"
DEFAULT_MARKER_HEADER = "X-Geo-Failover"
# A container reads the routing state again after this long: an evacuation reaches every
# container within it (after DynamoDB's replication, "typically within a second").
DEFAULT_STATE_REFRESH_SECONDS = 15.0
# The longest a request waits for a read of the routing state, everything included (name
# resolution, connecting, TLS, sending, the answer): the read runs beside the request, which goes
# on with what the container last read once this has passed. So a slow store, or a stalled
# resolver, holds at most one cache miss per container and refresh period, and only this long.
DEFAULT_STATE_TIMEOUT_SECONDS = 0.3
# DynamoDB table names: 3-255 of letters, digits, '_', '-' and '.'.
_TABLE_NAME = re.compile(r"^[A-Za-z0-9_.-]{3,255}\Z")
# An endpoint override: scheme and host (and port), nothing after; the handler posts to its root.
_ENDPOINT = re.compile(r"^https?://[A-Za-z0-9.:\[\]-]+/?\Z")
_STATE_KEYS = frozenset({"table", "regions", "refreshSeconds", "timeoutSeconds"})

# S3 bucket naming rules, minus dots: a dotted name breaks the TLS certificate match of the
# virtual-hosted Regional endpoint CloudFront connects to.
_BUCKET_NAME = re.compile(r"^[a-z0-9][a-z0-9-]{1,61}[a-z0-9]\Z")
_BUCKET_NAME_FORBIDDEN_AFFIXES = (
    ("xn--", "sthree-", "amzn-s3-demo-"),
    ("-s3alias", "--ol-s3", "--x-s3"),
)
_HEADER_NAME = re.compile(r"^[A-Za-z0-9-]{1,128}\Z")
# Origin custom header names CloudFront refuses (CloudFront developer guide,
# add-origin-custom-headers).
_RESERVED_HEADER_NAMES = frozenset(
    {
        "cache-control",
        "connection",
        "content-length",
        "cookie",
        "host",
        "max-forwards",
        "pragma",
        "range",
        "request-range",
        "te",
        "trailer",
        "transfer-encoding",
        "upgrade",
        "via",
        "x-real-ip",
    }
)
_RESERVED_HEADER_PREFIXES = ("if-", "proxy-", "x-amz-", "x-edge-")
# CloudFront's limit on an S3 origin's domain name in the origin-request event.
_MAX_S3_DOMAIN_LENGTH = 128


class ArtifactError(ValueError):
    """The routing artifact (or what it would be rendered from) is not valid."""


def regional_domain_name(bucket_name: str, region_code: str) -> str:
    """The Regional virtual-hosted endpoint of a bucket, the only form used for origins here."""
    return f"{bucket_name}.s3.{region_code}.amazonaws.com"


def check_bucket_name(bucket_name: object) -> str | None:
    """Why ``bucket_name`` cannot be used as an origin bucket, or None when it can."""
    if not isinstance(bucket_name, str) or not _BUCKET_NAME.match(bucket_name):
        return (
            f"{bucket_name!r} is not a valid bucket name; expected 3-63 characters of lowercase "
            "letters, digits and hyphens, starting and ending with a letter or digit (no dots)"
        )
    prefixes, suffixes = _BUCKET_NAME_FORBIDDEN_AFFIXES
    if bucket_name.startswith(prefixes) or bucket_name.endswith(suffixes):
        return f"{bucket_name!r} uses a prefix or suffix S3 reserves"
    return None


def check_marker_header(name: object) -> str | None:
    """Why ``name`` cannot be the failover origin's marker header, or None when it can."""
    if not isinstance(name, str) or not _HEADER_NAME.match(name):
        return f"{name!r} is not a header name; expected letters, digits and hyphens"
    lowered = name.lower()
    if lowered in _RESERVED_HEADER_NAMES or lowered.startswith(_RESERVED_HEADER_PREFIXES):
        return f"{name!r} is a header CloudFront does not allow as an origin custom header"
    return None


@dataclass(frozen=True)
class StateSource:
    """Where the Lambda@Edge function reads the routing state (which origins are out of
    rotation): a DynamoDB global table, read in the replica of the Region the function runs in."""

    table: str
    # The Regions holding a replica; the function reads the nearest one (its own when it can).
    regions: tuple[str, ...]
    # How long a container keeps what it read before reading again.
    refresh_seconds: float = DEFAULT_STATE_REFRESH_SECONDS
    # The longest a request waits for a read, name resolution included.
    timeout_seconds: float = DEFAULT_STATE_TIMEOUT_SECONDS
    # Another endpoint for every Region (the sandbox's emulator); None: AWS's own.
    endpoint: str | None = None

    def document(self) -> dict[str, Any]:
        document: dict[str, Any] = {
            "table": self.table,
            "regions": list(self.regions),
            "refreshSeconds": self.refresh_seconds,
            "timeoutSeconds": self.timeout_seconds,
        }
        if self.endpoint is not None:
            document["endpoint"] = self.endpoint
        return document


def render_artifact(
    table: RoutingTable,
    bucket_names: Mapping[str, str],
    *,
    marker_header: str = DEFAULT_MARKER_HEADER,
    state: StateSource | None = None,
) -> str:
    """Render and validate the artifact for ``table`` over ``bucket_names`` (Region → bucket),
    reading the routing state from ``state`` (None: no state; the rankings alone decide)."""
    missing = [code for code in table.origins if code not in bucket_names]
    extra = [code for code in bucket_names if code not in table.origins]
    if missing or extra:
        raise ArtifactError(
            f"bucket names must cover exactly the origins {list(table.origins)}; "
            f"missing {missing}, not an origin {extra}"
        )
    for code in table.origins:
        reason = check_bucket_name(bucket_names[code])
        if reason:
            raise ArtifactError(f"bucket for {code}: {reason}")

    document = {
        "schema": SCHEMA_VERSION,
        "failover": table.failover_mode.value,
        "fixedFailover": (
            table.failover_origin if table.failover_mode is FailoverMode.FIXED else None
        ),
        "markerHeader": marker_header,
        # Every origin, drained ones included: they keep their buckets, and the state may name
        # them too.
        "origins": {
            code: {"domainName": regional_domain_name(bucket_names[code], code)}
            for code in table.origins
        },
        "defaultRanking": list(table.default_ranking),
        "rankings": {code: list(ranking) for code, ranking in table.rankings.items()},
        # Never routed to, whatever the routing state says or fails to say (fail safe).
        "drained": sorted(table.drained),
        "state": state.document() if state is not None else None,
    }
    validate_artifact(document)
    return json.dumps(document, sort_keys=True, indent=1, ensure_ascii=True) + "\n"


def validate_artifact(document: Any) -> None:
    """Raise ArtifactError unless ``document`` is a routing artifact the handler can trust."""
    if not isinstance(document, dict):
        raise ArtifactError(f"the artifact is a {type(document).__name__}, not a JSON object")
    if document.get("schema") != SCHEMA_VERSION:
        raise ArtifactError(f"schema {document.get('schema')!r} is not {SCHEMA_VERSION}")
    expected_keys = {
        "schema",
        "failover",
        "fixedFailover",
        "markerHeader",
        "origins",
        "defaultRanking",
        "rankings",
        "drained",
        "state",
    }
    if set(document) != expected_keys:
        raise ArtifactError(f"keys {sorted(document)} are not {sorted(expected_keys)}")
    modes = [mode.value for mode in FailoverMode]
    if document["failover"] not in modes:
        raise ArtifactError(f"failover {document['failover']!r} is not one of {modes}")
    reason = check_marker_header(document["markerHeader"])
    if reason:
        raise ArtifactError(f"markerHeader: {reason}")

    origins = document["origins"]
    if not isinstance(origins, dict) or not origins:
        raise ArtifactError("origins must be a non-empty object of Region → {domainName}")
    for code, origin in origins.items():
        domain = origin.get("domainName") if isinstance(origin, dict) else None
        suffix = f".s3.{code}.amazonaws.com"
        if (
            not REGION_CODE_PATTERN.match(code)
            or not isinstance(domain, str)
            or not domain.endswith(suffix)
            or check_bucket_name(domain[: -len(suffix)]) is not None
            or len(domain) > _MAX_S3_DOMAIN_LENGTH
        ):
            raise ArtifactError(
                f"origin {code!r}: {origin!r} is not {{'domainName': '<bucket>{suffix}'}}"
            )
    fixed = document["fixedFailover"]
    if (fixed is not None) != (document["failover"] == FailoverMode.FIXED.value):
        raise ArtifactError(f"fixedFailover {fixed!r} does not match mode {document['failover']!r}")
    if fixed is not None and (not isinstance(fixed, str) or fixed not in origins):
        raise ArtifactError(f"fixedFailover {fixed!r} is not an origin")

    rankings = document["rankings"]
    if not isinstance(rankings, dict) or not rankings:
        raise ArtifactError("rankings must be a non-empty object of edge Region → origins")
    for edge, ranking in [("defaultRanking", document["defaultRanking"]), *rankings.items()]:
        if (
            not isinstance(ranking, list)
            or not all(isinstance(code, str) for code in ranking)
            or sorted(ranking) != sorted(origins)
        ):
            raise ArtifactError(
                f"ranking {edge!r}: {ranking!r} does not list every origin exactly once"
            )
    _validate_drained(document["drained"], origins)
    _validate_state(document["state"])


def _validate_drained(drained: Any, origins: dict[str, Any]) -> None:
    if (
        not isinstance(drained, list)
        or not all(isinstance(code, str) and code in origins for code in drained)
        or drained != sorted(set(drained))
    ):
        raise ArtifactError(f"drained {drained!r} is not a sorted list of distinct origins")
    if set(drained) >= set(origins):
        raise ArtifactError(f"drained {drained!r} drains every origin; one must stay in rotation")


def _validate_state(state: Any) -> None:
    if state is None:
        return
    if not isinstance(state, dict) or not _STATE_KEYS <= set(state) <= _STATE_KEYS | {"endpoint"}:
        raise ArtifactError(
            f"state {state!r} is not {{table, regions, refreshSeconds, timeoutSeconds}} and "
            "an optional endpoint"
        )
    regions = state["regions"]
    if not isinstance(state["table"], str) or not _TABLE_NAME.match(state["table"]):
        raise ArtifactError(f"state table {state['table']!r} is not a DynamoDB table name")
    if (
        not isinstance(regions, list)
        or not regions
        or not all(isinstance(code, str) and REGION_CODE_PATTERN.match(code) for code in regions)
    ):
        raise ArtifactError(f"state regions {regions!r} is not a list of Region codes")
    for key, bound in (("refreshSeconds", 3600.0), ("timeoutSeconds", 5.0)):
        value = state[key]
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 < value <= bound:
            raise ArtifactError(f"state {key} {value!r} is not a number of seconds up to {bound:g}")
    endpoint = state.get("endpoint")
    if endpoint is not None and (not isinstance(endpoint, str) or not _ENDPOINT.match(endpoint)):
        raise ArtifactError(f"state endpoint {endpoint!r} is not an http(s) URL of a host")
