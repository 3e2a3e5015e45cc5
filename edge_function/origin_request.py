"""Lambda@Edge origin-request routing: send every cache miss to the S3 origin nearest the edge
that is in rotation.

CloudFront runs this function in the Regional edge cache Region that handles the miss. It reads that
Region from its own ARN, looks up its ranking of every origin in the routing artifact
(``routing.json``, rendered at deploy time and packaged beside this file, because Lambda@Edge has no
environment variables), leaves out the origins the routing state puts out of rotation, and points
the request at the first one left. A request to the origin group's failover member carries the
marker header; it goes to the edge's failover origin (``ranked``: the next in rotation; ``fixed``:
the fixed one unless it is out), never to one out of rotation.

The routing state (drained by the stack's configuration, evacuated at run time) lives in a DynamoDB
global table with a replica in every Region this function runs in. A container reads it from its
own Region's replica at most once per ``refreshSeconds``, each network step bounded by
``timeoutSeconds``, signed with the function's own credentials; a read that fails keeps what the
container last read (nothing, in a new container), so a store that is slow or down never stops a
request: it fails open, to routing by the rankings alone.

Standard library only: the signing is SigV4 over ``hmac`` and ``hashlib`` (botocore, which the
runtime has, takes about half a second to import, which a cold container would add to a cache
miss; the tests hold this signer to botocore's, byte for byte). This module has no import-time side
effects and must stay valid on Python 3.11 to 3.13.
"""

import hashlib
import hmac
import http.client
import os
import sys
import time

ARTIFACT_PATH = os.path.join(os.path.dirname(os.path.abspath(__file__)), "routing.json")
SCHEMA_VERSION = 2
# The partition of the state table that holds the routing state: one item per owner (``drained``,
# written by Pulumi; ``evacuated``, by the evacuator and the break-glass commands).
STATE_PARTITION = "rotation"
# A container routes from one Region and sees few states; the bound only matters for callers
# that invent many.
_MAX_CACHED_ROUTES = 256

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


def sign_v4(method, host, path, body, headers, region, service, credentials, amz_date):
    """``headers`` plus SigV4's ``x-amz-date``, ``x-amz-security-token`` and ``authorization``
    for a request without a query string ("Signature Version 4 signing process")."""
    access_key, secret_key, token = credentials
    signed = {name.lower(): value for name, value in headers.items()}
    signed["host"] = host
    signed["x-amz-date"] = amz_date
    if token:
        signed["x-amz-security-token"] = token
    names = sorted(signed)
    canonical = "\n".join(
        [
            method,
            path,
            "",
            "".join(name + ":" + " ".join(signed[name].split()) + "\n" for name in names),
            ";".join(names),
            hashlib.sha256(body).hexdigest(),
        ]
    )
    scope = amz_date[:8] + "/" + region + "/" + service + "/aws4_request"
    string_to_sign = "\n".join(
        ["AWS4-HMAC-SHA256", amz_date, scope, hashlib.sha256(canonical.encode()).hexdigest()]
    )
    key = ("AWS4" + secret_key).encode()
    for part in (amz_date[:8], region, service, "aws4_request"):
        key = hmac.new(key, part.encode(), hashlib.sha256).digest()
    signature = hmac.new(key, string_to_sign.encode(), hashlib.sha256).hexdigest()
    signed["authorization"] = (
        "AWS4-HMAC-SHA256 Credential="
        + access_key
        + "/"
        + scope
        + ", SignedHeaders="
        + ";".join(names)
        + ", Signature="
        + signature
    )
    return signed


def out_of_rotation(items):
    """The origins the state table's routing items put out of rotation (DynamoDB JSON): drained
    (``drained``, Pulumi's), evacuated by the health checks (``evacuated``; in an earlier layout
    operators' evacuations too), and each operator's decision about one origin
    (``operator#<Region>``: ``out``, or ``in``, which keeps it in whatever the checks say). Items
    of other owners, and decisions of another kind, are not this function's to read: one stray
    item must not turn drains and evacuations off at every edge.

    A container of an earlier version reads ``drained`` and ``evacuated`` only: it misses an
    operator's decisions (fail open, for evacuations only) until it is replaced by this one."""
    drained: set[str] = set()
    evacuated: set[str] = set()
    operator_out: set[str] = set()
    operator_in: set[str] = set()
    for item in items:
        owner = item["sk"]["S"]
        if owner.startswith("operator#"):
            state = item["state"]["S"]
            if state == "out":
                operator_out.add(item["region"]["S"])
            elif state == "in":
                operator_in.add(item["region"]["S"])
            continue
        regions = item.get("regions")
        if regions is None:
            continue
        if owner == "drained":
            drained.update(entry["S"] for entry in regions["L"])
        elif owner == "evacuated":
            evacuated.update(regions["M"])
    out = drained | operator_out | (evacuated - operator_in)
    if not all(isinstance(code, str) for code in out):
        raise ValueError("routing state names a Region that is not a string")
    return frozenset(out)


