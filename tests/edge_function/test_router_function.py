"""The CloudFront Functions engine's real code, run in a real JavaScript engine (V8, via
mini-racer) with CloudFront's event shape and a stand-in ``cloudfront`` module with a key value
store: its choice for every edge Region and every set of origins out of rotation equals the Python
routing table's."""

import functools
import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from core.cloudfront import FAILOVER_STATUS_CODES_ALLOWED
from edge_function.cloudfront_function import (
    MAX_CODE_BYTES,
    origin_id,
    render_function_code,
    route_targets,
)
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
from tests.support import SEED_ORIGINS, drained_routing_tables, kvs_value, out_sets

REGION_CODES = list(load_catalogue())
UNKNOWN_REGIONS = ["xx-nowhere-9", "us-east-12", "", "__proto__", "constructor", "toString"]
EVENT = viewer_request_event(
    "GET", "/assets/where.json", host="d111111abcdef8.cloudfront.net", client_ip="203.0.113.7"
)
CODES = (403, 404, 500, 502, 503, 504)
# The key the routing state is stored under (the evacuator's).
STATE_KEY = "rotation"


def expected_choice(table, codes, region, out=frozenset()) -> OriginChoice:
    edge = region if isinstance(region, str) else None
    targets = route_targets(table.route_for(edge, out))  # type: ignore[arg-type]
    ids = tuple(origin_id(target) for target in targets)
    return OriginChoice(ids, tuple(sorted(codes)) if len(ids) == 2 else ())


def function_for(table, codes=CODES, state_key=STATE_KEY, store=None) -> CloudFrontFunction:
    """The function for ``table``, associated with a key value store holding ``store``."""
    code = render_function_code(table, codes, state_key)
    assert aws_rules.cloudfront_function_code_problems(code) == []
    function = _function(code, tuple(origin_id(region) for region in table.origins))
    function.kvs = dict(store or {})
    return function


@functools.lru_cache(maxsize=16)
def _function(code: str, origin_ids: tuple[str, ...]) -> CloudFrontFunction:
    return CloudFrontFunction(code, origin_ids, kvs={})


def invoke(function, region, out=None):
    """Invoke with ``out`` (None: the store as it is) as the stored state."""
    if out is not None:
        function.kvs = {STATE_KEY: kvs_value(out)}
    return function.invoke(EVENT, edge_location(region) if region is not None else None)


@pytest.mark.parametrize("mode", list(FailoverMode))
@pytest.mark.parametrize("out", [(), ("eu-central-1",), ("us-east-1", "ap-northeast-1")])
def test_every_catalogue_region_and_unknown_ones_get_the_tables_choice(mode, out):
    table = derive_routing_table(SEED_ORIGINS, failover=mode, failover_origin="ap-northeast-1")
    function = function_for(table)
    for region in [*REGION_CODES, *UNKNOWN_REGIONS, None]:
        result = invoke(function, region, out)
        assert result.error is None and result.logs == []
        assert result.choice == expected_choice(table, CODES, region, frozenset(out)), region
        # The request itself goes on unchanged, and the store is read once.
        assert result.request == EVENT["request"]
        assert result.kvs_reads == 1


def test_ranked_failover_makes_a_group_with_the_next_in_rotation():
    function = function_for(derive_routing_table(SEED_ORIGINS))
    assert invoke(function, "eu-west-2", []).choice == OriginChoice(
        ("s3-eu-central-1", "s3-us-east-1"), CODES
    )
    assert invoke(function, "eu-west-2", ["us-east-1"]).choice == OriginChoice(
        ("s3-eu-central-1", "s3-ap-northeast-1"), CODES
    )
    assert invoke(function, "eu-west-2", ["eu-central-1"]).choice == OriginChoice(
        ("s3-us-east-1", "s3-ap-northeast-1"), CODES
    )
    # One origin in rotation: nothing to fail over to.
    assert invoke(function, "eu-west-2", ["eu-central-1", "us-east-1"]).choice == OriginChoice(
        ("s3-ap-northeast-1",)
    )


