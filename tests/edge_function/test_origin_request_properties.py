"""Property-based tests over random origin sets, routing settings, execution Regions and events."""

import copy
import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from edge_function import origin_request
from routing.catalogue import load_catalogue
from routing.table import FailoverMode, derive_routing_table
from tests.support import (
    LambdaContext,
    artifact_for,
    context_in,
    custom_origin_event,
    domain_of,
    failover_request_event,
    origin_request_event,
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


def handler_for(table, marker):
    return origin_request.build_handler(json.loads(artifact_for(table, marker_header=marker)))


@given(settings=routing_settings(), edge=edge_regions, group_member=st.sampled_from(REGION_CODES))
def test_targets_are_configured_buckets_and_failover_never_returns_to_the_primary(
    settings, edge, group_member
):
    table, marker = settings
    handler = handler_for(table, marker)
    # A drained origin is never a target.
    configured = {domain_of(code): code for code in table.active_origins}

    normal = handler(origin_request_event(origin_region=group_member), context_in(edge))
    assert configured[normal["origin"]["s3"]["domainName"]] == normal["origin"]["s3"]["region"]
    assert normal["headers"]["host"] == [
        {"key": "Host", "value": normal["origin"]["s3"]["domainName"]}
    ]

    event = failover_request_event(origin_region=group_member, marker_header=marker)
    untouched = copy.deepcopy(request_of(event))
    retried = handler(event, context_in(edge))
    if table.failover_mode is FailoverMode.RANKED and table.route_for(edge).failover:
        assert (
            configured[retried["origin"]["s3"]["domainName"]] == retried["origin"]["s3"]["region"]
        )
        assert retried["origin"]["s3"]["domainName"] != normal["origin"]["s3"]["domainName"]
    else:
        assert retried == untouched


@given(
    settings=routing_settings(),
    arn=arns,
    extra_headers=st.dictionaries(header_names, st.text(max_size=20), max_size=4),
    uri=st.text(min_size=1, max_size=30).map(lambda text: "/" + text),
    kind=st.sampled_from(["normal", "failover", "custom"]),
)
def test_only_domain_region_and_host_ever_change(settings, arn, extra_headers, uri, kind):
    table, marker = settings
    event = {
        "normal": lambda: origin_request_event(custom_headers=extra_headers),
        "failover": lambda: origin_request_event(custom_headers={**extra_headers, marker: "1"}),
        "custom": custom_origin_event,
    }[kind]()
    request_of(event)["uri"] = uri
    before = copy.deepcopy(request_of(event))
    after = handler_for(table, marker)(event, LambdaContext(arn))
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
    handler = handler_for(derive_routing_table(["us-east-1", "eu-west-1"]), "X-Geo-Failover")
    handler(event, context)


@given(settings=routing_settings())
def test_every_route_targets_an_origin_and_ranked_failover_differs(settings):
    table, _ = settings
    assert set(table.routes) == set(REGION_CODES)
    for route in [table.default_route, *table.routes.values()]:
        assert route.primary in table.origins
        if table.failover_mode is FailoverMode.OFF:
            assert route.failover is None
        else:
            assert route.failover in table.origins
        if table.failover_mode is FailoverMode.RANKED:
            assert route.failover != route.primary


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
