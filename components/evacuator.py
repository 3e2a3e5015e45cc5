"""Evacuator: the scheduled health checks that take a failing origin out of rotation and bring it
back, one Lambda function per vantage Region (``evacuation.lambda_function``).

Per vantage Region: a log group with a retention, declared before the function; the function, its
settings in one environment variable; an EventBridge Scheduler schedule invoking it every minute,
each invocation running rounds for two minutes (``core.evacuation``: so that one always runs,
whatever the scheduler's phase).
One execution role serves every function and may do exactly what an evacuator does
(``policies.evacuator_policy``): read each bucket's health object, query and write this stack's
state table, with CloudFront Functions describe and write this stack's key value store, notify the
alarm topic and publish its metric. With CloudFront Functions, ``pulumi up`` also invokes one
vantage's function once to publish the drained list to the key value store at once
(``synced_kvs_arn``).

The code is the ``evacuation`` package with its own AWS SDK (boto3, botocore with the data of the
services it calls, and what they import) and the pure-Python ``ecdsa`` (for SigV4A,
``evacuation.sigv4a``), taken from this interpreter's environment (``package_files``). Lambda's
Python runtimes carry an SDK too, but one Lambda updates on its own schedule, per Region: "To
maintain full control over your dependencies and to avoid possible version misalignment issues, we
recommend you add all of your function's dependencies to your deployment package, even if versions
of them are included in the Lambda runtime. This includes the Boto3 SDK." ("Working with .zip file
archives for Python Lambda functions", Lambda developer guide,
https://docs.aws.amazon.com/lambda/latest/dg/python-package.html), and the runtime searches the
folder the package is unpacked in (/var/task) before its own libraries (same page, "Dependency
search path and runtime-included libraries"), so the package's own is imported. The same files give
the same archive, so nothing is redeployed while they stay the same; the arguments are checked
against the function's timeout with every wait counted (``evacuation.budget``).
"""

from __future__ import annotations

import functools
import hashlib
import importlib.util
import io
import json
import os
import zipfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pulumi
import pulumi_aws as aws

from core.cloudfront import DEFAULT_CONNECTION_TIMEOUT_SECONDS
from core.evacuation import (
    DEFAULT_EVACUATION_FAILURES,
    DEFAULT_EVACUATION_RECOVERIES,
    EVACUATION_FRESH_SECONDS,
    EVACUATION_INVOCATION_SECONDS,
    EVACUATION_PROBE_SECONDS,
    EVACUATION_QUORUM,
    EVACUATION_READ_TIMEOUT_SECONDS,
    EVACUATOR_HANDLER,
    EVACUATOR_MAXIMUM_EVENT_AGE_SECONDS,
    EVACUATOR_MEMORY_MB,
    EVACUATOR_RUNTIME,
    EVACUATOR_SCHEDULE,
    EVACUATOR_TIMEOUT_SECONDS,
    STATE_TABLE_HOME_REGION,
    default_max_out,
    evacuator_document,
)
from core.monitoring import DEFAULT_LOG_RETENTION_DAYS
from core.naming import evacuator_function_name
from core.policies import (
    evacuator_policy,
    invoke_policy,
    lambda_execution_trust_policy,
    service_trust_policy,
)
from evacuation.budget import (
    SERVICES,
    RequestLimits,
    round_paths,
    worst_first_round_seconds,
    worst_invocation_seconds,
    worst_sync_seconds,
)
from evacuation.evacuator import HEALTH_KEY, METRIC_NAMESPACE
from evacuation.lambda_function import SETTINGS_VARIABLE
from evacuation.state import out_value
from routing.catalogue import REGION_CODE_PATTERN

