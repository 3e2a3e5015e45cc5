"""The drill's evacuation: stall a Region, let the evacuators take it out of rotation, lift the
stall, let them bring it back, and time each step as the edge sees it.

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
from core.evacuation import (
    EVACUATION_PROBE_SECONDS,
    EVACUATION_QUORUM,
    EVACUATION_READ_TIMEOUT_SECONDS,
)
from routing.artifact import DEFAULT_STATE_REFRESH_SECONDS
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
# Should the evacuators stop running altogether, how long a wait for their decision lasts at most.
_ROUNDS_BACKSTOP_S = 120.0
# How long the evacuators get to run a first round before the stall: they start from nothing.
_SETTLE_TIMEOUT_S = 10.0


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


def _wait(condition: Callable[[], bool], started: float, deadline: float) -> float | None:
    """Seconds from ``started`` until ``condition`` held, polling; None past ``deadline``."""
    while True:
        if condition():
            return time.monotonic() - started
        if time.monotonic() > deadline:
            return None
        time.sleep(_POLL_SECONDS)


def _wait_rounds(
    condition: Callable[[], bool], started: float, runner: EvacuatorRunner, rounds: int
) -> float | None:
    """Seconds from ``started`` until ``condition`` held, polling; None once every vantage
    Region's evacuator has run ``rounds`` more rounds without it."""
    target = {vantage: done + rounds for vantage, done in dict(runner.rounds).items()}
    backstop = time.monotonic() + _ROUNDS_BACKSTOP_S
    while True:
        if condition():
            return time.monotonic() - started
        if all(runner.rounds[v] >= n for v, n in target.items()) or time.monotonic() > backstop:
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

    @contextmanager
    def stalled(self) -> Iterator[None]:
        """The Region stalled, and inside the block out of rotation at the edge (or ``problem``
        says why not). The stall outlasts the block: ``recovered`` lifts it."""
        if self._runner is None:
            self._runner = self._running.enter_context(self.state.evacuating())
            self._runner.wait_rounds(1, _SETTLE_TIMEOUT_S)
        settings = self.sandbox.settings
        self.sandbox.emulators.regions[self.region].fault = Fault.STALLED
        started = time.monotonic()
        rounds = settings.evacuation_failures + _SLACK_ROUNDS
        self.figures.out_s = _wait_rounds(self._is_out, started, self._runner, rounds)
        if self.figures.out_s is None:
            self.problem = (
                f"{self.region} was not taken out of rotation within {rounds} rounds of probes "
                f"({time.monotonic() - started:.1f} s) after its stall "
                f"({settings.evacuation_failures} failed probes in a row from "
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
        yield

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
                self.figures.back_s = _wait_rounds(
                    lambda: not self._is_out(), started, self._runner, rounds
                )
                if self.figures.back_s is None:
                    self.back_problem = (
                        f"{self.region} was not back in rotation within {rounds} rounds of probes "
                        f"({time.monotonic() - started:.1f} s) after its stall ended "
                        f"({settings.evacuation_recoveries} good probes in a row "
                        f"from {EVACUATION_QUORUM} vantage Regions bring it back)"
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
        """The figures measured, and what they mean at AWS's scale."""
        f, settings = self.figures, self.sandbox.settings
        lines = [
            f"evacuation of {f.region}, measured here (probes every {PROBE_SECONDS:g} s, "
            f"{PROBE_READ_TIMEOUT_SECONDS:g} s read timeout, the edge's refresh "
            f"{self.state.refresh_seconds:g} s: AWS's intervals / {SCALE}): out of rotation "
            f"{_seconds(f.out_s)} after the stall began, the edge routed around it after "
            f"{_seconds(f.edge_out_s)}; back in rotation {_seconds(f.back_s)} after it ended, "
            f"the edge sent to it again after {_seconds(f.edge_back_s)}"
        ]

        def aws(value: float | None) -> str:
            return "never" if value is None else f"about {value * SCALE:.0f} s"

        if settings.engine is Engine.LAMBDA_EDGE:
            store = (
                'plus DynamoDB\'s replication ("typically within a second"); a container reads '
                f"the state within {DEFAULT_STATE_REFRESH_SECONDS:g} s of a change (its refresh)"
            )
        else:
            store = (
                "plus the key value store's propagation to the edges, which AWS does not "
                "document (instant here)"
            )
        lines.append(
            f"at AWS's scale (probes every {EVACUATION_PROBE_SECONDS} s, "
            f"{EVACUATION_READ_TIMEOUT_SECONDS} s read timeout, {settings.evacuation_failures} "
            f"failures and {settings.evacuation_recoveries} recoveries from "
            f"{EVACUATION_QUORUM} of {len(settings.evacuation_vantages)} vantage Regions): "
            f"out {aws(f.out_s)} after a Region stalls and no viewer request "
            f"reaches it {aws(f.edge_out_s)} after, {store}; back {aws(f.back_s)} after it "
            f"recovers, served again {aws(f.edge_back_s)} after"
        )
        return lines