def test_fixed_failover_never_makes_a_group_of_one_bucket_twice_nor_with_an_out_origin():
    table = derive_routing_table(SEED_ORIGINS, failover="fixed", failover_origin="ap-northeast-1")
    function = function_for(table)
    # Tokyo's edges have the group's secondary as primary: no failover, as with Lambda@Edge.
    assert invoke(function, "ap-northeast-2", []).choice == OriginChoice(("s3-ap-northeast-1",))
    assert invoke(function, "eu-west-1", []).choice == OriginChoice(
        ("s3-eu-central-1", "s3-ap-northeast-1"), CODES
    )
    # The fixed origin out: no failover at all, and Tokyo's edges go to the next in rotation.
    assert invoke(function, "eu-west-1", ["ap-northeast-1"]).choice == OriginChoice(
        ("s3-eu-central-1",)
    )
    assert invoke(function, "ap-northeast-2", ["ap-northeast-1"]).choice == OriginChoice(
        ("s3-eu-central-1",)
    )


def test_failover_off_and_a_single_origin_select_the_primary():
    assert invoke(
        function_for(derive_routing_table(["eu-west-1"])), "us-west-2", []
    ).choice == OriginChoice(("s3-eu-west-1",))
    off = function_for(derive_routing_table(SEED_ORIGINS, failover="off"))
    assert invoke(off, "ap-south-1", []).choice == OriginChoice(("s3-eu-central-1",))
    assert invoke(off, "ap-south-1", ["eu-central-1"]).choice == OriginChoice(
        ("s3-ap-northeast-1",)
    )


@pytest.mark.parametrize("mode", list(FailoverMode))
def test_every_origin_out_fails_open(mode):
    table = derive_routing_table(SEED_ORIGINS, failover=mode)
    function = function_for(table)
    for region in ["eu-west-1", "ap-southeast-2", "xx-nowhere-9", None]:
        result = invoke(function, region, SEED_ORIGINS)
        assert result.error is None
        assert result.choice == expected_choice(table, CODES, region), region


@pytest.mark.parametrize(
    "location",
    [{"region": 5}, {"region": None}, {}, {"name": "SEA"}, {"region": ["eu-west-2"]}],
)
def test_a_strange_edge_location_takes_the_default_ranking(location):
    table = derive_routing_table(SEED_ORIGINS)
    function = function_for(table, store={STATE_KEY: kvs_value(["us-east-1"])})
    result = function.invoke(EVENT, location)
    assert result.error is None
    # The default ranking (us-east-1 first) with us-east-1 out.
    assert result.choice == expected_choice(table, CODES, None, frozenset({"us-east-1"}))
    assert result.choice == OriginChoice(("s3-eu-central-1", "s3-ap-northeast-1"), CODES)


@pytest.mark.parametrize(
    "store",
    [
        pytest.param({}, id="no key"),
        pytest.param({"other": kvs_value(["eu-central-1"])}, id="another key only"),
        pytest.param({STATE_KEY: "{not json"}, id="not json"),
        pytest.param({STATE_KEY: ""}, id="empty"),
        pytest.param({STATE_KEY: "null"}, id="null"),
        pytest.param({STATE_KEY: '["eu-central-1"]'}, id="a list, not an object"),
        pytest.param({STATE_KEY: '"eu-central-1"'}, id="a string"),
        pytest.param({STATE_KEY: "42"}, id="a number"),
        pytest.param({STATE_KEY: "{}"}, id="no out"),
        pytest.param({STATE_KEY: '{"out": "eu-central-1"}'}, id="out a string"),
        pytest.param({STATE_KEY: '{"out": null}'}, id="out null"),
        pytest.param(
            {STATE_KEY: '{"out": {"0": "eu-central-1", "length": 1}}'}, id="out array-like"
        ),
        pytest.param(
            {STATE_KEY: '{"out": [null, 5, {"r": "eu-central-1"}]}'}, id="out not Regions"
        ),
        pytest.param({STATE_KEY: '{"Out": ["eu-central-1"]}'}, id="wrong case"),
    ],
)
def test_a_missing_or_malformed_state_routes_by_the_rankings_without_error(store):
    table = derive_routing_table(SEED_ORIGINS)
    function = function_for(table, store=store)
    for region in ["eu-west-2", "ap-south-1", "xx-nowhere-9"]:
        result = function.invoke(EVENT, edge_location(region))
        assert result.error is None and result.logs == []
        assert result.choice == expected_choice(table, CODES, region), region
        assert result.kvs_reads == 1


