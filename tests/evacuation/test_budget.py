"""What the evacuator waits on, counted: every client with the limits of ``evacuation.budget`` (none
with botocore's 60 s); the request lists held to what the evacuator's code really sends in every
adverse case driven here (the home Region failing at each request, a store write racing another);
the role's policy allowing exactly the actions those requests need; the worst cases added up as the
run takes them; the back-off held to botocore's."""

import inspect
import itertools
from collections import Counter
from types import SimpleNamespace

import boto3
import pytest
from botocore.exceptions import EndpointConnectionError
from botocore.retries import standard
from moto import mock_aws

from core.policies import evacuator_policy
from evacuation import budget, lambda_function
from evacuation.budget import (
    KEY_VALUE_STORE,
    METRICS,
    S3,
    STATE_TABLE,
    TOPIC,
    RequestLimits,
)
from evacuation.evacuator import Clients, Evacuator, Settings
from evacuation.state import drained_item
from tests.evacuation.support import FakeS3, create_state_table, dynamodb

ORIGINS = ("us-east-1", "eu-central-1", "ap-northeast-1")
BUCKETS = {origin: f"bucket-{origin}" for origin in ORIGINS}
KVS_ARN = "arn:aws:cloudfront::123456789012:key-value-store/9a8b7c6d-1e2f-4a5b-8c9d-0e1f2a3b4c5d"
TOPIC_ARN = "arn:aws:sns:us-east-1:123456789012:alarms"
HOME_ENDPOINT = "https://dynamodb.us-east-1.amazonaws.com"
TABLES = itertools.count()


def _operations():
    """Method name → API operation, per service, from botocore's own models."""
    session = boto3.session.Session(aws_access_key_id="x", aws_secret_access_key="x")
    return {
        service: session.client(service, region_name="us-east-1").meta.method_to_api_mapping
        for service in budget.SERVICES
    }


OPERATIONS = _operations()


class Requests:
    """Every request the evacuator's clients send, in order, as (service, operation)."""

    def __init__(self) -> None:
        self.sent: list[tuple[str, str]] = []

    def since(self, mark: int) -> Counter:
        return Counter(service for service, _ in self.sent[mark:])


class Recording:
    """A client whose every request is recorded; from its ``fail_from``-th request on (1-based),
    its endpoint gives no answer, as a Region that fails part-way through."""

    def __init__(self, requests, service, client, fail_from=None) -> None:
        self._requests, self._service, self._client = requests, service, client
        self._fail_from, self._count = fail_from, 0

    def __getattr__(self, name):
        attribute = getattr(self._client, name)
        if name not in OPERATIONS[self._service]:
            return attribute

        def request(**arguments):
            self._requests.sent.append((self._service, OPERATIONS[self._service][name]))
            self._count += 1
            if self._fail_from is not None and self._count >= self._fail_from:
                raise EndpointConnectionError(endpoint_url=HOME_ENDPOINT)
            return attribute(**arguments)

        return request


class Store:
    """The key value store's client: ``racing`` makes every first write of a publication lose
    to another writer (ConflictException), so each publication writes twice."""

    class exceptions:  # noqa: N801 - boto3's attribute name
        class ConflictException(Exception):  # noqa: N818 - botocore's error name
            pass

    def __init__(self, racing: bool) -> None:
        self.racing, self.etag, self.writes = racing, 0, 0

    def describe_key_value_store(self, KvsARN):  # noqa: N803 - boto3's parameter names
        return {"ETag": f"E{self.etag}"}

    def put_key(self, KvsARN, Key, Value, IfMatch):  # noqa: N803
        self.writes += 1
        if self.racing and self.writes % 2:
            raise self.exceptions.ConflictException("lost a race")
        self.etag += 1


class Sink:
    """SNS and CloudWatch: take what they are sent."""

    def publish(self, **_):
        return {}

    def put_metric_data(self, **_):
        return {}


