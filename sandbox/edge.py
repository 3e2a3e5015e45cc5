"""An edge that behaves like CloudFront for this distribution, on one machine, with either engine.

Lambda@Edge: on a cache miss it builds the origin-request event as CloudFront does (the developer
guide's shape: lowercase header keys, ``{key, value}`` lists, the group member's ``customHeaders``,
``authMethod``, ``region``), invokes the packaged handler with a context whose ARN names the edge
Region, and fetches from whatever origin the handler returned: it connects to the Region named by
``domainName``, asks for the bucket named by the ``Host`` header and signs for ``region``, so a
wrong rewrite fails as on AWS. Origin-group failover follows the stack's settings: the configured
status codes, refused connections and time-outs, for GET, HEAD and OPTIONS only, with the handler
invoked again for the secondary member. The response completion timeout, when the stack sets one,
ends the connection with CloudFront's 504 and no failover (AWS documents none after it).

CloudFront Functions: on every request, cache hits included, it builds the viewer-request event and
runs the stack's real function code in V8 (``sandbox.function_runtime``) before the cache is looked
at. What the function chose is applied as CloudFront does: one origin of the distribution
(``selectRequestOriginById``), or a failover group made for this request
(``createRequestOriginGroup``) that fails over on its own status codes and on refused connections
and time-outs, without running the function again ("CloudFront Functions isn't invoked a second
time when CloudFront is configured to use origin failover", "General helper methods"). Each origin
is signed with origin access control for its own Region. A function that throws is answered 503,
one that asks for something invalid 502 (a validation error); a function that chose nothing leaves
the request on the default cache behaviour's origin.

Range requests behave as CloudFront documents them ("How CloudFront processes partial requests for
an object (range GETs)"): a cached object serves the range itself (206, or 416 when it lies past the
end); on a miss the Range header goes to the origin, whose 206 or 416 comes back (416 fails over
when it is one of the stack's failover status codes).

Simplifications, on purpose: one cache per edge Region keyed by path (CachingOptimized ignores query
strings, headers and cookies), only complete 200 responses to GET are cached, errors and ranges are
not. An origin's answer is forwarded only once complete, so one that the response completion
timeout ends mid-body is a 504 here, where a viewer on AWS may get a truncated response.
"""

from __future__ import annotations

import copy
import functools
import http.client
import itertools
import re
import sys
import threading
import time
import uuid
from collections.abc import Callable, Collection
from dataclasses import dataclass, field
from enum import Enum
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from botocore.auth import S3SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from core.cloudfront import READ_METHODS, S3_ORIGIN_RESPONSE_TIMEOUT_SECONDS
from core.engine import Engine, OriginAccess
from edge_function.cloudfront_function import origin_id
from routing.catalogue import describe_unknown_region, load_catalogue
from sandbox.function_runtime import CloudFrontFunction, edge_location, viewer_request_event
from sandbox.regional_s3 import S3Emulators
from settings.parser import Settings

# The cache behavior's methods; CloudFront answers any other with a 403.
ALLOWED_METHODS = READ_METHODS
DEFAULT_ROOT_OBJECT = "/index.html"
DEFAULT_TTL_SECONDS = 86_400  # CachingOptimized's default TTL
# CloudFront's answer to a method the cache behavior does not allow.
METHOD_NOT_ALLOWED = (
    b"This distribution is not configured to allow the HTTP request method that was used for this "
    b"request. "
    b"The distribution supports only cachable requests."
)
_S3_DOMAIN = re.compile(r"^(?P<bucket>[a-z0-9.-]+)\.s3\.(?P<region>[a-z0-9-]+)\.amazonaws\.com$")
_MAX_AGE = re.compile(r"(?:s-maxage|max-age)=(\d+)")
_HOP_BY_HOP = {"connection", "keep-alive", "transfer-encoding", "server", "date"}
_BYTE_RANGE = re.compile(r"^bytes=(\d*)-(\d*)$")
_SIGNING = Credentials("sandbox-origin-access-identity", "sandbox")
# The viewer address of the routing probes (``routes_now``): a documentation address (RFC 5737).
_PROBE_IP = "192.0.2.1"


