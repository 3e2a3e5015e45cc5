"""The Lambda@Edge state read under one deadline, whatever the network does: a resolver that
stalls, a store that accepts and never answers, one that trickles its answer, one that refuses, an
answer that comes late. The real handler runs in-process; a request never waits for the read past
the deadline (the bound is the point, so it is measured, with room for a loaded machine), only one
read runs at a time (counted), evacuations fail open and drains, in the artifact, never do."""

import copy
import json
import socket
import threading
import time

import pytest

from edge_function import origin_request
from edge_function.origin_request import RoutingState
from routing.table import derive_routing_table
from tests.support import (
    FAKE_CREDENTIALS,
    SEED_ORIGINS,
    FakeClock,
    artifact_for,
    context_in,
    evacuated_item,
    expected_reroute,
    free_port,
    origin_request_event,
    query_answer,
    state_source,
)

DEADLINE = 0.2
REFRESH = 15.0
# What a loaded machine may add to a wait that is bounded by DEADLINE; the failures these tests
# catch hold a request for seconds (a resolver's own time-outs, a store's silence).
SLACK = 1.0
EDGE = "eu-west-1"
# eu-west-1 ranks eu-central-1, us-east-1, ap-northeast-1: the stack drains eu-central-1 and the
# store evacuates us-east-1, so a request that read the state goes to ap-northeast-1, one that read
# nothing to us-east-1, and none ever to eu-central-1.
DRAINED = ["eu-central-1"]
TABLE = derive_routing_table(SEED_ORIGINS, drained=DRAINED)
READ = "ap-northeast-1"
NOT_READ = "us-east-1"


# The handlers a test made: their reads settled and their connections closed after it.
MADE: list["Handler"] = []


@pytest.fixture(autouse=True)
def environment(monkeypatch):
    monkeypatch.setattr(origin_request, "_logged", set())
    for name, value in FAKE_CREDENTIALS.items():
        monkeypatch.setenv(name, value)
    yield
    while MADE:
        box = MADE.pop()
        box.state.settle(5)
        box.state.close()


class Handler:
    """The real handler over an artifact that drains ``DRAINED`` and reads the state at
    ``endpoint`` (None: DynamoDB's own), on a clock the test moves."""

    def __init__(self, endpoint):
        document = json.loads(
            artifact_for(
                TABLE,
                state=state_source(endpoint, refresh_seconds=REFRESH, timeout_seconds=DEADLINE),
            )
        )
        self.clock = FakeClock()
        self.state = RoutingState(document["state"], clock=self.clock)
        self.handler = origin_request.build_handler(document, state=self.state)
        MADE.append(self)

    def ask(self):
        """(target Region, seconds the request took)."""
        event = origin_request_event()
        started = time.monotonic()
        request = self.handler(copy.deepcopy(event), context_in(EDGE))
        elapsed = time.monotonic() - started
        region = request["origin"]["s3"]["region"]
        assert request == expected_reroute(event, region)
        return region, elapsed


class StalledResolver:
    """``socket.getaddrinfo`` that answers nothing until released, then fails as a resolver that
    timed out does (at most 10 s: what the read before this one would have held a request)."""

    def __init__(self):
        self.asked = []
        self.released = threading.Event()

    def __call__(self, host, *args, **kwargs):
        self.asked.append(host)
        self.released.wait(10)
        raise socket.gaierror(socket.EAI_AGAIN, "Temporary failure in name resolution")


def test_a_stalled_resolver_holds_a_request_for_the_deadline_only(monkeypatch, capsys):
    resolver = StalledResolver()
    monkeypatch.setattr(socket, "getaddrinfo", resolver)
    box = Handler(None)
    try:
        # A cold container: its first request waits at most the deadline, then routes by the
        # rankings (nothing evacuated) around the artifact's drain.
        region, elapsed = box.ask()
        assert region == NOT_READ
        assert DEADLINE * 0.9 <= elapsed < DEADLINE + SLACK, elapsed
        assert resolver.asked == ["dynamodb.eu-west-1.amazonaws.com"]
        # A period later the read is still under way: no second one, and no wait at all.
        box.clock.advance(REFRESH)
        region, elapsed = box.ask()
        assert region == NOT_READ and elapsed < DEADLINE, elapsed
        assert resolver.asked == ["dynamodb.eu-west-1.amazonaws.com"]
    finally:
        resolver.released.set()
        assert box.state.settle(5)
    logged = capsys.readouterr().err
    assert "routing state not read within 0.2 s" in logged
    assert "routing state unreadable (gaierror" in logged
    # Once the resolver answers (here: fails), the next period reads again.
    box.clock.advance(REFRESH)
    box.ask()
    assert box.state.settle(5)
    assert len(resolver.asked) == 2


