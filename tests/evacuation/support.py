"""Builders for the evacuator's tests: a state table in moto, fake S3 clients, Stubbed stores."""

from __future__ import annotations

from typing import Any

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
    """A GetObject body that counts what was read of it."""

    def __init__(self, data: bytes) -> None:
        self.data = data
        self.read_sizes: list[int | None] = []
        self.closed = False

    def read(self, amt: int | None = None) -> bytes:
        self.read_sizes.append(amt)
        return self.data if amt is None else self.data[:amt]

    def close(self) -> None:
        self.closed = True


class FakeS3:
    """An S3 client whose get_object answers, or raises what a sick Region would make it raise."""

    def __init__(self, data: bytes = b"ok\n") -> None:
        self.error: Exception | None = None
        self.data = data
        self.calls: list[dict[str, Any]] = []
        self.bodies: list[FakeBody] = []

    def get_object(self, **request: Any) -> dict[str, Any]:
        self.calls.append(request)
        if self.error is not None:
            raise self.error
        body = FakeBody(self.data)
        self.bodies.append(body)
        return {"Body": body, "ResponseMetadata": {"HTTPStatusCode": 206}}
