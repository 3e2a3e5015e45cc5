"""The hysteresis, as pure functions: streaks counted once a tick, runs across gaps, quorum,
freshness, the blast radius, the last origin in rotation, drained origins and operators'
decisions."""

from hypothesis import given
from hypothesis import strategies as st

from evacuation.decide import (
    BY_CHECKS,
    IN,
    OUT,
    Evacuation,
    OperatorDecision,
    Rules,
    Streak,
    View,
    decide,
    out_of_rotation,
)

ORIGINS = ["us-east-1", "eu-central-1", "ap-northeast-1"]
NOW = 180_000_000
RULES = Rules(failures=4, recoveries=13, quorum=2, max_out=1, fresh_ticks=9)


def views(**per_vantage):
    """vantage=[('origin', failures, successes, since, age in ticks)] → views."""
    return {
        vantage.replace("_", "-"): View(
            NOW,
            {
                origin: Streak(failures, successes, NOW - since, NOW - age)
                for origin, failures, successes, since, age in streaks
            },
        )
        for vantage, streaks in per_vantage.items()
    }


def operator(state, by="arn:aws:iam::123456789012:user/alice"):
    return OperatorDecision(state, "2026-11-30T06:00:00+00:00", by, "maintenance")


def run(seen, *, drained=(), checks=(), operators=None, rules=RULES, origins=ORIGINS):
    return decide(
        seen,
        origins=origins,
        drained=drained,
        checks=checks,
        operators=operators or {},
        now=NOW,
        rules=rules,
    )


def test_a_streak_counts_each_tick_once_and_survives_gaps_up_to_the_freshness_window():
    streak = Streak()
    for tick in (100, 101, 102):
        streak = streak.after(False, tick, gap=9, cap=13)
    assert streak == Streak(3, 0, 100, 102)
    # A gap of nine ticks (a lost invocation) continues the run; ten starts a new one.
    assert streak.after(False, 111, gap=9, cap=13) == Streak(4, 0, 100, 111)
    assert streak.after(False, 112, gap=9, cap=13) == Streak(1, 0, 112, 112)
    # A good probe ends the run of failures; counts stop at the cap.
    assert streak.after(True, 103, gap=9, cap=13) == Streak(0, 1, 103, 103)
    full = Streak(0, 13, 50, 120)
    assert full.after(True, 121, gap=9, cap=13) == Streak(0, 13, 50, 121)


def test_a_view_counts_only_what_the_probe_could_tell():
    view = View(10, {"eu-central-1": Streak(2, 0, 9, 10), "us-east-1": Streak(0, 5, 6, 10)})
    after = view.after({"eu-central-1": False, "us-east-1": None}, 11, gap=9, cap=13)
    assert after.tick == 11
    assert after.streaks["eu-central-1"] == Streak(3, 0, 9, 11)
    # A probe that could not tell (403, no credentials) leaves the streak as it was.
    assert after.streaks["us-east-1"] == Streak(0, 5, 6, 10)


def test_two_vantages_that_agree_evacuate():
    seen = views(
        us_east_1=[("eu-central-1", 4, 0, 3, 0)],
        eu_west_1=[("eu-central-1", 5, 0, 4, 1)],
        ap_northeast_1=[("eu-central-1", 0, 9, 8, 0)],
    )
    decision = run(seen)
    assert decision.evacuate == {
        "eu-central-1": "4 failed probes in a row from eu-west-1, us-east-1"
    }
    assert decision.restore == {} and decision.held == {}


def test_one_vantage_alone_never_evacuates():
    seen = views(
        us_east_1=[("eu-central-1", 13, 0, 12, 0)], eu_west_1=[("eu-central-1", 0, 1, 0, 0)]
    )
    assert not run(seen).changes


def test_short_streaks_and_stale_views_do_not_count():
    short = views(
        us_east_1=[("eu-central-1", 3, 0, 2, 0)], eu_west_1=[("eu-central-1", 4, 0, 3, 0)]
    )
    assert not run(short).changes
    # A view whose last probe is ten ticks old (past the nine-tick window) has no say.
    stale = views(
        us_east_1=[("eu-central-1", 9, 0, 18, 10)], eu_west_1=[("eu-central-1", 9, 0, 8, 0)]
    )
    assert not run(stale).changes


def test_past_the_blast_radius_the_checks_hold_and_say_why():
    down = [("eu-central-1", 4, 0, 5, 0), ("ap-northeast-1", 4, 0, 3, 0)]
    seen = views(us_east_1=down, eu_west_1=down)
    decision = run(seen)
    # The one that failed first goes; the other is held, with the reason.
    assert list(decision.evacuate) == ["eu-central-1"]
    assert list(decision.held) == ["ap-northeast-1"]
    assert "their limit (evacuationMaxOut)" in decision.held["ap-northeast-1"]
    # With room for two, both go.
    wider = Rules(failures=4, recoveries=13, quorum=2, max_out=2, fresh_ticks=9)
    assert set(run(seen, rules=wider).evacuate) == {"eu-central-1", "ap-northeast-1"}


