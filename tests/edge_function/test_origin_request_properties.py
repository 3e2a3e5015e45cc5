"""Property-based tests over random origin sets, routing settings, execution Regions and events."""

import copy
import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from edge_function import origin_request
from routing.catalogue import load_catalogue
from routing.table import FailoverMode, choose, derive_routing_table
from tests.support import (
    FakeState,
    LambdaContext,
    artifact_for,
    context_in,
    custom_origin_event,
    domain_of,
    drained_routing_tables,
    expected_reroute,
    failover_request_event,
    origin_request_event,
    out_sets,
    request_of,
    routing_tables,
)

REGION_CODES = list(load_catalogue())


@st.composite
def routing_settings(draw):
    marker = draw(st.sampled_from(["X-Geo-Failover", "originTypeFailover", "x-FAILOVER-marker"]))
    return draw(routing_tables()), marker


edge_regions = st.sampled_from(REGION_CODES) | st.from_regex(
    r"[a-z]{2}-[a-z]{4,9}-[1-9]", fullmatch=True
)
arns = edge_regions.map(lambda code: context_in(code).invoked_function_arn) | st.text(max_size=40)
header_names = st.from_regex(r"[A-Za-z][A-Za-z0-9-]{0,20}", fullmatch=True)


def handler_for(table, marker, state=None):
    return origin_request.build_handler(
        json.loads(artifact_for(table, marker_header=marker)), state=state
    )


@given(
    data=st.data(),
    settings=routing_settings(),
    edges=st.lists(edge_regions, min_size=1, max_size=4),
    group_member=st.sampled_from(REGION_CODES),
)
def test_every_out_set_routes_as_the_routing_table_chooses(data, settings, edges, group_member):
    table, marker = settings
    state = FakeState()
    handler = handler_for(table, marker, state)
    asked = []
    # The same container sees the state change between requests.
    for out in data.draw(st.lists(out_sets(table), min_size=1, max_size=3), label="out sets"):
        state.current = out
        every_origin_out = set(table.origins) <= out
        for edge in edges:
            route = table.route_for(edge, out)
            event = origin_request_event(origin_region=group_member)
            primary = handler(copy.deepcopy(event), context_in(edge))
            assert primary == expected_reroute(event, route.primary), (out, edge)

            retry = failover_request_event(origin_region=group_member, marker_header=marker)
            failover = handler(copy.deepcopy(retry), context_in(edge))
            target = route.failover or route.primary
            assert failover == expected_reroute(retry, target), (out, edge)
            if not every_origin_out:
                # Never to an origin out of rotation, as primary or failover.
                assert {route.primary, target}.isdisjoint(out)
            else:
                # Fail open: exactly as if nothing were out.
                assert route == table.route_for(edge, frozenset())
            if table.failover_mode is FailoverMode.RANKED and route.failover is not None:
                assert failover["origin"]["s3"]["domainName"] != domain_of(route.primary)
            asked += [edge, edge]
    # Once per request, for the Region the function executes in.
    assert state.asked == asked


@given(data=st.data(), table=drained_routing_tables(), edge=st.sampled_from(REGION_CODES))
def test_the_handlers_choose_is_the_routing_tables(data, table, edge):
    out = data.draw(out_sets(table), label="out")
    ranking = table.rankings[edge]
    route = choose(ranking, out, table.failover_mode, table.failover_origin, table.drained)
    # The artifact names the fixed failover origin in fixed mode only.
    fixed = table.failover_origin if table.failover_mode is FailoverMode.FIXED else None
    assert origin_request.choose(ranking, out, table.failover_mode.value, fixed, table.drained) == (
        route.primary,
        route.failover,
    )


@given(
    data=st.data(),
    table=drained_routing_tables(),
    edges=st.lists(edge_regions, min_size=1, max_size=4),
)
def test_a_drained_origin_is_never_a_target_whatever_the_state_says(data, table, edges):
    # Drains are in the artifact: no out-set the state can hold, all of them included, and no
    # state at all (a container that has read nothing), sends a request to a drained origin.
    state = FakeState()
    handler = handler_for(table, "X-Geo-Failover", state)
    for out in [frozenset(), *data.draw(st.lists(out_sets(table), max_size=3), label="out sets")]:
        state.current = out
        for edge in edges:
            route = table.route_for(edge, out)
            targets = set()
            for event in (
                origin_request_event(),
                failover_request_event(origin_region=table.origins[0]),
            ):
                request = handler(copy.deepcopy(event), context_in(edge))
                targets.add(request["origin"]["s3"]["region"])
            assert targets == {route.primary, route.failover or route.primary}, (out, edge)
            assert targets.isdisjoint(table.drained), (out, edge)
            if not set(table.origins) <= out | table.drained:
                assert targets.isdisjoint(out), (out, edge)


@given(
    settings=routing_settings(),
    arn=arns,
    extra_headers=st.dictionaries(header_names, st.text(max_size=20), max_size=4),
    uri=st.text(min_size=1, max_size=30).map(lambda text: "/" + text),
    kind=st.sampled_from(["normal", "failover", "custom"]),
)
def test_only_domain_region_and_host_ever_change(settings, arn, extra_headers, uri, kind):
    table, marker = settings
    out = frozenset(table.origins[:1])
    event = {
        "normal": lambda: origin_request_event(custom_headers=extra_headers),
        "failover": lambda: origin_request_event(custom_headers={**extra_headers, marker: "1"}),
        "custom": custom_origin_event,
    }[kind]()
    request_of(event)["uri"] = uri
    before = copy.deepcopy(request_of(event))
    after = handler_for(table, marker, FakeState(out))(event, LambdaContext(arn))
    if kind == "custom":
        assert after == before
        return
    for request in (before, after):
        request["headers"].pop("host")
        for field in ("domainName", "region"):
            request["origin"]["s3"].pop(field)
    assert after == before


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=10),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4)
    ),
    max_leaves=20,
)


@st.composite
def damaged_events(draw):
    event = draw(
        st.sampled_from(
            [
                origin_request_event,
                custom_origin_event,
                lambda: failover_request_event(origin_region="eu-central-1"),
            ]
        )
    )()
    target = request_of(event)
    path = draw(st.sampled_from([[], ["origin"], ["origin", "s3"], ["headers"]]))
    for key in path:
        target = target.get(key, {}) if isinstance(target, dict) else {}
    if isinstance(target, dict) and target:
        target[draw(st.sampled_from(sorted(target)))] = draw(json_values)
    return event


@given(
    event=damaged_events() | json_values, context=st.none() | arns.map(LambdaContext) | json_values
)
def test_the_handler_never_raises(event, context):
    handler = handler_for(
        derive_routing_table(["us-east-1", "eu-west-1"]), "X-Geo-Failover", FakeState({"eu-west-1"})
    )
    handler(event, context)


json_documents = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(), children, max_size=4)
    ),
    max_leaves=30,
)


@given(
    document=json_documents,
    indent=st.none() | st.integers(0, 2),
    padding=st.sampled_from(["", " ", "\n", " \t\n"]),
)
def test_parse_json_agrees_with_json_loads(document, indent, padding):
    text = padding + json.dumps(document, indent=indent) + padding
    assert origin_request.parse_json(text) == json.loads(text)


@given(text=st.text(max_size=30))
def test_parse_json_rejects_what_json_loads_rejects(text):
    try:
        expected = json.loads(text)
    except ValueError:
        with pytest.raises(ValueError):
            origin_request.parse_json(text)
        return
    assert json.dumps(origin_request.parse_json(text)) == json.dumps(expected)  # NaN != NaN
