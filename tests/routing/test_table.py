import pytest

import routing.table
from routing.catalogue import great_circle_km, lambda_edge_execution_regions, load_catalogue
from routing.table import FailoverMode, Route, RoutingError, derive_routing_table
from tests.support import SEED_ORIGINS


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
    monkeypatch.setattr(routing.table, "great_circle_km", lambda a, b: 0.0)
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
    assert table.failover_origin == "ap-northeast-1"
    assert table.summary()["drained"] == ["eu-central-1"]


def test_derived_default_and_failover_origins_come_from_the_origins_in_rotation():
    table = derive_routing_table(
        ["us-east-1", "eu-central-1", "eu-west-1"], drained=["us-east-1"], failover="fixed"
    )
    assert (table.default_origin, table.failover_origin) == ("eu-central-1", "eu-west-1")


def test_a_pin_to_a_drained_origin_goes_to_the_nearest_in_rotation_until_undrained():
    origins = ["us-east-1", "eu-central-1", "ap-northeast-1"]
    pins = {"ap-south-1": "ap-northeast-1"}
    drained = derive_routing_table(origins, overrides=pins, drained=["ap-northeast-1"])
    assert drained.routes["ap-south-1"].primary == "eu-central-1"
    assert "ap-south-1" not in drained.pinned
    undrained = derive_routing_table(origins, overrides=pins)
    assert undrained.routes["ap-south-1"].primary == "ap-northeast-1"


def test_with_one_origin_in_rotation_there_is_nothing_to_fail_over_to():
    table = derive_routing_table(["us-east-1", "eu-central-1"], drained=["eu-central-1"])
    assert table.failover_mode is FailoverMode.RANKED
    assert table.failover_origin is None
    assert {route.failover for route in table.routes.values()} == {None}


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ({"drained": ["sa-east-1"]}, "drained: 'sa-east-1' has no bucket"),
        ({"drained": ["us-east-1", "eu-central-1"]}, "drains every origin"),
        ({"drained": ["us-east-1", "us-east-1"]}, "lists a Region twice"),
        (
            {"drained": ["us-east-1"], "default_origin": "us-east-1"},
            "default_origin: 'us-east-1' is drained and takes no traffic",
        ),
        (
            {"drained": ["eu-central-1"], "failover_origin": "eu-central-1"},
            "failover_origin: 'eu-central-1' is drained",
        ),
    ],
)
def test_drained_origins_are_checked(arguments, message):
    with pytest.raises(RoutingError) as raised:
        derive_routing_table(["us-east-1", "eu-central-1"], **arguments)
    assert message in str(raised.value)
