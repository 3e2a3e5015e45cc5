"""The program under mocks with the CloudFront Functions engine: a viewer-request function that
picks among origins each signed with origin access control, and nothing of Lambda@Edge."""

import json
import re

import pytest

from edge_function.cloudfront_function import render_function_code
from settings.parser import parse_settings
from testing.mock_program import CLOUDFRONT_FUNCTION, FUNCTION, ROLE, deploy
from tests import aws_rules
from tests.components.conftest import SCENARIOS

DISTRIBUTION = "aws:cloudfront/distribution:Distribution"
OAI = "aws:cloudfront/originAccessIdentity:OriginAccessIdentity"
OAC = "aws:cloudfront/originAccessControl:OriginAccessControl"
LOG_GROUP = "aws:cloudwatch/logGroup:LogGroup"


def function_code(deployment) -> str:
    return deployment.one(CLOUDFRONT_FUNCTION).inputs["code"]


def test_the_function_is_published_on_runtime_2_and_obeys_cloudfront_functions_limits(
    functions_deployment,
):
    function = functions_deployment.one(CLOUDFRONT_FUNCTION)
    assert function.inputs["runtime"] == aws_rules.CLOUDFRONT_FUNCTION_RUNTIME
    assert function.inputs["publish"] is True
    assert aws_rules.cloudfront_function_code_problems(function.inputs["code"]) == []
    assert len(function.inputs["comment"]) <= aws_rules.MAX_COMMENT_LENGTH
    behavior = functions_deployment.one(DISTRIBUTION).inputs["defaultCacheBehavior"]
    (association,) = behavior["functionAssociations"]
    assert association["eventType"] == aws_rules.ORIGIN_MODIFICATION_EVENT
    assert association["functionArn"] == function.outputs["arn"]
    assert functions_deployment.exports["cloudFrontFunctionArn"] == function.outputs["arn"]
    assert functions_deployment.exports["engine"] == "cloudfront-functions"


def test_nothing_of_lambda_edge_is_declared(functions_deployment):
    # Lambda functions only the evacuator's, one per vantage Region.
    evacuation = functions_deployment.exports["routingState"]["evacuation"]
    assert sorted(f.region for f in functions_deployment.all(FUNCTION)) == sorted(
        functions_deployment.exports["routingState"]["vantages"]
    )
    # With replication, its role and the one S3 Batch Replication runs as (./dev backfill); with
    # the evacuator, its own and its scheduler's.
    replication = bool(functions_deployment.exports["replication"])
    assert sorted(role.name for role in functions_deployment.all(ROLE)) == sorted(
        ["batch-replication-role", "replication-role"] * replication
        + ["evacuator-role", "evacuator-scheduler-role"] * evacuation
    )
    # An origin access identity only while the stack is switching back to Lambda@Edge.
    switching_back = functions_deployment.stack == "switch-to-lambda-edge"
    assert len(functions_deployment.all(OAI)) == (1 if switching_back else 0)
    inputs = functions_deployment.one(DISTRIBUTION).inputs
    assert "lambdaFunctionAssociations" not in inputs["defaultCacheBehavior"]
    assert not inputs.get("originGroups")
    assert all(not origin.get("customHeaders") for origin in inputs["origins"])
    assert "edgeFunctionVersionArn" not in functions_deployment.exports
    assert not any(
        group.inputs["name"].startswith("/aws/lambda/us-east-1.")
        for group in functions_deployment.all(LOG_GROUP)
    )


