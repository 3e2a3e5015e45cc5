"""Ctrl-C (SIGINT) and SIGTERM for every ``./dev`` command: one line at once, then a clean stop.

``run_command`` installs ``StopSignals`` for the length of a command. The first signal prints one
line on stderr ("interrupted (Ctrl-C): stopping ...") and raises ``Stopped`` (a
``KeyboardInterrupt``) in the main thread, so that every ``with`` and ``finally`` on the way out
runs, as Python does for Ctrl-C by default; SIGTERM is handled the same way, so a supervisor's stop
cleans up too. The command ends with status 128 + the signal's number (130 for SIGINT, 143 for
SIGTERM), as shells report a process a signal ended.

Clean-up that must not be cut half-way (stopping servers, removing temporary folders, aborting
uploads) runs inside ``shielded()``: a signal that arrives there is announced at once and raised
when the block ends. A second signal while the command is stopping ends it at once
(``os._exit``), saying what that leaves undone, for a clean-up that hangs: the convention of the
Pulumi CLI, which cancels on the first Ctrl-C and terminates on the second. Temporary folders
made with ``temporary_folder`` go even then (and ``at_forced_stop`` says what is
left to finish); the process's ports, threads and
sockets end with it.
"""

from __future__ import annotations

import os
import shutil
import signal
import tempfile
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager, suppress
from pathlib import Path
from types import FrameType
from typing import Any

STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)
# How each signal is named in the line it prints.
_NAMES = {signal.SIGINT: "Ctrl-C", signal.SIGTERM: "SIGTERM"}


class Stopped(KeyboardInterrupt):
    """A stop signal (SIGINT or SIGTERM), raised in the main thread."""

    def __init__(self, number: int) -> None:
        super().__init__(signal.Signals(number).name)
        self.number = number

    @property
    def exit_status(self) -> int:
        """128 + the signal's number: 130 for SIGINT, 143 for SIGTERM."""
        return 128 + self.number


def signal_name(number: int) -> str:
    """How a stop signal is named to a person: Ctrl-C for SIGINT, else its name."""
    return _NAMES.get(signal.Signals(number), signal.Signals(number).name)


def stopping_line(number: int, stopping: str, *, again: bool = True) -> str:
    """The one line a stop signal gets: "interrupted (Ctrl-C): ``stopping``", and with ``again``
    that a second one stops at once."""
    name = signal_name(number)
    verb = "interrupted" if number == signal.SIGINT else "terminated"
    return f"{verb} ({name}): {stopping}" + (f"; {name} again stops at once" if again else "")


def say(line: str) -> None:
    """Write ``line`` to stderr at once, safely from a signal handler."""
    # os.write, not print: a handler runs between two bytecodes of the main thread, which may be
    # half-way through a write to sys.stderr's buffer (a reentrant write raises RuntimeError).
    with suppress(OSError):  # no stderr to tell: stopping matters more
        os.write(2, (line + "\n").encode(errors="replace"))


class StopSignals:
    """SIGINT and SIGTERM handlers for one command; ``install`` and ``restore`` from the main
    thread (where Python runs signal handlers)."""

    def __init__(self, stopping: str = "stopping", forced: str = "") -> None:
        # What the command does when told to stop, said after "interrupted (Ctrl-C): ".
        self.stopping = stopping
        # What a stop at once leaves undone, said after "stopped at once" ("" when nothing).
        self.forced = forced
        # Quick, local clean-ups a stop at once still does (removing temporary folders).
        self.at_forced_stop: list[Callable[[], None]] = []
        self.received: int | None = None
        self._raised = False
        self._shield_depth = 0
        self._previous: dict[int, Any] = {}

    def install(self) -> bool:
        """Take over both signals; False (nothing done) outside the main thread."""
        if threading.current_thread() is not threading.main_thread():
            return False
        for number in STOP_SIGNALS:
            self._previous[number] = signal.signal(number, self._handle)
        return True

    def restore(self) -> None:
        for number, handler in self._previous.items():
            signal.signal(number, handler)
        self._previous = {}

    def _handle(self, number: int, frame: FrameType | None) -> None:
        name = signal_name(number)
        if self.received is not None:
            say(f"{name} again: stopped at once{self.forced}")
            for clean_up in self.at_forced_stop:
                with suppress(Exception):
                    clean_up()
            os._exit(128 + number)
        self.received = number
        say(stopping_line(number, self.stopping))
        if self._shield_depth == 0:
            self._raised = True
            raise Stopped(number)

    @contextmanager
    def shielded(self) -> Iterator[None]:
        """Run the block to its end whatever signal arrives; a stop signal received meanwhile is
        raised when it ends (a second one still stops at once)."""
        self._shield_depth += 1
        try:
            yield
        finally:
            self._shield_depth -= 1
        if self._shield_depth == 0 and self.received is not None and not self._raised:
            self._raised = True
            raise Stopped(self.received)


# The handlers of the commands running in this process, innermost last (``run_command`` sets them).
_running: list[StopSignals] = []


@contextmanager
def stop_signals(stopping: str = "stopping", forced: str = "") -> Iterator[StopSignals]:
    """``StopSignals`` installed inside the block (in the main thread; elsewhere, nothing)."""
    handlers = StopSignals(stopping, forced)
    if not handlers.install():
        yield handlers
        return
    _running.append(handlers)
    try:
        yield handlers
    finally:
        _running.remove(handlers)
        handlers.restore()


@contextmanager
def shielded() -> Iterator[None]:
    """The running command's ``StopSignals.shielded``; without one, just the block."""
    if not _running:
        yield
        return
    with _running[-1].shielded():
        yield


@contextmanager
def worker_threads(count: int | None = None, name: str = "") -> Iterator[ThreadPoolExecutor]:
    """A thread pool that, left by an exception (a stop signal among them), drops the work not
    started and waits only for what is in flight; an executor's own ``with`` would run it all
    first."""
    pool = ThreadPoolExecutor(count, thread_name_prefix=name)
    try:
        yield pool
    except BaseException:
        pool.shutdown(wait=False, cancel_futures=True)
        raise
    finally:
        pool.shutdown(wait=True)


@contextmanager
def at_forced_stop(clean_up: Callable[[], None]) -> Iterator[None]:
    """Inside the block, a stop at once (a second signal) still calls ``clean_up``: something
    quick and local, such as removing a temporary folder or saying what is left to finish."""
    if not _running:
        yield
        return
    handlers = _running[-1]
    handlers.at_forced_stop.append(clean_up)
    try:
        yield
    finally:
        handlers.at_forced_stop.remove(clean_up)


@contextmanager
def temporary_folder(prefix: str) -> Iterator[Path]:
    """A new temporary folder inside the block, removed when it ends, and by a stop at once too
    (it stays registered for that until it is gone)."""
    folder = Path(tempfile.mkdtemp(prefix=prefix))
    with at_forced_stop(lambda: shutil.rmtree(folder, ignore_errors=True)):
        try:
            yield folder
        finally:
            shutil.rmtree(folder, ignore_errors=True)


def stop_requested() -> bool:
    """Whether the running command has been told to stop (for loops in other threads)."""
    return bool(_running) and _running[-1].received is not None
