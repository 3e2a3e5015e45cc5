"""Any subset of origins out of rotation, end to end in the sandbox with both engines: the state
written to the emulated store (the table's two owners' items; with CloudFront Functions the union
published to the key value store), read by the stack's real function (the packaged Lambda@Edge
handler, the CloudFront function in V8), and asked through the edge's HTTP port. No request reaches
an origin out of rotation, as primary or as failover; with every origin out the edge routes as if
none were (fail open); with the store unreadable it routes by the rankings and answers 200."""

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from evacuation.decide import Evacuation
from routing.catalogue import lambda_edge_execution_regions
from sandbox.drill import ask
from sandbox.regional_s3 import Fault
from sandbox.stack import Sandbox
from settings.parser import parse_settings

ORIGINS = ["us-east-1", "eu-central-1", "ap-northeast-1"]
RECORD = Evacuation("2026-11-30T06:00:00+00:00", "checks", "3 failed probes in a row")


@pytest.fixture(scope="module", params=["lambda-edge", "cloudfront-functions"])
def box(request):
    stack = parse_settings(
        {"origins": json.dumps(ORIGINS), "engine": request.param}, stack=f"prop-{request.param[:2]}"
    )
    # A short refresh: each example waits it out once.
    with Sandbox(stack, read_timeout=0.5, state_refresh_seconds=0.05) as sandbox:
        yield sandbox


def put_out(sandbox, drained, evacuated):
    """Both owners' parts of the state written as their owners write them, and let reach the
    edge."""
    table = sandbox.state.state_table()
    table.write_evacuated(dict.fromkeys(evacuated, RECORD), table.read().version)
    # Pulumi's item; with CloudFront Functions the sync publishes the union of both.
    sandbox.state.write_drained(drained)
    sandbox.await_propagation()
    sandbox.edge.invalidate()


@settings(max_examples=15, deadline=None)
@given(
    drained=st.frozensets(st.sampled_from(ORIGINS)),
    evacuated=st.frozensets(st.sampled_from(ORIGINS)),
    edge=st.sampled_from(lambda_edge_execution_regions()),
)
def test_no_request_reaches_an_origin_out_of_rotation_and_all_out_fails_open(
    box, drained, evacuated, edge
):
    out = drained | evacuated
    routing = box.settings.routing
    put_out(box, drained, evacuated)
    try:
        route = routing.route_for(edge, out)
        every_origin_out = set(ORIGINS) <= out
        if every_origin_out:
            assert route == routing.route_for(edge, frozenset())  # fail open
        else:
            assert {route.primary, route.failover}.isdisjoint(out)
        emulators = box.emulators.regions
        counts = {origin: emulators[origin].viewer_requests for origin in ORIGINS}
        answer = ask(box, edge, "index.html")
        assert (answer.status, answer.served_by, answer.failover) == (200, route.primary, False)
        if route.failover is not None:
            # The primary failing: the request fails over to the edge's failover in rotation.
            emulators[route.primary].fault = Fault.UNAVAILABLE
            try:
                answer = ask(box, edge, "assets/where.json")
            finally:
                emulators[route.primary].fault = None
            assert (answer.status, answer.served_by, answer.failover) == (200, route.failover, True)
        if not every_origin_out:
            assert all(emulators[o].viewer_requests == counts[o] for o in out)
    finally:
        put_out(box, (), ())


def test_an_unreadable_store_routes_by_the_rankings_without_an_error(box):
    put_out(box, (), {"eu-central-1"})
    try:
        assert ask(box, "eu-west-2", "index.html").served_by == "us-east-1"
        with box.state.unreadable():
            # A container that has read nothing yet (and any CloudFront function): the rankings.
            with box.cold_started():
                box.edge.invalidate()
                answer = ask(box, "eu-west-2", "index.html")
                assert (answer.status, answer.served_by, answer.failover) == (
                    200,
                    "eu-central-1",
                    False,
                )
            if box.settings.engine.value == "lambda-edge":
                # A container that read the state keeps it while the store is unreadable.
                box.await_propagation()
                box.edge.invalidate()
                assert ask(box, "eu-west-2", "assets/where.json").served_by == "us-east-1"
    finally:
        put_out(box, (), ())
