"""Replication between the regional buckets, under mocks: S3's rules asserted on what is
declared."""

import json

from components.replication import replication_destinations
from testing.mock_program import (
    REPLICATION_CONFIG,
    ROLE,
    ROLE_POLICY,
    deploy,
    project_config,
)
from tests import aws_rules

REPLICATION_ACTIONS = {
    "s3:GetReplicationConfiguration",
    "s3:ListBucket",
    "s3:GetObjectVersionForReplication",
    "s3:GetObjectVersionAcl",
    "s3:GetObjectVersionTagging",
    "s3:ReplicateObject",
    "s3:ReplicateDelete",
    "s3:ReplicateTags",
}


def bucket_arns(deployment):
    return {
        region: f"arn:aws:s3:::{name}" for region, name in deployment.exports["buckets"].items()
    }


def test_every_bucket_replicates_to_every_other_with_unique_priorities(deployment):
    configs = deployment.all(REPLICATION_CONFIG)
    buckets = deployment.exports["buckets"]
    if not deployment.exports["replication"]:
        assert configs == [] and not [
            r for r in deployment.all(ROLE) if r.name == "replication-role"
        ]
        return
    arns = bucket_arns(deployment)
    assert len(configs) == len(buckets)
    by_bucket = {config.inputs["bucket"]: config for config in configs}
    for region, name in buckets.items():
        rules = by_bucket[name].inputs["rules"]
        assert len(rules) == len(buckets) - 1
        assert {rule["destination"]["bucket"] for rule in rules} == {
            arn for r, arn in arns.items() if r != region
        }
        assert len({rule["priority"] for rule in rules}) == len(rules)
        assert len({rule["id"] for rule in rules}) == len(rules)
        for rule in rules:
            assert rule["status"] == "Enabled"
            assert rule["filter"] == {"prefix": ""}  # V2 rule: filter present, empty prefix
            assert "prefix" not in rule
            assert rule["deleteMarkerReplication"] == {"status": "Enabled"}
            assert rule["sourceSelectionCriteria"]["replicaModifications"] == {"status": "Enabled"}
        assert by_bucket[name].region == region
    assert deployment.exports["replication"] == replication_destinations(list(buckets))


def test_replication_time_control_only_when_asked_and_metrics_with_it_or_monitoring(deployment):
    monitored = "dashboardName" in deployment.exports
    rtc = deployment.stack in ("custom-domain", "everything-twenty", "functions-everything-twenty")
    for config in deployment.all(REPLICATION_CONFIG):
        for rule in config.inputs["rules"]:
            destination = rule["destination"]
            assert aws_rules.replication_destination_problems(destination) == [], rule["id"]
            if rtc:
                assert destination["replicationTime"] == {
                    "status": "Enabled",
                    "time": {"minutes": 15},
                }
                assert destination["metrics"] == {
                    "status": "Enabled",
                    "eventThreshold": {"minutes": 15},
                }
            else:
                assert "replicationTime" not in destination
                # The alarms on failed replication need S3 Replication metrics, RTC or not; the
                # event threshold only comes with RTC (S3 refuses it alone).
                if monitored:
                    assert destination["metrics"] == {"status": "Enabled"}
                else:
                    assert "metrics" not in destination


def test_the_replication_rule_checks_refuse_what_s3_refuses():
    threshold = {"minutes": 15}
    rtc = {"status": "Enabled", "time": {"minutes": 15}}
    assert aws_rules.replication_destination_problems(
        {"metrics": {"status": "Enabled", "eventThreshold": threshold}}
    ) == ["an event threshold without Replication Time Control"]
    assert aws_rules.replication_destination_problems({"replicationTime": rtc}) == [
        "Replication Time Control without metrics"
    ]
    assert aws_rules.replication_destination_problems(
        {"replicationTime": rtc, "metrics": {"status": "Enabled"}}
    ) == ["Replication Time Control without an event threshold"]
    assert (
        aws_rules.replication_destination_problems(
            {"replicationTime": rtc, "metrics": {"status": "Enabled", "eventThreshold": threshold}}
        )
        == []
    )


def test_replication_role_is_trusted_by_s3_and_reaches_only_these_buckets(deployment):
    if not deployment.exports["replication"]:
        return
    role = deployment.one(ROLE, "replication-role")
    (statement,) = json.loads(role.inputs["assumeRolePolicy"])["Statement"]
    assert statement["Principal"] == {"Service": "s3.amazonaws.com"}
    # As the S3 user guide shows it: no condition S3 is not documented to send (only this
    # account's principals may pass the role: iam:PassRole).
    assert "Condition" not in statement
    configs = deployment.all(REPLICATION_CONFIG)
    assert {config.inputs["role"] for config in configs} == {role.outputs["arn"]}
    policy = json.loads(deployment.one(ROLE_POLICY, "replication-policy").inputs["policy"])
    arns = set(bucket_arns(deployment).values())
    actions = set()
    for statement in policy["Statement"]:
        assert statement["Effect"] == "Allow"
        actions |= set(statement["Action"])
        resources = set(statement["Resource"])
        assert resources in (arns, {f"{arn}/*" for arn in arns}), resources
    assert actions == REPLICATION_ACTIONS


def test_replication_waits_for_versioning_at_both_ends(deployment):
    versioning_urns = {
        resource.inputs["bucket"]: resource.urn
        for resource in deployment.all("aws:s3/bucketVersioning:BucketVersioning")
    }
    for config in deployment.all(REPLICATION_CONFIG):
        assert set(versioning_urns.values()) <= set(config.dependencies)


def test_replication_off_and_single_origin_declare_nothing():
    for config in (
        project_config(origins=["us-east-1", "eu-west-1"], replication="off"),
        project_config(origins=["eu-west-1"]),
    ):
        deployment = deploy(config)
        assert deployment.all(REPLICATION_CONFIG) == []
        assert deployment.exports["replication"] == {}


def test_destinations_of_a_mesh():
    assert replication_destinations(["a", "b", "c"]) == {
        "a": ["b", "c"],
        "b": ["a", "c"],
        "c": ["a", "b"],
    }