@pytest.mark.parametrize(
    "failure",
    [
        "Promise.reject(new Error('ServiceUnavailable'))",
        "(function () { throw new Error('KVS unreachable'); })()",
        "new Promise(function (resolve, reject) { reject('not even an Error'); })",
    ],
)
def test_an_unreadable_store_routes_by_the_rankings_without_error(failure):
    table = derive_routing_table(SEED_ORIGINS)
    function = CloudFrontFunction(
        render_function_code(table, CODES, STATE_KEY),
        [origin_id(region) for region in SEED_ORIGINS],
        kvs={STATE_KEY: kvs_value(["eu-central-1"])},
    )
    # Every store handle the function takes now fails every read.
    function._context.eval(
        "var __kvs_handle = cf.kvs; cf.kvs = function () { var h = __kvs_handle(); "
        f"h.get = function () {{ __kvsReads++; return {failure}; }}; return h; }};"
    )
    result = function.invoke(EVENT, edge_location("eu-west-2"))
    assert result.error is None and result.logs == []
    assert result.choice == OriginChoice(("s3-eu-central-1", "s3-us-east-1"), CODES)
    assert result.kvs_reads == 1


DRAINED_TABLE = derive_routing_table(SEED_ORIGINS, drained=["eu-central-1"])


def stored_out(value):
    """The out-set a stored value names, as the function reads it: nothing unless it is JSON
    with an "out" list; of that list, the strings."""
    try:
        listed = json.loads(value)["out"]
    except (TypeError, ValueError, KeyError):
        return frozenset()
    if not isinstance(listed, list):
        return frozenset()
    return frozenset(code for code in listed if isinstance(code, str))


@pytest.mark.parametrize(
    "store",
    [
        pytest.param({}, id="no key (a store the key has not reached)"),
        pytest.param({STATE_KEY: kvs_value([])}, id="a value written before the drain"),
        pytest.param({STATE_KEY: kvs_value(["us-east-1"])}, id="an older evacuation only"),
        pytest.param({STATE_KEY: kvs_value(SEED_ORIGINS)}, id="every origin out"),
        pytest.param({STATE_KEY: "{not json"}, id="not json"),
        pytest.param({STATE_KEY: '{"out": null}'}, id="out null"),
    ],
)
def test_a_drained_origin_is_never_chosen_whatever_the_store_says(store):
    function = function_for(DRAINED_TABLE, store=store)
    out = stored_out(store.get(STATE_KEY))
    for region in [*REGION_CODES, *UNKNOWN_REGIONS, None]:
        result = function.invoke(EVENT, edge_location(region) if region is not None else None)
        assert result.error is None and result.logs == []
        assert result.choice == expected_choice(DRAINED_TABLE, CODES, region, out), region
        assert "s3-eu-central-1" not in result.choice.origin_ids, region


def test_a_drained_origin_is_never_chosen_when_the_store_cannot_be_read():
    function = CloudFrontFunction(
        render_function_code(DRAINED_TABLE, CODES, STATE_KEY),
        [origin_id(region) for region in SEED_ORIGINS],
        kvs={STATE_KEY: kvs_value([])},
    )
    function._context.eval(
        "var __kvs_handle = cf.kvs; cf.kvs = function () { var h = __kvs_handle(); "
        "h.get = function () { __kvsReads++; return Promise.reject(new Error('down')); }; "
        "return h; };"
    )
    for region in ["eu-west-2", "eu-central-1", "ap-south-1"]:
        result = function.invoke(EVENT, edge_location(region))
        assert result.error is None
        assert "s3-eu-central-1" not in result.choice.origin_ids, region
        assert result.choice == expected_choice(DRAINED_TABLE, CODES, region), region


@pytest.mark.parametrize(
    "value",
    [
        '{"v": 7, "out": ["eu-central-1"]}',
        '{"out": ["eu-central-1"], "v": 8, "since": {"eu-central-1": "2026-11-30T06:00:00Z"}}',
        '{"out": ["eu-central-1", 5, null], "by": "evacuator"}',
    ],
)
def test_fields_the_value_gains_are_ignored_and_its_out_list_still_read(value):
    table = derive_routing_table(SEED_ORIGINS)
    function = function_for(table, store={STATE_KEY: value})
    for region in ["eu-west-2", "ap-south-1", "us-east-1"]:
        result = function.invoke(EVENT, edge_location(region))
        assert result.error is None and result.logs == []
        assert result.choice == expected_choice(table, CODES, region, {"eu-central-1"}), region


