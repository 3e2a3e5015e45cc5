"""./dev cleanup: what Lambda@Edge leaves behind, found by what AWS requires of a Lambda@Edge
function, the program's tags, the router's description and names, and deleted with --yes; nothing
in use (the evacuators in every vantage Region and their shared role, the router in use, other
stacks' and other projects' functions) is ever planned for deletion. Lambda, CloudWatch Logs, IAM
and EC2's Region list are moto's; CloudFront's distributions, which moto keeps without their Lambda
associations, come from botocore's Stubber, checked against the real CloudFront model, as do
Lambda's refusal of a replicated function, a Region that cannot be listed and the pagination of
every listing."""

import io
import json
import zipfile
from datetime import UTC, datetime, timedelta

import boto3
import pytest
from botocore.stub import Stubber
from moto import mock_aws

from core.cloudfront import EDGE_FUNCTION_DESCRIPTION
from routing.catalogue import lambda_edge_execution_regions
from settings.stack_file import read_stack_config, stack_file_path
from testing.mock_program import FUNCTION, ROLE, deploy
from tools import cleanup
from tools.cli import run_command

ACCOUNT = "123456789012"
EDGE = "us-east-1"
LATER = datetime.now(UTC) + timedelta(hours=2)
REFUSAL = (
    "Lambda was unable to delete arn:aws:lambda:us-east-1:123456789012:function:{name}:1 because "
    "it is a replicated function. Please see our documentation for Deleting Lambda@Edge Functions "
    "and Replicas."
)
EDGE_TRUST = {
    "Version": "2012-10-17",
    "Statement": [
        {
            "Effect": "Allow",
            "Principal": {"Service": ["lambda.amazonaws.com", "edgelambda.amazonaws.com"]},
            "Action": "sts:AssumeRole",
        }
    ],
}
# An evacuator's role, as the program declares it: Lambda alone may assume it.
LAMBDA_TRUST = {
    "Version": "2012-10-17",
    "Statement": [
        {
            "Effect": "Allow",
            "Principal": {"Service": "lambda.amazonaws.com"},
            "Action": "sts:AssumeRole",
        }
    ],
}
# The Regions the tests' account has enabled, unless a test says otherwise.
REGIONS = ("ap-northeast-1", "eu-central-1", "eu-west-1", "us-east-1")


@pytest.fixture
def aws(monkeypatch, tmp_path):
    for name in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_REGION", "AWS_DEFAULT_REGION"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    with mock_aws():
        yield


class Clients:
    """moto's clients, but for the (service[, Region]) given a Stubber'd client of their own; EC2's
    DescribeRegions answers ``regions`` (moto's own list, every Region it knows, with None)."""

    def __init__(self, regions=REGIONS, **stubbed):
        self.stubbed = stubbed
        self.made = {}
        if regions is not None and "ec2" not in stubbed:
            ec2, stubber = stubbed_client("ec2")
            listing = {
                "Regions": [
                    {
                        "RegionName": region,
                        "Endpoint": f"ec2.{region}.amazonaws.com",
                        "OptInStatus": "opt-in-not-required",
                    }
                    for region in regions
                ]
            }
            # Listed once per plan that gets as far as a role.
            for _ in range(4):
                stubber.add_response("describe_regions", listing, {})
            self.stubbed["ec2"] = ec2

    def __call__(self, service, region):
        for key in (f"{service}:{region}", service):
            if key in self.stubbed:
                return self.stubbed[key]
        if (service, region) not in self.made:
            self.made[(service, region)] = boto3.client(service, region_name=region)
        return self.made[(service, region)]


def stubbed_client(service, region=EDGE):
    client = boto3.client(service, region_name=region)
    stubber = Stubber(client)
    stubber.activate()
    return client, stubber


stubbed = stubbed_client


def summary(distribution_id, *function_versions):
    """A DistributionSummary, as ListDistributions gives it, whose default cache behaviour
    associates the given qualified function ARNs at origin-request."""
    associations = [
        {"LambdaFunctionARN": arn, "EventType": "origin-request"} for arn in function_versions
    ]
    return {
        "Id": distribution_id,
        "ARN": f"arn:aws:cloudfront::{ACCOUNT}:distribution/{distribution_id}",
        "Status": "Deployed",
        "LastModifiedTime": datetime(2026, 1, 1, tzinfo=UTC),
        "DomainName": "d111111abcdef8.cloudfront.net",
        "Aliases": {"Quantity": 0},
        "Origins": {"Quantity": 1, "Items": [{"Id": "s3", "DomainName": "b.s3.amazonaws.com"}]},
        "DefaultCacheBehavior": {
            "TargetOriginId": "s3",
            "ViewerProtocolPolicy": "redirect-to-https",
            "LambdaFunctionAssociations": {
                "Quantity": len(associations),
                **({"Items": associations} if associations else {}),
            },
        },
        "CacheBehaviors": {"Quantity": 0},
        "CustomErrorResponses": {"Quantity": 0},
        "Comment": "",
        "PriceClass": "PriceClass_All",
        "Enabled": True,
        "ViewerCertificate": {"CloudFrontDefaultCertificate": True},
        "Restrictions": {"GeoRestriction": {"RestrictionType": "none", "Quantity": 0}},
        "WebACLId": "",
        "HttpVersion": "http2and3",
        "IsIPV6Enabled": True,
        "Staging": False,
    }


