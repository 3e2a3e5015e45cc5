"""Benchmark publishing and drift against an S3 emulator, next to the AWS CLI's `aws s3 sync`.

    .venv/bin/python -m benchmarks.publish [--files 2000] [--drift-objects 20000] [--runs 1]
    (./dev bench runs it)

Both tools upload the same files to fresh buckets of the same emulator (moto's server on loopback),
first with no added latency, then through a proxy that holds every request 50 ms, as a distant S3
Region would; each run is timed as a whole command (interpreter start included), first into an empty
bucket, then again with nothing changed. The AWS CLI is installed from PyPI (``awscli``) into
``.bench/awscli`` on first use, apart from the project's own environment. Prints figures; asserts
nothing.
"""

from __future__ import annotations

import argparse
import functools
import logging
import os
import random
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager, suppress
from pathlib import Path

import boto3
from moto.s3.models import s3_backends
from moto.server import ThreadedMotoServer

from settings.table import PROJECT_ROOT
from tools.cli import run_command

AWSCLI_HOME = PROJECT_ROOT / ".bench" / "awscli"
ACCOUNT = "123456789012"
REGION = "us-east-1"
ADDED_LATENCY_S = 0.05
ENVIRONMENT = {
    **os.environ,
    "AWS_ACCESS_KEY_ID": "bench",
    "AWS_SECRET_ACCESS_KEY": "bench",
    "AWS_DEFAULT_REGION": REGION,
    "AWS_CONFIG_FILE": os.devnull,
    "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
}


class LatencyProxy:
    """A TCP proxy on loopback that holds each request ``delay`` seconds before passing it on: the
    first bytes a client sends after an answer (or on a new connection) are a new request."""

    def __init__(self, upstream_port: int, delay: float) -> None:
        self.upstream_port = upstream_port
        self.delay = delay
        self._server = socket.create_server(("127.0.0.1", 0))
        self.port = self._server.getsockname()[1]
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self._server.accept()
            except OSError:
                return
            upstream = socket.create_connection(("127.0.0.1", self.upstream_port))
            waiting = threading.Event()
            waiting.set()
            threading.Thread(
                target=self._pipe, args=(client, upstream, waiting, True), daemon=True
            ).start()
            threading.Thread(
                target=self._pipe, args=(upstream, client, waiting, False), daemon=True
            ).start()

    def _pipe(
        self, source: socket.socket, target: socket.socket, waiting: threading.Event, request: bool
    ) -> None:
        try:
            while chunk := source.recv(65536):
                if request and waiting.is_set():
                    time.sleep(self.delay)
                    waiting.clear()
                elif not request:
                    waiting.set()
                target.sendall(chunk)
        except OSError:
            pass
        finally:
            for end in (source, target):
                with suppress(OSError):
                    end.shutdown(socket.SHUT_RDWR)
            # Each socket is the source of exactly one pipe, which closes it.
            source.close()

    def close(self) -> None:
        self._server.close()


def aws_cli() -> Path | None:
    """The AWS CLI of .bench/awscli, installed from PyPI the first time; None if that fails."""
    executable = AWSCLI_HOME / "bin" / "aws"
    if executable.exists():
        return executable
    print(f"installing the AWS CLI (awscli from PyPI) into {AWSCLI_HOME}, once", file=sys.stderr)
    try:
        subprocess.run([sys.executable, "-m", "venv", str(AWSCLI_HOME)], check=True)
        subprocess.run(
            [str(AWSCLI_HOME / "bin" / "python"), "-m", "pip", "install", "-q", "awscli"],
            check=True,
        )
    except (OSError, subprocess.CalledProcessError) as error:
        print(f"the AWS CLI could not be installed ({error}); no comparison", file=sys.stderr)
        return None
    return executable


def make_files(folder: Path, count: int) -> int:
    """``count`` files of 0.5-8 KB in 20 folders, the same bytes on every run; their total size."""
    rng = random.Random(7)
    total = 0
    for number in range(count):
        path = folder / f"dir{number % 20:02}" / f"file{number:05}.txt"
        path.parent.mkdir(parents=True, exist_ok=True)
        data = rng.randbytes(rng.randint(512, 8192))
        path.write_bytes(data)
        total += len(data)
    return total


def new_bucket(port: int) -> str:
    name = f"bench-{uuid.uuid4().hex[:12]}"
    boto3.client(
        "s3",
        region_name=REGION,
        endpoint_url=f"http://127.0.0.1:{port}",
        aws_access_key_id="bench",
        aws_secret_access_key="bench",
    ).create_bucket(Bucket=name)
    return name


