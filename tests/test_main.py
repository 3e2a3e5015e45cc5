"""The program as `pulumi up` runs it: bad input stops it before any resource, routing changes
reach the function's code, and large stacks build."""

import json

import pulumi
import pytest

from edge_function.package import zip_package
from routing.catalogue import load_catalogue
from testing.mock_program import FUNCTION, ProgramError, deploy, project_config
from tests import aws_rules

SEED = ["us-east-1", "eu-central-1", "ap-northeast-1"]
CERTIFICATE = "arn:aws:acm:us-east-1:123456789012:certificate/0a1b2c3d-4e5f-6a7b-8c9d-0e1f2a3b4c5d"

BAD_INPUT = {
    "unknown origin Region": (
        {"origins": ["us-east-1", "eu-westt-1"]},
        "geo-proximity:origins: 'eu-westt-1' is not a known AWS Region code; did you mean "
        "eu-west-1",
    ),
    "origins not a list": (
        {"origins": "us-east-1"},
        "geo-proximity:origins: 'us-east-1' is not a list",
    ),
    "origins missing": ({}, "geo-proximity:origins: is required: a list"),
    "duplicate origins": (
        {"origins": ["us-east-1", "eu-west-1", "us-east-1"]},
        "geo-proximity:origins: 'us-east-1' is listed twice",
    ),
    "default origin without a bucket": (
        {"origins": SEED, "defaultOrigin": "eu-west-1"},
        "geo-proximity:defaultOrigin: 'eu-west-1' has no bucket; "
        "expected one of the origins: us-east-1, eu-central-1, ap-northeast-1",
    ),
    "default origin not a Region": (
        {"origins": SEED, "defaultOrigin": "europe"},
        "geo-proximity:defaultOrigin: 'europe' has no bucket",
    ),
    "failover origin without a bucket": (
        {"origins": SEED, "failoverOrigin": "sa-east-1"},
        "geo-proximity:failoverOrigin: 'sa-east-1' has no bucket",
    ),
    "route target without a bucket": (
        {"origins": SEED, "routes": {"ap-south-1": "ap-south-1"}},
        "geo-proximity:routes: route for ap-south-1: 'ap-south-1' has no bucket",
    ),
    "route from an unknown Region": (
        {"origins": SEED, "routes": {"ap-soutth-1": "ap-northeast-1"}},
        "geo-proximity:routes: edge Region 'ap-soutth-1' is not a known AWS Region code; did you "
        "mean ap-south-1",
    ),
    "failover origin equal to default": (
        {"origins": SEED, "defaultOrigin": "eu-central-1", "failoverOrigin": "eu-central-1"},
        "geo-proximity:failoverOrigin: 'eu-central-1' is also the default origin",
    ),
    "status code failover cannot use": (
        {"origins": SEED, "failoverStatusCodes": [503, 504, 418]},
        "geo-proximity:failoverStatusCodes: 418 cannot trigger failover; "
        "expected 400, 403, 404, 416, 429, 500, 502, 503, 504",
    ),
    "status codes without 504 while failing over": (
        {"origins": SEED, "failoverStatusCodes": [500, 503]},
        "geo-proximity:failoverStatusCodes: [500, 503] lacks 504: CloudFront fails over from a "
        "Region it cannot connect to only when 503 is a failover code, and from one that times "
        "out only when 504 is",
    ),
    "status code not an integer": (
        {"origins": SEED, "failoverStatusCodes": ["503"]},
        "geo-proximity:failoverStatusCodes: '503' is not an integer status code",
    ),
    "status code a fraction": (
        {"origins": SEED, "failoverStatusCodes": [503.5]},
        "geo-proximity:failoverStatusCodes: 503.5 is not an integer status code",
    ),
    "unknown failover mode": (
        {"origins": SEED, "failover": "always"},
        "geo-proximity:failover: 'always' is not a failover mode; expected one of: ranked, fixed, "
        "off",
    ),
    "unknown origin access": (
        {"origins": SEED, "originAccess": "public"},
        "geo-proximity:originAccess: 'public' is not one of: oai, oac",
    ),
    "unknown price class": (
        {"origins": SEED, "priceClass": "PriceClass_50"},
        "geo-proximity:priceClass: 'PriceClass_50' is not one of: PriceClass_All, PriceClass_200, "
        "PriceClass_100",
    ),
    "failover with one origin": (
        {"origins": ["eu-west-1"], "failover": "ranked"},
        "geo-proximity:failover: 'ranked' needs at least two origins",
    ),
    "a post-2022 Region as an origin": (
        {"origins": ["us-east-1", "ca-west-1"]},
        "geo-proximity:origins: ca-west-1 launched after December 2022, where OAI does not work, "
        "and OAC does not work when Lambda@Edge changes the origin",
    ),
    "oac behind a Lambda@Edge origin rewrite": (
        {"origins": SEED, "originAccess": "oac"},
        "geo-proximity:originAccess: 'oac' does not work when Lambda@Edge changes the origin "
        '(CloudFront developer guide: "OAC doesn\'t support origin redirect by using Lambda@Edge")',
    ),
    "aliases without certificate": (
        {"origins": SEED, "aliases": ["cdn.example.com"]},
        'geo-proximity:certificateArn: is required with aliases ["cdn.example.com"]',
    ),
    "certificate outside us-east-1": (
        {
            "origins": SEED,
            "aliases": ["cdn.example.com"],
            "certificateArn": CERTIFICATE.replace("us-east-1", "eu-west-1"),
        },
        f"geo-proximity:certificateArn: {CERTIFICATE.replace('us-east-1', 'eu-west-1')!r} is in "
        "eu-west-1; the certificate must be in us-east-1, the only Region whose ACM certificates "
        "CloudFront uses",
    ),
    "malformed routes": (
        {"origins": SEED, "routes": ["ap-south-1=eu-central-1"]},
        'geo-proximity:routes: ["ap-south-1=eu-central-1"] is not a map of edge Region to origin '
        'Region, e.g. {"ap-south-1": "eu-central-1"}',
    ),
    "routes as text": (
        {"origins": SEED, "routes": "ap-south-1"},
        "geo-proximity:routes: 'ap-south-1' is not a map",
    ),
    "malformed tags": (
        {"origins": SEED, "tags": ["team"]},
        'geo-proximity:tags: ["team"] is not a map of tag key to value',
    ),
    "tag value not text": (
        {"origins": SEED, "tags": {"cost-center": 42}},
        "geo-proximity:tags: the value of 'cost-center', 42",
    ),
    "unknown replication mode": (
        {"origins": SEED, "replication": "both-ways"},
        "geo-proximity:replication: 'both-ways' is not one of: mesh, off",
    ),
    "replication mesh with one origin": (
        {"origins": ["eu-west-1"], "replication": "mesh"},
        "geo-proximity:replication: 'mesh' needs at least two origins",
    ),
    "replication time control not a boolean": (
        {"origins": SEED, "replicationTimeControl": "yes"},
        "geo-proximity:replicationTimeControl: 'yes' is not true or false",
    ),
    "replication time control without replication": (
        {"origins": SEED, "replication": "off", "replicationTimeControl": "true"},
        "geo-proximity:replicationTimeControl: is true but replication is 'off'",
    ),
    "misspelt key": (
        {"origins": SEED, "failOver": "off"},
        "geo-proximity:failOver: is not a setting of this project; did you mean "
        "geo-proximity:failover?",
    ),
}


