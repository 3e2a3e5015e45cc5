"""The sandbox under what a person can throw at it: request lines no HTTP client should send, asset
folders with things in them that are not files, a stack with every Region as an origin, a stall
that outlasts its clients, and a clean-up after more than a page of objects."""

from __future__ import annotations

import gc
import os
import socket
import threading
import time
from pathlib import Path

import pytest

from routing.catalogue import load_catalogue
from sandbox.drill import ask
from sandbox.regional_s3 import Fault, RegionalS3, S3Emulators
from sandbox.stack import Sandbox
from settings.parser import Settings, parse_settings
from settings.stack_file import settings_from_stack_file
from tools.cli import ToolError


def raw_request(port: int, request: bytes) -> bytes:
    """What the edge sends back for ``request``, read until it closes or 5 s pass."""
    with socket.create_connection(("127.0.0.1", port), timeout=5) as connection:
        connection.sendall(request)
        received = b""
        try:
            while chunk := connection.recv(65536):
                received += chunk
                if b"\r\n\r\n" in received and b"Connection: close" not in received:
                    break
        except TimeoutError:
            pass
    return received


@pytest.fixture(scope="module")
def prod():
    with Sandbox(settings_from_stack_file("prod")) as sandbox:
        yield sandbox


@pytest.mark.parametrize(
    ("request_line", "reason"),
    [
        (b"GET /caf\xc3\xa9.html HTTP/1.1", b"the request target holds the byte 0xc3"),
        (b"GET /\xff\xfe HTTP/1.1", b"the request target holds the byte 0xff"),
        (b"GET /index\x01.html HTTP/1.1", b"the request target holds the byte 0x01"),
    ],
)
def test_a_request_target_that_is_not_ascii_is_a_400_and_one_log_line(
    prod, capfd, request_line, reason
):
    lines: list[str] = []
    prod.log_requests(lines.append)
    try:
        answer = raw_request(prod.port, request_line + b"\r\nHost: edge\r\n\r\n")
    finally:
        prod.log_requests(lambda line: None)
    assert answer.startswith(b"HTTP/1.1 400 Bad Request\r\n"), answer
    assert reason in answer and b"percent-encoded (RFC 3986)" in answer
    # Logged with the bytes escaped, and nothing on stderr (no traceback from the handler).
    assert len(lines) == 1 and ": 400 from -, error" in lines[0]
    assert "\\x" in lines[0]
    assert capfd.readouterr().err == ""


@pytest.mark.parametrize("length", [b"abc", b"-5", b"1e3"])
def test_a_content_length_that_is_no_number_is_a_400_that_closes_the_connection(
    prod, capfd, length
):
    answer = raw_request(
        prod.port,
        b"GET /index.html HTTP/1.1\r\nHost: edge\r\nContent-Length: " + length + b"\r\n\r\n",
    )
    assert answer.startswith(b"HTTP/1.1 400 Bad Request\r\n"), answer
    assert b"Connection: close" in answer and b"is not a number of bytes" in answer
    assert capfd.readouterr().err == ""


def test_a_request_that_percent_encodes_its_bytes_is_served(prod):
    # The same bytes as the refused request above, encoded as a client sends them.
    answer = ask(prod, "us-east-1", "index.html")
    assert answer.status == 200
    assert raw_request(prod.port, b"GET /caf%C3%A9.html HTTP/1.1\r\nHost: e\r\n\r\n").startswith(
        b"HTTP/1.1 404"
    )


def other_stack() -> Settings:
    """Another stack than the module's sandbox (moto holds one bucket per name per process)."""
    return parse_settings({"origins": '["us-east-1", "eu-west-1"]'}, stack="assets")


def test_assets_that_are_not_files_are_skipped_one_line_each(tmp_path, capsys):
    """A FIFO, a socket, a device, a link to nothing and a name that is not UTF-8 cannot be
    objects: each is skipped with a line naming it and why (as aws s3 sync and rsync skip them),
    and the files beside them are served."""
    site = tmp_path / "site"
    (site / "sub").mkdir(parents=True)
    (site / "index.html").write_text("<h1>here</h1>\n", encoding="utf-8")
    os.mkfifo(site / "pipe")
    listening = socket.socket(socket.AF_UNIX)
    listening.bind(str(site / "sub" / "socket"))
    (site / "zero").symlink_to("/dev/zero")  # hashed, it would be read for ever
    (site / "gone").symlink_to(site / "nothing-here")
    (site / os.fsdecode(b"caf\xe9.html")).write_bytes(b"latin-1 name")
    try:
        with Sandbox(other_stack(), assets=site) as sandbox:
            assert sandbox.keys == ["index.html"]
            assert ask(sandbox, "eu-west-1", "index.html").body == b"<h1>here</h1>\n"
    finally:
        listening.close()
    err = capsys.readouterr().err.splitlines()
    assert sorted(err) == sorted(
        [
            f"skipped {site}/caf\\xe9.html: its name is not UTF-8, which S3 object keys are",
            f"skipped {site}/gone: a symbolic link to nothing",
            f"skipped {site}/pipe: a FIFO, not a regular file",
            f"skipped {site}/sub/socket: a socket, not a regular file",
            f"skipped {site}/zero: a device, not a regular file",
        ]
    )


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads a file whatever its mode")
def test_an_unreadable_asset_is_skipped_with_a_line(tmp_path, capsys):
    site = tmp_path / "site"
    site.mkdir()
    (site / "index.html").write_text("ok\n", encoding="utf-8")
    secret = site / "secret.html"
    secret.write_text("no\n", encoding="utf-8")
    secret.chmod(0)
    with Sandbox(other_stack(), assets=site) as sandbox:
        assert sandbox.keys == ["index.html"]
    assert capsys.readouterr().err == (f"skipped {secret}: cannot be read (permission denied)\n")