def distributions(*pages):
    """A Stubber'd CloudFront client listing ``pages`` of summaries, following NextMarker."""
    client, stubber = stubbed("cloudfront")
    for number, items in enumerate(pages):
        last = number == len(pages) - 1
        listing = {
            "Marker": "" if number == 0 else f"page-{number}",
            "MaxItems": 100,
            "IsTruncated": not last,
            "Quantity": len(items),
            **({"Items": list(items)} if items else {}),
            **({} if last else {"NextMarker": f"page-{number + 1}"}),
        }
        stubber.add_response(
            "list_distributions",
            {"DistributionList": listing},
            {} if number == 0 else {"Marker": f"page-{number}"},
        )
    return client, stubber


def package():
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("lambda_function.py", "def handler(event, context):\n    return event\n")
    return buffer.getvalue()


def tags(stack, project="geo-proximity"):
    return {"project": project, "stack": stack}


def role(name, stack, trust=EDGE_TRUST, project="geo-proximity"):
    """A role tagged for ``stack``, with ``trust``; its ARN (the existing one's, made before)."""
    iam = boto3.client("iam", region_name=EDGE)
    try:
        return iam.create_role(
            RoleName=name,
            AssumeRolePolicyDocument=json.dumps(trust),
            Tags=[{"Key": k, "Value": v} for k, v in tags(stack, project).items()],
        )["Role"]["Arn"]
    except iam.exceptions.EntityAlreadyExistsException:
        return iam.get_role(RoleName=name)["Role"]["Arn"]


def edge_function(
    name,
    stack,
    versions=1,
    role=None,
    description=EDGE_FUNCTION_DESCRIPTION,
    project="geo-proximity",
):
    """A Lambda@Edge function as the program leaves it: its role, published versions, tags and the
    router's description."""
    iam = boto3.client("iam", region_name=EDGE)
    role = role or f"{name}-role"
    try:
        arn = iam.create_role(
            RoleName=role,
            AssumeRolePolicyDocument=json.dumps(EDGE_TRUST),
            Tags=[{"Key": k, "Value": v} for k, v in tags(stack, project).items()],
        )["Role"]["Arn"]
        logs = {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Effect": "Allow",
                    "Action": ["logs:CreateLogStream", "logs:PutLogEvents"],
                    "Resource": f"arn:aws:logs:*:{ACCOUNT}:log-group:/aws/lambda/*",
                }
            ],
        }
        iam.put_role_policy(RoleName=role, PolicyName="logs", PolicyDocument=json.dumps(logs))
    except iam.exceptions.EntityAlreadyExistsException:
        arn = iam.get_role(RoleName=role)["Role"]["Arn"]
    lambda_ = boto3.client("lambda", region_name=EDGE)
    created = lambda_.create_function(
        FunctionName=name,
        Runtime="python3.13",
        Role=arn,
        Handler="lambda_function.handler",
        Code={"ZipFile": package()},
        Description=description,
        Publish=True,
        Tags=tags(stack, project),
    )
    assert created["FunctionName"] == name
    for number in range(2, versions + 1):
        # Lambda publishes a version only of a changed function.
        lambda_.update_function_configuration(FunctionName=name, Timeout=number)
        lambda_.publish_version(FunctionName=name)
    return f"arn:aws:lambda:us-east-1:{ACCOUNT}:function:{name}"


def evacuator(name, stack, region, role_arn):
    """An evacuator as the program declares one in a vantage Region: tagged for the stack, with its
    settings in an environment variable, its role shared by every vantage Region's, its log group
    tagged for the stack."""
    boto3.client("lambda", region_name=region).create_function(
        FunctionName=name,
        Runtime="python3.13",
        Role=role_arn,
        Handler="lambda_function.handler",
        Code={"ZipFile": package()},
        Description="Probes every origin's health object; takes a failing origin out of rotation",
        Environment={"Variables": {"GEO_PROXIMITY_EVACUATOR": "{}"}},
        Publish=True,
        Tags=tags(stack),
    )
    boto3.client("logs", region_name=region).create_log_group(
        logGroupName=f"/aws/lambda/{name}", tags=tags(stack)
    )


def log_groups(name, stack, regions, direct=True, group_tags=True):
    for region in regions:
        boto3.client("logs", region_name=region).create_log_group(
            logGroupName=f"/aws/lambda/us-east-1.{name}",
            **({"tags": tags(stack)} if group_tags else {}),
        )
    if direct:
        boto3.client("logs", region_name=EDGE).create_log_group(
            logGroupName=f"/aws/lambda/{name}", **({"tags": tags(stack)} if group_tags else {})
        )


def group_names(region, prefix="/aws/lambda/"):
    listed = boto3.client("logs", region_name=region).describe_log_groups(logGroupNamePrefix=prefix)
    return sorted(group["logGroupName"] for group in listed["logGroups"])


def function_names(region=EDGE):
    return sorted(
        f["FunctionName"]
        for f in boto3.client("lambda", region_name=region).list_functions()["Functions"]
    )


def versions(name):
    listed = boto3.client("lambda", region_name=EDGE).list_versions_by_function(FunctionName=name)
    return sorted(v["Version"] for v in listed["Versions"] if v["Version"] != "$LATEST")


def role_names():
    return sorted(
        r["RoleName"] for r in boto3.client("iam", region_name=EDGE).list_roles()["Roles"]
    )


def lines(found):
    return [d.describe() for d in found.deletions], found.kept