# Lambda quotas: "Function environment variables: 4 KB, for all environment variables associated
# with the function, in aggregate" (KB = 1,024 bytes there). How the aggregate is counted is not
# documented; the JSON text of the whole variable map, larger than keys and values alone, is counted
# here: the conservative reading.
MAX_ENVIRONMENT_BYTES = 4096
# The longest values the settings can hold, for the bound checked before anything is declared: an
# S3 bucket name (63), a DynamoDB table name (255), a key value store ARN (its id a UUID) and an SNS
# topic ARN (a topic name of 256) in a Region code of the longest shape.
_LONGEST_BUCKET = "b" * 63
_LONGEST_TABLE = "t" * 255
_LONGEST_KVS_ARN = "arn:aws:cloudfront::123456789012:key-value-store/" + "0" * 36
_LONGEST_TOPIC_ARN = "arn:aws:sns:ap-southeast-99:123456789012:" + "t" * 256
# Account ids are twelve digits.
_AN_ACCOUNT = "123456789012"
# Runtime modules of the evacuator's dependencies that are their own tests, not their code.
_NOT_SHIPPED = ("test_",)
# What the function's package carries (``package_files``): the evacuator's code, the AWS SDK and
# what it imports, and ecdsa for SigV4A. A module alone (six) or a package folder.
_PACKAGED = (
    "evacuation",
    "boto3",
    "botocore",
    "s3transfer",
    "jmespath",
    "dateutil",
    "six",
    "urllib3",
    "ecdsa",
)
_BOTOCORE_DATA = (
    "_retry.json",
    "endpoints.json",
    "partitions.json",
    "sdk-default-configuration.json",
)
# "Deployment package (.zip file archive) size: 50 MB (zipped, when uploaded through the Lambda API
# or SDKs)" (Lambda quotas); the package, stored, is a few megabytes.
MAX_PACKAGE_BYTES = 50 * 1024 * 1024
_BUILD_FOLDER = Path(__file__).resolve().parents[1] / ".build"
# A fixed time stamp and mode make the archive a function of its contents alone.
_ZIP_TIMESTAMP = (1980, 1, 1, 0, 0, 0)
_ZIP_FILE_MODE = 0o100644 << 16
_SCHEDULER_SERVICE = "scheduler.amazonaws.com"


class EvacuatorError(ValueError):
    """EvacuatorArgs that would make an evacuator AWS refuses or that cannot decide anything."""


def environment_variables(document: Mapping[str, Any]) -> dict[str, str]:
    """The function's environment: the settings as compact JSON in one variable."""
    return {SETTINGS_VARIABLE: json.dumps(document, sort_keys=True, separators=(",", ":"))}


def environment_bytes(variables: Mapping[str, str]) -> int:
    """The size the 4 KB quota is checked against here: the variable map as JSON, in UTF-8."""
    return len(json.dumps(dict(variables), separators=(",", ":")).encode("utf-8"))


def _installed(package: str) -> Path:
    """Where ``package`` (a package folder, or a module's file) is installed beside the program."""
    spec = importlib.util.find_spec(package)
    if spec is None or not (spec.submodule_search_locations or spec.origin):
        raise EvacuatorError(
            f"the evacuator's function is packaged with {package} from the program's environment, "
            "and it is not installed there (pip install -r requirements.txt)"
        )
    if spec.submodule_search_locations:
        (folder,) = spec.submodule_search_locations
        return Path(folder)
    return Path(str(spec.origin))


def _botocore_data(data: Path) -> list[Path]:
    """The data botocore loads for the evacuator's clients: its endpoints, partitions, default
    configuration and retry rules, and the newest API version of each service the evacuator calls
    (``evacuation.budget.SERVICES``), without the examples (documentation only)."""
    files = [data / name for name in _BOTOCORE_DATA]
    for service in SERVICES:
        newest = max(version for version in (data / service).iterdir() if version.is_dir())
        files += [f for f in sorted(newest.iterdir()) if not f.name.startswith("examples-")]
    return files