def test_the_state_is_read_at_each_request():
    # No caching in the function: a change to the store is seen by the next request.
    function = function_for(derive_routing_table(SEED_ORIGINS))
    for out, primary in [
        ([], "s3-eu-central-1"),
        (["eu-central-1"], "s3-us-east-1"),
        (["eu-central-1", "us-east-1"], "s3-ap-northeast-1"),
        ([], "s3-eu-central-1"),
    ]:
        result = invoke(function, "eu-west-2", out)
        assert result.choice is not None and result.choice.origin_ids[0] == primary
        assert result.kvs_reads == 1


def test_without_a_state_key_the_function_never_touches_a_store():
    table = derive_routing_table(SEED_ORIGINS)
    code = render_function_code(table, CODES, state_key=None)
    ids = [origin_id(region) for region in SEED_ORIGINS]
    # No store associated: the stand-in's cf.kvs() throws, so a call at load would be refused.
    function = CloudFrontFunction(code, ids)
    for region in ["eu-west-2", "ap-south-1", None]:
        result = function.invoke(EVENT, edge_location(region) if region else None)
        assert result.error is None and result.kvs_reads == 0
        assert result.choice == expected_choice(table, CODES, region)
    # With a store associated, what it holds is ignored, and it is never read.
    associated = CloudFrontFunction(code, ids, kvs={STATE_KEY: kvs_value(["eu-central-1"])})
    result = associated.invoke(EVENT, edge_location("eu-west-2"))
    assert result.kvs_reads == 0
    assert result.choice == OriginChoice(("s3-eu-central-1", "s3-us-east-1"), CODES)


def test_a_store_that_is_not_there_routes_by_the_rankings_without_throwing():
    # The handle is taken inside the function's try: even a store CloudFront cannot give (the
    # stand-in's cf.kvs() throws without an association) routes by the rankings, never a 503.
    table = derive_routing_table(SEED_ORIGINS)
    code = render_function_code(table, CODES, STATE_KEY)
    function = CloudFrontFunction(code, [origin_id(region) for region in SEED_ORIGINS])
    result = function.invoke(EVENT, edge_location("eu-west-2"))
    assert result.error is None and result.logs == []
    assert result.choice == expected_choice(table, CODES, "eu-west-2")


def test_the_function_never_throws_even_when_a_helper_does():
    table = derive_routing_table(SEED_ORIGINS)
    function = CloudFrontFunction(
        render_function_code(table, CODES, STATE_KEY), ["s3-us-east-1"], kvs={}
    )
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
    code = render_function_code(table, CODES, STATE_KEY)
    ids = [origin_id(region) for region in SEED_ORIGINS]
    # Without one of the distribution's origins, the choice is invalid: CloudFront answers 503.
    result = CloudFrontFunction(code, ["s3-us-east-1"], kvs={}).invoke(
        EVENT, edge_location("eu-west-2")
    )
    assert result.choice is None and "'s3-eu-central-1' is not an origin" in result.error
    with pytest.raises(RejectedFunctionError):
        CloudFrontFunction(code.replace("import cf from 'cloudfront';", "// no module"), [])
    # Members as bare ids, the form of the guide's prose: only its example's objects are accepted.
    members = "[{ originId: ORIGIN_IDS[primary] }, { originId: ORIGIN_IDS[failover] }]"
    assert members in code
    bare = code.replace(members, "[ORIGIN_IDS[primary], ORIGIN_IDS[failover]]")
    result = CloudFrontFunction(bare, ids, kvs={}).invoke(EVENT, edge_location("eu-west-2"))
    assert result.choice is None and "each member must be an object {originId: ...}" in result.error
    unknown = code.replace("{ originId: ORIGIN_IDS[failover] }", "{ originId: 's3-mars-1' }")
    result = CloudFrontFunction(unknown, ids, kvs={}).invoke(EVENT, edge_location("eu-west-2"))
    assert result.choice is None and "'s3-mars-1' is not an origin" in result.error
    throwing = code.replace("return event.request;", "throw new Error('boom');")
    result = CloudFrontFunction(throwing, ["s3-us-east-1"], kvs={}).invoke(EVENT, None)
    assert result.error == "the function threw Error: boom"


def test_the_runtime_has_no_timers_network_or_eval():
    function = function_for(derive_routing_table(SEED_ORIGINS))
    for name in ("setTimeout", "fetch", "require", "eval", "XMLHttpRequest", "queueMicrotask"):
        assert function._context.eval(f"typeof globalThis.{name}") == "undefined", name


