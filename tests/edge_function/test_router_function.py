"""The CloudFront Functions engine's real code, run in a real JavaScript engine (V8, via
mini-racer) with CloudFront's event shape and a stand-in ``cloudfront`` module: its choice for every
edge Region equals the Python routing table's."""

import functools

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from components.defaults import FAILOVER_STATUS_CODES_ALLOWED
from edge_function.cloudfront_function import origin_id, render_function_code, route_targets
from routing.catalogue import load_catalogue
from routing.table import FailoverMode, derive_routing_table
from sandbox.function_runtime import (
    CloudFrontFunction,
    OriginChoice,
    RejectedFunctionError,
    edge_location,
    viewer_request_event,
)
from tests import aws_rules
from tests.support import SEED_ORIGINS, routing_tables

REGION_CODES = list(load_catalogue())
UNKNOWN_REGIONS = ["xx-nowhere-9", "us-east-12", "", "__proto__", "constructor", "toString"]
EVENT = viewer_request_event(
    "GET", "/assets/where.json", host="d111111abcdef8.cloudfront.net", client_ip="203.0.113.7"
)
CODES = (403, 404, 500, 502, 503, 504)


def expected_choice(table, codes, region) -> OriginChoice:
    targets = route_targets(table.route_for(region) if region else table.default_route)
    ids = tuple(origin_id(target) for target in targets)
    return OriginChoice(ids, tuple(sorted(codes)) if len(ids) == 2 else ())


def function_for(table, codes=CODES) -> CloudFrontFunction:
    code = render_function_code(table, codes)
    assert aws_rules.cloudfront_function_code_problems(code) == []
    return _function(code, tuple(origin_id(region) for region in table.origins))


@functools.lru_cache(maxsize=16)
def _function(code: str, origin_ids: tuple[str, ...]) -> CloudFrontFunction:
    return CloudFrontFunction(code, origin_ids)


@pytest.mark.parametrize("mode", list(FailoverMode))
def test_every_catalogue_region_and_unknown_ones_get_the_tables_choice(mode):
    table = derive_routing_table(SEED_ORIGINS, failover=mode)
    function = function_for(table)
    for region in [*REGION_CODES, *UNKNOWN_REGIONS, None]:
        result = function.invoke(EVENT, edge_location(region))
        assert result.error is None and result.logs == []
        assert result.choice == expected_choice(table, CODES, region), region
        # The request itself goes on unchanged.
        assert result.request == EVENT["request"]


def test_ranked_failover_makes_a_group_with_the_next_nearest_bucket():
    table = derive_routing_table(SEED_ORIGINS)
    result = function_for(table).invoke(EVENT, edge_location("eu-west-2"))
    assert result.choice == OriginChoice(("s3-eu-central-1", "s3-us-east-1"), CODES)


def test_fixed_failover_never_makes_a_group_of_one_bucket_twice():
    table = derive_routing_table(SEED_ORIGINS, failover="fixed", failover_origin="ap-northeast-1")
    function = function_for(table)
    # Tokyo's edges have the group's secondary as primary: no failover, as with Lambda@Edge.
    assert function.invoke(EVENT, edge_location("ap-northeast-2")).choice == OriginChoice(
        ("s3-ap-northeast-1",)
    )
    assert function.invoke(EVENT, edge_location("eu-west-1")).choice == OriginChoice(
        ("s3-eu-central-1", "s3-ap-northeast-1"), CODES
    )


def test_failover_off_and_a_single_origin_select_the_primary():
    assert function_for(derive_routing_table(["eu-west-1"])).invoke(
        EVENT, edge_location("us-west-2")
    ).choice == OriginChoice(("s3-eu-west-1",))
    off = derive_routing_table(SEED_ORIGINS, failover="off")
    assert function_for(off).invoke(EVENT, edge_location("ap-south-1")).choice == OriginChoice(
        ("s3-eu-central-1",)
    )


@pytest.mark.parametrize(
    "location",
    [{"region": 5}, {"region": None}, {}, {"name": "SEA"}, {"region": ["eu-west-2"]}],
)
def test_a_strange_edge_location_takes_the_default_route(location):
    table = derive_routing_table(SEED_ORIGINS)
    result = function_for(table).invoke(EVENT, location)
    assert result.error is None
    assert result.choice == expected_choice(table, CODES, None)


