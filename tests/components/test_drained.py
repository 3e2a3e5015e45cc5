"""A drained origin under mocks: its bucket, policy and replication stay; no routing names it."""

import json
import re

import pytest

from testing.mock_program import CLOUDFRONT_FUNCTION
from tests.components.conftest import deployed

DISTRIBUTION = "aws:cloudfront/distribution:Distribution"


@pytest.mark.parametrize(
    ("scenario", "region"), [("drained", "eu-central-1"), ("functions-drained", "us-east-1")]
)
def test_a_drained_origin_keeps_its_bucket_policy_and_replication(scenario, region):
    deployment = deployed(scenario)
    bucket = deployment.exports["buckets"][region]
    assert bucket in {b.outputs["bucket"] for b in deployment.all("aws:s3/bucket:Bucket")}
    assert bucket in {
        p.inputs["bucket"] for p in deployment.all("aws:s3/bucketPolicy:BucketPolicy")
    }
    # Replication keeps filling it, so undraining serves a full bucket.
    assert region in deployment.exports["replication"]
    assert all(
        region in targets
        for source, targets in deployment.exports["replication"].items()
        if source != region
    )
    routing = deployment.exports["routing"]
    assert routing["drained"] == [region]
    for route in [routing["default"], *routing["routes"].values()]:
        assert region not in (route["primary"], route["failover"])


def test_lambda_edge_neither_routes_to_nor_groups_a_drained_origin():
    deployment = deployed("drained")
    artifact = json.loads(deployment.function_package()["routing.json"])
    assert set(artifact["origins"]) == {"us-east-1", "ap-northeast-1"}
    (group,) = deployment.one(DISTRIBUTION).inputs["originGroups"]
    assert [m["originId"] for m in group["members"]] == ["s3-us-east-1", "s3-ap-northeast-1"]


def test_cloudfront_functions_keep_the_drained_origin_declared_but_never_choose_it():
    deployment = deployed("functions-drained")
    code = deployment.one(CLOUDFRONT_FUNCTION).inputs["code"]
    ids = json.loads(re.search(r"^var ORIGIN_IDS = (.*);$", code, re.MULTILINE).group(1))
    assert ids == ["s3-eu-central-1", "s3-ap-northeast-1"]
    inputs = deployment.one(DISTRIBUTION).inputs
    # Still an origin (undraining changes only the function), but not the default behaviour's.
    assert "s3-us-east-1" in {o["originId"] for o in inputs["origins"]}
    assert inputs["defaultCacheBehavior"]["targetOriginId"] == "s3-eu-central-1"