@pytest.mark.parametrize("mode", list(FailoverMode))
@pytest.mark.parametrize("drained", [0, len(REGION_CODES) - 1])
def test_every_catalogue_region_as_an_origin_fits_in_10_kb(mode, drained):
    # With none drained, and with all but one: the drained list is in the code too.
    table = derive_routing_table(REGION_CODES, failover=mode, drained=REGION_CODES[1 : 1 + drained])
    code = render_function_code(table, FAILOVER_STATUS_CODES_ALLOWED, STATE_KEY)
    assert len(code.encode("utf-8")) <= MAX_CODE_BYTES == aws_rules.CLOUDFRONT_FUNCTION_MAX_BYTES
    assert aws_rules.cloudfront_function_code_problems(code) == []
    # And it still routes: every origin but af-south-1 out, which with the drains would leave
    # nothing, and so is ignored for them: the one origin not drained serves.
    function = CloudFrontFunction(code, [origin_id(region) for region in REGION_CODES], kvs={})
    serving = REGION_CODES[0] if drained else "af-south-1"
    for region in ("eu-west-2", "ap-southeast-2", "sa-east-1"):
        result = invoke(
            function, region, [other for other in REGION_CODES if other != "af-south-1"]
        )
        assert result.choice is not None
        assert result.choice.origin_ids[0] == origin_id(serving)


@st.composite
def routing_settings(draw):
    codes = draw(
        st.lists(
            st.sampled_from(FAILOVER_STATUS_CODES_ALLOWED), min_size=1, max_size=8, unique=True
        )
    )
    return draw(drained_routing_tables()), tuple(sorted(codes))


edge_regions = (
    st.sampled_from(REGION_CODES)
    | st.from_regex(r"[a-z]{2}-[a-z]{4,9}-[1-9]", fullmatch=True)
    | st.sampled_from(UNKNOWN_REGIONS)
    | st.none()
)


# Every Region is swept in each example, at about 5 ms an invocation: fewer examples, each wide.
@settings(max_examples=40, deadline=None)
@given(
    data=st.data(),
    routing=routing_settings(),
    regions=st.lists(edge_regions, max_size=3),
)
def test_the_javascript_and_the_python_routing_table_always_agree(data, routing, regions):
    table, codes = routing
    function = function_for(table, codes)
    out = data.draw(out_sets(table), label="out")
    function.kvs = {STATE_KEY: kvs_value(out)}
    for region in [*REGION_CODES, *UNKNOWN_REGIONS, None, *regions]:
        result = function.invoke(EVENT, edge_location(region))
        assert result.error is None
        assert result.choice == expected_choice(table, codes, region, out), region
        assert result.kvs_reads == 1
        chosen = set(result.choice.origin_ids)
        assert len(chosen) == len(result.choice.origin_ids)
        # Never a drained origin; never one the store puts out unless it would leave nothing.
        assert chosen.isdisjoint(origin_id(code) for code in table.drained)
        if not set(table.origins) <= out | table.drained:
            assert chosen.isdisjoint(origin_id(code) for code in out)


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
    marker = "async function handler(event) {"
    assert marker in original
    template.write_text(original.replace(marker, f"{line}\n{marker}"))
    monkeypatch.setattr(cloudfront_function, "TEMPLATE", template)
    with pytest.raises(cloudfront_function.FunctionCodeError) as raised:
        render_function_code(derive_routing_table(SEED_ORIGINS), CODES, STATE_KEY)
    assert problem in str(raised.value)


@pytest.mark.parametrize(
    ("snippet", "problems"),
    [
        ("function handler(event) {", []),
        ("async function handler(event) {", []),
        (
            "var handler = async function (event) {",
            ["no top-level handler(event)", "an async closure"],
        ),
        ("var f = async () => 1;", ["an async closure"]),
        ("var g = list.map(async function (x) { return x; });", ["an async closure"]),
    ],
)
def test_the_static_rules_accept_an_async_handler_and_refuse_async_closures(snippet, problems):
    code = "import cf from 'cloudfront';\n" + snippet + "\n"
    if "handler" not in snippet:
        code += "async function handler(event) { return event.request; }\n"
    assert aws_rules.cloudfront_function_code_problems(code) == problems


def test_the_state_value_fits_the_key_value_stores_limits():
    # CloudFront developer guide, "File format for key-value pairs": keys of at most 512
    # characters, values of at most 1024. The largest value names every catalogue Region.
    value = kvs_value(REGION_CODES)
    assert json.loads(value) == {"out": sorted(REGION_CODES)}
    assert len(STATE_KEY) <= 512 and len(value) <= 1024