def test_every_bucket_is_an_origin_signed_by_one_oac_and_granting_only_this_distribution(
    functions_deployment,
):
    inputs = functions_deployment.one(DISTRIBUTION).inputs
    buckets = functions_deployment.exports["buckets"]
    (oac,) = functions_deployment.all(OAC)
    assert oac.inputs["originAccessControlOriginType"] == "s3"
    assert (oac.inputs["signingBehavior"], oac.inputs["signingProtocol"]) == ("always", "sigv4")
    origins = {origin["originId"]: origin for origin in inputs["origins"]}
    assert len(origins) <= aws_rules.DEFAULT_MAX_ORIGINS_PER_DISTRIBUTION
    assert {
        f"s3-{region}": f"{name}.s3.{region}.amazonaws.com" for region, name in buckets.items()
    } == {origin_id: origin["domainName"] for origin_id, origin in origins.items()}
    for origin in origins.values():
        assert origin["originAccessControlId"] == oac.id
        assert "s3OriginConfig" not in origin
    # The default behaviour's origin is the default ranking's first, the default origin, where a
    # surprise stays; a drain (state, read at run time) leaves it as it is.
    code = function_code(functions_deployment)
    ids = json.loads(re.search(r"^var ORIGIN_IDS = (.*);$", code, re.MULTILINE).group(1))
    default = json.loads(re.search(r"^var DEFAULT_RANKING = (.*);$", code, re.MULTILINE).group(1))
    assert inputs["defaultCacheBehavior"]["targetOriginId"] == ids[default[0]]
    routing = functions_deployment.exports["routing"]
    if not routing["drained"]:
        assert ids[default[0]] == f"s3-{routing['default']['primary']}"
    arn = functions_deployment.exports["distributionArn"]
    routed = set(buckets.values())
    for policy in functions_deployment.all("aws:s3/bucketPolicy:BucketPolicy"):
        if policy.inputs["bucket"] not in routed:
            continue  # the access log bucket
        allows = [
            s for s in json.loads(policy.inputs["policy"])["Statement"] if s["Effect"] == "Allow"
        ]
        assert {aws_rules.granted_identity(s) for s in allows} >= {("oac", arn)}


def test_the_code_names_exactly_the_distributions_origins(functions_deployment):
    code = function_code(functions_deployment)
    declared = {o["originId"] for o in functions_deployment.one(DISTRIBUTION).inputs["origins"]}
    origin_ids = json.loads(re.search(r"^var ORIGIN_IDS = (.*);$", code, re.MULTILINE).group(1))
    # Drained ones too: which are out of rotation is state the function reads at run time.
    assert set(origin_ids) == declared
    codes = json.loads(
        re.search(r"^var FAILOVER_STATUS_CODES = (.*);$", code, re.MULTILINE).group(1)
    )
    behavior = functions_deployment.one(DISTRIBUTION).inputs["defaultCacheBehavior"]
    assert (
        aws_rules.failover_problems(codes, behavior["allowedMethods"], behavior["cachedMethods"])
        == []
    )


def test_function_logs_expire_and_exist_before_the_distribution_runs_it(functions_deployment):
    function = functions_deployment.one(CLOUDFRONT_FUNCTION)
    name = function.outputs["name"]
    (group,) = [g for g in functions_deployment.all(LOG_GROUP) if g.parent == function.parent]
    assert group.inputs["name"] == f"/aws/cloudfront/function/{name}"
    assert group.region == "us-east-1"
    assert group.inputs["retentionInDays"] in aws_rules.LOG_RETENTION_DAYS
    assert group.urn in functions_deployment.one(DISTRIBUTION).dependencies


def test_regions_launched_after_2022_are_served():
    deployment = deploy(SCENARIOS["functions-new-regions"], stack="functions-new-regions")
    regions = set(deployment.exports["buckets"])
    assert regions & {"ca-west-1", "mx-central-1", "il-central-1", "ap-southeast-4"}
    assert {o["originId"] for o in deployment.one(DISTRIBUTION).inputs["origins"]} == {
        f"s3-{region}" for region in regions
    }


def test_the_code_is_byte_identical_for_an_unchanged_config_and_new_for_a_routing_change():
    config = SCENARIOS["functions-fixed-failover"]
    first = function_code(deploy(config, stack="again"))
    assert function_code(deploy(dict(config), stack="again-elsewhere")) == first
    pinned = {**config, "geo-proximity:routes": json.dumps({"ap-south-1": "ap-northeast-1"})}
    assert function_code(deploy(pinned, stack="again")) != first
    tagged = {**config, "geo-proximity:tags": json.dumps({"team": "edge"})}
    assert function_code(deploy(tagged, stack="again")) == first


@pytest.mark.parametrize("codes", [[503, 504], [429, 500, 502, 503, 504]])
def test_the_code_is_the_one_rendered_from_the_stacks_settings(codes):
    config = {
        **SCENARIOS["functions-fixed-failover"],
        "geo-proximity:failoverStatusCodes": json.dumps(codes),
    }
    settings = parse_settings(
        {
            key.removeprefix("geo-proximity:"): value
            for key, value in config.items()
            if key.startswith("geo-proximity:")
        },
        stack="codes",
    )
    code = function_code(deploy(config, stack="codes"))
    assert settings.state_key == "rotation"
    assert code == render_function_code(
        settings.routing, settings.failover_status_codes, settings.state_key
    )
    assert f"var FAILOVER_STATUS_CODES = {json.dumps(codes)};" in code
