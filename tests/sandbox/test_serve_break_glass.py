"""`./dev sandbox serve` prints break-glass commands that work as printed: pasted into another
shell, evacuate takes the Region out (the edge stops sending there), status shows it, restore brings
it back. Run as a person would: serve in one process, the commands in others."""

import http.client
import os
import shlex
import signal
import subprocess
import sys
import threading
import time

import pytest

from sandbox.__main__ import wait_for_a_stop_signal
from settings.table import PROJECT_ROOT
from tools.interrupt import Stopped, stop_signals


def served_by(port, edge, key):
    deadline = time.monotonic() + 30
    while True:
        try:
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
            connection.request("GET", f"/{key}", headers={"X-Edge-Region": edge})
            response = connection.getresponse()
            response.read()
            connection.close()
            return response.status, response.getheader("X-Served-By-Region")
        except ConnectionRefusedError:
            assert time.monotonic() < deadline
            time.sleep(0.1)


def run_printed(line, environment):
    """A printed `./dev <command> ...` line, run as the dev script runs it."""
    words = shlex.split(line)
    assert words[0] == "./dev"
    return subprocess.run(
        [sys.executable, "-m", "tools.rotation", *words[1:]],
        cwd=PROJECT_ROOT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@pytest.mark.slow(
    reason="serve in one process and the commands it prints, pasted, in others, as a person "
    "runs them: each a fresh interpreter reading the printed outputs file and endpoints"
)
@pytest.mark.parametrize(
    ("stack", "region", "edge", "another_edge"),
    [
        ("dev", "eu-west-1", "eu-west-2", "eu-west-1"),
        ("prod", "ap-northeast-1", "ap-northeast-2", "ap-southeast-1"),
    ],
)
def test_the_printed_commands_take_a_region_out_and_bring_it_back(
    stack, region, edge, another_edge
):
    environment = {
        **{k: v for k, v in os.environ.items() if not k.startswith("AWS_")},
        "AWS_CONFIG_FILE": os.devnull,
        "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
    }
    process = subprocess.Popen(
        # Port 0: the system gives serve a free port when it binds; serve prints the one it has.
        [sys.executable, "-m", "sandbox", "serve", "--stack", stack, "--port", "0"],
        cwd=PROJECT_ROOT,
        env=environment,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        startup = [process.stdout.readline()]
        assert startup[0].startswith("edge: http://127.0.0.1:"), startup
        port = int(startup[0].split()[1].rsplit(":", 1)[1])
        while not startup[-1].startswith("Ctrl-C stops everything"):
            startup.append(process.stdout.readline())
            assert startup[-1], "serve stopped before its start-up text was complete"
        printed = {
            line.split()[1]: line.strip()
            for line in startup
            if line.strip().startswith(("./dev evacuate", "./dev status", "./dev restore"))
        }
        assert set(printed) == {"evacuate", "status", "restore"}, startup
        assert "  export AWS_ACCESS_KEY_ID=sandbox AWS_SECRET_ACCESS_KEY=sandbox\n" in startup
        assert f"./dev evacuate {region} --stack {stack} --outputs " in printed["evacuate"]
        with_credentials = {
            **environment,
            "AWS_ACCESS_KEY_ID": "sandbox",
            "AWS_SECRET_ACCESS_KEY": "sandbox",
        }
        assert served_by(port, edge, "index.html") == (200, region)

        evacuated = run_printed(printed["evacuate"], with_credentials)
        assert evacuated.returncode == 0, evacuated.stderr
        assert evacuated.stdout.startswith(f"{region} evacuated: out of rotation since ")
        time.sleep(1)  # the Lambda@Edge container's refresh, scaled down: 0.375 s
        status, server = served_by(port, edge, "assets/where.json")
        assert status == 200 and server != region

        shown = run_printed(printed["status"], with_credentials)
        assert shown.returncode == 0, shown.stderr
        assert "evacuated since " in shown.stdout and "trying the sandbox" in shown.stdout

        restored = run_printed(printed["restore"], with_credentials)
        assert restored.returncode == 0, restored.stderr
        assert restored.stdout.startswith(f"{region} restored: back in rotation")
        time.sleep(1)
        # An edge Region whose copy is not cached yet: served by the Region again.
        assert served_by(port, another_edge, "index.html") == (200, region)
        process.send_signal(signal.SIGINT)
        _, err = process.communicate(timeout=60)
    finally:
        with process:  # its pipes closed and the process reaped, however the test ended
            process.kill()
    assert process.returncode == 130, err
    assert "Traceback" not in err and "interrupted (Ctrl-C): stopping the sandbox's" in err


def test_a_stop_signal_another_thread_receives_still_stops_serve():
    """The kernel may hand Ctrl-C to any thread; Python runs the handler in the main thread only
    when that thread gets back to running Python code."""
    returned = threading.Event()

    def signal_from_another_thread():
        time.sleep(0.5)  # serve's wait has begun
        signal.pthread_kill(threading.get_ident(), signal.SIGINT)
        # A wait that never looks up again returns only on a signal the main thread gets: sent
        # after 5 s, so that such a wait fails this test instead of hanging it.
        if not returned.wait(5):
            signal.pthread_kill(threading.main_thread().ident, signal.SIGTERM)

    other = threading.Thread(target=signal_from_another_thread, daemon=True)
    started = time.monotonic()
    with stop_signals() as handlers:
        other.start()
        try:
            with pytest.raises(Stopped):
                wait_for_a_stop_signal()
            elapsed = time.monotonic() - started
        finally:
            returned.set()
            other.join()
    assert handlers.received == signal.SIGINT
    assert elapsed < 2, f"serve stopped {elapsed:.1f} s after the signal, not at once"


def test_a_health_object_deleted_with_the_cli_takes_nothing_out_and_raises_the_alarms():
    """What a person does with `aws s3 rm s3://<bucket>/.well-known/geo-proximity/health
    --endpoint-url ...` against every bucket serve prints (one delete, through a mesh that
    replicates delete markers): serve's evacuators say so and raise each origin's alarm, and no
    Region is taken out."""
    import boto3

    environment = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    process = subprocess.Popen(
        # Port 0: the system gives serve a free port when it binds.
        [sys.executable, "-m", "sandbox", "serve", "--stack", "prod", "--port", "0"],
        cwd=PROJECT_ROOT,
        env={
            **environment,
            "AWS_CONFIG_FILE": os.devnull,
            "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
        },
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    lines: list[str] = []
    reader = threading.Thread(target=lambda: lines.extend(iter(process.stdout.readline, "")))
    reader.start()
    try:
        deadline = time.monotonic() + 60
        while not any(line.startswith("Ctrl-C stops everything") for line in list(lines)):
            assert time.monotonic() < deadline and process.poll() is None, lines
            time.sleep(0.1)
        buckets = {}
        for line in list(lines):
            if line.startswith("S3 "):  # S3 <region>: <endpoint>  bucket <name>
                words = line.split()
                buckets[words[1].rstrip(":")] = (words[2], words[4])
        assert len(buckets) == 3
        for region, (endpoint, bucket) in buckets.items():
            s3 = boto3.client(
                "s3",
                region_name=region,
                endpoint_url=endpoint,
                aws_access_key_id="sandbox",
                aws_secret_access_key="sandbox",
            )
            s3.delete_object(Bucket=bucket, Key=".well-known/geo-proximity/health")
        wanted = {f"alarm health-object-{region} raised" for region in buckets}
        # Each vantage Region says it of each origin: the probe's answer, 403 AccessDenied (each in
        # its own rounds, so some may say it after the alarms are raised).
        expected_told = {
            (f"{vantage}:", bucket)
            for vantage in ("us-east-1", "eu-west-1", "ap-northeast-1")
            for _, bucket in buckets.values()
        }

        def told() -> set[tuple[str, str]]:
            return {
                (line.split()[1], line.split()[5].split("/")[2])
                for line in list(lines)
                if "cannot be read (answers: AccessDenied" in line
            }

        while not (
            all(any(w in line for line in list(lines)) for w in wanted) and told() >= expected_told
        ):
            assert time.monotonic() < deadline + 30, [line for line in lines if "evacuator" in line]
            time.sleep(0.2)
        assert told() == expected_told
        assert not [line for line in list(lines) if " evacuated: out of rotation" in line]
        process.send_signal(signal.SIGINT)
        process.wait(timeout=60)
    finally:
        with process:
            process.kill()
        reader.join(timeout=10)
    assert process.returncode == 130  # stopped by Ctrl-C (SIGINT), as a shell reports it