class OriginFailure(Enum):
    """Why no origin answered, and the failover codes that must all be set for CloudFront to fail
    over from it ("Optimize high availability with CloudFront origin failover": on "fails to connect
    to the primary origin (when 503 is set as a failover code)"; when the response "takes too long
    (times out) (when 504 is set as a failover code)"). Where the guide leaves the case open, both
    codes are needed, so the sandbox is never kinder than CloudFront."""

    # Refused on every attempt: CloudFront could not connect.
    REFUSED = "refused"
    # No connection within the connection timeout on every attempt: "fails to connect", yet the
    # same guide says these settings decide "how quickly CloudFront returns an HTTP 504".
    CONNECT_TIMED_OUT = "connect timed out"
    # Connected, then the connection broke before a complete response.
    CONNECTION_LOST = "connection lost"
    # Connected, but no complete response within the response timeout on every attempt.
    RESPONSE_TIMED_OUT = "response timed out"
    # No complete response within the stack's response completion timeout: "CloudFront ends the
    # connection" (CloudFront API reference, Origin, ResponseCompletionTimeout). No page says a
    # failover follows (the failover guide does not name this timeout), so none does here: the
    # viewer gets CloudFront's 504, the conservative reading (core.cloudfront).
    COMPLETION_TIMED_OUT = "response completion timed out"

    @property
    def failover_codes(self) -> tuple[int, ...] | None:
        """The failover codes that must all be set for a group to fail over from it; None when no
        code makes it fail over."""
        if self is OriginFailure.REFUSED:
            return (503,)
        if self is OriginFailure.RESPONSE_TIMED_OUT:
            return (504,)
        if self is OriginFailure.COMPLETION_TIMED_OUT:
            return None
        return (503, 504)


@dataclass
class OriginResponse:
    status: int
    headers: list[tuple[str, str]]
    body: bytes
    region: str | None  # the Region that answered; None when nothing answered
    # Set when no origin answered; a failed function is no origin failure and never fails over.
    failure: OriginFailure | None = None

    def fails_over(self, failover_codes: tuple[int, ...]) -> bool:
        """Whether an origin group with these failover codes tries its other member ("Optimize
        high availability with CloudFront origin failover")."""
        if self.failure is not None:
            needed = self.failure.failover_codes
            return needed is not None and all(code in failover_codes for code in needed)
        return self.region is not None and self.status in failover_codes


@dataclass
class EdgeResponse:
    status: int
    headers: list[tuple[str, str]]
    body: bytes
    served_by: str | None
    failover: bool
    cache: str  # "Hit", "Miss" or "Error"
    invocations: int


@dataclass
class _Cached:
    response: OriginResponse
    failover: bool
    expires: float


@dataclass(frozen=True)
class _Choice:
    """Where a request goes once the viewer-request stage is past."""

    uri: str
    # CloudFront Functions: the origins the function chose, in the order to try them. None with
    # Lambda@Edge: the origin group's members, each through the origin-request function.
    targets: list[str] | None
    failover_codes: tuple[int, ...]  # the status codes that fail over between them
    invocations: int  # function invocations so far


@dataclass
class EdgeStats:
    invocations: int = 0
    origin_requests: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def count(self, name: str) -> None:
        with self._lock:
            setattr(self, name, getattr(self, name) + 1)


