"""Find what Lambda@Edge left behind for a stack, and delete it.

    ./dev cleanup --stack prod                 # what it would delete, and why
    ./dev cleanup --stack prod --yes [--wait]  # delete it

The Lambda@Edge function and its log groups are declared with ``skip_destroy``: CloudFront keeps a
function's replicas for hours after the last distribution lets go of it, and "You can delete a
Lambda@Edge function only when the replicas of the function have been deleted by CloudFront"
(CloudFront developer guide, "Delete Lambda@Edge functions and replicas"). So ``pulumi destroy``,
an engine switch or a routing change (a new version each) leave functions, versions, log groups and
roles behind. This finds them by what AWS requires of every Lambda@Edge function first, then by the
program's tags (``project``, ``stack``), the router's description and names:

- a function is considered only if it could be a Lambda@Edge function at all: in us-east-1, its
  role one that ``edgelambda.amazonaws.com`` may assume, without environment variables, layers, a
  VPC or a container image (CloudFront developer guide, "Restrictions on Lambda@Edge"); tagged for
  the stack; and described as the router is (``EDGE_FUNCTION_DESCRIPTION``). The stack's
  evacuators, its other functions and every other project's are never candidates;
- functions so selected that no distribution uses any more: no version is in any cache
  behaviour's LambdaFunctionAssociations of any distribution of the account (ListDistributions,
  every page), enabled or not;
- of a function still in use, its numbered versions older than the oldest version in use ("If a
  specific version of a Lambda function isn't associated with any CloudFront distributions, you can
  also delete that version", same page); never a newer one, which may be a deployment in progress;
- the log groups of a deleted function: ``/aws/lambda/us-east-1.<name>`` in every execution Region
  and ``/aws/lambda/<name>`` in us-east-1, deleted only once the function is, so that no replica
  logs into a group Lambda would recreate without a retention; and groups so named, tagged for the
  stack, whose function is already gone;
- the role of a deleted function, when it is tagged for the stack, trusted by Lambda and Lambda@Edge
  alone (edgelambda among them), and no other function or published version uses it in any Region
  enabled for the account (IAM roles are global; ListFunctions with every version, in every Region
  EC2's DescribeRegions lists). When any Region cannot be listed, no role is deleted.

Nothing changed within the last hour is touched (a deployment may be under way). A function whose
replicas CloudFront still holds is refused by Lambda ("... because it is a replicated function"):
it is reported as "replicas not yet removed by CloudFront, try again later", with its log groups
and role kept; ``--wait`` retries with back-off up to ``--wait-limit`` minutes. Exit status: 0 when
nothing is left to delete (or without ``--yes``), 1 when something could not be deleted yet, 2 for
bad input or an AWS error.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from botocore.exceptions import ClientError

from core.cloudfront import EDGE_FUNCTION_DESCRIPTION, LAMBDA_EDGE_REGION
from core.policies import (
    EDGE_FUNCTION_SERVICES,
    EDGE_LAMBDA_SERVICE,
    EDGE_LOG_GROUP_PREFIX,
    edge_function_log_group_names,
)
from routing.catalogue import lambda_edge_execution_regions
from settings.stack_file import stack_file_path
from settings.table import PROJECT
from tools.aws_tools import (
    Clients,
    add_endpoint_argument,
    endpoint_url,
    error_code,
    error_message,
    explained,
)
from tools.cli import ToolError, count, run_command

# Lambda's refusal while CloudFront holds replicas (InvalidParameterValueException): "Lambda was
# unable to delete <arn> because it is a replicated function. Please see our documentation for
# Deleting Lambda@Edge Functions and Replicas."
REPLICATED = "replicated function"
REPLICAS_PENDING = "replicas not yet removed by CloudFront, try again later"
# Something changed this recently may belong to a `pulumi up` under way: left alone.
RECENT = timedelta(hours=1)
# --wait: first pause, and the longest; replicas are "typically deleted within a few hours".
FIRST_PAUSE_SECONDS = 60
LONGEST_PAUSE_SECONDS = 900
DEFAULT_WAIT_LIMIT_MINUTES = 240


@dataclass(frozen=True)
class Deletion:
    """One thing to delete: what, where, why; ``after`` names the functions it must wait for."""

    kind: str  # "function", "version", "log group", "role"
    name: str
    region: str
    reason: str
    after: tuple[str, ...] = ()

    def describe(self) -> str:
        where = f" ({self.region})" if self.kind in ("function", "log group") else ""
        return f"{self.kind} {self.name}{where}: {self.reason}"


@dataclass
class Leftovers:
    deletions: list[Deletion] = field(default_factory=list)
    kept: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Function:
    name: str
    arn: str
    role: str
    last_modified: datetime
    # What ListFunctions says of it, for what Lambda@Edge refuses (``not_lambda_edge``).
    config: dict[str, Any] = field(default_factory=dict, compare=False)


def paged(client: Any, operation: str, key: str, **params: Any) -> Iterator[Any]:
    """Every item under ``key`` of every page of ``operation``."""
    for page in client.get_paginator(operation).paginate(**params):
        yield from _dig(page, key)


def _dig(page: dict[str, Any], key: str) -> list[Any]:
    value: Any = page
    for part in key.split("."):
        value = value.get(part) if isinstance(value, dict) else None
    return list(value or [])


def _when(text: str) -> datetime:
    """Lambda's LastModified (ISO 8601, ``2026-11-30T07:06:21.000+0000``) as an aware datetime."""
    moment = datetime.fromisoformat(re.sub(r"([+-]\d\d)(\d\d)$", r"\1:\2", text))
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def referenced_versions(clients: Clients) -> dict[str, dict[str, list[str]]]:
    """Function ARN → version → the distributions whose cache behaviours associate it, over every
    distribution of the account, enabled or not, staging ones included: every page of
    ListDistributions, whose DistributionSummary carries the default cache behaviour and the others
    (both required members of it in CloudFront's API model), associations included, so no
    GetDistributionConfig per distribution is needed."""
    cloudfront = clients("cloudfront", LAMBDA_EDGE_REGION)
    found: dict[str, dict[str, list[str]]] = {}
    with explained("listing CloudFront distributions"):
        for summary in paged(cloudfront, "list_distributions", "DistributionList.Items"):
            behaviours = [summary["DefaultCacheBehavior"], *_dig(summary, "CacheBehaviors.Items")]
            for behaviour in behaviours:
                for association in _dig(behaviour, "LambdaFunctionAssociations.Items"):
                    function, _, version = association["LambdaFunctionARN"].rpartition(":")
                    found.setdefault(function, {}).setdefault(version, []).append(summary["Id"])
    return found


