import pytest
from hypothesis import given
from hypothesis import strategies as st

import routing.catalogue
from routing.catalogue import great_circle_km, lambda_edge_execution_regions, load_catalogue
from routing.table import FailoverMode, Route, RoutingError, choose, derive_routing_table
from tests.support import SEED_ORIGINS, out_sets, routing_arguments, routing_tables


def distance(a: str, b: str) -> float:
    catalogue = load_catalogue()
    return great_circle_km(catalogue[a], catalogue[b])


@pytest.mark.parametrize(
    ("edge", "primary"),
    [
        ("eu-west-1", "eu-central-1"),  # the seed sends Dublin to its default bucket instead
        ("ap-southeast-2", "ap-northeast-1"),
        ("ap-southeast-1", "ap-northeast-1"),
        ("sa-east-1", "us-east-1"),
        ("us-west-2", "us-east-1"),
        ("eu-west-2", "eu-central-1"),
        ("ap-northeast-2", "ap-northeast-1"),
    ],
)
def test_seed_regions_route_to_their_nearest_bucket(seed_table, edge, primary):
    assert seed_table.routes[edge].primary == primary


def test_every_catalogue_region_has_its_nearest_origin_as_primary(seed_table):
    assert set(seed_table.routes) == set(load_catalogue())
    for edge, route in seed_table.routes.items():
        nearest = min(SEED_ORIGINS, key=lambda origin: distance(edge, origin))
        assert route.primary == nearest, edge


def test_ranked_failover_is_the_nearest_other_origin(seed_table):
    for edge, route in seed_table.routes.items():
        others = [origin for origin in SEED_ORIGINS if origin != route.primary]
        assert route.failover == min(others, key=lambda origin: distance(edge, origin)), edge
    assert seed_table.failover_mode is FailoverMode.RANKED


def test_nearest_routing_beats_the_seed_mapping_on_mean_distance(seed_table):
    # The seed maps six Regions by hand and sends every other one to its default (us-east-1).
    seed_mapping = {
        "us-east-1": "us-east-1",
        "us-east-2": "us-east-1",
        "eu-central-1": "eu-central-1",
        "eu-west-2": "eu-central-1",
        "ap-northeast-1": "ap-northeast-1",
        "ap-northeast-2": "ap-northeast-1",
    }
    regions = lambda_edge_execution_regions()
    seed_mean = sum(distance(r, seed_mapping.get(r, "us-east-1")) for r in regions) / len(regions)
    ours = sum(distance(r, seed_table.routes[r].primary) for r in regions) / len(regions)
    assert round(seed_mean) == 5138
    assert round(ours) == 2929


def test_default_route_and_unknown_regions(seed_table):
    assert seed_table.default_origin == "us-east-1"
    assert seed_table.default_route == Route("us-east-1", "eu-central-1")
    assert seed_table.route_for("xx-future-1") == seed_table.default_route
    assert seed_table.route_for("eu-west-1") == Route("eu-central-1", "us-east-1")


def test_default_origin_can_be_any_origin():
    table = derive_routing_table(SEED_ORIGINS, default_origin="ap-northeast-1")
    assert table.default_route == Route("ap-northeast-1", "eu-central-1")
    assert table.failover_origin == "eu-central-1"


def test_ties_are_broken_by_preference_order(monkeypatch):
    monkeypatch.setattr(routing.catalogue, "great_circle_km", lambda a, b: 0.0)
    table = derive_routing_table(["ap-northeast-1", "us-east-1", "eu-central-1"])
    assert set(table.routes.values()) == {Route("ap-northeast-1", "us-east-1")}
    reordered = derive_routing_table(["eu-central-1", "us-east-1", "ap-northeast-1"])
    assert set(reordered.routes.values()) == {Route("eu-central-1", "us-east-1")}


def test_overrides_pin_the_primary_and_keep_a_different_failover():
    table = derive_routing_table(
        SEED_ORIGINS, overrides={"ap-south-1": "ap-northeast-1", "us-west-2": "ap-northeast-1"}
    )
    assert table.routes["ap-south-1"] == Route("ap-northeast-1", "eu-central-1")
    assert table.routes["us-west-2"] == Route("ap-northeast-1", "us-east-1")
    assert table.routes["eu-west-1"].primary == "eu-central-1"  # untouched


