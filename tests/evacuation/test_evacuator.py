"""Evacuators of several vantage Regions sharing one state table (moto): a Region that fails is
evacuated once two of them agree, restored once they agree it is well, never the last in
rotation; every change is notified; with CloudFront Functions the union is published only when it
changes."""

import json

import pytest
from moto import mock_aws

from evacuation.decide import BY_CHECKS
from evacuation.evacuator import HEALTH_KEY, METRIC_NAME, Clients, Evacuator, Settings
from evacuation.state import ROTATION_KEY, StateTable, drained_item, out_value
from tests.evacuation.support import FakeS3, create_state_table, dynamodb

ORIGINS = ("us-east-1", "eu-central-1", "ap-northeast-1")
BUCKETS = {origin: f"geo-proximity-test-{origin}-sandbox" for origin in ORIGINS}


class Clock:
    def __init__(self) -> None:
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds


class FakeKvs:
    class exceptions:  # noqa: N801 - boto3's attribute name
        class ConflictException(Exception):  # noqa: N818 - botocore's error name
            pass

    def __init__(self) -> None:
        self.values: dict[str, str] = {}
        self.etag = 0
        self.calls = 0

    def describe_key_value_store(self, KvsARN):  # noqa: N803
        self.calls += 1
        return {"ETag": f"E{self.etag}"}

    def put_key(self, KvsARN, Key, Value, IfMatch):  # noqa: N803
        self.calls += 1
        assert IfMatch == f"E{self.etag}"
        self.values[Key] = Value
        self.etag += 1


class Recorder:
    def __init__(self) -> None:
        self.messages: list[str] = []
        self.metrics: list[dict] = []

    def publish(self, TopicArn, Subject, Message):  # noqa: N803
        assert len(Subject) <= 100
        self.messages.append(Message)

    def put_metric_data(self, Namespace, MetricData):  # noqa: N803
        self.metrics.append({"namespace": Namespace, **MetricData[0]})


@pytest.fixture
def world():
    with mock_aws():
        client = dynamodb()
        table = create_state_table(client)
        s3 = {origin: FakeS3() for origin in ORIGINS}
        clock = Clock()
        kvs, sns = FakeKvs(), Recorder()

        def evacuator(vantage, **overrides):
            settings = Settings(
                stack="test",
                vantage=vantage,
                vantages=("us-east-1", "eu-west-1", "ap-southeast-1"),
                buckets=BUCKETS,
                failures=3,
                recoveries=6,
                quorum=2,
                probe_seconds=20,
                rounds=3,
                connect_timeout=1,
                read_timeout=5,
                table=table,
                topic_arn="arn:aws:sns:us-east-1:123456789012:alarms",
                **overrides,
            )
            clients = Clients(s3=s3, dynamodb=client, kvs=kvs, sns=sns, cloudwatch=sns)
            return Evacuator(settings, clients, clock=clock, sleep=clock.sleep, log=lambda _: None)

        yield {
            "client": client,
            "table": StateTable(client, table),
            "s3": s3,
            "clock": clock,
            "kvs": kvs,
            "sns": sns,
            "evacuator": evacuator,
        }


def rounds(evacuators, clock, count):
    for _ in range(count):
        for evacuator in evacuators:
            evacuator.round()
        clock.now += 20


def test_a_failing_region_is_evacuated_when_two_vantages_agree_and_restored_when_well(world):
    east, west = world["evacuator"]("us-east-1"), world["evacuator"]("eu-west-1")
    world["s3"]["eu-central-1"].error = TimeoutError("Read timeout on endpoint URL")
    rounds([east], world["clock"], 3)
    assert dict(world["table"].read().evacuated) == {}  # one vantage alone: nothing
    rounds([east, west], world["clock"], 2)
    assert dict(world["table"].read().evacuated) == {}
    west.round()  # the third failure in a row from a second vantage Region
    evacuated = world["table"].read().evacuated
    assert list(evacuated) == ["eu-central-1"]
    assert evacuated["eu-central-1"].by == BY_CHECKS
    assert evacuated["eu-central-1"].reason == (
        "3 failed probes in a row from eu-west-1, us-east-1"
    )
    assert world["sns"].messages == [
        "geo-proximity test: eu-central-1 evacuated: out of rotation (3 failed probes in a row "
        "from eu-west-1, us-east-1) (seen from eu-west-1)"
    ]
    # Every probe read the health object of the bucket itself.
    assert set(world["s3"]["eu-central-1"].calls) == {(BUCKETS["eu-central-1"], HEALTH_KEY)}
    world["s3"]["eu-central-1"].error = None
    rounds([east, west], world["clock"], 5)
    assert list(world["table"].read().evacuated) == ["eu-central-1"]  # five good probes: not yet
    rounds([east, west], world["clock"], 1)
    assert dict(world["table"].read().evacuated) == {}
    assert world["sns"].messages[-1].startswith("geo-proximity test: eu-central-1 restored")


