"""Builders shared by the tests: CloudFront origin-request events, Lambda contexts, routing
artifacts, routing state (the items the state table holds, the value the key value store holds, a
stand-in for the Lambda@Edge function's state reader) and random routing tables and out-sets."""

from __future__ import annotations

import atexit
import copy
import json
import socket
import threading
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING, Any

from hypothesis import strategies as st

from edge_function import origin_request
from routing.artifact import (
    DEFAULT_MARKER_HEADER,
    StateSource,
    regional_domain_name,
    render_artifact,
)
from routing.catalogue import load_catalogue
from routing.table import FailoverMode, RoutingTable, derive_routing_table

if TYPE_CHECKING:
    from moto.server import ThreadedMotoServer

# The buckets of the AWS blog post's example: one per continent.
SEED_ORIGINS = ("us-east-1", "eu-central-1", "ap-northeast-1")

# The Regional edge cache Regions the CloudFront developer guide lists (lambda-edge-permissions.md).
DOCUMENTED_EXECUTION_REGIONS = (
    "us-east-1",
    "us-east-2",
    "us-west-1",
    "us-west-2",
    "ap-south-1",
    "ap-northeast-1",
    "ap-northeast-2",
    "ap-southeast-1",
    "ap-southeast-2",
    "eu-central-1",
    "eu-west-1",
    "eu-west-2",
    "sa-east-1",
)


def bucket_name(region_code: str) -> str:
    return f"geo-assets-{region_code}-7f3a9c1"


def bucket_names(origins: tuple[str, ...] | list[str]) -> dict[str, str]:
    return {code: bucket_name(code) for code in origins}


def domain_of(region_code: str) -> str:
    return regional_domain_name(bucket_name(region_code), region_code)


def artifact_for(
    table: RoutingTable,
    marker_header: str = DEFAULT_MARKER_HEADER,
    state: StateSource | None = None,
) -> str:
    return render_artifact(
        table, bucket_names(table.origins), marker_header=marker_header, state=state
    )


def seed_artifact(**options: Any) -> str:
    return artifact_for(derive_routing_table(SEED_ORIGINS, **options))


@dataclass(frozen=True)
class LambdaContext:
    """The one attribute of Lambda's context object the handler reads."""

    invoked_function_arn: str


def context_in(region_code: str) -> LambdaContext:
    """The context of a replica executing in ``region_code`` (the ARN shape Lambda@Edge uses)."""
    return LambdaContext(
        f"arn:aws:lambda:{region_code}:123456789012:function:us-east-1.geo-router:7"
    )


