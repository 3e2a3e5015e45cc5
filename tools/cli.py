"""What every ``./dev`` command shares: one-line errors, a quiet exit when the reader of its output
goes away, and argument types that refuse bad values with a message instead of a traceback."""

from __future__ import annotations

import argparse
import io
import math
import os
import re
import stat
import sys
import unicodedata
from collections.abc import Callable, Sequence
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any, TextIO, cast

from core.input_file import (
    MAX_INPUT_BYTES,
    InputFileError,
    parse_json,
    read_input_text,
    size_text,
)
from routing.catalogue import describe_unknown_region, load_catalogue
from settings.stack_file import StackFileError
from settings.table import ConfigError
from tools.cost import REQUESTS_PER_MONTH_RANGE
from tools.folder import FolderError


class ToolError(Exception):
    """A problem the person running the tool can fix; printed as one line, exit status 2."""


# What every tool that calls AWS says when boto3 finds no credentials.
NO_CREDENTIALS = (
    "no AWS credentials found: set AWS_PROFILE, or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY"
)


# `./dev plan | head -1`: the shell's usual status for a writer whose reader left (128 + SIGPIPE).
EXIT_READER_GONE = 141
# `./dev plan > /dev/full`, a full disk: 1, as GNU tools exit on a write error; 2 stays for what
# the person can fix in the command's input.
EXIT_OUTPUT_FAILED = 1


class _OutputError(Exception):
    """Writing the command's output to stdout failed (anything but its reader leaving)."""

    def __init__(self, error: OSError) -> None:
        super().__init__(error)
        self.error = error


class _GuardedOutput:
    """stdout while a command runs: an ``OSError`` writing to it becomes an ``_OutputError``, so
    that it is told apart from every other ``OSError`` (a broken pipe stays what it is)."""

    def __init__(self, stream: TextIO) -> None:
        self._stream = stream

    def write(self, text: str) -> int:
        try:
            return self._stream.write(text)
        except BrokenPipeError:
            raise
        except OSError as error:
            raise _OutputError(error) from error

    def flush(self) -> None:
        try:
            self._stream.flush()
        except BrokenPipeError:
            raise
        except OSError as error:
            raise _OutputError(error) from error

    def __getattr__(self, name: str) -> Any:
        return getattr(self._stream, name)


def _discard_stdout() -> None:
    """Point stdout's descriptor at /dev/null, so that Python's own flush at exit does not fail
    again on what is still buffered (Python docs, "Note on SIGPIPE")."""
    try:
        descriptor = sys.stdout.fileno()
    except (AttributeError, OSError, ValueError):
        return  # not a real file (a test's capture): nothing is flushed at exit
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, descriptor)
    os.close(devnull)


def run_command(
    main: Callable[[Sequence[str] | None], int], argv: Sequence[str] | None = None
) -> int:
    """Run a command's ``main`` and end it with one line, not a traceback, when:

    - a problem the person can fix (``ToolError``, ``ConfigError``, ``StackFileError``):
      ``error: ...`` on stderr, exit status 2;
    - the output cannot be written (``> /dev/full``, a full disk, an I/O error):
      ``error: cannot write the output: <reason>`` on stderr, exit status 1
      (``EXIT_OUTPUT_FAILED``);
    - the reader of the output left (``| head -1``): nothing, exit status 141;
    - Ctrl-C: ``interrupted``, exit status 130.
    """
    stdout = sys.stdout
    if isinstance(stdout, io.TextIOWrapper):
        # A name given in bytes that are not UTF-8 (a file called $'\xff.html') is printed as
        # \udcff, as Python prints it to stderr, instead of failing the command after its work.
        stdout.reconfigure(errors="backslashreplace")
    sys.stdout = cast(TextIO, _GuardedOutput(stdout))
    try:
        try:
            return main(argv)
        finally:
            # What is still buffered is written now, not at exit, so that a write error there is
            # reported like any other (argparse's --help and usage exits included).
            sys.stdout.flush()
    except (ToolError, ConfigError, StackFileError, FolderError, InputFileError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    except BrokenPipeError:
        # The reader closed the pipe: stop without a traceback.
        _discard_stdout()
        return EXIT_READER_GONE
    except _OutputError as failure:
        reason = failure.error.strerror or str(failure.error)
        print(f"error: cannot write the output: {reason}", file=sys.stderr)
        _discard_stdout()
        return EXIT_OUTPUT_FAILED
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    finally:
        sys.stdout = stdout


def port_number(text: str) -> int:
    """An argparse type: a TCP port, 0 (any free one) to 65535."""
    try:
        port = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a port number (0-65535)") from None
    if not 0 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"{port} is not a port number (0-65535)")
    return port