@pytest.mark.parametrize("values, message", list(BAD_INPUT.values()), ids=list(BAD_INPUT))
def test_bad_input_stops_the_program_before_any_resource_with_one_clear_message(values, message):
    with pytest.raises(ProgramError) as failed:
        deploy(project_config(**values))
    # RunError: Pulumi prints the message alone, without a Python traceback.
    assert isinstance(failed.value.error, pulumi.RunError)
    assert message in str(failed.value.error)
    assert failed.value.declared == []


@pytest.mark.parametrize(
    ("config", "message"),
    [
        # Before: ignored, and the program said geo-proximity:origins is required.
        (
            {"aws:region": "us-east-1", "geoproximity:origins": json.dumps(SEED)},
            "geoproximity:origins: 'geoproximity' is not this project's namespace "
            "(geo-proximity); did you mean geo-proximity:origins?",
        ),
        (
            {**project_config(origins=SEED), "geo_proximity:failover": "off"},
            "geo_proximity:failover: 'geo_proximity' is not this project's namespace "
            "(geo-proximity); did you mean geo-proximity:failover?",
        ),
        (
            {**project_config(origins=SEED), "aws:region": "us-east-7"},
            "aws:region: 'us-east-7' is not a known AWS Region code; did you mean us-east-2 or "
            "us-east-1 or us-west-2? known codes: " + ", ".join(sorted(load_catalogue())),
        ),
    ],
)
def test_the_running_stacks_other_namespaces_are_checked_before_any_resource(config, message):
    with pytest.raises(ProgramError) as failed:
        deploy(config)
    assert isinstance(failed.value.error, pulumi.RunError)
    assert str(failed.value.error) == message
    assert failed.value.declared == []


