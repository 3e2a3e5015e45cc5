"""What every ``./dev`` command shares: one-line errors, a quiet exit when the reader of its output
goes away, and argument types that refuse bad values with a message instead of a traceback."""

from __future__ import annotations

import argparse
import math
import os
import sys
from collections.abc import Callable, Sequence
from typing import Any, TextIO, cast

from routing.catalogue import describe_unknown_region, load_catalogue
from settings.stack_file import StackFileError
from settings.table import ConfigError
from tools.cost import REQUESTS_PER_MONTH_RANGE
from tools.folder import FolderError
from tools.interrupt import Stopped, stop_signals


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
    main: Callable[[Sequence[str] | None], int],
    argv: Sequence[str] | None = None,
    *,
    stopping: str = "stopping",
    forced: str = "",
) -> int:
    """Run a command's ``main`` and end it with one line, not a traceback, when:

    - a problem the person can fix (``ToolError``, ``ConfigError``, ``StackFileError``):
      ``error: ...`` on stderr, exit status 2;
    - the output cannot be written (``> /dev/full``, a full disk, an I/O error):
      ``error: cannot write the output: <reason>`` on stderr, exit status 1
      (``EXIT_OUTPUT_FAILED``);
    - the reader of the output left (``| head -1``): nothing, exit status 141;
    - Ctrl-C or SIGTERM: ``interrupted (Ctrl-C): <stopping>`` at once (``tools.interrupt``), then
      the command's own clean-up; exit status 130 (SIGINT) or 143 (SIGTERM). A second one
      stops at once, saying what that leaves undone (``forced``, after "stopped at once").
    """
    stdout = sys.stdout
    sys.stdout = cast(TextIO, _GuardedOutput(stdout))
    try:
        with stop_signals(stopping, forced) as signals:
            try:
                status = _run_guarded(main, argv)
            except Stopped:
                status = 0  # arrived while an error was being reported: the signal's status
    finally:
        sys.stdout = stdout
    if signals.received is not None:
        # Stopped by a signal, whatever the command made of it (an error it caused, a clean end).
        return 128 + signals.received
    return status


def _run_guarded(main: Callable[[Sequence[str] | None], int], argv: Sequence[str] | None) -> int:
    """``main(argv)``, every way out but a signal's turned into an exit status and one line."""
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
    except Stopped as stopped:
        return stopped.exit_status  # its line was printed when the signal arrived
    except KeyboardInterrupt:
        # Raised by something other than the handlers (a test, a handler of the caller's).
        print("interrupted", file=sys.stderr)
        return 130


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


def hit_ratio(text: str) -> float:
    """An argparse type: a cache hit ratio from 0 to 1, or a percentage such as 90%."""
    try:
        value = float(text[:-1]) / 100 if text.endswith("%") else float(text)
    except ValueError:
        value = -1.0
    if not 0 <= value <= 1:
        raise argparse.ArgumentTypeError(f"{text!r} is not a ratio from 0 to 1 (or 0% to 100%)")
    return value


def milliseconds(text: str) -> float:
    """An argparse type: a duration in milliseconds, more than 0 and at most 30,000 (Lambda@Edge's
    origin-request timeout, 30 s)."""
    try:
        value = float(text)
    except ValueError:
        value = 0.0
    if not 0 < value <= 30_000:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a duration of more than 0 and at most 30000 ms"
        )
    return value


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