def test_fixed_mode_fails_over_to_the_group_secondary_everywhere():
    table = derive_routing_table(SEED_ORIGINS, failover="fixed", failover_origin="ap-northeast-1")
    assert table.failover_mode is FailoverMode.FIXED
    assert {route.failover for route in table.routes.values()} == {"ap-northeast-1"}
    # Fixed mode is the seed's behaviour: Tokyo's failover request returns to Tokyo.
    assert table.routes["ap-northeast-1"] == Route("ap-northeast-1", "ap-northeast-1")
    # Unless the fixed origin is out of rotation: then there is no failover at all.
    assert table.route_for("eu-west-1", {"ap-northeast-1"}) == Route("eu-central-1", None)
    assert table.route_for("ap-northeast-2", {"ap-northeast-1"}) == Route("eu-central-1", None)


def test_off_mode_and_single_origin_have_no_failover():
    single = derive_routing_table(["eu-west-1"])
    assert single.failover_mode is FailoverMode.OFF
    assert single.failover_origin is None
    assert set(single.routes.values()) == {Route("eu-west-1", None)}
    off = derive_routing_table(SEED_ORIGINS, failover="off", failover_origin="ap-northeast-1")
    assert off.failover_origin is None
    assert all(route.failover is None for route in off.routes.values())


@pytest.mark.parametrize(
    ("arguments", "field", "fragments"),
    [
        ({"origins": []}, "origins", ["[] is not a non-empty list"]),
        ({"origins": "us-east-1"}, "origins", ["'us-east-1' is not a non-empty list"]),
        (
            {"origins": ["us-east-1", "eu-centrl-1"]},
            "origins",
            ["'eu-centrl-1' is not a known AWS Region code", "did you mean eu-central-1"],
        ),
        ({"origins": ["us-east-1", 7]}, "origins", ["7 is not a known AWS Region code"]),
        (
            {"origins": ["us-east-1", "eu-west-1", "us-east-1"]},
            "origins",
            ["'us-east-1' is listed twice"],
        ),
        (
            {"origins": SEED_ORIGINS, "default_origin": "eu-west-1"},
            "default_origin",
            ["'eu-west-1' has no bucket", "us-east-1, eu-central-1, ap-northeast-1"],
        ),
        (
            {"origins": SEED_ORIGINS, "overrides": {"ap-south-1": "ap-south-1"}},
            "overrides",
            ["route for ap-south-1: 'ap-south-1' has no bucket"],
        ),
        (
            {"origins": SEED_ORIGINS, "overrides": {"ap-mars-1": "us-east-1"}},
            "overrides",
            ["edge Region 'ap-mars-1' is not a known AWS Region code"],
        ),
        (
            {"origins": SEED_ORIGINS, "overrides": ["ap-south-1"]},
            "overrides",
            ["is not a map of edge Region to origin Region"],
        ),
        (
            {"origins": SEED_ORIGINS, "failover": "sometimes"},
            "failover",
            ["'sometimes' is not a failover mode", "ranked, fixed, off"],
        ),
        (
            {"origins": ["us-east-1"], "failover": "ranked"},
            "failover",
            ["'ranked' needs at least two origins", "use 'off'"],
        ),
        (
            {"origins": SEED_ORIGINS, "failover_origin": "sa-east-1"},
            "failover_origin",
            ["'sa-east-1' has no bucket"],
        ),
        (
            {"origins": SEED_ORIGINS, "failover_origin": "us-east-1"},
            "failover_origin",
            ["'us-east-1' is also the default origin", "eu-central-1, ap-northeast-1"],
        ),
    ],
)
def test_invalid_input_raises_one_clear_error(arguments, field, fragments):
    origins = arguments.pop("origins")
    with pytest.raises(RoutingError) as raised:
        derive_routing_table(origins, **arguments)
    assert raised.value.field == field
    assert str(raised.value).startswith(f"{field}: ")
    for fragment in fragments:
        assert fragment in str(raised.value)


