"""Bad inputs, signals: Ctrl-C (SIGINT) and SIGTERM during every long command, at the moments that
went wrong (while Python imports the command, during start-up, mid-run, during clean-up).

Each command runs as a person runs it, in a process of its own (a session of its own, so that
what it leaves running is found), with a temporary folder of its own (TMPDIR). Each stop must come
within a few seconds, say so in one line, end with 130 (SIGINT) or 143 (SIGTERM), print no
traceback, and leave no process, port, temporary folder or upload behind. The bound on the time is
generous for a loaded machine; what it catches are stops that wait out time-outs (the drill's
viewers, an S3 stall), every upload (publish), or for ever (the program under mocks).
"""

from __future__ import annotations

import os
import queue
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
import pytest

from settings.stack_file import settings_from_stack_file
from settings.table import PROJECT_ROOT
from tests.support import port_to_bind, start_moto_server
from tools.cli import run_command
from tools.interrupt import Stopped, shielded, stop_signals

# "Within a few seconds", with room for a machine busy with other work.
STOP_BOUND_SECONDS = 15
ACCOUNT = "123456789012"
INTERRUPTED = re.compile(r"^interrupted \(Ctrl-C\): .+; Ctrl-C again stops at once$")
TERMINATED = re.compile(r"^terminated \(SIGTERM\): .+; SIGTERM again stops at once$")


@dataclass
class Ended:
    status: int
    out: str
    err: str
    seconds: float  # from the first signal to the end
    left_running: list[str]  # processes of its session alive after it ended
    left_in_tmp: list[str]  # what it left in its temporary folder

    @property
    def err_lines(self) -> list[str]:
        return self.err.splitlines()