def test_the_last_origin_in_rotation_is_held_not_evacuated():
    down = [("us-east-1", 6, 0, 5, 0)]
    seen = views(us_east_1=down, eu_west_1=down)
    wider = Rules(failures=4, recoveries=13, quorum=2, max_out=2, fresh_ticks=9)
    decision = run(
        seen, drained=["eu-central-1"], operators={"ap-northeast-1": operator(OUT)}, rules=wider
    )
    assert decision.evacuate == {}
    assert decision.held["us-east-1"].endswith("it is the last origin in rotation")


def test_drained_origins_and_operators_decisions_are_not_the_checks_to_judge():
    down = [(origin, 9, 0, 8, 0) for origin in ORIGINS]
    seen = views(us_east_1=down, eu_west_1=down)
    decision = run(
        seen,
        drained=["us-east-1"],
        operators={"eu-central-1": operator(OUT), "ap-northeast-1": operator(IN)},
    )
    assert not decision.changes and decision.held == {}


def test_an_operator_holding_it_in_restores_what_the_checks_took_out():
    down = [("eu-central-1", 9, 0, 8, 0)]
    seen = views(us_east_1=down, eu_west_1=down)
    decision = run(seen, checks=["eu-central-1"], operators={"eu-central-1": operator(IN)})
    assert decision.restore == {
        "eu-central-1": "an operator holds it in rotation (arn:aws:iam::123456789012:user/alice)"
    }


def test_thirteen_good_probes_from_two_vantages_restore():
    well = [("eu-central-1", 0, 13, 12, 0)]
    almost = [("eu-central-1", 0, 12, 11, 0)]
    assert run(views(us_east_1=well, eu_west_1=almost), checks=["eu-central-1"]).restore == {}
    decision = run(views(us_east_1=well, eu_west_1=well), checks=["eu-central-1"])
    assert decision.restore == {"eu-central-1": "13 good probes in a row from eu-west-1, us-east-1"}


def test_an_origin_no_longer_in_the_stack_is_restored():
    decision = run({}, checks=["sa-east-1"])
    assert decision.restore == {"sa-east-1": "no longer an origin of the stack"}


def test_the_union_leaves_in_what_an_operator_holds_in():
    assert out_of_rotation(
        drained=["us-east-1"],
        checks=["eu-central-1", "ap-northeast-1"],
        operators={"ap-northeast-1": operator(IN), "sa-east-1": operator(OUT)},
    ) == {"us-east-1", "eu-central-1", "sa-east-1"}


def test_an_evacuation_record_says_whether_the_checks_made_it():
    assert Evacuation("t", BY_CHECKS, "r").by_checks
    assert not Evacuation("t", "arn:aws:iam::123456789012:user/alice", "r").by_checks


streak_lists = st.lists(
    st.tuples(
        st.sampled_from(ORIGINS),
        st.integers(0, 13),
        st.integers(0, 13),
        st.integers(0, 40),
        st.integers(0, 15),
    ),
    max_size=6,
)


@given(
    st.dictionaries(st.sampled_from(["us-east-1", "eu-west-1", "ap-northeast-1"]), streak_lists),
    st.lists(st.sampled_from(ORIGINS), unique=True),
    st.lists(st.sampled_from(ORIGINS), unique=True),
    st.integers(1, 2),
)
def test_no_decision_breaks_the_limits_or_empties_the_rotation(
    per_vantage, drained, checks, max_out
):
    seen = {
        vantage: View(
            NOW,
            {o: Streak(f, s, NOW - since, NOW - age) for o, f, s, since, age in streaks},
        )
        for vantage, streaks in per_vantage.items()
    }
    checks = [origin for origin in checks if origin not in drained][:max_out]
    rules = Rules(failures=4, recoveries=13, quorum=2, max_out=max_out, fresh_ticks=9)
    decision = run(seen, drained=drained, checks=checks, rules=rules)
    after = (set(checks) - set(decision.restore)) | set(decision.evacuate)
    assert len(after) <= max(max_out, len(checks))
    assert not set(decision.evacuate) & set(drained)
    if set(checks) | set(drained) != set(ORIGINS):
        assert set(drained) | after != set(ORIGINS)
    # Everything evacuated was seen failing by two fresh vantage Regions.
    for origin in decision.evacuate:
        agreeing = [
            view
            for view in seen.values()
            if origin in view.streaks
            and view.streaks[origin].failures >= 4
            and view.streaks[origin].fresh(NOW, 9)
        ]
        assert len(agreeing) >= 2