def test_a_function_no_distribution_uses_goes_with_its_log_groups_and_role(aws):
    edge_function("router-function-old", "prod", versions=2)
    log_groups("router-function-old", "prod", ["us-east-1", "eu-west-1", "ap-south-1"])
    # Another stack's, and one no stack tag names: never touched.
    edge_function("router-function-dev", "dev")
    log_groups("router-function-dev", "dev", ["eu-west-1"])
    cloudfront, stubber = distributions([summary("E1OTHER")])
    clients = Clients(cloudfront=cloudfront)

    found = cleanup.find_leftovers(clients, "prod", LATER)
    stubber.assert_no_pending_responses()
    deleted, kept = lines(found)
    logs = "the logs of router-function-old, deleted once it is"
    assert deleted[0] == (
        "function router-function-old (us-east-1): no distribution uses any of its 2 version(s)"
    )
    # In every Region where replicas ran, in the catalogue's order, then the direct one.
    assert sorted(deleted[1:4]) == sorted(
        f"log group /aws/lambda/us-east-1.router-function-old ({region}): {logs}"
        for region in ("us-east-1", "eu-west-1", "ap-south-1")
    )
    assert deleted[4:] == [
        f"log group /aws/lambda/router-function-old (us-east-1): {logs}",
        "role router-function-old-role: used only by router-function-old",
    ]
    assert kept == []

    outcome = cleanup.delete_with_retries(clients, found.deletions, None)
    assert len(outcome.deleted) == 6 and outcome.pending == []
    assert function_names() == ["router-function-dev"]
    assert group_names("eu-west-1") == ["/aws/lambda/us-east-1.router-function-dev"]
    assert group_names("us-east-1") == ["/aws/lambda/router-function-dev"]
    assert group_names("ap-south-1") == []
    assert role_names() == ["router-function-dev-role"]


def test_a_function_in_use_keeps_what_distributions_use_and_sheds_older_versions(aws):
    arn = edge_function("router-function-live", "prod", versions=4)
    log_groups("router-function-live", "prod", ["us-east-1"])
    # Version 3 in use; 4 is newer (a deployment may be about to associate it): only 1 and 2 go.
    cloudfront, _ = distributions([summary("E1LIVE", f"{arn}:3")])
    clients = Clients(cloudfront=cloudfront)
    found = cleanup.find_leftovers(clients, "prod", LATER)
    deleted, kept = lines(found)
    assert deleted == [
        f"version router-function-live:{n}: older than version 3, the oldest a distribution uses"
        for n in (1, 2)
    ]
    assert kept[0] == "version router-function-live:3: distribution E1LIVE uses it"
    assert kept[1].startswith("version router-function-live:4: newer than the version in use")
    cleanup.delete_with_retries(clients, found.deletions, None)
    assert versions("router-function-live") == ["3", "4"]
    assert group_names("us-east-1") == [
        "/aws/lambda/router-function-live",
        "/aws/lambda/us-east-1.router-function-live",
    ]


def test_nothing_changed_within_the_hour_is_touched(aws):
    edge_function("router-function-new", "prod")
    cloudfront, _ = distributions([])
    found = cleanup.find_leftovers(Clients(cloudfront=cloudfront), "prod", datetime.now(UTC))
    assert found.deletions == []
    assert found.kept[0].startswith("function router-function-new: changed 0 minutes ago")


def test_log_groups_of_a_function_already_gone_go_by_their_tags(aws):
    log_groups("router-function-gone", "prod", ["eu-central-1", "us-east-1"])
    log_groups("router-function-untagged", "prod", ["eu-central-1"], group_tags=False)
    log_groups("router-function-elsewhere", "dev", ["eu-central-1"])
    cloudfront, _ = distributions([])
    found = cleanup.find_leftovers(Clients(cloudfront=cloudfront), "prod", LATER)
    assert lines(found)[0] == [
        "log group /aws/lambda/us-east-1.router-function-gone (us-east-1): its function is gone",
        "log group /aws/lambda/us-east-1.router-function-gone (eu-central-1): its function is gone",
        "log group /aws/lambda/router-function-gone (us-east-1): its function is gone",
    ]


def test_a_role_another_function_uses_or_another_stack_owns_stays(aws):
    edge_function("router-function-a", "prod", role="shared-role")
    used = edge_function("router-function-b", "prod", role="shared-role")
    edge_function("router-function-c", "prod", role="dev-role")
    iam = boto3.client("iam", region_name=EDGE)
    iam.tag_role(RoleName="dev-role", Tags=[{"Key": "stack", "Value": "dev"}])
    cloudfront, _ = distributions([summary("E1B", f"{used}:1")])
    found = cleanup.find_leftovers(Clients(cloudfront=cloudfront), "prod", LATER)
    assert [d.name for d in found.deletions] == ["router-function-a", "router-function-c"]
    assert "role dev-role: not tagged for stack prod" in found.kept


def test_a_role_two_deleted_functions_share_goes_once_after_both(aws):
    edge_function("router-function-a", "prod", role="shared-role")
    edge_function("router-function-b", "prod", role="shared-role")
    cloudfront, _ = distributions([])
    found = cleanup.find_leftovers(Clients(cloudfront=cloudfront), "prod", LATER)
    roles = [d for d in found.deletions if d.kind == "role"]
    assert [(d.name, d.reason, d.after) for d in roles] == [
        (
            "shared-role",
            "used only by router-function-a, router-function-b",
            ("router-function-a", "router-function-b"),
        )
    ]


