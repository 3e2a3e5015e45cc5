"""The failover drill: every execution Region asks for every sample object, healthy and under
faults.

Phases: all origins healthy; one origin Region down (its S3 endpoint stopped); the same Region
unreachable (connections time out); another answering 503; an object deleted in a third; the
busiest Region drained (``geo-proximity:drained``) as ``pulumi up`` drains it: written to the
routing state first, which the running code reads, then the new code, which carries the drain,
in cold containers that cannot read the state (no request may reach it either time); the
busiest Region stalled until the evacuator takes it out of
rotation (no request may reach it once the state has reached the edge), then recovered until the
evacuator brings it back (requests reach it again); and healthy again after every fault is
restored. Each request must be answered 200 from the Region the routing table expects, with the
phase's origins out of rotation: the primary, or the failover origin when the fault hits the
primary. Any other answer is a failure, and the drill exits non-zero.

One outcome is expected to fail: with ``fixed`` failover every retry goes to the origin group's one
secondary bucket, so an edge whose primary *is* that bucket has nowhere to go while it is down. Such
a request must fail (an error, not a 200 from somewhere unexpected); the drill counts it as lost by
design, explains why, and does not fail for it. ``ranked`` failover has no such case. Likewise,
where the stack sets ``originResponseCompletionTimeout``, the ``--stall`` phase's requests to the
stalled Region end at it with a 504: AWS documents no failover after it, so none is counted on.
"""

from __future__ import annotations

import http.client
import json
import queue
import threading
import time
import urllib.parse
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, ExitStack, contextmanager
from dataclasses import dataclass, field

from core.engine import Engine
from core.evacuation import EVACUATION_PROBE_SECONDS, EVACUATION_QUORUM
from routing.catalogue import lambda_edge_execution_regions
from routing.table import FailoverMode, RoutingTable
from sandbox.edge import EDGE_REGION_HEADER
from sandbox.evacuation_drill import EvacuationDrill
from sandbox.regional_s3 import Fault
from sandbox.stack import Sandbox
from sandbox.state import PROBE_SECONDS, SCALE
from settings.parser import Settings
from settings.table import ConfigError

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