def timed(command: list[str]) -> float:
    begun = time.perf_counter()
    finished = subprocess.run(
        command,
        check=False,
        env=ENVIRONMENT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    if finished.returncode != 0:
        raise SystemExit(f"{' '.join(command[:4])} failed: {finished.stderr.strip()[-500:]}")
    return time.perf_counter() - begun


@contextmanager
def endpoint(port: int, latency: float) -> Iterator[str]:
    if not latency:
        yield f"http://127.0.0.1:{port}"
        return
    proxy = LatencyProxy(port, latency)
    try:
        yield f"http://127.0.0.1:{proxy.port}"
    finally:
        proxy.close()


def publish_command(folder: Path, url: str, bucket: str) -> list[str]:
    return [
        sys.executable,
        "-m",
        "tools.publish",
        str(folder),
        "--no-progress",
        "--endpoint-url",
        url,
        "--bucket",
        f"{REGION}={bucket}",
    ]


def sync_command(cli: Path, folder: Path, url: str, bucket: str) -> list[str]:
    return [
        str(cli),
        "s3",
        "sync",
        str(folder),
        f"s3://{bucket}",
        "--only-show-errors",
        "--endpoint-url",
        url,
    ]


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=2000)
    parser.add_argument("--drift-objects", type=int, default=20_000)
    parser.add_argument("--runs", type=int, default=1)
    parser.add_argument(
        "--without-aws-cli", action="store_true", help="time ./dev publish alone (no install)"
    )
    options = parser.parse_args(argv)
    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    port = server.get_host_and_port()[1]
    cli = None if options.without_aws_cli else aws_cli()
    try:
        with tempfile.TemporaryDirectory() as directory:
            folder = Path(directory)
            size = make_files(folder, options.files)
            print(
                f"publish {options.files:,} files ({size / 1e6:.1f} MB, 0.5-8 KB each) to an S3 "
                f"emulator on loopback; median of {options.runs} run(s), whole commands"
            )
            print(f"  {'added latency':<15}{'tool':<26}{'first run':>10}{'no change':>11}")
            for latency in (0.0, ADDED_LATENCY_S):
                with endpoint(port, latency) as url:
                    tools: dict[str, Callable[[str], list[str]]] = {
                        "./dev publish": functools.partial(publish_command, folder, url)
                    }
                    if cli is not None:
                        tools["aws s3 sync"] = functools.partial(sync_command, cli, folder, url)
                    for name, command in tools.items():
                        first, again = [], []
                        for _ in range(options.runs):
                            bucket = new_bucket(port)
                            first.append(timed(command(bucket)))
                            again.append(timed(command(bucket)))
                        print(
                            f"  {f'{latency * 1000:.0f} ms':<15}{name:<26}"
                            f"{statistics.median(first):>9.2f}s{statistics.median(again):>10.2f}s"
                        )
            drift_benchmark(port, options.drift_objects)
    finally:
        server.stop()
    return 0


def drift_benchmark(port: int, objects: int) -> None:
    """Drift over ``objects`` keys in each of three buckets, which agree: objects per second."""
    backend = s3_backends[ACCOUNT]["aws"]
    buckets = [new_bucket(port) for _ in range(3)]
    for bucket in buckets:
        for number in range(objects):
            backend.put_object(bucket, f"k/{number:06}", b"x" * (number % 64))
    for latency in (0.0, ADDED_LATENCY_S):
        with endpoint(port, latency) as url:
            # Three buckets in one Region: the tool takes Region=NAME, so each gets a Region of
            # its own name here, served by the one endpoint.
            regions = ["us-east-1", "eu-west-1", "ap-northeast-1"]
            command = [sys.executable, "-m", "tools.drift", "--endpoint-url", url]
            for region, bucket in zip(regions, buckets, strict=True):
                command += ["--bucket", f"{region}={bucket}"]
            seconds = timed(command)
        total = objects * len(buckets)
        print(
            f"drift: {total:,} objects in 3 buckets listed and compared in {seconds:.2f} s, "
            f"{total / seconds:,.0f} objects/s ({latency * 1000:.0f} ms added per request)"
        )


if __name__ == "__main__":
    sys.exit(
        run_command(
            main, stopping="stopping the publish benchmark, its emulator and the command it times"
        )
    )
