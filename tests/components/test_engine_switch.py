"""Switching engines on a deployed stack (OAI ⇄ OAC) never leaves the distribution signing with an
identity the buckets do not grant.

Pulumi updates a resource after those its inputs come from: every bucket policy takes its grants
from the distribution's ARN, so in one ``pulumi up`` the distribution changes first and the
policies after it. During an update from step A to step B, then, the distribution signs as B while
the policies still grant as A. The switch is safe when, at each step, the identity B signs with is
already granted by A, which ``nextEngine`` arranges: a first ``pulumi up`` adds the next engine's
grant, a second switches and withdraws the old one.
"""

import itertools
import json

import pytest

from testing.mock_program import Deployment, deploy, project_config
from tests import aws_rules

DISTRIBUTION = "aws:cloudfront/distribution:Distribution"
OAI = "aws:cloudfront/originAccessIdentity:OriginAccessIdentity"
BUCKET_POLICY = "aws:s3/bucketPolicy:BucketPolicy"
ORIGINS = ["us-east-1", "eu-central-1", "ap-northeast-1"]
LAMBDA_EDGE = project_config(origins=ORIGINS)
TO_FUNCTIONS = project_config(origins=ORIGINS, nextEngine="cloudfront-functions")
FUNCTIONS = project_config(origins=ORIGINS, engine="cloudfront-functions")
TO_LAMBDA_EDGE = project_config(
    origins=ORIGINS, engine="cloudfront-functions", nextEngine="lambda-edge"
)


def signs_as(deployment: Deployment) -> set:
    oais = {
        o.outputs["cloudfrontAccessIdentityPath"]: o.outputs["iamArn"] for o in deployment.all(OAI)
    }
    return aws_rules.signing_identities(
        deployment.one(DISTRIBUTION).inputs, deployment.exports["distributionArn"], oais
    )


def origin_policies(deployment: Deployment) -> list:
    """The policies of the buckets CloudFront reads (not the batch buckets of ./dev backfill)."""
    origins = set(deployment.exports["buckets"].values())
    return [p for p in deployment.all(BUCKET_POLICY) if p.inputs["bucket"] in origins]


def grants(deployment: Deployment) -> dict[str, set]:
    """Bucket → the identities its policy lets read."""
    return {
        policy.inputs["bucket"]: {
            aws_rules.granted_identity(statement)
            for statement in json.loads(policy.inputs["policy"])["Statement"]
            if statement["Effect"] == "Allow"
        }
        for policy in origin_policies(deployment)
    }


def unreadable_during_update(before: Deployment, after: Deployment) -> dict[str, set]:
    """Bucket → identities the distribution signs with, at some moment of the update from
    ``before`` to ``after``, that the bucket does not grant at that moment."""
    # Policies follow the distribution (asserted below), so the moments are: before anything, after
    # the distribution changed, after the policies changed.
    moments = [
        (signs_as(before), grants(before)),
        (signs_as(after), grants(before)),
        (signs_as(after), grants(after)),
    ]
    gaps: dict[str, set] = {}
    for signing, granted in moments:
        for bucket, identities in granted.items():
            if signing - identities:
                gaps.setdefault(bucket, set()).update(signing - identities)
    return gaps


def policies_follow_the_distribution(deployment: Deployment) -> bool:
    distribution = deployment.one(DISTRIBUTION).urn
    return all(distribution in p.dependencies for p in origin_policies(deployment))


@pytest.mark.parametrize(
    "steps",
    [
        pytest.param([LAMBDA_EDGE, TO_FUNCTIONS, FUNCTIONS], id="to-cloudfront-functions"),
        pytest.param([FUNCTIONS, TO_LAMBDA_EDGE, LAMBDA_EDGE], id="to-lambda-edge"),
    ],
)
def test_the_two_step_switch_keeps_every_bucket_readable_at_every_moment(steps):
    deployments = [deploy(config, stack="switch") for config in steps]
    assert all(policies_follow_the_distribution(d) for d in deployments)
    for before, after in itertools.pairwise(deployments):
        assert unreadable_during_update(before, after) == {}
    first, middle, last = deployments
    # Step one changes nothing CloudFront sees; step two moves the distribution to the new identity.
    assert middle.one(DISTRIBUTION).inputs == first.one(DISTRIBUTION).inputs
    assert signs_as(last) != signs_as(first)
    # At the end the buckets grant the new identity alone: the old grant is withdrawn.
    assert all(identities == signs_as(last) for identities in grants(last).values())


@pytest.mark.parametrize(
    ("before", "after"),
    [(LAMBDA_EDGE, FUNCTIONS), (FUNCTIONS, LAMBDA_EDGE)],
    ids=["oai-oac", "oac-oai"],
)
def test_switching_in_one_step_would_serve_403s_which_is_why_next_engine_exists(before, after):
    gaps = unreadable_during_update(deploy(before, stack="switch"), deploy(after, stack="switch"))
    assert len(gaps) == len(ORIGINS)
