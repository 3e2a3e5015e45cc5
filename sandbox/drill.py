"""The failover drill: every execution Region asks for every sample object, healthy and under
faults.

Phases: all origins healthy; one origin Region down (its S3 endpoint stopped); the same Region
unreachable (connections time out); another answering 503; an object deleted in a third; the
busiest Region drained (``geo-proximity:drained``: no request may reach it); and healthy again after
every fault is restored. Each request
must be answered 200 from the Region the routing table expects: the primary, or the failover origin
when the fault hits the primary. Any other answer is a failure, and the drill exits non-zero.

One outcome is expected to fail: with ``fixed`` failover every retry goes to the origin group's one
secondary bucket, so an edge whose primary *is* that bucket has nowhere to go while it is down. Such
a request must fail (an error, not a 200 from somewhere unexpected); the drill counts it as lost by
design, explains why, and does not fail for it. ``ranked`` failover has no such case.
"""

from __future__ import annotations

import http.client
import json
import time
import urllib.parse
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass

from components.engine import Engine
from routing.catalogue import lambda_edge_execution_regions
from routing.table import FailoverMode, RoutingTable
from sandbox.edge import EDGE_REGION_HEADER
from sandbox.regional_s3 import Fault
from sandbox.stack import Sandbox
from settings import ConfigError, Settings, parse_settings

# Viewers asking at once in a phase whose origin times out: enough that the phase waits out a few
# time-outs, not one per request; few enough that the healthy emulators answer the burst in time.
_CONCURRENT_VIEWERS = 32
# CloudFront's own origin defaults: 3 connection attempts of 10 s each.
_CLOUDFRONT_DEFAULT_CONNECT_WAIT_S = 30
# A viewer waits this long at most: a stalled Region holds a request for attempts x 30 s.
_VIEWER_TIMEOUT_S = 600


@dataclass(frozen=True)
class Answer:
    status: int
    served_by: str
    failover: bool
    cache: str
    invocations: int
    milliseconds: float
    body: bytes
    # Until the status line and headers arrived: what a viewer waits before anything shows.
    first_byte_ms: float = 0.0


def ask(sandbox: Sandbox, edge_region: str, key: str, method: str = "GET") -> Answer:
    """One viewer request through the edge's HTTP port."""
    connection = http.client.HTTPConnection("127.0.0.1", sandbox.port, timeout=_VIEWER_TIMEOUT_S)
    started = time.perf_counter()
    try:
        # Object keys may hold spaces, '?', '#' or non-ASCII letters: the path carries them encoded.
        connection.request(
            method, "/" + urllib.parse.quote(key), headers={EDGE_REGION_HEADER: edge_region}
        )
        response = connection.getresponse()
        first_byte = time.perf_counter()
        body = response.read()
    finally:
        connection.close()
    return Answer(
        status=response.status,
        served_by=response.getheader("X-Served-By-Region", "none"),
        failover=response.getheader("X-Failover") == "true",
        cache=response.getheader("X-Cache", "").split(" ")[0],
        invocations=int(response.getheader("X-Function-Invocations", "0")),
        milliseconds=(time.perf_counter() - started) * 1e3,
        body=body,
        first_byte_ms=(first_byte - started) * 1e3,
    )


@dataclass(frozen=True)
class Phase:
    title: str
    # Which origin Region a request for this key cannot be served from during the phase.
    broken: Callable[[str], str | None]
    fault: Callable[[Sandbox], AbstractContextManager[None]]
    # Its fault makes requests wait for a time-out before they fail over: what the wait is bound by,
    # said next to the measured wait.
    times_out: str | None = None
    # An origin Region no request may reach during the phase (it is drained).
    silent: str | None = None


def _busiest_origins(sandbox: Sandbox) -> list[str]:
    """Origins in rotation by how many execution Regions they serve, most first: the drill breaks
    them so. A drained origin serves nothing, so a fault there would test nothing."""
    routes = sandbox.settings.routing.routes
    counts = Counter(routes[edge].primary for edge in lambda_edge_execution_regions())
    origins = list(sandbox.settings.routing.active_origins)
    return sorted(origins, key=lambda origin: (-counts[origin], origins.index(origin)))


