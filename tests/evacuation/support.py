"""Builders for the evacuator's tests: a state table in moto, fake S3 clients, Stubbed stores."""

from __future__ import annotations

import boto3

from sandbox import state as sandbox_state

TABLE = "geo-proximity-test-routing-state"


def create_state_table(client, table=TABLE):
    """The state table as the program declares it (the sandbox's helper); its name."""
    sandbox_state.create_state_table(client, table)
    return table


def dynamodb(region="us-east-1", endpoint_url=None):
    return boto3.client(
        "dynamodb",
        region_name=region,
        endpoint_url=endpoint_url,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )


class FakeBody:
    def __init__(self, data: bytes) -> None:
        self.data = data

    def read(self) -> bytes:
        return self.data


class FakeS3:
    """An S3 client whose get_object answers, or raises what a sick Region would make it raise."""

    def __init__(self) -> None:
        self.error: Exception | None = None
        self.calls: list[tuple[str, str]] = []

    def get_object(self, Bucket: str, Key: str):  # noqa: N803 - boto3's parameter names
        self.calls.append((Bucket, Key))
        if self.error is not None:
            raise self.error
        return {"Body": FakeBody(b"ok\n")}
