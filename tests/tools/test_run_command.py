"""run_command: what goes wrong outside a tool's own logic ends in one line, not a traceback."""

import errno
import os
import subprocess
import sys
from pathlib import Path

import pytest

from settings.table import PROJECT_ROOT
from tools.cli import EXIT_OUTPUT_FAILED, run_command

FULL = "error: cannot write the output: No space left on device\n"
DEV_FULL = Path("/dev/full")
needs_dev_full = pytest.mark.skipif(not DEV_FULL.exists(), reason="no /dev/full on this system")


def run_into_full_device(arguments: list[str], *, unbuffered: str) -> subprocess.CompletedProcess:
    """``python -m ARGUMENTS > /dev/full``: every write to stdout fails with ENOSPC."""
    with DEV_FULL.open("w", encoding="utf-8") as full:
        return subprocess.run(
            [sys.executable, "-m", *arguments],
            cwd=PROJECT_ROOT,
            stdout=full,
            stderr=subprocess.PIPE,
            text=True,
            env={**os.environ, "PYTHONUNBUFFERED": unbuffered},
            timeout=120,
            check=False,
        )


@needs_dev_full
@pytest.mark.parametrize("unbuffered", ["1", ""])
@pytest.mark.parametrize(
    "command",
    [
        ["tools.plan"],  # more than a buffer's worth of lines
        ["tools.plan", "--json"],  # one large write
        ["tools.plan", "--help"],  # argparse's exit
        ["tools.publish", "--help"],
        ["tools.drift", "--help"],
        ["sandbox", "--help"],
    ],
)
def test_output_to_a_full_device_is_one_line_and_status_1(command, unbuffered):
    done = run_into_full_device(command, unbuffered=unbuffered)
    assert (done.returncode, done.stderr) == (EXIT_OUTPUT_FAILED, FULL)


@needs_dev_full
def test_a_short_output_that_fails_only_when_flushed_is_reported_too(tmp_path):
    # One line stays in the buffer until the end: the failure comes from the final flush.
    page = tmp_path / "map.html"
    done = run_into_full_device(["tools.plan", "--html", str(page)], unbuffered="")
    assert (done.returncode, done.stderr) == (EXIT_OUTPUT_FAILED, FULL)
    assert page.exists()


class FailingOutput:
    def __init__(self, error: OSError):
        self.error = error

    def write(self, text: str) -> int:
        raise self.error

    def flush(self) -> None:
        pass


def test_an_output_error_in_process_is_one_line(capsys, monkeypatch):
    def main(argv):
        print("a line")
        return 0

    with monkeypatch.context() as patch:
        patch.setattr(sys, "stdout", FailingOutput(OSError(errno.EIO, os.strerror(errno.EIO))))
        status = run_command(main, [])
    assert status == EXIT_OUTPUT_FAILED
    assert capsys.readouterr().err == f"error: cannot write the output: {os.strerror(errno.EIO)}\n"


def test_other_os_errors_are_not_taken_for_output_errors(capsys):
    # A tool's own OSError (a bug, or one it should have turned into a ToolError) stays itself.
    def main(argv):
        print("before")
        raise FileNotFoundError(errno.ENOENT, "No such file or directory", "x.json")

    with pytest.raises(FileNotFoundError):
        run_command(main, [])
    assert capsys.readouterr().out == "before\n"
    assert sys.stdout is not None and not type(sys.stdout).__name__.startswith("_Guarded")


def test_a_broken_pipe_is_still_silent(capsys):
    def main(argv):
        raise BrokenPipeError(errno.EPIPE, "Broken pipe")

    assert run_command(main, []) == 141
    assert capsys.readouterr().err == ""