def archive_bytes(config) -> bytes:
    return zip_package(deploy(config).function_package())


def test_an_unchanged_config_gives_a_byte_identical_archive():
    assert archive_bytes(project_config(origins=SEED)) == archive_bytes(
        project_config(origins=SEED)
    )


@pytest.mark.parametrize(
    "change",
    [
        {"routes": {"ap-south-1": "ap-northeast-1"}},
        {"origins": [*SEED, "sa-east-1"]},
        {"origins": list(reversed(SEED))},
        {"failover": "fixed"},
        {"failover": "off"},
    ],
)
def test_a_routing_change_changes_the_function_code(change):
    before = deploy(project_config(origins=SEED)).function_package()
    after = deploy(project_config(**{"origins": SEED, **change})).function_package()
    assert after["routing.json"] != before["routing.json"]
    assert {name: text for name, text in after.items() if name != "routing.json"} == {
        name: text for name, text in before.items() if name != "routing.json"
    }


def test_a_change_outside_routing_leaves_the_function_code_alone():
    before = archive_bytes(project_config(origins=SEED))
    assert (
        archive_bytes(
            project_config(origins=SEED, priceClass="PriceClass_100", tags={"team": "cdn"})
        )
        == before
    )


def test_twenty_origin_stack_builds_with_a_bucket_per_region():
    regions = [code for code, region in load_catalogue().items() if region.supports_oai][:20]
    deployment = deploy(project_config(origins=regions))
    assert sorted(deployment.exports["buckets"]) == sorted(regions)
    artifact = json.loads(deployment.function_package()["routing.json"])
    assert len(artifact["origins"]) == 20 and len(artifact["rankings"]) == len(load_catalogue())
    assert all(sorted(ranking) == sorted(regions) for ranking in artifact["rankings"].values())
    assert deployment.edge_function().region == "us-east-1"


def test_routing_output_tells_where_every_region_goes():
    routing = deploy(project_config(origins=SEED, routes={"ap-south-1": "ap-northeast-1"})).exports[
        "routing"
    ]
    assert routing["failover"] == "ranked"
    assert routing["default"] == {"primary": "us-east-1", "failover": "eu-central-1"}
    assert routing["routes"]["eu-west-1"] == {"primary": "eu-central-1", "failover": "us-east-1"}
    assert routing["routes"]["ap-south-1"] == {
        "primary": "ap-northeast-1",
        "failover": "eu-central-1",
    }
    assert set(routing["routes"]) == set(load_catalogue())