def stack_functions(clients: Clients, stack: str) -> tuple[list[Function], set[str]]:
    """This stack's functions in us-east-1 (by their tags), and the name of every function there."""
    lambda_ = clients("lambda", LAMBDA_EDGE_REGION)
    ours, names = [], set()
    with explained("listing Lambda functions in us-east-1"):
        for config in paged(lambda_, "list_functions", "Functions"):
            names.add(config["FunctionName"])
            tags = lambda_.list_tags(Resource=config["FunctionArn"]).get("Tags", {})
            if tags.get("project") == PROJECT and tags.get("stack") == stack:
                ours.append(
                    Function(
                        config["FunctionName"],
                        config["FunctionArn"],
                        config["Role"],
                        _when(config["LastModified"]),
                        config,
                    )
                )
    return ours, names


class Roles:
    """IAM roles by ARN, each read once (GetRole); None for a role that cannot be read."""

    def __init__(self, clients: Clients) -> None:
        self.iam = clients("iam", LAMBDA_EDGE_REGION)
        self.read: dict[str, dict[str, Any] | None] = {}

    def get(self, arn: str) -> dict[str, Any] | None:
        if arn not in self.read:
            try:
                with explained(f"reading role {_role_name(arn)}"):
                    self.read[arn] = self.iam.get_role(RoleName=_role_name(arn))["Role"]
            except ToolError:
                self.read[arn] = None
        return self.read[arn]


def _role_name(arn: str) -> str:
    return arn.rsplit("/", 1)[-1]


def trusted_services(role: dict[str, Any]) -> set[str]:
    """The services the role's trust policy lets assume it; "*" stands for any other principal (an
    account, a role, a federated identity, anyone)."""
    trust = role["AssumeRolePolicyDocument"]
    document = json.loads(trust) if isinstance(trust, str) else trust
    statements = document.get("Statement", [])
    return {
        service
        for statement in (statements if isinstance(statements, list) else [statements])
        if statement.get("Effect") == "Allow"
        for service in _services(statement.get("Principal", {}))
    }


