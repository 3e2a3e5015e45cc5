"""A private S3 bucket as every bucket of this project is: owner-enforced (no ACLs), public access
blocked, encrypted at rest. Its policy, versioning and lifecycle are the caller's."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

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
