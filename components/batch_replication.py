"""BatchReplication: what ``./dev backfill`` needs to fill a Region with S3 Batch Replication: the
role S3 Batch Operations assumes, and a private bucket per origin Region for the jobs' generated
manifests and completion reports.

S3 replication copies only objects written after its rule exists; Batch Replication replicates the
objects already there, as a Batch Operations job run from the source bucket's Region ("You must
initiate the job from the same AWS Region as the replication source bucket", S3 user guide,
"Create a Batch Replication job for existing replication rules"). A generated manifest "must be
stored in the same AWS Region as the source bucket" (S3 user guide, "Replicating existing objects
with Batch Replication"); where the completion report may go the guide does not say, beyond "We
recommend delivering the report to a bucket different from the source bucket" ("Troubleshooting
replication"), so it goes with the manifest, in the source's Region: the conservative reading. The
origin buckets themselves are never used: everything in them is replicated and served. A batch
bucket costs nothing while empty; what is in it expires after ``report_days``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field

import pulumi
import pulumi_aws as aws

from components.private_bucket import Expiry, bucket_lifecycle, private_bucket
from components.regional_origin import RegionalOrigin
from core.buckets import BATCH_REPORT_DAYS
from core.naming import bucket_prefix
from core.policies import (
    batch_operations_trust_policy,
    batch_replication_policy,
    deny_insecure_transport,
)


@dataclass(frozen=True)
class BatchReplicationArgs:
    origins: Mapping[str, RegionalOrigin]
    """Required. Region → its ``RegionalOrigin``: each bucket a Batch Replication source can be,
    and each Region one batch bucket."""

    report_days: int = BATCH_REPORT_DAYS
    """Days a generated manifest or completion report is kept. Default ``BATCH_REPORT_DAYS``."""

    tags: Mapping[str, str] = field(default_factory=dict)
    """Tags of the role and the batch buckets. Default none."""


class BatchReplication(pulumi.ComponentResource):
    role_arn: pulumi.Output[str]
    """The role a Batch Replication job runs as (``CreateJob``'s ``RoleArn``)."""

    report_buckets: pulumi.Output[dict[str, str]]
    """Region → the name of the private bucket where jobs run from there keep their generated
    manifest and completion report."""

    def __init__(
        self, name: str, args: BatchReplicationArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("geo-proximity:index:BatchReplication", name, None, opts)
        tags = dict(args.tags)
        buckets = {
            region: self._batch_bucket(f"{name}-{region}", region, args.report_days, tags)
            for region in args.origins
        }
        role = aws.iam.Role(
            f"{name}-role",
            aws.iam.RoleArgs(
                assume_role_policy=json.dumps(batch_operations_trust_policy()),
                description="S3 Batch Replication of this stack's buckets (./dev backfill)",
                tags=tags,
            ),
            opts=pulumi.ResourceOptions(parent=self),
        )
        aws.iam.RolePolicy(
            f"{name}-policy",
            aws.iam.RolePolicyArgs(
                role=role.id,
                policy=pulumi.Output.all(
                    pulumi.Output.all(*(origin.bucket_arn for origin in args.origins.values())),
                    pulumi.Output.all(*(bucket.arn for bucket in buckets.values())),
                ).apply(lambda arns: json.dumps(batch_replication_policy(arns[0], arns[1]))),
            ),
            opts=pulumi.ResourceOptions(parent=self),
        )
        self.role_arn = role.arn
        self.report_buckets = pulumi.Output.all(
            **{region: bucket.bucket for region, bucket in buckets.items()}
        ).apply(dict)
        self.register_outputs({"roleArn": self.role_arn, "reportBuckets": self.report_buckets})

    def _batch_bucket(
        self, name: str, region: str, days: int, tags: Mapping[str, str]
    ) -> aws.s3.Bucket:
        """A private bucket in ``region`` that refuses requests without TLS and expires what it
        holds after ``days``."""
        private = private_bucket(
            name,
            region=region,
            bucket_prefix=bucket_prefix(
                pulumi.get_project(), pulumi.get_stack(), f"batch-{region}"
            ),
            tags=tags,
            parent=self,
        )
        bucket = private.bucket
        bucket_lifecycle(
            name,
            bucket,
            region=region,
            rules=[Expiry("expire-batch-reports", "objects", days)],
            parent=self,
        )
        aws.s3.BucketPolicy(
            f"{name}-policy",
            aws.s3.BucketPolicyArgs(
                region=region,
                bucket=bucket.id,
                policy=bucket.arn.apply(
                    lambda arn: json.dumps(
                        {
                            "Version": "2012-10-17",
                            "Statement": [deny_insecure_transport("s3:*", [arn, f"{arn}/*"])],
                        }
                    )
                ),
            ),
            opts=pulumi.ResourceOptions(
                parent=self, depends_on=[private.public_access, private.ownership]
            ),
        )
        return bucket
