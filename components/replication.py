"""ReplicationMesh: every regional bucket replicates to every other one, so they act as one store.

A write to any Region reaches all others; replicas are not replicated again, so there is no loop.
Delete markers and metadata edits made on replicas travel too.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field

import pulumi
import pulumi_aws as aws

from components.aliases import known_before_as
from components.regional_origin import RegionalOrigin
from core.policies import replication_role_policy, replication_trust_policy

# Replication Time Control's SLA and the threshold of its metrics, both fixed by S3 at 15 minutes.
_RTC_MINUTES = 15


def replication_rule_id(target: str) -> str:
    """The id of the rule that replicates to ``target``'s bucket (S3 metrics name it ``RuleId``)."""
    return f"to-{target}"


def replication_destinations(regions: list[str]) -> dict[str, list[str]]:
    """Source Region → the Regions it replicates to: all others, in the origins' order."""
    return {source: [target for target in regions if target != source] for source in regions}


# The component's type token before it moved to geo-proximity:index.
_PREVIOUS_TYPE = "geo-proximity:replication:ReplicationMesh"


@dataclass(frozen=True)
class ReplicationMeshArgs:
    origins: Mapping[str, RegionalOrigin]
    """Required, two or more. Region → its ``RegionalOrigin``; each replicates to all others."""

    replication_time_control: bool = False
    """S3 Replication Time Control (15-minute SLA, metrics, extra cost) on every rule.
    Default False."""

    metrics: bool = False
    """S3 Replication metrics on every rule (latency, bytes and operations pending, failed
    operations; billed as CloudWatch metrics), which alarms and dashboards need. Always on with
    Replication Time Control. Default False."""

    tags: Mapping[str, str] = field(default_factory=dict)
    """Tags of the replication role. Default none."""


class ReplicationMesh(pulumi.ComponentResource):
    role_arn: pulumi.Output[str]
    """The role S3 assumes to replicate between these buckets, and only these."""

    destinations: dict[str, list[str]]
    """Source Region → the Regions it replicates to."""

    def __init__(
        self, name: str, args: ReplicationMeshArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__(
            "geo-proximity:index:ReplicationMesh",
            name,
            None,
            known_before_as(_PREVIOUS_TYPE, opts),
        )
        origins = args.origins
        role = aws.iam.Role(
            f"{name}-role",
            aws.iam.RoleArgs(
                assume_role_policy=json.dumps(replication_trust_policy()),
                description="S3 replication between this stack's buckets, and nothing else",
                tags=dict(args.tags),
            ),
            opts=pulumi.ResourceOptions(parent=self),
        )
        policy = aws.iam.RolePolicy(
            f"{name}-policy",
            aws.iam.RolePolicyArgs(
                role=role.id,
                policy=pulumi.Output.all(*(origin.bucket_arn for origin in origins.values())).apply(
                    lambda arns: json.dumps(replication_role_policy(list(arns)))
                ),
            ),
            opts=pulumi.ResourceOptions(parent=self),
        )
        self.destinations = replication_destinations(list(origins))
        for source, targets in self.destinations.items():
            aws.s3.BucketReplicationConfig(
                f"{name}-{source}",
                aws.s3.BucketReplicationConfigArgs(
                    # The configuration lives with its source bucket, in that bucket's Region.
                    region=source,
                    bucket=origins[source].bucket_name,
                    role=role.arn,
                    rules=[
                        self._rule(
                            target,
                            origins[target],
                            priority,
                            args.replication_time_control,
                            args.metrics,
                        )
                        for priority, target in enumerate(targets, start=1)
                    ],
                ),
                opts=pulumi.ResourceOptions(
                    parent=self,
                    # S3 rejects replication unless versioning is on at both ends, and the role must
                    # be able to act before the first object moves.
                    depends_on=[
                        policy,
                        *(origins[region].versioning for region in [source, *targets]),
                    ],
                ),
            )
        self.role_arn = role.arn
        self.register_outputs({"roleArn": self.role_arn, "destinations": self.destinations})

    @staticmethod
    def _rule(
        target: str,
        destination: RegionalOrigin,
        priority: int,
        replication_time_control: bool,
        with_metrics: bool,
    ) -> aws.s3.BucketReplicationConfigRuleArgs:
        replication_time = metrics = None
        if replication_time_control:
            replication_time = aws.s3.BucketReplicationConfigRuleDestinationReplicationTimeArgs(
                status="Enabled",
                time=aws.s3.BucketReplicationConfigRuleDestinationReplicationTimeTimeArgs(
                    minutes=_RTC_MINUTES
                ),
            )
        if replication_time_control or with_metrics:
            # S3 Replication metrics, with or without RTC. The event threshold belongs to RTC: S3
            # refuses it without ReplicationTime ("Metrics cannot contain an event threshold when
            # ReplicationTime is not specified or Disabled", as reported in pulumi/pulumi-aws#5806,
            # crossplane-contrib/provider-aws#1117 and hashicorp/terraform-provider-aws#21895),
            # the S3 user guide's example ("Using S3 Replication metrics") enables metrics with
            # {"Status": "Enabled"} alone, and the API reference marks EventThreshold optional;
            # with RTC, 15 is the one value it takes.
            metrics = aws.s3.BucketReplicationConfigRuleDestinationMetricsArgs(
                status="Enabled",
                event_threshold=(
                    aws.s3.BucketReplicationConfigRuleDestinationMetricsEventThresholdArgs(
                        minutes=_RTC_MINUTES
                    )
                    if replication_time_control
                    else None
                ),
            )
        return aws.s3.BucketReplicationConfigRuleArgs(
            id=replication_rule_id(target),
            status="Enabled",
            priority=priority,
            # An empty prefix filter makes this a V2 rule for every object.
            filter=aws.s3.BucketReplicationConfigRuleFilterArgs(prefix=""),
            destination=aws.s3.BucketReplicationConfigRuleDestinationArgs(
                bucket=destination.bucket_arn, replication_time=replication_time, metrics=metrics
            ),
            delete_marker_replication=aws.s3.BucketReplicationConfigRuleDeleteMarkerReplicationArgs(
                status="Enabled"
            ),
            source_selection_criteria=aws.s3.BucketReplicationConfigRuleSourceSelectionCriteriaArgs(
                replica_modifications=aws.s3.BucketReplicationConfigRuleSourceSelectionCriteriaReplicaModificationsArgs(
                    status="Enabled"
                )
            ),
        )