class RoutingState:
    """Which origins are out of rotation, as a container last read it from the state table."""

    def __init__(self, config, clock=time.monotonic, wall_clock=time.time, environ=os.environ):
        self._table = config["table"]
        self._regions = config["regions"]
        self._refresh = float(config["refreshSeconds"])
        self._timeout = float(config["timeoutSeconds"])
        self._endpoint = config.get("endpoint")
        self._clock = clock
        self._wall_clock = wall_clock
        self._environ = environ
        self._out: frozenset[str] = frozenset()
        self._next_read = 0.0
        self._connection = None
        self._connection_host = None

    def out(self, region):
        """The origins out of rotation; read again once ``refreshSeconds`` have passed."""
        now = self._clock()
        if now < self._next_read:
            return self._out
        # Set before reading: a store that fails is asked again only after a whole period.
        self._next_read = now + self._refresh
        try:
            self._out = self._read(region)
        except Exception as error:
            self._close()
            _log_once(
                "state:" + type(error).__name__,
                "routing state unreadable ("
                + repr(error)
                + "); keeping "
                + (", ".join(sorted(self._out)) or "every origin in rotation"),
            )
        return self._out

    def _read(self, region):
        home = region if region in self._regions else self._regions[0]
        body = (
            '{"TableName": "' + self._table + '", "KeyConditionExpression": "pk = :pk", '
            '"ExpressionAttributeValues": {":pk": {"S": "' + STATE_PARTITION + '"}}}'
        ).encode()
        if self._endpoint:
            secure = self._endpoint.startswith("https://")
            host = self._endpoint.split("://", 1)[1].rstrip("/")
        else:
            secure, host = True, "dynamodb." + home + ".amazonaws.com"
        credentials = (
            self._environ["AWS_ACCESS_KEY_ID"],
            self._environ["AWS_SECRET_ACCESS_KEY"],
            self._environ.get("AWS_SESSION_TOKEN"),
        )
        headers = sign_v4(
            "POST",
            host,
            "/",
            body,
            {
                "content-type": "application/x-amz-json-1.0",
                "x-amz-target": "DynamoDB_20120810.Query",
            },
            home,
            "dynamodb",
            credentials,
            time.strftime("%Y%m%dT%H%M%SZ", time.gmtime(self._wall_clock())),
        )
        reused = self._connection is not None and self._connection_host == host
        try:
            response = self._post(host, secure, body, headers)
        except (BrokenPipeError, ConnectionResetError, ConnectionAbortedError):
            # A kept-alive connection the store closed while the container was idle or frozen
            # fails at once (http.client does not reconnect): once more on a new connection.
            if not reused:
                raise
            self._close()
            response = self._post(host, secure, body, headers)
        data = response.read()
        if response.status != 200:
            raise RuntimeError(
                "DynamoDB answered "
                + str(response.status)
                + ": "
                + data[:200].decode("utf-8", "replace")
            )
        return out_of_rotation(parse_json(data.decode("utf-8"))["Items"])

    def _post(self, host, secure, body, headers):
        connection = self._connect(host, secure)
        connection.request("POST", "/", body=body, headers=headers)
        return connection.getresponse()

    def _connect(self, host, secure):
        # One kept-alive connection per container: later reads skip the TLS handshake.
        if self._connection is None or self._connection_host != host:
            self._close()
            kind = http.client.HTTPSConnection if secure else http.client.HTTPConnection
            self._connection = kind(host, timeout=self._timeout)
            self._connection_host = host
        return self._connection

    def _close(self):
        if self._connection is not None:
            self._connection.close()
        self._connection = None


def choose(ranking, out, mode, fixed_failover):
    """(primary, failover) Regions for an edge's ``ranking``: routing.table.choose, in the
    standard library (the tests hold the two equal)."""
    in_rotation = [code for code in ranking if code not in out]
    if not in_rotation:
        in_rotation, out = list(ranking), ()
    primary = in_rotation[0]
    if mode == "ranked":
        return primary, next((code for code in in_rotation if code != primary), None)
    if mode == "fixed" and fixed_failover is not None and fixed_failover not in out:
        return primary, fixed_failover
    return primary, None


def build_handler(document, state=None):
    """An origin-request handler routing by ``document``; a pass-through one if it is unusable.
    ``state`` overrides the routing state the document names (tests)."""
    if document is None:
        return _pass_through
    try:
        if document["schema"] != SCHEMA_VERSION:
            raise ValueError(f"schema {document['schema']!r} is not {SCHEMA_VERSION}")
        domains = {code: origin["domainName"] for code, origin in document["origins"].items()}
        mode = document["failover"]
        fixed_failover = document["fixedFailover"]
        rankings = {edge: tuple(ranking) for edge, ranking in document["rankings"].items()}
        default_ranking = tuple(document["defaultRanking"])
        marker = document["markerHeader"].lower()
        if state is None and document["state"] is not None:
            state = RoutingState(document["state"])
    except Exception as error:
        _log_once(
            "artifact", f"routing artifact unusable ({error!r}); requests pass through unchanged"
        )
        return _pass_through

    # (edge Region, origins out) → ((domain, Region) of the primary, of the failover or None).
    routes: dict[object, object] = {}
    # A container runs under one ARN; the bound only matters for callers that invent many.
    edges_by_arn: dict[str, object] = {}

    def edge_of(context):
        edge = _edge_region(context)
        arn = getattr(context, "invoked_function_arn", None)
        if isinstance(arn, str) and len(edges_by_arn) < 32:
            edges_by_arn[arn] = edge
        return edge

    def route_for(edge, out):
        key = (edge, out)
        try:
            return routes[key]
        except KeyError:
            pass
        primary, failover = choose(rankings.get(edge, default_ranking), out, mode, fixed_failover)
        route = (
            (domains[primary], primary),
            (domains[failover], failover) if failover is not None else None,
        )
        if len(routes) >= _MAX_CACHED_ROUTES:
            routes.clear()
        routes[key] = route
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
                edge = edges_by_arn[context.invoked_function_arn]
            except (KeyError, AttributeError, TypeError):
                edge = edge_of(context)
            out = state.out(edge) if state is not None else frozenset()
            primary, failover = route_for(edge, out)
            try:
                custom_headers = s3["customHeaders"]
            except KeyError:
                custom_headers = None
            if custom_headers and (marker in custom_headers or _has_header(custom_headers, marker)):
                # The origin group is retrying on its failover member: the edge's failover
                # origin, or the primary again where there is none (never one out of rotation).
                domain, region = failover or primary
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
