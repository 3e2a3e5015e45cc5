"""Each component built alone under mocks, from its flat arguments, as another program
would use it."""

import json

import pytest

from components.distribution import (
    ORIGIN_GROUP_ID,
    GeoProximityDistribution,
    GeoProximityDistributionArgs,
)
from components.edge_function import EdgeFunction, EdgeFunctionArgs
from components.policies import OriginAccess, oai_read_grant
from components.regional_origin import RegionalOrigin, RegionalOriginArgs
from routing.table import derive_routing_table
from tests import aws_rules
from tools.mock_program import FUNCTION, run_under_mocks

DISTRIBUTION = "aws:cloudfront/distribution:Distribution"
OAI = "aws:cloudfront/originAccessIdentity:OriginAccessIdentity"
OAC = "aws:cloudfront/originAccessControl:OriginAccessControl"
CONFIG = {"aws:region": "us-east-1"}
FUNCTION_ARN = "arn:aws:lambda:us-east-1:123456789012:function:router:3"
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
                edge_function_arn=FUNCTION_ARN,
                **overrides,
            ),
        )
        return {"readGrant": cdn.read_grant, "arn": cdn.arn}

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
    assert deployment.exports["readGrant"] == oai_read_grant(deployment.one(OAI).outputs["iamArn"])
    assert deployment.all(OAC) == []


def test_distribution_with_oac_and_failover_off():
    deployment = build_distribution(origin_access=OriginAccess.OAC)
    inputs = deployment.one(DISTRIBUTION).inputs
    (origin,) = inputs["origins"]
    assert origin["originId"] == "s3-us-east-1" and "customHeaders" not in origin
    assert origin["originAccessControlId"] == deployment.one(OAC).id
    assert "s3OriginConfig" not in origin
    assert "originGroups" not in inputs or not inputs["originGroups"]
    assert inputs["defaultCacheBehavior"]["targetOriginId"] == "s3-us-east-1"
    grant = deployment.exports["readGrant"]
    assert grant["principal"] == {"Service": "cloudfront.amazonaws.com"}
    assert grant["condition"]["StringEquals"]["AWS:SourceArn"] == deployment.exports["arn"]
    assert deployment.all(OAI) == []


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
            "origin-eu", RegionalOriginArgs(region="eu-central-1", read_grant=grant)
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
        router = EdgeFunction(
            "router",
            EdgeFunctionArgs(
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


def test_components_alias_their_previous_type_tokens():
    deployment = build_distribution()
    component = deployment.one("geo-proximity:index:GeoProximityDistribution")
    assert component.urn.endswith("geo-proximity:index:GeoProximityDistribution::cdn")
    # Stacks deployed before the move to geo-proximity:index keep their resources (children follow).
    assert component.aliases == ["type=geo-proximity:cdn:GeoProximityDistribution"]