@functools.cache
def package_files() -> dict[str, bytes]:
    """Archive path → contents of every file the evacuator's function runs, as installed beside
    the program: the ``evacuation`` package; the AWS SDK it calls AWS with (boto3, botocore with
    the data of the services it calls only, and what they import: s3transfer, jmespath, dateutil,
    six, urllib3), so that it runs on the versions it was tested with, not on whatever the Lambda
    runtime carries that day; and ecdsa for SigV4A."""
    files: dict[str, bytes] = {}
    for package in _PACKAGED:
        where = _installed(package)
        if where.is_file():
            files[where.name] = where.read_bytes()
            continue
        modules = [m for m in sorted(where.rglob("*.py")) if not m.name.startswith(_NOT_SHIPPED)]
        # botocore's certificates (used where certifi is not installed) and data.
        extra = (
            [where / "cacert.pem", *_botocore_data(where / "data")] if package == "botocore" else []
        )
        for file in [*modules, *extra]:
            files[f"{package}/{file.relative_to(where).as_posix()}"] = file.read_bytes()
    return files


def archive_bytes(files: Mapping[str, bytes]) -> bytes:
    """A zip archive of ``files``, the same bytes for the same files on any machine: sorted, a
    fixed time stamp and mode, and stored rather than compressed, since compressors differ from
    one build of zlib to another."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_STORED) as archive:
        for name in sorted(files):
            entry = zipfile.ZipInfo(name, date_time=_ZIP_TIMESTAMP)
            entry.external_attr = _ZIP_FILE_MODE
            archive.writestr(entry, files[name])
    return buffer.getvalue()


@functools.cache
def package_archive() -> Path:
    """The function's code as a zip file, written once under the project's ``.build`` folder and
    named after its contents: Pulumi keeps only its path and hash in the stack's state (the text of
    a few megabytes of inline assets would be copied into the state for every function)."""
    data = archive_bytes(package_files())
    if len(data) > MAX_PACKAGE_BYTES:
        raise EvacuatorError(
            f"the evacuator's package is {len(data)} bytes; Lambda takes at most "
            f"{MAX_PACKAGE_BYTES} (Lambda quotas, deployment package)"
        )
    path = _BUILD_FOLDER / f"evacuator-{hashlib.sha256(data).hexdigest()[:20]}.zip"
    if not path.is_file() or path.read_bytes() != data:
        path.parent.mkdir(parents=True, exist_ok=True)
        partial = path.with_suffix(f".{os.getpid()}.partial")
        partial.write_bytes(data)
        partial.replace(path)
    return path


@dataclass(frozen=True)
class EvacuatorArgs:
    vantages: Sequence[str]
    """Required. The Regions the health checks run from, two or more (``quorum`` must agree)."""

    bucket_names: Mapping[str, pulumi.Input[str]]
    """Required. Origin Region → its bucket, for every origin (two or more); each bucket holds the
    health object ``evacuation.evacuator.HEALTH_KEY``."""

    table_name: pulumi.Input[str]
    """Required. The routing state table (``RoutingState.table_name``), with a replica in every
    vantage Region."""

    table_region: str | None = None
    """The table's home Region, where Pulumi writes its item. The sync runs there when it is a
    vantage Region, so that it reads the item just written rather than a replica a moment behind.
    Default None: the first vantage Region."""

    kvs_arn: pulumi.Input[str] | None = None
    """With CloudFront Functions: the key value store the evacuator publishes the origins out of
    rotation to. Default None (Lambda@Edge reads the table itself)."""

    topic_arn: pulumi.Input[str] | None = None
    """The SNS topic every evacuation and restore is notified on. Default None: logged only."""

    drained: Sequence[str] = ()
    """The origins the stack drains: a change re-publishes the state to the key value store on
    ``pulumi up``. Default none."""

    failures: int = DEFAULT_EVACUATION_FAILURES
    """Failed probes in a row, seen by ``quorum`` vantage Regions, that take an origin out.
    Default 4."""

    recoveries: int = DEFAULT_EVACUATION_RECOVERIES
    """Good probes in a row, seen by ``quorum`` vantage Regions, that bring it back. Default 13
    (two minutes of health)."""

    quorum: int = EVACUATION_QUORUM
    """How many vantage Regions must agree. Default 2."""

    max_out: int | None = None
    """The most origins the checks hold out of rotation at once. Default None: half the origins,
    rounded down, at least one (``core.evacuation.default_max_out``)."""

    connect_timeout: int = DEFAULT_CONNECTION_TIMEOUT_SECONDS
    """Seconds a probe waits for a connection: CloudFront's connection timeout. Default 1."""

    read_timeout: int = EVACUATION_READ_TIMEOUT_SECONDS
    """Seconds a probe waits for the answer, so a stall counts as a failure. Default 5."""

    probe_seconds: int = EVACUATION_PROBE_SECONDS
    """Seconds between rounds (the ticks, on the epoch's grid). Default 10."""

    invocation_seconds: int = EVACUATION_INVOCATION_SECONDS
    """How long each scheduled invocation (one a minute) runs rounds. Default 120: longer than
    the widest gap between two invocations at EventBridge Scheduler's 60 s precision."""

    fresh_seconds: int = EVACUATION_FRESH_SECONDS
    """How long a vantage Region's view counts after its last probe. Default 90."""

    log_retention_days: int = DEFAULT_LOG_RETENTION_DAYS
    """Days CloudWatch keeps each function's logs. Default 30."""

    function_name: str | None = None
    """The functions' name (one per vantage Region, the same in each). Default
    ``<project>-<stack>-evacuator`` (``naming.evacuator_function_name``)."""

    stack_name: str | None = None
    """The name notifications and the ``OriginsInRotation`` metric (dimension ``Stack``) carry.
    Default the Pulumi stack's name."""

    tags: Mapping[str, str] = field(default_factory=dict)
    """Tags of the functions, roles and log groups. Default none."""

    def __post_init__(self) -> None:
        vantages = list(self.vantages)
        if len(set(vantages)) != len(vantages):
            raise EvacuatorError(f"vantages {vantages} lists a Region twice")
        if not 1 <= self.quorum <= len(vantages):
            raise EvacuatorError(
                f"a quorum of {self.quorum} needs that many vantage Regions; {vantages} has "
                f"{len(vantages)}"
            )
        named = [*vantages, *self.bucket_names, *self.drained, *filter(None, [self.table_region])]
        for code in named:
            if not REGION_CODE_PATTERN.match(code):
                raise EvacuatorError(f"{code!r} is not a Region code")
        if len(self.bucket_names) < 2:
            raise EvacuatorError("an evacuator needs two or more origins: the last is never out")
        if not 1 <= self.limit < len(self.bucket_names):
            raise EvacuatorError(
                f"max_out {self.max_out} must be from 1 to {len(self.bucket_names) - 1}: the "
                "checks never take every origin out"
            )
        if not set(self.drained) <= set(self.bucket_names):
            raise EvacuatorError(f"drained {list(self.drained)} are not all origins")
        if min(self.failures, self.recoveries, self.probe_seconds, self.invocation_seconds) < 1:
            raise EvacuatorError(
                "failures, recoveries, probe_seconds and invocation_seconds must be 1 or more"
            )
        self._check_budget()
        worst = environment_bytes(environment_variables(self.worst_case_settings()))
        if worst > MAX_ENVIRONMENT_BYTES:
            raise EvacuatorError(
                f"the settings of {len(self.bucket_names)} origins may take {worst} bytes of "
                f"environment; Lambda allows {MAX_ENVIRONMENT_BYTES} (Lambda quotas)"
            )

    @property
    def sync_region(self) -> str:
        """The vantage Region whose function publishes the state on ``pulumi up``."""
        if self.table_region is not None and self.table_region in self.vantages:
            return self.table_region
        return self.vantages[0]

    def _check_budget(self) -> None:
        """Refuse what a run cannot do within the function's timeout, every wait counted
        (``evacuation.budget``)."""
        timeout = EVACUATOR_TIMEOUT_SECONDS
        if self.longest_invocation_seconds > timeout:
            raise EvacuatorError(
                f"{self.invocation_seconds} s of rounds and a last round of "
                f"{self.connect_timeout} + {self.read_timeout} s probes, every request at its "
                f"limits, take {self.longest_invocation_seconds:g} s, more than the function's "
                f"{timeout} s timeout"
            )
        if self.first_round_seconds > timeout:
            raise EvacuatorError(
                f"with {self.connect_timeout} + {self.read_timeout} s probes a run's first round "
                f"may take {self.first_round_seconds:g} s, every request at its limits, more than "
                f"the function's {timeout} s timeout"
            )
        if self.sync_seconds is not None and self.sync_seconds > timeout:
            raise EvacuatorError(
                f"the sync may take {self.sync_seconds:g} s, every request at its limits, more "
                f"than the function's {timeout} s timeout"
            )

    @property
    def limit(self) -> int:
        """The most origins the checks hold out at once."""
        return self.max_out if self.max_out is not None else default_max_out(len(self.bucket_names))

    @property
    def probe(self) -> RequestLimits:
        """A probe's limits: the connection and read timeouts, one attempt."""
        return RequestLimits(self.connect_timeout, self.read_timeout, attempts=1)

    @property
    def round_paths(self) -> tuple[dict[str, int], ...]:
        """The requests a round may send, by service (``evacuation.budget.round_paths``)."""
        return round_paths(kvs=self.kvs_arn is not None, topic=self.topic_arn is not None)

    @property
    def first_round_seconds(self) -> float:
        """The longest a round and the run's metrics take, every request at its limits: a run
        starts no round with less of the function's time left (``Evacuator.run``)."""
        return worst_first_round_seconds(self.probe, self.round_paths)

    @property
    def longest_invocation_seconds(self) -> float:
        """The longest a run takes, every request at its limits: rounds started for
        ``invocation_seconds``, the last one at its longest, then the metrics."""
        return worst_invocation_seconds(
            invocation_seconds=self.invocation_seconds, probe=self.probe, paths=self.round_paths
        )

    @property
    def sync_seconds(self) -> float | None:
        """With a key value store, the longest the sync takes (``worst_sync_seconds``)."""
        return worst_sync_seconds() if self.kvs_arn is not None else None

    def settings(
        self,
        *,
        stack: str,
        vantage: str,
        buckets: Mapping[str, str],
        table: str,
        kvs_arn: str | None,
        topic_arn: str | None,
        account: str,
    ) -> dict[str, Any]:
        """One vantage Region's settings document, from these arguments and resolved values."""
        return evacuator_document(
            stack=stack,
            vantage=vantage,
            vantages=self.vantages,
            buckets=buckets,
            table=table,
            table_region=self.table_region or STATE_TABLE_HOME_REGION,
            kvs_arn=kvs_arn,
            topic_arn=topic_arn,
            account=account,
            failures=self.failures,
            recoveries=self.recoveries,
            quorum=self.quorum,
            max_out=self.limit,
            probe_seconds=self.probe_seconds,
            invocation_seconds=self.invocation_seconds,
            fresh_seconds=self.fresh_seconds,
            connect_timeout=self.connect_timeout,
            read_timeout=self.read_timeout,
        )

    def worst_case_settings(self) -> dict[str, Any]:
        """The settings with every value an Output may hold at its longest (a 100-character stack
        name, Pulumi's longest)."""
        return self.settings(
            stack=self.stack_name or "s" * 100,
            vantage=max(self.vantages, key=len),
            buckets=dict.fromkeys(self.bucket_names, _LONGEST_BUCKET),
            table=_LONGEST_TABLE,
            kvs_arn=_LONGEST_KVS_ARN if self.kvs_arn is not None else None,
            topic_arn=_LONGEST_TOPIC_ARN if self.topic_arn is not None else None,
            account=_AN_ACCOUNT,
        )


