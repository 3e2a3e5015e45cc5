"""The evacuator's schedule, quorum and limits, where the routing state's table lives, and the
settings document each vantage Region's function reads.

The figures below are what ``./dev simulate`` holds to AWS's documented contracts (its reaction
times, and the invariants of docs/evacuation.md): change one, and run it again.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

# Each vantage Region probes every origin at every tick: every 10 s, on the epoch's grid, so two
# invocations of one vantage Region probe in the same ticks and a tick is counted once.
EVACUATION_PROBE_SECONDS = 10
# Four failed probes in a row (at least 30 s of failure), seen by two vantage Regions, take an
# origin out. Four and not three: with 5% of probes lost at random, three in a row from two
# vantage Regions at once happen about once in 10,000 hours per origin, four about once in a few
# million (./dev simulate counts them).
DEFAULT_EVACUATION_FAILURES = 4
# Thirteen good probes in a row bring it back: at least 120 s of health (twelve intervals), so a
# Region that flaps stays out rather than taking traffic every other minute.
DEFAULT_EVACUATION_RECOVERIES = 13
EVACUATION_FAILURES_RANGE = (1, 10)
EVACUATION_RECOVERIES_RANGE = (1, 60)
# evacuationMaxOut's bounds; it must also leave an origin in rotation (settings.parser).
EVACUATION_MAX_OUT_RANGE = (1, 50)
# How many vantage Regions must agree: two, so that no single one evacuates on its own view.
EVACUATION_QUORUM = 2
# Three continents: any two still agree while the third (or its Region's own origin) is down.
DEFAULT_EVACUATION_VANTAGES = ("us-east-1", "eu-west-1", "ap-northeast-1")
# The probe's read timeout: a stall shows as a failure within seconds, not S3's 30.
EVACUATION_READ_TIMEOUT_SECONDS = 5
# EventBridge Scheduler's finest rate is one minute ("rate(value unit)", value a positive integer;
# EventBridge Scheduler user guide, "Schedule types in EventBridge Scheduler",
# https://docs.aws.amazon.com/scheduler/latest/UserGuide/schedule-types.html), and it invokes
# "with 60 second precision": between 1:00:00 and 1:00:59 for 1:00 (same page). Two invocations
# of a schedule may so start nearly two minutes apart. Each runs rounds for two minutes, so one is
# running whatever the scheduler's phase (two, most of the time: a tick is counted once). A run
# Lambda delivers late (up to the event age) or loses leaves a gap, which the freshness window
# below covers.
EVACUATION_INVOCATION_SECONDS = 120
# A vantage Region's view counts this long after its last probe, and a run of probes survives a gap
# this long: Lambda's event queue may hold an invocation up to its maximum age (60 s, set below)
# and lose one now and then ("events might also be deleted from the queue without being sent to
# the function": Lambda developer guide, "How Lambda handles errors and retries with asynchronous
# invocation", https://docs.aws.amazon.com/lambda/latest/dg/invocation-async-error-handling.html).
EVACUATION_FRESH_SECONDS = 90
# The evacuator's function in each vantage Region. Its timeout covers the invocation's rounds and
# the last round with every request at its limits (evacuation.budget: with the longest connection
# timeout a stack may set, 10 s, a 5 s read, a key value store and a topic, 120 + 89 s), so a run
# completes every round it starts whatever AWS answers; the evacuator starts no round it could
# not finish before it (components.evacuator refuses settings that would not fit). A run is billed
# for the time it runs (about two minutes), not for its timeout. 128 MB: it waits on the network,
# and memory buys nothing.
EVACUATOR_RUNTIME = "python3.13"
EVACUATOR_HANDLER = "evacuation.lambda_function.handler"
EVACUATOR_MEMORY_MB = 128
EVACUATOR_TIMEOUT_SECONDS = 210
EVACUATOR_SCHEDULE = "rate(1 minute)"
# Lambda's event queue keeps a scheduled event at most this long, and retries a failed run never:
# the next minute's run is on its way ("Retry attempts ... between 0 and 2", "Maximum age of event
# ... up to 6 hours": Lambda developer guide, "Configuring error handling for asynchronous
# invocation", https://docs.aws.amazon.com/lambda/latest/dg/invocation-async-configuring.html).
EVACUATOR_MAXIMUM_EVENT_AGE_SECONDS = 60
# The routing state table's home Region, whatever the engine and the vantage Regions: where it is
# created and Pulumi writes its item, and where every decision is made; every other Region holding
# it is a replica. A table's Region cannot change in place, and a table replaced loses the
# evacuator's state, so it never changes: an engine switch or new vantage Regions add and remove
# replicas only. us-east-1, where Lambda@Edge functions are created and CloudFront's metrics and
# the default vantage Regions begin.
STATE_TABLE_HOME_REGION = "us-east-1"


def default_max_out(origins: int) -> int:
    """The blast radius: the most origins the checks hold out at once, half of them (rounded
    down) and at least one."""
    return max(1, origins // 2)


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
    account: str,
    failures: int,
    recoveries: int,
    quorum: int,
    max_out: int,
    probe_seconds: float,
    invocation_seconds: float,
    fresh_seconds: float,
    connect_timeout: float,
    read_timeout: float,
) -> dict[str, Any]:
    """One vantage Region's settings as ``evacuation.evacuator.Settings.from_document`` reads them
    from the ``GEO_PROXIMITY_EVACUATOR`` environment variable: what the deployed function gets, and
    what the sandbox's and the simulation's evacuators are configured from."""
    document: dict[str, Any] = {
        "stack": stack,
        "vantage": vantage,
        "vantages": list(vantages),
        "buckets": dict(sorted(buckets.items())),
        "table": table,
        # Every vantage Region decides on the table's home replica: a conditional write holds
        # only within one Region (DynamoDB global tables, MREC, last writer wins across Regions).
        "tableRegion": table_region,
        # Every probe names the account that must own the bucket (ExpectedBucketOwner).
        "account": account,
        "failures": failures,
        "recoveries": recoveries,
        "quorum": quorum,
        "maxOut": max_out,
        "probeSeconds": probe_seconds,
        "invocationSeconds": invocation_seconds,
        "freshSeconds": fresh_seconds,
        "connectTimeout": connect_timeout,
        "readTimeout": read_timeout,
    }
    if kvs_arn is not None:
        document["kvsArn"] = kvs_arn
    if topic_arn is not None:
        document["topicArn"] = topic_arn
    return document
