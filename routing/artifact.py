"""The routing artifact: the JSON document baked into the edge function's package.

Lambda@Edge has no environment variables, so the routing table travels inside the code archive.
Rendering is deterministic (sorted keys, fixed layout): the same table and bucket names give the
same bytes, so an unchanged stack publishes no new function version. Every document is validated
before it is returned, with the same checks the function would need to trust it.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any

from routing.catalogue import REGION_CODE_PATTERN
from routing.table import FailoverMode, Route, RoutingTable

SCHEMA_VERSION = 1
ARTIFACT_FILE_NAME = "routing.json"
DEFAULT_MARKER_HEADER = "X-Geo-Failover"

# S3 bucket naming rules, minus dots: a dotted name breaks the TLS certificate match of the
# virtual-hosted Regional endpoint CloudFront connects to.
_BUCKET_NAME = re.compile(r"^[a-z0-9][a-z0-9-]{1,61}[a-z0-9]$")
_BUCKET_NAME_FORBIDDEN_AFFIXES = (
    ("xn--", "sthree-", "amzn-s3-demo-"),
    ("-s3alias", "--ol-s3", "--x-s3"),
)
_HEADER_NAME = re.compile(r"^[A-Za-z0-9-]{1,128}$")
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


def render_artifact(
    table: RoutingTable,
    bucket_names: Mapping[str, str],
    *,
    marker_header: str = DEFAULT_MARKER_HEADER,
) -> str:
    """Render and validate the artifact for ``table`` over ``bucket_names`` (Region → bucket)."""
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
        "markerHeader": marker_header,
        # Only the origins in rotation: a drained bucket is never a target.
        "origins": {
            code: {"domainName": regional_domain_name(bucket_names[code], code)}
            for code in table.active_origins
        },
        "defaultRoute": _route_document(table.default_route),
        "routes": {code: _route_document(route) for code, route in table.routes.items()},
    }
    validate_artifact(document)
    return json.dumps(document, sort_keys=True, indent=1, ensure_ascii=True) + "\n"


def _route_document(route: Route) -> dict[str, str | None]:
    return {"primary": route.primary, "failover": route.failover}


def validate_artifact(document: Any) -> None:
    """Raise ArtifactError unless ``document`` is a routing artifact the handler can trust."""
    if not isinstance(document, dict):
        raise ArtifactError(f"the artifact is a {type(document).__name__}, not a JSON object")
    if document.get("schema") != SCHEMA_VERSION:
        raise ArtifactError(f"schema {document.get('schema')!r} is not {SCHEMA_VERSION}")
    expected_keys = {"schema", "failover", "markerHeader", "origins", "defaultRoute", "routes"}
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

    routes = document["routes"]
    if not isinstance(routes, dict) or not routes:
        raise ArtifactError("routes must be a non-empty object of edge Region → route")
    failover_expected = document["failover"] != FailoverMode.OFF.value and len(origins) > 1
    for edge, route in [("defaultRoute", document["defaultRoute"]), *routes.items()]:
        if not isinstance(route, dict) or set(route) != {"primary", "failover"}:
            raise ArtifactError(f"route {edge!r}: {route!r} is not {{'primary', 'failover'}}")
        if route["primary"] not in origins:
            raise ArtifactError(f"route {edge!r}: primary {route['primary']!r} is not an origin")
        if failover_expected != (route["failover"] is not None):
            raise ArtifactError(
                f"route {edge!r}: failover {route['failover']!r} does not match mode "
                f"{document['failover']!r} with {len(origins)} origin(s)"
            )
        if route["failover"] is not None and route["failover"] not in origins:
            raise ArtifactError(f"route {edge!r}: failover {route['failover']!r} is not an origin")
        if (
            document["failover"] == FailoverMode.RANKED.value
            and route["failover"] == route["primary"]
        ):
            raise ArtifactError(
                f"route {edge!r}: ranked failover returns to the primary {route['primary']!r}"
            )
