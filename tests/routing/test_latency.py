"""Routing by measured latency: the snapshot's checks, and the ranking's rules as properties."""

import datetime
import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from routing.catalogue import lambda_edge_execution_regions, load_catalogue, rank_origins
from routing.latency import (
    DEFAULT_MARGIN_MS,
    LatencyError,
    LatencySnapshot,
    RoutingMetric,
    latency_ranking,
    parse_snapshot,
    rank_origins_by_metric,
    render_snapshot,
    snapshot_of,
)
from routing.table import Route, derive_routing_table
from settings.parser import load_snapshot
from tests.support import SEED_ORIGINS

CODES = list(load_catalogue())
MEASURED = datetime.date(2026, 11, 28)


def snapshot(latency) -> LatencySnapshot:
    return snapshot_of(latency, source="synthetic, for the tests", measured=MEASURED)


def rank(edge, origins, latency, margin=DEFAULT_MARGIN_MS):
    return rank_origins_by_metric(
        edge, origins, metric="latency", snapshot=snapshot(latency), margin_ms=margin
    )


# --- the ranking, by example -------------------------------------------------------------------


def test_an_edge_leaves_its_nearest_origin_only_for_one_at_least_the_margin_faster():
    # From Mumbai, Frankfurt is nearer than Tokyo (6,564 km against 6,723 km).
    assert rank_origins("ap-south-1", SEED_ORIGINS)[0] == "eu-central-1"
    just_enough = {"ap-south-1": {"eu-central-1": 120.0, "ap-northeast-1": 110.0}}
    assert rank("ap-south-1", SEED_ORIGINS, just_enough)[0] == "ap-northeast-1"
    not_enough = {"ap-south-1": {"eu-central-1": 120.0, "ap-northeast-1": 110.1}}
    assert rank("ap-south-1", SEED_ORIGINS, not_enough)[0] == "eu-central-1"
    assert rank("ap-south-1", SEED_ORIGINS, not_enough, margin=0)[0] == "ap-northeast-1"


def test_a_pair_the_snapshot_lacks_keeps_its_place_by_distance():
    # The nearest origin unmeasured: nothing is known to beat it, so it stays first.
    order = rank_origins("sa-east-1", SEED_ORIGINS)
    assert order == ["us-east-1", "eu-central-1", "ap-northeast-1"]
    lacks_nearest = {"sa-east-1": {"eu-central-1": 50.0, "ap-northeast-1": 40.0}}
    assert rank("sa-east-1", SEED_ORIGINS, lacks_nearest) == [
        "us-east-1",
        "ap-northeast-1",
        "eu-central-1",
    ]
    # An unmeasured origin is never placed ahead of one nearer than it.
    lacks_second = {"sa-east-1": {"us-east-1": 115.0, "ap-northeast-1": 60.0}}
    assert rank("sa-east-1", SEED_ORIGINS, lacks_second) == [
        "ap-northeast-1",
        "us-east-1",
        "eu-central-1",
    ]


def test_failover_ranking_follows_the_measurement_too():
    # Ohio: Virginia first by distance, then Frankfurt; Tokyo measured clearly faster than it.
    latency = {"us-east-2": {"us-east-1": 12.0, "eu-central-1": 150.0, "ap-northeast-1": 130.0}}
    assert rank_origins("us-east-2", SEED_ORIGINS)[1] == "eu-central-1"
    table = derive_routing_table(SEED_ORIGINS, metric="latency", latency=snapshot(latency))
    assert table.routes["us-east-2"] == Route("us-east-1", "ap-northeast-1")
    assert derive_routing_table(SEED_ORIGINS).routes["us-east-2"] == Route(
        "us-east-1", "eu-central-1"
    )


