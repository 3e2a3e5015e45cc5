"""What ./dev backfill needs from the program, under mocks: the role S3 Batch Operations assumes,
with the S3 user guide's Batch Replication policy over this stack's buckets only, and a private
batch bucket in each origin Region for the generated manifests and completion reports."""

import json

import pytest

from testing.mock_program import ACCOUNT_ID, ROLE, ROLE_POLICY
from tests import aws_rules
from tests.components.conftest import deployed

BUCKET = "aws:s3/bucket:Bucket"
DISTRIBUTION = "aws:cloudfront/distribution:Distribution"


def role_and_policy(deployment):
    (role,) = [r for r in deployment.all(ROLE) if r.name == "batch-replication-role"]
    (policy,) = [p for p in deployment.all(ROLE_POLICY) if p.name == "batch-replication-policy"]
    return json.loads(role.inputs["assumeRolePolicy"]), json.loads(policy.inputs["policy"])


@pytest.mark.parametrize("scenario", ["stack:prod", "stack:dev", "twenty-origins"])
def test_the_role_trusts_batch_operations_and_may_do_what_batch_replication_needs_here(scenario):
    deployment = deployed(scenario)
    trust, policy = role_and_policy(deployment)
    (statement,) = trust["Statement"]
    assert statement["Principal"] == aws_rules.BATCH_OPERATIONS_PRINCIPAL
    assert statement["Action"] == "sts:AssumeRole"
    origins = list(deployment.exports["buckets"].values())
    batch = list(deployment.exports["batchReplication"]["reportBuckets"].values())
    assert aws_rules.batch_replication_policy_problems(policy, origins, batch) == []
    # Every action the guide lists is granted, over every bucket it may act on.
    granted = {action for s in policy["Statement"] for action in s["Action"]}
    assert granted == set(aws_rules.BATCH_REPLICATION_ACTIONS)
    initiate = next(s for s in policy["Statement"] if "s3:InitiateReplication" in s["Action"])
    assert sorted(initiate["Resource"]) == sorted(f"arn:aws:s3:::{b}/*" for b in origins)


def test_the_policy_check_refuses_more_than_the_guide_lists():
    policy = {
        "Statement": [
            {"Effect": "Allow", "Action": ["s3:PutObject"], "Resource": ["arn:aws:s3:::origin/*"]},
            {"Effect": "Allow", "Action": ["s3:DeleteObject"], "Resource": ["*"]},
            {"Effect": "Allow", "Action": ["s3:InitiateReplication"], "Resource": ["*"]},
        ]
    }
    assert aws_rules.batch_replication_policy_problems(policy, ["origin"], ["batch"]) == [
        "s3:PutObject on ['arn:aws:s3:::origin/*']",
        "s3:DeleteObject is not one Batch Replication needs",
        "s3:InitiateReplication on ['*']",
    ]


def test_a_private_batch_bucket_in_each_origin_region_expires_what_it_holds():
    deployment = deployed("stack:prod")
    batch = deployment.exports["batchReplication"]
    assert batch["roleArn"].startswith(f"arn:aws:iam::{ACCOUNT_ID}:role/")
    reports = batch["reportBuckets"]
    assert sorted(reports) == sorted(deployment.exports["buckets"])
    origins = deployment.one(DISTRIBUTION).inputs["origins"]
    for region, name in reports.items():
        (bucket,) = [b for b in deployment.all(BUCKET) if b.outputs["bucket"] == name]
        # In the Region whose jobs write there: a generated manifest must be in the source's.
        assert bucket.region == region
        assert aws_rules.is_valid_bucket_name(name)
        assert name not in deployment.exports["buckets"].values()
        assert all(name not in origin["domainName"] for origin in origins)

        def one(type_, name=name):
            (resource,) = [r for r in deployment.all(type_) if r.inputs.get("bucket") == name]
            return resource.inputs

        block = one("aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock")
        assert all(block[flag] for flag in ("blockPublicAcls", "blockPublicPolicy"))
        (expire,) = one("aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration")["rules"]
        assert expire["expiration"] == {"days": 30}
        (deny,) = json.loads(one("aws:s3/bucketPolicy:BucketPolicy")["policy"])["Statement"]
        assert deny["Effect"] == "Deny"
        assert deny["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}


@pytest.mark.parametrize("scenario", ["single-origin", "fixed-failover", "unmonitored"])
def test_only_a_replication_mesh_gets_them(scenario):
    deployment = deployed(scenario)
    meshed = bool(deployment.exports["replication"])
    assert ("batchReplication" in deployment.exports) is meshed
    roles = [r.name for r in deployment.all(ROLE) if r.name == "batch-replication-role"]
    assert roles == ["batch-replication-role"] * meshed
