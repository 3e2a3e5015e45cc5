"""Help and messages: --help on every ./dev command prints that command's usage and runs nothing;
arguments a command does not take are refused; an interrupted set-up says so and resumes; no
message shows reST markup or Python's None; what the routing table holds is printed safely."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from core.text import printable
from evacuation.decide import Evacuation
from sandbox.__main__ import break_glass_commands
from settings.table import PROJECT_ROOT
from tests.inputs.support import COMMANDS, DEV, NOT_FOR_PEOPLE, run_dev
from tests.test_docs import dev_commands
from tools import rotation
from tools.cli import MAX_REASON_CHARACTERS

# What `./dev COMMAND --help` prints first, for the commands the dev script runs itself.
SCRIPT_USAGE = {
    "lint": "usage: ./dev lint\n",
    "bench": "usage: ./dev bench\n",
    "setup": "usage: ./dev setup [--browser]\n",
    "run": "usage: ./dev run ",
    "test": "usage: ./dev test [--all] [pytest arguments]",
    "help": "The project's one entry point",
    "check-deploy": "usage: ./dev check-deploy\n",
}


def test_every_dev_command_has_a_help_case():
    commands = dev_commands(DEV.read_text(encoding="utf-8"))
    python_tools = {name.split()[0] for name in COMMANDS} | {"evacuate", "restore", "status"}
    assert commands - python_tools - set(SCRIPT_USAGE) == set()


@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_a_tools_help_is_its_own_usage(command, capsys):
    assert COMMANDS[command].run(["--help"]) == 0
    out = capsys.readouterr().out
    name = "sandbox" if command == "sandbox" else command
    assert out.startswith(f"usage: ./dev {name}")
    assert not NOT_FOR_PEOPLE.search(out), NOT_FOR_PEOPLE.search(out)


# ./dev run answers --help only after importing what it runs: the sandbox (moto, V8).
_STARTS_WHOLE = {
    "run": "./dev run --help in a fresh process imports the whole sandbox before argparse answers",
}


@pytest.mark.parametrize(
    "command",
    [
        pytest.param(name, marks=pytest.mark.slow(reason=_STARTS_WHOLE[name]))
        if name in _STARTS_WHOLE
        else name
        for name in sorted(SCRIPT_USAGE)
    ],
)
def test_a_script_commands_help_is_its_usage_and_runs_nothing(command, tmp_path):
    done = run_dev([command, "--help"], cwd=tmp_path, timeout=120)
    assert done.status == 0, done.err
    assert done.out.startswith(SCRIPT_USAGE[command]) or SCRIPT_USAGE[command] in done.out
    assert "lint: format, lint and types clean" not in done.out


@pytest.mark.parametrize("command", ["lint", "bench"])
def test_a_command_without_arguments_refuses_one(command, tmp_path):
    done = run_dev([command, "--fast"], cwd=tmp_path)
    assert (done.status, done.out, done.err) == (
        2,
        "",
        f"dev: {command} takes no arguments, not '--fast' (./dev {command} --help)\n",
    )


def fake_project(tmp_path: Path, *, stamp: str | None) -> Path:
    """A copy of the dev script and the requirements beside a .venv whose python only answers
    pip: a set-up that runs in an instant and installs nothing."""
    project = tmp_path / "project"
    (project / ".venv" / "bin").mkdir(parents=True)
    for name in ("dev", "requirements.txt", "requirements-dev.txt"):
        shutil.copy2(PROJECT_ROOT / name, project / name)
    python = project / ".venv" / "bin" / "python"
    python.write_text('#!/bin/sh\necho "python $*" >> "$(dirname "$0")/calls"\n', encoding="utf-8")
    python.chmod(0o755)
    if stamp is not None:
        (project / ".venv" / ".requirements.sha256").write_text(stamp + "\n", encoding="utf-8")
    return project


def set_up(project: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(project / "dev"), "setup"],
        cwd=project.parent,
        env={**os.environ, "PYTHON": sys.executable},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_an_interrupted_first_set_up_says_so_and_resumes(tmp_path):
    # A .venv with its python but no stamp: the first set-up stopped before its end.
    project = fake_project(tmp_path, stamp=None)
    done = set_up(project)
    assert done.returncode == 0, done.stderr
    assert "requirements changed" not in done.stderr
    assert f"dev: the set-up of {project / '.venv'} did not finish; resuming it" in done.stderr
    assert (project / ".venv" / ".requirements.sha256").exists()
    calls = (project / ".venv" / "bin" / "calls").read_text(encoding="utf-8")
    assert "-m pip install" in calls


def test_changed_requirements_still_say_so(tmp_path):
    project = fake_project(tmp_path, stamp="an older set of requirements")
    done = set_up(project)
    assert done.returncode == 0, done.stderr
    assert "dev: requirements changed; updating" in done.stderr


def test_the_status_of_a_table_prints_what_it_holds_safely():
    # Written by anything with access to the table: an older tool, a script, a person.
    record = Evacuation(
        since="2026-11-29T03:00:00+00:00\x1b]0;owned\x07",
        by="arn:aws:iam::123456789012:user/ops\u202e",
        reason="S3 5xx\x1b[2J\x1b[H\nrm -rf",
    )
    text = rotation._record_text(record)
    assert not any(ord(character) < 0x20 or character == "\u202e" for character in text)
    assert text == (
        "since 2026-11-29T03:00:00+00:00\\x1b]0;owned\\x07 by "
        "arn:aws:iam::123456789012:user/ops\\u202e: S3 5xx\\x1b[2J\\x1b[H\\x0arm -rf"
    )


def test_a_stored_reason_is_bounded_in_print():
    shown = printable("x" * 10_000)
    assert (
        shown
        == "x" * MAX_REASON_CHARACTERS + f"... ({10_000 - MAX_REASON_CHARACTERS:,} more characters)"
    )


class _State:
    def __init__(self, kvs: object) -> None:
        self.kvs = kvs

    def outputs(self) -> dict[str, str]:
        return {}

    def endpoints(self) -> dict[str, str]:
        return {"dynamodb": "http://127.0.0.1:1"}


class _Sandbox:
    def __init__(self, kvs: object) -> None:
        from settings.stack_file import settings_from_stack_file

        self.settings = settings_from_stack_file("prod")
        self.buckets = {}
        self.state = _State(kvs)


@pytest.mark.parametrize(("kvs", "says_key_value_store"), [(None, False), (object(), True)])
def test_the_serve_banner_names_the_store_the_engine_has(kvs, says_key_value_store, tmp_path):
    text = break_glass_commands(_Sandbox(kvs), tmp_path / "outputs.json")
    assert ("key value store" in text) is says_key_value_store
    assert ("DynamoDB" in text) is not says_key_value_store


@pytest.mark.parametrize(
    ("arguments", "shown"),
    [(["simulat"], "'simulat'"), ([""], "''"), (["a\x1b[31m"], "$'a\\E[31m'")],
)
def test_an_unknown_command_is_one_line_naming_the_commands(arguments, shown, tmp_path):
    # An empty word is not "no command": it used to print the help and exit 0.
    done = run_dev(arguments, cwd=tmp_path)
    commands = dev_commands(DEV.read_text(encoding="utf-8"))
    assert (done.status, done.out) == (2, "")
    assert done.err.count("\n") == 1
    assert done.err.startswith(f"dev: unknown command {shown}; the commands are run, test, ")
    assert all(f" {name}," in done.err or f" {name}\n" in done.err for name in commands)


def test_help_takes_no_arguments(tmp_path):
    done = run_dev(["help", "extra"], cwd=tmp_path)
    assert (done.status, done.out, done.err) == (
        2,
        "",
        "dev: help takes no arguments, not 'extra' (./dev help)\n",
    )


@pytest.mark.parametrize(
    ("command", "argv", "prog", "message"),
    [
        # Left over after a sub-command: refused by the sub-command, in its name.
        ("status", ["--stack", "prod", "extra"], "./dev status", "unrecognized arguments: extra"),
        ("latency fetch", ["--stak", "prod"], "./dev latency fetch", "unrecognized arguments"),
        ("plan", ["--requests-per-month", "abc"], "./dev plan", "argument --requests-per-month"),
        ("evacuate", ["--stack", "prod"], "./dev evacuate", "the following arguments are"),
    ],
)
def test_a_usage_error_is_one_line_in_the_name_of_the_command_that_refuses(
    command, argv, prog, message, capsys
):
    assert COMMANDS[command].run(argv) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1, err
    assert err.startswith(f"{prog}: error: {message}")
    assert err.endswith(f" (see {prog} --help)\n")