def test_pins_still_win_and_drained_origins_are_never_ranked():
    latency = {"ap-south-1": {"eu-central-1": 120.0, "ap-northeast-1": 60.0, "us-east-1": 200.0}}
    pinned = derive_routing_table(
        SEED_ORIGINS,
        overrides={"ap-south-1": "us-east-1"},
        metric="latency",
        latency=snapshot(latency),
    )
    assert pinned.routes["ap-south-1"] == Route("us-east-1", "ap-northeast-1")
    drained = derive_routing_table(
        SEED_ORIGINS, drained=["ap-northeast-1"], metric="latency", latency=snapshot(latency)
    )
    assert drained.routes["ap-south-1"] == Route("eu-central-1", "us-east-1")


def test_distance_stays_the_default_and_a_snapshot_alone_changes_nothing():
    latency = {"ap-south-1": {"eu-central-1": 120.0, "ap-northeast-1": 60.0}}
    assert derive_routing_table(SEED_ORIGINS) == derive_routing_table(
        SEED_ORIGINS, metric="distance", latency=snapshot(latency), margin_ms=0
    )
    assert latency_ranking("distance", None, DEFAULT_MARGIN_MS) is None


@pytest.mark.parametrize(
    ("metric", "latency", "margin", "message"),
    [
        ("latency", None, 10, "needs a latency snapshot"),
        ("latency", {}, -1, "0 ms or more"),
        ("nearest", None, 10, "'nearest' is not a valid RoutingMetric"),
    ],
)
def test_inputs_the_settings_never_pass_are_refused(metric, latency, margin, message):
    with pytest.raises(ValueError, match=message):
        derive_routing_table(
            SEED_ORIGINS,
            metric=metric,
            latency=None if latency is None else snapshot(latency),
            margin_ms=margin,
        )


# --- the ranking, as properties ----------------------------------------------------------------


MARGINS = st.integers(min_value=0, max_value=60)


@st.composite
def cases(draw, margin=MARGINS):
    """An edge Region, origins in preference order, a snapshot holding some of their pairs (and
    pairs of other edges), and a margin."""
    edge = draw(st.sampled_from(lambda_edge_execution_regions()))
    origins = draw(st.lists(st.sampled_from(CODES), min_size=1, max_size=8, unique=True))
    measured = draw(st.lists(st.sampled_from([o for o in origins if o != edge] or [None])))
    times = st.integers(min_value=10, max_value=3500).map(lambda tenths: tenths / 10)
    latency = {edge: {origin: draw(times) for origin in measured if origin}}
    other = draw(st.sampled_from(CODES))
    if other != edge and origins[0] != other:
        latency[other] = {origins[0]: draw(times)}  # another edge's pair: never read for this one
    return edge, origins, snapshot(latency), draw(margin)


@given(cases())
def test_the_ranking_is_every_origin_once(case):
    edge, origins, held, margin = case
    ranking = rank_origins_by_metric(
        edge, origins, metric=RoutingMetric.LATENCY, snapshot=held, margin_ms=margin
    )
    assert sorted(ranking) == sorted(origins)


@given(cases())
def test_by_distance_the_ranking_is_the_tables_own(case):
    edge, origins, held, margin = case
    expected = rank_origins(edge, origins)
    assert (
        rank_origins_by_metric(edge, origins, metric="distance", snapshot=held, margin_ms=margin)
        == expected
    )
    unmeasured = snapshot({})
    assert rank_origins_by_metric(
        edge, origins, metric="latency", snapshot=unmeasured, margin_ms=margin
    ) == (expected)


@given(cases())
def test_each_place_goes_to_the_nearest_remaining_unless_one_is_the_margin_faster(case):
    edge, origins, held, margin = case
    ranking = rank_origins_by_metric(
        edge, origins, metric="latency", snapshot=held, margin_ms=margin
    )
    for place, chosen in enumerate(ranking):
        nearest = rank_origins(edge, ranking[place:])[0]
        if chosen == nearest:
            continue
        chosen_ms, nearest_ms = held.between(edge, chosen), held.between(edge, nearest)
        assert chosen_ms is not None and nearest_ms is not None, (place, ranking)
        assert chosen_ms + margin <= nearest_ms, (place, ranking)


