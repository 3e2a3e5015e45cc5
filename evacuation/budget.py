"""How long the evacuator may wait on each AWS service, what it sends to each, and what that adds up
to at worst.

Every client the evacuator makes (``evacuation.lambda_function.clients_for``) takes its limits from
here: seconds to connect, seconds to wait for the answer, attempts. botocore's own would be 60 s to
connect and 60 s to read ("Defaults to 60 seconds", ``connect_timeout`` and ``read_timeout``,
botocore's "Config Reference") and three attempts with back-off in its standard retry mode (four
for DynamoDB): minutes for one request, in a function that has under a minute.

The requests a round, a run and a sync send to each service are listed here too
(``ROUND_PATHS`` and the rest), and ``worst_*_seconds`` add it all up: the program
(``components.evacuator``) checks them against the function's timeout, and
``tests/evacuation/test_budget.py`` holds the lists to what the evacuator's code really sends in
every adverse case it drives, so a change to the code that sends more fails there until the lists
(and so the checks) follow.

What the figures cannot count, and only the function's timeout then bounds ("the maximum amount of
time in seconds that a Lambda function can run", Lambda developer guide, "Configure Lambda function
timeout"; the run then ends as a failed one):

- name resolution: urllib3 resolves a name with the system's resolver before the connect timeout
  starts, with no timeout of botocore's;
- a name that resolves to several addresses: urllib3 tries each in turn, each with the whole
  connect timeout, and AWS documents only that a client "receives one or more IP addresses" (S3 API
  reference, "Request routing");
- an answer that trickles in: the read timeout bounds each wait for data, not the whole answer.

The figures count one address and one wait for the answer per attempt.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

# The service names (botocore's) the evacuator's clients are for.
S3 = "s3"
STATE_TABLE = "dynamodb"
KEY_VALUE_STORE = "cloudfront-keyvaluestore"
TOPIC = "sns"
METRICS = "cloudwatch"
# Every service the evacuator calls: the only ones whose models its package carries.
SERVICES = (S3, STATE_TABLE, KEY_VALUE_STORE, TOPIC, METRICS)

# botocore's standard retry mode: before retry i (1-based) it waits a random fraction of
# min(base * 2 ** (i - 1), 20) s, the base 1 s for throttling errors (less for others), and, when
# the answer carries x-amz-retry-after, up to 5 s more (botocore.retries.standard, the version
# packaged with the function: tests/evacuation/test_budget.py holds the figures to it).
_BACKOFF_CAP_SECONDS = 20.0
_BACKOFF_BASE_SECONDS = 1.0
_RETRY_AFTER_EXTRA_SECONDS = 5.0


@dataclass(frozen=True)
class RequestLimits:
    """One client's limits: what botocore's ``Config`` is given."""

    connect_seconds: float
    read_seconds: float
    # Attempts in all, the first one included (botocore's ``total_max_attempts``).
    attempts: int = 1

    @property
    def worst_seconds(self) -> float:
        """The longest one request takes: every attempt at both timeouts, and the longest
        back-off before each retry."""
        waits = self.attempts * (self.connect_seconds + self.read_seconds)
        return waits + sum(_longest_backoff(retry) for retry in range(1, self.attempts))


def _longest_backoff(retry: int) -> float:
    exponential = min(_BACKOFF_BASE_SECONDS * 2.0 ** (retry - 1), _BACKOFF_CAP_SECONDS)
    return exponential + _RETRY_AFTER_EXTRA_SECONDS


# One second to connect, one for the answer, one attempt, for every service but the probed
# buckets (whose limits are the settings': CloudFront's connection timeout and a read timeout that
# catches a stall). DynamoDB answers in milliseconds ("single-digit millisecond performance", "What
# is Amazon DynamoDB?"), and AWS's advice for DynamoDB clients that must not stall is timeouts sized
# to what the application can wait, not the SDK's ("Tuning AWS Java SDK HTTP request settings for
# latency-aware Amazon DynamoDB applications", AWS Database Blog). AWS documents no latency for the
# key value store's API, SNS Publish or CloudWatch PutMetricData: the same second, the conservative
# choice for the run, not for the request; a request that takes longer fails, and the next round,
# seconds later, is its retry: a retry inside the round would only stretch the round.
SERVICE_LIMITS: Mapping[str, RequestLimits] = {
    STATE_TABLE: RequestLimits(connect_seconds=1, read_seconds=1),
    KEY_VALUE_STORE: RequestLimits(connect_seconds=1, read_seconds=1),
    TOPIC: RequestLimits(connect_seconds=1, read_seconds=1),
    METRICS: RequestLimits(connect_seconds=1, read_seconds=1),
}

# On the first `pulumi up` the sync may run before its role's policy has reached every endpoint:
# IAM "is eventually consistent" and changes "might not be immediately visible" (IAM user guide,
# "Troubleshoot IAM", changes that I make are not always immediately visible). It tries again for
# this long, a try every SYNC_RETRY_SECONDS, before the deploy fails on it.
SYNC_PATIENCE_SECONDS = 30.0
SYNC_RETRY_SECONDS = 3.0

# The most requests one round sends to each service, by the way it can go (``Evacuator.round``):
# each path is a case the round may take, and the worst case is the longest path. Every request is
# on the table's home replica; a home Region that does not answer ends the round (nothing is
# decided on a replica), so the longest paths are those where every conditional write loses a
# race to another writer and is made again on what won, up to ``evacuation.state.ATTEMPTS`` times:
# - the round is counted in this vantage Region's view: its view read, then written (``_RECORD``);
# - the decision: the state and every view read, the checks' item written (``_DECIDE``), and the
#   changes notified once;
# - with a key value store, the publication: the committed version and the state read, the union
#   committed (``_COMMIT``), what the store was last seen to hold read, the store's ETag and value
#   read and the key written (``_PUBLISH_STORE``), and what it holds recorded.
# Not counted: the one-off move of an earlier layout's operator entries to their own items (one
# write per such entry, once, the first round after an upgrade), which, were Lambda to end that
# run, the next run finishes (each write is idempotent).
_ATTEMPTS = 3  # evacuation.state.ATTEMPTS (tests/evacuation/test_budget.py holds them equal)
_RECORD = 2 * _ATTEMPTS
_DECIDE = 3 * _ATTEMPTS
_COMMIT = 3 * _ATTEMPTS
_PUBLISH_STORE = 3 * _ATTEMPTS


def round_paths(*, kvs: bool, topic: bool) -> tuple[dict[str, int], ...]:
    """The ways a round can go, as requests per service (see above)."""
    notify = {TOPIC: 1} if topic else {}
    if not kvs:
        return ({STATE_TABLE: _RECORD + _DECIDE, **notify},)
    return (
        {
            STATE_TABLE: _RECORD + _DECIDE + _COMMIT + 2,
            KEY_VALUE_STORE: _PUBLISH_STORE,
            **notify,
        },
    )


# After its rounds, a run sends its metrics once.
RUN_REQUESTS: Mapping[str, int] = {METRICS: 1}
# A sync commits the state, writes the store, records it, and reads the state it reports.
SYNC_PATHS: tuple[Mapping[str, int], ...] = (
    {STATE_TABLE: _COMMIT + 2, KEY_VALUE_STORE: _PUBLISH_STORE},
)


def requests_seconds(
    requests: Mapping[str, int], limits: Mapping[str, RequestLimits] = SERVICE_LIMITS
) -> float:
    """The longest these requests take, one after the other."""
    return sum(count * limits[service].worst_seconds for service, count in requests.items())


def worst_round_seconds(
    probe: RequestLimits,
    paths: Sequence[Mapping[str, int]],
    limits: Mapping[str, RequestLimits] = SERVICE_LIMITS,
) -> float:
    """The longest one round takes: every origin probed at once (the longest probe), then the
    longest path of requests."""
    return probe.worst_seconds + max(requests_seconds(path, limits) for path in paths)


def worst_first_round_seconds(
    probe: RequestLimits,
    paths: Sequence[Mapping[str, int]],
    limits: Mapping[str, RequestLimits] = SERVICE_LIMITS,
) -> float:
    """The longest a run takes to complete its first round and send its metric: what a run that
    is to make any progress needs before its timeout."""
    return worst_round_seconds(probe, paths, limits) + requests_seconds(RUN_REQUESTS, limits)


def worst_invocation_seconds(
    *,
    invocation_seconds: float,
    probe: RequestLimits,
    paths: Sequence[Mapping[str, int]],
    limits: Mapping[str, RequestLimits] = SERVICE_LIMITS,
) -> float:
    """The longest a scheduled run takes: rounds started for ``invocation_seconds``, the last one
    at its longest, then the metrics (``Evacuator.run`` starts none later)."""
    return invocation_seconds + worst_first_round_seconds(probe, paths, limits)


def worst_sync_seconds(
    paths: Sequence[Mapping[str, int]] = SYNC_PATHS,
    limits: Mapping[str, RequestLimits] = SERVICE_LIMITS,
) -> float:
    """The longest a sync takes: refused tries for the whole patience, one more after the wait
    between tries, and that one at its longest."""
    longest = max(requests_seconds(path, limits) for path in paths)
    return SYNC_PATIENCE_SECONDS + SYNC_RETRY_SECONDS + longest
