"""What the evacuator waits on, counted: every client with the limits of ``evacuation.budget`` (none
with botocore's 60 s); the request lists held to what the evacuator's code really sends in every
adverse case driven here (the home Region failing at each request, every conditional write of the
table and of the store losing races until its last attempt);
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
from evacuation.state import ATTEMPTS, drained_item
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
    its endpoint gives no answer, as a Region that fails part-way through. With ``racing``, each
    item's conditional writes lose to another writer (ConditionalCheckFailedException) but every
    ``ATTEMPTS``-th, so that each write is made as often as the code ever makes it."""

    def __init__(self, requests, service, client, fail_from=None, racing=False) -> None:
        self._requests, self._service, self._client = requests, service, client
        self._fail_from, self._count = fail_from, 0
        self._racing, self._writes = racing, Counter()

    def __getattr__(self, name):
        attribute = getattr(self._client, name)
        if name not in OPERATIONS[self._service]:
            return attribute

        def request(**arguments):
            self._requests.sent.append((self._service, OPERATIONS[self._service][name]))
            self._count += 1
            if self._fail_from is not None and self._count >= self._fail_from:
                raise EndpointConnectionError(endpoint_url=HOME_ENDPOINT)
            if self._racing and name == "put_item" and "ConditionExpression" in arguments:
                item = arguments["Item"]["pk"]["S"], arguments["Item"]["sk"]["S"]
                self._writes[item] += 1
                if self._writes[item] % ATTEMPTS:
                    raise self._client.exceptions.ConditionalCheckFailedException(
                        {"Error": {"Code": "ConditionalCheckFailedException", "Message": "raced"}},
                        "PutItem",
                    )
            return attribute(**arguments)

        return request


class Store:
    """The key value store's client: ``racing`` makes every write of a publication but the
    ``ATTEMPTS``-th lose to another writer (ConflictException)."""

    class exceptions:  # noqa: N801 - boto3's attribute name
        class ConflictException(Exception):  # noqa: N818 - botocore's error name
            pass

        class ResourceNotFoundException(Exception):  # noqa: N818 - botocore's error name
            pass

    def __init__(self, racing: bool) -> None:
        self.racing, self.etag, self.writes, self.value = racing, 0, 0, None

    def describe_key_value_store(self, KvsARN):  # noqa: N803 - boto3's parameter names
        return {"ETag": f"E{self.etag}"}

    def get_key(self, KvsARN, Key):  # noqa: N803
        if self.value is None:
            raise self.exceptions.ResourceNotFoundException("no such key")
        return {"Value": self.value}

    def put_key(self, KvsARN, Key, Value, IfMatch):  # noqa: N803
        self.writes += 1
        if self.racing and self.writes % ATTEMPTS:
            raise self.exceptions.ConflictException("lost a race")
        self.etag, self.value = self.etag + 1, Value


class Sink:
    """SNS and CloudWatch: take what they are sent."""

    def publish(self, **_):
        return {}

    def put_metric_data(self, **_):
        return {}


def evacuator(requests, tables, *, kvs, topic, home_fails_from=None, racing=False):
    """The eu-west-1 vantage away from its table's home (us-east-1; ``tables``: moto's clients in
    both Regions, a new table in each), deciding alone (quorum 1, one failure evacuates), so that
    its round decides, notifies and publishes: the longest a round goes. One round a run: the
    clock stands on a tick, and the run starts rounds for no longer than that instant."""
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
        max_out=1,
        probe_seconds=10,
        invocation_seconds=0,
        connect_timeout=1,
        read_timeout=5,
        table=table,
        table_region="us-east-1",
        kvs_arn=KVS_ARN if kvs else None,
        topic_arn=TOPIC_ARN if topic else None,
    )
    store = Store(racing)
    made = itertools.count()

    def clients():
        home_client = Recording(
            requests, STATE_TABLE, home, fail_from=home_fails_from, racing=racing
        )
        return Clients(
            s3={origin: Recording(requests, S3, client) for origin, client in s3.items()},
            dynamodb=Recording(requests, STATE_TABLE, replica),
            dynamodb_home=home_client,
            kvs=Recording(requests, KEY_VALUE_STORE, store) if kvs else None,
            sns=Recording(requests, TOPIC, Sink()) if topic else None,
            cloudwatch=Recording(requests, METRICS, Sink()),
        )

    def make():
        next(made)
        return Evacuator(
            settings, clients(), clock=lambda: 1_000_000.0, sleep=lambda _: None, log=lambda _: None
        )

    return make


