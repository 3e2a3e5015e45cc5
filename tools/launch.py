"""``python -m tools.launch MODULE [ARGUMENTS...]``: ``python -m MODULE ARGUMENTS...``, with one
line instead of a traceback for a Ctrl-C that arrives while Python is still importing the command.

Every command takes over SIGINT and SIGTERM as it starts (``tools.interrupt``, through
``run_command``), but its imports come first: half a second or more, in which Python's default
handler would end a Ctrl-C with a ``KeyboardInterrupt`` traceback. ``./dev`` starts every Python
command through this module, which imports nothing but the standard library before the command.
"""

from __future__ import annotations

import runpy
import sys


def main() -> None:
    if len(sys.argv) < 2:
        sys.exit("usage: python -m tools.launch MODULE [ARGUMENTS...]")
    module = sys.argv[1]
    # The command sees the arguments `python -m MODULE` would give it (runpy sets argv[0]).
    del sys.argv[1]
    try:
        runpy.run_module(module, run_name="__main__", alter_sys=True)
    except KeyboardInterrupt:
        # Raised before the command took over the signal, which it does before it starts anything.
        print("interrupted (Ctrl-C) before the command started", file=sys.stderr)
        sys.exit(130)


if __name__ == "__main__":
    main()