def phases(sandbox: Sandbox, keys: list[str], *, stall: bool = False) -> list[Phase]:
    busiest = _busiest_origins(sandbox)
    box_settings = sandbox.settings
    attempts = box_settings.origin_connection_attempts
    response_timeout = sandbox.read_timeout
    down, unavailable, deleted_in = (busiest[i % len(busiest)] for i in range(3))
    deleted_key = keys[0]

    @contextmanager
    def healthy(_: Sandbox) -> Iterator[None]:
        yield

    @contextmanager
    def region_down(box: Sandbox) -> Iterator[None]:
        box.emulators.regions[down].stop()
        try:
            yield
        finally:
            box.emulators.regions[down].start()

    @contextmanager
    def region_unreachable(box: Sandbox) -> Iterator[None]:
        box.emulators.regions[down].make_unreachable()
        try:
            yield
        finally:
            box.emulators.regions[down].start()

    @contextmanager
    def region_stalled(box: Sandbox) -> Iterator[None]:
        box.emulators.regions[down].fault = Fault.STALLED
        try:
            yield
        finally:
            box.emulators.regions[down].fault = None

    @contextmanager
    def region_unavailable(box: Sandbox) -> Iterator[None]:
        box.emulators.regions[unavailable].fault = Fault.UNAVAILABLE
        try:
            yield
        finally:
            box.emulators.regions[unavailable].fault = None

    @contextmanager
    def object_deleted(box: Sandbox) -> Iterator[None]:
        box.emulators.client(deleted_in).delete_object(
            Bucket=box.buckets[deleted_in], Key=deleted_key
        )
        try:
            yield
        finally:
            box.restore_object(deleted_in, deleted_key)

    drained = _drainable(box_settings, busiest)

    @contextmanager
    def region_drained(box: Sandbox) -> Iterator[None]:
        assert drained is not None
        with box.rerouted(drained[1]):
            yield

    drain_phase = (
        [
            Phase(
                f"{drained[0]} drained (geo-proximity:drained): no request may reach it",
                lambda key: None,
                region_drained,
                silent=drained[0],
            )
        ]
        if drained
        else []
    )
    return [
        Phase("all origins healthy", lambda key: None, healthy),
        Phase(
            f"{down} down (its S3 endpoint stopped: connections refused)",
            lambda key: down,
            region_down,
        ),
        Phase(
            f"{down} unreachable (connections time out: "
            f"{box_settings.origin_connection_attempts} attempt(s) x "
            f"{box_settings.origin_connection_timeout} s before failover)",
            lambda key: down,
            region_unreachable,
            times_out=(
                f"this stack: {attempts} x {box_settings.origin_connection_timeout} s; "
                f"CloudFront's defaults, 3 x 10 s, would hold each of them "
                f"{_CLOUDFRONT_DEFAULT_CONNECT_WAIT_S} s"
            ),
        ),
        *(
            [
                Phase(
                    f"{down} stalled (connections accepted, no answer: {attempts} attempt(s) x "
                    f"{response_timeout:g} s response timeout before failover)",
                    lambda key: down,
                    region_stalled,
                    times_out=(
                        f"S3 origins: {attempts} attempt(s) x the {response_timeout:g} s response "
                        "timeout, which pulumi-aws 7 cannot shorten"
                    ),
                )
            ]
            if stall
            else []
        ),
        Phase(
            f"{unavailable} answers 503 Service Unavailable",
            lambda key: unavailable,
            region_unavailable,
        ),
        Phase(
            f"{deleted_key} deleted in {deleted_in} (404)",
            lambda key: deleted_in if key == deleted_key else None,
            object_deleted,
        ),
        *drain_phase,
        Phase("every fault restored", lambda key: None, healthy),
    ]


def _drainable(settings: Settings, busiest: list[str]) -> tuple[str, Settings] | None:
    """The busiest origin that can be drained (not the named default or failover origin, not the
    last in rotation), with the stack's settings as they are with it drained."""
    for region in busiest:
        try:
            # Drained on top of what the stack already drains.
            out = sorted({*settings.routing.drained, region})
            drained = parse_settings(
                {**settings.values, "drained": json.dumps(out)}, stack=settings.stack
            )
        except ConfigError:
            continue
        return region, drained
    return None


def expected_region(routing: RoutingTable, edge: str, broken: str | None) -> str | None:
    route = routing.route_for(edge)
    if route.primary != broken:
        return route.primary
    return route.failover if route.failover != broken else None


