"""The program under mocks, for every stack file and scenario: AWS's rules, asserted on what it
declares."""

import json

import pytest

from edge_function import origin_request
from routing.table import FailoverMode, choose
from testing.mock_program import (
    ACCOUNT_ID,
    CLOUDFRONT_FUNCTION,
    EVENT_INVOKE_CONFIG,
    FUNCTION,
    INVOCATION,
    KEY_VALUE_STORE,
    REPLICATION_CONFIG,
    ROLE,
    ROLE_POLICY,
    SCHEDULE,
    TABLE,
    TABLE_ITEM,
    WEB_ACL,
    Deployment,
    deploy,
    project_config,
)
from tests import aws_rules
from tests.support import DOCUMENTED_EXECUTION_REGIONS

BUCKET = "aws:s3/bucket:Bucket"
BUCKET_POLICY = "aws:s3/bucketPolicy:BucketPolicy"
BUCKET_LIFECYCLE = "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration"
VERSIONING = "aws:s3/bucketVersioning:BucketVersioning"
DISTRIBUTION = "aws:cloudfront/distribution:Distribution"
LOG_GROUP = "aws:cloudwatch/logGroup:LogGroup"
OAI = "aws:cloudfront/originAccessIdentity:OriginAccessIdentity"
COMPONENT_TYPES = {
    "geo-proximity:index:RegionalOrigin",
    "geo-proximity:index:GeoProximityDistribution",
    "geo-proximity:index:ReplicationMesh",
    "geo-proximity:index:LambdaEdgeRouter",
    "geo-proximity:index:CloudFrontFunctionRouter",
    "geo-proximity:index:Monitoring",
    "geo-proximity:index:AccessLogs",
    "geo-proximity:index:RoutingState",
    "geo-proximity:index:Evacuator",
    "geo-proximity:index:WebAcl",
    "geo-proximity:index:BatchReplication",
}


def routing_artifact(deployment: Deployment) -> dict:
    return json.loads(deployment.function_package()["routing.json"])


def bucket_regions(deployment: Deployment) -> dict[str, str]:
    """The routed buckets (not the access log bucket) → their Region."""
    routed = set(deployment.exports["buckets"].values())
    return {
        bucket.outputs["bucket"]: bucket.region
        for bucket in deployment.all(BUCKET)
        if bucket.outputs["bucket"] in routed
    }


def distribution_inputs(deployment: Deployment) -> dict:
    return deployment.one(DISTRIBUTION).inputs


def test_edge_function_obeys_lambda_edge_restrictions(lambda_edge_deployment):
    function = lambda_edge_deployment.edge_function()
    inputs = function.inputs
    assert function.region == aws_rules.LAMBDA_EDGE_HOME_REGION
    assert inputs["publish"] is True
    assert inputs["runtime"] in aws_rules.LAMBDA_EDGE_RUNTIMES
    assert inputs["architectures"] == aws_rules.LAMBDA_EDGE_ARCHITECTURES
    assert "environment" not in inputs
    assert "layers" not in inputs and "vpcConfig" not in inputs
    assert 1 <= inputs["timeout"] <= aws_rules.ORIGIN_REQUEST_MAX_TIMEOUT_SECONDS
    assert 128 <= inputs["memorySize"] <= aws_rules.ORIGIN_REQUEST_MAX_MEMORY_MB
    assert inputs["skipDestroy"] is True
    module, _, function_name = inputs["handler"].partition(".")
    source = lambda_edge_deployment.function_package()[f"{module}.py"]
    assert f"\n{function_name} = " in source or f"\ndef {function_name}(" in source


def test_origin_request_association_uses_the_published_version(lambda_edge_deployment):
    behavior = distribution_inputs(lambda_edge_deployment)["defaultCacheBehavior"]
    (association,) = behavior["lambdaFunctionAssociations"]
    assert association["eventType"] == "origin-request"
    assert (
        association["lambdaArn"] == lambda_edge_deployment.edge_function().outputs["qualifiedArn"]
    )
    assert aws_rules.QUALIFIED_FUNCTION_ARN.match(association["lambdaArn"])
    assert lambda_edge_deployment.exports["edgeFunctionVersionArn"] == association["lambdaArn"]


