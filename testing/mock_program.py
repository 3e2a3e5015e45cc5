"""Run the Pulumi program, or one component, under Pulumi's mocks and record what it declares.

Used by the tests and by ``./dev bench``. The mocks compute only what AWS would (names, ARNs, ids);
they check nothing, so the tests assert AWS's rules themselves. A stack file drives the program the
way the CLI does (``settings.stack_file``): project defaults from ``Pulumi.yaml``, then the stack's
values as strings, structured values as JSON.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import runpy
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any
from unittest import mock

import pulumi

from settings.table import PROJECT, PROJECT_ROOT
from testing.mock_monitor import Declared, RecordingMonitor, placed_in

ACCOUNT_ID = "123456789012"
MAIN = PROJECT_ROOT / "__main__.py"

FUNCTION = "aws:lambda/function:Function"
CLOUDFRONT_FUNCTION = "aws:cloudfront/function:Function"
ROLE = "aws:iam/role:Role"
ROLE_POLICY = "aws:iam/rolePolicy:RolePolicy"
REPLICATION_CONFIG = "aws:s3/bucketReplicationConfig:BucketReplicationConfig"
TABLE = "aws:dynamodb/table:Table"
TABLE_ITEM = "aws:dynamodb/tableItem:TableItem"
KEY_VALUE_STORE = "aws:cloudfront/keyValueStore:KeyValueStore"
KVS_KEY = "aws:cloudfront/keyvaluestoreKey:KeyvaluestoreKey"
SCHEDULE = "aws:scheduler/schedule:Schedule"
INVOCATION = "aws:lambda/invocation:Invocation"
EVENT_INVOKE_CONFIG = "aws:lambda/functionEventInvokeConfig:FunctionEventInvokeConfig"
WEB_ACL = "aws:wafv2/webAcl:WebAcl"


@dataclass
class Deployment:
    stack: str
    resources: list[Declared]
    exports: dict[str, Any]

    def function_package(self) -> dict[str, str]:
        """File name → text of the edge function's code archive."""
        archive = self.edge_function().inputs["code"]
        return {name: asset.text for name, asset in archive.assets.items()}

    def edge_function(self) -> Declared:
        """The Lambda@Edge function (not the evacuator's functions)."""
        (function,) = [
            f for f in self.all(FUNCTION) if self.by_urn(f.parent).type.endswith("LambdaEdgeRouter")
        ]
        return function

    def evacuator_functions(self) -> dict[str, Declared]:
        """Vantage Region → the evacuator's function there."""
        return {
            str(f.region): f
            for f in self.all(FUNCTION)
            if self.by_urn(f.parent).type.endswith(":Evacuator")
        }

    def all(self, type_: str) -> list[Declared]:
        return [resource for resource in self.resources if resource.type == type_]

    def one(self, type_: str, name: str | None = None) -> Declared:
        (resource,) = [r for r in self.all(type_) if name is None or r.name == name]
        return resource

    def by_urn(self, urn: str) -> Declared:
        return next(resource for resource in self.resources if resource.urn == urn)

    def waits_for(self, resource: Declared, target: Declared) -> bool:
        """Whether Pulumi creates or updates ``resource`` only after ``target``: it depends on it,
        directly or not (a dependency on a component is one on everything in it)."""
        seen: set[str] = set()
        pending = [resource.urn]
        while pending:
            urn = pending.pop()
            if urn == target.urn:
                return True
            if urn in seen:
                continue
            seen.add(urn)
            pending += self.by_urn(urn).dependencies
            pending += [child.urn for child in self.resources if child.parent == urn]
        return False


def _suffix(name: str, length: int) -> str:
    return hashlib.sha256(name.encode()).hexdigest()[:length]