def evacuator(requests, tables, *, kvs, topic, home_fails_from=None, racing=False):
    """The eu-west-1 vantage away from its table's home (us-east-1; ``tables``: moto's clients in
    both Regions, a new table in each), deciding alone (quorum 1, one failure evacuates), so that
    its first round decides, notifies and publishes: the longest a round goes."""
    home, replica = tables
    table = create_state_table(home, f"routing-state-{next(TABLES)}")
    create_state_table(replica, table)
    for client in (home, replica):
        client.put_item(TableName=table, Item=drained_item([]))
    s3 = {origin: FakeS3() for origin in ORIGINS}
    s3["eu-central-1"].error = TimeoutError("stalled")
    settings = Settings(
        stack="test",
        vantage="eu-west-1",
        vantages=("us-east-1", "eu-west-1"),
        buckets=BUCKETS,
        failures=1,
        recoveries=6,
        quorum=1,
        probe_seconds=20,
        rounds=1,
        connect_timeout=1,
        read_timeout=5,
        table=table,
        table_region="us-east-1",
        kvs_arn=KVS_ARN if kvs else None,
        topic_arn=TOPIC_ARN if topic else None,
    )
    clients = Clients(
        s3={origin: Recording(requests, S3, client) for origin, client in s3.items()},
        dynamodb=Recording(requests, STATE_TABLE, replica),
        dynamodb_home=Recording(requests, STATE_TABLE, home, fail_from=home_fails_from),
        kvs=Recording(requests, KEY_VALUE_STORE, Store(racing)) if kvs else None,
        sns=Recording(requests, TOPIC, Sink()) if topic else None,
        cloudwatch=Recording(requests, METRICS, Sink()),
    )
    return Evacuator(settings, clients, sleep=lambda _: None, log=lambda _: None)


# The home Region failing from each of the requests a round sends it on, or never; a store whose
# writes race another's; and without a store, a topic or both.
CASES = [
    *(
        (kvs, True, racing, fails_from)
        for kvs, racing in [(False, False), (True, False), (True, True)]
        for fails_from in (None, *range(1, 8))
    ),
    (False, False, False, None),
    (True, False, True, 5),
]


def dominated(counts, paths):
    return any(all(counts[service] <= path.get(service, 0) for service in counts) for path in paths)


@pytest.fixture(scope="module")
def driven():
    """Every case's run (of one round) and sync: the requests each round sent by service, beside
    the probes; the run's own; the sync's; and every (service, operation) sent at all."""
    rounds, runs, syncs, operations = {}, {}, {}, set()
    with mock_aws():
        tables = dynamodb("us-east-1"), dynamodb("eu-west-1")
        for case in CASES:
            kvs, topic, racing, fails_from = case
            requests = Requests()
            make = {"kvs": kvs, "topic": topic, "home_fails_from": fails_from, "racing": racing}
            evacuator(requests, tables, **make).run()
            sent = requests.since(0)
            assert sent.pop(S3) == len(ORIGINS)  # one probe of each origin, at once
            runs[case] = Counter({METRICS: sent.pop(METRICS)})
            rounds[case] = sent
            if kvs:
                mark = len(requests.sent)
                evacuator(requests, tables, **make).sync()
                syncs[case] = requests.since(mark)
            operations |= set(requests.sent)
    return SimpleNamespace(rounds=rounds, runs=runs, syncs=syncs, operations=operations)


def test_no_round_sends_more_than_a_path_of_the_budget_and_the_longest_paths_are_reached(driven):
    for (kvs, topic, _, _), counts in driven.rounds.items():
        paths = budget.round_paths(kvs=kvs, topic=topic)
        assert dominated(counts, paths), (kvs, topic, counts, paths)
    # The lists are the code's, not a guess above it: each path is what some case sent.
    for kvs in (False, True):
        sent = [dict(c) for (k, t, _, _), c in driven.rounds.items() if (k, t) == (kvs, True)]
        for path in budget.round_paths(kvs=kvs, topic=True):
            assert path in sent, (kvs, path)


def test_a_run_sends_its_metric_and_a_sync_no_more_than_its_path(driven):
    assert all(dict(counts) == dict(budget.RUN_REQUESTS) for counts in driven.runs.values())
    for counts in driven.syncs.values():
        assert dominated(counts, budget.SYNC_PATHS), counts
    assert [dict(path) for path in budget.SYNC_PATHS] == [
        max((dict(c) for c in driven.syncs.values()), key=lambda c: sum(c.values()))
    ]


def test_the_role_allows_exactly_the_requests_the_evacuator_sends(driven):
    policy = evacuator_policy(
        "123456789012",
        health_objects=["bucket/key"],
        table_name="routing-state",
        log_groups=["arn:aws:logs:eu-west-1:123456789012:log-group:/aws/lambda/evacuator"],
        kvs_arn=KVS_ARN,
        topic_arn=TOPIC_ARN,
        metric_namespace="GeoProximity",
    )
    allowed = set()
    for statement in policy["Statement"]:
        actions = statement["Action"]
        allowed |= {actions} if isinstance(actions, str) else set(actions)
    # The function's own logs are written by the Lambda runtime, not by its code.
    allowed = {action for action in allowed if not action.startswith("logs:")}
    # IAM's action names are the APIs' operation names for these services.
    assert allowed == {f"{service}:{operation}" for service, operation in driven.operations}


