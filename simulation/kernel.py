"""A deterministic discrete-event kernel: simulated time, no sleeping.

Callbacks run in the kernel's own thread. A *process* (a Lambda invocation, a break-glass command)
is ordinary blocking code, the project's own, run in a thread of its own; but only one thread runs
at a time, and only until it calls ``sleep`` (every simulated AWS call does, for its latency):
then the kernel takes the next event in time order (ties in the order they were scheduled). So a
run is the same for the same seed, every time, and processes interleave at every AWS call, which
is where real concurrent invocations race.

A process can be killed (a Lambda function's timeout): its next ``sleep`` raises ``Killed``, a
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
        self.error: BaseException | None = None
        self.result: Any = None
        # Durations of the calls made inside ``Kernel.parallel``; None outside it.
        self.batch: list[float] | None = None
        self._go = threading.Semaphore(0)
        self._thread = threading.Thread(target=self._main, name=name, daemon=True)

    def _main(self) -> None:
        self._go.acquire()
        try:
            if not self.killed:
                self.result = self.target()
        except Killed:
            pass
        except BaseException as error:  # noqa: BLE001 - reported to the kernel, not lost
            self.error = error
        finally:
            self.done = True
            self.kernel._yielded()


class Kernel:
    def __init__(self, start: float = 0.0) -> None:
        self.now = start
        self._queue: list[tuple[float, int, Callable[[], None]]] = []
        self._sequence = 0
        self._back = threading.Semaphore(0)
        self._current: Process | None = None
        self.processes: list[Process] = []
        # Where the current ``run_until`` stops: no process skips past it.
        self._end = start
        # Errors of processes that ended with one (a bug of the simulation or of the code).
        self.errors: list[tuple[str, BaseException]] = []

    # Time and events.

    def clock(self) -> float:
        return self.now

    def at(self, time: float, callback: Callable[[], None]) -> None:
        """Run ``callback`` at ``time`` (at once if it has passed), in the kernel's thread."""
        heapq.heappush(self._queue, (max(time, self.now), self._sequence, callback))
        self._sequence += 1

    def run_until(self, end: float) -> None:
        """Every event up to ``end``; the clock then reads ``end``."""
        self._end = end
        while self._queue and self._queue[0][0] <= end:
            time, _, callback = heapq.heappop(self._queue)
            self.now = time
            callback()
        self.now = max(self.now, end)

    # Processes.

    def spawn(
        self, name: str, target: Callable[[], Any], *, at: float, timeout: float | None = None
    ) -> Process:
        """``target`` started at ``at``; with ``timeout``, killed that many seconds later."""
        process = Process(self, name, target)
        self.processes.append(process)
        self.at(at, lambda: self._resume(process))
        if timeout is not None:
            self.at(at + timeout, lambda: self.kill(process))
        return process

    def kill(self, process: Process) -> None:
        if process.done or not process.started:
            process.killed = True
            return
        process.killed = True
        self._resume(process)

    def _resume(self, process: Process) -> None:
        if process.done:
            return
        self._current = process
        if not process.started:
            process.started = True
            process._thread.start()
        process._go.release()
        self._back.acquire()
        self._current = None
        if process.done:
            process._thread.join()
            if process.error is not None:
                self.errors.append((process.name, process.error))

    def _yielded(self) -> None:
        self._back.release()

    @property
    def current(self) -> Process:
        process = self._current
        if process is None or threading.current_thread() is not process._thread:
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
        self.at(wake, lambda: self._resume(process))
        self._yielded()
        process._go.acquire()
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
        for process in self.processes:
            if not process.done:
                self.kill(process)
        self.processes = [process for process in self.processes if not process.done]


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
        return iter(
            kernel.parallel(lambda args: function(*args), list(zip(*iterables, strict=True)))
        )