def test_the_last_origin_in_rotation_stays_whatever_the_probes_say(world):
    world["client"].put_item(
        TableName=world["table"].table, Item=drained_item(["us-east-1", "ap-northeast-1"])
    )
    world["s3"]["eu-central-1"].error = ConnectionRefusedError("refused")
    rounds([world["evacuator"]("us-east-1"), world["evacuator"]("eu-west-1")], world["clock"], 6)
    assert dict(world["table"].read().evacuated) == {}
    assert world["sns"].messages == []


def test_with_a_key_value_store_the_union_is_published_when_it_changes_only(world):
    arn = "arn:aws:cloudfront::123456789012:key-value-store/9a8b7c6d"
    east = world["evacuator"]("us-east-1", kvs_arn=arn)
    west = world["evacuator"]("eu-west-1", kvs_arn=arn)
    world["client"].put_item(TableName=world["table"].table, Item=drained_item(["ap-northeast-1"]))
    east.round()
    assert json.loads(world["kvs"].values[ROTATION_KEY]) == {"out": ["ap-northeast-1"]}
    calls = world["kvs"].calls
    rounds([east, west], world["clock"], 4)
    assert world["kvs"].calls == calls  # nothing changed: no billed call
    world["s3"]["eu-central-1"].error = TimeoutError("stalled")
    rounds([east, west], world["clock"], 3)
    assert json.loads(world["kvs"].values[ROTATION_KEY]) == {
        "out": ["ap-northeast-1", "eu-central-1"]
    }


def test_a_scheduled_run_probes_rounds_apart_and_reports_the_origins_in_rotation(world):
    world["s3"]["eu-central-1"].error = TimeoutError("stalled")
    evacuator = world["evacuator"]("us-east-1")
    start = world["clock"].now
    report = evacuator.run()
    assert len(report) == 3 and world["clock"].now - start == 40
    assert len(world["s3"]["eu-central-1"].calls) == 3
    assert report[-1].healthy == {"us-east-1": True, "eu-central-1": False, "ap-northeast-1": True}
    (metric,) = world["sns"].metrics
    assert (metric["namespace"], metric["MetricName"], metric["Value"]) == (
        "GeoProximity",
        METRIC_NAME,
        3,
    )
    assert metric["Dimensions"] == [{"Name": "Stack", "Value": "test"}]


def test_sync_publishes_the_drained_list_without_probing(world):
    arn = "arn:aws:cloudfront::123456789012:key-value-store/9a8b7c6d"
    world["client"].put_item(TableName=world["table"].table, Item=drained_item(["us-east-1"]))
    state = world["evacuator"]("us-east-1", kvs_arn=arn).sync()
    assert state.out == {"us-east-1"}
    assert json.loads(world["kvs"].values[ROTATION_KEY]) == {"out": ["us-east-1"]}
    assert all(not fake.calls for fake in world["s3"].values())


def test_sync_writes_a_new_store_whatever_the_table_says_was_published(world):
    # The table outlives the store (an engine switched to Lambda@Edge and back): it remembers the
    # value written to the old store, and the new store has no key at all.
    arn = "arn:aws:cloudfront::123456789012:key-value-store/9a8b7c6d"
    world["client"].put_item(TableName=world["table"].table, Item=drained_item(["us-east-1"]))
    evacuator = world["evacuator"]("us-east-1", kvs_arn=arn)
    evacuator.sync()
    world["kvs"].values.clear()
    evacuator.round()
    assert ROTATION_KEY not in world["kvs"].values  # a round writes only what changed
    evacuator.sync()
    assert json.loads(world["kvs"].values[ROTATION_KEY]) == {"out": ["us-east-1"]}


def test_the_lambda_entry_point_builds_clients_with_the_probes_timeouts_and_no_retries(monkeypatch):
    from evacuation import lambda_function

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


