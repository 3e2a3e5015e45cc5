"""What every ``./dev`` command shares: one-line errors, a quiet exit when the reader of its output
goes away, and argument types that refuse bad values with a message instead of a traceback."""

from __future__ import annotations

import argparse
import math
import os
import sys
from collections.abc import Callable, Sequence
from decimal import Decimal, InvalidOperation
from typing import Any, TextIO, cast

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
    sys.stdout = cast(TextIO, _GuardedOutput(stdout))
    try:
        try:
            return main(argv)
        finally:
            # What is still buffered is written now, not at exit, so that a write error there is
            # reported like any other (argparse's --help and usage exits included).
            sys.stdout.flush()
    except (ToolError, ConfigError, StackFileError, FolderError) as error:
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