def test_a_role_waits_while_any_function_that_uses_it_is_held(monkeypatch):
    functions = [
        cleanup.Deletion("function", name, EDGE, "unused") for name in ("router-a", "router-b")
    ]
    # A role named like a function waits for that function, not for itself.
    role = cleanup.Deletion(
        "role", "router-b", "global", "used only by both", ("router-a", "router-b")
    )
    held = {"router-b"}
    monkeypatch.setattr(
        cleanup, "delete", lambda clients, deletion: deletion.name not in held or deletion is role
    )
    outcome = cleanup.Outcome()
    cleanup.delete_all(None, [role, *functions], outcome)
    assert [d.name for d in outcome.deleted] == ["router-a"]
    assert [d.name for d in outcome.pending] == ["router-b"]
    held.clear()
    outcome = cleanup.Outcome()
    cleanup.delete_all(None, [role, *functions], outcome)
    assert [(d.kind, d.name) for d in outcome.deleted] == [
        ("function", "router-a"),
        ("function", "router-b"),
        ("role", "router-b"),
    ]


def test_a_role_another_principal_may_assume_stays(aws):
    edge_function("router-function-a", "prod")
    trust = {
        **EDGE_TRUST,
        "Statement": [
            {
                **EDGE_TRUST["Statement"][0],
                "Principal": {
                    "Service": ["lambda.amazonaws.com", "edgelambda.amazonaws.com"],
                    "AWS": f"arn:aws:iam::{ACCOUNT}:root",
                },
            }
        ],
    }
    boto3.client("iam", region_name=EDGE).update_assume_role_policy(
        RoleName="router-function-a-role", PolicyDocument=json.dumps(trust)
    )
    cloudfront, _ = distributions([])
    found = cleanup.find_leftovers(Clients(cloudfront=cloudfront), "prod", LATER)
    assert [d.kind for d in found.deletions if d.kind == "role"] == []
    assert "role router-function-a-role: trusted by more than Lambda and Lambda@Edge" in found.kept


def refusing_lambda(name, times):
    """A Stubber'd us-east-1 Lambda client listing one router of stack prod (its role in moto's
    IAM), then refusing to delete it ``times`` times as CloudFront's replicas make Lambda refuse,
    then deleting it."""
    client, stubber = stubbed("lambda")
    arn = f"arn:aws:lambda:us-east-1:{ACCOUNT}:function:{name}"
    config = {
        "FunctionName": name,
        "FunctionArn": arn,
        "Role": role(f"{name}-role", "prod"),
        "LastModified": "2026-01-01T00:00:00.000+0000",
        "Description": EDGE_FUNCTION_DESCRIPTION,
    }
    stubber.add_response("list_functions", {"Functions": [config]}, {})
    stubber.add_response("list_tags", {"Tags": tags("prod")}, {"Resource": arn})
    stubber.add_response(
        "list_versions_by_function",
        {"Versions": [{**config, "Version": "$LATEST"}, {**config, "Version": "1"}]},
        {"FunctionName": name},
    )
    # Who uses its role, every version, in us-east-1 (moto answers for the other Regions).
    stubber.add_response(
        "list_functions",
        {"Functions": [{**config, "Version": "$LATEST"}, {**config, "Version": "1"}]},
        {"FunctionVersion": "ALL"},
    )
    for _ in range(times):
        stubber.add_client_error(
            "delete_function",
            service_error_code="InvalidParameterValueException",
            service_message=REFUSAL.format(name=name),
            http_status_code=400,
            expected_params={"FunctionName": name},
        )
    return client, stubber


def test_a_replicated_function_is_reported_never_a_crash_and_its_logs_and_role_stay(
    aws, monkeypatch, capsys
):
    log_groups("router-function-held", "prod", ["us-east-1", "eu-west-1"])
    lambda_, stubber = refusing_lambda("router-function-held", times=1)
    cloudfront, _ = distributions([])
    clients = Clients(**{"lambda:us-east-1": lambda_, "cloudfront": cloudfront})
    monkeypatch.setattr(cleanup, "Clients", lambda endpoint: clients)
    monkeypatch.setattr(cleanup, "now", lambda: LATER)

    assert run_command(cleanup.main, ["--stack", "prod", "--yes"]) == 1
    stubber.assert_no_pending_responses()
    out = capsys.readouterr().out
    assert (
        "  not deleted: function router-function-held: replicas not yet removed by CloudFront, "
        "try again later" in out
    )
    assert "  not deleted: role router-function-held-role: waits for router-function-held" in out
    assert "Traceback" not in out
    assert group_names("eu-west-1") == ["/aws/lambda/us-east-1.router-function-held"]
    assert role_names() == ["router-function-held-role"]


def test_wait_retries_with_back_off_then_deletes_what_waited(aws, capsys):
    log_groups("router-function-held", "prod", ["eu-west-1"], direct=False)
    lambda_, stubber = refusing_lambda("router-function-held", times=2)
    stubber.add_response("delete_function", {}, {"FunctionName": "router-function-held"})
    cloudfront, _ = distributions([])
    clients = Clients(**{"lambda:us-east-1": lambda_, "cloudfront": cloudfront})
    found = cleanup.find_leftovers(clients, "prod", LATER)
    pauses = []
    outcome = cleanup.delete_with_retries(clients, found.deletions, 60, sleep=pauses.append)
    stubber.assert_no_pending_responses()
    assert pauses == [60, 120]
    assert [d.name for d in outcome.deleted] == [
        "router-function-held",
        "/aws/lambda/us-east-1.router-function-held",
        "router-function-held-role",
    ]
    assert group_names("eu-west-1") == []
    assert capsys.readouterr().out.count("replicas not yet removed by CloudFront") == 2


