"""The evacuator's arguments are checked against the function's timeout with every wait counted
(``evacuation.budget``): the schedule, the first round with every request at its limits, the
sync; and what a whole run may take is said, not hidden."""

import pytest

from components.evacuator import EvacuatorArgs, EvacuatorError
from core.evacuation import EVACUATOR_TIMEOUT_SECONDS

BUCKETS = {"us-east-1": "bucket-a-0001", "eu-central-1": "bucket-b-0001"}
KVS_ARN = "arn:aws:cloudfront::123456789012:key-value-store/0a1b2c3d-4e5f-6a7b-8c9d-0e1f2a3b4c5d"
TOPIC_ARN = "arn:aws:sns:us-east-1:123456789012:alarms"


def evacuator_args(**overrides) -> EvacuatorArgs:
    return EvacuatorArgs(
        **{
            "vantages": ["us-east-1", "eu-west-1"],
            "bucket_names": BUCKETS,
            "table_name": "my-routing-state",
            **overrides,
        }
    )


@pytest.mark.parametrize(
    ("engine", "first_round", "whole_run"),
    [
        # Lambda@Edge: probes of 1 + 5 s, then 10 table requests and a notification of 2 s each.
        ({}, 6 + 11 * 2 + 2, 3 * (6 + 11 * 2) + 2),
        # CloudFront Functions: the longest path is 9 table and 8 store requests and one
        # notification.
        ({"kvs_arn": KVS_ARN}, 6 + 18 * 2 + 2, 3 * (6 + 18 * 2) + 2),
    ],
    ids=["lambda-edge", "cloudfront-functions"],
)
def test_the_default_runs_figures_count_every_wait(engine, first_round, whole_run):
    args = evacuator_args(topic_arn=TOPIC_ARN, **engine)
    # The schedule alone: the waits between rounds, then the last probe: 40 + 1 + 5 s.
    assert args.schedule_seconds == 46
    assert args.first_round_seconds == first_round <= EVACUATOR_TIMEOUT_SECONDS
    assert args.invocation_seconds == whole_run


def test_the_sync_fits_the_function_with_its_patience_for_iam():
    assert evacuator_args(kvs_arn=KVS_ARN).sync_seconds == 30 + 3 + (4 + 8) * 2
    assert evacuator_args().sync_seconds is None


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"probe_seconds": 30}, "take 66 s, more than the function's 58 s"),
        ({"connect_timeout": 10, "read_timeout": 9}, "take 59 s"),
        # One round only, and slow probes: the schedule fits, the first round with every request
        # at its limits does not (50 + 22 + 2 s).
        (
            {"rounds": 1, "connect_timeout": 10, "read_timeout": 40, "topic_arn": TOPIC_ARN},
            "a run's first round may take 74 s",
        ),
    ],
)
def test_what_cannot_complete_within_the_timeout_is_refused(overrides, message):
    with pytest.raises(EvacuatorError, match=message):
        evacuator_args(**overrides)


@pytest.mark.xfail(
    strict=True,
    reason="with every request at its limits a round takes 28-42 s, longer than the 20 s between "
    "rounds, and three of them 86-128 s: Lambda ends such a run at 58 s, after its first round "
    "(a failed run, without its metric). The schedule and the requests of a round are the "
    "decision loop's to change; this test passes when they fit.",
)
def test_a_default_run_completes_every_round_within_the_timeout_whatever_aws_answers():
    for engine in ({}, {"kvs_arn": KVS_ARN}):
        args = evacuator_args(topic_arn=TOPIC_ARN, **engine)
        assert args.invocation_seconds <= EVACUATOR_TIMEOUT_SECONDS
