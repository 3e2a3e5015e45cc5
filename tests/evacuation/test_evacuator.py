"""Evacuators of several vantage Regions sharing one state table (moto): a Region that fails is
evacuated once two of them agree, restored once they agree it is well; a tick counts once however
many invocations run it; the blast radius holds; what cannot be read is told; with CloudFront
Functions the store follows the table, never going back."""

import json

import pytest
from botocore.exceptions import ClientError, EndpointConnectionError, ReadTimeoutError
from moto import mock_aws

from core.evacuation import EVACUATOR_TIMEOUT_SECONDS
from evacuation.decide import BY_CHECKS, IN, OperatorDecision
from evacuation.evacuator import (
    HEALTH_KEY,
    HEALTH_METRIC,
    HELD_METRIC,
    METRIC_NAME,
    Clients,
    Evacuator,
    Settings,
)
from evacuation.state import ROTATION_KEY, StateTable, drained_item, value_version
from tests.evacuation.support import FakeS3, create_state_table, dynamodb

ORIGINS = ("us-east-1", "eu-central-1", "ap-northeast-1")
BUCKETS = {origin: f"geo-proximity-test-{origin}-sandbox" for origin in ORIGINS}
ARN = "arn:aws:cloudfront::123456789012:key-value-store/9a8b7c6d"
STALLED = ReadTimeoutError(endpoint_url="https://s3.eu-central-1.amazonaws.com")
# Tick 180,000,000: 2027-01-15, on the 10 s grid.
TICK = 180_000_000


class Clock:
    def __init__(self) -> None:
        self.now = TICK * 10.0

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds


class FakeKvs:
    class exceptions:  # noqa: N801 - boto3's attribute name
        class ConflictException(Exception):  # noqa: N818 - botocore's error name
            pass

        class ResourceNotFoundException(Exception):  # noqa: N818 - botocore's error name
            pass

    def __init__(self) -> None:
        self.values: dict[str, str] = {}
        self.etag = 0
        self.calls = 0
        self.writes: list[str] = []

    def describe_key_value_store(self, KvsARN):  # noqa: N803
        self.calls += 1
        return {"ETag": f"E{self.etag}"}

    def get_key(self, KvsARN, Key):  # noqa: N803
        self.calls += 1
        if Key not in self.values:
            raise self.exceptions.ResourceNotFoundException(Key)
        return {"Key": Key, "Value": self.values[Key]}

    def put_key(self, KvsARN, Key, Value, IfMatch):  # noqa: N803
        self.calls += 1
        if IfMatch != f"E{self.etag}":
            raise self.exceptions.ConflictException(IfMatch)
        self.values[Key] = Value
        self.writes.append(Value)
        self.etag += 1


class Recorder:
    def __init__(self) -> None:
        self.messages: list[str] = []
        self.metrics: list[dict] = []

    def publish(self, TopicArn, Subject, Message):  # noqa: N803
        assert len(Subject) <= 100
        self.messages.append(Message)

    def put_metric_data(self, Namespace, MetricData):  # noqa: N803
        assert len(MetricData) <= 1000
        self.metrics += [{"namespace": Namespace, **datum} for datum in MetricData]


@pytest.fixture
def world():
    with mock_aws():
        client = dynamodb()
        table = create_state_table(client)
        s3 = {origin: FakeS3() for origin in ORIGINS}
        clock = Clock()
        kvs, sns = FakeKvs(), Recorder()
        lines: list[str] = []

        def evacuator(vantage, home=client, **overrides):
            settings = Settings(
                **{
                    "stack": "test",
                    "vantage": vantage,
                    "vantages": ("us-east-1", "eu-west-1", "ap-southeast-1"),
                    "buckets": BUCKETS,
                    "failures": 4,
                    "recoveries": 13,
                    "quorum": 2,
                    "max_out": 1,
                    "probe_seconds": 10,
                    "invocation_seconds": 120,
                    "fresh_seconds": 90,
                    "connect_timeout": 1,
                    "read_timeout": 5,
                    "table": table,
                    "account": "123456789012",
                    "topic_arn": "arn:aws:sns:us-east-1:123456789012:alarms",
                    **overrides,
                }
            )
            clients = Clients(
                s3=s3,
                dynamodb=dynamodb("eu-west-1"),
                dynamodb_home=home,
                kvs=kvs,
                sns=sns,
                cloudwatch=sns,
            )
            return Evacuator(settings, clients, clock=clock, sleep=clock.sleep, log=lines.append)

        yield {
            "client": client,
            "table": StateTable(client, table),
            "s3": s3,
            "clock": clock,
            "kvs": kvs,
            "sns": sns,
            "lines": lines,
            "evacuator": evacuator,
        }