def test_wait_gives_up_at_its_limit(aws):
    lambda_, stubber = refusing_lambda("router-function-held", times=4)
    cloudfront, _ = distributions([])
    clients = Clients(**{"lambda:us-east-1": lambda_, "cloudfront": cloudfront})
    found = cleanup.find_leftovers(clients, "prod", LATER)
    pauses = []
    # 60 + 120 + 240 = 420 s fit in 8 minutes; the next pause (480 s) would not.
    outcome = cleanup.delete_with_retries(clients, found.deletions, 8, sleep=pauses.append)
    stubber.assert_no_pending_responses()
    assert pauses == [60, 120, 240]
    assert [d.name for d in outcome.pending] == ["router-function-held"]


def test_every_distribution_page_is_read_before_anything_counts_as_unused(aws):
    arn = edge_function("router-function-live", "prod")
    # The association is on the second page: a tool reading one page would delete a live function.
    cloudfront, stubber = distributions([summary("E1FIRST")], [summary("E2SECOND", f"{arn}:1")])
    found = cleanup.find_leftovers(Clients(cloudfront=cloudfront), "prod", LATER)
    stubber.assert_no_pending_responses()
    assert found.deletions == []
    assert found.kept == ["version router-function-live:1: distribution E2SECOND uses it"]


def test_every_function_and_version_page_is_read(aws):
    client, stubber = stubbed("lambda")
    name = "router-function-paged"
    arn = f"arn:aws:lambda:us-east-1:{ACCOUNT}:function:{name}"
    config = {
        "FunctionName": name,
        "FunctionArn": arn,
        "Role": role("x", "prod"),
        "LastModified": "2026-01-01T00:00:00.000+0000",
        "Description": EDGE_FUNCTION_DESCRIPTION,
    }
    other = {**config, "FunctionName": "someone-else", "FunctionArn": arn + "-else"}
    stubber.add_response("list_functions", {"Functions": [other], "NextMarker": "m1"}, {})
    stubber.add_response("list_tags", {"Tags": {}}, {"Resource": arn + "-else"})
    stubber.add_response("list_functions", {"Functions": [config]}, {"Marker": "m1"})
    stubber.add_response("list_tags", {"Tags": tags("prod")}, {"Resource": arn})
    stubber.add_response(
        "list_versions_by_function",
        {"Versions": [{**config, "Version": "1"}], "NextMarker": "v1"},
        {"FunctionName": name},
    )
    stubber.add_response(
        "list_versions_by_function",
        {"Versions": [{**config, "Version": "2"}, {**config, "Version": "3"}]},
        {"FunctionName": name, "Marker": "v1"},
    )
    cloudfront, _ = distributions([summary("E1", f"{arn}:3")])
    found = cleanup.find_leftovers(
        Clients(**{"lambda": client, "cloudfront": cloudfront}), "prod", LATER
    )
    stubber.assert_no_pending_responses()
    assert [d.name for d in found.deletions] == [f"{name}:1", f"{name}:2"]


def test_every_log_group_page_is_read(aws):
    region = "eu-west-1"
    logs, stubber = stubbed("logs", region)
    prefix = "/aws/lambda/us-east-1."
    name = f"{prefix}router-function-gone"
    group_arn = f"arn:aws:logs:{region}:{ACCOUNT}:log-group:{name}"
    other_arn = f"arn:aws:logs:{region}:{ACCOUNT}:log-group:{prefix}other"
    stubber.add_response(
        "describe_log_groups",
        # An older answer names the group by "arn", ending ":*"; the tags want it without.
        {
            "logGroups": [{"logGroupName": f"{prefix}other", "arn": f"{other_arn}:*"}],
            "nextToken": "t1",
        },
        {"logGroupNamePrefix": prefix},
    )
    stubber.add_response(
        "describe_log_groups",
        {"logGroups": [{"logGroupName": name, "logGroupArn": group_arn}]},
        {"logGroupNamePrefix": prefix, "nextToken": "t1"},
    )
    # Every page is listed first, then the tags of the groups whose function is gone.
    stubber.add_response("list_tags_for_resource", {"tags": {}}, {"resourceArn": other_arn})
    stubber.add_response(
        "list_tags_for_resource", {"tags": tags("prod")}, {"resourceArn": group_arn}
    )
    cloudfront, _ = distributions([])
    clients = Clients(**{"cloudfront": cloudfront, f"logs:{region}": logs})
    found = cleanup.find_leftovers(clients, "prod", LATER)
    stubber.assert_no_pending_responses()
    assert [(d.name, d.region) for d in found.deletions] == [(name, region)]


def test_every_role_listing_page_is_read_before_the_role_goes(aws):
    iam = boto3.client("iam", region_name=EDGE)
    stubber = _role_deletion_stubs(iam, "router-role-paged")
    cleanup.delete_role(iam, "router-role-paged")
    stubber.assert_no_pending_responses()