def test_edge_role_is_trusted_by_lambda_and_edgelambda_and_may_only_log(lambda_edge_deployment):
    role = lambda_edge_deployment.one(ROLE, "router-role")
    (statement,) = json.loads(role.inputs["assumeRolePolicy"])["Statement"]
    assert statement["Action"] == "sts:AssumeRole"
    assert set(statement["Principal"]["Service"]) == aws_rules.LAMBDA_EDGE_TRUSTED_SERVICES
    assert role.inputs.get("managedPolicyArns") is None
    policy = json.loads(lambda_edge_deployment.one(ROLE_POLICY, "router-logs").inputs["policy"])
    function_name = lambda_edge_deployment.edge_function().outputs["name"]
    for statement in policy["Statement"]:
        actions = (
            statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
        )
        assert all(action.startswith("logs:") and "*" not in action for action in actions)
        assert all(function_name in resource for resource in statement["Resource"])
        # Replicas log in every Region, under the us-east-1.<name> log group.
        assert any(
            ":logs:*:" in resource and f"/aws/lambda/us-east-1.{function_name}" in resource
            for resource in statement["Resource"]
        )
    # With a routing state: one Query of this stack's table, in any Region's replica; no more.
    policies = {
        p.name: p for p in lambda_edge_deployment.all(ROLE_POLICY) if p.inputs["role"] == role.id
    }
    table = lambda_edge_deployment.exports["routingState"]["table"]
    assert set(policies) == {"router-logs"} | ({"router-state"} if table else set())
    if table:
        (read,) = json.loads(policies["router-state"].inputs["policy"])["Statement"]
        assert (read["Effect"], read["Action"]) == ("Allow", "dynamodb:Query")
        assert read["Resource"] == f"arn:aws:dynamodb:*:{ACCOUNT_ID}:table/{table}"
        # The rotation partition only, the one the edge's handler queries, and a query that names
        # no partition is not allowed either.
        assert read["Condition"] == {
            "ForAllValues:StringEquals": {"dynamodb:LeadingKeys": [origin_request.STATE_PARTITION]},
            "Null": {"dynamodb:LeadingKeys": "false"},
        }


def test_origin_group_has_two_distinct_members_and_allowed_status_codes(lambda_edge_deployment):
    inputs = distribution_inputs(lambda_edge_deployment)
    routing = lambda_edge_deployment.exports["routing"]
    origins = {origin["originId"]: origin for origin in inputs["origins"]}
    behavior = inputs["defaultCacheBehavior"]
    assert set(behavior["allowedMethods"]) <= aws_rules.ORIGIN_GROUP_METHODS
    if routing["failover"] == "off":
        assert "originGroups" not in inputs
        assert behavior["targetOriginId"] in origins
        return
    (group,) = inputs["originGroups"]
    members = [member["originId"] for member in group["members"]]
    assert len(members) == aws_rules.ORIGIN_GROUP_MEMBERS
    assert len(set(members)) == 2 and set(members) <= set(origins)
    assert behavior["targetOriginId"] == group["originId"]
    assert (
        aws_rules.failover_problems(
            group["failoverCriteria"]["statusCodes"],
            behavior["allowedMethods"],
            behavior["cachedMethods"],
        )
        == []
    )
    primary, secondary = (origins[member] for member in members)
    assert primary["domainName"] != secondary["domainName"]
    assert routing["default"]["primary"] in primary["domainName"]


