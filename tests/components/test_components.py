"""Each component built alone under mocks, from its flat arguments, as another program
would use it."""

import json

import pytest

from components.cloudfront_function import CloudFrontFunctionRouter, CloudFrontFunctionRouterArgs
from components.distribution import (
    ORIGIN_GROUP_ID,
    GeoProximityDistribution,
    GeoProximityDistributionArgs,
)
from components.lambda_edge import LambdaEdgeRouter, LambdaEdgeRouterArgs
from components.regional_origin import RegionalOrigin, RegionalOriginArgs
from core.engine import Engine
from core.policies import next_engine_grant, oac_read_grant, oai_read_grant
from edge_function.cloudfront_function import render_function_code
from routing.table import derive_routing_table
from testing.mock_monitor import Alias
from testing.mock_program import CLOUDFRONT_FUNCTION, FUNCTION, run_under_mocks
from tests import aws_rules

DISTRIBUTION = "aws:cloudfront/distribution:Distribution"
OAI = "aws:cloudfront/originAccessIdentity:OriginAccessIdentity"
OAC = "aws:cloudfront/originAccessControl:OriginAccessControl"
CONFIG = {"aws:region": "us-east-1"}
FUNCTION_ARN = "arn:aws:lambda:us-east-1:123456789012:function:router:3"
CLOUDFRONT_FUNCTION_ARN = "arn:aws:cloudfront::123456789012:function/router-function-1a2b3c4"
LOG_GROUP = "aws:cloudwatch/logGroup:LogGroup"
DOMAINS = {
    "us-east-1": "bucket-a.s3.us-east-1.amazonaws.com",
    "eu-central-1": "bucket-b.s3.eu-central-1.amazonaws.com",
}


def build_distribution(**overrides):
    def program():
        cdn = GeoProximityDistribution(
            "cdn",
            GeoProximityDistributionArgs(
                origin_domain_names=DOMAINS,
                default_origin="us-east-1",
                **{"function_arn": FUNCTION_ARN, **overrides},
            ),
        )
        return {"readGrants": cdn.read_grants, "arn": cdn.arn}

    return run_under_mocks(program, CONFIG, stack="alone")


def test_distribution_with_oai_and_an_origin_group():
    deployment = build_distribution(
        failover_origin="eu-central-1", failover_status_codes=(500, 503)
    )
    inputs = deployment.one(DISTRIBUTION).inputs
    assert [origin["originId"] for origin in inputs["origins"]] == [
        "s3-us-east-1",
        "s3-eu-central-1",
    ]
    identity = deployment.one(OAI).outputs["cloudfrontAccessIdentityPath"]
    assert all(
        origin["s3OriginConfig"]["originAccessIdentity"] == identity for origin in inputs["origins"]
    )
    assert "originAccessControlId" not in inputs["origins"][0]
    (group,) = inputs["originGroups"]
    assert group["failoverCriteria"]["statusCodes"] == [500, 503]
    assert len(group["members"]) == aws_rules.ORIGIN_GROUP_MEMBERS
    assert inputs["defaultCacheBehavior"]["targetOriginId"] == ORIGIN_GROUP_ID
    (marker,) = inputs["origins"][1]["customHeaders"]
    assert marker == {"name": "X-Geo-Failover", "value": "true"}
    assert deployment.exports["readGrants"] == [
        oai_read_grant(deployment.one(OAI).outputs["iamArn"])
    ]
    assert deployment.all(OAC) == []
    assert "functionAssociations" not in inputs["defaultCacheBehavior"]


def test_distribution_for_cloudfront_functions_declares_every_bucket_with_oac():
    deployment = build_distribution(
        engine=Engine.CLOUDFRONT_FUNCTIONS,
        function_arn=CLOUDFRONT_FUNCTION_ARN,
        failover_origin="eu-central-1",
    )
    inputs = deployment.one(DISTRIBUTION).inputs
    assert {origin["originId"]: origin["domainName"] for origin in inputs["origins"]} == {
        f"s3-{region}": domain for region, domain in DOMAINS.items()
    }
    oac = deployment.one(OAC)
    assert (oac.inputs["signingBehavior"], oac.inputs["signingProtocol"]) == ("always", "sigv4")
    for origin in inputs["origins"]:
        assert origin["originAccessControlId"] == oac.id
        assert "s3OriginConfig" not in origin and "customHeaders" not in origin
    # The function makes a group per request; the distribution declares none.
    assert not inputs.get("originGroups")
    behavior = inputs["defaultCacheBehavior"]
    assert behavior["targetOriginId"] == "s3-us-east-1"
    assert behavior["functionAssociations"] == [
        {"eventType": "viewer-request", "functionArn": CLOUDFRONT_FUNCTION_ARN}
    ]
    assert "lambdaFunctionAssociations" not in behavior
    assert deployment.exports["readGrants"] == [oac_read_grant(deployment.exports["arn"])]
    assert deployment.all(OAI) == []


