"""Inputs that grew without bound, run as ./dev in a process whose address space is capped
(support.MEMORY_LIMIT_BYTES): each ends in one line, well inside the cap, where it once took
gigabytes (a 1 KB "billion laughs" 5.9 GB; latencyFile: /dev/zero 22 GB before the kernel killed
it) and ended, under a cap, in a MemoryError's traceback."""

from __future__ import annotations

import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from settings.table import PROJECT_ROOT
from tests.inputs.support import assert_one_line_refusal, run_dev
from tests.inputs.test_stack_files import laughs

ORIGINS = "  geo-proximity:origins: [us-east-1, eu-central-1]\n"


@pytest.fixture
def stack_name() -> Iterator[str]:
    """An untracked stack file in the project, removed afterwards (stack files are the
    project's: no flag points elsewhere)."""
    name = f"zz-inputs-{uuid.uuid4().hex[:8]}"
    yield name
    (PROJECT_ROOT / f"Pulumi.{name}.yaml").unlink(missing_ok=True)


def stack_path(name: str) -> Path:
    return PROJECT_ROOT / f"Pulumi.{name}.yaml"


def test_a_billion_laughs_stack_file(stack_name, tmp_path):
    stack_path(stack_name).write_text(laughs(), encoding="utf-8")
    done = run_dev(["plan", "--stack", stack_name], cwd=tmp_path)
    assert_one_line_refusal(done.status, done.err, f"Pulumi.{stack_name}.yaml:", "aliases")


def test_a_latency_file_that_never_ends(stack_name, tmp_path):
    stack_path(stack_name).write_text(
        f"config:\n{ORIGINS}  geo-proximity:routingMetric: latency\n"
        "  geo-proximity:latencyFile: /dev/zero\n",
        encoding="utf-8",
    )
    done = run_dev(["plan", "--stack", stack_name], cwd=tmp_path)
    assert_one_line_refusal(done.status, done.err, "geo-proximity:latencyFile: /dev/zero")


def test_a_stack_file_that_never_ends(stack_name, tmp_path):
    stack_path(stack_name).symlink_to("/dev/zero")
    done = run_dev(["latency", "show", "--stack", stack_name], cwd=tmp_path)
    assert_one_line_refusal(done.status, done.err, f"Pulumi.{stack_name}.yaml", "device")


def test_outputs_on_standard_input_that_never_end(tmp_path):
    with Path("/dev/zero").open("rb") as zeros:
        done = run_dev(
            ["status", "--stack", "prod", "--outputs", "-"], cwd=tmp_path, stdin=zeros.fileno()
        )
    assert_one_line_refusal(done.status, done.err, "standard input", "1 MiB")


def test_a_snapshot_file_that_never_ends(tmp_path):
    done = run_dev(["latency", "show", "--file", "/dev/zero"], cwd=tmp_path)
    assert_one_line_refusal(done.status, done.err, "/dev/zero")


def test_the_memory_cap_does_catch_an_unbounded_read(tmp_path):
    # The cap is what makes the tests above meaningful: a read of /dev/zero without a bound,
    # under it, ends in a MemoryError well before it could take the machine's memory.
    from tests.inputs.support import MEMORY_LIMIT_BYTES

    done = subprocess.run(
        [
            sys.executable,
            "-c",
            "import resource, sys; "
            f"resource.setrlimit(resource.RLIMIT_AS, ({MEMORY_LIMIT_BYTES}, {MEMORY_LIMIT_BYTES}));"
            " open('/dev/zero', 'rb').read()",
        ],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode != 0 and "MemoryError" in done.stderr