def test_rankings_hold_every_origin_nearest_first(seed_table):
    assert set(seed_table.rankings) == set(load_catalogue())
    assert seed_table.rankings["eu-west-2"] == ("eu-central-1", "us-east-1", "ap-northeast-1")
    assert seed_table.rankings["ap-south-1"] == ("eu-central-1", "ap-northeast-1", "us-east-1")
    assert seed_table.rankings["ap-southeast-2"] == ("ap-northeast-1", "us-east-1", "eu-central-1")
    # The default ranking starts at the default origin, then goes nearest first from it.
    assert seed_table.default_ranking == ("us-east-1", "eu-central-1", "ap-northeast-1")


def test_a_pin_ranks_first_and_the_rest_stay_nearest_first():
    table = derive_routing_table(SEED_ORIGINS, overrides={"ap-south-1": "ap-northeast-1"})
    assert table.rankings["ap-south-1"] == ("ap-northeast-1", "eu-central-1", "us-east-1")
    assert table.pinned == {"ap-south-1"}
    # Out of rotation, a pinned origin gives way to the nearest in rotation until it is back.
    assert table.route_for("ap-south-1", {"ap-northeast-1"}) == Route("eu-central-1", "us-east-1")
    assert table.route_for("ap-south-1", set()) == Route("ap-northeast-1", "eu-central-1")


@pytest.mark.parametrize(
    ("mode", "out", "route"),
    [
        # Frankfurt's ranking: eu-central-1, us-east-1, ap-northeast-1; fixed origin Tokyo.
        ("ranked", set(), Route("eu-central-1", "us-east-1")),
        ("ranked", {"eu-central-1"}, Route("us-east-1", "ap-northeast-1")),
        ("ranked", {"us-east-1"}, Route("eu-central-1", "ap-northeast-1")),
        ("ranked", {"eu-central-1", "us-east-1"}, Route("ap-northeast-1", None)),
        ("fixed", set(), Route("eu-central-1", "ap-northeast-1")),
        ("fixed", {"eu-central-1"}, Route("us-east-1", "ap-northeast-1")),
        ("fixed", {"ap-northeast-1"}, Route("eu-central-1", None)),
        ("fixed", {"eu-central-1", "us-east-1"}, Route("ap-northeast-1", "ap-northeast-1")),
        ("off", set(), Route("eu-central-1", None)),
        ("off", {"eu-central-1", "ap-northeast-1"}, Route("us-east-1", None)),
        # Every origin out: as if none were (fail open), in every mode.
        ("ranked", set(SEED_ORIGINS), Route("eu-central-1", "us-east-1")),
        ("fixed", set(SEED_ORIGINS), Route("eu-central-1", "ap-northeast-1")),
        ("off", set(SEED_ORIGINS), Route("eu-central-1", None)),
        # Regions that are no origin change nothing.
        ("ranked", {"sa-east-1", "xx-nowhere-9"}, Route("eu-central-1", "us-east-1")),
    ],
)
def test_choose_takes_the_first_in_rotation_and_its_failover(mode, out, route):
    ranking = ("eu-central-1", "us-east-1", "ap-northeast-1")
    assert choose(ranking, out, FailoverMode(mode), "ap-northeast-1") == route
    table = derive_routing_table(SEED_ORIGINS, failover=mode, failover_origin="ap-northeast-1")
    assert table.route_for("eu-central-1", out) == route


@pytest.mark.parametrize(
    ("mode", "out", "drained", "route"),
    [
        # Frankfurt's ranking: eu-central-1, us-east-1, ap-northeast-1; fixed origin Tokyo.
        ("ranked", set(), {"eu-central-1"}, Route("us-east-1", "ap-northeast-1")),
        ("ranked", {"us-east-1"}, {"eu-central-1"}, Route("ap-northeast-1", None)),
        # The state would leave nothing: it is ignored, never the drain (fail safe).
        (
            "ranked",
            {"us-east-1", "ap-northeast-1"},
            {"eu-central-1"},
            Route("us-east-1", "ap-northeast-1"),
        ),
        ("ranked", set(SEED_ORIGINS), {"eu-central-1"}, Route("us-east-1", "ap-northeast-1")),
        ("fixed", set(), {"ap-northeast-1"}, Route("eu-central-1", None)),
        ("fixed", set(SEED_ORIGINS), {"ap-northeast-1"}, Route("eu-central-1", None)),
        ("fixed", {"eu-central-1"}, {"us-east-1"}, Route("ap-northeast-1", "ap-northeast-1")),
        ("off", {"us-east-1"}, {"eu-central-1"}, Route("ap-northeast-1", None)),
        # Every origin drained, which the settings refuse: as if none were.
        ("ranked", set(), set(SEED_ORIGINS), Route("eu-central-1", "us-east-1")),
    ],
)
def test_choose_never_undoes_a_drain_to_fail_open(mode, out, drained, route):
    ranking = ("eu-central-1", "us-east-1", "ap-northeast-1")
    assert choose(ranking, out, FailoverMode(mode), "ap-northeast-1", drained) == route


