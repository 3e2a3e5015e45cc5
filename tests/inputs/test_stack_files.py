"""Bad stack files, by kind, through every command that reads one: each is refused in one line
naming the file (and the line, or the key) with a non-zero status and no traceback, before
anything starts, and read no further than its bounds."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import pytest

from settings import stack_file
from tests.inputs.support import CLOSED, COMMANDS, assert_one_line_refusal

STACK = "bad"
FILE = f"Pulumi.{STACK}.yaml"
ORIGINS = "  geo-proximity:origins: [us-east-1, eu-central-1]\n"

# Each command that reads a stack file, as it is asked for stack STACK.
READERS: dict[str, list[str]] = {
    "plan": ["--stack", STACK],
    "run": ["--stack", STACK],
    "sandbox drill": ["drill", "--stack", STACK],
    "sandbox serve": ["serve", "--stack", STACK],
    "latency show": ["--stack", STACK],
    "latency fetch": ["--stack", STACK, "--endpoint-url", CLOSED],
    **{
        command: [
            *(["us-east-1"] if command != "status" else []),
            "--stack",
            STACK,
            "--table",
            "routing",
            "--table-region",
            "us-east-1",
            "--endpoint-url",
            f"dynamodb={CLOSED}",
            *(["--reason", "trying"] if command == "evacuate" else []),
        ]
        for command in ("evacuate", "restore", "status")
    },
}


def laughs(levels: int = 9) -> str:
    """A "billion laughs": each level an alias of the one before, nine times over (9^9 values)."""
    lines = ["config:", "  other:a0: &a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol]"]
    for level in range(1, levels):
        lines.append(f"  other:a{level}: &a{level} [" + ", ".join([f"*a{level - 1}"] * 9) + "]")
    return "\n".join(lines) + "\n"


def block_nesting(depth: int) -> str:
    """Maps inside maps, one indentation deeper per line: deeper than Python's recursion."""
    return (
        "config:\n"
        + "".join(" " * (i + 2) + f"k{i}:\n" for i in range(depth))
        + " " * (depth + 2)
        + "v\n"
    )


def text(content: str) -> Callable[[Path], None]:
    return lambda path: path.write_text(content, encoding="utf-8")


def raw(content: bytes) -> Callable[[Path], None]:
    return lambda path: path.write_bytes(content)


def symlink(target: str) -> Callable[[Path], None]:
    return lambda path: path.symlink_to(target)


def huge(path: Path) -> None:
    with path.open("wb") as handle:
        handle.write(b"config:\n  other:x: '")
        handle.truncate(4 * 1024 * 1024)


# kind -> (how the file is made, what the refusal's line names besides the file).
KINDS: dict[str, tuple[Callable[[Path], None], str]] = {
    "an alias inside its own anchor's list": (
        text("config:\n  geo-proximity:origins: &o [us-east-1, *o]\n"),
        "contain itself",
    ),
    "an alias inside its own anchor's map": (
        text(f"config: &c\n{ORIGINS}  geo-proximity:tags: {{a: *c}}\n"),
        "contain itself",
    ),
    "a billion laughs": (text(laughs()), "aliases"),
    "1,100 maps deep": (text(block_nesting(1100)), "levels deep"),
    "more than 10,000 values": (
        text("config:\n  other:x: [" + ", ".join(["1"] * 10_001) + "]\n"),
        "10,000 values",
    ),
    "4 MiB": (huge, "1 MiB"),
    "a link to /dev/zero": (symlink("/dev/zero"), "device"),
    "a FIFO nobody writes to": (os.mkfifo, "pipe"),
    "a folder": (os.mkdir, "folder"),
    "not UTF-8": (raw(b"config:\n  geo-proximity:origins: [us-east-1, \xff]\n"), "UTF-8"),
    "binary": (raw(bytes(range(256))), FILE),
    "a list": (text("- us-east-1\n- eu-central-1\n"), "not a mapping"),
    "config a list": (text("config:\n  - geo-proximity:origins\n"), "'config'"),
    "a key without a value": (text(f"config:\n{ORIGINS}  geo-proximity:alarmEmail:\n"), "no value"),
    "a key set twice": (text(f"config:\n{ORIGINS}{ORIGINS}"), "set twice"),
    "a key set with and without the namespace": (
        text(f"config:\n{ORIGINS}  origins: [us-east-1]\n"),
        "set twice",
    ),
    "a secret the tools need": (
        text("config:\n  geo-proximity:origins:\n    secure: v1:AAAA\n"),
        "geo-proximity:origins: is a secret",
    ),
    "a key of no namespace the project lacks": (
        text(f"config:\n{ORIGINS}  regoin: us-east-1\n"),
        "geo-proximity:regoin",
    ),
    "tabs": (text("config:\n\tgeo-proximity:origins: [us-east-1]\n"), "not valid YAML"),
    "a Python tag": (text("config:\n  other:x: !!python/object/apply:os.system [id]\n"), FILE),
    "two documents": (text(f"config:\n{ORIGINS}---\nconfig: {{}}\n"), FILE),
    "a merge of a number": (text(f"config:\n{ORIGINS}  <<: 5\n"), FILE),
    "aws:defaultTags past the tag limit": (
        text(
            f"config:\n{ORIGINS}  aws:defaultTags:\n    tags:\n"
            + "".join(f"      t{n}: v\n" for n in range(49))
        ),
        "51 tags",
    ),
    "an empty file": (text(""), "geo-proximity:origins: is required"),
}


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A project folder of the tests' own, where Pulumi.<stack>.yaml files are looked up."""
    monkeypatch.setattr(stack_file, "PROJECT_ROOT", tmp_path)
    return tmp_path


@pytest.mark.parametrize("reader", READERS)
@pytest.mark.parametrize("kind", KINDS)
def test_a_bad_stack_file_is_refused_in_one_line(kind, reader, project, capsys, aws):
    make, mention = KINDS[kind]
    make(project / FILE)
    command = COMMANDS[reader.split()[0] if reader.startswith("sandbox") else reader]
    status = command.run(READERS[reader])
    line = assert_one_line_refusal(status, capsys.readouterr().err, mention)
    assert FILE in line or "geo-proximity:" in line or "aws:" in line


def test_a_flow_list_a_thousand_deep_is_refused_within_a_bounded_read(project, capsys):
    # ruamel's scanner looks ahead up to 1,024 characters for a simple key; past that the depth
    # bound stops it, however deep the file goes.
    (project / FILE).write_text(
        "config:\n  other:x: " + "[" * 100_000 + "]" * 100_000 + "\n", encoding="utf-8"
    )
    status = COMMANDS["plan"].run(["--stack", STACK])
    assert_one_line_refusal(status, capsys.readouterr().err, f"{FILE}:2:", "32 levels deep")