class EdgeEmulator:
    def __init__(
        self,
        settings: Settings,
        handler: Callable[[dict[str, Any], Any], Any] | None,
        emulators: S3Emulators,
        *,
        viewer_request: CloudFrontFunction | None = None,
        function_name: str = "sandbox-edge-router",
        read_timeout: float = S3_ORIGIN_RESPONSE_TIMEOUT_SECONDS,
        connect_timeout: float | None = None,
        response_completion_timeout: float | None = None,
    ) -> None:
        # The engine's function: the packaged Lambda@Edge handler, or the CloudFront function.
        if (handler is None) == (settings.engine is Engine.LAMBDA_EDGE) or (
            viewer_request is None
        ) == (settings.engine is Engine.CLOUDFRONT_FUNCTIONS):
            raise ValueError(f"the {settings.engine.value} engine needs its own function")
        self.settings = settings
        self.handler = handler
        self.viewer_request = viewer_request
        self.emulators = emulators
        self.function_name = function_name
        # The stack's origin connection settings, as CloudFront applies them to every S3 origin
        # (a test may scale the timeout down: ``connect_timeout``).
        self.connection_attempts = settings.origin_connection_attempts
        self.connect_timeout = (
            float(settings.origin_connection_timeout)
            if connect_timeout is None
            else connect_timeout
        )
        self.read_timeout = read_timeout
        # The whole wait for a complete answer, every attempt together; None: none enforced.
        self.response_completion_timeout = response_completion_timeout
        self.stats = EdgeStats()
        self.distribution_domain = "d111111abcdef8.cloudfront.net"
        self._cache: dict[tuple[str, str], _Cached] = {}
        self._cache_lock = threading.Lock()
        self._request_ids = itertools.count(1)
        # The Lambda@Edge handler is one container here, and a container runs one invocation at a
        # time: its routing state cache and its kept-alive connection to the store are not
        # shared between concurrent invocations on Lambda.
        self._container = threading.Lock()

    def invalidate(self, paths: Collection[str] = ("/*",)) -> int:
        """Empty every edge cache of ``paths``, as a CloudFront invalidation does: a path ending in
        ``*`` covers every path that starts with what comes before it, ``/`` the default root
        object; how many cached objects went."""

        def matches(uri: str, path: str) -> bool:
            path = DEFAULT_ROOT_OBJECT if path == "/" else path
            return uri.startswith(path[:-1]) if path.endswith("*") else uri == path

        with self._cache_lock:
            doomed = [key for key in self._cache if any(matches(key[1], p) for p in paths)]
            for key in doomed:
                del self._cache[key]
        return len(doomed)

    # The origin group as the stack declares it: (Region, marker header or None) per member.
    def _group_members(self) -> list[tuple[str, str | None]]:
        routing = self.settings.routing
        members: list[tuple[str, str | None]] = [(routing.default_origin, None)]
        if routing.failover_origin is not None:
            members.append((routing.failover_origin, self.settings.marker_header))
        return members

    def handle(
        self,
        method: str,
        path: str,
        edge_region: str,
        client_ip: str = "203.0.113.10",
        byte_range: str | None = None,
    ) -> EdgeResponse:
        """One viewer request, answered as CloudFront would: the viewer-request function
        (CloudFront Functions), the edge cache, then the origins with failover."""
        if method not in ALLOWED_METHODS:
            return EdgeResponse(
                403, [("Content-Type", "text/plain")], METHOD_NOT_ALLOWED, None, False, "Error", 0
            )
        uri = path.split("?", 1)[0] or "/"
        if self.viewer_request is None:
            choice = _Choice(uri, None, tuple(self.settings.failover_status_codes), 0)
        else:
            # CloudFront Functions run on every request, before the cache is looked at.
            chosen = self._run_viewer_request(method, uri, edge_region, client_ip, byte_range)
            if isinstance(chosen, EdgeResponse):
                return chosen
            choice = chosen
        uri = DEFAULT_ROOT_OBJECT if choice.uri == "/" else choice.uri
        key = (edge_region, uri)
        if method in ("GET", "HEAD"):
            hit = self._cache_hit(key, method, byte_range, choice.invocations)
            if hit is not None:
                return hit
        attempts = self._origin_attempts(
            method, uri, edge_region, client_ip, byte_range, choice.targets
        )
        response, failover, tried = self._attempt_in_turn(attempts, choice.failover_codes)
        # Lambda@Edge's origin-request function runs once per member tried.
        invocations = choice.invocations + (tried if choice.targets is None else 0)
        if method == "GET" and response.status == 200:
            ttl = self._ttl(response.headers)
            if ttl:
                with self._cache_lock:
                    self._cache[key] = _Cached(response, failover, time.monotonic() + ttl)
        cache = "Miss" if response.status < 400 else "Error"
        return EdgeResponse(
            response.status,
            response.headers,
            response.body,
            response.region,
            failover,
            cache,
            invocations,
        )

    def routes_now(self, edge_region: str) -> tuple[str, ...]:
        """The origin Regions the stack's function sends a cache miss from ``edge_region`` to, in
        the order they would be tried (the primary, then the failover), asked of the function now
        and fetching nothing: how the drill sees a change of the routing state reach the edge.
        Empty when the function fails."""
        location = edge_location(edge_region)
        if self.viewer_request is not None:
            event = viewer_request_event(
                "GET", DEFAULT_ROOT_OBJECT, host=self.distribution_domain, client_ip=_PROBE_IP
            )
            result = self.viewer_request.invoke(event, location)
            if result.error is not None or result.request is None:
                return ()
            if result.choice is None:
                return (self.settings.routing.default_origin,)
            regions = {origin_id(region): region for region in self.settings.origins}
            return tuple(regions[member] for member in result.choice.origin_ids)
        assert self.handler is not None  # the Lambda@Edge engine's path
        targets: list[str] = []
        for member, marker in self._group_members():
            event = self.origin_request_event("GET", DEFAULT_ROOT_OBJECT, member, marker, _PROBE_IP)
            try:
                with self._container:
                    request = self.handler(event, _Context(edge_region, self.function_name))
                targets.append(str(request["origin"]["s3"]["region"]))
            except Exception:  # noqa: BLE001 - a failing function routes nowhere
                return ()
        return tuple(dict.fromkeys(targets))

    def _run_viewer_request(
        self, method: str, uri: str, edge_region: str, client_ip: str, byte_range: str | None
    ) -> _Choice | EdgeResponse:
        """The CloudFront function on the request: where it sends it, or CloudFront's answer to a
        failed function: 503 when it throws, 502 when it asks for something invalid."""
        assert self.viewer_request is not None  # the CloudFront Functions engine's path
        self.stats.count("invocations")
        result = self.viewer_request.invoke(
            viewer_request_event(
                method,
                uri,
                host=self.distribution_domain,
                client_ip=client_ip,
                headers={"Range": byte_range} if byte_range else None,
                request_id=f"sandbox-{next(self._request_ids)}",
            ),
            edge_location(edge_region),
        )
        if result.error is not None or result.request is None:
            body = f"The CloudFront function failed: {result.error}\n".encode()
            return EdgeResponse(
                result.error_status, [("Content-Type", "text/plain")], body, None, False, "Error", 1
            )
        uri = str(result.request["uri"])
        if result.choice is None:
            # Left on the default cache behaviour's origin.
            return _Choice(uri, [self.settings.routing.default_origin], (), 1)
        regions = {origin_id(region): region for region in self.settings.origins}
        return _Choice(
            uri,
            [regions[member] for member in result.choice.origin_ids],
            result.choice.failover_status_codes,
            1,
        )

    def _cache_hit(
        self, key: tuple[str, str], method: str, byte_range: str | None, invocations: int
    ) -> EdgeResponse | None:
        """The edge cache's answer for the edge Region and path, or None on a miss."""
        with self._cache_lock:
            cached = self._cache.get(key)
        if cached is None or cached.expires <= time.monotonic():
            return None
        status, headers, body = serve_range(cached.response, byte_range)
        # HEAD answers what GET would send, without the bytes: its length included.
        headers = [
            *((name, value) for name, value in headers if name.lower() != "content-length"),
            ("Content-Length", str(len(body))),
        ]
        return EdgeResponse(
            status,
            headers,
            body if method == "GET" else b"",
            cached.response.region,
            cached.failover,
            "Hit",
            invocations,
        )

    def _origin_attempts(
        self,
        method: str,
        uri: str,
        edge_region: str,
        client_ip: str,
        byte_range: str | None,
        targets: list[str] | None,
    ) -> list[Callable[[], OriginResponse]]:
        """One call per origin to try, in order: the origin group's members through the
        Lambda@Edge function (``targets`` None), or the origins the CloudFront function chose."""
        if targets is None:
            return [
                functools.partial(
                    self._through_origin,
                    method,
                    uri,
                    edge_region,
                    member,
                    marker,
                    client_ip,
                    byte_range,
                )
                for member, marker in self._group_members()
            ]
        # Origin access control signs for the origin's own Region.
        return [
            functools.partial(
                self._fetch,
                method,
                region,
                self.emulators.buckets[region],
                region,
                uri,
                byte_range,
            )
            for region in targets
        ]

    @staticmethod
    def _attempt_in_turn(
        attempts: list[Callable[[], OriginResponse]], failover_codes: tuple[int, ...]
    ) -> tuple[OriginResponse, bool, int]:
        """The first answer that does not fail over, else the last: (answer, whether it came
        after a failover, how many origins were tried)."""
        failover = False
        response = _edge_error(502, "No origin was tried")
        tried = 0
        for index, attempt in enumerate(attempts):
            tried += 1
            response = attempt()
            if index + 1 == len(attempts) or not response.fails_over(failover_codes):
                break
            failover = True
        return response, failover, tried

    def _through_origin(
        self,
        method: str,
        uri: str,
        edge_region: str,
        member: str,
        marker: str | None,
        client_ip: str,
        byte_range: str | None,
    ) -> OriginResponse:
        event = self.origin_request_event(method, uri, member, marker, client_ip)
        self.stats.count("invocations")
        assert self.handler is not None  # the Lambda@Edge engine's path
        try:
            with self._container:
                request = self.handler(
                    copy.deepcopy(event), _Context(edge_region, self.function_name)
                )
        except Exception as error:  # noqa: BLE001 - CloudFront answers any failed function with a 502
            return _edge_error(
                502,
                "The Lambda function associated with the CloudFront distribution failed: "
                f"{error!r}",
            )
        invalid = _edge_error(502, "The Lambda function returned an invalid request to CloudFront.")
        try:
            s3 = request["origin"]["s3"]
            domain = _S3_DOMAIN.match(s3["domainName"])
            host = _S3_DOMAIN.match(request["headers"]["host"][0]["value"])
            target_uri = request["uri"]
            # How CloudFront signs the origin request, as documented per access mode: with an
            # origin access identity, for origin.s3.region ("required only when you set authMethod
            # to origin-access-identity", Lambda@Edge event structure); with origin access control,
            # for the origin as the distribution declares it, since "OAC doesn't support origin
            # redirect by using Lambda@Edge" (CloudFront developer guide). A rewrite to another
            # Region's bucket then fails at S3 as it would on AWS.
            oai = self.settings.engine.origin_access is OriginAccess.OAI
            signing_region = s3.get("region") if oai else member
        except (TypeError, KeyError, IndexError, AttributeError):
            return invalid
        if host is None or not isinstance(signing_region, str):
            return invalid
        if domain is None or domain.group("region") not in self.emulators.regions:
            return _edge_error(502, f"No origin at {s3['domainName']}")
        return self._fetch(
            method,
            domain.group("region"),
            host.group("bucket"),
            signing_region,
            target_uri,
            byte_range,
        )

    def origin_request_event(
        self, method: str, uri: str, member: str, marker: str | None, client_ip: str
    ) -> dict[str, Any]:
        domain = f"{self.emulators.buckets[member]}.s3.{member}.amazonaws.com"
        custom_headers = {marker.lower(): [{"key": marker, "value": "true"}]} if marker else {}
        auth_method = (
            "origin-access-identity"
            if self.settings.engine.origin_access is OriginAccess.OAI
            else "none"
        )
        request_id = uuid.uuid4().hex
        return {
            "Records": [
                {
                    "cf": {
                        "config": {
                            "distributionDomainName": self.distribution_domain,
                            "distributionId": "ESANDBOXEXAMPLE",
                            "eventType": "origin-request",
                            "requestId": f"sandbox-{next(self._request_ids)}-{request_id[:12]}",
                        },
                        "request": {
                            "clientIp": client_ip,
                            "headers": {
                                "host": [{"key": "Host", "value": domain}],
                                "user-agent": [{"key": "User-Agent", "value": "Amazon CloudFront"}],
                                "via": [
                                    {
                                        "key": "Via",
                                        "value": f"2.0 {request_id}.cloudfront.net (CloudFront)",
                                    }
                                ],
                                "x-forwarded-for": [{"key": "X-Forwarded-For", "value": client_ip}],
                            },
                            "method": method,
                            "origin": {
                                "s3": {
                                    "authMethod": auth_method,
                                    "customHeaders": custom_headers,
                                    "domainName": domain,
                                    "path": "",
                                    "region": member,
                                }
                            },
                            # CachingOptimized forwards no query string to the origin.
                            "querystring": "",
                            "uri": uri,
                        },
                    }
                }
            ]
        }

    def _fetch(
        self,
        method: str,
        region: str,
        bucket: str,
        signing_region: str,
        uri: str,
        byte_range: str | None,
    ) -> OriginResponse:
        """Ask the Region's S3 endpoint for the object, signed like CloudFront's origin access.

        As CloudFront does with an S3 origin: each of ``connection_attempts`` attempts connects
        within the connection timeout and then waits up to the response timeout (30 s) for the
        answer to start or go on; a GET or HEAD that gets no complete response is tried again
        ("Request and response behavior for Amazon S3 origins"). The response completion timeout,
        when the stack sets one, bounds every attempt together: "If the complete response isn't
        received from the origin by this time, CloudFront ends the connection" (CloudFront API
        reference, Origin), and the answer is CloudFront's 504 with no failover, since no page
        documents one. AWS does not say when its clock starts; here, when the first request is
        sent (the earliest it can start: the connection it ends is then no later than on AWS)."""
        self.stats.count("origin_requests")
        port = self.emulators.regions[region].port
        path = f"/{bucket}{uri}"
        signed = AWSRequest(
            method=method,
            url=f"http://127.0.0.1:{port}{path}",
            headers={"Range": byte_range} if byte_range else {},
        )
        S3SigV4Auth(_SIGNING, "s3", signing_region).add_auth(signed)
        failure = _edge_error(502, "No connection attempt was made")
        until: float | None = None
        for _ in range(self.connection_attempts):
            answer, until = self._attempt(method, port, path, dict(signed.headers), until)
            if answer.failure is None:
                answer.region = region
                return answer
            failure = answer
            if until is not None and time.monotonic() >= until:
                break  # the completion timeout ended the wait: no attempt after it
        return failure

    def _attempt(
        self, method: str, port: int, path: str, headers: dict[str, str], until: float | None
    ) -> tuple[OriginResponse, float | None]:
        """One attempt at the origin: its answer or failure, and when the completion timeout
        ends the wait (set by the first attempt that sends its request)."""
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=self.connect_timeout)
        try:
            connection.connect()
        except TimeoutError:  # socket.timeout is TimeoutError since Python 3.10
            connection.close()
            return _origin_failure(
                504, OriginFailure.CONNECT_TIMED_OUT, "connection timed out"
            ), until
        except OSError:
            connection.close()
            return _origin_failure(502, OriginFailure.REFUSED, "connection failed"), until
        if until is None and self.response_completion_timeout is not None:
            until = time.monotonic() + self.response_completion_timeout
        wait = (
            self.read_timeout if until is None else min(self.read_timeout, until - time.monotonic())
        )
        ended = _origin_failure(
            504, OriginFailure.COMPLETION_TIMED_OUT, "response completion timed out"
        )
        # Where the completion timeout comes no later than the response timeout, it is the one
        # that ends a silent origin: at a tie too, the costlier reading (no failover).
        timed_out = (
            ended
            if wait < self.read_timeout
            else _origin_failure(504, OriginFailure.RESPONSE_TIMED_OUT, "response timed out")
        )
        assert connection.sock is not None  # connect() either set it or raised
        try:
            if wait <= 0:
                return ended, until
            connection.sock.settimeout(wait)
            connection.request(method, path, headers=headers)
            answer = connection.getresponse()
            body = answer.read()
        except TimeoutError:
            return timed_out, until
        except OSError:
            return _origin_failure(502, OriginFailure.CONNECTION_LOST, "connection lost"), until
        finally:
            connection.close()
        if until is not None and time.monotonic() > until:
            # Complete only after the completion timeout (a slow download): CloudFront had ended
            # the connection by then.
            return ended, until
        kept = [
            (name, value) for name, value in answer.getheaders() if name.lower() not in _HOP_BY_HOP
        ]
        return OriginResponse(answer.status, kept, body, None), until

    @staticmethod
    def _ttl(headers: list[tuple[str, str]]) -> int:
        cache_control = next(
            (value for name, value in headers if name.lower() == "cache-control"), ""
        )
        if "no-store" in cache_control or "private" in cache_control:
            return 0
        match = _MAX_AGE.search(cache_control)
        return int(match.group(1)) if match else DEFAULT_TTL_SECONDS


