"""The evacuator's schedule, quorum and limits, where the routing state's table lives, and the
settings document each vantage Region's function reads."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

# Evacuation: each vantage Region probes every origin every 20 s (three rounds in a scheduled
# minute; EventBridge Scheduler's finest rate is one minute). Three failures in a row, seen by two
# vantage Regions, take an origin out: 40-60 s of failure plus the probe's own time-outs, so a
# Region is out within about 65 s, inside the 2 minutes promised, with room for the state to reach
# the edges.
# Six good probes in a row bring it back: two minutes of health, so a Region that flaps stays out
# rather than taking traffic every other minute.
DEFAULT_EVACUATION_FAILURES = 3
DEFAULT_EVACUATION_RECOVERIES = 6
EVACUATION_FAILURES_RANGE = (1, 10)
EVACUATION_RECOVERIES_RANGE = (1, 60)
EVACUATION_PROBE_SECONDS = 20
EVACUATION_ROUNDS = 3
# How many vantage Regions must agree: two, so that no single one evacuates on its own view.
EVACUATION_QUORUM = 2
# Three continents: any two still agree while the third (or its Region's own origin) is down.
DEFAULT_EVACUATION_VANTAGES = ("us-east-1", "eu-west-1", "ap-northeast-1")
# The probe's read timeout: a stall shows as a failure within seconds, not S3's 30.
EVACUATION_READ_TIMEOUT_SECONDS = 5
# The evacuator's function in each vantage Region: EventBridge Scheduler's finest rate is one
# minute ("rate(value unit)", value a positive integer; EventBridge Scheduler user guide, "Schedule
# types in EventBridge Scheduler"), and each invocation runs EVACUATION_ROUNDS rounds
# EVACUATION_PROBE_SECONDS apart. Its timeout covers the rounds (two 20 s waits and the last round's
# probe, at most a 10 s connection and a 5 s read) and stays under the minute, so a vantage's
# invocations never overlap. 128 MB: it waits on the network, and memory buys nothing.
EVACUATOR_RUNTIME = "python3.13"
EVACUATOR_HANDLER = "evacuation.lambda_function.handler"
EVACUATOR_MEMORY_MB = 128
EVACUATOR_TIMEOUT_SECONDS = 58
EVACUATOR_SCHEDULE = "rate(1 minute)"
# The routing state table's home Region, whatever the engine and the vantage Regions: where it is
# created and Pulumi writes its item; every other Region holding it is a replica. A table's Region
# cannot change in place, and a table replaced loses the evacuator's state, so it never changes: an
# engine switch or new vantage Regions add and remove replicas only. us-east-1, where Lambda@Edge
# functions are created and CloudFront's metrics and the default vantage Regions begin.
STATE_TABLE_HOME_REGION = "us-east-1"


def evacuator_document(
    *,
    stack: str,
    vantage: str,
    vantages: Sequence[str],
    buckets: Mapping[str, str],
    table: str,
    table_region: str,
    kvs_arn: str | None,
    topic_arn: str | None,
    failures: int,
    recoveries: int,
    quorum: int,
    probe_seconds: float,
    rounds: int,
    connect_timeout: float,
    read_timeout: float,
) -> dict[str, Any]:
    """One vantage Region's settings as ``evacuation.evacuator.Settings.from_document`` reads them
    from the ``GEO_PROXIMITY_EVACUATOR`` environment variable: what the deployed function gets, and
    what the sandbox's evacuators are configured from."""
    document: dict[str, Any] = {
        "stack": stack,
        "vantage": vantage,
        "vantages": list(vantages),
        "buckets": dict(sorted(buckets.items())),
        "table": table,
        # Every vantage Region decides on the table's home replica: a conditional write holds
        # only within one Region (DynamoDB global tables, MREC, last writer wins across Regions).
        "tableRegion": table_region,
        "failures": failures,
        "recoveries": recoveries,
        "quorum": quorum,
        "probeSeconds": probe_seconds,
        "rounds": rounds,
        "connectTimeout": connect_timeout,
        "readTimeout": read_timeout,
    }
    if kvs_arn is not None:
        document["kvsArn"] = kvs_arn
    if topic_arn is not None:
        document["topicArn"] = topic_arn
    return document
