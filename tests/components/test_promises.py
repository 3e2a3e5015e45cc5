"""A program that raises between promising an output and keeping it is reported, not waited for:
run by Pulumi's own ``run_pulumi_func`` (what ``pulumi up`` runs), with nothing of the test
harness's clean-up. Each case runs in a subprocess with a deadline, because the failure being
guarded against is a hang."""

import subprocess
import sys

from settings.table import PROJECT_ROOT

_PROGRAM = """
import sys
import pulumi
import pulumi_aws as aws
from components.promises import Promises

class Mocks(pulumi.runtime.Mocks):
    def new_resource(self, args):
        return f"{args.name}-id", dict(args.inputs)
    def call(self, args):
        return {}, []

pulumi.runtime.set_mocks(Mocks(), project="p", stack="s", preview=False)

@pulumi.runtime.test
def program():
    with Promises() as promises:
        name, keep_name = promises.promise() if sys.argv[1] == "promises" else (None, None)
        if name is None:
            name, keep_name = pulumi.deferred_output()
        aws.sns.Topic("waits", name=name)
        if sys.argv[2] == "raises":
            print("raising", flush=True)
            raise TypeError("an input this provider does not have")
        keep_name(pulumi.Output.from_input("kept"))

try:
    program()
    print("built")
except TypeError as error:
    print(f"reported: {error}")
"""


def run(*arguments: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-W", "ignore", "-c", _PROGRAM, *arguments],
        capture_output=True,
        check=False,
        text=True,
        cwd=PROJECT_ROOT,
        timeout=120,
    )


def test_an_error_before_a_promise_is_kept_is_the_programs_error():
    completed = run("promises", "raises")
    assert completed.stdout.split() == [
        "raising",
        "reported:",
        "an",
        "input",
        "this",
        "provider",
        "does",
        "not",
        "have",
    ]


def test_a_kept_promise_builds():
    completed = run("promises", "keeps")
    assert completed.stdout.strip() == "built", completed.stderr


def test_a_bare_deferred_output_left_unkept_is_waited_for_forever():
    """What Promises is for: the same program with pulumi.deferred_output() raises, and is still
    waiting for the promise 20 s later."""
    try:
        completed = subprocess.run(
            [sys.executable, "-W", "ignore", "-c", _PROGRAM, "bare", "raises"],
            capture_output=True,
            check=False,
            text=True,
            cwd=PROJECT_ROOT,
            timeout=20,
        )
    except subprocess.TimeoutExpired as waiting:
        output = waiting.stdout or b""
        assert "raising" in (output.decode() if isinstance(output, bytes) else output)
        return
    raise AssertionError(f"ended: {completed.stdout!r} {completed.stderr[-300:]!r}")