def serve_range(
    response: OriginResponse, byte_range: str | None
) -> tuple[int, list[tuple[str, str]], bytes]:
    """A cached complete object answering a viewer's Range header: 206 with the bytes asked for, 416
    when the range starts past the end, or the whole object (200) without a single valid byte range.
    """
    match = _BYTE_RANGE.match(byte_range.strip()) if byte_range else None
    if match is None or match.groups() == ("", ""):
        return response.status, response.headers, response.body
    size = len(response.body)
    first, last = match.groups()
    if first and last and int(last) < int(first):
        # not a valid range: ignored (RFC 9110)
        return response.status, response.headers, response.body
    if first:
        start, end = int(first), min(int(last), size - 1) if last else size - 1
    else:  # a suffix: the last N bytes
        start, end = max(size - int(last), 0), size - 1
    others = [
        (name, value)
        for name, value in response.headers
        if name.lower() not in ("content-length", "content-range")
    ]
    if start >= size or size == 0:
        return 416, [*others, ("Content-Range", f"bytes */{size}")], b""
    return (
        206,
        [*others, ("Content-Range", f"bytes {start}-{end}/{size}")],
        response.body[start : end + 1],
    )


def _edge_error(status: int, message: str) -> OriginResponse:
    """An answer CloudFront makes itself when no origin answered."""
    return OriginResponse(status, [("Content-Type", "text/plain")], message.encode(), None)