def test_during_a_switch_the_buckets_also_grant_the_next_engines_identity():
    deployment = build_distribution(next_engine=Engine.CLOUDFRONT_FUNCTIONS)
    oai_arn = deployment.one(OAI).outputs["iamArn"]
    assert deployment.exports["readGrants"] == [
        oai_read_grant(oai_arn),
        next_engine_grant(oac_read_grant(deployment.exports["arn"])),
    ]
    # The distribution itself still signs with the identity: nothing CloudFront sees changes.
    assert deployment.all(OAC) == []
    back = build_distribution(
        engine=Engine.CLOUDFRONT_FUNCTIONS,
        function_arn=CLOUDFRONT_FUNCTION_ARN,
        next_engine=Engine.LAMBDA_EDGE,
    )
    assert back.exports["readGrants"] == [
        oac_read_grant(back.exports["arn"]),
        next_engine_grant(oai_read_grant(back.one(OAI).outputs["iamArn"])),
    ]


def test_distribution_defaults_are_the_documented_ones():
    inputs = build_distribution().one(DISTRIBUTION).inputs
    assert inputs["priceClass"] == "PriceClass_All"
    assert inputs["viewerCertificate"] == {"cloudfrontDefaultCertificate": True}
    assert (
        inputs["defaultCacheBehavior"]["lambdaFunctionAssociations"][0]["lambdaArn"] == FUNCTION_ARN
    )


def test_regional_origin_alone_grants_what_it_is_given():
    grant = oai_read_grant(
        "arn:aws:iam::cloudfront:user/CloudFront Origin Access Identity E2EXAMPLE"
    )

    def program():
        origin = RegionalOrigin(
            "origin-eu", RegionalOriginArgs(region="eu-central-1", read_grants=[grant])
        )
        return {"domain": origin.domain_name, "bucket": origin.bucket_name}

    deployment = run_under_mocks(program, CONFIG, stack="alone")
    bucket = deployment.one("aws:s3/bucket:Bucket")
    assert bucket.region == "eu-central-1" and bucket.inputs["tags"] == {}
    assert (
        deployment.exports["domain"]
        == f"{deployment.exports['bucket']}.s3.eu-central-1.amazonaws.com"
    )
    policy = json.loads(deployment.one("aws:s3/bucketPolicy:BucketPolicy").inputs["policy"])
    readers = [s for s in policy["Statement"] if s["Effect"] == "Allow"]
    assert all(s["Principal"] == grant["principal"] for s in readers)


@pytest.mark.parametrize("failover", ["ranked", "off"])
def test_edge_function_alone_packages_its_routing_table(failover):
    routing = derive_routing_table(["us-east-1", "eu-central-1"], failover=failover)

    def program():
        router = LambdaEdgeRouter(
            "router",
            LambdaEdgeRouterArgs(
                routing=routing,
                bucket_names={"us-east-1": "bucket-a-0001", "eu-central-1": "bucket-b-0001"},
                marker_header="X-Retry-Marker",
            ),
        )
        return {"arn": router.qualified_arn}

    deployment = run_under_mocks(program, CONFIG, stack="alone")
    function = deployment.one(FUNCTION)
    assert function.region == aws_rules.LAMBDA_EDGE_HOME_REGION
    assert aws_rules.QUALIFIED_FUNCTION_ARN.match(deployment.exports["arn"])
    artifact = json.loads(deployment.function_package()["routing.json"])
    assert artifact["failover"] == failover and artifact["markerHeader"] == "X-Retry-Marker"
    assert (
        artifact["origins"]["eu-central-1"]["domainName"]
        == "bucket-b-0001.s3.eu-central-1.amazonaws.com"
    )
    assert {
        r.name for r in deployment.resources if r.type != "aws:cloudwatch/logGroup:LogGroup"
    } == {
        "router",
        "router-role",
        "router-function",
        "router-logs",
    }


def test_router_function_alone_publishes_the_generated_code_and_an_expiring_log_group():
    routing = derive_routing_table(["us-east-1", "eu-central-1", "ap-southeast-4"])

    def program():
        router = CloudFrontFunctionRouter(
            "router",
            CloudFrontFunctionRouterArgs(
                routing=routing, failover_status_codes=(500, 503), log_retention_days=7
            ),
        )
        return {"arn": router.arn, "name": router.function_name, "bytes": router.code_bytes}

    deployment = run_under_mocks(program, CONFIG, stack="alone")
    function = deployment.one(CLOUDFRONT_FUNCTION)
    assert function.inputs["runtime"] == "cloudfront-js-2.0" and function.inputs["publish"]
    assert function.inputs["code"] == render_function_code(routing, (500, 503))
    assert deployment.exports["bytes"] == len(function.inputs["code"].encode())
    assert deployment.exports["arn"] == function.outputs["arn"]
    (group,) = deployment.all(LOG_GROUP)
    assert group.inputs["name"] == f"/aws/cloudfront/function/{deployment.exports['name']}"
    assert (group.region, group.inputs["retentionInDays"]) == ("us-east-1", 7)
    assert deployment.all(FUNCTION) == []


def test_components_alias_their_previous_type_tokens():
    deployment = build_distribution()
    component = deployment.one("geo-proximity:index:GeoProximityDistribution")
    assert component.urn.endswith("geo-proximity:index:GeoProximityDistribution::cdn")
    # Stacks deployed before the move to geo-proximity:index keep their resources (children follow).
    assert component.aliases == [Alias(type="geo-proximity:cdn:GeoProximityDistribution")]