class UnreachableDynamoDB:
    """A DynamoDB client whose Region does not answer."""

    meta = dynamodb().meta

    def __getattr__(self, operation):
        def call(**_):
            from botocore.exceptions import EndpointConnectionError

            raise EndpointConnectionError(endpoint_url="https://dynamodb.us-east-1.amazonaws.com")

        return call


@pytest.fixture
def replica(world):
    """The state table's replica in eu-west-1, beside the world's table (its home, us-east-1):
    two tables of moto's."""
    local = dynamodb("eu-west-1")
    create_state_table(local)
    return local


def away_from_home(world, replica, home, *, log=lambda _: None, **overrides) -> Evacuator:
    """The eu-west-1 vantage's evacuator: its table's home in us-east-1 through ``home``, its own
    Region's ``replica``; one round an invocation, and one vantage Region decides (quorum 1)."""
    settings = Settings(
        **{
            "stack": "test",
            "vantage": "eu-west-1",
            "vantages": ("us-east-1", "eu-west-1"),
            "buckets": BUCKETS,
            "failures": 3,
            "recoveries": 6,
            "quorum": 1,
            "probe_seconds": 20,
            "rounds": 1,
            "connect_timeout": 1,
            "read_timeout": 5,
            "table": world["table"].table,
            "table_region": "us-east-1",
            **overrides,
        }
    )
    clients = Clients(s3=world["s3"], dynamodb=replica, dynamodb_home=home, kvs=world["kvs"])
    return Evacuator(settings, clients, clock=world["clock"], sleep=world["clock"].sleep, log=log)


def test_every_vantage_decides_on_the_home_replica_and_on_its_own_while_home_is_down(
    world, replica
):
    # A conditional write holds within one Region only, so the decisions are made in the table's
    # home Region.
    world["s3"]["eu-central-1"].error = TimeoutError("stalled")
    lines = []
    away_from_home(world, replica, world["client"], log=lines.append, failures=1).round()
    assert list(world["table"].read().evacuated) == ["eu-central-1"]  # written at home
    assert dict(StateTable(replica, world["table"].table).read().evacuated) == {}
    down = away_from_home(world, replica, UnreachableDynamoDB(), log=lines.append, failures=1)
    down.round()
    assert list(StateTable(replica, world["table"].table).read().evacuated) == ["eu-central-1"]
    assert any("home Region did not answer" in line for line in lines)


class HomeThatFailsAfterReading:
    """The home Region's client: it answers reads, then stops answering (from the first write
    on), as a Region that fails in the middle of a round."""

    def __init__(self, client) -> None:
        self.client = client

    def __getattr__(self, operation):
        if operation == "put_item":
            return UnreachableDynamoDB().put_item
        return getattr(self.client, operation)


def test_a_round_done_again_on_the_replica_counts_each_probe_once(world, replica):
    world["s3"]["eu-central-1"].error = TimeoutError("stalled")
    evacuator = away_from_home(world, replica, HomeThatFailsAfterReading(world["client"]))
    table = StateTable(replica, world["table"].table)
    for count in (1, 2):
        evacuator.round()
        world["clock"].now += 20
        # The home write failed and the round was done on the replica: one failure a round.
        assert table.views()["eu-west-1"]["eu-central-1"].failures == count
    assert dict(table.read().evacuated) == {}  # two failed probes of three: not yet
    evacuator.round()
    assert list(table.read().evacuated) == ["eu-central-1"]


class CountedUnreachableDynamoDB(UnreachableDynamoDB):
    def __init__(self) -> None:
        self.calls = 0

    def __getattr__(self, operation):
        self.calls += 1
        return super().__getattr__(operation)


def test_a_round_waits_for_a_home_region_that_does_not_answer_once(world, replica):
    home = CountedUnreachableDynamoDB()
    arn = "arn:aws:cloudfront::123456789012:key-value-store/9a8b7c6d"
    report = away_from_home(world, replica, home, kvs_arn=arn).round()
    # One call to the home Region (the first read); the rest of the round, the publication to
    # the key value store included, on this Region's replica.
    assert home.calls == 1
    assert report.published and json.loads(world["kvs"].values[ROTATION_KEY]) == {"out": []}
    assert StateTable(replica, world["table"].table).published() == out_value(set())


def test_the_sync_waits_for_its_policy_and_then_gives_up(world):
    from botocore.exceptions import ClientError

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