class RecordingMocks(pulumi.runtime.Mocks):
    """Computes the outputs AWS would for the resource types this program declares."""

    def __init__(self, home_region: str, stack: str = "test") -> None:
        self.home_region = home_region
        # Pulumi's autonaming adds a random suffix: two stacks never share a physical name.
        self.stack = stack

    def new_resource(
        self, args: pulumi.runtime.MockResourceArgs
    ) -> tuple[str | None, dict[Any, Any]]:
        inputs = dict(args.inputs)
        outputs = dict(inputs)
        resource_id = f"{args.name}-{_suffix(f'{self.stack}/{args.name}', 8)}"
        region = placed_in(inputs, self.home_region)
        more = self._state_and_waf(args, inputs, region, resource_id)
        if more is not None:
            resource_id, extra = more
            outputs.update(extra)
            return resource_id, outputs
        if args.typ == "aws:s3/bucket:Bucket":
            # S3 appends a 26-character unique suffix to bucket_prefix.
            bucket = inputs.get("bucket") or inputs["bucketPrefix"] + _suffix(args.name, 26)
            resource_id = bucket
            outputs.update(
                bucket=bucket,
                arn=f"arn:aws:s3:::{bucket}",
                bucketRegionalDomainName=f"{bucket}.s3.{region}.amazonaws.com",
                region=region,
            )
        elif args.typ == "aws:cloudfront/originAccessIdentity:OriginAccessIdentity":
            resource_id = "E2QWRUHEXAMPLE"
            outputs.update(
                iamArn="arn:aws:iam::cloudfront:user/CloudFront Origin Access Identity "
                + resource_id,
                cloudfrontAccessIdentityPath=f"origin-access-identity/cloudfront/{resource_id}",
            )
        elif args.typ == "aws:cloudfront/originAccessControl:OriginAccessControl":
            resource_id = "E3OACEXAMPLE12"
        elif args.typ == ROLE:
            outputs.update(arn=f"arn:aws:iam::{ACCOUNT_ID}:role/{resource_id}", name=resource_id)
        elif args.typ == FUNCTION:
            name = inputs.get("name") or resource_id
            arn = f"arn:aws:lambda:{region}:{ACCOUNT_ID}:function:{name}"
            outputs.update(name=name, arn=arn, version="1", qualifiedArn=f"{arn}:1")
        elif args.typ == CLOUDFRONT_FUNCTION:
            # Named by Pulumi's autonaming: the logical name and a random suffix.
            name = inputs.get("name") or f"{args.name}-{_suffix(args.name, 7)}"
            resource_id = name
            outputs.update(
                name=name,
                arn=f"arn:aws:cloudfront::{ACCOUNT_ID}:function/{name}",
                status="UNASSOCIATED",
                liveStageEtag="ETVPDKIKX0DER",
            )
        elif args.typ == "aws:sns/topic:Topic":
            name = inputs.get("name") or resource_id
            resource_id = f"arn:aws:sns:{region}:{ACCOUNT_ID}:{name}"
            outputs.update(name=name, arn=resource_id)
        elif args.typ == "aws:cloudwatch/metricAlarm:MetricAlarm":
            name = inputs.get("name") or resource_id
            outputs.update(name=name, arn=f"arn:aws:cloudwatch:{region}:{ACCOUNT_ID}:alarm:{name}")
        elif args.typ == "aws:cloudwatch/logDeliverySource:LogDeliverySource":
            name = inputs.get("name") or resource_id
            outputs.update(
                name=name, arn=f"arn:aws:logs:{region}:{ACCOUNT_ID}:delivery-source:{name}"
            )
        elif args.typ == "aws:cloudwatch/logDeliveryDestination:LogDeliveryDestination":
            name = inputs.get("name") or resource_id
            outputs.update(
                name=name, arn=f"arn:aws:logs:{region}:{ACCOUNT_ID}:delivery-destination:{name}"
            )
        elif args.typ == "aws:cloudfront/distribution:Distribution":
            resource_id = "E1GEOEXAMPLE01"
            outputs.update(
                arn=f"arn:aws:cloudfront::{ACCOUNT_ID}:distribution/{resource_id}",
                domainName="d111111abcdef8.cloudfront.net",
            )
        return resource_id, outputs

    def _state_and_waf(
        self,
        args: pulumi.runtime.MockResourceArgs,
        inputs: dict[Any, Any],
        region: str,
        resource_id: str,
    ) -> tuple[str, dict[Any, Any]] | None:
        """What AWS computes for the routing state's, the evacuator's and the web ACL's resources;
        None for any other type."""
        outputs: dict[Any, Any] = {}
        if args.typ == TABLE:
            name = inputs["name"]
            resource_id = name
            arn = f"arn:aws:dynamodb:{region}:{ACCOUNT_ID}:table/{name}"
            outputs.update(
                arn=arn,
                streamArn=f"{arn}/stream/2026-01-01T00:00:00.000",
                streamLabel="2026-01-01T00:00:00.000",
            )
        elif args.typ == KEY_VALUE_STORE:
            # Named by Pulumi's autonaming; its ARN ends in an id of CloudFront's own (a UUID).
            name = inputs.get("name") or f"{args.name}-{_suffix(args.name, 7)}"
            resource_id = name
            uuid = _suffix(f"{self.stack}/{name}", 32)
            outputs.update(
                name=name,
                arn=f"arn:aws:cloudfront::{ACCOUNT_ID}:key-value-store/"
                f"{uuid[:8]}-{uuid[8:12]}-{uuid[12:16]}-{uuid[16:20]}-{uuid[20:]}",
                etag="ETVPDKIKX0DER",
            )
        elif args.typ == SCHEDULE:
            name = inputs.get("name") or f"{args.name}-{_suffix(args.name, 7)}"
            resource_id = f"default/{name}"
            outputs.update(
                name=name,
                groupName="default",
                arn=f"arn:aws:scheduler:{region}:{ACCOUNT_ID}:schedule/default/{name}",
            )
        elif args.typ == INVOCATION:
            # The sync answers with the origins out of rotation it published: the drained list
            # the invocation was triggered by (nothing is evacuated under mocks).
            drained = json.loads(inputs.get("triggers", {}).get("drained", '{"out":[]}'))
            outputs.update(result=json.dumps({"out": drained["out"]}))
        elif args.typ == WEB_ACL:
            # AWS WAF names a web ACL's ARN by scope: CLOUDFRONT is "global", REGIONAL "regional".
            name = inputs.get("name") or f"{args.name}-{_suffix(args.name, 7)}"
            scope = "global" if inputs.get("scope") == "CLOUDFRONT" else "regional"
            digest = _suffix(args.name, 32)
            resource_id = "-".join(
                (digest[:8], digest[8:12], digest[12:16], digest[16:20], digest[20:32])
            )
            outputs.update(
                name=name,
                arn=f"arn:aws:wafv2:{region}:{ACCOUNT_ID}:{scope}/webacl/{name}/{resource_id}",
            )
        else:
            return None
        return resource_id, outputs

    def call(
        self, args: pulumi.runtime.MockCallArgs
    ) -> tuple[dict[Any, Any], list[tuple[str, str]] | None]:
        if args.token == "aws:index/getCallerIdentity:getCallerIdentity":
            return {
                "accountId": ACCOUNT_ID,
                "arn": f"arn:aws:iam::{ACCOUNT_ID}:user/ci",
                "userId": "AIDA",
            }, []
        if args.token == "aws:index/getRegion:getRegion":
            return {
                "region": self.home_region,
                "name": self.home_region,
                "id": self.home_region,
            }, []
        raise NotImplementedError(f"the mocks do not answer {args.token}")


