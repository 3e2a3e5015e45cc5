"""Switching engines on a deployed stack (OAI ⇄ OAC) never leaves the distribution signing with an
identity the buckets do not grant, nor running Lambda@Edge in a Region without a replica of the
routing state's table.

Pulumi updates a resource after those its inputs come from: every bucket policy takes its grants
from the distribution's ARN, so in one ``pulumi up`` the distribution changes first and the
policies after it. During an update from step A to step B, then, the distribution signs as B while
the policies still grant as A. The switch is safe when, at each step, the identity B signs with is
already granted by A, which ``nextEngine`` arranges: a first ``pulumi up`` adds the next engine's
grant, a second switches, a third withdraws the old one. The table goes the other way: the
distribution depends on it (the function reads its name, directly or through the evacuator), so
it changes before the distribution, and a replica the running Lambda@Edge version reads must
outlive the step that moves the distribution; a table the program drops is deleted at the end.
"""

import itertools
import json

import pytest

from testing.mock_program import Deployment, deploy, project_config
from tests import aws_rules
from tests.support import DOCUMENTED_EXECUTION_REGIONS

DISTRIBUTION = "aws:cloudfront/distribution:Distribution"
TABLE = "aws:dynamodb/table:Table"
OAI = "aws:cloudfront/originAccessIdentity:OriginAccessIdentity"
BUCKET_POLICY = "aws:s3/bucketPolicy:BucketPolicy"
ORIGINS = ["us-east-1", "eu-central-1", "ap-northeast-1"]
LAMBDA_EDGE = project_config(origins=ORIGINS)
TO_FUNCTIONS = project_config(origins=ORIGINS, nextEngine="cloudfront-functions")
FUNCTIONS = project_config(origins=ORIGINS, engine="cloudfront-functions")
TO_LAMBDA_EDGE = project_config(
    origins=ORIGINS, engine="cloudfront-functions", nextEngine="lambda-edge"
)
# Step 2 of each switch: the new engine serves, the old one stays ready until step 3.
SWITCHED_TO_FUNCTIONS = project_config(
    origins=ORIGINS, engine="cloudfront-functions", nextEngine="lambda-edge"
)
SWITCHED_TO_LAMBDA_EDGE = project_config(origins=ORIGINS, nextEngine="cloudfront-functions")


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


def runs_lambda_edge(deployment: Deployment) -> bool:
    behavior = deployment.one(DISTRIBUTION).inputs["defaultCacheBehavior"]
    return bool(behavior.get("lambdaFunctionAssociations"))


def table_regions(deployment: Deployment) -> set:
    """Every Region holding the routing state's table: its home and its replicas."""
    tables = deployment.all(TABLE)
    if not tables:
        return set()
    (table,) = tables
    return {table.region, *(replica["regionName"] for replica in table.inputs.get("replicas", []))}


def lambda_edge_without_a_replica(before: Deployment, after: Deployment) -> set:
    """Regions where the distribution runs Lambda@Edge, at some moment of the update from
    ``before`` to ``after``, without a replica of the table there at that moment."""
    tables = after.all(TABLE)
    if tables:
        # The distribution waits for the table: the table changes first.
        assert after.waits_for(after.one(DISTRIBUTION), tables[0])
        order = [(before, before), (before, after), (after, after)]
    else:
        # A table the program dropped is deleted at the end, after the distribution moved.
        order = [(before, before), (after, before), (after, after)]
    missing: set = set()
    for distribution, table in order:
        if runs_lambda_edge(distribution):
            missing |= set(DOCUMENTED_EXECUTION_REGIONS) - table_regions(table)
    return missing


@pytest.mark.parametrize(
    "steps",
    [
        pytest.param(
            [LAMBDA_EDGE, TO_FUNCTIONS, SWITCHED_TO_FUNCTIONS, FUNCTIONS],
            id="to-cloudfront-functions",
        ),
        pytest.param(
            [FUNCTIONS, TO_LAMBDA_EDGE, SWITCHED_TO_LAMBDA_EDGE, LAMBDA_EDGE], id="to-lambda-edge"
        ),
    ],
)
def test_the_three_step_switch_keeps_every_bucket_readable_and_every_replica_lambda_edge_reads(
    steps,
):
    deployments = [deploy(config, stack="switch") for config in steps]
    for before, after in itertools.pairwise(deployments):
        assert unreadable_during_update(before, after) == {}
        assert lambda_edge_without_a_replica(before, after) == set()
    first, ready, switched, last = deployments
    # Step one changes nothing CloudFront sees; step two moves the distribution; step three
    # changes nothing CloudFront sees either, and withdraws the old grant.
    assert ready.one(DISTRIBUTION).inputs == first.one(DISTRIBUTION).inputs
    assert switched.one(DISTRIBUTION).inputs == last.one(DISTRIBUTION).inputs
    assert signs_as(last) != signs_as(first)
    assert all(identities == signs_as(last) for identities in grants(last).values())
    # While a switch is under way the table serves both engines' readers.
    for deployment in (ready, switched):
        assert set(DOCUMENTED_EXECUTION_REGIONS) <= table_regions(deployment)


def test_leaving_lambda_edge_in_two_steps_would_take_its_replicas_first():
    # Step 2 removing nextEngine at once: the table loses the replicas before the distribution
    # stops running Lambda@Edge.
    ready, functions = deploy(TO_FUNCTIONS, stack="switch"), deploy(FUNCTIONS, stack="switch")
    missing = lambda_edge_without_a_replica(ready, functions)
    assert missing == set(DOCUMENTED_EXECUTION_REGIONS) - table_regions(functions)
    assert len(missing) >= 10