def origin_request_event(
    *,
    origin_region: str = "us-east-1",
    custom_headers: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    """An origin-request event for an S3 origin, shaped as the CloudFront developer guide's example.

    ``custom_headers`` are the origin's custom headers as configured (original case); CloudFront
    delivers them under lowercase keys with ``{key, value}`` lists, as it does request headers.
    """
    return {
        "Records": [
            {
                "cf": {
                    "config": {
                        "distributionDomainName": "d111111abcdef8.cloudfront.net",
                        "distributionId": "EDFDVBD6EXAMPLE",
                        "eventType": "origin-request",
                        "requestId": "4TyzHTaYWb1GX1qTfsHhEqV6HUDd_BzoBZnwfnvQc_1oF26ClkoUSEQ==",
                    },
                    "request": {
                        "clientIp": "203.0.113.178",
                        "headers": {
                            "x-forwarded-for": [
                                {"key": "X-Forwarded-For", "value": "203.0.113.178"}
                            ],
                            "user-agent": [{"key": "User-Agent", "value": "Amazon CloudFront"}],
                            "via": [
                                {
                                    "key": "Via",
                                    "value": "2.0 2afae0d44e2540f472c0635ab62c232b.cloudfront.net"
                                    " (CloudFront)",
                                }
                            ],
                            "host": [{"key": "Host", "value": domain_of(origin_region)}],
                            "cache-control": [{"key": "Cache-Control", "value": "no-cache"}],
                        },
                        "method": "GET",
                        "origin": {
                            "s3": {
                                "authMethod": "origin-access-identity",
                                "customHeaders": {
                                    name.lower(): [{"key": name, "value": value}]
                                    for name, value in (custom_headers or {}).items()
                                },
                                "domainName": domain_of(origin_region),
                                "path": "",
                                "region": origin_region,
                            }
                        },
                        "querystring": "size=large",
                        "uri": "/images/picture.jpg",
                    },
                }
            }
        ]
    }


def failover_request_event(
    *, origin_region: str, marker_header: str = DEFAULT_MARKER_HEADER
) -> dict[str, Any]:
    """The event CloudFront sends when the origin group retries on its failover member."""
    return origin_request_event(origin_region=origin_region, custom_headers={marker_header: "true"})


def custom_origin_event() -> dict[str, Any]:
    event = origin_request_event()
    request = event["Records"][0]["cf"]["request"]
    request["origin"] = {
        "custom": {
            "customHeaders": {},
            "domainName": "example.com",
            "keepaliveTimeout": 5,
            "path": "/custom_path",
            "port": 443,
            "protocol": "https",
            "readTimeout": 30,
            "sslProtocols": ["TLSv1.2"],
        }
    }
    return event


def request_of(event: Mapping[str, Any]) -> dict[str, Any]:
    return event["Records"][0]["cf"]["request"]


def expected_reroute(event: Mapping[str, Any], target_region: str) -> dict[str, Any]:
    """The request of ``event`` with exactly the three changes a reroute to
    ``target_region`` makes."""
    request = copy.deepcopy(request_of(event))
    request["origin"]["s3"]["domainName"] = domain_of(target_region)
    request["origin"]["s3"]["region"] = target_region
    request["headers"]["host"] = [{"key": "Host", "value": domain_of(target_region)}]
    return request


# The sockets that hold free_port's ports, for the life of the test process.
_HELD_PORTS: list[socket.socket] = []
atexit.register(lambda: [held.close() for held in _HELD_PORTS])


def free_port() -> int:
    """A loopback port nobody listens on, nor can while the tests run: bound here and never
    listening, so a connection to it is refused, and no other test (nor another worker of a
    parallel run) is given it by the system in the meantime."""
    holder = socket.socket()
    holder.bind(("127.0.0.1", 0))
    _HELD_PORTS.append(holder)
    return int(holder.getsockname()[1])


def port_to_bind() -> int:
    """A loopback port free now, released for a command under test to bind (unlike ``free_port``,
    which keeps its port bound so that nothing can). Another process could take it in between;
    the system hands out ports in turn, so that is rare, and the command then says so."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def start_moto_server() -> tuple[ThreadedMotoServer, str]:
    """moto's server started on a loopback port the system picks when it binds, and its endpoint.
    (Not ``free_port``: a port found free may be taken before the bind, and moto's ``start()``
    would then wait for ever.)"""
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    _, port = server.get_host_and_port()
    return server, f"http://127.0.0.1:{port}"


@st.composite
def routing_arguments(draw: st.DrawFn) -> tuple[list[str], dict[str, Any]]:
    """Random arguments of ``derive_routing_table``: origin sets, default and failover origins,
    pins and failover modes (no drained origins)."""
    regions = list(load_catalogue())
    origins = draw(st.lists(st.sampled_from(regions), min_size=1, max_size=8, unique=True))
    default = draw(st.sampled_from(origins))
    mode = draw(st.sampled_from(list(FailoverMode))) if len(origins) > 1 else FailoverMode.OFF
    others = [code for code in origins if code != default]
    failover_origin = draw(st.none() | st.sampled_from(others)) if others else None
    overrides = draw(
        st.dictionaries(st.sampled_from(regions), st.sampled_from(origins), max_size=5)
    )
    return origins, {
        "default_origin": default,
        "overrides": overrides,
        "failover": mode,
        "failover_origin": failover_origin,
    }


@st.composite
def routing_tables(draw: st.DrawFn) -> RoutingTable:
    """Random routing tables: origin sets, default and failover origins, pins and failover modes."""
    origins, options = draw(routing_arguments())
    return derive_routing_table(origins, **options)


@st.composite
def drained_routing_tables(draw: st.DrawFn) -> RoutingTable:
    """Random routing tables whose stack drains some origins (never all: the settings refuse)."""
    origins, options = draw(routing_arguments())
    drained = draw(st.lists(st.sampled_from(origins), unique=True, max_size=len(origins) - 1))
    return derive_routing_table(origins, drained=drained, **options)


# Region codes that are no origin of any table here, as a store written by hand might name.
STRAY_REGIONS = ("xx-nowhere-9", "EU-WEST-1", "")


def out_sets(table: RoutingTable) -> st.SearchStrategy[frozenset[str]]:
    """Random sets of origins out of rotation for ``table``: none, some, every one, and now and
    then a Region that is not an origin (which must change nothing)."""
    origins = st.sampled_from(table.origins)
    return st.one_of(
        st.frozensets(origins),
        st.just(frozenset(table.origins)),
        st.frozensets(origins | st.sampled_from(STRAY_REGIONS)),
    )


class FakeState(origin_request.RoutingStateView):
    """Stands in for ``origin_request.RoutingState``: every request refreshes it, which records
    the Region asked for and makes ``self.current`` the origins out of rotation."""

    next_read = float("-inf")

    def __init__(self, out: Iterable[str] = ()) -> None:
        super().__init__()
        self.current = frozenset(out)
        self.asked: list[str | None] = []

    def refresh(self, region: str | None) -> None:
        self.asked.append(region)
        self.publish(self.current)


class FakeClock:
    """A monotonic clock the test moves by hand."""

    def __init__(self, now: float = 1000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


STATE_TABLE = "geo-proximity-dev-routing-state"
# Credentials the state reader signs with (Lambda's environment), never real ones.
FAKE_CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "AKIDEXAMPLE",
    "AWS_SECRET_ACCESS_KEY": "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
}


def state_source(
    endpoint: str | None = None,
    *,
    regions: Collection[str] = DOCUMENTED_EXECUTION_REGIONS,
    refresh_seconds: float = 15.0,
    timeout_seconds: float = 0.3,
    table: str = STATE_TABLE,
) -> StateSource:
    return StateSource(
        table=table,
        regions=tuple(regions),
        refresh_seconds=refresh_seconds,
        timeout_seconds=timeout_seconds,
        endpoint=endpoint,
    )


def drained_item(regions: Iterable[str]) -> dict[str, Any]:
    """The state table's ``rotation``/``drained`` item as Pulumi writes it (DynamoDB JSON)."""
    return {
        "pk": {"S": "rotation"},
        "sk": {"S": "drained"},
        "regions": {"L": [{"S": region} for region in sorted(regions)]},
    }


def evacuated_item(regions: Iterable[str], version: int = 1) -> dict[str, Any]:
    """The ``rotation``/``evacuated`` item as the evacuator writes it: Region → since, by, why."""
    return {
        "pk": {"S": "rotation"},
        "sk": {"S": "evacuated"},
        "version": {"N": str(version)},
        "regions": {
            "M": {
                region: {
                    "M": {
                        "since": {"S": "2026-11-30T06:00:00Z"},
                        "by": {"S": "evacuator"},
                        "reason": {"S": "3 failed checks from 2 vantage Regions"},
                    }
                }
                for region in sorted(regions)
            }
        },
    }


def kvs_value(out: Iterable[str]) -> str:
    """The key value store's routing state value, as the evacuator publishes it."""
    return json.dumps({"out": sorted(out)}, separators=(",", ":"))


def query_answer(items: list[dict[str, Any]]) -> bytes:
    """DynamoDB's answer to a Query that found ``items``."""
    return json.dumps({"Count": len(items), "Items": items, "ScannedCount": len(items)}).encode()


@dataclass(frozen=True)
class RecordedRequest:
    method: str
    path: str
    # Lowercase names, as sent.
    headers: dict[str, str]
    body: bytes


class StateServer:
    """A DynamoDB stand-in on loopback for the Lambda@Edge state reader: it records every request
    and answers ``status`` with ``body``; with ``stall`` set it reads a request and never answers
    (until the server stops). HTTP/1.0: one connection per request, as a closed keep-alive."""

    def __init__(self, items: list[dict[str, Any]] | None = None) -> None:
        self.requests: list[RecordedRequest] = []
        self.status = 200
        self.body = query_answer(items or [])
        self.stall = False
        self._stopped = threading.Event()
        self._recorded = threading.Condition()
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                with server._recorded:
                    server.requests.append(
                        RecordedRequest(
                            self.command,
                            self.path,
                            {name.lower(): value for name, value in self.headers.items()},
                            body,
                        )
                    )
                    server._recorded.notify_all()
                if server.stall:
                    server._stopped.wait(30)
                    return
                self.send_response(server.status)
                self.send_header("Content-Type", "application/x-amz-json-1.0")
                self.send_header("Content-Length", str(len(server.body)))
                self.end_headers()
                self.wfile.write(server.body)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self._httpd.server_address[1]}"

    def answer(self, items: list[dict[str, Any]]) -> None:
        self.status, self.body = 200, query_answer(items)

    def recorded(self, count: int, timeout: float = 10) -> int:
        """How many requests arrived, once ``count`` have (or ``timeout`` passed): a client that
        gave up on a stalled answer may be ahead of the thread that records its request."""
        with self._recorded:
            self._recorded.wait_for(lambda: len(self.requests) >= count, timeout)
            return len(self.requests)

    def release_stalled(self) -> None:
        """End every stalled request now, unanswered (its connection closes)."""
        self._stopped.set()

    def __enter__(self) -> StateServer:
        self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._stopped.set()
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join()