def run_drill(
    sandbox: Sandbox,
    keys: list[str],
    out: Callable[[str], None] = print,
    *,
    failures_only: bool = False,
    stall: bool = False,
) -> int:
    edges = lambda_edge_execution_regions()
    settings = sandbox.settings
    routing = settings.routing
    drained = f" (drained: {', '.join(sorted(routing.drained))})" if routing.drained else ""
    out(
        f"drill: stack {settings.stack}, engine {settings.engine.value}, origins "
        f"{', '.join(settings.origins)}{drained}, failover {routing.failover_mode.value}, "
        f"{len(edges)} Regional edge cache Regions x {len(keys)} objects"
    )
    all_phases = phases(sandbox, keys, stall=stall)
    if all(route.failover is None for route in routing.routes.values()):
        why = (
            "failover is off"
            if routing.failover_mode is FailoverMode.OFF
            else "one origin is in rotation"
        )
        out(
            f"{why} for this stack: a fault would fail requests by design, "
            "so only the healthy phase runs"
        )
        all_phases = all_phases[:1]

    failures: list[str] = []  # one line per request not answered as expected
    lost_by_design = 0  # fixed failover: requests whose only bucket was the broken one
    latencies: list[float] = []
    key_width = max(22, *(len(key) + 2 for key in keys))
    requests = [(edge, key) for edge in edges for key in keys]
    for number, phase in enumerate(all_phases, start=1):
        sandbox.edge.invalidate()  # each phase starts cold, as after a CloudFront invalidation
        out(f"\n== phase {number}: {phase.title} ==")
        if not failures_only:
            out(
                f"{'edge Region':<16}{'object':<{key_width}}{'status':>6}  {'served by':<16}"
                f"{'failover':<9}{'expected':<16}{'ms':>7}"
            )
        silent = sandbox.emulators.regions[phase.silent] if phase.silent else None
        reached_before = silent.requests if silent else 0
        with phase.fault(sandbox):
            # The routing the edge serves with during the phase (a drain changes it).
            phase_routing = sandbox.settings.routing
            if phase.times_out:
                # Viewers ask at once, as they do: the phase waits out a time-out per batch.
                with ThreadPoolExecutor(min(_CONCURRENT_VIEWERS, len(requests))) as viewers:
                    answers = list(viewers.map(lambda request: ask(sandbox, *request), requests))
            else:
                answers = [ask(sandbox, edge, key) for edge, key in requests]
        if silent is not None and silent.requests != reached_before:
            failures.append(
                f"phase {number}: {silent.requests - reached_before} request(s) reached "
                f"{phase.silent}, which is drained"
            )
            out(f"FAILED {silent.requests - reached_before} request(s) reached {phase.silent}")
        elif silent is not None:
            out(f"no request reached {phase.silent} while it was drained")
        failed_over: list[float] = []
        for (edge, key), answer in zip(requests, answers, strict=True):
            broken = phase.broken(key)
            expected = expected_region(phase_routing, edge, broken)
            latencies.append(answer.milliseconds)
            if answer.failover and answer.status == 200:
                failed_over.append(answer.first_byte_ms)
            where = f"phase {number}, {edge} {key}: {answer.status} from {answer.served_by}"
            if expected is None:
                # Lost by design: it must fail, and must not be served from anywhere else.
                ok = answer.status >= 400 and answer.served_by in ("none", broken)
                verdict = "lost by design" if ok else "FAILED"
                if ok:
                    lost_by_design += 1
                else:
                    failures.append(
                        f"{where}, expected an error "
                        f"(lost by design: {broken} is its primary and its failover)"
                    )
            else:
                ok = answer.status == 200 and answer.served_by == expected
                verdict = "" if ok else "FAILED"
                if not ok:
                    failures.append(f"{where}, expected 200 from {expected}")
            if failures_only and verdict != "FAILED":
                continue
            out(
                f"{edge:<16}{key:<{key_width}}{answer.status:>6}  {answer.served_by:<16}"
                f"{'yes' if answer.failover else 'no':<9}{expected or '(none)':<16}"
                f"{answer.milliseconds:>7.1f}" + (f"  <-- {verdict}" if verdict else "")
            )
        if failed_over:
            failed_over.sort()
            out(
                f"failover: {len(failed_over)} request(s) served by their failover bucket; time to "
                f"first byte median {failed_over[len(failed_over) // 2]:.0f} ms, "
                f"max {failed_over[-1]:.0f} ms"
                + (f" ({phase.times_out})" if phase.times_out else "")
            )

    first, second = ask(sandbox, edges[0], keys[0]), ask(sandbox, edges[0], keys[0])
    # Lambda@Edge runs on cache misses only; a CloudFront function on every request.
    hit_invocations = 0 if settings.engine is Engine.LAMBDA_EDGE else 1
    cache_ok = (
        second.cache == "Hit"
        and second.invocations == hit_invocations
        and first.body == second.body
    )
    latencies.sort()
    total = len(requests) * len(all_phases)
    answered = total - len(failures) - lost_by_design
    out(
        f"\nsummary: {total} requests, {answered} answered 200 from the expected Region"
        + (f", {lost_by_design} lost by design" if lost_by_design else "")
        + f"; median {latencies[len(latencies) // 2]:.1f} ms, max {latencies[-1]:.1f} ms; "
        f"a repeated request was a cache {second.cache.lower()} "
        f"with {second.invocations} function invocation(s)"
    )
    if lost_by_design:
        secondary = routing.failover_origin
        out(
            f"lost by design: with 'fixed' failover every retry goes to {secondary}, the origin "
            f"group's secondary, so edges whose primary is {secondary} have no other bucket while "
            "it is down. 'ranked' failover retries on each edge's next-nearest bucket instead and "
            "loses none of these (pulumi config set geo-proximity:failover ranked)."
        )
    for failure in failures:
        out(f"FAILED {failure}")
    if not cache_ok:
        failures.append("cache")
        out("FAILED the repeated request was not served from the edge cache")
    out("drill passed" if not failures else f"drill FAILED: {len(failures)} problem(s)")
    return 0 if not failures else 1