@given(cases())
def test_the_primary_is_the_fastest_only_when_it_beats_the_nearest_by_the_margin(case):
    edge, origins, held, margin = case
    ranking = rank_origins_by_metric(
        edge, origins, metric="latency", snapshot=held, margin_ms=margin
    )
    nearest = rank_origins(edge, origins)[0]
    times = {o: ms for o in origins if (ms := held.between(edge, o)) is not None}
    fastest = min(rank_origins(edge, list(times)), key=times.__getitem__, default=None)
    if nearest in times and fastest is not None and times[fastest] + margin <= times[nearest]:
        assert ranking[0] == fastest
    else:
        assert ranking[0] == nearest


@given(cases())
def test_an_unmeasured_origin_is_never_ranked_ahead_of_a_nearer_one(case):
    edge, origins, held, margin = case
    ranking = rank_origins_by_metric(
        edge, origins, metric="latency", snapshot=held, margin_ms=margin
    )
    order = rank_origins(edge, origins)
    for place, code in enumerate(ranking):
        if held.between(edge, code) is None:
            nearer = order[: order.index(code)]
            assert set(nearer) <= set(ranking[:place]), (code, ranking)


@given(cases(margin=st.just(0)))
def test_with_no_margin_measured_origins_come_fastest_first(case):
    edge, origins, held, _ = case
    ranking = rank_origins_by_metric(edge, origins, metric="latency", snapshot=held, margin_ms=0)
    order = rank_origins(edge, origins)
    measured = [o for o in ranking if held.between(edge, o) is not None]
    assert measured == sorted(measured, key=lambda o: (held.between(edge, o), order.index(o)))


@given(cases(margin=st.just(10_000)))
def test_a_margin_above_every_gain_keeps_rank_origins(case):
    edge, origins, held, margin = case
    assert rank_origins_by_metric(
        edge, origins, metric="latency", snapshot=held, margin_ms=margin
    ) == rank_origins(edge, origins)


@given(cases())
def test_the_same_snapshot_gives_the_same_ranking_whatever_its_order(case):
    edge, origins, held, margin = case
    document = json.loads(render_snapshot(held))
    reversed_rows = {
        source: dict(reversed(list(row.items())))
        for source, row in reversed(list(document["latency"].items()))
    }
    shuffled = parse_snapshot({**document, "latency": reversed_rows})
    first = rank_origins_by_metric(edge, origins, metric="latency", snapshot=held, margin_ms=margin)
    assert first == rank_origins_by_metric(
        edge, origins, metric="latency", snapshot=shuffled, margin_ms=margin
    )
    assert render_snapshot(shuffled) == render_snapshot(held)


@given(cases())
def test_every_route_of_the_table_follows_the_ranking_unless_pinned(case):
    edge, origins, held, margin = case
    table = derive_routing_table(origins, metric="latency", latency=held, margin_ms=margin)
    ranking = rank_origins_by_metric(
        edge, origins, metric="latency", snapshot=held, margin_ms=margin
    )
    route = table.routes[edge]
    assert route.primary == ranking[0]
    if len(origins) > 1:
        assert route.failover == ranking[1]
    pin = origins[-1]
    pinned = derive_routing_table(
        origins, overrides={edge: pin}, metric="latency", latency=held, margin_ms=margin
    )
    assert pinned.routes[edge].primary == pin
    if len(origins) > 1:
        assert pinned.routes[edge].failover == next(o for o in ranking if o != pin)


# --- the snapshot ------------------------------------------------------------------------------


def document(**changes):
    base = {
        "source": "EC2 GetAwsNetworkPerformanceData in us-east-1",
        "measured": "2026-11-28",
        "statistic": "p50",
        "unit": "ms",
        "latency": {"ap-south-1": {"eu-central-1": 120.4, "ap-northeast-1": 110}},
    }
    return {**base, **changes}