# The home Region failing from each of the requests a round sends it on, or never; every
# conditional write racing another; and without a store, a topic or both.
CASES = [
    *(
        (kvs, True, racing, fails_from)
        for kvs, racing in [(False, False), (False, True), (True, False), (True, True)]
        for fails_from in (None, 1, 2, 3, 5, 8, 12, 16, 20, 24, 27)
    ),
    (False, False, False, None),
    (True, False, True, 5),
]


def dominated(counts, paths):
    return any(all(counts[service] <= path.get(service, 0) for service in counts) for path in paths)


@pytest.fixture(scope="module")
def driven():
    """Every case's sync (on a new table: the first commit) and run (of one round): the requests
    each round sent by service, beside the probes; the run's own; the sync's; and every (service,
    operation) sent at all."""
    rounds, runs, syncs, operations = {}, {}, {}, set()
    with mock_aws():
        tables = dynamodb("us-east-1"), dynamodb("eu-west-1")
        for case in CASES:
            kvs, topic, racing, fails_from = case
            requests = Requests()
            make = evacuator(
                requests, tables, kvs=kvs, topic=topic, home_fails_from=fails_from, racing=racing
            )
            if kvs and fails_from is None:
                make().sync()
                syncs[case] = requests.since(0)
            mark = len(requests.sent)
            assert len(make().run()) == 1
            sent = requests.since(mark)
            assert sent.pop(S3) == len(ORIGINS)  # one probe of each origin, at once
            runs[case] = Counter({METRICS: sent.pop(METRICS)})
            rounds[case] = sent
            operations |= set(requests.sent)
    return SimpleNamespace(rounds=rounds, runs=runs, syncs=syncs, operations=operations)


def test_the_budget_counts_the_attempts_the_state_makes():
    assert budget._ATTEMPTS == ATTEMPTS


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
            "maxOut": 1,
            "probeSeconds": 10,
            "invocationSeconds": 120,
            "freshSeconds": 90,
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
    options: dict[str, object] = {"random": lambda: 1.0}
    # Newer botocores tell throttling errors apart, take the service's name (a shorter base for
    # DynamoDB's errors that are not throttling) and honour x-amz-retry-after, up to 5 s more; the
    # oldest our range allows (1.40.12: ExponentialBackoff(max_backoff, random)) does none of that,
    # and waits less. The budget is the newer figure; it must bound both.
    parameters = inspect.signature(standard.ExponentialBackoff).parameters
    honours_retry_after = "service_name" in parameters
    if honours_retry_after:
        options["service_name"] = "dynamodb"
        options["throttling_detector"] = SimpleNamespace(
            is_throttling_error_from_context=lambda _: True
        )
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
    # The probes, then the longest path: 26 table requests, 9 store requests and a notification
    # of 2 s each (every conditional write losing races until its last attempt).
    assert each == 6 + (26 + 9 + 1) * 2
    assert budget.worst_first_round_seconds(probe, paths) == each + 2
    # Rounds started for two minutes, the last one at its longest, then the metrics.
    assert budget.worst_invocation_seconds(invocation_seconds=120, probe=probe, paths=paths) == (
        120 + each + 2
    )
    quick = ({STATE_TABLE: 1},)
    assert budget.worst_invocation_seconds(invocation_seconds=120, probe=probe, paths=quick) == (
        120 + 6 + 2 + 2
    )
    # The sync: refused for its patience, one more try after the wait, at its longest.
    assert budget.worst_sync_seconds() == 30 + 3 + (11 + 9) * 2