def _origin_failure(status: int, failure: OriginFailure, what: str) -> OriginResponse:
    """CloudFront's own answer when the origin did not answer: 502 for a lost or refused
    connection, 504 for a time-out."""
    return OriginResponse(
        status, [("Content-Type", "text/plain")], f"Origin {what}".encode(), None, failure
    )


class _Context:
    """What Lambda hands a replica: its ARN names the Region it executes in."""

    def __init__(self, edge_region: str, function_name: str) -> None:
        self.invoked_function_arn = (
            f"arn:aws:lambda:{edge_region}:000000000000:function:us-east-1.{function_name}:1"
        )
        self.function_name = f"us-east-1.{function_name}"
        self.aws_request_id = uuid.uuid4().hex


EDGE_REGION_HEADER = "X-Edge-Region"
# Set on answers for an edge Region where Lambda@Edge is not known to execute (see the catalogue).
WARNING_HEADER = "X-Sandbox-Warning"


class EdgeServer(ThreadingHTTPServer):
    """The emulator on a loopback HTTP port; the edge Region comes from a header or the default."""

    daemon_threads = True
    # http.server's default backlog of 5 drops the SYNs of a burst of viewers; S3's emulators
    # (werkzeug) queue 128.
    request_queue_size = 128

    def __init__(self, port: int, edge: EdgeEmulator | None, default_edge_region: str) -> None:
        # The edge may be attached after binding, so a busy port is known before anything starts.
        self.edge = edge
        self.default_edge_region = default_edge_region
        # Where `serve` writes one line per request; None keeps the drill and the tests quiet.
        self.request_log: Callable[[str], None] | None = None
        super().__init__(("127.0.0.1", port), _EdgeRequestHandler)

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client that closed or reset its connection left (a keep-alive connection, typically,
        between two requests): no error of the edge's, so nothing is printed. Anything else gets
        socketserver's traceback on stderr."""
        if isinstance(sys.exc_info()[1], ConnectionError):
            return
        super().handle_error(request, client_address)


