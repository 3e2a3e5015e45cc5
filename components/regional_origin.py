"""RegionalOrigin: one private, versioned, encrypted S3 bucket in one Region, readable by CloudFront
only (and, with ``health_object``, holding the object the evacuator's health checks read)."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import pulumi
import pulumi_aws as aws

from components.aliases import known_before_as
from components.private_bucket import Expiry, bucket_lifecycle, private_bucket
from core.buckets import ABORT_INCOMPLETE_UPLOAD_DAYS, DEFAULT_NONCURRENT_VERSION_DAYS
from core.naming import bucket_prefix
from core.policies import bucket_policy
from evacuation.evacuator import HEALTH_KEY
from routing.artifact import regional_domain_name

# What the health object holds: the checks read it whole, and a few bytes keep that cheap.
HEALTH_CONTENT = "ok\n"
# The component's type token before it moved to geo-proximity:index.
_PREVIOUS_TYPE = "geo-proximity:origins:RegionalOrigin"


@dataclass(frozen=True)
class RegionalOriginArgs:
    region: str
    """The AWS Region code of the bucket, e.g. ``eu-central-1``. Required."""

    read_grants: pulumi.Input[Sequence[dict[str, Any]]]
    """Who may read the bucket: ``{"principal": ..., "condition": ...}`` as ``core.policies``
    builds it for the identity the distribution signs with (and, during an engine switch, the next
    one). Required."""

    noncurrent_version_days: int = DEFAULT_NONCURRENT_VERSION_DAYS
    """Days an overwritten or deleted object version is kept before S3 expires it.
    Default ``DEFAULT_NONCURRENT_VERSION_DAYS``."""

    health_object: bool = False
    """Hold the evacuator's health object, ``evacuation.evacuator.HEALTH_KEY`` (``ok``, text/plain),
    which its checks read as CloudFront would read any object. Default False."""

    tags: Mapping[str, str] = field(default_factory=dict)
    """Tags of the bucket. Default none."""


class RegionalOrigin(pulumi.ComponentResource):
    region: str
    """The bucket's Region code (the ``region`` argument)."""

    bucket_name: pulumi.Output[str]
    """The bucket's name: ``<project>-<stack>-<region>-`` plus S3's unique suffix."""

    bucket_arn: pulumi.Output[str]
    """The bucket's ARN."""

    domain_name: pulumi.Output[str]
    """The bucket's Regional domain name, ``<bucket>.s3.<region>.amazonaws.com``."""

    versioning: aws.s3.BucketVersioning
    """The bucket's versioning: replication must wait for it (S3 refuses replication without it)."""

    def __init__(
        self, name: str, args: RegionalOriginArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__(
            "geo-proximity:index:RegionalOrigin",
            name,
            None,
            known_before_as(_PREVIOUS_TYPE, opts),
        )
        # Every resource names its Region and runs on the stack's own AWS provider, so every aws:*
        # stack setting (credentials, assumeRoles, endpoints, defaultTags) applies to it too.
        region = args.region
        child = pulumi.ResourceOptions(parent=self)
        tags = dict(args.tags)

        private = private_bucket(
            name,
            region=region,
            bucket_prefix=bucket_prefix(pulumi.get_project(), pulumi.get_stack(), args.region),
            tags=tags,
            parent=self,
        )
        bucket, ownership, public_access = private.bucket, private.ownership, private.public_access
        versioning = aws.s3.BucketVersioning(
            f"{name}-versioning",
            aws.s3.BucketVersioningInitArgs(
                region=region,
                bucket=bucket.id,
                versioning_configuration=aws.s3.BucketVersioningVersioningConfigurationArgs(
                    status="Enabled"
                ),
            ),
            opts=child,
        )
        # Versioning (which replication needs) keeps every old version forever unless a rule
        # expires it. Lifecycle actions are not replicated (S3 user guide, "What does Amazon S3
        # replicate?"), so every bucket carries the same rule and expires its own versions.
        bucket_lifecycle(
            name,
            bucket,
            region=region,
            rules=[
                Expiry(
                    "expire-noncurrent-versions",
                    "noncurrent versions",
                    args.noncurrent_version_days,
                ),
                Expiry(
                    "abort-incomplete-uploads", "incomplete uploads", ABORT_INCOMPLETE_UPLOAD_DAYS
                ),
            ],
            parent=self,
            # S3 applies noncurrent-version rules to a versioned bucket: versioning first.
            depends_on=[versioning],
        )
        aws.s3.BucketPolicy(
            f"{name}-policy",
            aws.s3.BucketPolicyArgs(
                region=region,
                bucket=bucket.id,
                policy=pulumi.Output.all(bucket.arn, args.read_grants).apply(
                    lambda values: json.dumps(bucket_policy(values[0], values[1]), sort_keys=True)
                ),
            ),
            # With the public access block in place first, no policy is ever public, even briefly.
            opts=pulumi.ResourceOptions.merge(
                child, pulumi.ResourceOptions(depends_on=[public_access, ownership])
            ),
        )

        if args.health_object:
            # Written by Pulumi into every bucket, so no bucket depends on replication for it.
            aws.s3.BucketObjectv2(
                f"{name}-health",
                aws.s3.BucketObjectv2Args(
                    region=region,
                    bucket=bucket.id,
                    key=HEALTH_KEY,
                    content=HEALTH_CONTENT,
                    content_type="text/plain",
                ),
                opts=child,
            )

        self.region = args.region
        self.versioning = versioning
        self.bucket_name = bucket.bucket
        self.bucket_arn = bucket.arn
        self.domain_name = bucket.bucket.apply(
            lambda name_: regional_domain_name(name_, args.region)
        )
        self.register_outputs(
            {
                "region": self.region,
                "bucketName": self.bucket_name,
                "bucketArn": self.bucket_arn,
                "domainName": self.domain_name,
            }
        )