def test_the_function_never_throws_even_when_a_helper_does():
    table = derive_routing_table(SEED_ORIGINS)
    function = CloudFrontFunction(render_function_code(table, CODES), ["s3-us-east-1"])
    function._context.eval(
        "cf.createRequestOriginGroup = function () { throw new Error('InvalidOriginGroup'); };"
    )
    result = function.invoke(EVENT, edge_location("eu-west-2"))
    # A thrown error would be a 503; the request stays on the distribution's default origin.
    assert result.error is None and result.choice is None
    assert result.request == EVENT["request"]
    assert result.logs == [
        "geo-proximity router: left on the default origin: Error: InvalidOriginGroup"
    ]


def test_the_stand_in_refuses_what_cloudfront_refuses():
    table = derive_routing_table(SEED_ORIGINS)
    code = render_function_code(table, CODES)
    # Without one of the distribution's origins, the choice is invalid: CloudFront answers 503.
    result = CloudFrontFunction(code, ["s3-us-east-1"]).invoke(EVENT, edge_location("eu-west-2"))
    assert result.choice is None and "'s3-eu-central-1' is not an origin" in result.error
    with pytest.raises(RejectedFunctionError):
        CloudFrontFunction(code.replace("import cf from 'cloudfront';", "// no module"), [])
    # Members as bare ids, the form of the guide's prose: only its example's objects are accepted.
    bare = code.replace(
        "[{ originId: ORIGIN_IDS[route[0]] }, { originId: ORIGIN_IDS[route[1]] }]",
        "[ORIGIN_IDS[route[0]], ORIGIN_IDS[route[1]]]",
    )
    assert bare != code
    ids = [origin_id(region) for region in SEED_ORIGINS]
    result = CloudFrontFunction(bare, ids).invoke(EVENT, edge_location("eu-west-2"))
    assert result.choice is None and "each member must be an object {originId: ...}" in result.error
    unknown = code.replace("{ originId: ORIGIN_IDS[route[1]] }", "{ originId: 's3-mars-1' }")
    result = CloudFrontFunction(unknown, ids).invoke(EVENT, edge_location("eu-west-2"))
    assert result.choice is None and "'s3-mars-1' is not an origin" in result.error
    throwing = code.replace("return event.request;", "throw new Error('boom');")
    result = CloudFrontFunction(throwing, ["s3-us-east-1"]).invoke(EVENT, None)
    assert result.error == "the function threw Error: boom"


def test_the_runtime_has_no_timers_network_or_eval():
    function = function_for(derive_routing_table(SEED_ORIGINS))
    for name in ("setTimeout", "fetch", "require", "eval", "XMLHttpRequest"):
        assert function._context.eval(f"typeof globalThis.{name}") == "undefined", name


@st.composite
def routing_settings(draw):
    codes = draw(
        st.lists(
            st.sampled_from(FAILOVER_STATUS_CODES_ALLOWED), min_size=1, max_size=8, unique=True
        )
    )
    return draw(routing_tables()), tuple(sorted(codes))


edge_regions = (
    st.sampled_from(REGION_CODES)
    | st.from_regex(r"[a-z]{2}-[a-z]{4,9}-[1-9]", fullmatch=True)
    | st.sampled_from(UNKNOWN_REGIONS)
    | st.none()
)


@settings(max_examples=150, deadline=None)
@given(routing=routing_settings(), regions=st.lists(edge_regions, min_size=1, max_size=6))
def test_the_javascript_and_the_python_routing_table_always_agree(routing, regions):
    table, codes = routing
    function = function_for(table, codes)
    for region in regions:
        result = function.invoke(EVENT, edge_location(region))
        assert result.error is None
        assert result.choice == expected_choice(table, codes, region)
        assert len(set(result.choice.origin_ids)) == len(result.choice.origin_ids)
        assert not {origin_id(code) for code in table.drained} & set(result.choice.origin_ids)


@pytest.mark.parametrize(
    ("line", "problem"),
    [
        ("var answer = fetch('https://example.com');", "'fetch('"),
        ("setTimeout(function () {}, 1);", "'setTimeout('"),
        ("var run = eval('1');", "'eval('"),
        ("import kvs from 'kvs';", "'import'"),
    ],
)
def test_code_the_runtime_does_not_allow_is_refused_before_deploy(
    tmp_path, monkeypatch, line, problem
):
    from edge_function import cloudfront_function

    template = tmp_path / "router.js"
    original = cloudfront_function.TEMPLATE.read_text(encoding="utf-8")
    template.write_text(
        original.replace("function handler(event) {", f"{line}\nfunction handler(event) {{")
    )
    monkeypatch.setattr(cloudfront_function, "TEMPLATE", template)
    with pytest.raises(cloudfront_function.FunctionCodeError) as raised:
        render_function_code(derive_routing_table(SEED_ORIGINS), CODES)
    assert problem in str(raised.value)