def not_lambda_edge(function: Function, role: dict[str, Any] | None) -> str | None:
    """Why ``function`` is not this project's Lambda@Edge router, or None when it may be one.

    What AWS requires of every Lambda@Edge function comes first (CloudFront developer guide,
    "Restrictions on Lambda@Edge",
    https://docs.aws.amazon.com/AmazonCloudFront/latest/DeveloperGuide/lambda-at-edge-function-restrictions.html):
    its role must let edgelambda.amazonaws.com assume it, and Lambda@Edge does not support
    "Lambda environment variables (except for reserved environment variables ...)", layers,
    "Configuration of your Lambda function to access resources inside your VPC" nor functions
    defined as container images. The router's description then narrows it to this project's."""
    config = function.config
    if role is None:
        return f"its role {_role_name(function.role)} cannot be read"
    if EDGE_LAMBDA_SERVICE not in trusted_services(role):
        return (
            f"not a Lambda@Edge function: its role {_role_name(function.role)} is not one "
            f"{EDGE_LAMBDA_SERVICE} may assume"
        )
    refused = [
        what
        for what, present in (
            ("environment variables", (config.get("Environment") or {}).get("Variables")),
            ("layers", config.get("Layers")),
            ("a VPC", (config.get("VpcConfig") or {}).get("SubnetIds")),
            ("a container image", config.get("PackageType") == "Image"),
        )
        if present
    ]
    if refused:
        return f"not a Lambda@Edge function: it has {' and '.join(refused)}"
    if config.get("Description") != EDGE_FUNCTION_DESCRIPTION:
        return "not this project's router: its description is not the router's"
    return None


def versions_of(clients: Clients, function: Function) -> dict[int, datetime]:
    """The function's numbered versions and when each was published."""
    lambda_ = clients("lambda", LAMBDA_EDGE_REGION)
    with explained(f"listing the versions of {function.name}"):
        return {
            int(config["Version"]): _when(config["LastModified"])
            for config in paged(
                lambda_, "list_versions_by_function", "Versions", FunctionName=function.name
            )
            if config["Version"] != "$LATEST"
        }


def _age(now: datetime, then: datetime) -> str:
    return f"{int((now - then).total_seconds() // 60)} minutes ago"


def plan_function(
    function: Function,
    versions: dict[int, datetime],
    used: dict[str, list[str]],
    now: datetime,
    found: Leftovers,
) -> bool:
    """Add what to delete of ``function`` to ``found``; True when the whole function goes."""
    changed = max([function.last_modified, *versions.values()])
    if not used:
        if now - changed < RECENT:
            found.kept.append(
                f"function {function.name}: changed {_age(now, changed)}, may be a deployment in "
                "progress"
            )
            return False
        found.deletions.append(
            Deletion(
                "function",
                function.name,
                LAMBDA_EDGE_REGION,
                f"no distribution uses any of its {len(versions)} version(s)",
            )
        )
        return True
    in_use = sorted(int(version) for version in used if version.isdigit())
    if not in_use:
        # Associated by something that is not a version number (CloudFront takes only those):
        # keep all of it rather than guess.
        found.kept.append(f"function {function.name}: associated as {', '.join(used)}")
        return False
    for version in in_use:
        found.kept.append(
            f"version {function.name}:{version}: distribution {', '.join(used[str(version)])} "
            "uses it"
        )
    for version, published in sorted(versions.items()):
        if version in in_use:
            continue
        if version > in_use[0] or now - published < RECENT:
            found.kept.append(
                f"version {function.name}:{version}: newer than the version in use, or published "
                f"{_age(now, published)}: may be a deployment in progress"
            )
            continue
        found.deletions.append(
            Deletion(
                "version",
                f"{function.name}:{version}",
                LAMBDA_EDGE_REGION,
                f"older than version {in_use[0]}, the oldest a distribution uses",
            )
        )
    return False


def log_group_regions() -> list[str]:
    return list(dict.fromkeys([LAMBDA_EDGE_REGION, *lambda_edge_execution_regions()]))


def existing_log_groups(clients: Clients, region: str, prefix: str) -> list[dict[str, Any]]:
    with explained(f"listing log groups in {region}"):
        return list(
            paged(
                clients("logs", region),
                "describe_log_groups",
                "logGroups",
                logGroupNamePrefix=prefix,
            )
        )


