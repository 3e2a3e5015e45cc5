"""What the bad-input tests share: every ./dev command's entry point and parser, running one
in-process or as ./dev in a process of its own, bad files of every kind, and the one check every
refusal must pass (one line, a non-zero status, no traceback)."""

from __future__ import annotations

import argparse
import os
import re
import resource
import subprocess
import sys
import uuid
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from unittest import mock

import sandbox.__main__ as sandbox_main
import simulation.__main__ as simulation_main
from core.input_file import MAX_INPUT_BYTES
from settings.table import PROJECT_ROOT
from tools import backfill, cleanup, drift, latency, plan, publish, rotation
from tools.cli import run_command

DEV = PROJECT_ROOT / "dev"
# Markup and reprs that mean a message was written for Python, not for a person: reST literals,
# None, a dict's or a list's repr.
NOT_FOR_PEOPLE = re.compile(r"``|\bNone\b|NoneType|\{'|\['")
# A port nothing listens on: a request there is refused at once, so a tool that reaches the
# network before refusing a bad value fails fast with its own one-line error, never hangs.
CLOSED = "http://127.0.0.1:9"


@dataclass(frozen=True)
class Command:
    """A ./dev command: its Python entry point, the words before its options (a sub-command), and
    how ./dev names it."""

    main: Callable[[Sequence[str] | None], int]
    words: tuple[str, ...] = ()

    def run(self, argv: Sequence[str]) -> int:
        """Its exit status for ``argv``, run as ./dev runs it (run_command), in this process."""
        try:
            return run_command(self.main, [*self.words, *argv])
        except SystemExit as exit_:  # argparse's usage errors and --help
            return int(exit_.code or 0)


COMMANDS = {
    "run": Command(sandbox_main.main, ("run",)),
    "sandbox": Command(sandbox_main.main),
    "plan": Command(plan.main),
    "publish": Command(publish.main),
    "drift": Command(drift.main),
    "latency fetch": Command(latency.main, ("fetch",)),
    "latency show": Command(latency.main, ("show",)),
    "backfill": Command(backfill.main),
    "cleanup": Command(cleanup.main),
    "evacuate": Command(rotation.main, ("evacuate",)),
    "restore": Command(rotation.main, ("restore",)),
    "status": Command(rotation.main, ("status",)),
    "simulate": Command(simulation_main.main),
}


class _ParsedError(Exception):
    def __init__(self, parser: argparse.ArgumentParser) -> None:
        super().__init__()
        self.parser = parser


def parser_of(command: Command) -> argparse.ArgumentParser:
    """The parser ``command`` builds, caught where it would parse (each tool builds its own in its
    main), so the tests read the flags the tool really has."""

    def caught(self: argparse.ArgumentParser, *_: object, **__: object) -> None:
        raise _ParsedError(self)

    with mock.patch.object(argparse.ArgumentParser, "parse_args", caught):
        try:
            command.main(list(command.words))
        except _ParsedError as parsed:
            parser = parsed.parser
        else:
            raise AssertionError("the command parsed no arguments")
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            return action.choices[command.words[0]]  # type: ignore[no-any-return]
    return parser


def options_of(command: Command) -> Iterator[tuple[str, argparse.Action]]:
    """Every option and positional argument of ``command`` but --help, by the name a user types."""
    for action in parser_of(command)._actions:
        if isinstance(action, argparse._HelpAction):
            continue
        yield (action.option_strings[0] if action.option_strings else action.dest), action


def assert_one_line_refusal(status: int, err: str, *mentions: str) -> str:
    """A refusal as every command must give one: a non-zero status, no traceback, and a last line
    that is the error (after argparse's usage lines, if any) naming each of ``mentions``."""
    assert status != 0, f"accepted (status 0); stderr: {err!r}"
    assert "Traceback" not in err, err
    lines = err.rstrip("\n").splitlines()
    assert lines, "refused without a word"
    last = lines[-1]
    assert last.startswith("error: ") or ": error: " in last, err
    # What comes before is argparse's usage, nothing else: one line says what went wrong.
    assert all(line.startswith(("usage: ", " ")) for line in lines[:-1]), err
    for mention in mentions:
        assert mention in last, f"{mention!r} not in {last!r}"
    assert not NOT_FOR_PEOPLE.search(last), f"written for Python, not a person: {last!r}"
    return last