def ask_together(sandbox: Sandbox, requests: list[tuple[str, str]], viewers: int) -> list[Answer]:
    """Each (edge Region, key) request asked through the edge by one of ``viewers`` viewers at
    once; the answers in the requests' order (the first error, if any, raised here).

    The viewers are daemon threads, and waited for in short slices: a Ctrl-C while they wait on a
    stalled or unreachable origin stops the drill at once, instead of after the origin's
    time-outs (an executor's threads would hold the interpreter until their answers came)."""
    answers: list[Answer | Exception | None] = [None] * len(requests)
    waiting: queue.SimpleQueue[int] = queue.SimpleQueue()
    for index in range(len(requests)):
        waiting.put(index)

    def viewer() -> None:
        while True:
            try:
                index = waiting.get_nowait()
            except queue.Empty:
                return
            try:
                answers[index] = ask(sandbox, *requests[index])
            except Exception as error:  # noqa: BLE001 - raised in the caller's thread below
                answers[index] = error

    threads = [
        threading.Thread(target=viewer, name=f"viewer-{number}", daemon=True)
        for number in range(min(viewers, len(requests)))
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        while thread.is_alive():
            thread.join(0.2)
    for answer in answers:
        if isinstance(answer, Exception):
            raise answer
    return [answer for answer in answers if isinstance(answer, Answer)]


@dataclass(frozen=True)
class Phase:
    title: str
    # Which origin Region a request for this key cannot be served from during the phase.
    broken: Callable[[str], str | None]
    fault: Callable[[Sandbox], AbstractContextManager[None]]
    # Its fault makes requests wait for a time-out before they fail over: what the wait is bound by,
    # said next to the measured wait.
    times_out: str | None = None
    # Why a request whose primary is the phase's broken Region ends in an error instead of failing
    # over (it is then lost by design); None: it fails over.
    no_failover_why: str | None = None
    # An origin Region no request may reach during the phase, and why (it is drained, evacuated).
    silent: str | None = None
    silent_why: str = "drained"
    # An origin Region requests must reach again during the phase.
    reached: str | None = None
    # The origins out of rotation during the phase; None: the stack's drained ones.
    out: frozenset[str] | None = None
    # Once the fault is in force: why the phase cannot ask anything (its requests are skipped and
    # that is a failure), or None.
    problem: Callable[[], str | None] = lambda: None
    # Lines to print after the phase (measured figures).
    report: Callable[[], list[str]] = list


def _busiest_origins(sandbox: Sandbox) -> list[str]:
    """Origins in rotation by how many execution Regions they serve, most first: the drill breaks
    them so. A drained origin serves nothing, so a fault there would test nothing."""
    routes = sandbox.settings.routing.routes
    counts = Counter(routes[edge].primary for edge in lambda_edge_execution_regions())
    origins = list(sandbox.settings.routing.active_origins)
    return sorted(origins, key=lambda origin: (-counts[origin], origins.index(origin)))


# The faults, each restored when its phase ends.


@contextmanager
def _healthy(_: Sandbox) -> Iterator[None]:
    yield


@contextmanager
def _stopped(box: Sandbox, region: str) -> Iterator[None]:
    box.emulators.regions[region].stop()
    try:
        yield
    finally:
        box.emulators.regions[region].start()


@contextmanager
def _unreachable(box: Sandbox, region: str) -> Iterator[None]:
    box.emulators.regions[region].make_unreachable()
    try:
        yield
    finally:
        box.emulators.regions[region].start()


@contextmanager
def _faulty(box: Sandbox, region: str, fault: Fault) -> Iterator[None]:
    box.emulators.regions[region].fault = fault
    try:
        yield
    finally:
        box.emulators.regions[region].fault = None


@contextmanager
def _drained_in_code(box: Sandbox, out: frozenset[str]) -> Iterator[None]:
    """The drain deployed (state and code), the edge's containers new and the state out of their
    reach: only the code can keep the drained Region out (drains fail safe)."""
    with box.drained(out), box.cold_started(), box.store_not_reached():
        yield


@contextmanager
def _deleted(box: Sandbox, region: str, key: str) -> Iterator[None]:
    box.emulators.client(region).delete_object(Bucket=box.buckets[region], Key=key)
    try:
        yield
    finally:
        box.restore_object(region, key)


def phases(
    sandbox: Sandbox, keys: list[str], *, stall: bool = False, cleanup: ExitStack | None = None
) -> list[Phase]:
    """The drill's phases; what they leave running is stopped by ``cleanup`` (or when the
    sandbox stops)."""
    busiest = _busiest_origins(sandbox)
    down, unavailable, deleted_in = (busiest[i % len(busiest)] for i in range(3))
    deleted_key = keys[0]
    drainable = _drainable(sandbox.settings, busiest)
    drain_phase: list[Phase] = []
    if drainable is not None:
        drained, out = drainable
        drain_phase += [
            Phase(
                f"{drained} drained (geo-proximity:drained): the routing state first, which the "
                "running code reads: no request may reach it",
                lambda key: None,
                lambda box: box.drained_in_state(out),
                silent=drained,
                out=out,
            ),
            Phase(
                f"{drained} drained (geo-proximity:drained): then the new code, which carries "
                "the drain, in cold containers that cannot read the routing state: no request "
                "may reach it",
                lambda key: None,
                lambda box: _drained_in_code(box, out),
                silent=drained,
                out=out,
            ),
        ]
    return [
        Phase("all origins healthy", lambda key: None, _healthy),
        *_region_down_phases(sandbox, down, stall=stall),
        Phase(
            f"{unavailable} answers 503 Service Unavailable",
            lambda key: unavailable,
            lambda box: _faulty(box, unavailable, Fault.UNAVAILABLE),
        ),
        Phase(
            f"{deleted_key} deleted in {deleted_in} (404)",
            lambda key: deleted_in if key == deleted_key else None,
            lambda box: _deleted(box, deleted_in, deleted_key),
        ),
        *drain_phase,
        *_evacuation_phases(sandbox, busiest[0], cleanup),
        Phase("every fault restored", lambda key: None, _healthy),
    ]


def _evacuation_phases(sandbox: Sandbox, region: str, cleanup: ExitStack | None) -> list[Phase]:
    """The busiest Region stalled until the evacuator takes it out, then recovered until it
    brings it back; none without an evacuator."""
    settings = sandbox.settings
    if sandbox.state is None or not settings.evacuation:
        return []
    drill = EvacuationDrill(sandbox, region)
    if cleanup is not None:
        cleanup.callback(drill.stop)
    out = frozenset({*settings.routing.drained, region})
    return [
        Phase(
            "the health object deleted in every bucket (one delete through a mesh that "
            "replicates delete markers: 403 to every probe): no Region may be taken out, and "
            f"each origin's alarm is raised ({drill.duplicated}'s runs duplicated)",
            lambda key: None,
            lambda box: drill.health_deleted(),
            problem=lambda: drill.health_problem,
        ),
        Phase(
            f"{region} stalled: the evacuator takes it out of rotation "
            f"({settings.evacuation_failures} failed probes in a row from {EVACUATION_QUORUM} "
            f"vantage Regions; probes every {PROBE_SECONDS:g} s, {EVACUATION_PROBE_SECONDS} s "
            f"scaled down {SCALE} times; {drill.duplicated}'s runs duplicated, each tick counted "
            "once): no request may reach it once the edge has the state",
            lambda key: None,
            lambda box: drill.stalled(),
            silent=region,
            silent_why="evacuated",
            out=out,
            problem=lambda: drill.problem,
        ),
        Phase(
            f"{region} recovered: the evacuator brings it back "
            f"({settings.evacuation_recoveries} good probes in a row): requests reach it again",
            lambda key: None,
            lambda box: drill.recovered(),
            reached=region,
            problem=lambda: drill.back_problem,
            report=drill.report,
        ),
    ]


def _region_down_phases(sandbox: Sandbox, down: str, *, stall: bool) -> list[Phase]:
    """The busiest Region stopped, then unreachable, then (with ``stall``) stalled."""
    box_settings = sandbox.settings
    attempts = box_settings.origin_connection_attempts
    response_timeout = sandbox.read_timeout
    connect_timeout, stack_timeout = sandbox.connect_timeout, box_settings.origin_connection_timeout
    # A test may scale the wait down: then the measured wait is this, not the stack's.
    scaled = (
        "" if connect_timeout == stack_timeout else f", {attempts} x {connect_timeout:g} s here"
    )
    stopped = Phase(
        f"{down} down (its S3 endpoint stopped: connections refused)",
        lambda key: down,
        lambda box: _stopped(box, down),
    )
    unreachable = Phase(
        f"{down} unreachable (connections time out: "
        f"{attempts} attempt(s) x {connect_timeout:g} s before failover)",
        lambda key: down,
        lambda box: _unreachable(box, down),
        times_out=(
            f"this stack: {attempts} x {stack_timeout} s{scaled}; "
            f"CloudFront's defaults, 3 x 10 s, would hold each of them "
            f"{_CLOUDFRONT_DEFAULT_CONNECT_WAIT_S} s"
        ),
    )
    completion = sandbox.response_completion_timeout
    per_attempt = f"{attempts} attempt(s) x {response_timeout:g} s response timeout"
    if completion is None:
        stalled = Phase(
            f"{down} stalled (connections accepted, no answer: {per_attempt} before failover)",
            lambda key: down,
            lambda box: _faulty(box, down, Fault.STALLED),
            times_out=(
                f"S3 origins: {attempts} attempt(s) x the {response_timeout:g} s response "
                "timeout, which pulumi-aws 7 cannot shorten; originResponseCompletionTimeout "
                "would end the wait sooner, with no documented failover"
            ),
        )
    else:
        # The completion timeout ends the connection; no AWS page says a failover follows, so the
        # sandbox plays none (sandbox.edge.OriginFailure.COMPLETION_TIMED_OUT).
        stalled = Phase(
            f"{down} stalled (connections accepted, no answer: the {completion:g} s response "
            f"completion timeout ends each miss it holds, answered 504 without failover)",
            lambda key: down,
            lambda box: _faulty(box, down, Fault.STALLED),
            times_out=(
                f"S3 origins: the response completion timeout (originResponseCompletionTimeout, "
                f"{completion:g} s here) ends the wait, every attempt together; without it "
                f"{per_attempt}, then failover"
            ),
            no_failover_why=(
                f"originResponseCompletionTimeout ends the connection to the stalled {down} "
                f"after {completion:g} s here, and AWS documents no failover after it, so these "
                "requests get CloudFront's 504; without it (0, the default) they fail over after "
                f"{per_attempt}"
            ),
        )
    return [stopped, unreachable, *([stalled] if stall else [])]


def _drainable(settings: Settings, busiest: list[str]) -> tuple[str, frozenset[str]] | None:
    """The busiest origin the stack's settings accept drained (not the last in rotation), with
    every origin drained then."""
    for region in busiest:
        try:
            # Drained on top of what the stack already drains.
            out = sorted({*settings.routing.drained, region})
            drained = settings.variant({"drained": json.dumps(out)})
        except ConfigError:
            continue
        return region, drained.routing.drained
    return None


def expected_region(
    routing: RoutingTable, edge: str, broken: str | None, out: frozenset[str] | None = None
) -> str | None:
    """The Region that must answer ``edge``'s request: its primary with ``out`` out of rotation
    (by default the stack's drained origins), or its failover when ``broken`` is the primary;
    None when that is ``broken`` too (lost by design)."""
    route = routing.route_for(edge, out)
    if route.primary != broken:
        return route.primary
    return route.failover if route.failover != broken else None


LOST_BY_DESIGN = "lost by design"
FAILED = "FAILED"


@dataclass(frozen=True)
class Checked:
    """One request of a phase: its answer and the verdict on it."""

    edge: str
    key: str
    answer: Answer
    # The Region that must answer 200; None when the request is lost by design (it must fail).
    expected: str | None
    verdict: str  # "" (as expected), LOST_BY_DESIGN or FAILED


@dataclass(frozen=True)
class PhaseOutcome:
    number: int
    phase: Phase
    checked: list[Checked]
    failures: list[str]  # one line per request not answered as expected
    # How many requests reached the phase's drained (or evacuated) Region once the state was in
    # force; None when it has none.
    reached_drained: int | None
    # How many requests reached the Region the phase brings back; None when it brings none back.
    reached_again: int | None = None
    # What the phase measured, to print after it.
    notes: list[str] = field(default_factory=list)

    @property
    def lost_by_design(self) -> int:
        """Fixed failover: requests whose only bucket was the broken one."""
        return sum(request.verdict == LOST_BY_DESIGN for request in self.checked)

    @property
    def ended_ms(self) -> list[float]:
        """Time to first byte of the requests lost by design, shortest first."""
        return sorted(
            request.answer.first_byte_ms
            for request in self.checked
            if request.verdict == LOST_BY_DESIGN
        )

    @property
    def failed_over_ms(self) -> list[float]:
        """Time to first byte of the requests served by their failover bucket, shortest first."""
        return sorted(
            request.answer.first_byte_ms
            for request in self.checked
            if request.answer.failover and request.answer.status == 200
        )


def _viewer_requests(sandbox: Sandbox, region: str | None) -> int:
    """Requests that reached ``region``'s S3 endpoint from the edge so far (not the probes)."""
    return sandbox.emulators.regions[region].viewer_requests if region else 0


def run_phase(
    sandbox: Sandbox, number: int, phase: Phase, requests: list[tuple[str, str]]
) -> PhaseOutcome:
    """Every request of the phase under its fault, each judged against the routing table."""
    sandbox.edge.invalidate()  # each phase starts cold, as after a CloudFront invalidation
    failures: list[str] = []
    with phase.fault(sandbox):
        # Counted from here: the state the phase writes has reached the edge.
        silent_before = _viewer_requests(sandbox, phase.silent)
        again_before = _viewer_requests(sandbox, phase.reached)
        problem = phase.problem()
        if problem is not None:
            failures.append(f"phase {number}: {problem}; its requests were not asked")
            requests = []
        if phase.times_out and requests:
            # Viewers ask at once, as they do: the phase waits out a time-out per batch.
            answers = ask_together(sandbox, requests, _CONCURRENT_VIEWERS)
        else:
            answers = [ask(sandbox, edge, key) for edge, key in requests]
        reached = _viewer_requests(sandbox, phase.silent) - silent_before
        again = _viewer_requests(sandbox, phase.reached) - again_before
    if phase.silent and reached:
        failures.append(
            f"phase {number}: {reached} request(s) reached {phase.silent}, which is "
            f"{phase.silent_why}"
        )
    if phase.reached and requests and not again:
        failures.append(f"phase {number}: no request reached {phase.reached} again")
    checked = _judged(sandbox.settings.routing, number, phase, requests, answers, failures)
    return PhaseOutcome(
        number,
        phase,
        checked,
        failures,
        reached if phase.silent and requests else None,
        again if phase.reached and requests else None,
        phase.report(),
    )


def _judged(
    routing: RoutingTable,
    number: int,
    phase: Phase,
    requests: list[tuple[str, str]],
    answers: list[Answer],
    failures: list[str],
) -> list[Checked]:
    """Each answer against the Region the routing table expects; a line in ``failures`` for each
    one that is not as expected."""
    checked = []
    for (edge, key), answer in zip(requests, answers, strict=True):
        broken = phase.broken(key)
        # The phase's fault ends a request to its primary without failover.
        ended = (
            phase.no_failover_why is not None
            and broken is not None
            and routing.route_for(edge, phase.out).primary == broken
        )
        expected = None if ended else expected_region(routing, edge, broken, phase.out)
        where = f"phase {number}, {edge} {key}: {answer.status} from {answer.served_by}"
        if expected is None:
            # Lost by design: it must fail, and must not be served from anywhere else.
            ok = answer.status >= 400 and answer.served_by in ("none", broken)
            verdict = LOST_BY_DESIGN if ok else FAILED
            if not ok:
                why = (
                    f"{broken} is its primary and it is not failed over from"
                    if ended
                    else f"{broken} is its primary and its failover"
                )
                failures.append(f"{where}, expected an error (lost by design: {why})")
        else:
            ok = answer.status == 200 and answer.served_by == expected
            verdict = "" if ok else FAILED
            if not ok:
                failures.append(f"{where}, expected 200 from {expected}")
        checked.append(Checked(edge, key, answer, expected, verdict))
    return checked


def print_phase_title(
    number: int, phase: Phase, out: Callable[[str], None], *, key_width: int | None
) -> None:
    """The phase's title, then the table's column heads unless ``key_width`` is None."""
    out(f"\n== phase {number}: {phase.title} ==")
    if key_width is not None:
        out(
            f"{'edge Region':<16}{'object':<{key_width}}{'status':>6}  {'served by':<16}"
            f"{'failover':<9}{'expected':<16}{'ms':>7}"
        )


def print_phase(
    outcome: PhaseOutcome, out: Callable[[str], None], *, key_width: int, failures_only: bool
) -> None:
    """The phase's drain check, a line per request (per failed one with ``failures_only``) and its
    failover times; with ``failures_only``, nothing for a phase without failures."""
    if failures_only and not outcome.failures:
        return
    phase = outcome.phase
    if outcome.reached_drained:
        out(f"FAILED {outcome.reached_drained} request(s) reached {phase.silent}")
    elif outcome.reached_drained is not None:
        out(f"no request reached {phase.silent} while it was {phase.silent_why}")
    if outcome.reached_again:
        out(f"{outcome.reached_again} request(s) reached {phase.reached} again")
    for request in outcome.checked:
        if failures_only and request.verdict != FAILED:
            continue
        answer, verdict = request.answer, request.verdict
        out(
            f"{request.edge:<16}{request.key:<{key_width}}{answer.status:>6}  "
            f"{answer.served_by:<16}{'yes' if answer.failover else 'no':<9}"
            f"{request.expected or '(none)':<16}"
            f"{answer.milliseconds:>7.1f}" + (f"  <-- {verdict}" if verdict else "")
        )
    failed_over = outcome.failed_over_ms
    if failed_over:
        out(
            f"failover: {len(failed_over)} request(s) served by their failover bucket; time to "
            f"first byte median {failed_over[len(failed_over) // 2]:.0f} ms, "
            f"max {failed_over[-1]:.0f} ms" + (f" ({phase.times_out})" if phase.times_out else "")
        )
    ended = outcome.ended_ms
    if ended and phase.no_failover_why:
        out(
            f"ended without failover: {len(ended)} request(s) answered an error; time to first "
            f"byte median {ended[len(ended) // 2]:.0f} ms, max {ended[-1]:.0f} ms"
            + (f" ({phase.times_out})" if phase.times_out else "")
        )
    for note in outcome.notes:
        out(note)


def _phases_to_run(
    sandbox: Sandbox, keys: list[str], *, stall: bool, cleanup: ExitStack
) -> tuple[list[Phase], str | None]:
    """The drill's phases, and why only the healthy one runs when that is so."""
    routing = sandbox.settings.routing
    all_phases = phases(sandbox, keys, stall=stall, cleanup=cleanup)
    if any(route.failover is not None for route in routing.routes.values()):
        return all_phases, None
    why = (
        "failover is off"
        if routing.failover_mode is FailoverMode.OFF
        else "one origin is in rotation"
    )
    return all_phases[:1], (
        f"{why} for this stack: a fault would fail requests by design, "
        "so only the healthy phase runs"
    )


def describe_state(sandbox: Sandbox) -> str:
    """One line on where the edge reads the routing state, and what is scaled down or instant."""
    state, settings = sandbox.state, sandbox.settings
    if state is None:
        return "routing state: none (one origin: it is never out of rotation)"
    if settings.engine is Engine.LAMBDA_EDGE:
        where = (
            f"DynamoDB table {state.table} (moto on loopback; a write reaches every replica at "
            f'once here, "typically within a second" on AWS), read by each container every '
            f"{state.refresh_seconds:g} s (the function's 15 s, scaled down {SCALE} times)"
        )
    else:
        where = (
            f"the key value store's key {settings.state_key!r} (read at every request; a write "
            "reaches the function at once here, AWS documents no propagation time), beside "
            f"DynamoDB table {state.table}"
        )
    evacuator = (
        f"; evacuator in {', '.join(settings.evacuation_vantages)}, probes every "
        f"{PROBE_SECONDS:g} s ({EVACUATION_PROBE_SECONDS} s scaled down {SCALE} times)"
        if settings.evacuation
        else "; no evacuator (geo-proximity:evacuation false)"
    )
    return f"routing state: {where}{evacuator}"


def run_drill(
    sandbox: Sandbox,
    keys: list[str],
    out: Callable[[str], None] = print,
    *,
    failures_only: bool = False,
    stall: bool = False,
) -> int:
    """Every phase, each printed as it ends (its title as it starts, so a long wait says what it
    waits for), then the summary; 0 when every request was answered as expected, else 1.

    With ``failures_only``, a phase prints only when something in it failed, and then only its
    failed requests."""
    edges = lambda_edge_execution_regions()
    settings = sandbox.settings
    routing = settings.routing
    drained = f" (drained: {', '.join(sorted(routing.drained))})" if routing.drained else ""
    out(
        f"drill: stack {settings.stack}, engine {settings.engine.value}, origins "
        f"{', '.join(settings.origins)}{drained}, failover {routing.failover_mode.value}, "
        f"{len(edges)} Regional edge cache Regions x {len(keys)} objects"
    )
    out(describe_state(sandbox))
    key_width = max(22, *(len(key) + 2 for key in keys))
    requests = [(edge, key) for edge in edges for key in keys]
    outcomes = []
    with ExitStack() as cleanup:
        all_phases, only_healthy = _phases_to_run(sandbox, keys, stall=stall, cleanup=cleanup)
        if only_healthy:
            out(only_healthy)
        for number, phase in enumerate(all_phases, start=1):
            if not failures_only:
                print_phase_title(number, phase, out, key_width=key_width)
            outcome = run_phase(sandbox, number, phase, requests)
            if failures_only and outcome.failures:
                print_phase_title(number, phase, out, key_width=None)
            print_phase(outcome, out, key_width=key_width, failures_only=failures_only)
            outcomes.append(outcome)
    first, second = ask(sandbox, edges[0], keys[0]), ask(sandbox, edges[0], keys[0])
    # Lambda@Edge runs on cache misses only; a CloudFront function on every request.
    hit_invocations = 0 if settings.engine is Engine.LAMBDA_EDGE else 1
    cache_ok = (
        second.cache == "Hit"
        and second.invocations == hit_invocations
        and first.body == second.body
    )
    return print_summary(outcomes, second, cache_ok, routing, out)


def print_summary(
    outcomes: list[PhaseOutcome],
    repeated: Answer,
    cache_ok: bool,
    routing: RoutingTable,
    out: Callable[[str], None],
) -> int:
    """The drill's totals, what was lost by design and why, every failure and the verdict: 0 when
    the drill passed, else 1."""
    failures = [failure for outcome in outcomes for failure in outcome.failures]
    lost_by_design = sum(outcome.lost_by_design for outcome in outcomes)
    latencies = sorted(
        request.answer.milliseconds for outcome in outcomes for request in outcome.checked
    )
    total = len(latencies)
    answered = total - len(failures) - lost_by_design
    out(
        f"\nsummary: {total} requests, {answered} answered 200 from the expected Region"
        + (f", {lost_by_design} lost by design" if lost_by_design else "")
        + f"; median {latencies[len(latencies) // 2]:.1f} ms, max {latencies[-1]:.1f} ms; "
        f"a repeated request was a cache {repeated.cache.lower()} "
        f"with {repeated.invocations} function invocation(s)"
    )
    for outcome in outcomes:
        if outcome.phase.no_failover_why and outcome.lost_by_design:
            out(f"lost by design in phase {outcome.number}: {outcome.phase.no_failover_why}.")
    lost_to_fixed = sum(
        outcome.lost_by_design for outcome in outcomes if not outcome.phase.no_failover_why
    )
    if lost_to_fixed:
        secondary = routing.failover_origin
        out(
            f"lost by design: with 'fixed' failover every retry goes to {secondary}, the origin "
            f"group's secondary, so edges whose primary is {secondary} have no other bucket while "
            "it is down. 'ranked' failover retries on each edge's next-nearest bucket instead and "
            "loses none of these (pulumi config set geo-proximity:failover ranked)."
        )
    for outcome in outcomes:
        for note in outcome.notes:
            out(note)
    for failure in failures:
        out(f"FAILED {failure}")
    if not cache_ok:
        failures.append("cache")
        out("FAILED the repeated request was not served from the edge cache")
    out("drill passed" if not failures else f"drill FAILED: {len(failures)} problem(s)")
    return 0 if not failures else 1
