"""A stack deployed before the routing components were named after their engines keeps every
resource: each resource the program declares now is found, by its URN or through an alias, under
the URN the same declaration had with the old type tokens (``testing.urns`` computes both the way
Pulumi's engine does, a child's URN from its parent's type chain)."""

import re
from pathlib import Path

import pytest

from components import cloudfront_function, lambda_edge
from settings.stack_file import read_stack_config, stack_file_path
from testing.mock_monitor import Declared
from testing.mock_program import Deployment, deploy
from testing.urns import Urns, lost_in_place
from tests.components.conftest import deployed

# Type token now → type token of the stacks deployed before the rename.
RENAMED = {
    "geo-proximity:index:LambdaEdgeRouter": "geo-proximity:index:EdgeFunction",
    "geo-proximity:index:CloudFrontFunctionRouter": "geo-proximity:index:RouterFunction",
}


def router_and_children(deployment: Deployment) -> list[Declared]:
    """The renamed component and every resource under it."""
    (router,) = [r for r in deployment.resources if r.type in RENAMED]
    return [r for r in deployment.resources if router.urn in (r.urn, r.parent)]


@pytest.mark.parametrize(
    "key", ["stack:prod", "stack:dev", "everything-twenty", "functions-everything-twenty"]
)
def test_a_stack_deployed_before_the_rename_keeps_every_resource(key):
    deployment = deployed(key)
    # Not vacuous: the renamed router and its children are there, under the new type token.
    names = {resource.name for resource in router_and_children(deployment)}
    assert {"router", "router-function", "router-logs"} <= names
    assert lost_in_place(deployment.resources, RENAMED) == []


@pytest.mark.parametrize("stack", ["prod", "dev"])
def test_without_the_aliases_the_router_and_its_children_would_be_replaced(monkeypatch, stack):
    for module in (lambda_edge, cloudfront_function):
        monkeypatch.setattr(module, "known_before_as", lambda previous_type, opts: opts)
    deployment = deploy(read_stack_config(stack_file_path(stack)), stack=stack)
    renamed = router_and_children(deployment)
    assert len(renamed) >= 3
    # Everything under the old type token is lost (deleted, and created again), nothing else.
    urns = Urns(deployment.resources)
    assert sorted(lost_in_place(deployment.resources, RENAMED)) == sorted(
        urns.current(resource, RENAMED) for resource in renamed
    )


def test_urns_follow_the_parents_type_chain_and_its_aliases():
    deployment = deployed("stack:prod")
    urns = Urns(deployment.resources)
    function = deployment.edge_function()
    # The engine's URN: the component's type, then the child's; the stack is left out.
    assert urns.current(function) == (
        "urn:pulumi:prod::geo-proximity::"
        "geo-proximity:index:LambdaEdgeRouter$aws:lambda/function:Function::router-function"
    )
    assert urns.current(function, RENAMED) == (
        "urn:pulumi:prod::geo-proximity::"
        "geo-proximity:index:EdgeFunction$aws:lambda/function:Function::router-function"
    )
    # The child declares no alias itself; it inherits its parent's.
    assert function.aliases == []
    assert urns.former(function) == {
        urns.current(function),
        urns.current(function, RENAMED),
    }


# URNs of stacks deployed before the routing state and the evacuator: every resource the
# program declared then, as the engine names it (``Urns.current``), one per line, written by running
# this program's parent commit under mocks for each stack or scenario named by the file.
DEPLOYED_BEFORE = Path(__file__).with_name("deployed_before")
# What has been added since, and all that was: the routing state and the evacuator (components and
# children), each bucket's health object, the Lambda@Edge role's permission to read the state and
# the evacuator's alarms.
ADDED = re.compile(
    # The routing state and the evacuator; Batch Replication and the web ACL.
    r"geo-proximity:index:(RoutingState|Evacuator|BatchReplication|WebAcl)(\$|::)"
    r"|aws:s3/bucketObjectv2:BucketObjectv2::origin-[a-z0-9-]+-health$"
    r"|LambdaEdgeRouter\$aws:iam/rolePolicy:RolePolicy::router-state$"
    r"|Monitoring\$aws:cloudwatch/metricAlarm:MetricAlarm::monitoring-origins-in-rotation$"
    r"|Monitoring\$aws:cloudwatch/metricAlarm:MetricAlarm::monitoring-evacuator-silent-[a-z0-9-]+$"
    # The alarms on an origin's unreadable health object and on the checks held by their limits.
    r"|Monitoring\$aws:cloudwatch/metricAlarm:MetricAlarm::monitoring-health-object-[a-z0-9-]+$"
    r"|Monitoring\$aws:cloudwatch/metricAlarm:MetricAlarm::monitoring-checks-held$"
)


def deployed_before(path: Path) -> tuple[str, list[str]]:
    key = path.stem.replace("stack-", "stack:", 1)
    return key, path.read_text(encoding="utf-8").split()


@pytest.mark.parametrize("path", sorted(DEPLOYED_BEFORE.glob("*.urns")), ids=lambda p: p.stem)
def test_a_stack_deployed_before_the_routing_state_keeps_every_resource(path):
    key, before = deployed_before(path)
    assert len(before) > 20
    deployment = deployed(key)
    urns = Urns(deployment.resources)
    taken_over = set().union(*(urns.former(resource) for resource in deployment.resources))
    # Every resource deployed before is one the program still declares, under its URN or an alias.
    assert [urn for urn in before if urn not in taken_over] == []
    # And what is new is only what was added (new resources are created; none is renamed).
    new = sorted({urns.current(r) for r in deployment.resources} - set(before))
    assert [urn for urn in new if not ADDED.search(urn)] == []
    # Not vacuous: two or more origins have a routing state, one has none.
    assert bool(new) == (len(deployment.exports["buckets"]) > 1)


def test_the_check_sees_a_renamed_resource(monkeypatch):
    from components import regional_origin

    real = regional_origin.aws.s3.BucketVersioning

    def renamed(name, *args, **kwargs):
        return real(name.replace("-versioning", "-versions"), *args, **kwargs)

    monkeypatch.setattr(regional_origin.aws.s3, "BucketVersioning", renamed)
    _, before = deployed_before(DEPLOYED_BEFORE / "stack-prod.urns")
    deployment = deploy(read_stack_config(stack_file_path("prod")), stack="prod")
    urns = Urns(deployment.resources)
    taken_over = set().union(*(urns.former(resource) for resource in deployment.resources))
    lost = [urn for urn in before if urn not in taken_over]
    assert sorted(urn.rsplit("::", 1)[1] for urn in lost) == [
        f"origin-{region}-versioning" for region in ("ap-northeast-1", "eu-central-1", "us-east-1")
    ]