@dataclass(frozen=True)
class BadFiles:
    """A file of each kind no command should read: what it is, by name."""

    folder: Path

    def __getitem__(self, kind: str) -> Path:
        return BAD_FILE_MAKERS[kind](self.folder / f"bad-{kind}")


def _missing(path: Path) -> Path:
    return path


def _folder(path: Path) -> Path:
    path.mkdir(exist_ok=True)
    return path


def _device(path: Path) -> Path:
    if not path.is_symlink():
        path.symlink_to("/dev/zero")  # endless: a read with no bound never ends
    return path


def _fifo(path: Path) -> Path:
    if not path.exists():
        os.mkfifo(path)  # nobody writes: a blocking open waits for ever
    return path


def _huge(path: Path) -> Path:
    with path.open("wb") as handle:  # sparse: two megabytes that take no room
        handle.truncate(2 * MAX_INPUT_BYTES)
    return path


def _not_utf8(path: Path) -> Path:
    path.write_bytes(b'{"a": "\xff\xfe"}\n')
    return path


def _deep_json(path: Path) -> Path:
    path.write_text("[" * 100_000 + "]" * 100_000, encoding="utf-8")
    return path


def _deep_json_under_recursion_limit(path: Path) -> Path:
    path.write_text("[" * 40 + "]" * 40, encoding="utf-8")
    return path


def _empty(path: Path) -> Path:
    path.write_bytes(b"")
    return path


def _not_json(path: Path) -> Path:
    path.write_text("geo: [proximity\n", encoding="utf-8")
    return path


def _binary(path: Path) -> Path:
    path.write_bytes(bytes(range(256)) * 4)
    return path


BAD_FILE_MAKERS: dict[str, Callable[[Path], Path]] = {
    "missing": _missing,
    "folder": _folder,
    "device": _device,
    "fifo": _fifo,
    "huge": _huge,
    "not-utf8": _not_utf8,
    "deep": _deep_json,
    "deep-33": _deep_json_under_recursion_limit,
    "empty": _empty,
    "not-json": _not_json,
    "binary": _binary,
}


@dataclass(frozen=True)
class Finished:
    status: int
    out: str
    err: str


# Virtual memory a command may take: the interpreter and its imports (boto3, the Pulumi SDK's
# protobufs) take about 400 MB of address space; an unbounded read of /dev/zero or an expanded
# billion laughs takes gigabytes and fails here with a MemoryError (and a traceback).
MEMORY_LIMIT_BYTES = 1536 * 1024 * 1024


def run_dev(
    arguments: Sequence[str],
    *,
    cwd: Path,
    stdin: int | None = subprocess.DEVNULL,
    timeout: float = 60,
) -> Finished:
    """``./dev ARGUMENTS`` in a process of its own, started in ``cwd``, its address space
    bounded, its temporary files in a folder of its own (which must be empty once it ends), and
    no process it started left running."""
    marker = uuid.uuid4().hex
    scratch = cwd / f".tmp-{marker}"
    scratch.mkdir()

    def bounded() -> None:
        resource.setrlimit(resource.RLIMIT_AS, (MEMORY_LIMIT_BYTES, MEMORY_LIMIT_BYTES))

    done = subprocess.run(
        [str(DEV), *arguments],
        cwd=cwd,
        stdin=stdin,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
        preexec_fn=bounded,
        env={
            **os.environ,
            "TMPDIR": str(scratch),
            "GEO_PROXIMITY_INPUTS_TEST": marker,
            "PYTHON": sys.executable,
        },
    )
    assert list(scratch.iterdir()) == [], "temporary files left behind"
    scratch.rmdir()
    assert not _processes_with(marker), "processes left running"
    return Finished(done.returncode, done.stdout, done.stderr)


def _processes_with(marker: str) -> list[int]:
    """The processes whose environment carries ``marker``."""
    found = []
    needle = f"GEO_PROXIMITY_INPUTS_TEST={marker}".encode()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            environment = (entry / "environ").read_bytes()
        except OSError:
            continue
        if needle in environment.split(b"\0"):
            found.append(int(entry.name))
    return found
