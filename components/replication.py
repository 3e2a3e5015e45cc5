"""ReplicationMesh: every regional bucket replicates to every other one, so they act as one store.

A write to any Region reaches all others; replicas are not replicated again, so there is no loop.
Delete markers and metadata edits made on replicas travel too.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from components.policies import replication_role_policy, replication_trust_policy
from components.regional_origin import RegionalOrigin

# Replication Time Control's SLA and the threshold of its metrics, both fixed by S3 at 15 minutes.
_RTC_MINUTES = 15


def replication_destinations(regions: list[str]) -> dict[str, list[str]]:
    """Source Region → the Regions it replicates to: all others, in the origins' order."""
    return {source: [target for target in regions if target != source] for source in regions}


@dataclass(frozen=True)
class ReplicationMeshArgs:
    origins: Mapping[str, RegionalOrigin]
    replication_time_control: bool
    tags: Mapping[str, str]


class ReplicationMesh(pulumi.ComponentResource):
    role_arn: pulumi.Output[str]
    destinations: dict[str, list[str]]

    def __init__(self, name: str, args: ReplicationMeshArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("geo-proximity:replication:ReplicationMesh", name, None, opts)
        origins = args.origins
        role = aws.iam.Role(
            f"{name}-role",
            aws.iam.RoleArgs(
                assume_role_policy=json.dumps(replication_trust_policy()),
                description="S3 replication between this stack's regional buckets, and nothing else",
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
                    bucket=origins[source].bucket_name,
                    role=role.arn,
                    rules=[
                        self._rule(target, origins[target], priority, args.replication_time_control)
                        for priority, target in enumerate(targets, start=1)
                    ],
                ),
                opts=pulumi.ResourceOptions(
                    parent=self,
                    provider=origins[source].provider,
                    # S3 rejects replication unless versioning is on at both ends, and the role must
                    # be able to act before the first object moves.
                    depends_on=[policy, *(origins[region].versioning for region in [source, *targets])],
                ),
            )
        self.role_arn = role.arn
        self.register_outputs({"roleArn": self.role_arn, "destinations": self.destinations})

    @staticmethod
    def _rule(
        target: str, destination: RegionalOrigin, priority: int, replication_time_control: bool
    ) -> aws.s3.BucketReplicationConfigRuleArgs:
        timing: dict[str, object] = {}
        if replication_time_control:
            timing = {
                "replication_time": aws.s3.BucketReplicationConfigRuleDestinationReplicationTimeArgs(
                    status="Enabled",
                    time=aws.s3.BucketReplicationConfigRuleDestinationReplicationTimeTimeArgs(minutes=_RTC_MINUTES),
                ),
                "metrics": aws.s3.BucketReplicationConfigRuleDestinationMetricsArgs(
                    status="Enabled",
                    event_threshold=aws.s3.BucketReplicationConfigRuleDestinationMetricsEventThresholdArgs(
                        minutes=_RTC_MINUTES
                    ),
                ),
            }
        return aws.s3.BucketReplicationConfigRuleArgs(
            id=f"to-{target}",
            status="Enabled",
            priority=priority,
            # An empty prefix filter makes this a V2 rule for every object.
            filter=aws.s3.BucketReplicationConfigRuleFilterArgs(prefix=""),
            destination=aws.s3.BucketReplicationConfigRuleDestinationArgs(bucket=destination.bucket_arn, **timing),
            delete_marker_replication=aws.s3.BucketReplicationConfigRuleDeleteMarkerReplicationArgs(status="Enabled"),
            source_selection_criteria=aws.s3.BucketReplicationConfigRuleSourceSelectionCriteriaArgs(
                replica_modifications=aws.s3.BucketReplicationConfigRuleSourceSelectionCriteriaReplicaModificationsArgs(
                    status="Enabled"
                )
            ),
        )
