"""The evacuator's arguments are checked against the function's timeout with every wait counted
(``evacuation.budget``): two minutes of rounds and the last one with every request at its limits,
and the sync."""

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
        # Lambda@Edge: probes of 1 + 5 s, then 15 table requests and a notification of 2 s each,
        # and the metrics' 2 s.
        ({}, 6 + 16 * 2 + 2, 120 + 6 + 16 * 2 + 2),
        # CloudFront Functions: 26 table and 9 store requests and one notification.
        ({"kvs_arn": KVS_ARN}, 6 + 36 * 2 + 2, 120 + 6 + 36 * 2 + 2),
    ],
    ids=["lambda-edge", "cloudfront-functions"],
)
def test_the_default_runs_figures_count_every_wait(engine, first_round, whole_run):
    args = evacuator_args(topic_arn=TOPIC_ARN, **engine)
    assert args.first_round_seconds == first_round
    assert args.longest_invocation_seconds == whole_run <= EVACUATOR_TIMEOUT_SECONDS


def test_the_sync_fits_the_function_with_its_patience_for_iam():
    assert evacuator_args(kvs_arn=KVS_ARN).sync_seconds == 30 + 3 + (11 + 9) * 2
    assert evacuator_args().sync_seconds is None


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        (
            {"invocation_seconds": 150, "kvs_arn": KVS_ARN, "topic_arn": TOPIC_ARN},
            "150 s of rounds and a last round of 1 \\+ 5 s probes, every request at its limits, "
            "take 230 s, more than the function's 210 s timeout",
        ),
        ({"connect_timeout": 10, "read_timeout": 60, "topic_arn": TOPIC_ARN}, "take 224 s"),
    ],
)
def test_what_cannot_complete_within_the_timeout_is_refused(overrides, message):
    with pytest.raises(EvacuatorError, match=message):
        evacuator_args(**overrides)


def test_a_default_run_completes_every_round_within_the_timeout_whatever_aws_answers():
    # Rounds are started for two minutes; the last one, with every request at its limits, and the
    # metrics still end before Lambda's timeout (with the slowest probes a stack may set, too).
    for engine in ({}, {"kvs_arn": KVS_ARN}):
        for connect_timeout in (1, 10):
            args = evacuator_args(topic_arn=TOPIC_ARN, connect_timeout=connect_timeout, **engine)
            assert args.longest_invocation_seconds <= EVACUATOR_TIMEOUT_SECONDS
