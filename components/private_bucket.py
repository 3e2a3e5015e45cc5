"""A private S3 bucket as every bucket of this project is: owner-enforced (no ACLs), public access
blocked, encrypted at rest; and the lifecycle rules that expire what a bucket should not keep. Its
policy, versioning and which rules it carries are the caller's."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import pulumi
import pulumi_aws as aws


@dataclass(frozen=True)
class PrivateBucket:
    bucket: aws.s3.Bucket
    # A bucket policy must come after these, so that no policy is ever public, even briefly.
    ownership: aws.s3.BucketOwnershipControls
    public_access: aws.s3.BucketPublicAccessBlock


def private_bucket(
    name: str,
    *,
    region: pulumi.Input[str],
    bucket_prefix: str,
    tags: Mapping[str, str],
    parent: pulumi.Resource,
) -> PrivateBucket:
    """Declare ``<name>-bucket`` and what keeps it private, as children of ``parent``."""
    child = pulumi.ResourceOptions(parent=parent)
    bucket = aws.s3.Bucket(
        f"{name}-bucket",
        aws.s3.BucketArgs(region=region, bucket_prefix=bucket_prefix, tags=dict(tags)),
        opts=child,
    )
    # ACLs off: the bucket owner owns every object, whoever wrote it (replicas included).
    ownership = aws.s3.BucketOwnershipControls(
        f"{name}-ownership",
        aws.s3.BucketOwnershipControlsArgs(
            region=region,
            bucket=bucket.id,
            rule=aws.s3.BucketOwnershipControlsRuleArgs(object_ownership="BucketOwnerEnforced"),
        ),
        opts=child,
    )
    public_access = aws.s3.BucketPublicAccessBlock(
        f"{name}-public-access",
        aws.s3.BucketPublicAccessBlockArgs(
            region=region,
            bucket=bucket.id,
            block_public_acls=True,
            block_public_policy=True,
            ignore_public_acls=True,
            restrict_public_buckets=True,
        ),
        opts=child,
    )
    default_encryption: Any = (
        aws.s3.BucketServerSideEncryptionConfigurationRuleApplyServerSideEncryptionByDefaultArgs(
            sse_algorithm="AES256"
        )
    )
    aws.s3.BucketServerSideEncryptionConfiguration(
        f"{name}-encryption",
        aws.s3.BucketServerSideEncryptionConfigurationInitArgs(
            region=region,
            bucket=bucket.id,
            rules=[
                aws.s3.BucketServerSideEncryptionConfigurationRuleArgs(
                    apply_server_side_encryption_by_default=default_encryption
                )
            ],
        ),
        opts=child,
    )
    return PrivateBucket(bucket, ownership, public_access)


@dataclass(frozen=True)
class Expiry:
    """One lifecycle rule over the whole bucket: what S3 removes, and after how many days."""

    rule_id: str
    what: Literal["objects", "noncurrent versions", "incomplete uploads"]
    days: int


def _rule(expiry: Expiry) -> aws.s3.BucketLifecycleConfigurationRuleArgs:
    action: dict[str, Any]
    if expiry.what == "objects":
        action = {
            "expiration": aws.s3.BucketLifecycleConfigurationRuleExpirationArgs(days=expiry.days)
        }
    elif expiry.what == "noncurrent versions":
        action = {
            "noncurrent_version_expiration": (
                aws.s3.BucketLifecycleConfigurationRuleNoncurrentVersionExpirationArgs(
                    noncurrent_days=expiry.days
                )
            )
        }
    else:
        action = {
            "abort_incomplete_multipart_upload": (
                aws.s3.BucketLifecycleConfigurationRuleAbortIncompleteMultipartUploadArgs(
                    days_after_initiation=expiry.days
                )
            )
        }
    return aws.s3.BucketLifecycleConfigurationRuleArgs(
        id=expiry.rule_id,
        status="Enabled",
        filter=aws.s3.BucketLifecycleConfigurationRuleFilterArgs(prefix=""),
        **action,
    )


def bucket_lifecycle(
    name: str,
    bucket: aws.s3.Bucket,
    *,
    region: pulumi.Input[str],
    rules: Sequence[Expiry],
    parent: pulumi.Resource,
    depends_on: Sequence[pulumi.Resource] = (),
) -> aws.s3.BucketLifecycleConfiguration:
    """Declare ``<name>-lifecycle``: ``rules``, in order, on every object of ``bucket``, as a child
    of ``parent`` (after ``depends_on``)."""
    return aws.s3.BucketLifecycleConfiguration(
        f"{name}-lifecycle",
        aws.s3.BucketLifecycleConfigurationArgs(
            region=region, bucket=bucket.id, rules=[_rule(expiry) for expiry in rules]
        ),
        opts=pulumi.ResourceOptions(parent=parent, depends_on=list(depends_on)),
    )
