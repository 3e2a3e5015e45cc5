"""``python -m tools.launch MODULE [ARGUMENTS...]``: ``python -m MODULE ARGUMENTS...``, with one
line instead of a traceback (or a silent death) for a Ctrl-C or SIGTERM that arrives while Python is
still importing the command.

Every command takes over SIGINT and SIGTERM as it starts (``tools.interrupt``, through
``run_command``), but its imports come first: half a second or more, in which Python's default
handlers would end a Ctrl-C with a ``KeyboardInterrupt`` traceback and a SIGTERM with nothing said.
``./dev`` starts every Python command through this module, which takes both signals over before
anything else is imported (``tools.interrupt`` needs the standard library alone).
"""

from __future__ import annotations

import runpy
import signal
import sys
from types import FrameType

from tools.interrupt import STOP_SIGNALS, Stopped, signal_name


def _stop_before_start(number: int, frame: FrameType | None) -> None:
    raise Stopped(number)


def main() -> None:
    if len(sys.argv) < 2:
        sys.exit("usage: python -m tools.launch MODULE [ARGUMENTS...]")
    for stop_signal in STOP_SIGNALS:
        signal.signal(stop_signal, _stop_before_start)
    module = sys.argv[1]
    # The command sees the arguments `python -m MODULE` would give it (runpy sets argv[0]).
    del sys.argv[1]
    try:
        runpy.run_module(module, run_name="__main__", alter_sys=True)
    except KeyboardInterrupt as stopped:
        # Raised before the command took the signals over, which it does before starting anything.
        number = stopped.number if isinstance(stopped, Stopped) else signal.SIGINT
        verb = "interrupted" if number == signal.SIGINT else "terminated"
        print(f"{verb} ({signal_name(number)}) before the command started", file=sys.stderr)
        sys.exit(128 + number)


if __name__ == "__main__":
    main()
