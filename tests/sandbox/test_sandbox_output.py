"""What the sandbox prints: the drill with --failures-only, and serve's request log."""

import contextlib
import http.client
import socket
import struct
import sys
import threading

import pytest

from sandbox.drill import run_drill
from sandbox.edge import EdgeResponse, EdgeServer, request_log_line, shortened
from sandbox.stack import Sandbox
from settings.parser import parse_settings
from tests.sandbox.support import SCALED_CONNECT_TIMEOUT


@pytest.fixture(scope="module")
def small():
    settings = parse_settings({"origins": '["us-east-1", "eu-west-1"]'}, stack="output")
    with Sandbox(settings, read_timeout=0.5, connect_timeout=SCALED_CONNECT_TIMEOUT) as sandbox:
        yield sandbox


@pytest.mark.slow(reason="a whole drill, for its printed output")
def test_failures_only_prints_the_phases_that_failed_and_the_summary(small, monkeypatch):
    @contextlib.contextmanager
    def ignores_the_drain(self, regions):
        yield  # the state is never written: the drained Region still gets requests

    monkeypatch.setattr(Sandbox, "drained", ignores_the_drain)
    lines: list[str] = []
    assert run_drill(small, small.keys, out=lines.append, failures_only=True) == 1
    titles = [line for line in lines if "== phase" in line]
    # Only the drain phase failed: no other phase prints its title, nor anything else.
    assert len(titles) == 1 and "drained (geo-proximity:drained" in titles[0], lines
    drained = titles[0].split(": ", 1)[1].split(" ", 1)[0]
    after_title = lines[lines.index(titles[0]) + 1]
    assert after_title.startswith("FAILED ") and after_title.endswith(f"reached {drained}")
    assert not any(line.startswith(("no request reached", "failover: ")) for line in lines)
    assert any(line.startswith("\nsummary: ") for line in lines)
    # The evacuation's figures are in the summary, failures only or not.
    assert any(line.startswith("evacuation of ") for line in lines)
    # The Region reached, and each request it answered instead of the Region expected.
    failed = [line for line in lines if line.startswith("FAILED phase")]
    assert failed[0].endswith(f"request(s) reached {drained}, which is drained")
    assert all(f"from {drained}, expected 200 from " in line for line in failed[1:]) and failed[1:]
    assert lines[-1] == f"drill FAILED: {len(failed)} problem(s)"


def _reset_after_one_request(port: int) -> None:
    """A keep-alive client that gets its answer, then resets the connection (RST, not FIN)."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as client:
        client.sendall(
            b"GET /index.html HTTP/1.1\r\nHost: sandbox\r\nConnection: keep-alive\r\n\r\n"
        )
        response = http.client.HTTPResponse(client)
        response.begin()
        assert response.status == 200
        response.read()
        # Linger on, with a zero time-out: close() sends RST.
        client.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))


def test_a_client_that_resets_its_keep_alive_connection_is_no_error(small, monkeypatch, capfd):
    errors: list[BaseException | None] = []
    handled = threading.Event()
    original = EdgeServer.handle_error

    def recording(self, request, client_address):
        errors.append(sys.exc_info()[1])
        original(self, request, client_address)
        handled.set()

    monkeypatch.setattr(EdgeServer, "handle_error", recording)
    lines: list[str] = []
    small.log_requests(lines.append)
    try:
        _reset_after_one_request(small.port)
        assert handled.wait(10), "the reset never reached the server"
    finally:
        small.log_requests(None)
    # socketserver saw the reset (reading the next request) and printed nothing for it.
    assert len(errors) == 1 and isinstance(errors[0], ConnectionResetError)
    assert capfd.readouterr().err == ""
    assert len(lines) == 1 and lines[0].startswith("GET /index.html edge us-east-1: 200")


class _HeldEdge:
    """An edge that answers once ``release`` is set, and says when a request reached it."""

    def __init__(self) -> None:
        self.arrived = threading.Event()
        self.release = threading.Event()

    def handle(self, *request: object) -> EdgeResponse:
        self.arrived.set()
        assert self.release.wait(10)
        return EdgeResponse(200, [], b"ok", "us-east-1", False, "Miss", 1)


def test_a_request_is_logged_to_the_log_it_arrived_under():
    edge = _HeldEdge()
    server = EdgeServer(0, edge, "us-east-1")  # type: ignore[arg-type]
    serving = threading.Thread(target=server.serve_forever, daemon=True)
    serving.start()
    before: list[str] = []
    after: list[str] = []
    server.request_log = before.append
    try:
        connection = http.client.HTTPConnection("127.0.0.1", server.server_address[1], timeout=10)
        connection.request("GET", "/index.html")
        assert edge.arrived.wait(10)
        # The log changes while the request is in flight (the next test's, or serve stopping).
        server.request_log = after.append
        edge.release.set()
        assert connection.getresponse().read() == b"ok"
        connection.close()
    finally:
        server.shutdown()
        server.server_close()
    assert after == []
    assert len(before) == 1 and before[0].startswith("GET /index.html edge us-east-1: 200")


def test_any_other_handler_error_keeps_its_traceback(capsys):
    server = EdgeServer(0, None, "us-east-1")
    try:
        raise ValueError("a bug in the edge")
    except ValueError:
        server.handle_error(None, ("127.0.0.1", 1))
    finally:
        server.server_close()
    err = capsys.readouterr().err
    assert "Traceback" in err and "ValueError: a bug in the edge" in err


def test_the_request_log_cuts_a_long_path_to_one_short_line(small):
    path = "/" + "a" * 20_000
    lines: list[str] = []
    small.log_requests(lines.append)
    try:
        connection = http.client.HTTPConnection("127.0.0.1", small.port, timeout=30)
        connection.request("GET", path)
        assert connection.getresponse().read() is not None
        connection.close()
    finally:
        small.log_requests(None)
    (line,) = lines
    assert line.startswith(f"GET {path[:200]}... (20,001 characters) edge us-east-1: 404 from ")
    assert len(line) < 400


def test_shortened_keeps_a_short_text_whole():
    assert shortened("/index.html") == "/index.html"
    assert shortened("x" * 200) == "x" * 200
    assert shortened("x" * 201) == "x" * 200 + "... (201 characters)"
    response = EdgeResponse(400, [], b"", None, False, "Error", 0)
    line = request_log_line("GET", "/", "q" * 5000, response, 1.0, warned=True)
    assert line.count("... (5,000 characters)") == 2 and len(line) < 600