def test_every_client_has_the_budgets_limits_and_none_botocores_60_s(monkeypatch):
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    settings = Settings.from_document(
        {
            "stack": "test",
            "vantage": "eu-west-1",
            "vantages": ["us-east-1", "eu-west-1"],
            "buckets": BUCKETS,
            "failures": 3,
            "recoveries": 6,
            "quorum": 2,
            "probeSeconds": 20,
            "rounds": 3,
            "connectTimeout": 1,
            "readTimeout": 5,
            "table": "t",
            "tableRegion": "us-east-1",
            "kvsArn": KVS_ARN,
            "topicArn": TOPIC_ARN,
        }
    )
    clients = lambda_function.clients_for(settings)
    made = {
        STATE_TABLE: [clients.dynamodb, clients.dynamodb_home],
        KEY_VALUE_STORE: [clients.kvs],
        TOPIC: [clients.sns],
        METRICS: [clients.cloudwatch],
    }
    for service, limits in budget.SERVICE_LIMITS.items():
        for client in made[service]:
            config = client.meta.config
            assert (config.connect_timeout, config.read_timeout) == (
                limits.connect_seconds,
                limits.read_seconds,
            ), service
            assert config.retries["total_max_attempts"] == limits.attempts, service
    for client in clients.s3.values():
        config = client.meta.config
        assert (config.connect_timeout, config.read_timeout) == (1, 5)
        assert config.retries["total_max_attempts"] == 1


@pytest.mark.parametrize("retry", [1, 2, 3, 5, 8])
def test_the_longest_backoff_is_botocores_at_its_longest(retry):
    """botocore's standard mode, its random draw at 1, a throttling error whose answer asks to
    retry after an hour: the budget's figure, and no more."""
    options = {
        "random": lambda: 1.0,
        "throttling_detector": SimpleNamespace(is_throttling_error_from_context=lambda _: True),
    }
    # Newer botocores take the service's name (a shorter base for DynamoDB's errors that are not
    # throttling) and honour x-amz-retry-after, up to 5 s more; the oldest our range allows does
    # neither, and waits less. The budget is the newer figure; it must bound both.
    parameters = inspect.signature(standard.ExponentialBackoff).parameters
    honours_retry_after = "service_name" in parameters
    if honours_retry_after:
        options["service_name"] = "dynamodb"
    backoff = standard.ExponentialBackoff(**options)
    context = SimpleNamespace(
        attempt_number=retry,
        http_response=SimpleNamespace(headers={"x-amz-retry-after": "3600000"}),
    )
    two_attempts_and_more = RequestLimits(0, 0, attempts=retry + 1).worst_seconds
    fewer = RequestLimits(0, 0, attempts=retry).worst_seconds
    if honours_retry_after:
        assert backoff.delay_amount(context) == pytest.approx(two_attempts_and_more - fewer)
    else:
        assert 0 < backoff.delay_amount(context) <= two_attempts_and_more - fewer


def test_a_request_waits_both_timeouts_on_each_attempt_and_backs_off_between():
    assert RequestLimits(1, 5).worst_seconds == 6
    # Two attempts of 2 + 3 s, and before the second at most 1 s and 5 s of retry-after.
    assert RequestLimits(2, 3, attempts=2).worst_seconds == 2 * 5 + 1 + 5


def test_the_worst_cases_add_up_as_a_run_takes_them():
    probe = RequestLimits(1, 5)
    paths = budget.round_paths(kvs=True, topic=True)
    each = budget.worst_round_seconds(probe, paths)
    # The probes, then the longest path: 9 table requests, 8 store requests and a notification
    # of 2 s each (the home Region failing at the last request of the publication).
    assert each == 6 + (9 + 8 + 1) * 2
    assert budget.worst_first_round_seconds(probe, paths) == each + 2
    # A round longer than the 20 s between rounds: the next one starts when it ends.
    assert budget.worst_invocation_seconds(
        rounds=3, probe_seconds=20, probe=probe, paths=paths
    ) == (3 * each + 2)
    # Rounds shorter than their interval: the interval, then the last round and the metric.
    quick = ({STATE_TABLE: 1},)
    assert budget.worst_invocation_seconds(
        rounds=3, probe_seconds=20, probe=probe, paths=quick
    ) == (2 * 20 + 6 + 2 + 2)
    assert budget.worst_invocation_seconds(
        rounds=1, probe_seconds=20, probe=probe, paths=paths
    ) == budget.worst_first_round_seconds(probe, paths)
    # The sync: refused for its patience, one more try after the wait, at its longest.
    assert budget.worst_sync_seconds() == 30 + 3 + (4 + 8) * 2