def plan_log_groups(
    clients: Clients, stack: str, deleted: list[str], functions: set[str], found: Leftovers
) -> None:
    """The log groups of the functions being deleted, and groups of this stack whose function
    is already gone (by their tags): ``/aws/lambda/us-east-1.<name>`` in every Region where
    replicas run, ``/aws/lambda/<name>`` in us-east-1 (direct invocations)."""
    gone: set[str] = set()
    for region in log_group_regions():
        for group in existing_log_groups(clients, region, EDGE_LOG_GROUP_PREFIX):
            name = group["logGroupName"].removeprefix(EDGE_LOG_GROUP_PREFIX)
            if name in deleted:
                found.deletions.append(
                    Deletion(
                        "log group",
                        group["logGroupName"],
                        region,
                        f"the logs of {name}, deleted once it is",
                        (name,),
                    )
                )
            elif name not in functions and _tagged(clients, region, group, stack):
                found.deletions.append(
                    Deletion("log group", group["logGroupName"], region, "its function is gone")
                )
                gone.add(name)
    for name in [*deleted, *sorted(gone)]:
        direct = edge_function_log_group_names(name)[1]
        for group in existing_log_groups(clients, LAMBDA_EDGE_REGION, direct):
            if group["logGroupName"] != direct:
                continue
            after: tuple[str, ...]
            if name in deleted:
                reason, after = f"the logs of {name}, deleted once it is", (name,)
            elif _tagged(clients, LAMBDA_EDGE_REGION, group, stack):
                reason, after = "its function is gone", ()
            else:
                continue
            found.deletions.append(Deletion("log group", direct, LAMBDA_EDGE_REGION, reason, after))


def _tagged(clients: Clients, region: str, group: dict[str, Any], stack: str) -> bool:
    arn = group.get("logGroupArn") or str(group.get("arn", "")).removesuffix(":*")
    with explained(f"reading the tags of {group['logGroupName']} in {region}"):
        tags = clients("logs", region).list_tags_for_resource(resourceArn=arn).get("tags", {})
    return bool(tags.get("project") == PROJECT and tags.get("stack") == stack)


def account_regions(clients: Clients) -> list[str]:
    """The Regions enabled for the account: EC2's DescribeRegions without AllRegions "describes
    the Regions that are enabled for your account" (EC2 API reference, DescribeRegions)."""
    with explained("listing the Regions enabled for the account"):
        listed = clients("ec2", LAMBDA_EDGE_REGION).describe_regions()
    return sorted(region["RegionName"] for region in listed.get("Regions", []))


def functions_by_role(clients: Clients) -> dict[str, list[tuple[str, str]]]:
    """Role ARN → (Region, function or version) of every function and published version that uses
    it, in every Region enabled for the account: IAM roles are global, and a version keeps the
    role it was published with (ListFunctions with FunctionVersion ALL lists every version).
    Raises ToolError when any Region cannot be listed."""
    users: dict[str, list[tuple[str, str]]] = {}
    for region in account_regions(clients):
        with explained(f"listing Lambda functions in {region}"):
            for config in paged(
                clients("lambda", region), "list_functions", "Functions", FunctionVersion="ALL"
            ):
                version = config.get("Version", "$LATEST")
                users.setdefault(config["Role"], []).append(
                    (region, f"{config['FunctionName']}:{version}")
                )
    return users