def test_failover_member_carries_a_legal_marker_header_the_function_knows(lambda_edge_deployment):
    inputs = distribution_inputs(lambda_edge_deployment)
    artifact = routing_artifact(lambda_edge_deployment)
    if "originGroups" not in inputs:
        assert all(not origin.get("customHeaders") for origin in inputs["origins"])
        return
    secondary_id = inputs["originGroups"][0]["members"][1]["originId"]
    secondary = next(origin for origin in inputs["origins"] if origin["originId"] == secondary_id)
    headers = secondary["customHeaders"]
    assert 1 <= len(headers) <= aws_rules.MAX_ORIGIN_CUSTOM_HEADERS
    (marker,) = [
        header for header in headers if header["name"].lower() == artifact["markerHeader"].lower()
    ]
    assert not aws_rules.is_reserved_origin_header(marker["name"])
    primary = next(origin for origin in inputs["origins"] if origin["originId"] != secondary_id)
    assert not primary.get("customHeaders")


def signing_identities(deployment: Deployment) -> set:
    oais = {
        oai.outputs["cloudfrontAccessIdentityPath"]: oai.outputs["iamArn"]
        for oai in deployment.all(OAI)
    }
    return aws_rules.signing_identities(
        distribution_inputs(deployment), deployment.exports["distributionArn"], oais
    )