class Evacuator(pulumi.ComponentResource):
    function_names: dict[str, pulumi.Output[str]]
    """Vantage Region → its function's name."""

    function_arns: dict[str, pulumi.Output[str]]
    """Vantage Region → its function's ARN."""

    role_arn: pulumi.Output[str]
    """The functions' execution role."""

    synced_kvs_arn: pulumi.Output[str] | None
    """With a key value store: its ARN, known only once ``pulumi up`` has published the routing
    state to it (the sync invocation): what the CloudFront function is associated with, so it is
    never published before the key it reads exists. None without a store."""

    def __init__(
        self, name: str, args: EvacuatorArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("geo-proximity:index:Evacuator", name, None, opts)
        tags = dict(args.tags)
        stack = args.stack_name or pulumi.get_stack()
        function_name = args.function_name or evacuator_function_name(pulumi.get_project(), stack)
        account_id = aws.get_caller_identity_output(
            opts=pulumi.InvokeOptions(parent=self)
        ).account_id
        role, policy = self._role(name, args, function_name, account_id, tags)
        environments = self._environments(args, stack, account_id)
        code = pulumi.FileArchive(os.path.relpath(package_archive()))
        functions = {
            vantage: self._function(
                name, vantage, function_name, role, policy, code, environments[vantage], args, tags
            )
            for vantage in args.vantages
        }
        self._schedules(name, functions, account_id, tags)
        self.synced_kvs_arn = None
        if args.kvs_arn is not None:
            self.synced_kvs_arn = self._sync(name, args, args.kvs_arn, functions, policy)
        self.function_names = {vantage: f.name for vantage, f in functions.items()}
        self.function_arns = {vantage: f.arn for vantage, f in functions.items()}
        self.role_arn = role.arn
        self.register_outputs(
            {
                "functionNames": self.function_names,
                "functionArns": self.function_arns,
                "roleArn": self.role_arn,
                "syncedKvsArn": self.synced_kvs_arn,
            }
        )

    def _role(
        self,
        name: str,
        args: EvacuatorArgs,
        function_name: str,
        account_id: pulumi.Output[str],
        tags: dict[str, str],
    ) -> tuple[aws.iam.Role, aws.iam.RolePolicy]:
        """The execution role every vantage's function runs as, and its one policy."""
        child = pulumi.ResourceOptions(parent=self)
        role = aws.iam.Role(
            f"{name}-role",
            aws.iam.RoleArgs(
                # Lambda may assume it, with no aws:SourceAccount condition (core.policies).
                assume_role_policy=json.dumps(lambda_execution_trust_policy()),
                description="Evacuator: probes the origins' health objects, writes this stack's "
                "routing state",
                tags=tags,
            ),
            opts=child,
        )
        vantages = list(args.vantages)

        def document(values: list[Any]) -> str:
            account, buckets, table, kvs_arn, topic_arn = values
            return json.dumps(
                evacuator_policy(
                    account,
                    health_objects=[f"{bucket}/{HEALTH_KEY}" for bucket in buckets.values()],
                    table_name=table,
                    log_groups=[
                        f"arn:aws:logs:{vantage}:{account}:log-group:/aws/lambda/{function_name}"
                        for vantage in vantages
                    ],
                    kvs_arn=kvs_arn,
                    topic_arn=topic_arn,
                    metric_namespace=METRIC_NAMESPACE,
                ),
                sort_keys=True,
            )

        policy = aws.iam.RolePolicy(
            f"{name}-policy",
            aws.iam.RolePolicyArgs(
                role=role.id,
                policy=pulumi.Output.all(
                    account_id,
                    pulumi.Output.all(**args.bucket_names),
                    args.table_name,
                    args.kvs_arn,
                    args.topic_arn,
                ).apply(document),
            ),
            opts=child,
        )
        return role, policy

    @staticmethod
    def _environments(
        args: EvacuatorArgs, stack: str, account_id: pulumi.Output[str]
    ) -> dict[str, pulumi.Output[dict[str, str]]]:
        """Vantage Region → its function's environment variables."""

        def environment(vantage: str) -> pulumi.Output[dict[str, str]]:
            return values.apply(lambda resolved: variables_of(vantage, resolved))

        def variables_of(vantage: str, values: list[Any]) -> dict[str, str]:
            buckets, table, kvs_arn, topic_arn, account = values
            variables = environment_variables(
                args.settings(
                    stack=stack,
                    vantage=vantage,
                    buckets=buckets,
                    table=table,
                    kvs_arn=kvs_arn,
                    topic_arn=topic_arn,
                    account=account,
                )
            )
            size = environment_bytes(variables)
            if size > MAX_ENVIRONMENT_BYTES:
                raise EvacuatorError(
                    f"the evacuator's settings take {size} bytes; Lambda "
                    f"allows {MAX_ENVIRONMENT_BYTES} bytes of environment variables"
                )
            return variables

        values = pulumi.Output.all(
            pulumi.Output.all(**args.bucket_names),
            args.table_name,
            args.kvs_arn,
            args.topic_arn,
            account_id,
        )
        return {vantage: environment(vantage) for vantage in args.vantages}

    def _function(
        self,
        name: str,
        vantage: str,
        function_name: str,
        role: aws.iam.Role,
        policy: aws.iam.RolePolicy,
        code: pulumi.Archive,
        variables: pulumi.Output[dict[str, str]],
        args: EvacuatorArgs,
        tags: dict[str, str],
    ) -> aws.lambda_.Function:
        """The log group, with its retention, then the function in one vantage Region."""
        child = pulumi.ResourceOptions(parent=self)
        group = aws.cloudwatch.LogGroup(
            f"{name}-logs-{vantage}",
            aws.cloudwatch.LogGroupArgs(
                region=vantage,
                name=f"/aws/lambda/{function_name}",
                retention_in_days=args.log_retention_days,
                tags=tags,
            ),
            opts=child,
        )
        return aws.lambda_.Function(
            f"{name}-function-{vantage}",
            aws.lambda_.FunctionArgs(
                region=vantage,
                name=function_name,
                role=role.arn,
                runtime=EVACUATOR_RUNTIME,
                architectures=["x86_64"],
                handler=EVACUATOR_HANDLER,
                code=code,
                memory_size=EVACUATOR_MEMORY_MB,
                timeout=EVACUATOR_TIMEOUT_SECONDS,
                environment=aws.lambda_.FunctionEnvironmentArgs(variables=variables),
                description="Probes every origin's health object; takes a failing origin out of "
                "rotation",
                tags=tags,
            ),
            # Its logs go to a group with a retention; its first run has its permissions.
            opts=pulumi.ResourceOptions.merge(
                child, pulumi.ResourceOptions(depends_on=[group, policy])
            ),
        )

    def _schedules(
        self,
        name: str,
        functions: Mapping[str, aws.lambda_.Function],
        account_id: pulumi.Output[str],
        tags: dict[str, str],
    ) -> None:
        """A schedule per vantage Region invoking its function every minute, and the role they
        invoke with: it may invoke these functions and nothing else."""
        child = pulumi.ResourceOptions(parent=self)
        role = aws.iam.Role(
            f"{name}-scheduler-role",
            aws.iam.RoleArgs(
                assume_role_policy=account_id.apply(
                    lambda account: json.dumps(service_trust_policy(_SCHEDULER_SERVICE, account))
                ),
                description="EventBridge Scheduler: invokes the evacuator, nothing else",
                tags=tags,
            ),
            opts=child,
        )
        policy = aws.iam.RolePolicy(
            f"{name}-scheduler-policy",
            aws.iam.RolePolicyArgs(
                role=role.id,
                policy=pulumi.Output.all(*(f.arn for f in functions.values())).apply(
                    lambda arns: json.dumps(invoke_policy(arns), sort_keys=True)
                ),
            ),
            opts=child,
        )
        for vantage, function in functions.items():
            # The schedule's retry policy covers its delivery only; a run that fails would still be
            # run "two more times, with a one-minute wait ... and two minutes" by Lambda ("How
            # Lambda handles errors and retries with asynchronous invocation", Lambda developer
            # guide, https://docs.aws.amazon.com/lambda/latest/dg/invocation-async-error-handling.html).
            # A failed run is reported (its silence raises an alarm); the next minute's is the
            # retry. Runs still overlap (two-minute runs, and the same event "multiple times"):
            # a vantage Region counts a tick once whatever runs it.
            aws.lambda_.FunctionEventInvokeConfig(
                f"{name}-invoke-config-{vantage}",
                aws.lambda_.FunctionEventInvokeConfigArgs(
                    region=vantage,
                    function_name=function.name,
                    maximum_retry_attempts=0,
                    maximum_event_age_in_seconds=EVACUATOR_MAXIMUM_EVENT_AGE_SECONDS,
                ),
                opts=child,
            )
            aws.scheduler.Schedule(
                f"{name}-schedule-{vantage}",
                aws.scheduler.ScheduleArgs(
                    region=vantage,
                    description="Evacuator health checks (an invocation a minute, two minutes of "
                    "rounds each)",
                    schedule_expression=EVACUATOR_SCHEDULE,
                    # No flexible window: it would add up to its length to the 60 s precision
                    # ("invokes the target within the time window you set", EventBridge Scheduler
                    # user guide, "Configuring flexible time windows"), and the two-minute runs
                    # cover 60 s of it only.
                    flexible_time_window=aws.scheduler.ScheduleFlexibleTimeWindowArgs(mode="OFF"),
                    target=aws.scheduler.ScheduleTargetArgs(
                        arn=function.arn,
                        role_arn=role.arn,
                        input=json.dumps({"action": "check"}),
                        # A check a minute late is stale; the next one is on its way. The API's
                        # shortest event age is 60 s ("Valid Range: Minimum value of 60",
                        # EventBridge Scheduler API reference, RetryPolicy,
                        # https://docs.aws.amazon.com/scheduler/latest/APIReference/API_RetryPolicy.html).
                        retry_policy=aws.scheduler.ScheduleTargetRetryPolicyArgs(
                            maximum_event_age_in_seconds=EVACUATOR_MAXIMUM_EVENT_AGE_SECONDS,
                            maximum_retry_attempts=0,
                        ),
                    ),
                ),
                opts=pulumi.ResourceOptions.merge(
                    child, pulumi.ResourceOptions(depends_on=[policy])
                ),
            )

    def _sync(
        self,
        name: str,
        args: EvacuatorArgs,
        kvs_arn: pulumi.Input[str],
        functions: Mapping[str, aws.lambda_.Function],
        policy: aws.iam.RolePolicy,
    ) -> pulumi.Output[str]:
        """Invoke one vantage's function (``sync_region``) with ``{"action": "sync"}``: it
        publishes the routing state to the key value store. pulumi-aws's Invocation: "By default
        this resource only invokes the function when the arguments call for a create or replace";
        its ``triggers`` are a "Map of arbitrary keys and values that, when changed, will trigger a
        re-invocation": the drained list, the table and the store."""
        first = args.sync_region
        invocation = aws.lambda_.Invocation(
            f"{name}-sync",
            aws.lambda_.InvocationArgs(
                region=first,
                function_name=functions[first].name,
                input=json.dumps({"action": "sync"}),
                triggers={
                    "drained": out_value(args.drained),
                    "table": args.table_name,
                    "store": kvs_arn,
                },
            ),
            opts=pulumi.ResourceOptions(parent=self, depends_on=[policy, functions[first]]),
        )
        return pulumi.Output.all(kvs_arn, invocation.result).apply(lambda values: values[0])