def session_processes(session: int) -> list[str]:
    """``pid command`` of every process whose session is ``session``."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            command = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if fields[3] == str(session):
            found.append(f"{entry.name} {command}")
    return found


def run_and_stop(
    arguments: Sequence[str],
    tmp_path: Path,
    *,
    when: float | str | Callable[[subprocess.Popen[str]], bool],
    signals: Sequence[int] = (signal.SIGINT,),
    gap: float = 0.05,
    environment: dict[str, str] | None = None,
) -> Ended:
    """``python -m tools.launch ARGUMENTS`` (what ``./dev`` runs), sent ``signals`` (``gap``
    seconds apart) once ``when`` holds: after so many seconds, once a line of its output matches
    that pattern, or once that function of the process returns True."""
    temporary = tmp_path / "tmp"
    temporary.mkdir()
    process = subprocess.Popen(
        [sys.executable, "-m", "tools.launch", *arguments],
        cwd=PROJECT_ROOT,
        env={**os.environ, **(environment or {}), "TMPDIR": str(temporary)},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    lines: queue.SimpleQueue[str | None] = queue.SimpleQueue()
    err: list[str] = []

    def read_out() -> None:
        for line in process.stdout:
            lines.put(line)
        lines.put(None)

    readers = [
        threading.Thread(target=read_out),
        threading.Thread(target=lambda: err.append(process.stderr.read())),
    ]
    for reader in readers:
        reader.start()
    out: list[str] = []
    try:
        _wait_for(when, process, lines, out)
        signalled = time.monotonic()
        for number, follower in enumerate(signals):
            if number:
                time.sleep(gap)
            if process.poll() is None:
                process.send_signal(follower)
        try:
            process.wait(STOP_BOUND_SECONDS)
        except subprocess.TimeoutExpired:
            pytest.fail(f"{arguments} did not stop within {STOP_BOUND_SECONDS} s of the signal")
        seconds = time.monotonic() - signalled
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
        for reader in readers:
            reader.join(10)
        process.stdout.close()
        process.stderr.close()
    while (line := lines.get()) is not None:
        out.append(line)
    time.sleep(0.2)  # a child that outlived it is still there
    return Ended(
        process.returncode,
        "".join(out),
        "".join(err),
        seconds,
        session_processes(process.pid),
        sorted(entry.name for entry in temporary.iterdir()),
    )


def _wait_for(
    when: float | str | Callable[[subprocess.Popen[str]], bool],
    process: subprocess.Popen[str],
    lines: queue.SimpleQueue[str | None],
    out: list[str],
) -> None:
    deadline = time.monotonic() + 120
    if isinstance(when, float | int):
        time.sleep(when)
        return
    while time.monotonic() < deadline:
        assert process.poll() is None, f"it ended before the moment came:\n{''.join(out)}"
        if callable(when):
            if when(process):
                return
            time.sleep(0.02)
            continue
        try:
            line = lines.get(timeout=0.2)
        except queue.Empty:
            continue
        assert line is not None, f"its output ended before a line matched {when!r}"
        out.append(line)
        if re.search(when, line):
            return
    pytest.fail(f"the moment {when!r} did not come within 120 s")


def assert_stopped_cleanly(ended: Ended, status: int, first_line: re.Pattern[str]) -> None:
    assert ended.status == status, (ended.status, ended.err)
    assert "Traceback" not in ended.err and "Traceback" not in ended.out, ended.err
    assert ended.err_lines and first_line.match(ended.err_lines[0]), ended.err
    assert ended.left_running == [], ended.left_running
    assert ended.left_in_tmp == [], ended.left_in_tmp


def port_is_free(port: int) -> bool:
    with socket.socket() as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def accepting(port: int) -> Callable[[subprocess.Popen[str]], bool]:
    """True once something listens on ``port`` (the sandbox binds its edge port first)."""

    def check(process: subprocess.Popen[str]) -> bool:
        with socket.socket() as probe:
            return probe.connect_ex(("127.0.0.1", port)) == 0

    return check


# Every command: a Ctrl-C while Python still imports it.


@pytest.mark.parametrize(
    ("number", "line"),
    [
        (signal.SIGINT, "interrupted (Ctrl-C) before the command started"),
        (signal.SIGTERM, "terminated (SIGTERM) before the command started"),
    ],
)
def test_a_signal_while_python_imports_the_command_is_one_line(tmp_path, number, line):
    (tmp_path / "slow_to_import.py").write_text("import time\ntime.sleep(60)\n", encoding="utf-8")
    ended = run_and_stop(
        ["slow_to_import"],
        tmp_path,
        when=1.0,
        signals=[number],
        environment={"PYTHONPATH": str(tmp_path)},
    )
    assert (ended.status, ended.err) == (128 + number, line + "\n")
    assert ended.left_running == []


# ./dev run (the drill).


def test_the_drill_stopped_during_start_up_by_sigterm(tmp_path):
    port = port_to_bind()
    ended = run_and_stop(
        ["sandbox", "drill", "--stack", "prod", "--port", str(port)],
        tmp_path,
        when=accepting(port),
        signals=[signal.SIGTERM],
    )
    assert_stopped_cleanly(ended, 143, TERMINATED)
    assert ended.err_lines == [ended.err_lines[0]]
    assert "drill: stack prod" not in ended.out  # stopped before the drill began
    assert port_is_free(port)


def test_the_drill_stopped_while_viewers_wait_out_connection_time_outs(tmp_path):
    """Phase 3 makes an origin unreachable: 32 viewers wait on connections that time out. The
    stop used to wait for all of them, then failed in its own clean-up with a traceback."""
    ended = run_and_stop(
        ["sandbox", "drill", "--stack", "prod"], tmp_path, when=r"^== phase 3: .* unreachable"
    )
    assert_stopped_cleanly(ended, 130, INTERRUPTED)
    assert ended.err_lines == [ended.err_lines[0]]
    assert "summary:" not in ended.out


# ./dev sandbox serve.


def serve_ports(out: str) -> list[int]:
    return [int(port) for port in re.findall(r"http://127\.0\.0\.1:(\d+)", out)]


def test_serve_stopped_during_start_up(tmp_path):
    port = port_to_bind()
    ended = run_and_stop(["sandbox", "serve", "--port", str(port)], tmp_path, when=accepting(port))
    assert_stopped_cleanly(ended, 130, INTERRUPTED)
    assert ended.err_lines == [ended.err_lines[0]]
    assert port_is_free(port)


def test_serve_stopped_twice_stops_at_once_and_still_leaves_nothing(tmp_path):
    """SIGTERM, then SIGTERM again while it cleans up: the second stops it at once (saying so);
    the temporary folders go even then, and the ports with the process."""
    ended = run_and_stop(
        ["sandbox", "serve", "--port", "0"],
        tmp_path,
        when=r"^Ctrl-C stops everything",
        signals=[signal.SIGTERM, signal.SIGTERM],
        gap=0.01,
    )
    assert_stopped_cleanly(ended, 143, TERMINATED)
    assert ended.err_lines[1:] in ([], ["SIGTERM again: stopped at once"]), ended.err
    # The banner said how to empty the edge caches, on a port of its own, free again too.
    assert "aws cloudfront create-invalidation --endpoint-url http://127.0.0.1:" in ended.out
    ports = serve_ports(ended.out)
    assert len(ports) >= 5  # the edge, an S3 emulator per origin, the invalidations at least
    assert all(port_is_free(port) for port in ports)


# ./dev publish.


@pytest.fixture(scope="module")
def s3():
    from benchmarks.publish import LatencyProxy

    server, endpoint = start_moto_server()
    # 50 ms a request, as a distant Region adds: the uploads take long enough to stop midway.
    proxy = LatencyProxy(int(endpoint.rsplit(":", 1)[1]), 0.05)
    yield endpoint, f"http://127.0.0.1:{proxy.port}"
    proxy.close()
    server.stop()


def new_bucket(endpoint: str, name: str) -> tuple[Any, Any]:
    """The bucket as moto holds it (to watch the upload from this process) and a client."""
    from moto.s3.models import s3_backends

    client = boto3.client(
        "s3",
        region_name="us-east-1",
        endpoint_url=endpoint,
        aws_access_key_id="a",
        aws_secret_access_key="b",
    )
    client.create_bucket(Bucket=name)
    return s3_backends[ACCOUNT]["aws"].buckets[name], client


def publish_arguments(folder: Path, slow_endpoint: str, bucket: str) -> list[str]:
    return [
        "tools.publish",
        str(folder),
        "--no-progress",
        "--concurrency",
        "2",
        "--endpoint-url",
        slow_endpoint,
        "--bucket",
        f"us-east-1={bucket}",
    ]


CREDENTIALS = {"AWS_ACCESS_KEY_ID": "a", "AWS_SECRET_ACCESS_KEY": "b"}


def test_publish_stopped_midway_cancels_what_is_not_sent_and_says_what_is_in_place(s3, tmp_path):
    """It used to let every upload finish before it said "interrupted"."""
    endpoint, slow = s3
    site = tmp_path / "site"
    site.mkdir()
    for number in range(300):
        (site / f"page{number:03}.html").write_text(f"<p>{number}</p>\n", encoding="utf-8")
    bucket, client = new_bucket(endpoint, "geo-signals-small")
    ended = run_and_stop(
        publish_arguments(site, slow, "geo-signals-small"),
        tmp_path,
        when=lambda process: len(bucket.keys) >= 5,
        environment=CREDENTIALS,
    )
    assert_stopped_cleanly(ended, 130, INTERRUPTED)
    in_place = client.list_objects_v2(Bucket="geo-signals-small").get("KeyCount", 0)
    assert in_place < 300
    assert ended.err_lines[1:] == [
        f"stopped: {in_place} of 300 objects in place, {300 - in_place} not done; no object is "
        "half-written (S3 stores one only once its upload completes) and no unfinished multipart "
        "upload is left; run the same command again to publish the rest (what is in place is "
        "skipped)"
    ]


def test_publish_stopped_during_a_multipart_upload_aborts_it(s3, tmp_path):
    endpoint, slow = s3
    site = tmp_path / "site"
    site.mkdir()
    (site / "video.bin").write_bytes(os.urandom(17 * 1024 * 1024))  # three parts
    bucket, client = new_bucket(endpoint, "geo-signals-large")
    ended = run_and_stop(
        publish_arguments(site, slow, "geo-signals-large"),
        tmp_path,
        when=lambda process: bool(bucket.multiparts),
        signals=[signal.SIGTERM],
        environment=CREDENTIALS,
    )
    assert_stopped_cleanly(ended, 143, TERMINATED)
    assert client.list_multipart_uploads(Bucket="geo-signals-large").get("Uploads", []) == []
    assert client.list_objects_v2(Bucket="geo-signals-large").get("KeyCount", 0) == 0
    assert ended.err_lines[1].startswith("stopped: 0 of 1 objects in place, 1 not done")


# ./dev bench.


def child_started(process: subprocess.Popen[str]) -> bool:
    """Whether ``process`` has started a child (./dev bench, its first benchmark)."""
    return len(session_processes(process.pid)) > 1


def running_threads(count: int, then: float) -> Callable[[subprocess.Popen[str]], bool]:
    """True ``then`` seconds after ``process`` first runs ``count`` threads."""
    seen: list[float] = []

    def check(process: subprocess.Popen[str]) -> bool:
        if not seen and len(list(Path(f"/proc/{process.pid}/task").iterdir())) >= count:
            seen.append(time.monotonic())
        return bool(seen) and time.monotonic() - seen[0] >= then

    return check


def test_bench_passes_sigterm_to_the_benchmark_running(tmp_path):
    """SIGTERM to ./dev bench alone (as a supervisor sends it) reaches the benchmark it runs,
    which stops, says so (or, still importing, says it stopped before it started) and cleans up;
    the others do not start."""
    ended = run_and_stop(["benchmarks"], tmp_path, when=child_started, signals=[signal.SIGTERM])
    assert ended.status == 143
    # Whichever moment of the child's start the signal met, one line says so.
    assert ended.err_lines in (
        ["terminated (SIGTERM): benchmarks.edge_function stopped as it started"],
        ["terminated (SIGTERM) before the command started"],
        ["terminated (SIGTERM): stopping the edge function benchmark; SIGTERM again stops at once"],
    ), ended.err
    assert (ended.left_running, ended.left_in_tmp) == ([], [])


def test_the_program_benchmark_stops_at_once(tmp_path):
    """A Ctrl-C raised inside Pulumi's event loop was reported by an asyncio callback, and the
    loop hung for ever. Sent a second after the program under mocks started (its thread)."""
    ended = run_and_stop(
        ["benchmarks.program", "--runs", "50"], tmp_path, when=running_threads(2, then=1.0)
    )
    assert_stopped_cleanly(ended, 130, INTERRUPTED)
    assert ended.err_lines == [
        "interrupted (Ctrl-C): stopping the program benchmark; Ctrl-C again stops at once"
    ]


# The mechanism, in this process.


def test_a_signal_during_a_shielded_clean_up_is_raised_when_it_ends():
    finished = []
    with stop_signals() as handlers, pytest.raises(Stopped) as stopped, shielded():
        signal.raise_signal(signal.SIGTERM)
        finished.append("the clean-up went on to its end")
    assert finished == ["the clean-up went on to its end"]
    assert (stopped.value.exit_status, handlers.received) == (143, signal.SIGTERM)


def test_run_command_ends_a_signalled_command_with_its_status_and_one_line(capfd):
    def command(argv):
        signal.raise_signal(signal.SIGINT)
        raise AssertionError("not reached: the signal stops the command")

    assert run_command(command, [], stopping="stopping the test") == 130
    assert capfd.readouterr().err == (
        "interrupted (Ctrl-C): stopping the test; Ctrl-C again stops at once\n"
    )


def test_a_stall_drill_stops_without_waiting_out_the_response_timeout():
    """The --stall phase: viewers wait on an origin that accepted their request and answers
    nothing, for S3's 30 s response timeout x 3 attempts. A stop now comes at once."""
    from sandbox.drill import _busiest_origins, ask_together
    from sandbox.regional_s3 import Fault
    from sandbox.stack import Sandbox

    settings = settings_from_stack_file("prod")
    requests = [(edge, "index.html") for edge in ("us-east-1", "us-east-2", "ca-central-1")]
    with Sandbox(settings) as sandbox:
        stalled = _busiest_origins(sandbox)[0]
        sandbox.emulators.regions[stalled].fault = Fault.STALLED
        main = threading.main_thread().ident
        timer = threading.Timer(0.5, signal.pthread_kill, (main, signal.SIGINT))
        with stop_signals():
            started = time.monotonic()
            timer.start()
            with pytest.raises(Stopped):
                ask_together(sandbox, requests, 3)
            waited = time.monotonic() - started
        timer.join()
    assert waited < 5, f"stopped {waited:.1f} s after the signal"