def in_rotation(ranking, out):
    """The ranking less the origins out; all of it when that leaves none (fail open)."""
    left = [code for code in ranking if code not in out]
    return left or list(ranking)


@given(data=st.data(), table=routing_tables())
def test_choose_never_picks_an_origin_out_of_rotation_unless_all_are(data, table):
    out = data.draw(out_sets(table), label="out")
    all_out = set(table.origins) <= out
    for edge in [*table.rankings, "xx-future-1"]:
        ranking = table.rankings.get(edge, table.default_ranking)
        route = table.route_for(edge, out)
        assert route == choose(ranking, out, table.failover_mode, table.failover_origin)
        left = in_rotation(ranking, out)
        assert route.primary == left[0], edge
        if all_out:
            # Fail open: exactly the route with nothing out.
            assert route == table.route_for(edge, frozenset()), edge
        else:
            assert route.primary not in out and route.failover not in out, edge
        if table.failover_mode is FailoverMode.RANKED:
            assert route.failover == (left[1] if len(left) > 1 else None), edge
            assert route.failover != route.primary
        elif table.failover_mode is FailoverMode.FIXED:
            fixed_in = all_out or table.failover_origin not in out
            assert route.failover == (table.failover_origin if fixed_in else None), edge
        else:
            assert route.failover is None, edge
    assert table.default_route == table.route_for("xx-future-1")


@given(table=routing_tables())
def test_rankings_hold_every_origin_once_a_pin_first_then_nearest_first(table):
    catalogue = load_catalogue()
    assert list(table.rankings) == list(catalogue)
    for edge, ranking in [*table.rankings.items(), (table.default_origin, table.default_ranking)]:
        assert sorted(ranking) == sorted(table.origins), edge
        assert len(set(ranking)) == len(ranking)
    assert table.default_ranking[0] == table.default_origin
    for edge, ranking in table.rankings.items():
        rest = ranking[1:] if edge in table.pinned else ranking
        keys = [(distance(edge, code), table.origins.index(code)) for code in rest]
        assert keys == sorted(keys), edge
    assert table.failover_origin != table.default_origin


@given(data=st.data(), arguments=routing_arguments())
def test_draining_changes_no_ranking_nor_the_default_or_failover_origin(data, arguments):
    origins, options = arguments
    drained = data.draw(
        st.lists(st.sampled_from(origins), max_size=len(origins) - 1, unique=True),
        label="drained",
    )
    undrained = derive_routing_table(origins, **options)
    table = derive_routing_table(origins, **options, drained=drained)
    assert table.drained == frozenset(drained)
    assert dict(table.rankings) == dict(undrained.rankings)
    assert table.default_ranking == undrained.default_ranking
    assert (table.default_origin, table.failover_origin, table.failover_mode, table.pinned) == (
        undrained.default_origin,
        undrained.failover_origin,
        undrained.failover_mode,
        undrained.pinned,
    )
    # The drained origins are what the routes take out, by default.
    for edge in table.rankings:
        assert table.routes[edge] == undrained.route_for(edge, frozenset(drained))
        assert table.route_for(edge) == table.routes[edge]
    assert table.default_route == undrained.route_for("xx-future-1", frozenset(drained))


