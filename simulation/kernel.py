"""A deterministic discrete-event kernel: simulated time, no sleeping.

A *process* (a Lambda invocation, a break-glass command) is ordinary blocking code, the project's
own, run in a thread of its own; but only one thread runs at a time, and only until it calls
``sleep`` (every simulated AWS call does, for its latency). Then the next event in time order
(ties in the order they were scheduled) runs: a callback, in whichever thread holds the baton, or
another process, which gets the baton. So a run is the same for the same seed, every time, and
processes interleave at every AWS call, which is where concurrent invocations race.

A process can be killed (a Lambda function's timeout): its ``sleep`` raises ``Killed``, a
``BaseException`` the code under test does not catch, and every simulated call after it raises it
again while the thread unwinds.
"""

from __future__ import annotations

import heapq
import threading
from collections.abc import Callable, Iterable, Iterator
from typing import Any, TypeVar

_Item = TypeVar("_Item")
_Result = TypeVar("_Result")


class Killed(BaseException):
    """The process was stopped from outside (a function's timeout)."""


class Process:
    """Blocking code run on the kernel's clock."""

    def __init__(self, kernel: Kernel, name: str, target: Callable[[], Any]) -> None:
        self.kernel = kernel
        self.name = name
        self.target = target
        self.started = False
        self.done = False
        self.killed = False
        self.result: Any = None
        # Durations of the calls made inside ``Kernel.parallel``; None outside it.
        self.batch: list[float] | None = None
        self.gate = threading.Semaphore(0)
        self.thread = threading.Thread(target=self._main, name=name, daemon=True)

    def _main(self) -> None:
        self.gate.acquire()
        try:
            if not self.killed:
                self.result = self.target()
        except Killed:
            pass
        except BaseException as error:  # noqa: BLE001 - reported by the kernel, not lost
            self.kernel.errors.append((self.name, error))
        finally:
            self.done = True
            self.target = _finished  # what it held (an evacuator and its clients) can go
            self.kernel.processes.discard(self)
            # The baton goes on from here: this thread ends once it has handed it over.
            self.kernel._dispatch(self)


def _finished() -> None:
    return None


class Kernel:
    def __init__(self, start: float = 0.0) -> None:
        self.now = start
        # (time, sequence, a callback or a process to resume)
        self._queue: list[tuple[float, int, Callable[[], None] | Process]] = []
        self._sequence = 0
        self._main_gate = threading.Semaphore(0)
        self._current: Process | None = None
        # Where the current ``run_until`` stops.
        self._end = start
        # The processes started and not yet done.
        self.processes: set[Process] = set()
        # Errors of processes that ended with one (a bug of the simulation or of the code).
        self.errors: list[tuple[str, BaseException]] = []

    def clock(self) -> float:
        return self.now

    def _push(self, time: float, event: Callable[[], None] | Process) -> None:
        heapq.heappush(self._queue, (max(time, self.now), self._sequence, event))
        self._sequence += 1

    def at(self, time: float, callback: Callable[[], None]) -> None:
        """Run ``callback`` at ``time`` (at once if it has passed)."""
        self._push(time, callback)

    def run_until(self, end: float) -> None:
        """Every event up to ``end``; the clock then reads ``end``."""
        self._end = end
        self._dispatch(None)
        self.now = max(self.now, end)

    def _gate(self, process: Process | None) -> threading.Semaphore:
        return self._main_gate if process is None else process.gate

    def _dispatch(self, me: Process | None) -> None:
        """Run events until one resumes ``me`` (None: the main thread, which goes on once the run
        is over); a finished process hands the baton on and returns for good."""
        while True:
            if not self._queue or self._queue[0][0] > self._end:
                if me is not None:
                    self._switch(me, None)
                return
            time, _, event = heapq.heappop(self._queue)
            self.now = time
            if not isinstance(event, Process):
                event()
                continue
            if event.done:
                continue
            if event is me:
                return
            self._switch(me, event)
            return

    def _switch(self, me: Process | None, target: Process | None) -> None:
        """Hand the baton to ``target`` and wait until it comes back to ``me``."""
        self._current = target
        if target is not None and not target.started:
            target.started = True
            target.thread.start()
        self._gate(target).release()
        if me is not None and me.done:
            return
        self._gate(me).acquire()
        self._current = me

    def spawn(
        self, name: str, target: Callable[[], Any], *, at: float, timeout: float | None = None
    ) -> Process:
        """``target`` started at ``at``; with ``timeout``, killed that many seconds later."""
        process = Process(self, name, target)
        self.processes.add(process)
        self._push(at, process)
        if timeout is not None:
            self.at(at + timeout, lambda: self.kill(process))
        return process

    def kill(self, process: Process) -> None:
        if process.done:
            return
        process.killed = True
        if process.started:
            self._push(self.now, process)

    @property
    def current(self) -> Process:
        process = self._current
        if process is None or threading.current_thread() is not process.thread:
            raise RuntimeError("only a simulated process may wait on the simulated clock")
        return process

    def sleep(self, seconds: float) -> None:
        """From a process: let ``seconds`` of simulated time pass."""
        process = self.current
        if process.killed:
            raise Killed
        wake = self.now + max(0.0, seconds)
        if wake <= self._end and (not self._queue or self._queue[0][0] > wake):
            # Nothing happens before it wakes: the same run, without handing over the baton.
            self.now = wake
            return
        self._push(wake, process)
        self._dispatch(process)
        if process.killed:
            raise Killed

    def spend(self, seconds: float) -> None:
        """From a process: a call that takes ``seconds``; inside ``parallel``, the calls of the
        batch overlap (the batch takes as long as its longest call)."""
        process = self.current
        if process.killed:
            raise Killed
        if process.batch is not None:
            process.batch.append(seconds)
        else:
            self.sleep(seconds)

    def parallel(
        self, function: Callable[[_Item], _Result], items: Iterable[_Item]
    ) -> list[_Result]:
        """``function`` over ``items`` as a thread pool runs it: all at once, the batch ending with
        its slowest call. Each call sees the time the batch started."""
        process = self.current
        process.batch = []
        try:
            results = [function(item) for item in items]
            slowest = max(process.batch, default=0.0)
        finally:
            process.batch = None
        self.sleep(slowest)
        return results

    def stop(self) -> None:
        """Kill every process still alive, so that no thread outlives the simulation."""
        alive = [process for process in self.processes if process.started and not process.done]
        for process in alive:
            process.killed = True
            self._push(self.now, process)
        self.run_until(self.now)
        for process in alive:
            process.thread.join(timeout=5)


class SimulatedExecutor:
    """Stands in for ``concurrent.futures.ThreadPoolExecutor`` in the code under test: ``map`` runs
    on the kernel's clock (``Kernel.parallel``)."""

    kernel: Kernel | None = None

    def __init__(self, max_workers: int | None = None, **_: Any) -> None:
        self.max_workers = max_workers

    def __enter__(self) -> SimulatedExecutor:
        return self

    def __exit__(self, *exc_info: object) -> None:
        return None

    def map(self, function: Callable[..., _Result], *iterables: Iterable[Any]) -> Iterator[_Result]:
        kernel = SimulatedExecutor.kernel
        if kernel is None:
            raise RuntimeError("no simulation is running")
        arguments = list(zip(*iterables, strict=True))
        return iter(kernel.parallel(lambda args: function(*args), arguments))