class ProgramError(Exception):
    """The program raised; ``declared`` is what it had declared by then."""

    def __init__(self, error: Exception, declared: list[Declared]) -> None:
        super().__init__(f"{type(error).__name__}: {error}")
        self.error = error
        self.declared = declared


def run_under_mocks(
    program: Callable[[], Mapping[str, Any]], config: Mapping[str, str], *, stack: str = "test"
) -> Deployment:
    """Run ``program`` (which declares resources and returns its outputs) with ``config``."""
    home_region = config.get("aws:region", "us-east-1")
    mocks = RecordingMocks(home_region, stack)
    monitor = RecordingMonitor(mocks, home_region)
    # A stack resource of this run's own: set_mocks keeps an earlier run's, whose outputs a failed
    # run may have left unresolved.
    pulumi.runtime.settings.ROOT.set(None)
    pulumi.runtime.set_mocks(mocks, project=PROJECT, stack=stack, preview=False, monitor=monitor)
    pulumi.runtime.set_all_config(dict(config))
    resolved: dict[str, Any] = {}
    raised: list[Exception] = []

    @pulumi.runtime.test  # type: ignore[untyped-decorator]
    def run() -> pulumi.Output[None]:
        try:
            outputs = program()
        except Exception as error:
            # Nothing of the program's is cancelled here: Pulumi waits for what it left, as under
            # `pulumi up`, so a program that would hang there hangs here too (components/promises.py
            # is what keeps it from hanging).
            raised.append(error)
            raise
        return pulumi.Output.from_input(dict(outputs)).apply(resolved.update)

    try:
        run()
    except BaseException as error:
        # The program's own error, not the cancellation of what it left waiting.
        cause = raised[0] if raised else error
        if not isinstance(cause, Exception):
            raise
        if raised:
            _cancel_leftover_tasks()
        raise ProgramError(cause, monitor.declared) from cause
    finally:
        pulumi.runtime.set_all_config({})
    return Deployment(stack, monitor.declared, resolved)


def _cancel_leftover_tasks() -> None:
    """After a program error, end whatever of it still waits in the event loop (outputs of
    resources that were never registered), rather than leave it for the next run's loop."""
    loop = asyncio.get_event_loop()
    while tasks := [task for task in asyncio.all_tasks(loop) if not task.done()]:
        for task in tasks:
            task.cancel()
        loop.run_until_complete(asyncio.gather(*tasks, return_exceptions=True))


def deploy(config: Mapping[str, str], *, stack: str = "test") -> Deployment:
    """Run ``__main__.py`` with ``config`` (namespaced keys → CLI strings); outputs: its exports."""

    def program() -> dict[str, Any]:
        exports: dict[str, Any] = {}
        with mock.patch.object(pulumi, "export", exports.__setitem__):
            runpy.run_path(str(MAIN), run_name="__main__")
        return exports

    return run_under_mocks(program, config, stack=stack)


def project_config(**values: Any) -> dict[str, str]:
    """Namespaced config from keyword values, encoded as the CLI encodes them."""
    config = {"aws:region": "us-east-1"}
    for key, value in values.items():
        config[f"{PROJECT}:{key}"] = value if isinstance(value, str) else json.dumps(value)
    return config