def test_edge_function_lands_in_us_east_1_whatever_aws_region_says():
    config = {**project_config(origins=SEED), "aws:region": "eu-west-1"}
    deployment = deploy(config)
    assert deployment.edge_function().region == "us-east-1"
    assert (
        deployment.one("aws:cloudfront/distribution:Distribution").region == "eu-west-1"
    )  # global: any provider


def test_a_stack_with_assume_roles_and_default_tags_builds_on_the_stack_provider():
    config = {
        **project_config(origins=SEED),
        "aws:assumeRoles": json.dumps([{"roleArn": "arn:aws:iam::123456789012:role/deployer"}]),
        "aws:defaultTags": json.dumps({"tags": {"cost-center": "cdn"}}),
    }
    deployment = deploy(config)
    # No explicit provider: the stack's own provider, with these settings, serves every Region.
    assert not [r for r in deployment.resources if r.type.startswith("pulumi:providers:")]
    # The origin buckets, and a batch bucket beside each for ./dev backfill's reports.
    buckets = deployment.all("aws:s3/bucket:Bucket")
    assert sorted(b.inputs["region"] for b in buckets) == sorted(SEED * 2)


def test_security_headers_can_be_turned_off_and_retention_and_lifecycle_follow_settings():
    deployment = deploy(
        project_config(
            origins=SEED, securityHeaders="false", logRetentionDays="90", noncurrentVersionDays="7"
        )
    )
    behavior = deployment.one("aws:cloudfront/distribution:Distribution").inputs[
        "defaultCacheBehavior"
    ]
    assert "responseHeadersPolicyId" not in behavior
    groups = deployment.all("aws:cloudwatch/logGroup:LogGroup")
    assert groups and {g.inputs["retentionInDays"] for g in groups} == {90}
    origins = set(deployment.exports["buckets"].values())
    lifecycles = [
        lifecycle
        for lifecycle in deployment.all(
            "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration"
        )
        if lifecycle.inputs["bucket"] in origins
    ]
    assert len(lifecycles) == len(SEED)
    for lifecycle in lifecycles:
        (expire,) = [r for r in lifecycle.inputs["rules"] if "noncurrentVersionExpiration" in r]
        assert expire["noncurrentVersionExpiration"] == {"noncurrentDays": 7}


def test_names_and_comments_fit_for_the_longest_stack_name_pulumi_allows():
    stack = "s" * 100
    deployment = deploy(project_config(origins=SEED), stack=stack)
    distribution = deployment.one("aws:cloudfront/distribution:Distribution").inputs
    assert len(distribution["comment"]) <= aws_rules.MAX_COMMENT_LENGTH
    assert distribution["comment"].endswith("...: geo-proximity delivery")
    (oai,) = deployment.all("aws:cloudfront/originAccessIdentity:OriginAccessIdentity")
    assert len(oai.inputs["comment"]) <= aws_rules.MAX_COMMENT_LENGTH
    for bucket in deployment.exports["buckets"].values():
        assert aws_rules.is_valid_bucket_name(bucket) and len(bucket) <= 63
    # Pulumi names physical resources <logical name>-<7 hex>: the logical names stay short.
    for resource in deployment.resources:
        if resource.type == FUNCTION:
            assert len(resource.name) + 8 <= aws_rules.MAX_LAMBDA_FUNCTION_NAME
        if resource.type == "aws:iam/role:Role":
            assert len(resource.name) + 8 <= aws_rules.MAX_IAM_ROLE_NAME
        if resource.type == "aws:iam/rolePolicy:RolePolicy":
            assert len(resource.name) + 8 <= aws_rules.MAX_IAM_INLINE_POLICY_NAME
    for tags in (r.inputs["tags"] for r in deployment.resources if "tags" in r.inputs):
        assert aws_rules.tag_problems(tags) == []
    # The names given explicitly: the state table's and the evacuator functions'.
    state = deployment.exports["routingState"]
    assert aws_rules.is_valid_table_name(state["table"])
    for function in deployment.evacuator_functions().values():
        assert aws_rules.is_valid_function_name(function.inputs["name"])