def test_assets_with_nothing_to_serve_are_one_line(tmp_path):
    site = tmp_path / "site"
    site.mkdir()
    os.mkfifo(site / "pipe")
    with pytest.raises(ToolError, match=r"--assets .*: the folder holds no files to serve"):
        Sandbox(other_stack(), assets=site)


DESCRIPTORS = Path("/proc/self/fd")


def open_descriptors() -> int:
    gc.collect()  # what nothing holds any more is closed, not counted
    return len(list(DESCRIPTORS.iterdir()))


@pytest.mark.slow(reason="starts an emulator and an evacuator per catalogue Region")
@pytest.mark.skipif(not DESCRIPTORS.is_dir(), reason="counts descriptors in /proc")
def test_every_region_as_an_origin_runs_within_a_few_hundred_descriptors():
    """Every catalogue Region an origin (CloudFront Functions: Regions launched after 2022
    included), with its evacuator probing all of them from three vantage Regions. This ran out
    of descriptors at 1,024 and hung: every S3 request queued on one lock of moto's dispatcher,
    a thread and a socket each. macOS gives a process 256 by default."""
    regions = list(load_catalogue())
    settings = parse_settings(
        {
            "engine": "cloudfront-functions",
            "origins": "[" + ", ".join(f'"{region}"' for region in regions) + "]",
        },
        stack="every-region",
    )
    before = open_descriptors()
    with Sandbox(settings, evacuating=True) as sandbox:
        peak = open_descriptors()
        for edge in ("us-east-1", "eu-west-1", "ap-southeast-2", "sa-east-1"):
            answer = ask(sandbox, edge, "index.html")
            assert answer.status == 200, (edge, answer)
            peak = max(peak, open_descriptors())
        # A few evacuator rounds (every 0.5 s), all 34 origins from three vantage Regions.
        deadline = time.monotonic() + 2
        while time.monotonic() < deadline:
            peak = max(peak, open_descriptors())
            time.sleep(0.05)
    assert peak - before < 256 - 16, f"{peak - before} descriptors for {len(regions)} origins"
    # None per origin stays open; V8's own event loop, started once per process, does.
    assert open_descriptors() < before + 16


def request_threads() -> int:
    """Threads answering a request, in any of this process's servers."""
    return sum(
        1
        for thread in threading.enumerate()
        if "process_request_thread" in thread.name and thread.is_alive()
    )


def test_a_stalled_request_ends_when_its_client_gives_up():
    """A stalled origin holds each request until the stall ends; a client that gave up (a probe's
    time-out) leaves nobody to answer, so its thread and socket go. Kept for the stall's length,
    the evacuator's probes piled them up by the thousand (one every half second per vantage)."""
    with S3Emulators({"eu-west-1": "geo-stall-test"}) as emulators:
        emulator: RegionalS3 = emulators.regions["eu-west-1"]
        before = request_threads()
        emulator.fault = Fault.STALLED
        try:
            for _ in range(5):
                with socket.create_connection(("127.0.0.1", emulator.port), timeout=0.2) as probe:
                    probe.sendall(b"GET /geo-stall-test/health HTTP/1.1\r\nHost: s3\r\n\r\n")
                    with pytest.raises(TimeoutError):
                        probe.recv(1)
            deadline = time.monotonic() + 5
            while request_threads() > before and time.monotonic() < deadline:
                time.sleep(0.05)
            assert request_threads() == before
        finally:
            emulator.fault = None


def test_the_sandbox_stops_cleanly_after_more_than_a_page_of_objects():
    """More than 1,000 objects (a listing's page) in a bucket: the clean-up used to list and
    delete them through the emulator and left the bucket behind (BucketNotEmpty, a traceback)."""
    from moto.core.models import DEFAULT_ACCOUNT_ID
    from moto.s3.models import s3_backends

    backend = s3_backends[DEFAULT_ACCOUNT_ID]["aws"]
    buckets = {"eu-west-1": "geo-many-objects-test"}
    with S3Emulators(buckets):
        for number in range(1_005):
            backend.put_object("geo-many-objects-test", f"k/{number:05}", b"x")
        emulators_bucket = backend.buckets["geo-many-objects-test"]
        assert len(emulators_bucket.keys) == 1_005
    assert "geo-many-objects-test" not in backend.buckets
    # The same stack's sandbox can start again in this process.
    with S3Emulators(buckets) as again:
        assert (
            again.client("eu-west-1").list_objects_v2(Bucket=buckets["eu-west-1"])["KeyCount"] == 0
        )
