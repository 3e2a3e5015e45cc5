"""Lambda@Edge origin-request routing: send every cache miss to the S3 origin nearest the edge.

CloudFront runs this function in the Regional edge cache Region that handles the miss. It reads that
Region from its own ARN, looks it up in the routing artifact (``routing.json``, rendered at deploy
time and packaged beside this file, because Lambda@Edge has no environment variables) and points the
request at that Region's primary origin. A request to the origin group's failover member carries the
marker header; in ``ranked`` mode it goes to the Region's failover origin, which is never the origin
that just failed.

Standard library only, no network I/O: ``lambda_function`` reads the artifact once per container,
at import. This module has no import-time side effects and must stay valid on Python 3.11 to 3.13.
"""

import os
import sys

ARTIFACT_PATH = os.path.join(os.path.dirname(os.path.abspath(__file__)), "routing.json")
SCHEMA_VERSION = 1
# A container runs under one ARN; the bound only matters for callers that invent many.
_MAX_CACHED_ARNS = 32

_logged: set[str] = set()


def _log_once(key, message):
    # CloudWatch Logs bills per byte and this runs on every cache miss: one line per cause and
    # per container.
    if key not in _logged:
        _logged.add(key)
        print("geo-proximity origin-request: " + message, file=sys.stderr, flush=True)


def _looks_like_region(code):
    """True for strings shaped like a Region code (``eu-west-2``, ``us-gov-west-1``)."""
    parts = code.split("-")
    return (
        len(parts) >= 3
        and parts[-1].isdigit()
        and all(part.isalpha() and part.islower() and part.isascii() for part in parts[:-1])
        and len(parts[0]) == 2
    )


def _edge_region(context):
    """The Region this invocation executes in, or None when neither source names one."""
    arn = getattr(context, "invoked_function_arn", None)
    if isinstance(arn, str):
        # arn:aws:lambda:<executing Region>:<account>:function:us-east-1.<name>:<version>
        fields = arn.split(":")
        if len(fields) > 3 and _looks_like_region(fields[3]):
            return fields[3]
    region = os.environ.get("AWS_REGION")
    if region and _looks_like_region(region):
        return region
    return None


def _has_header(headers, lowercase_name):
    # CloudFront lowercases header keys, so this scan only runs for events built by other tools.
    return any(isinstance(key, str) and key.lower() == lowercase_name for key in headers)


def _pass_through(event, context):
    try:
        return event["Records"][0]["cf"]["request"]
    except Exception:
        return None


class _ScannerSettings:
    """What the C scanner reads from a ``json.JSONDecoder``: strict JSON, plain dicts."""

    strict = True
    object_hook = None
    object_pairs_hook = None
    parse_float = float
    parse_int = int
    parse_constant = float  # NaN and Infinity, as json.loads accepts them


def _c_scanner():
    # The json package imports re and enum: about 9 ms of a fresh interpreter's cold start.
    # CPython's C scanner, which json.loads uses underneath, parses the same documents without them.
    try:
        from _json import make_scanner

        # The scanner only reads these attributes, so a plain object stands in for a JSONDecoder.
        return make_scanner(_ScannerSettings())  # type: ignore[arg-type]
    except Exception:  # not CPython, or a CPython whose private scanner changed
        return None


def parse_json(text):
    """``json.loads(text)``, without importing json where CPython's C scanner is available."""
    scan = _c_scanner()
    if scan is None:
        import json

        return json.loads(text)
    start = len(text) - len(text.lstrip())
    try:
        document, end = scan(text, start)
    except StopIteration as stop:
        raise ValueError(f"no JSON value at character {stop.value}") from None
    if text[end:].strip():
        raise ValueError(f"extra data at character {end}")
    return document


def load_artifact(path=ARTIFACT_PATH):
    """The routing document at ``path``, or None (logged once) when it cannot be read."""
    try:
        with open(path, encoding="utf-8") as handle:
            return parse_json(handle.read())
    # a function that cannot route must still serve, from the group's origins
    except Exception as error:
        _log_once(
            "artifact",
            f"cannot read routing artifact {path} ({error!r}); requests pass through unchanged",
        )
        return None


def build_handler(document):
    """An origin-request handler routing by ``document``; a pass-through one if it is unusable."""
    if document is None:
        return _pass_through
    try:
        if document["schema"] != SCHEMA_VERSION:
            raise ValueError(f"schema {document['schema']!r} is not {SCHEMA_VERSION}")
        domains = {code: origin["domainName"] for code, origin in document["origins"].items()}
        reroute_failover = document["failover"] == "ranked"

        def targets(route):
            # (primary, failover) as (domain name, Region) pairs; failover None where the request
            # must stay with the group's failover member (fixed or off mode, or a single origin).
            primary, failover = route["primary"], route["failover"]
            if not reroute_failover or failover is None:
                return (domains[primary], primary), None
            return (domains[primary], primary), (domains[failover], failover)

        routes = {edge: targets(route) for edge, route in document["routes"].items()}
        default_route = targets(document["defaultRoute"])
        marker = document["markerHeader"].lower()
    except Exception as error:
        _log_once(
            "artifact", f"routing artifact unusable ({error!r}); requests pass through unchanged"
        )
        return _pass_through

    routes_by_arn: dict[str, tuple[tuple[str, str], tuple[str, str] | None]] = {}

    def route_for(context):
        route = routes.get(_edge_region(context), default_route)
        arn = getattr(context, "invoked_function_arn", None)
        if len(routes_by_arn) < _MAX_CACHED_ARNS and isinstance(arn, str):
            routes_by_arn[arn] = route
        return route

    # The hot path: subscripts over .get() and try over checks, since a zero-cost try is cheaper
    # than a method call on every request and the exceptional paths are rare.
    def handler(event, context):
        request = None
        try:
            request = event["Records"][0]["cf"]["request"]
            origin = request["origin"]
            if "custom" in origin:
                return request
            s3 = origin["s3"]
            headers = request["headers"]
            try:
                primary, failover = routes_by_arn[context.invoked_function_arn]
            except (KeyError, AttributeError, TypeError):
                primary, failover = route_for(context)
            try:
                custom_headers = s3["customHeaders"]
            except KeyError:
                custom_headers = None
            if custom_headers and (marker in custom_headers or _has_header(custom_headers, marker)):
                # The origin group is retrying on its failover member.
                if failover is None:
                    return request
                domain, region = failover
            else:
                domain, region = primary
            headers["host"] = [{"key": "Host", "value": domain}]
            s3["domainName"] = domain
            # CloudFront signs for this Region: the target bucket's, not the one executing.
            s3["region"] = region
            return request
        except Exception as error:
            _log_once("request:" + type(error).__name__, f"request left unchanged after {error!r}")
            return request

    return handler