def check_edge_region(code: str) -> tuple[str | None, str | None]:
    """(error, warning) for the edge Region a request names: an error for a code that is no Region,
    a warning for a Region where Lambda@Edge is not known to execute (it is routed all the same)."""
    catalogue = load_catalogue()
    if code not in catalogue:
        return f"{EDGE_REGION_HEADER}: {describe_unknown_region(code)}", None
    if not catalogue[code].lambda_edge_execution:
        return None, (
            f"{code} is not a Regional edge cache Region: neither Lambda@Edge nor "
            "cf.edgeLocation.region is known to name it today, so real requests would not arrive "
            "from it (the Regional edge cache Regions are marked * in ./dev plan)"
        )
    return None, None


# A request log line shows this much of a path (or of an edge Region header); a longer one is cut,
# its length said instead: one line per request, however long the request line was.
LOGGED_CHARACTERS = 200


def shortened(text: str, limit: int = LOGGED_CHARACTERS) -> str:
    """``text`` whole up to ``limit`` characters; else its first ``limit`` and its length."""
    if len(text) <= limit:
        return text
    return f"{text[:limit]}... ({len(text):,} characters)"


def request_log_line(
    method: str,
    path: str,
    edge_region: str,
    response: EdgeResponse,
    milliseconds: float,
    *,
    warned: bool = False,
) -> str:
    """The line ``serve`` prints for one request."""
    edge_region = shortened(edge_region)
    return (
        f"{method} {shortened(path)} edge {edge_region}: {response.status} from "
        f"{response.served_by or '-'}"
        f"{' after failover' if response.failover else ''}, {response.cache.lower()}, "
        f"{response.invocations} invocation(s), {milliseconds:.1f} ms"
        + (f" (warning: {edge_region} is not a Regional edge cache Region)" if warned else "")
    )