def count(text: str) -> int:
    """An argparse type: a whole number, 0 or more."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"{value} is negative")
    return value


def requests_in_flight(text: str) -> int:
    """An argparse type: how many requests to keep in flight, 1 or more."""
    value = count(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"{value} is not a number of requests (1 or more)")
    return value


def _decimal(text: str) -> Decimal | None:
    """``text`` as a finite decimal number, as written (0.95, not 0.9499999999999999556)."""
    try:
        value = Decimal(text.strip().replace(",", "").replace("_", ""))
    except InvalidOperation:
        return None
    return value if value.is_finite() else None


def hit_ratio(text: str) -> Decimal:
    """An argparse type: a cache hit ratio from 0 to 1, or a percentage such as 90%."""
    value = _decimal(text[:-1]) if text.endswith("%") else _decimal(text)
    if value is not None and text.endswith("%"):
        value /= 100
    if value is None or not 0 <= value <= 1:
        raise argparse.ArgumentTypeError(f"{text!r} is not a ratio from 0 to 1 (or 0% to 100%)")
    return value


def milliseconds(text: str) -> Decimal:
    """An argparse type: a duration in milliseconds, more than 0 and at most 30,000 (Lambda@Edge's
    origin-request timeout, 30 s)."""
    value = _decimal(text)
    if value is None or not 0 < value <= 30_000:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a duration of more than 0 and at most 30000 ms"
        )
    return value


def quantity(low: Decimal, high: Decimal, unit: str, *, above_low: bool = False) -> Any:
    """An argparse type: a number of ``unit`` from ``low`` (excluded with ``above_low``) to
    ``high``."""

    def read(text: str) -> Decimal:
        value = _decimal(text)
        if value is None or not (low < value if above_low else low <= value) or value > high:
            lowest = f"more than {low:,}" if above_low else f"from {low:,}"
            raise argparse.ArgumentTypeError(
                f"{text!r} is not a number of {unit} {lowest} to {high:,}"
            )
        return value

    return read


def whole(low: int, high: int, unit: str) -> Any:
    """An argparse type: a whole number of ``unit`` from ``low`` to ``high``."""

    def read(text: str) -> int:
        value = _decimal(text)
        if value is None or value != value.to_integral_value() or not low <= value <= high:
            raise argparse.ArgumentTypeError(
                f"{text!r} is not a whole number of {unit} from {low:,} to {high:,}"
            )
        return int(value)

    return read


def requests_per_month(text: str) -> int:
    """An argparse type: a whole number of requests a month, 1 to 10^15; 1e9, 1_000_000 and
    1,000,000 are read too."""
    low, high = REQUESTS_PER_MONTH_RANGE
    bounds = f"from {low:,} to {high:,} (10^15)"
    cleaned = text.strip().replace(",", "")
    try:
        value = int(cleaned)
    except ValueError:
        try:
            number = float(cleaned)
        except ValueError:
            number = math.nan
        if not number.is_integer():
            raise argparse.ArgumentTypeError(
                f"{text!r} is not a whole number of requests {bounds}"
            ) from None
        value = int(number)
    if not low <= value <= high:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of requests {bounds}")
    return value


def edge_region(text: str) -> str:
    """An argparse type: a Region code of the catalogue."""
    if text not in load_catalogue():
        raise argparse.ArgumentTypeError(describe_unknown_region(text))
    return text


# The longest window Infrastructure Performance's console queries at once ("The date range cannot
# exceed 30 days"; Infrastructure Performance User Guide, "Monitor Infrastructure Performance using
# the AWS Network Manager console"); the API documents no limit of its own, so the tool keeps to it.
MAX_DAYS_OF_HISTORY = 30


def days_of_history(text: str) -> int:
    """An argparse type: a number of whole days of measurements, 1 to 30."""
    try:
        value = int(text)
    except ValueError:
        value = 0
    if not 1 <= value <= MAX_DAYS_OF_HISTORY:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a number of days from 1 to {MAX_DAYS_OF_HISTORY}"
        )
    return value


def seconds(text: str) -> int:
    """An argparse type: a whole number of seconds, 1 to 3,600."""
    try:
        value = int(text)
    except ValueError:
        value = 0
    if not 1 <= value <= 3600:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number of seconds (1-3600)")
    return value


# The longest --reason: a line or two of ./dev status, and far below DynamoDB's 400 KB item.
MAX_REASON_CHARACTERS = 500
# Bidirectional overrides and isolates reorder what a terminal shows ("Trojan Source", Unicode
# Technical Report #36, Bidirectional Text Spoofing); control characters and line and paragraph
# separators move the cursor, clear the screen or set the title.
_BIDI_CONTROLS = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\u200e\u200f")


def _unsafe(character: str) -> bool:
    """A character that changes a terminal rather than showing as text; or a byte that was not
    UTF-8 where the command line gave it (Python keeps it as a lone surrogate, Cs), which no
    UTF-8 output can carry."""
    return (
        unicodedata.category(character) in ("Cc", "Cs", "Zl", "Zp") or character in _BIDI_CONTROLS
    )


def _escaped(character: str) -> str:
    code = ord(character)
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def printable(text: str, limit: int = MAX_REASON_CHARACTERS) -> str:
    """``text`` safe to print into someone's terminal: control characters, line separators and
    bidirectional controls shown as escapes (\\x1b), and at most ``limit`` characters of it."""
    shown = "".join(_escaped(c) if _unsafe(c) else c for c in text[:limit])
    more = len(text) - limit
    return shown + (f"... ({more:,} more characters)" if more > 0 else "")


def checked_reason(text: str) -> str:
    """``--reason``: why a person acts, for whoever reads ./dev status next: plain text of 1 to
    ``MAX_REASON_CHARACTERS`` characters, stored as given (no control characters or escape
    sequences, which would act on that reader's terminal); a ToolError saying what is wrong."""
    stripped = text.strip()
    if not stripped:
        raise ToolError("--reason: say why, for whoever reads ./dev status next")
    if len(stripped) > MAX_REASON_CHARACTERS:
        raise ToolError(
            f"--reason is {len(stripped):,} characters long; at most {MAX_REASON_CHARACTERS} "
            "(./dev status prints it on one line)"
        )
    for position, character in enumerate(stripped, start=1):
        if _unsafe(character):
            raise ToolError(
                f"--reason: character {position} is a control character "
                f"({_escaped(character)}); plain text only: ./dev status prints it into the next "
                "reader's terminal"
            )
    return stripped


def input_file(text: str) -> Path:
    """An argparse type: a file a command reads, named from where the command runs: a regular file
    of at most ``MAX_INPUT_BYTES`` (a device, a FIFO or a folder is refused before anything is
    read; ``core.input_file`` bounds the read itself)."""
    path = Path(text)
    try:
        status = path.stat()
    except FileNotFoundError:
        raise argparse.ArgumentTypeError(f"no file at {text}") from None
    except OSError as error:
        raise argparse.ArgumentTypeError(f"cannot read {text}: {error.strerror}") from None
    if not stat.S_ISREG(status.st_mode):
        raise argparse.ArgumentTypeError(f"{text} is not a regular file (a folder, device or FIFO)")
    if status.st_size > MAX_INPUT_BYTES:
        raise argparse.ArgumentTypeError(
            f"{text} is larger than {size_text(MAX_INPUT_BYTES)}, more than any input of this "
            "command: check that it is the right file"
        )
    return path


def json_file(text: str) -> Path:
    """An argparse type: an ``input_file`` whose JSON, if it is JSON, nests at most
    ``MAX_NESTING`` levels (what is not JSON is left to the command, which says so in its words)."""
    path = input_file(text)
    try:
        parse_json(read_input_text(path, what="file"), where=text, what="input of this command")
    except InputFileError as error:
        raise argparse.ArgumentTypeError(str(error)) from None
    except ValueError:
        pass
    return path


# S3 user guide, "General purpose bucket naming rules": 3-63 characters; lowercase letters,
# numbers, dots and hyphens; beginning and ending with a letter or number; no two adjacent dots.
_BUCKET_NAME = re.compile(r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]\Z")


def bucket_name_problem(name: str) -> str | None:
    """Why ``name`` is not an S3 general purpose bucket name; None when it is one."""
    if not _BUCKET_NAME.match(name) or ".." in name:
        return (
            f"{printable(repr(name))} is not an S3 bucket name: 3-63 lowercase letters, digits, "
            "dots and hyphens, starting and ending with a letter or digit"
        )
    return None


# DynamoDB developer guide, "Supported data types and naming rules in Amazon DynamoDB": table
# names are 3-255 characters of a-z, A-Z, 0-9, _ (underscore), - (dash) and . (dot).
_TABLE_NAME = re.compile(r"^[A-Za-z0-9_.-]{3,255}\Z")


def table_name(text: str) -> str:
    """An argparse type: a DynamoDB table name."""
    if not _TABLE_NAME.match(text):
        raise argparse.ArgumentTypeError(
            f"{printable(repr(text))} is not a DynamoDB table name: 3-255 letters, digits, "
            "'_', '-' and '.'"
        )
    return text


# S3 user guide, "Naming Amazon S3 objects": "The object key name is a sequence of Unicode
# characters with UTF-8 encoding of up to 1,024 bytes long".
MAX_KEY_BYTES = 1024


def key_prefix(text: str) -> str:
    """An argparse type: a prefix of S3 object keys, printable text of at most 1,024 UTF-8 bytes."""
    if any(_unsafe(character) for character in text):
        raise argparse.ArgumentTypeError(
            f"{printable(repr(text))} holds a control character; an S3 key prefix is printable text"
        )
    if len(text.encode("utf-8")) > MAX_KEY_BYTES:
        raise argparse.ArgumentTypeError(
            f"is {len(text.encode('utf-8')):,} bytes long; an S3 key has at most {MAX_KEY_BYTES}"
        )
    return text


# A Cache-Control value is directives of visible ASCII (RFC 9111, section 5.2: token and
# quoted-string); a header is one line. AWS documents no length limit for it alone, only 8 KB for
# a PUT request's headers together (S3 user guide, "Working with object metadata"), so a value is
# kept well under that.
MAX_CACHE_CONTROL = 1024


def cache_control(text: str) -> str:
    """An argparse type: a Cache-Control header value, such as 'max-age=300, public'."""
    if not text.strip() or len(text) > MAX_CACHE_CONTROL or not text.isascii():
        raise argparse.ArgumentTypeError(
            f"{printable(repr(text[:40]))} is not a Cache-Control value: 1-{MAX_CACHE_CONTROL} "
            "ASCII characters, such as 'max-age=300, public'"
        )
    if not text.isprintable():
        raise argparse.ArgumentTypeError(
            f"{printable(repr(text))} holds a control character; a header value is one line of "
            "printable text, such as 'max-age=300, public'"
        )
    return text


# CloudFront API reference, KeyValueStoreAssociation: "Pattern: arn:aws:cloudfront::[0-9]{12}:
# key-value-store\/[0-9a-fA-F-]{36}".
_KVS_ARN = re.compile(r"^arn:aws:cloudfront::[0-9]{12}:key-value-store/[0-9a-fA-F-]{36}\Z")


def kvs_arn(text: str) -> str:
    """An argparse type: the ARN of a CloudFront key value store."""
    if not _KVS_ARN.match(text):
        raise argparse.ArgumentTypeError(
            f"{printable(repr(text))} is not a key value store ARN "
            "(arn:aws:cloudfront::<account>:key-value-store/<id>)"
        )
    return text