def _role_deletion_stubs(iam, role):
    stubber = Stubber(iam)
    stubber.add_response(
        "list_role_policies",
        {"PolicyNames": ["logs"], "IsTruncated": True, "Marker": "p2"},
        {"RoleName": role},
    )
    stubber.add_response(
        "list_role_policies",
        {"PolicyNames": ["extra"], "IsTruncated": False},
        {"RoleName": role, "Marker": "p2"},
    )
    for policy in ("logs", "extra"):
        stubber.add_response("delete_role_policy", {}, {"RoleName": role, "PolicyName": policy})
    attached = {
        "PolicyArn": "arn:aws:iam::aws:policy/ReadOnlyAccess",
        "PolicyName": "ReadOnlyAccess",
    }
    stubber.add_response(
        "list_attached_role_policies",
        {"AttachedPolicies": [], "IsTruncated": True, "Marker": "a2"},
        {"RoleName": role},
    )
    stubber.add_response(
        "list_attached_role_policies",
        {"AttachedPolicies": [attached], "IsTruncated": False},
        {"RoleName": role, "Marker": "a2"},
    )
    stubber.add_response(
        "detach_role_policy", {}, {"RoleName": role, "PolicyArn": attached["PolicyArn"]}
    )
    profile = {
        "Path": "/",
        "InstanceProfileName": "edge-profile",
        "InstanceProfileId": "AIPAEXAMPLEEXAMPLE01",
        "Arn": f"arn:aws:iam::{ACCOUNT}:instance-profile/edge-profile",
        "CreateDate": datetime(2026, 1, 1, tzinfo=UTC),
        "Roles": [],
    }
    stubber.add_response(
        "list_instance_profiles_for_role",
        {"InstanceProfiles": [], "IsTruncated": True, "Marker": "i2"},
        {"RoleName": role},
    )
    stubber.add_response(
        "list_instance_profiles_for_role",
        {"InstanceProfiles": [profile], "IsTruncated": False},
        {"RoleName": role, "Marker": "i2"},
    )
    stubber.add_response(
        "remove_role_from_instance_profile",
        {},
        {"InstanceProfileName": "edge-profile", "RoleName": role},
    )
    stubber.add_response("delete_role", {}, {"RoleName": role})
    stubber.activate()
    return stubber


def test_the_command_lists_without_yes_and_deletes_nothing(aws, monkeypatch, capsys):
    edge_function("router-function-old", "prod")
    cloudfront, _ = distributions([])
    monkeypatch.setattr(cleanup, "Clients", lambda endpoint: Clients(cloudfront=cloudfront))
    monkeypatch.setattr(cleanup, "now", lambda: LATER)
    assert run_command(cleanup.main, ["--stack", "prod"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0] == "stack prod: Lambda@Edge leftovers (tags project=geo-proximity, stack=prod)"
    assert out[-1] == "nothing deleted; --yes deletes the 2 above"
    assert function_names() == ["router-function-old"]


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--stack", "no/such"], "'no/such' is not a stack name"),
        (["--stack", "prod", "--wait"], "--wait goes with --yes"),
        (["--stack", "prod", "--endpoint-url", "localhost"], "expected a URL starting http://"),
    ],
)
def test_bad_input_is_one_line(argv, message, capsys):
    assert run_command(cleanup.main, argv) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1


def test_no_credentials_is_one_line(monkeypatch, tmp_path, capsys):
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_PROFILE", "AWS_SESSION_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    assert run_command(cleanup.main, ["--stack", "prod"]) == 2
    assert capsys.readouterr().err == (
        "error: no AWS credentials found: set AWS_PROFILE, or AWS_ACCESS_KEY_ID and "
        "AWS_SECRET_ACCESS_KEY\n"
    )


def test_log_groups_are_looked_for_in_every_execution_region():
    regions = cleanup.log_group_regions()
    assert regions[0] == "us-east-1"
    assert sorted(regions) == sorted(lambda_edge_execution_regions())
    assert len(regions) == 13


VANTAGES = ("us-east-1", "eu-west-1", "ap-northeast-1")


def prod_world():
    """Stack prod as it runs, beside what cleanup must leave alone: the evacuator in every vantage
    Region sharing one role; the router in use (version 3 associated, 1 and 2 older, its logs); an
    old router no distribution uses; stack dev's router; another project's Lambda@Edge function;
    and a Lambda@Edge function of the operator's own that carries stack prod's tags. Returns the
    in-use router's ARN."""
    shared = role("prod-evacuator-role", "prod", trust=LAMBDA_TRUST)
    for region in VANTAGES:
        evacuator(f"prod-evacuator-{region}", "prod", region, shared)
    live = edge_function("router-function-live", "prod", versions=3)
    log_groups("router-function-live", "prod", ["us-east-1", "eu-west-1"])
    edge_function("router-function-old", "prod", versions=2)
    log_groups("router-function-old", "prod", ["us-east-1", "eu-west-1", "ap-northeast-1"])
    edge_function("router-function-dev", "dev")
    log_groups("router-function-dev", "dev", ["eu-west-1"])
    edge_function("their-edge-function", "prod", project="someone-else", description="theirs")
    edge_function("operator-auth", "prod", description="Checks the viewer's token")
    return live


