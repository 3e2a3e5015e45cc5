"""The drill's evacuation: delete the health object from every bucket and see that nothing is
taken out and the alarms say so; stall a Region, let the evacuators take it out of rotation, lift
the stall, let them bring it back, and time each step as the edge sees it. One vantage Region's
runs are duplicated throughout (Lambda may deliver an event twice): it must count each tick once.

The evacuators run in-process (``sandbox.state``), every interval scaled down by ``SCALE``; so is
the Lambda@Edge function's refresh of the state, so the figures measured here are AWS's divided by
``SCALE``, plus the store's propagation, which is instant here. When the edge routes around the
stalled Region is seen by asking the stack's own function where it sends each edge Region's cache
miss (``EdgeEmulator.routes_now``), often: as a busy edge would, which reads the state again as
soon as its refresh is due. No viewer request goes to the stalled Region meanwhile; it would wait
out S3's response timeout.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field

from core.engine import Engine
from core.evacuation import EVACUATION_PROBE_SECONDS, EVACUATION_QUORUM
from core.monitoring import health_object_alarm_name
from evacuation.evacuator import HEALTH_KEY
from routing.catalogue import lambda_edge_execution_regions
from sandbox.regional_s3 import Fault
from sandbox.stack import Sandbox
from sandbox.state import PROBE_READ_TIMEOUT_SECONDS, PROBE_SECONDS, SCALE, EvacuatorRunner

# How often the drill asks the state and the edge whether a change has happened: each time a read
# of the state table and a run of the edge's function per edge Region, in the evacuators' process.
_POLL_SECONDS = 0.05
# Room above the longest wait the settings allow, for a machine shared with other work: in rounds
# of the evacuators for what they decide (on a busy machine a round takes longer than its interval,
# so a wait in seconds would fail a drill the evacuators pass), in seconds for the edge's refresh.
_SLACK_ROUNDS = 6
_SLACK_SECONDS = 2.0
# How long the evacuators get to run a first round before the stall: they start from nothing.
_SETTLE_TIMEOUT_S = 10.0
# With the health object gone: ticks to wait in which the checks could (wrongly) act, and how long
# the alarms may take (an invocation's worth of rounds, then the window).
_QUIET_TICKS = 10
_ALARM_TIMEOUT_S = 15.0


@dataclass
class EvacuationFigures:
    """Seconds from the stall (then from its end) to each step; None when it did not happen in
    time."""

    region: str
    out_s: float | None = None  # out of rotation: the state written
    edge_out_s: float | None = None  # the edge routes around it
    back_s: float | None = None  # back in rotation: the state written
    edge_back_s: float | None = None  # the edge sends to it again
    events: list[str] = field(default_factory=list)


def _within_rounds(
    condition: Callable[[], bool], runner: EvacuatorRunner, rounds: int, started: float
) -> float | None:
    """Seconds from ``started`` until ``condition`` held, polling; None once every evacuator has
    run ``rounds`` more rounds without it (counted in rounds, not seconds: a loaded machine's
    slower rounds make the drill wait longer, not fail), or past a minute."""
    done = runner.after(rounds)
    deadline = time.monotonic() + 60.0
    while True:
        if condition():
            return time.monotonic() - started
        if done() or time.monotonic() > deadline:
            return time.monotonic() - started if condition() else None
        time.sleep(_POLL_SECONDS)


def _wait(condition: Callable[[], bool], started: float, deadline: float) -> float | None:
    """Seconds from ``started`` until ``condition`` held, polling; None past ``deadline``."""
    while True:
        if condition():
            return time.monotonic() - started
        if time.monotonic() > deadline:
            return None
        time.sleep(_POLL_SECONDS)


def _seconds(value: float | None) -> str:
    return "never" if value is None else f"{value:.2f} s"


class EvacuationDrill:
    """Stall ``region`` with every vantage Region's evacuator running (``stalled``), then lift the
    stall (``recovered``); ``problem`` says what did not happen in time."""

    def __init__(self, sandbox: Sandbox, region: str) -> None:
        if sandbox.state is None:
            raise ValueError(f"stack {sandbox.settings.stack} has no routing state")
        self.sandbox = sandbox
        self.state = sandbox.state
        self.region = region
        self.figures = EvacuationFigures(region)
        self.problem: str | None = None
        self.back_problem: str | None = None
        self.health_problem: str | None = None
        self._runner: EvacuatorRunner | None = None
        self._running = ExitStack()

    def _routed_around(self) -> bool:
        edge = self.sandbox.edge
        return all(
            (targets := edge.routes_now(region)) and self.region not in targets
            for region in lambda_edge_execution_regions()
        )

    def _served_again(self) -> bool:
        """Every edge Region whose primary it is (with only the stack's drains out) goes to it."""
        routing = self.sandbox.settings.routing
        own = [
            edge
            for edge in lambda_edge_execution_regions()
            if routing.route_for(edge).primary == self.region
        ]
        return all(self.sandbox.edge.routes_now(edge)[:1] == (self.region,) for edge in own)

    def _is_out(self) -> bool:
        return self.region in self.state.read().evacuated

    @property
    def duplicated(self) -> str:
        """The vantage Region whose runs are duplicated."""
        return self.sandbox.settings.evacuation_vantages[0]

    def _start(self) -> EvacuatorRunner:
        if self._runner is None:
            self._runner = self._running.enter_context(
                self.state.evacuating(duplicated=self.duplicated)
            )
            self._runner.wait_rounds(1, _SETTLE_TIMEOUT_S)
        return self._runner

    @contextmanager
    def health_deleted(self) -> Iterator[None]:
        """The health object deleted in every bucket (one delete through a mesh that replicates
        delete markers): inside the block no origin is out and every origin's alarm is raised
        (or ``health_problem`` says otherwise). The objects are put back on leaving it."""
        runner = self._start()
        for region, bucket in self.sandbox.buckets.items():
            self.sandbox.emulators.client(region).delete_object(Bucket=bucket, Key=HEALTH_KEY)
        try:
            runner.wait_rounds(_QUIET_TICKS, _QUIET_TICKS * PROBE_SECONDS + _SLACK_SECONDS)
            alarms = [health_object_alarm_name(origin) for origin in self.sandbox.buckets]
            deadline = time.monotonic() + _ALARM_TIMEOUT_S
            raised = runner.alarms.raised if runner.alarms is not None else {}
            _wait(lambda: all(name in raised for name in alarms), time.monotonic(), deadline)
            out = self.state.read().out - self.sandbox.settings.routing.drained
            missing = [name for name in alarms if name not in raised]
            if out:
                self.health_problem = (
                    f"{', '.join(sorted(out))} taken out of rotation for a missing health object"
                )
            elif missing:
                self.health_problem = f"alarm(s) {', '.join(missing)} not raised"
            yield
        finally:
            for region in self.sandbox.buckets:
                self.sandbox.put_health_object(region)

    @contextmanager
    def stalled(self) -> Iterator[None]:
        """The Region stalled, and inside the block out of rotation at the edge (or ``problem``
        says why not). The stall outlasts the block: ``recovered`` lifts it."""
        self._start()
        settings = self.sandbox.settings
        self.sandbox.emulators.regions[self.region].fault = Fault.STALLED
        started = time.monotonic()
        rounds = settings.evacuation_failures + _SLACK_ROUNDS
        runner = self._start()
        self.figures.out_s = _within_rounds(self._is_out, runner, rounds, started)
        if self.figures.out_s is None:
            self.problem = (
                f"{self.region} was not taken out of rotation within {rounds} rounds of its "
                f"stall ({settings.evacuation_failures} failed probes in a row from "
                f"{EVACUATION_QUORUM} vantage Regions take it out)"
            )
        else:
            refresh = self.state.refresh_seconds
            deadline = time.monotonic() + refresh + _SLACK_SECONDS
            self.figures.edge_out_s = _wait(self._routed_around, started, deadline)
            if self.figures.edge_out_s is None:
                self.problem = (
                    f"the edge still routes to {self.region} {refresh + _SLACK_SECONDS:.1f} s "
                    "after the routing state put it out of rotation"
                )
            self.problem = self.problem or self._counted_once(started)
        yield

    def _counted_once(self, started: float) -> str | None:
        """With its runs duplicated, a vantage Region still counts each tick once: no more
        failures than ticks since the stall began."""
        view = self.state.state_table().view(self.duplicated)
        counted = view.streaks[self.region].failures if self.region in view.streaks else 0
        ticks = (time.monotonic() - started) / PROBE_SECONDS + 1
        if counted > ticks:
            return (
                f"{self.duplicated} counted {counted} failures of {self.region} in {ticks:.0f} "
                "ticks: its duplicated runs counted twice"
            )
        return None

    @contextmanager
    def recovered(self) -> Iterator[None]:
        """The stall lifted, and inside the block back in rotation at the edge (or
        ``back_problem`` says why not); the evacuators stop on leaving it."""
        settings = self.sandbox.settings
        self.sandbox.emulators.regions[self.region].fault = None
        started = time.monotonic()
        try:
            if self.figures.out_s is not None and self._runner is not None:
                rounds = settings.evacuation_recoveries + _SLACK_ROUNDS
                runner = self._start()
                self.figures.back_s = _within_rounds(
                    lambda: not self._is_out(), runner, rounds, started
                )
                if self.figures.back_s is None:
                    self.back_problem = (
                        f"{self.region} was not back in rotation {rounds} rounds after its stall "
                        f"ended ({settings.evacuation_recoveries} good probes in a row from "
                        f"{EVACUATION_QUORUM} vantage Regions bring it back)"
                    )
            if self.back_problem is None:
                deadline = time.monotonic() + self.state.refresh_seconds + _SLACK_SECONDS
                self.figures.edge_back_s = _wait(self._served_again, started, deadline)
                if self.figures.edge_back_s is None:
                    self.back_problem = f"the edge does not send to {self.region} again"
            yield
        finally:
            self.stop()

    def stop(self) -> None:
        """Stop the evacuators and lift the stall (again: at the end of the drill, whatever
        happened)."""
        if self._runner is not None:
            self.figures.events = list(self._runner.events)
        self._running.close()
        self._runner = None
        self.sandbox.emulators.regions[self.region].fault = None

    def report(self) -> list[str]:
        """The figures measured, and where AWS's are."""
        f, settings = self.figures, self.sandbox.settings
        where = (
            "DynamoDB's replication and a container's refresh"
            if settings.engine is Engine.LAMBDA_EDGE
            else "the key value store's propagation"
        )
        return [
            f"evacuation of {f.region}, measured here (probes every {PROBE_SECONDS:g} s, "
            f"{PROBE_READ_TIMEOUT_SECONDS:g} s read timeout, the edge's refresh "
            f"{self.state.refresh_seconds:g} s; AWS's intervals / {SCALE}): out of rotation "
            f"{_seconds(f.out_s)} after the stall began, the edge routed around it after "
            f"{_seconds(f.edge_out_s)}; back in rotation {_seconds(f.back_s)} after it ended, "
            f"the edge sent to it again after {_seconds(f.edge_back_s)}",
            f"at AWS's timing ({EVACUATION_PROBE_SECONDS} s probes, "
            f"{settings.evacuation_failures} failures and {settings.evacuation_recoveries} "
            f"recoveries from {EVACUATION_QUORUM} of {len(settings.evacuation_vantages)} vantage "
            f"Regions, EventBridge Scheduler's precision, duplicated and late runs, {where}): "
            "./dev simulate's figures, in docs/evacuation.md; one machine here runs every "
            "vantage Region at once, scaled down, and its load slows the rounds",
        ]