def ticks(evacuators, clock, count):
    """``count`` ticks, each run by every evacuator, then the clock moved to the next."""
    for _ in range(count):
        tick = int(clock.now // 10)
        for evacuator in evacuators:
            evacuator.round(tick)
        clock.now = (tick + 1) * 10.0


def test_a_failing_region_is_evacuated_when_two_vantages_agree_and_restored_when_well(world):
    east, west = world["evacuator"]("us-east-1"), world["evacuator"]("eu-west-1")
    world["s3"]["eu-central-1"].error = STALLED
    ticks([east], world["clock"], 4)
    assert dict(world["table"].read().evacuated) == {}  # one vantage alone: nothing
    ticks([east, west], world["clock"], 3)
    assert dict(world["table"].read().evacuated) == {}  # the second has three of four
    ticks([east, west], world["clock"], 1)
    evacuated = world["table"].read().evacuated
    assert list(evacuated) == ["eu-central-1"] and evacuated["eu-central-1"].by == BY_CHECKS
    assert evacuated["eu-central-1"].reason == "4 failed probes in a row from eu-west-1, us-east-1"
    assert world["sns"].messages == [
        "geo-proximity test: eu-central-1 evacuated: out of rotation (4 failed probes in a row "
        "from eu-west-1, us-east-1) (seen from eu-west-1)"
    ]
    # Every probe read the health object of the bucket itself, in this account's bucket.
    requests = world["s3"]["eu-central-1"].calls
    assert {(r["Bucket"], r["Key"], r["ExpectedBucketOwner"]) for r in requests} == {
        (BUCKETS["eu-central-1"], HEALTH_KEY, "123456789012")
    }
    world["s3"]["eu-central-1"].error = None
    ticks([east, west], world["clock"], 12)
    assert list(world["table"].read().evacuated) == ["eu-central-1"]  # 12 good probes: not yet
    ticks([east, west], world["clock"], 1)
    assert dict(world["table"].read().evacuated) == {}
    assert world["sns"].messages[-1].startswith("geo-proximity test: eu-central-1 restored")


def test_a_tick_is_counted_once_whatever_runs_it(world):
    # Two invocations of us-east-1 (a duplicate, or two overlapping runs), both probing each tick.
    first, second = world["evacuator"]("us-east-1"), world["evacuator"]("us-east-1")
    west = world["evacuator"]("eu-west-1")
    world["s3"]["eu-central-1"].error = STALLED
    tick = int(world["clock"].now // 10)
    report = first.round(tick)
    duplicate = second.round(tick)
    assert not report.duplicate and duplicate.duplicate
    world["clock"].now += 10
    ticks([first, second, west], world["clock"], 3)
    view = world["table"].view("us-east-1")
    assert view.streaks["eu-central-1"].failures == 4  # four ticks, eight rounds
    # A round of a tick already past (a late invocation) changes nothing either.
    assert first.round(tick + 1).duplicate
    assert world["table"].view("us-east-1") == view
    assert dict(world["table"].read().evacuated) == {}  # eu-west-1 has three


def test_past_the_blast_radius_the_checks_hold_tell_once_and_raise_the_held_metric(world):
    for origin in ("eu-central-1", "ap-northeast-1"):
        world["s3"][origin].error = EndpointConnectionError(endpoint_url="https://s3")
    east, west = world["evacuator"]("us-east-1"), world["evacuator"]("eu-west-1")
    ticks([east, west], world["clock"], 6)
    state = world["table"].read()
    assert list(state.evacuated) == ["eu-central-1"]
    assert list(state.held) == ["ap-northeast-1"]
    held = [m for m in world["sns"].messages if "not evacuated" in m]
    assert len(held) == 1 and "their limit (evacuationMaxOut)" in held[0]
    east.put_metrics([east.round(int(world["clock"].now // 10))])
    (metric,) = [m for m in world["sns"].metrics if m["MetricName"] == HELD_METRIC]
    assert metric["Value"] == 1


def test_an_unreadable_health_object_is_told_and_never_acted_on(world):
    denied = ClientError(
        {"Error": {"Code": "AccessDenied"}, "ResponseMetadata": {"HTTPStatusCode": 403}},
        "GetObject",
    )
    for origin in ORIGINS:
        world["s3"][origin].error = denied
    east, west = world["evacuator"]("us-east-1"), world["evacuator"]("eu-west-1")
    rounds = []
    for _ in range(8):
        tick = int(world["clock"].now // 10)
        rounds.append(east.round(tick))
        west.round(tick)
        world["clock"].now += 10
    assert dict(world["table"].read().evacuated) == {}
    # One line per origin, naming its bucket, not one per probe.
    told = [line for line in world["lines"] if "cannot be read" in line and "us-east-1:" in line]
    assert len(told) == 3
    assert f"s3://{BUCKETS['eu-central-1']}/{HEALTH_KEY}" in " ".join(told)
    east.put_metrics(rounds)
    unreadable = {
        m["Dimensions"][1]["Value"]: m["Value"]
        for m in world["sns"].metrics
        if m["MetricName"] == HEALTH_METRIC
    }
    assert unreadable == dict.fromkeys(ORIGINS, 8)


def test_an_operators_decision_is_never_the_checks_to_change(world):
    world["table"].write_operator(
        "eu-central-1", OperatorDecision(IN, "2026-11-30T06:00:00+00:00", "alice", "known issue")
    )
    world["s3"]["eu-central-1"].error = STALLED
    east, west = world["evacuator"]("us-east-1"), world["evacuator"]("eu-west-1")
    ticks([east, west], world["clock"], 8)
    state = world["table"].read()
    assert dict(state.evacuated) == {} and state.out == set()
    assert state.operators["eu-central-1"].by == "alice"


def test_with_a_key_value_store_the_store_follows_the_table_with_a_version(world):
    east = world["evacuator"]("us-east-1", kvs_arn=ARN)
    west = world["evacuator"]("eu-west-1", kvs_arn=ARN)
    world["client"].put_item(TableName=world["table"].table, Item=drained_item(["ap-northeast-1"]))
    east.round(int(world["clock"].now // 10))
    world["clock"].now += 10
    first = world["kvs"].values[ROTATION_KEY]
    assert json.loads(first) == {"out": ["ap-northeast-1"], "v": 1}
    calls = world["kvs"].calls
    ticks([east, west], world["clock"], 4)
    assert world["kvs"].calls == calls  # nothing changed: no billed call
    world["s3"]["eu-central-1"].error = STALLED
    ticks([east, west], world["clock"], 4)
    assert json.loads(world["kvs"].values[ROTATION_KEY]) == {
        "out": ["ap-northeast-1", "eu-central-1"],
        "v": 2,
    }


def test_a_store_that_holds_a_newer_version_is_never_written_back(world):
    world["kvs"].values[ROTATION_KEY] = '{"out":["us-east-1"],"v":7}'
    east = world["evacuator"]("us-east-1", kvs_arn=ARN)
    east.round(int(world["clock"].now // 10))
    # The table committed version 1; the store's 7 stays, and the table learns it.
    assert world["kvs"].writes == []
    assert world["table"].published(ARN) == 7


def test_while_the_home_region_does_not_answer_nothing_is_decided_and_it_says_so(world):
    class Unreachable:
        exceptions = dynamodb().exceptions
        meta = dynamodb("us-east-1").meta

        def __getattr__(self, operation):
            def call(**_):
                raise EndpointConnectionError(
                    endpoint_url="https://dynamodb.us-east-1.amazonaws.com"
                )

            return call

    world["s3"]["eu-central-1"].error = STALLED
    away = world["evacuator"]("eu-west-1", home=Unreachable())
    tick = int(world["clock"].now // 10)
    report = away.round(tick)
    assert report.home_unreachable and report.held == 1
    assert any("home Region did not answer" in line for line in world["lines"])
    # Not on this Region's replica either: nothing written anywhere.
    replica = StateTable(dynamodb("eu-west-1"), world["table"].table)
    with pytest.raises(ClientError):
        replica.read()  # no replica table in this test: nothing was ever written to one
    assert dict(world["table"].read().evacuated) == {}


def test_a_scheduled_run_counts_every_tick_for_two_minutes_and_reports_its_metrics(world):
    world["s3"]["eu-central-1"].error = STALLED
    evacuator = world["evacuator"]("us-east-1")
    world["clock"].now += 3.5  # invoked mid-tick
    start = world["clock"].now
    report = evacuator.run(remaining_seconds=EVACUATOR_TIMEOUT_SECONDS)
    # Ticks from the next one on, every 10 s for 120 s: 12 of them, the last at start + 116.5.
    assert [r.tick for r in report] == list(range(TICK + 1, TICK + 13))
    assert world["clock"].now - start == pytest.approx(116.5)
    assert report[-1].healthy == {"us-east-1": True, "eu-central-1": False, "ap-northeast-1": True}
    metrics = {(m["MetricName"], len(m["Dimensions"])): m["Value"] for m in world["sns"].metrics}
    assert metrics[(METRIC_NAME, 1)] == metrics[(METRIC_NAME, 2)] == 3
    assert metrics[(HEALTH_METRIC, 2)] == 0 and metrics[(HELD_METRIC, 1)] == 0


def test_a_run_starts_no_round_it_could_not_finish_before_lambdas_timeout(world):
    evacuator = world["evacuator"]("us-east-1")
    # A round and the metrics take at most 1 + 5 s of probes, 15 table requests, a notification
    # and the metrics, 2 s each (evacuation.budget); with 24 s more left, rounds may start up to
    # 24 s in.
    assert evacuator.settings.round_seconds == 6 + 17 * 2
    report = evacuator.run(remaining_seconds=evacuator.settings.round_seconds + 24)
    assert len(report) == 3


def test_sync_publishes_the_drained_list_without_probing_and_writes_a_new_store(world):
    world["client"].put_item(TableName=world["table"].table, Item=drained_item(["us-east-1"]))
    evacuator = world["evacuator"]("us-east-1", kvs_arn=ARN)
    assert evacuator.sync().out == {"us-east-1"}
    assert json.loads(world["kvs"].values[ROTATION_KEY]) == {"out": ["us-east-1"], "v": 1}
    assert all(not fake.calls for fake in world["s3"].values())
    # The table outlives the store (an engine switched to Lambda@Edge and back): a new store
    # holds nothing, and the sync asks it rather than the table.
    world["kvs"].values.clear()
    evacuator.round(int(world["clock"].now // 10))
    assert ROTATION_KEY not in world["kvs"].values  # a round trusts what the table recorded
    evacuator.sync()
    assert value_version(world["kvs"].values[ROTATION_KEY]) == 1


def test_the_lambda_entry_point_builds_clients_with_the_probes_timeouts_and_no_retries(monkeypatch):
    from evacuation import lambda_function

    settings = Settings.from_document(
        {
            "stack": "test",
            "vantage": "eu-west-1",
            "vantages": ["us-east-1", "eu-west-1"],
            "buckets": BUCKETS,
            "failures": 4,
            "recoveries": 13,
            "quorum": 2,
            "maxOut": 1,
            "probeSeconds": 10,
            "invocationSeconds": 120,
            "freshSeconds": 90,
            "connectTimeout": 1,
            "readTimeout": 5,
            "table": "t",
            "account": "123456789012",
            "kvsArn": "arn:aws:cloudfront::123456789012:key-value-store/x",
            "topicArn": "arn:aws:sns:us-east-1:123456789012:alarms",
        }
    )
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    clients = lambda_function.clients_for(settings)
    config = clients.s3["ap-northeast-1"].meta.config
    assert (config.connect_timeout, config.read_timeout) == (1, 5)
    assert config.retries["total_max_attempts"] == 1
    assert clients.s3["ap-northeast-1"].meta.region_name == "ap-northeast-1"
    assert clients.dynamodb.meta.region_name == "eu-west-1"
    assert clients.sns.meta.region_name == "us-east-1"
    assert clients.kvs.meta.service_model.service_name == "cloudfront-keyvaluestore"


def test_the_sync_waits_for_its_policy_and_then_gives_up(world):
    from evacuation import lambda_function

    denied = ClientError(
        {"Error": {"Code": "AccessDeniedException", "Message": "not authorized"}}, "Query"
    )

    class Flaky:
        calls = 0

        def __init__(self, fail_times):
            self.fail_times = fail_times
            self.log = lambda _: None

        def sync(self):
            Flaky.calls += 1
            if Flaky.calls <= self.fail_times:
                raise denied
            return "synced"

    clock = Clock()
    assert lambda_function.sync_until_allowed(Flaky(3), clock, clock.sleep) == "synced"
    assert Flaky.calls == 4
    Flaky.calls = 0
    with pytest.raises(ClientError):
        lambda_function.sync_until_allowed(Flaky(1_000), clock, clock.sleep)
    # Tried for the patience and no longer: one try every 3 s for 30 s.
    assert 10 <= Flaky.calls <= 12


def test_a_key_value_store_that_fails_is_not_the_table_failing(world):
    class Failing(FakeKvs):
        def describe_key_value_store(self, KvsARN):  # noqa: N803
            raise ClientError(
                {
                    "Error": {"Code": "InternalServerException"},
                    "ResponseMetadata": {"HTTPStatusCode": 500},
                },
                "DescribeKeyValueStore",
            )

    world["s3"]["eu-central-1"].error = STALLED
    east = world["evacuator"]("us-east-1", kvs_arn=ARN)
    west = world["evacuator"]("eu-west-1", kvs_arn=ARN)
    east.clients.kvs = west.clients.kvs = Failing()
    east.kvs.client = west.kvs.client = east.clients.kvs
    ticks([east, west], world["clock"], 4)
    # Decided in the table; the store is left for the next round, and said so.
    assert list(world["table"].read().evacuated) == ["eu-central-1"]
    assert any("the key value store was not updated" in line for line in world["lines"])
    assert not any("home Region did not answer" in line for line in world["lines"])


def test_the_handler_makes_its_clients_once_per_execution_environment(monkeypatch):
    from evacuation import lambda_function

    made = []

    class Runs:
        def __init__(self, settings, clients) -> None:
            self.clients = clients

        def run(self, remaining_seconds=None):
            return []

    def clients_for(settings):
        made.append(settings.vantage)
        return object()

    document = {
        "stack": "test",
        "vantage": "eu-west-1",
        "vantages": ["us-east-1", "eu-west-1"],
        "buckets": BUCKETS,
        "failures": 4,
        "recoveries": 13,
        "quorum": 2,
        "maxOut": 1,
        "probeSeconds": 10,
        "invocationSeconds": 120,
        "freshSeconds": 90,
        "connectTimeout": 1,
        "readTimeout": 5,
        "table": "t",
    }
    monkeypatch.setenv(lambda_function.SETTINGS_VARIABLE, json.dumps(document))
    monkeypatch.setattr(lambda_function, "clients_for", clients_for)
    monkeypatch.setattr(lambda_function, "Evacuator", Runs)
    lambda_function.container_clients.cache_clear()
    try:
        for _ in range(3):
            assert lambda_function.handler({}, None) == {"rounds": 0}
    finally:
        lambda_function.container_clients.cache_clear()
    assert made == ["eu-west-1"]