def test_with_the_evacuators_beside_current_and_old_routers_nothing_in_use_is_planned(aws):
    live = prod_world()
    cloudfront, stubber = distributions([summary("E1LIVE", f"{live}:3"), summary("E1OTHER")])
    # Every Region moto knows is listed for who uses a role, opt-in ones included.
    clients = Clients(regions=None, cloudfront=cloudfront)

    found = cleanup.find_leftovers(clients, "prod", LATER)
    stubber.assert_no_pending_responses()
    old = "router-function-old"
    logs = f"the logs of {old}, deleted once it is"
    assert sorted(d.describe() for d in found.deletions) == sorted(
        [
            f"function {old} (us-east-1): no distribution uses any of its 2 version(s)",
            *(
                f"log group /aws/lambda/us-east-1.{old} ({region}): {logs}"
                for region in ("us-east-1", "eu-west-1", "ap-northeast-1")
            ),
            f"log group /aws/lambda/{old} (us-east-1): {logs}",
            f"role {old}-role: used only by {old}",
            *(
                f"version router-function-live:{n}: older than version 3, the oldest a "
                "distribution uses"
                for n in (1, 2)
            ),
        ]
    )
    in_use = {
        *(f"prod-evacuator-{region}" for region in VANTAGES),
        *(f"/aws/lambda/prod-evacuator-{region}" for region in VANTAGES),
        "prod-evacuator-role",
        "router-function-live",
        "router-function-live:3",
        "router-function-live-role",
        "/aws/lambda/us-east-1.router-function-live",
        "/aws/lambda/router-function-live",
        "router-function-dev",
        "router-function-dev-role",
        "their-edge-function",
        "operator-auth",
    }
    assert not in_use & {d.name for d in found.deletions}
    assert (
        "function prod-evacuator-us-east-1: not a Lambda@Edge function: its role "
        "prod-evacuator-role is not one edgelambda.amazonaws.com may assume"
    ) in found.kept
    assert (
        "function operator-auth: not this project's router: its description is not the router's"
        in found.kept
    )

    outcome = cleanup.delete_with_retries(clients, found.deletions, None)
    assert outcome.pending == []
    for region in VANTAGES:
        assert f"prod-evacuator-{region}" in function_names(region)
        assert f"/aws/lambda/prod-evacuator-{region}" in group_names(region)
    assert function_names() == sorted(
        [
            "operator-auth",
            "prod-evacuator-us-east-1",
            "router-function-dev",
            "router-function-live",
            "their-edge-function",
        ]
    )
    assert versions("router-function-live") == ["3"]
    assert role_names() == sorted(
        [
            "operator-auth-role",
            "prod-evacuator-role",
            "router-function-dev-role",
            "router-function-live-role",
            "their-edge-function-role",
        ]
    )
    assert group_names("ap-northeast-1") == ["/aws/lambda/prod-evacuator-ap-northeast-1"]


def test_an_evacuator_in_us_east_1_is_never_taken_for_an_old_router(aws):
    # The evacuator is tagged for the stack, in us-east-1, and no distribution associates it: what
    # used to make it a leftover. Neither it, nor its log group, nor the role every vantage
    # Region's evacuator shares is planned, with or without the other Regions' evacuators.
    shared = role("prod-evacuator-role", "prod", trust=LAMBDA_TRUST)
    evacuator("prod-evacuator-us-east-1", "prod", "us-east-1", shared)
    cloudfront, _ = distributions([])
    found = cleanup.find_leftovers(Clients(cloudfront=cloudfront), "prod", LATER)
    assert found.deletions == []
    assert found.kept == [
        "function prod-evacuator-us-east-1: not a Lambda@Edge function: its role "
        "prod-evacuator-role is not one edgelambda.amazonaws.com may assume"
    ]


def test_a_role_a_function_in_another_region_uses_stays(aws):
    # IAM roles are global: the old router's role, reused by a function in eu-west-1.
    old_role = role("router-function-old-role", "prod")
    edge_function("router-function-old", "prod", role="router-function-old-role")
    boto3.client("lambda", region_name="eu-west-1").create_function(
        FunctionName="reuses-the-role",
        Runtime="python3.13",
        Role=old_role,
        Handler="lambda_function.handler",
        Code={"ZipFile": package()},
    )
    cloudfront, _ = distributions([])
    found = cleanup.find_leftovers(Clients(cloudfront=cloudfront), "prod", LATER)
    assert [d.kind for d in found.deletions] == ["function"]
    assert found.kept == [
        "role router-function-old-role: used by reuses-the-role:$LATEST (eu-west-1)"
    ]


def test_a_role_only_a_published_version_still_uses_stays(aws):
    # A version keeps the role it was published with, whatever $LATEST uses now.
    old_role = role("router-function-old-role", "prod")
    edge_function("router-function-old", "prod", role="router-function-old-role")
    lambda_ = boto3.client("lambda", region_name="eu-central-1")
    lambda_.create_function(
        FunctionName="moved-on",
        Runtime="python3.13",
        Role=old_role,
        Handler="lambda_function.handler",
        Code={"ZipFile": package()},
        Publish=True,
    )
    lambda_.update_function_configuration(
        FunctionName="moved-on", Role=role("another-role", "prod", trust=LAMBDA_TRUST)
    )
    cloudfront, _ = distributions([])
    found = cleanup.find_leftovers(Clients(cloudfront=cloudfront), "prod", LATER)
    assert [d.kind for d in found.deletions] == ["function"]
    assert "role router-function-old-role: used by moved-on:1 (eu-central-1)" in found.kept


def test_no_role_is_deleted_while_a_region_cannot_be_listed(aws):
    edge_function("router-function-old", "prod")
    refused, stubber = stubbed_client("lambda", "eu-west-1")
    stubber.add_client_error(
        "list_functions",
        service_error_code="AccessDeniedException",
        service_message="not authorized to perform: lambda:ListFunctions",
        http_status_code=403,
        expected_params={"FunctionVersion": "ALL"},
    )
    cloudfront, _ = distributions([])
    clients = Clients(**{"cloudfront": cloudfront, "lambda:eu-west-1": refused})
    found = cleanup.find_leftovers(clients, "prod", LATER)
    stubber.assert_no_pending_responses()
    assert [(d.kind, d.name) for d in found.deletions] == [("function", "router-function-old")]
    (kept,) = [line for line in found.kept if line.startswith("role ")]
    assert kept.startswith(
        "role router-function-old-role: listing Lambda functions in eu-west-1: "
        "AccessDeniedException: not authorized"
    )
    assert kept.endswith("a role is deleted only once no function in any Region uses it")