def test_a_snapshot_is_read_and_rendered_the_same_way_every_time(tmp_path):
    held = parse_snapshot(document())
    assert held.between("ap-south-1", "ap-northeast-1") == 110.0
    assert held.between("ap-south-1", "us-east-1") is None
    assert held.between("eu-west-1", "eu-central-1") is None
    assert held.measured == MEASURED and held.pair_count == 2
    text = render_snapshot(held)
    assert json.loads(text)["latency"] == {
        "ap-south-1": {"ap-northeast-1": 110.0, "eu-central-1": 120.4}
    }
    path = tmp_path / "latency.json"
    path.write_text(text, encoding="utf-8")
    assert render_snapshot(load_snapshot(path)) == text
    assert text.index('"ap-northeast-1"') < text.index('"eu-central-1"')  # sorted keys


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"unit": "s"}, 'holds "p50" in "s"; routing reads p50 round trips in ms'),
        ({"statistic": "p90"}, 'holds "p90" in "ms"'),
        ({"measured": "28/11/2026"}, "'measured' is \"28/11/2026\", not a date such as"),
        ({"measured": 20261128}, "'measured' is 20261128, not a date"),
        ({"source": ""}, "'source' must name the API and Region"),
        ({"extra": 1}, "has unknown extra; a snapshot has exactly source, measured"),
        ({"latency": []}, "'latency' is not a map of edge Region to origin Region to ms"),
        ({"latency": {"ap-mars-1": {}}}, "edge Region 'ap-mars-1' is not a known AWS Region"),
        ({"latency": {"ap-south-1": 3}}, "ap-south-1 is not a map of origin Region to ms"),
        (
            {"latency": {"ap-south-1": {"eu-centrl-1": 1}}},
            "ap-south-1 to 'eu-centrl-1' is not a known AWS Region code; did you mean",
        ),
        ({"latency": {"ap-south-1": {"ap-south-1": 1}}}, "to itself is not an inter-Region"),
        ({"latency": {"ap-south-1": {"us-east-1": 0}}}, "us-east-1 is 0, not a round trip"),
        ({"latency": {"ap-south-1": {"us-east-1": "90"}}}, 'is "90", not a round trip in ms'),
        ({"latency": {"ap-south-1": {"us-east-1": True}}}, "is true, not a round trip"),
        ({"latency": {"ap-south-1": {"us-east-1": 2001}}}, "above 0 and at most 2000"),
    ],
)
def test_a_bad_snapshot_is_one_line_naming_what_is_wrong(changes, message):
    with pytest.raises(LatencyError) as raised:
        parse_snapshot(document(**changes))
    assert message in str(raised.value)
    assert "\n" not in str(raised.value)


def test_a_missing_field_and_a_document_that_is_no_object_are_named():
    incomplete = document()
    del incomplete["unit"]
    with pytest.raises(LatencyError, match="lacks unit; a snapshot has exactly"):
        parse_snapshot(incomplete)
    with pytest.raises(LatencyError, match="holds an array, not an object"):
        parse_snapshot([])


def test_a_missing_or_broken_file_is_named_with_where(tmp_path):
    with pytest.raises(LatencyError, match=f"no latency snapshot at {tmp_path / 'none.json'}"):
        load_snapshot(tmp_path / "none.json")
    broken = tmp_path / "broken.json"
    broken.write_text('{"source": "x",\n  "measured": }\n', encoding="utf-8")
    with pytest.raises(LatencyError, match=r"broken.json:2:15: not valid JSON"):
        load_snapshot(broken)
    wrong = tmp_path / "wrong.json"
    wrong.write_text(json.dumps(document(unit="s")), encoding="utf-8")
    with pytest.raises(LatencyError, match=r'wrong.json: holds "p50" in "s"'):
        load_snapshot(wrong)
    with pytest.raises(LatencyError, match="is a folder, not a latency snapshot"):
        load_snapshot(tmp_path)