def plan_roles(
    clients: Clients,
    stack: str,
    deleted: list[Function],
    roles: Roles,
    found: Leftovers,
) -> None:
    """The role of each deleted function that is tagged for the stack, trusted by Lambda and
    Lambda@Edge alone, and used by no other function or version in any Region; deleted after every
    function that uses it. Nothing when any Region's functions cannot be listed."""
    deleted_names = {function.name for function in deleted}
    candidates: dict[str, list[str]] = {}
    for function in deleted:
        candidates.setdefault(function.role, []).append(function.name)
    eligible = {}
    for role_arn, functions in candidates.items():
        role, name = roles.get(role_arn), _role_name(role_arn)
        tags = {tag["Key"]: tag["Value"] for tag in (role or {}).get("Tags", [])}
        services = trusted_services(role) if role else set()
        if role is None:
            found.kept.append(f"role {name}: cannot be read; left alone")
        elif tags.get("project") != PROJECT or tags.get("stack") != stack:
            found.kept.append(f"role {name}: not tagged for stack {stack}")
        elif EDGE_LAMBDA_SERVICE not in services or not services <= set(EDGE_FUNCTION_SERVICES):
            found.kept.append(f"role {name}: trusted by more than Lambda and Lambda@Edge")
        else:
            eligible[role_arn] = functions
    if not eligible:
        return
    try:
        users = functions_by_role(clients)
    except ToolError as error:
        found.kept += [
            f"role {_role_name(arn)}: {error}; a role is deleted only once no function in any "
            "Region uses it"
            for arn in eligible
        ]
        return
    for role_arn, functions in eligible.items():
        others = [
            f"{function} ({region})"
            for region, function in users.get(role_arn, [])
            if not (region == LAMBDA_EDGE_REGION and function.partition(":")[0] in deleted_names)
        ]
        if others:
            found.kept.append(f"role {_role_name(role_arn)}: used by {', '.join(others)}")
            continue
        found.deletions.append(
            Deletion(
                "role",
                _role_name(role_arn),
                "global",
                f"used only by {', '.join(functions)}",
                tuple(functions),
            )
        )


def _services(principal: Any) -> list[str]:
    """The services a statement's principal names; "*" for any other kind of principal (an
    account, a role, a federated identity, anyone), which no Lambda@Edge role needs."""
    if not isinstance(principal, dict):
        return ["*"]
    services = principal.get("Service", [])
    others = ["*"] if set(principal) - {"Service"} else []
    return ([services] if isinstance(services, str) else list(services)) + others


def find_leftovers(clients: Clients, stack: str, now: datetime) -> Leftovers:
    found = Leftovers()
    references = referenced_versions(clients)
    ours, names = stack_functions(clients, stack)
    roles = Roles(clients)
    deleted = []
    for function in ours:
        reason = not_lambda_edge(function, roles.get(function.role))
        if reason is not None:
            found.kept.append(f"function {function.name}: {reason}")
            continue
        versions = versions_of(clients, function)
        if plan_function(function, versions, references.get(function.arn, {}), now, found):
            deleted.append(function)
    plan_log_groups(clients, stack, [f.name for f in deleted], names, found)
    plan_roles(clients, stack, deleted, roles, found)
    return found


@dataclass
class Outcome:
    deleted: list[Deletion] = field(default_factory=list)
    pending: list[Deletion] = field(default_factory=list)


def delete(clients: Clients, deletion: Deletion) -> bool:
    """Delete one thing; False when Lambda refuses because CloudFront still holds replicas."""
    try:
        with _gone_is_fine():
            if deletion.kind in ("function", "version"):
                name, _, version = deletion.name.partition(":")
                extra = {"Qualifier": version} if version else {}
                clients("lambda", deletion.region).delete_function(FunctionName=name, **extra)
            elif deletion.kind == "log group":
                clients("logs", deletion.region).delete_log_group(logGroupName=deletion.name)
            else:
                delete_role(clients("iam", LAMBDA_EDGE_REGION), deletion.name)
    except ClientError as error:
        if REPLICATED in error_message(error):
            return False
        with explained(f"deleting {deletion.kind} {deletion.name}"):
            raise
    return True


@contextmanager
def _gone_is_fine() -> Iterator[None]:
    """Something already gone (deleted meanwhile) counts as deleted."""
    try:
        yield
    except ClientError as error:
        if error_code(error) not in ("ResourceNotFoundException", "NoSuchEntity"):
            raise


def delete_role(iam: Any, role: str) -> None:
    """IAM deletes a role only once nothing is attached to it (IAM API reference, DeleteRole)."""
    for policy in list(paged(iam, "list_role_policies", "PolicyNames", RoleName=role)):
        iam.delete_role_policy(RoleName=role, PolicyName=policy)
    for attached in list(
        paged(iam, "list_attached_role_policies", "AttachedPolicies", RoleName=role)
    ):
        iam.detach_role_policy(RoleName=role, PolicyArn=attached["PolicyArn"])
    for profile in list(
        paged(iam, "list_instance_profiles_for_role", "InstanceProfiles", RoleName=role)
    ):
        iam.remove_role_from_instance_profile(
            InstanceProfileName=profile["InstanceProfileName"], RoleName=role
        )
    iam.delete_role(RoleName=role)


