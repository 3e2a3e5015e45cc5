"""Reading a file a command is given, bounded: every file the program and the tools read that a
person writes or names (stack files, ``Pulumi.yaml``, the latency snapshot, stack outputs, a price
file) goes through here, so no input can make a command read without end, hang on a device, or
nest deeper than Python's stack.

- **Size**: at most ``MAX_INPUT_BYTES``; ``limit + 1`` bytes are read and no more, so
  ``/dev/zero`` or a multi-gigabyte file costs one megabyte, never all of it.
- **Kind**: a regular file; a folder, a device (``/dev/zero``, a terminal) or a socket is refused
  before anything is read. A pipe is read only where a person names one on the command line
  (``--outputs <(pulumi stack output --json)``): it is opened without waiting for a writer, so a
  FIFO nobody writes to reads as empty instead of hanging.
- **Depth**: JSON and YAML values nest at most ``MAX_NESTING`` levels (every real input nests
  under ten); Python's own parsers would otherwise recurse until ``RecursionError``.

Each refusal is one line: the file, the limit it hit, what to do.
"""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path
from typing import Any, BinaryIO, TextIO

# The largest input any command reads: a stack file, Pulumi.yaml, stack outputs and a latency
# snapshot of every catalogue Region are each well under 100 KB.
MAX_INPUT_BYTES = 1024 * 1024
# The deepest nesting of lists and maps in any input: the deepest real one (a stack file's tags or
# routes map) is 3 levels.
MAX_NESTING = 32


class InputFileError(ValueError):
    """A file a command cannot read as given; the message is one line naming the file and why."""


def size_text(limit: int) -> str:
    """``limit`` bytes as a person reads it: 1 MiB, 64 KiB, 100 bytes."""
    for unit, scale in (("MiB", 1024 * 1024), ("KiB", 1024)):
        if limit >= scale and limit % scale == 0:
            return f"{limit // scale} {unit}"
    return f"{limit:,} bytes"


def _kind(mode: int) -> str | None:
    """What a file that is not a regular file is, in a person's words; None for a regular file."""
    if stat.S_ISREG(mode):
        return None
    if stat.S_ISDIR(mode):
        return "a folder"
    if stat.S_ISFIFO(mode):
        return "a pipe (FIFO)"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    if stat.S_ISSOCK(mode):
        return "a socket"
    return "not a regular file"


def read_input_bytes(
    path: Path, *, what: str, pipes: bool = False, limit: int = MAX_INPUT_BYTES
) -> bytes:
    """The bytes of ``path``, a ``what`` (e.g. "stack file"): a regular file (or, with ``pipes``,
    a pipe) of at most ``limit`` bytes; an ``InputFileError`` otherwise."""
    try:
        # O_NONBLOCK: opening a FIFO for reading waits for a writer otherwise (open(2), "FIFOs").
        descriptor = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    except FileNotFoundError:
        raise InputFileError(f"no {what} at {path}") from None
    except OSError as error:
        raise InputFileError(f"cannot read the {what} {path}: {error.strerror or error}") from None
    mode = os.fstat(descriptor).st_mode
    kind = _kind(mode)
    if kind is not None and not (pipes and stat.S_ISFIFO(mode)):
        os.close(descriptor)
        raise InputFileError(f"{path} is {kind}, not a {what}: give the path of a file")
    if stat.S_ISFIFO(mode):
        # From here on a pipe is read as any pipe is: its writer's data, then its end.
        os.set_blocking(descriptor, True)
    with os.fdopen(descriptor, "rb", buffering=0) as handle:
        try:
            data = _read_at_most(handle, limit + 1)
        except OSError as error:
            raise InputFileError(
                f"cannot read the {what} {path}: {error.strerror or error}"
            ) from None
    if len(data) > limit:
        raise InputFileError(
            f"{path} is larger than {size_text(limit)}, the most a {what} may be: check that it "
            "is the right file"
        )
    return data


def read_stream_bytes(
    stream: BinaryIO | TextIO, *, what: str, limit: int = MAX_INPUT_BYTES
) -> bytes:
    """At most ``limit`` bytes of ``stream`` (standard input: its binary buffer where it has one),
    read to its end."""
    data = _read_at_most(getattr(stream, "buffer", stream), limit + 1)
    if len(data) > limit:
        raise InputFileError(
            f"standard input holds more than {size_text(limit)}, the most a {what} may be: check "
            "what is piped in"
        )
    return data


def _read_at_most(handle: BinaryIO | TextIO, count: int) -> bytes:
    """Up to ``count`` bytes of ``handle`` (a text stream's characters as UTF-8): fewer only at
    its end."""
    chunks: list[bytes] = []
    remaining = count
    while remaining > 0:
        chunk = handle.read(min(remaining, 64 * 1024))
        if not chunk:
            break
        data = chunk.encode("utf-8") if isinstance(chunk, str) else chunk
        chunks.append(data)
        remaining -= len(data)
    return b"".join(chunks)


def decoded(data: bytes, *, where: str) -> str:
    """``data`` as UTF-8 text (a leading byte-order mark dropped, as the Pulumi CLI drops it)."""
    try:
        return data.decode("utf-8").removeprefix("\ufeff")
    except UnicodeDecodeError as error:
        raise InputFileError(
            f"{where} is not UTF-8 text (byte {error.start + 1} is {data[error.start]:#04x}): "
            "save it as UTF-8"
        ) from None


def read_input_text(
    path: Path, *, what: str, pipes: bool = False, limit: int = MAX_INPUT_BYTES
) -> str:
    """The UTF-8 text of ``path``, bounded as ``read_input_bytes`` bounds it."""
    return decoded(read_input_bytes(path, what=what, pipes=pipes, limit=limit), where=str(path))


def parse_json(text: str, *, where: str, what: str) -> Any:
    """The JSON value of ``text``, nested at most ``MAX_NESTING`` levels; ``where`` names the
    file in messages. A ``json.JSONDecodeError`` for text that is not JSON, as ``json.loads``
    raises it; an ``InputFileError`` for JSON nested too deep."""
    too_deep = InputFileError(
        f"{where} nests lists and maps more than {MAX_NESTING} levels deep, deeper than any "
        f"{what}: check that it is the right file"
    )
    try:
        value = json.loads(text)
    except RecursionError:
        # The C parser checks its depth against Python's recursion limit and raises this.
        raise too_deep from None
    if nesting(value) > MAX_NESTING:
        raise too_deep
    return value


def nesting(value: Any) -> int:
    """How many lists and maps deep ``value`` goes (a scalar: 0); iterative, so any depth is
    measured without recursion."""
    deepest = 0
    pending: list[tuple[Any, int]] = [(value, 0)]
    while pending:
        item, depth = pending.pop()
        if isinstance(item, dict):
            members = list(item.values())
        elif isinstance(item, list):
            members = item
        else:
            continue
        deepest = max(deepest, depth + 1)
        pending.extend((member, depth + 1) for member in members)
    return deepest