class Store:
    """A store on loopback that reads each request and then answers as ``behaviour`` says:
    ``silent`` (never), ``trickle`` (one byte of a status line every 50 ms, for ever), ``late``
    (the answer after ``delay``), ``prompt``. Counts the connections it accepted."""

    def __init__(self, behaviour, answer=b"", delay=0.0):
        self.behaviour = behaviour
        self.answer = answer
        self.delay = delay
        self.connections = 0
        self._stop = threading.Event()
        self._listener = socket.create_server(("127.0.0.1", 0))
        self._listener.settimeout(0.05)
        self._threads = [threading.Thread(target=self._accept, daemon=True)]
        self._threads[0].start()

    @property
    def endpoint(self):
        return f"http://127.0.0.1:{self._listener.getsockname()[1]}"

    def _accept(self):
        while not self._stop.is_set():
            try:
                connection, _ = self._listener.accept()
            except TimeoutError:
                continue
            self.connections += 1
            thread = threading.Thread(target=self._serve, args=(connection,), daemon=True)
            self._threads.append(thread)
            thread.start()

    def _serve(self, connection):
        with connection:
            connection.settimeout(5)
            data = b""
            while b"\r\n\r\n" not in data:
                data += connection.recv(65536)
            if self.behaviour == "trickle":
                for byte in b"HTTP/1.1 200 OK\r\nx-padding: " + b"." * 10_000:
                    if self._stop.wait(0.05):
                        return
                    try:
                        connection.sendall(bytes([byte]))
                    except OSError:
                        return
            if self.behaviour == "silent" or self._stop.wait(self.delay):
                self._stop.wait()
                return
            connection.sendall(
                b"HTTP/1.1 200 OK\r\ncontent-type: application/x-amz-json-1.0\r\n"
                b"content-length: %d\r\n\r\n%s" % (len(self.answer), self.answer)
            )

    def close(self):
        self._stop.set()
        for thread in self._threads:
            thread.join()
        self._listener.close()


@pytest.fixture
def store():
    made = []

    def make(*args, **kwargs):
        made.append(Store(*args, **kwargs))
        return made[-1]

    yield make
    for running in made:
        running.close()


@pytest.mark.parametrize("behaviour", ["silent", "trickle"])
def test_a_store_that_never_finishes_its_answer_holds_a_request_for_the_deadline_only(
    store, monkeypatch, capsys, behaviour
):
    # The read's own budget, shortened: a trickle resets no time-out, so the read ends with it.
    monkeypatch.setattr(origin_request, "_READ_BUDGET_SECONDS", 1.0)
    running = store(behaviour)
    box = Handler(running.endpoint)
    region, elapsed = box.ask()
    assert region == NOT_READ
    assert DEADLINE * 0.9 <= elapsed < DEADLINE + SLACK, elapsed
    # Requests within the period neither read nor wait.
    for _ in range(3):
        region, elapsed = box.ask()
        assert region == NOT_READ and elapsed < DEADLINE, elapsed
    # The read gives up after its budget, not the store's pace; the next period reads again.
    assert box.state.settle(1.0 + SLACK + 1)
    assert "routing state unreadable (TimeoutError" in capsys.readouterr().err
    box.clock.advance(REFRESH)
    box.ask()
    assert running.connections == 2


def test_a_refused_connection_fails_open_at_once_but_keeps_the_drain(capsys):
    box = Handler(f"http://127.0.0.1:{free_port()}")
    region, elapsed = box.ask()
    assert region == NOT_READ and elapsed < DEADLINE + SLACK
    assert box.state.settle(5)
    assert "routing state unreadable (ConnectionRefusedError" in capsys.readouterr().err


def test_an_answer_that_comes_after_the_deadline_serves_the_requests_after_it(store):
    running = store("late", query_answer([evacuated_item([NOT_READ])]), delay=DEADLINE + 0.4)
    box = Handler(running.endpoint)
    # The first request does not wait for it: nothing evacuated yet, the drain kept.
    region, elapsed = box.ask()
    assert region == NOT_READ and elapsed < DEADLINE + SLACK, elapsed
    assert box.state.settle(5)
    # The answer arrived after the deadline; the next requests use it without reading again.
    assert box.ask()[0] == READ
    assert box.ask()[0] == READ
    assert running.connections == 1


def test_an_answer_in_time_serves_the_request_that_asked(store):
    running = store("prompt", query_answer([evacuated_item([NOT_READ])]))
    box = Handler(running.endpoint)
    assert box.ask()[0] == READ
    assert running.connections == 1


def test_a_state_that_would_leave_nothing_but_the_drained_is_ignored_and_the_drain_kept(store):
    # Every origin not drained is evacuated: evacuations fail open, the drain does not.
    running = store("prompt", query_answer([evacuated_item(["us-east-1", "ap-northeast-1"])]))
    box = Handler(running.endpoint)
    assert box.ask()[0] == NOT_READ
    assert box.state.out(EDGE) == {"us-east-1", "ap-northeast-1"}


def test_no_thread_to_be_had_fails_open_without_waiting(capsys):
    def refuse(function, arguments):
        raise RuntimeError("can't start new thread")

    document = json.loads(artifact_for(TABLE, state=state_source("http://127.0.0.1:9")))
    state = RoutingState(document["state"], clock=FakeClock(), start_thread=refuse)
    handler = origin_request.build_handler(document, state=state)
    request = handler(origin_request_event(), context_in(EDGE))
    assert request["origin"]["s3"]["region"] == NOT_READ
    assert "routing state unreadable (RuntimeError" in capsys.readouterr().err
