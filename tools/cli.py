"""What every ``./dev`` command shares: one-line errors, a quiet exit when the reader of its output
goes away, and argument types that refuse bad values with a message instead of a traceback."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable, Sequence

from content.folder import FolderError
from routing.catalogue import describe_unknown_region, load_catalogue
from settings import ConfigError
from tools.stack_file import StackFileError


class ToolError(Exception):
    """A problem the person running the tool can fix; printed as one line, exit status 2."""


# `./dev plan | head -1`: the shell's usual status for a writer whose reader left (128 + SIGPIPE).
EXIT_READER_GONE = 141


def run_command(
    main: Callable[[Sequence[str] | None], int], argv: Sequence[str] | None = None
) -> int:
    """Run a command's ``main``; a problem a person can fix is one line on stderr, exit 2."""
    try:
        return main(argv)
    except (ToolError, ConfigError, StackFileError, FolderError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    except BrokenPipeError:
        # The reader closed the pipe: stop without a traceback, and keep Python's own flush at exit
        # from failing again on the closed descriptor (Python docs, "Note on SIGPIPE").
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return EXIT_READER_GONE
    except KeyboardInterrupt:
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
    """An argparse type: a positive duration in milliseconds."""
    try:
        value = float(text)
    except ValueError:
        value = 0.0
    if not 0 < value <= 30_000:
        raise argparse.ArgumentTypeError(f"{text!r} is not a duration from 0 to 30000 ms")
    return value


def edge_region(text: str) -> str:
    """An argparse type: a Region code of the catalogue."""
    if text not in load_catalogue():
        raise argparse.ArgumentTypeError(describe_unknown_region(text))
    return text
