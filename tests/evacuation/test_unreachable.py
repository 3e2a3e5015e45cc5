"""Only the state table's own failures are taken for its home Region not answering: a key value
store that answers 5xx or does not answer, in the same round, says nothing of the table, and the
decision stands."""

import pytest
from botocore.exceptions import ClientError, EndpointConnectionError, ReadTimeoutError
from moto import mock_aws

from evacuation.evacuator import Clients, Evacuator, Settings, unreachable
from evacuation.state import StateTable, drained_item
from tests.evacuation.support import FakeS3, create_state_table, dynamodb

ORIGINS = ("us-east-1", "eu-central-1", "ap-northeast-1")
KVS_ENDPOINT = "https://123456789012.cloudfront-kvs.global.api.aws/key-value-stores/x"
TABLE_ENDPOINT = "https://dynamodb.us-east-1.amazonaws.com/"


def error(status, operation, code="InternalServerError"):
    answer = {
        "Error": {"Code": code, "Message": "..."},
        "ResponseMetadata": {"HTTPStatusCode": status},
    }
    return ClientError(answer, operation)


class FailingStore:
    """A key value store whose writes fail with ``failure``."""

    class exceptions:  # noqa: N801 - boto3's attribute name
        class ConflictException(Exception):  # noqa: N818 - botocore's error name
            pass

        class ResourceNotFoundException(Exception):  # noqa: N818 - botocore's error name
            pass

    def __init__(self, failure) -> None:
        self.failure, self.writes = failure, 0

    def describe_key_value_store(self, KvsARN):  # noqa: N803 - boto3's parameter names
        return {"ETag": "E1"}

    def get_key(self, **_):
        raise self.exceptions.ResourceNotFoundException("no value yet")

    def put_key(self, **_):
        self.writes += 1
        raise self.failure


@pytest.mark.parametrize(
    "failure",
    [
        error(503, "PutKey", "ServiceUnavailable"),
        error(500, "PutKey"),
        EndpointConnectionError(endpoint_url=KVS_ENDPOINT),
        ReadTimeoutError(endpoint_url=KVS_ENDPOINT),
    ],
    ids=["503", "500", "no-connection", "read-timeout"],
)
def test_a_failing_key_value_store_is_not_the_tables_home_region_failing(failure):
    with mock_aws():
        home, replica = dynamodb("us-east-1"), dynamodb("eu-west-1")
        table = create_state_table(home)
        create_state_table(replica)
        for client in (home, replica):
            client.put_item(TableName=table, Item=drained_item([]))
        s3 = {origin: FakeS3() for origin in ORIGINS}
        s3["eu-central-1"].error = TimeoutError("stalled")
        store = FailingStore(failure)
        lines = []
        settings = Settings(
            stack="test",
            vantage="eu-west-1",
            vantages=("us-east-1", "eu-west-1"),
            buckets={origin: f"bucket-{origin}" for origin in ORIGINS},
            failures=1,
            recoveries=6,
            quorum=1,
            max_out=1,
            probe_seconds=10,
            connect_timeout=1,
            read_timeout=5,
            table=table,
            table_region="us-east-1",
            kvs_arn="arn:aws:cloudfront::123456789012:key-value-store/9a8b7c6d",
        )
        clients = Clients(s3=s3, dynamodb=replica, dynamodb_home=home, kvs=store)
        evacuator = Evacuator(settings, clients, log=lines.append)
        report = evacuator.round()
        assert not report.home_unreachable and not report.published
        assert not [line for line in lines if "home Region did not answer" in line]
        assert [line for line in lines if "key value store was not updated" in line]
        assert store.writes == 1
        # The decision stands at home; the replica was never written.
        assert list(StateTable(home, table).read().checks) == ["eu-central-1"]
        assert dict(StateTable(replica, table).read().checks) == {}
        assert StateTable(replica, table).views() == {}


@pytest.mark.parametrize(
    ("failure", "from_the_table"),
    [
        (error(500, "Query"), True),
        (error(503, "PutItem", "ServiceUnavailable"), True),
        (error(400, "PutItem", "ConditionalCheckFailedException"), False),
        (error(503, "PutKey", "ServiceUnavailable"), False),
        (error(500, "DescribeKeyValueStore"), False),
        (EndpointConnectionError(endpoint_url=TABLE_ENDPOINT), True),
        (ReadTimeoutError(endpoint_url=TABLE_ENDPOINT), True),
        (EndpointConnectionError(endpoint_url=KVS_ENDPOINT), False),
        (ReadTimeoutError(endpoint_url=KVS_ENDPOINT), False),
        (ValueError("not botocore's"), False),
    ],
)
def test_unreachable_tells_the_tables_failures_from_anothers(failure, from_the_table):
    assert unreachable(failure, dynamodb("us-east-1")) is from_the_table