def test_every_bucket_grants_the_identity_the_distribution_signs_with_and_nothing_public(
    deployment,
):
    inputs = distribution_inputs(deployment)
    if "lambdaFunctionAssociations" in inputs["defaultCacheBehavior"]:
        # OAC doesn't support origin redirect by Lambda@Edge (aws_rules): one OAI for every bucket.
        assert aws_rules.origin_access_behind_a_rewrite(inputs) == "oai"
    (signing,) = signing_identities(deployment)
    switching = deployment.stack.startswith("switch-")

    policies = [
        p
        for p in deployment.all(BUCKET_POLICY)
        if p.inputs["bucket"] in deployment.exports["buckets"].values()
    ]
    buckets = bucket_regions(deployment)
    assert len(policies) == len(buckets) == len(deployment.exports["buckets"])
    distribution = deployment.one(DISTRIBUTION)
    for policy in policies:
        document = json.loads(policy.inputs["policy"])
        allows = [s for s in document["Statement"] if s["Effect"] == "Allow"]
        granted = {aws_rules.granted_identity(s) for s in allows if s["Sid"].startswith("Cloud")}
        assert granted == {signing}
        # Another identity only while a switch is under way, under statements of its own.
        others = {aws_rules.granted_identity(s) for s in allows if s["Sid"].startswith("Next")}
        assert len(others) == (1 if switching else 0) and signing not in others
        assert len(allows) == 2 * (1 + len(others))
        assert {s["Action"] for s in allows} == {"s3:GetObject", "s3:ListBucket"}
        assert policy.inputs["bucket"] in buckets
        assert all(policy.inputs["bucket"] in str(s["Resource"]) for s in document["Statement"])
        (deny,) = [s for s in document["Statement"] if s["Effect"] == "Deny"]
        assert deny["Principal"] == "*" and deny["Action"] == "s3:*"
        assert deny["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
        assert policy.region == buckets[policy.inputs["bucket"]]
        # The public access block is in place before any policy exists.
        assert any(
            deployment.by_urn(urn).type == "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock"
            and deployment.by_urn(urn).parent == policy.parent
            for urn in policy.dependencies
        )
        # A grant is withdrawn only after the distribution has stopped signing with it.
        assert distribution.urn in policy.dependencies


def test_buckets_are_private_versioned_encrypted_and_owner_enforced(deployment):
    buckets = bucket_regions(deployment)
    blocks = {
        b.inputs["bucket"]: b.inputs
        for b in deployment.all("aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock")
    }
    versioning = {
        v.inputs["bucket"]: v.inputs
        for v in deployment.all("aws:s3/bucketVersioning:BucketVersioning")
    }
    encryption = {
        e.inputs["bucket"]: e.inputs
        for e in deployment.all(
            "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration"
        )
    }
    ownership = {
        o.inputs["bucket"]: o.inputs
        for o in deployment.all("aws:s3/bucketOwnershipControls:BucketOwnershipControls")
    }
    for bucket in buckets:
        assert all(
            blocks[bucket][flag] is True
            for flag in (
                "blockPublicAcls",
                "blockPublicPolicy",
                "ignorePublicAcls",
                "restrictPublicBuckets",
            )
        )
        assert versioning[bucket]["versioningConfiguration"]["status"] == "Enabled"
        (rule,) = encryption[bucket]["rules"]
        assert rule["applyServerSideEncryptionByDefault"]["sseAlgorithm"] == "AES256"
        assert ownership[bucket]["rule"]["objectOwnership"] == "BucketOwnerEnforced"
    for resource in deployment.all(BUCKET):
        assert "acl" not in resource.inputs and "policy" not in resource.inputs


def test_bucket_names_are_valid_and_each_bucket_is_in_its_region(deployment):
    exported = deployment.exports["buckets"]
    regions = bucket_regions(deployment)
    assert set(exported.values()) == set(regions)
    for region, name in exported.items():
        assert aws_rules.is_valid_bucket_name(name), name
        assert regions[name] == region


def test_the_function_ranks_exactly_the_stacks_buckets_and_reads_the_stacks_state(
    lambda_edge_deployment,
):
    artifact = routing_artifact(lambda_edge_deployment)
    routing = lambda_edge_deployment.exports["routing"]
    state = lambda_edge_deployment.exports["routingState"]
    # Every bucket, drained ones too: which are out of rotation is state, read at run time.
    expected = {
        region: {"domainName": f"{name}.s3.{region}.amazonaws.com"}
        for region, name in lambda_edge_deployment.exports["buckets"].items()
    }
    assert artifact["origins"] == expected
    assert artifact["failover"] == routing["failover"]
    # With the drained origins out of rotation, the rankings send every edge where the stack's
    # routing output says.
    mode, fixed = FailoverMode(artifact["failover"]), artifact["fixedFailover"]
    for edge, route in routing["routes"].items():
        chosen = choose(artifact["rankings"][edge], routing["drained"], mode, fixed)
        assert {"primary": chosen.primary, "failover": chosen.failover} == route, edge
    chosen = choose(artifact["defaultRanking"], routing["drained"], mode, fixed)
    assert {"primary": chosen.primary, "failover": chosen.failover} == routing["default"]
    if len(expected) == 1:
        # One origin is never out: no state to read.
        assert artifact["state"] is None and state["table"] is None
    else:
        assert (
            artifact["state"]["table"]
            == state["table"]
            == lambda_edge_deployment.one(TABLE).inputs["name"]
        )
        # A replica in every Region where Lambda@Edge runs: every read is local.
        assert artifact["state"]["regions"] == state["tableRegions"]
        assert set(DOCUMENTED_EXECUTION_REGIONS) <= set(state["tableRegions"])
    origins_by_domain = {
        origin["domainName"] for origin in distribution_inputs(lambda_edge_deployment)["origins"]
    }
    assert origins_by_domain <= {origin["domainName"] for origin in expected.values()}


def test_distribution_serves_https_http3_ipv6_with_the_managed_cache_policy(deployment):
    inputs = distribution_inputs(deployment)
    behavior = inputs["defaultCacheBehavior"]
    assert behavior["viewerProtocolPolicy"] == "redirect-to-https"
    assert behavior["compress"] is True
    assert behavior["cachePolicyId"] == "658327ea-f89d-4fab-a63d-7e88639e58f6"
    assert inputs["httpVersion"] == "http2and3"
    assert inputs["isIpv6Enabled"] is True
    assert inputs["defaultRootObject"] == "index.html"
    assert inputs["priceClass"] in aws_rules.CLOUDFRONT_PRICE_CLASSES
    certificate = inputs["viewerCertificate"]
    if inputs.get("aliases"):
        assert certificate["acmCertificateArn"].startswith("arn:aws:acm:us-east-1:")
        assert certificate["sslSupportMethod"] == "sni-only"
        assert certificate["minimumProtocolVersion"].startswith("TLSv1.2")
    else:
        assert certificate["cloudfrontDefaultCertificate"] is True


def test_every_resource_is_a_child_of_a_component_and_tagged(deployment):
    components = {r.urn for r in deployment.resources if r.type in COMPONENT_TYPES}
    optional = sum(
        1
        for present in (
            deployment.exports["replication"],
            "dashboardName" in deployment.exports,
            "accessLogBucket" in deployment.exports,
            deployment.exports["routingState"]["table"]
            or deployment.exports["routingState"]["kvsArn"],
            deployment.exports["routingState"]["evacuation"],
            deployment.all(WEB_ACL),
            "batchReplication" in deployment.exports,
        )
        if present
    )
    # A RegionalOrigin per bucket, the routing function, the distribution and, where configured,
    # the replication mesh and what Batch Replication needs, monitoring, access logs, the web ACL,
    # the routing state and the evacuator.
    assert len(components) == len(deployment.exports["buckets"]) + 2 + optional
    for resource in deployment.resources:
        if resource.type in COMPONENT_TYPES:
            continue
        assert resource.parent in components, f"{resource.name} has no component parent"
        assert resource.name.startswith(deployment.by_urn(resource.parent).name), resource.name
    for type_ in (
        BUCKET,
        FUNCTION,
        CLOUDFRONT_FUNCTION,
        DISTRIBUTION,
        ROLE,
        LOG_GROUP,
        TABLE,
        KEY_VALUE_STORE,
        WEB_ACL,
    ):
        for resource in deployment.all(type_):
            tags = resource.inputs["tags"]
            assert tags["project"] == "geo-proximity"
            assert tags["stack"] == deployment.stack


def test_no_explicit_provider_so_every_stack_setting_applies_everywhere(deployment):
    # Explicit providers do not inherit the stack's aws:* config (pulumi/pulumi-aws#1307).
    assert [r.name for r in deployment.resources if r.type.startswith("pulumi:providers:")] == []
    assert all("provider" not in r.inputs for r in deployment.resources)


def test_every_regional_resource_names_its_region(deployment):
    regional = [
        r
        for r in deployment.resources
        if r.type.startswith(
            (
                "aws:s3/",
                "aws:lambda/",
                "aws:cloudwatch/",
                "aws:sns/",
                "aws:dynamodb/",
                "aws:scheduler/",
            )
        )
    ]
    assert regional
    log_bucket = deployment.exports.get("accessLogBucket")
    home = next(
        (b.region for b in deployment.all(BUCKET) if b.outputs["bucket"] == log_bucket), None
    )
    for resource in regional:
        parent = deployment.by_urn(resource.parent)
        if resource.type.startswith(("aws:cloudwatch/", "aws:sns/")):
            # Log groups, alarms, topics and log delivery name their Region themselves; that it is
            # the right one is asserted where each is tested.
            assert resource.inputs.get("region"), f"{resource.type} {resource.name}"
            continue
        if parent.type == "geo-proximity:index:AccessLogs":
            assert resource.inputs.get("region") == home, resource.name
            continue
        if parent.type in ("geo-proximity:index:Evacuator", "geo-proximity:index:RoutingState"):
            assert resource.inputs.get("region") == state_resource_region(deployment, resource)
            continue
        if parent.type == "geo-proximity:index:BatchReplication":
            # A batch bucket, and what configures it, in the Region it is named after.
            (expected,) = [
                region
                for region in deployment.exports["buckets"]
                if resource.name.startswith(f"{parent.name}-{region}-")
            ]
        elif resource.type == REPLICATION_CONFIG:
            # A replication configuration lives with its source bucket.
            source = next(
                b
                for b in deployment.all(BUCKET)
                if b.outputs["bucket"] == resource.inputs["bucket"]
            )
            expected = source.inputs["region"]
        elif resource.type == FUNCTION:
            assert parent.type == "geo-proximity:index:LambdaEdgeRouter"
            expected = aws_rules.LAMBDA_EDGE_HOME_REGION
        else:
            expected = parent.name.removeprefix("origin-")
        assert resource.inputs.get("region") == expected, f"{resource.type} {resource.name}"
    batch_buckets = deployment.exports.get("batchReplication", {}).get("reportBuckets", {})
    for bucket in deployment.all(BUCKET):
        if bucket.outputs["bucket"] == batch_buckets.get(bucket.inputs["region"]):
            continue
        if bucket.outputs["bucket"] != log_bucket:
            assert (
                bucket.outputs["bucket"] == deployment.exports["buckets"][bucket.inputs["region"]]
            )


def state_resource_region(deployment: Deployment, resource) -> str:
    """Where a resource of the routing state or the evacuator belongs: the table and Pulumi's item
    in the table's home Region, the sync invocation in the home or first vantage Region, the rest in
    the vantage Region its name ends with."""
    state = deployment.exports["routingState"]
    if resource.type in (TABLE, TABLE_ITEM):
        return state["tableRegion"]
    if resource.type == INVOCATION:
        # Where Pulumi writes its item when that is a vantage Region: the sync reads it there.
        home = state["tableRegion"]
        return home if home in state["vantages"] else state["vantages"][0]
    (vantage,) = [v for v in state["vantages"] if resource.name.endswith(f"-{v}")]
    assert resource.type in (FUNCTION, EVENT_INVOKE_CONFIG, LOG_GROUP, SCHEDULE), resource.name
    return vantage


def test_failover_waits_seconds_not_thirty(deployment):
    for origin in distribution_inputs(deployment)["origins"]:
        attempts, timeout = origin["connectionAttempts"], origin["connectionTimeout"]
        assert attempts in aws_rules.CONNECTION_ATTEMPTS
        assert timeout in aws_rules.CONNECTION_TIMEOUT_SECONDS
        assert attempts * timeout <= 4, origin["originId"]


def test_no_completion_timeout_by_default_so_a_stall_costs_every_attempt(deployment):
    for origin in distribution_inputs(deployment)["origins"]:
        assert aws_rules.response_completion_problems(origin) == [], origin["originId"]
        # None by default (CloudFront's own): AWS documents no failover after it ends a
        # connection, and it would cut off any download slower than it. A stalled Region then
        # holds a miss every connection attempt's 30 s before failover. 0 is sent, not left out,
        # so that a value set before is cleared.
        assert origin["responseCompletionTimeout"] == 0, origin["originId"]
        every_attempt = origin["connectionAttempts"] * aws_rules.S3_ORIGIN_READ_TIMEOUT_DEFAULT
        assert aws_rules.stalled_origin_wait_seconds(origin) == every_attempt, origin["originId"]


@pytest.mark.parametrize(("value", "expected"), [("0", 0), ("30", 30), ("600", 600)])
def test_the_completion_timeout_follows_the_setting(value, expected):
    config = project_config(
        origins=["us-east-1", "eu-central-1"], originResponseCompletionTimeout=value
    )
    for origin in distribution_inputs(deploy(config, stack="completion"))["origins"]:
        # 0 is sent as 0, not left out: a value once set is then cleared.
        assert origin["responseCompletionTimeout"] == expected
        assert aws_rules.response_completion_problems(origin) == []


def test_edge_function_logs_expire_in_every_region_where_it_runs(lambda_edge_deployment):
    function_name = lambda_edge_deployment.edge_function().outputs["name"]
    router = lambda_edge_deployment.edge_function().parent
    groups = {
        (g.inputs["region"], g.inputs["name"]): g
        for g in lambda_edge_deployment.all(LOG_GROUP)
        if g.parent == router
    }
    expected = {(r, f"/aws/lambda/us-east-1.{function_name}") for r in DOCUMENTED_EXECUTION_REGIONS}
    expected.add(("us-east-1", f"/aws/lambda/{function_name}"))
    assert set(groups) == expected
    for group in groups.values():
        assert group.inputs["retentionInDays"] == 30
        assert group.inputs["retentionInDays"] in aws_rules.LOG_RETENTION_DAYS
    # CloudFront gets the version only once every group exists: no replica logs before.
    distribution = lambda_edge_deployment.one(DISTRIBUTION)
    assert {g.urn for g in groups.values()} <= set(distribution.dependencies)


def test_versions_expire_and_incomplete_uploads_are_aborted_in_every_bucket(deployment):
    routed = set(deployment.exports["buckets"].values())
    lifecycles = {
        c.inputs["bucket"]: c
        for c in deployment.all(BUCKET_LIFECYCLE)
        if c.inputs["bucket"] in routed
    }
    assert set(lifecycles) == set(deployment.exports["buckets"].values())
    for bucket, lifecycle in lifecycles.items():
        rules = {rule["id"]: rule for rule in lifecycle.inputs["rules"]}
        expire = rules["expire-noncurrent-versions"]
        assert expire["status"] == "Enabled" and expire["filter"] == {"prefix": ""}
        assert expire["noncurrentVersionExpiration"] == {"noncurrentDays": 30}
        abort = rules["abort-incomplete-uploads"]
        assert abort["abortIncompleteMultipartUpload"] == {"daysAfterInitiation": 7}
        versioning = next(v for v in deployment.all(VERSIONING) if v.inputs["bucket"] == bucket)
        assert versioning.urn in lifecycle.dependencies, bucket


def test_security_headers_on_every_response(deployment):
    behavior = distribution_inputs(deployment)["defaultCacheBehavior"]
    assert behavior["responseHeadersPolicyId"] == aws_rules.MANAGED_SECURITY_HEADERS_POLICY_ID


def test_pulumi_up_waits_until_the_distribution_is_deployed(deployment):
    # An engine switch changes the bucket policies only once every edge signs the new way.
    assert distribution_inputs(deployment)["waitForDeployment"] is True


def test_cache_behaviour_methods_are_one_of_cloudfronts_sets(deployment):
    behavior = distribution_inputs(deployment)["defaultCacheBehavior"]
    assert set(behavior["allowedMethods"]) in aws_rules.ALLOWED_METHOD_SETS
    assert set(behavior["cachedMethods"]) in aws_rules.CACHED_METHOD_SETS
    assert len(behavior["allowedMethods"]) == len(set(behavior["allowedMethods"]))


def test_no_setting_lambda_edge_refuses(lambda_edge_deployment):
    inputs = lambda_edge_deployment.edge_function().inputs
    assert [key for key in aws_rules.LAMBDA_EDGE_UNSUPPORTED_INPUTS if key in inputs] == []
    assert inputs.get("packageType", "Zip") == "Zip"
    assert inputs.get("ephemeralStorage", {"size": 512})["size"] <= 512
    assert lambda_edge_deployment.all(aws_rules.PROVISIONED_CONCURRENCY) == []


def test_comments_and_tags_within_aws_limits(deployment):
    assert len(distribution_inputs(deployment)["comment"]) <= aws_rules.MAX_COMMENT_LENGTH
    for oai in deployment.all(OAI):
        assert len(oai.inputs["comment"]) <= aws_rules.MAX_COMMENT_LENGTH
    for resource in deployment.resources:
        if "tags" in resource.inputs:
            assert aws_rules.tag_problems(resource.inputs["tags"]) == [], resource.name


def test_no_role_trusts_a_service_on_a_condition_the_service_is_not_documented_to_send(deployment):
    # A one-origin CloudFront Functions stack has no role at all.
    for role in deployment.all(ROLE):
        document = json.loads(role.inputs["assumeRolePolicy"])
        assert aws_rules.trust_policy_problems(document) == [], role.name
