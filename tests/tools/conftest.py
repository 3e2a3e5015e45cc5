"""An S3 API on loopback (moto's server) holding one bucket per Region, as a deployed
stack would."""

import json
import uuid
from dataclasses import dataclass
from pathlib import Path

import boto3
import pytest

from tests.support import start_moto_server

REGIONS = ("us-east-1", "eu-central-1", "ap-northeast-1")


@pytest.fixture(scope="session")
def s3_endpoint():
    server, endpoint = start_moto_server()
    yield endpoint
    server.stop()


@pytest.fixture
def aws_credentials(monkeypatch, tmp_path):
    for name in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_REGION", "AWS_DEFAULT_REGION"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-credentials"))
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")


@dataclass
class Stack:
    endpoint: str
    buckets: dict[str, str]
    outputs: Path

    def client(self, region: str):
        return boto3.client("s3", region_name=region, endpoint_url=self.endpoint)

    def keys(self, region: str) -> dict[str, str]:
        """Key → ETag of every object in the Region's bucket."""
        listing = self.client(region).list_objects_v2(Bucket=self.buckets[region])
        return {item["Key"]: item["ETag"].strip('"') for item in listing.get("Contents", [])}

    def head(self, region: str, key: str) -> dict:
        return self.client(region).head_object(Bucket=self.buckets[region], Key=key)


def make_stack(endpoint: str, directory: Path, *, replicated: bool) -> Stack:
    run = uuid.uuid4().hex[:8]
    buckets = {region: f"geo-test-{run}-{region}" for region in REGIONS}
    for region, bucket in buckets.items():
        client = boto3.client("s3", region_name=region, endpoint_url=endpoint)
        if region == "us-east-1":
            client.create_bucket(Bucket=bucket)
        else:
            client.create_bucket(
                Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": region}
            )
    outputs = directory / "outputs.json"
    replication = {r: [t for t in REGIONS if t != r] for r in REGIONS} if replicated else {}
    # The shape `pulumi stack output --json` prints for this project.
    outputs.write_text(
        json.dumps(
            {"buckets": buckets, "replication": replication, "distributionId": "E1GEOEXAMPLE01"}
        ),
        encoding="utf-8",
    )
    return Stack(endpoint, buckets, outputs)


@pytest.fixture
def stack(s3_endpoint, aws_credentials, tmp_path) -> Stack:
    """A stack without replication: publish writes to every bucket."""
    return make_stack(s3_endpoint, tmp_path, replicated=False)


@pytest.fixture
def replicated_stack(s3_endpoint, aws_credentials, tmp_path) -> Stack:
    return make_stack(s3_endpoint, tmp_path, replicated=True)


@pytest.fixture
def site(tmp_path) -> Path:
    folder = tmp_path / "site"
    (folder / "images").mkdir(parents=True)
    (folder / "index.html").write_text("<h1>geo</h1>\n", encoding="utf-8")
    (folder / "app.js").write_text("console.log('geo');\n", encoding="utf-8")
    (folder / "images" / "logo.png").write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 64)
    (folder / "data.unknownext").write_bytes(b"\x00\x01")
    return folder
