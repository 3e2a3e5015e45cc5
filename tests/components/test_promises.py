"""A program that raises between promising an output and keeping it is reported, not waited for:
run by Pulumi's own ``run_pulumi_func`` (what ``pulumi up`` runs), with nothing of the test
harness's clean-up. Each case runs in a subprocess with a deadline, because the failure being
guarded against is a hang."""

import subprocess
import sys

import pytest

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


@pytest.mark.slow(
    reason="waits 20 s of real time: a hang, the failure Promises prevents, shows only by waiting"
)
def test_a_bare_deferred_output_left_unkept_is_waited_for_forever():
    """What Promises is for: the same program with pulumi.deferred_output() raises, and is still
    waiting for the promise 20 s later."""
    with subprocess.Popen(
        [sys.executable, "-W", "ignore", "-c", _PROGRAM, "bare", "raises"],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        cwd=PROJECT_ROOT,
    ) as process:
        try:
            # The 20 s count from the error, however long the imports take on a busy machine.
            assert process.stdout is not None
            assert process.stdout.readline() == "raising\n"
            with pytest.raises(subprocess.TimeoutExpired):
                process.wait(timeout=20)
        finally:
            process.kill()