def _content_length(method: str, response: EdgeResponse) -> int:
    """The body's length; for HEAD, the length GET would send, as the origin or cache gave it
    (CloudFront answers HEAD with the object's size, not with 0)."""
    if method == "HEAD":
        for name, value in response.headers:
            if name.lower() == "content-length" and value.isdigit():
                return int(value)
    return len(response.body)


def malformed(target: str, content_length: str | None) -> str | None:
    """Why a request cannot be read as HTTP, for its 400; None when it can. ``target`` is the
    request line's target as http.server decodes it (ISO-8859-1: each byte one character).

    - A request-target is ASCII: other characters are sent percent-encoded (RFC 3986, 2.1 and
      2.5), and "Recipients of an invalid request-line SHOULD respond with either a 400 (Bad
      Request) error or a 301 (Moved Permanently) redirect" (RFC 9112, 3.2). CloudFront's guide
      says nothing of such a request: the sandbox takes the RFC's 400, which refuses rather than
      guesses.
    - "If a message is received without Transfer-Encoding and with an invalid Content-Length
      header field, then the message framing is invalid and the recipient MUST treat it as an
      unrecoverable error ... a server MUST respond with a 400 (Bad Request) status code and then
      close the connection" (RFC 9112, 6.3)."""
    odd = next((c for c in target if not "\x21" <= c <= "\x7e"), None)
    if odd is not None:
        return (
            f"the request target holds the byte 0x{ord(odd):02x}; a URL is ASCII, other "
            "characters percent-encoded (RFC 3986)"
        )
    if content_length is not None and not content_length.strip().isdigit():
        return f"Content-Length {shortened(content_length, 40)!r} is not a number of bytes"
    return None