def delete_all(clients: Clients, deletions: list[Deletion], outcome: Outcome) -> None:
    """Delete in order: versions and functions first, then what waits for a deleted function
    (left for the next try while CloudFront's replicas hold any function it waits for)."""
    held = {d.name for d in outcome.pending if d.kind == "function"}
    for deletion in sorted(deletions, key=lambda d: bool(d.after)):
        if not held.isdisjoint(deletion.after):
            continue
        if delete(clients, deletion):
            outcome.deleted.append(deletion)
            print(f"  deleted {deletion.kind} {deletion.name}", flush=True)
        else:
            outcome.pending.append(deletion)
            if deletion.kind == "function":
                held.add(deletion.name)


def delete_with_retries(
    clients: Clients,
    deletions: list[Deletion],
    wait_limit_minutes: int | None,
    sleep: Callable[[float], None] | None = None,
) -> Outcome:
    """Delete everything; with a wait limit, retry what CloudFront's replicas hold back, pausing
    60 s, then twice as long each time (at most 15 minutes), until the limit."""
    outcome = Outcome()
    remaining = list(deletions)
    waited, pause = 0, FIRST_PAUSE_SECONDS
    while True:
        outcome.pending = []
        delete_all(clients, remaining, outcome)
        remaining = [d for d in remaining if d not in outcome.deleted]
        if not outcome.pending or wait_limit_minutes is None:
            return outcome
        if waited + pause > wait_limit_minutes * 60:
            return outcome
        names = ", ".join(d.name for d in outcome.pending)
        print(f"  {REPLICAS_PENDING}: {names}; retrying in {pause} s", flush=True)
        (sleep or time.sleep)(pause)
        waited += pause
        pause = min(pause * 2, LONGEST_PAUSE_SECONDS)


def report(stack: str, found: Leftovers) -> None:
    print(f"stack {stack}: Lambda@Edge leftovers (tags project={PROJECT}, stack={stack})")
    for deletion in found.deletions:
        print(f"  delete {deletion.describe()}")
    for line in found.kept:
        print(f"  keep   {line}")
    if not found.deletions:
        print("  nothing to delete")


def now() -> datetime:
    return datetime.now(UTC)


def run(options: argparse.Namespace) -> int:
    clients = Clients(endpoint_url(options.endpoint_url))
    found = find_leftovers(clients, options.stack, now())
    report(options.stack, found)
    if not found.deletions:
        return 0
    if not options.yes:
        print(f"nothing deleted; --yes deletes the {len(found.deletions)} above")
        return 0
    limit = options.wait_limit if options.wait else None
    outcome = delete_with_retries(clients, found.deletions, limit)
    held = [d for d in found.deletions if d not in outcome.deleted]
    for deletion in held:
        reason = f"waits for {', '.join(deletion.after)}" if deletion.after else REPLICAS_PENDING
        print(f"  not deleted: {deletion.kind} {deletion.name}: {reason}")
    if held:
        print(
            "CloudFront removes a function's replicas within a few hours of its last association "
            'going (CloudFront developer guide, "Delete Lambda@Edge functions and replicas"); '
            "run this again later, or with --wait"
        )
        return 1
    print(f"deleted {len(outcome.deleted)}")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="./dev cleanup", description=__doc__.splitlines()[0])
    parser.add_argument(
        "--stack",
        required=True,
        help="the stack whose leftovers to find: the value of the program's `stack` tag",
    )
    parser.add_argument("--yes", action="store_true", help="delete what is listed")
    parser.add_argument(
        "--wait",
        action="store_true",
        help="with --yes: retry what CloudFront's replicas hold back, with back-off",
    )
    parser.add_argument(
        "--wait-limit",
        type=count,
        default=DEFAULT_WAIT_LIMIT_MINUTES,
        metavar="MINUTES",
        help=f"with --wait: give up after this long (default {DEFAULT_WAIT_LIMIT_MINUTES})",
    )
    add_endpoint_argument(parser)
    options = parser.parse_args(argv)
    stack_file_path(options.stack)  # a stack name Pulumi accepts, or one line saying why not
    if options.wait and not options.yes:
        raise ToolError("--wait goes with --yes: without it nothing is deleted, so nothing waits")
    return run(options)


if __name__ == "__main__":
    sys.exit(run_command(main))
