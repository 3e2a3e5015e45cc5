"""AccessLogs: CloudFront standard logging (v2) into a private log bucket that expires its logs.

CloudFront delivers standard logs (v2) through CloudWatch vended logs: a delivery source for the
distribution (in us-east-1, where CloudFront's logging is configured), a delivery destination for
the bucket, and a delivery between them (CloudFront developer guide, "Configure standard logging
(v2)"). The bucket lets the log delivery service write only this account's logs from this
distribution's delivery source (CloudWatch Logs user guide, "Logs sent to Amazon S3"), refuses
requests without TLS, is never an origin, and expires every log after ``days``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import pulumi
import pulumi_aws as aws

from components.private_bucket import Expiry, bucket_lifecycle, private_bucket
from core.monitoring import DEFAULT_ACCESS_LOG_DAYS, DEFAULT_ACCESS_LOG_FORMAT
from core.naming import bucket_prefix
from core.policies import deny_insecure_transport

# Where CloudFront's log delivery source must be declared.
DELIVERY_SOURCE_REGION = "us-east-1"
LOG_DELIVERY_SERVICE = "delivery.logs.amazonaws.com"


def log_bucket_policy(bucket_arn: str, account_id: str, delivery_source_arn: str) -> dict[str, Any]:
    """The log delivery service may write this account's logs from this delivery source only."""
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "AWSLogDeliveryWrite",
                "Effect": "Allow",
                "Principal": {"Service": LOG_DELIVERY_SERVICE},
                "Action": "s3:PutObject",
                "Resource": f"{bucket_arn}/AWSLogs/{account_id}/*",
                "Condition": {
                    "StringEquals": {
                        "s3:x-amz-acl": "bucket-owner-full-control",
                        "aws:SourceAccount": account_id,
                    },
                    "ArnLike": {"aws:SourceArn": delivery_source_arn},
                },
            },
            deny_insecure_transport("s3:*", [bucket_arn, f"{bucket_arn}/*"]),
        ],
    }


@dataclass(frozen=True)
class AccessLogsArgs:
    distribution_arn: pulumi.Input[str]
    """Required. The distribution whose access logs to deliver."""

    region: pulumi.Input[str]
    """Required. Where the log bucket lives: the stack's home Region."""

    days: int = DEFAULT_ACCESS_LOG_DAYS
    """Days a log is kept before S3 expires it. Default ``DEFAULT_ACCESS_LOG_DAYS``."""

    output_format: str = DEFAULT_ACCESS_LOG_FORMAT
    """The logs' format (``core.monitoring.ACCESS_LOG_FORMATS``). Default ``w3c``; ``parquet`` is
    the one that costs extra (a conversion CloudWatch bills)."""

    tags: Mapping[str, str] = field(default_factory=dict)
    """Tags of the bucket and the delivery resources. Default none."""


class AccessLogs(pulumi.ComponentResource):
    bucket_name: pulumi.Output[str]
    """The log bucket's name."""

    def __init__(
        self, name: str, args: AccessLogsArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("geo-proximity:index:AccessLogs", name, None, opts)
        tags = dict(args.tags)
        child = pulumi.ResourceOptions(parent=self)
        private = private_bucket(
            name,
            region=args.region,
            bucket_prefix=bucket_prefix(pulumi.get_project(), pulumi.get_stack(), "logs"),
            tags=tags,
            parent=self,
        )
        bucket = private.bucket
        bucket_lifecycle(
            name,
            bucket,
            region=args.region,
            rules=[Expiry("expire-access-logs", "objects", args.days)],
            parent=self,
        )
        source = aws.cloudwatch.LogDeliverySource(
            f"{name}-source",
            aws.cloudwatch.LogDeliverySourceArgs(
                region=DELIVERY_SOURCE_REGION,
                log_type="ACCESS_LOGS",
                resource_arn=args.distribution_arn,
                tags=tags,
            ),
            opts=child,
        )
        account_id = aws.get_caller_identity_output(
            opts=pulumi.InvokeOptions(parent=self)
        ).account_id
        policy = aws.s3.BucketPolicy(
            f"{name}-policy",
            aws.s3.BucketPolicyArgs(
                region=args.region,
                bucket=bucket.id,
                policy=pulumi.Output.all(bucket.arn, account_id, source.arn).apply(
                    lambda values: json.dumps(log_bucket_policy(*values), sort_keys=True)
                ),
            ),
            opts=pulumi.ResourceOptions(
                parent=self, depends_on=[private.public_access, private.ownership]
            ),
        )
        destination = aws.cloudwatch.LogDeliveryDestination(
            f"{name}-destination",
            aws.cloudwatch.LogDeliveryDestinationArgs(
                region=DELIVERY_SOURCE_REGION,
                output_format=args.output_format,
                delivery_destination_configuration=aws.cloudwatch.LogDeliveryDestinationDeliveryDestinationConfigurationArgs(
                    destination_resource_arn=bucket.arn
                ),
                tags=tags,
            ),
            opts=child,
        )
        aws.cloudwatch.LogDelivery(
            f"{name}-delivery",
            aws.cloudwatch.LogDeliveryArgs(
                region=DELIVERY_SOURCE_REGION,
                delivery_source_name=source.name,
                delivery_destination_arn=destination.arn,
                tags=tags,
            ),
            # The bucket must admit the delivery before the first log is written.
            opts=pulumi.ResourceOptions(parent=self, depends_on=[policy]),
        )
        self.bucket_name = bucket.bucket
        self.register_outputs({"bucketName": self.bucket_name})