def test_a_drained_origin_is_never_a_primary_or_a_failover():
    table = derive_routing_table(
        ["us-east-1", "eu-central-1", "ap-northeast-1"], drained=["eu-central-1"]
    )
    assert table.drained == {"eu-central-1"}
    assert table.active_origins == ("us-east-1", "ap-northeast-1")
    for route in [*table.routes.values(), table.default_route]:
        assert "eu-central-1" not in (route.primary, route.failover)
    # Europe goes to the nearest bucket in rotation, and fails over to the next.
    assert table.routes["eu-west-2"] == Route("us-east-1", "ap-northeast-1")
    # The group's secondary stays the origin nearest the default: a drain changes no resource.
    assert table.failover_origin == "eu-central-1"
    assert table.default_route == Route("us-east-1", "ap-northeast-1")
    assert table.summary()["drained"] == ["eu-central-1"]
    assert table.summary()["routes"]["eu-west-2"] == {
        "primary": "us-east-1",
        "failover": "ap-northeast-1",
    }


def test_the_default_and_failover_origins_may_be_drained():
    table = derive_routing_table(
        ["us-east-1", "eu-central-1", "eu-west-1"],
        drained=["us-east-1", "eu-west-1"],
        default_origin="us-east-1",
        failover="fixed",
        failover_origin="eu-west-1",
    )
    assert (table.default_origin, table.failover_origin) == ("us-east-1", "eu-west-1")
    # Both are out: everything goes to Frankfurt, with no fixed failover to go to.
    assert set(table.routes.values()) == {Route("eu-central-1", None)}
    assert table.default_route == Route("eu-central-1", None)


def test_derived_default_and_failover_origins_ignore_the_drained_ones():
    table = derive_routing_table(
        ["us-east-1", "eu-central-1", "eu-west-1"], drained=["us-east-1"], failover="fixed"
    )
    assert (table.default_origin, table.failover_origin) == ("us-east-1", "eu-west-1")
    # The default ranking starts at the drained default; the first in rotation serves.
    assert table.default_ranking == ("us-east-1", "eu-west-1", "eu-central-1")
    assert table.default_route == Route("eu-west-1", "eu-west-1")


def test_a_pin_to_a_drained_origin_goes_to_the_nearest_in_rotation_until_undrained():
    origins = ["us-east-1", "eu-central-1", "ap-northeast-1"]
    pins = {"ap-south-1": "ap-northeast-1"}
    drained = derive_routing_table(origins, overrides=pins, drained=["ap-northeast-1"])
    assert drained.routes["ap-south-1"].primary == "eu-central-1"
    # The pin stays in the rankings: undraining is a state change, not a code change.
    assert "ap-south-1" in drained.pinned
    assert drained.rankings["ap-south-1"][0] == "ap-northeast-1"
    undrained = derive_routing_table(origins, overrides=pins)
    assert undrained.routes["ap-south-1"].primary == "ap-northeast-1"
    assert dict(undrained.rankings) == dict(drained.rankings)


def test_with_one_origin_in_rotation_there_is_nothing_to_fail_over_to():
    table = derive_routing_table(["us-east-1", "eu-central-1"], drained=["eu-central-1"])
    assert table.failover_mode is FailoverMode.RANKED
    assert table.failover_origin == "eu-central-1"
    assert {route.failover for route in table.routes.values()} == {None}
    assert set(table.routes.values()) == {Route("us-east-1", None)}


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ({"drained": ["sa-east-1"]}, "drained: 'sa-east-1' has no bucket"),
        ({"drained": ["us-east-1", "eu-central-1"]}, "drains every origin"),
        ({"drained": ["us-east-1", "us-east-1"]}, "lists a Region twice"),
        ({"drained": "us-east-1"}, "is not a list of origin Regions"),
    ],
)
def test_drained_origins_are_checked(arguments, message):
    with pytest.raises(RoutingError) as raised:
        derive_routing_table(["us-east-1", "eu-central-1"], **arguments)
    assert raised.value.field == "drained"
    assert message in str(raised.value)


@pytest.mark.parametrize("field", ["default_origin", "failover_origin"])
def test_draining_the_default_or_failover_origin_is_allowed(field):
    options = {"default_origin": "us-east-1", "failover": "fixed", field: "ap-northeast-1"}
    table = derive_routing_table(SEED_ORIGINS, drained=["ap-northeast-1"], **options)
    assert getattr(table, field) == "ap-northeast-1"
    for route in [*table.routes.values(), table.default_route]:
        assert "ap-northeast-1" not in (route.primary, route.failover)
