"""The hysteresis, as a pure function: quorum, streak lengths, freshness, the last origin in
rotation, drained origins and operators' evacuations."""

from hypothesis import given
from hypothesis import strategies as st

from evacuation.decide import BY_CHECKS, Evacuation, Streak, decide

ORIGINS = ["us-east-1", "eu-central-1", "ap-northeast-1"]
NOW = 1_000_000.0
RULES = {"failures": 3, "recoveries": 6, "quorum": 2, "fresh_seconds": 60.0}


def views(**per_vantage):
    """vantage=('origin', failures, successes, age) tuples → views."""
    return {
        vantage.replace("_", "-"): {
            origin: Streak(failures, successes, NOW - age)
            for origin, failures, successes, age in streaks
        }
        for vantage, streaks in per_vantage.items()
    }


def checks(since="2026-11-30T06:00:00+00:00"):
    return Evacuation(since, BY_CHECKS, "3 failed probes in a row")


def run(seen, drained=(), evacuated=None, origins=ORIGINS):
    return decide(
        seen, origins=origins, drained=drained, evacuated=evacuated or {}, now=NOW, **RULES
    )


def test_two_vantages_that_agree_evacuate():
    seen = views(
        us_east_1=[("eu-central-1", 3, 0, 5)],
        eu_west_1=[("eu-central-1", 4, 0, 1)],
        ap_northeast_1=[("eu-central-1", 0, 9, 1)],
    )
    decision = run(seen)
    assert decision.evacuate == {
        "eu-central-1": "3 failed probes in a row from eu-west-1, us-east-1"
    }
    assert decision.restore == {} and decision.held == {}


def test_one_vantage_alone_never_evacuates():
    seen = views(us_east_1=[("eu-central-1", 50, 0, 1)], eu_west_1=[("eu-central-1", 0, 1, 1)])
    assert not run(seen).changes


def test_short_streaks_and_stale_views_do_not_count():
    short = views(us_east_1=[("eu-central-1", 2, 0, 1)], eu_west_1=[("eu-central-1", 3, 0, 1)])
    assert not run(short).changes
    stale = views(us_east_1=[("eu-central-1", 9, 0, 61)], eu_west_1=[("eu-central-1", 9, 0, 1)])
    assert not run(stale).changes


def test_the_last_origin_in_rotation_is_held_not_evacuated():
    seen = views(
        us_east_1=[(origin, 5, 0, 1) for origin in ORIGINS],
        eu_west_1=[(origin, 5, 0, 1) for origin in ORIGINS],
    )
    decision = run(seen)
    assert list(decision.evacuate) == ["us-east-1", "eu-central-1"]
    assert list(decision.held) == ["ap-northeast-1"]
    assert decision.held["ap-northeast-1"].endswith("but it is the last origin in rotation")
    # With one drained and one already out, the third is the last in rotation.
    decision = run(seen, drained=["us-east-1"], evacuated={"eu-central-1": checks()})
    assert decision.evacuate == {} and list(decision.held) == ["ap-northeast-1"]


def test_drained_origins_are_not_judged():
    seen = views(us_east_1=[("eu-central-1", 5, 0, 1)], eu_west_1=[("eu-central-1", 5, 0, 1)])
    assert not run(seen, drained=["eu-central-1"]).changes


def test_restored_after_enough_good_probes_from_a_quorum():
    evacuated = {"eu-central-1": checks()}
    five = views(us_east_1=[("eu-central-1", 0, 5, 1)], eu_west_1=[("eu-central-1", 0, 6, 1)])
    assert not run(five, evacuated=evacuated).changes
    six = views(us_east_1=[("eu-central-1", 0, 6, 1)], eu_west_1=[("eu-central-1", 0, 7, 1)])
    assert run(six, evacuated=evacuated).restore == {
        "eu-central-1": "6 good probes in a row from eu-west-1, us-east-1"
    }


def test_an_operators_evacuation_is_never_undone_by_the_checks():
    evacuated = {"eu-central-1": Evacuation("2026-11-30T06:00:00+00:00", "operator x", "drill")}
    healthy = views(us_east_1=[("eu-central-1", 0, 60, 1)], eu_west_1=[("eu-central-1", 0, 60, 1)])
    assert not run(healthy, evacuated=evacuated).changes


@given(
    st.dictionaries(
        st.sampled_from(["us-east-1", "eu-west-1", "ap-northeast-1"]),
        st.dictionaries(
            st.sampled_from(ORIGINS),
            st.builds(
                Streak,
                st.integers(0, 10),
                st.integers(0, 10),
                st.floats(NOW - 120, NOW),
            ),
        ),
    ),
    st.sets(st.sampled_from(ORIGINS), max_size=2),
    st.sets(st.sampled_from(ORIGINS)),
)
def test_never_every_origin_out_and_never_on_one_vantages_word(seen, drained, evacuated):
    evacuated = {origin: checks() for origin in evacuated - drained}
    if set(ORIGINS) <= drained | set(evacuated):
        evacuated.popitem()
    decision = run(seen, drained=drained, evacuated=evacuated)
    out_after = (drained | set(evacuated) | set(decision.evacuate)) - set(decision.restore)
    assert set(ORIGINS) - out_after, "every origin out of rotation"
    for origin in decision.evacuate:
        fresh_failing = [
            vantage
            for vantage, view in seen.items()
            if origin in view and view[origin].failures >= 3 and NOW - view[origin].at <= 60
        ]
        assert len(fresh_failing) >= 2
        assert origin not in drained and origin not in evacuated