class _EdgeRequestHandler(BaseHTTPRequestHandler):
    server: EdgeServer
    protocol_version = "HTTP/1.1"

    def _answer(self) -> None:
        started = time.perf_counter()
        # The log the request arrived under: a request still in flight when the log changes
        # is neither written to the new one nor lost to a None read half-way.
        request_log = self.server.request_log
        edge_region = self.headers.get(EDGE_REGION_HEADER, self.server.default_edge_region).strip()
        warning = None
        error = malformed(self.path, self.headers.get("Content-Length"))
        if error is not None:
            self.close_connection = True  # the framing cannot be trusted past this request
        else:
            length = int(self.headers.get("Content-Length") or 0)
            if length:
                self.rfile.read(length)  # a refused request's body is read and dropped
            error, warning = check_edge_region(edge_region)
        edge = self.server.edge
        if error is not None or edge is None:
            body = f"{error or 'the sandbox is starting'}\n".encode()
            response = EdgeResponse(
                400 if error else 503,
                [("Content-Type", "text/plain")]
                + ([("Connection", "close")] if self.close_connection else []),
                body,
                None,
                False,
                "Error",
                0,
            )
        else:
            response = edge.handle(
                self.command,
                self.path,
                edge_region,
                self.client_address[0],
                self.headers.get("Range"),
            )
        # Logged before the answer is sent: a client that has its answer finds the line written.
        if request_log is not None:
            request_log(
                request_log_line(
                    self.command,
                    # Each byte as http.server read it; one that is not printable ASCII escaped.
                    "".join(c if "\x21" <= c <= "\x7e" else f"\\x{ord(c):02x}" for c in self.path),
                    edge_region,
                    response,
                    (time.perf_counter() - started) * 1e3,
                    warned=warning is not None,
                )
            )
        self.send_response(response.status)
        for name, value in response.headers:
            if name.lower() != "content-length":
                self.send_header(name, value)
        self.send_header("Content-Length", str(_content_length(self.command, response)))
        self.send_header("X-Cache", f"{response.cache} from cloudfront")
        self.send_header("X-Edge-Region", edge_region)
        self.send_header("X-Served-By-Region", response.served_by or "none")
        self.send_header("X-Failover", "true" if response.failover else "false")
        self.send_header("X-Function-Invocations", str(response.invocations))
        if warning:
            self.send_header(WARNING_HEADER, warning)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(response.body)

    # http.server dispatches on these names.
    do_GET = do_HEAD = do_OPTIONS = do_POST = do_PUT = do_PATCH = do_DELETE = _answer  # noqa: N815

    def log_message(self, format: str, *args: Any) -> None:
        pass