def test_no_role_is_deleted_when_the_regions_cannot_be_listed(aws):
    edge_function("router-function-old", "prod")
    ec2, stubber = stubbed_client("ec2")
    stubber.add_client_error(
        "describe_regions", service_error_code="UnauthorizedOperation", http_status_code=403
    )
    cloudfront, _ = distributions([])
    found = cleanup.find_leftovers(Clients(cloudfront=cloudfront, ec2=ec2), "prod", LATER)
    assert [d.kind for d in found.deletions] == ["function"]
    assert any(
        line.startswith(
            "role router-function-old-role: listing the Regions enabled for the account"
        )
        for line in found.kept
    )


ROLE_ARN = f"arn:aws:iam::{ACCOUNT}:role/r"


def _function(**config):
    return cleanup.Function(
        "f",
        "arn",
        ROLE_ARN,
        LATER,
        {"Description": EDGE_FUNCTION_DESCRIPTION, **config},
    )


def _role(*services, other=None):
    principal = {"Service": list(services), **({"AWS": other} if other else {})}
    return {
        "AssumeRolePolicyDocument": {
            "Version": "2012-10-17",
            "Statement": [{"Effect": "Allow", "Principal": principal, "Action": "sts:AssumeRole"}],
        }
    }


@pytest.mark.parametrize(
    ("config", "trust", "reason"),
    [
        ({}, _role("lambda.amazonaws.com", "edgelambda.amazonaws.com"), None),
        (
            {},
            _role("lambda.amazonaws.com"),
            "not a Lambda@Edge function: its role r is not one edgelambda.amazonaws.com may assume",
        ),
        (
            {"Environment": {"Variables": {"SETTINGS": "{}"}}},
            _role("lambda.amazonaws.com", "edgelambda.amazonaws.com"),
            "not a Lambda@Edge function: it has environment variables",
        ),
        ({"Environment": {"Variables": {}}}, _role("edgelambda.amazonaws.com"), None),
        (
            {"Layers": [{"Arn": "arn:aws:lambda:us-east-1:1:layer:x:1"}], "PackageType": "Image"},
            _role("edgelambda.amazonaws.com"),
            "not a Lambda@Edge function: it has layers and a container image",
        ),
        (
            {"VpcConfig": {"SubnetIds": ["subnet-1"], "SecurityGroupIds": []}},
            _role("edgelambda.amazonaws.com"),
            "not a Lambda@Edge function: it has a VPC",
        ),
        ({"VpcConfig": {"SubnetIds": []}}, _role("edgelambda.amazonaws.com"), None),
        (
            {"Description": "Routes CloudFront cache misses"},
            _role("edgelambda.amazonaws.com"),
            "not this project's router: its description is not the router's",
        ),
        ({}, None, "its role r cannot be read"),
    ],
)
def test_only_what_could_be_the_lambda_edge_router_is_a_candidate(config, trust, reason):
    assert cleanup.not_lambda_edge(_function(**config), trust) == reason


def test_a_trust_policy_that_denies_edgelambda_does_not_make_a_lambda_edge_role():
    trust = _role("lambda.amazonaws.com")
    trust["AssumeRolePolicyDocument"]["Statement"].append(
        {
            "Effect": "Deny",
            "Principal": {"Service": "edgelambda.amazonaws.com"},
            "Action": "sts:AssumeRole",
        }
    )
    assert cleanup.trusted_services(trust) == {"lambda.amazonaws.com"}
    assert cleanup.trusted_services(_role("edgelambda.amazonaws.com", other="*")) == {
        "edgelambda.amazonaws.com",
        "*",
    }


def test_of_what_the_program_declares_only_the_router_is_a_candidate():
    # The prod stack file, under mocks: its router, and its evacuator in every vantage Region.
    deployment = deploy(read_stack_config(stack_file_path("prod")), stack="prod")
    roles = {role.outputs["arn"]: role for role in deployment.all(ROLE)}
    verdicts = {}
    for function in deployment.all(FUNCTION):
        inputs = function.inputs
        config = {
            "Description": inputs.get("description"),
            "Environment": {"Variables": (inputs.get("environment") or {}).get("variables")},
            "Layers": inputs.get("layers"),
            "PackageType": inputs.get("packageType", "Zip"),
        }
        trust = {"AssumeRolePolicyDocument": roles[inputs["role"]].inputs["assumeRolePolicy"]}
        candidate = cleanup.Function(function.name, "arn", inputs["role"], LATER, config)
        owner = deployment.by_urn(function.parent).type.rpartition(":")[2]
        verdicts[(owner, function.region)] = cleanup.not_lambda_edge(candidate, trust)
    assert verdicts.pop(("LambdaEdgeRouter", "us-east-1")) is None
    assert sorted(verdicts) == [
        ("Evacuator", region) for region in ("ap-northeast-1", "eu-west-1", "us-east-1")
    ]
    assert all(reason.startswith("not a Lambda@Edge function") for reason in verdicts.values())
