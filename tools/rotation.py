"""./dev evacuate|restore|status: take an origin Region out of rotation by hand, bring it back, and
show the routing state, with your own AWS credentials (the break-glass commands).

    pulumi stack output --json > outputs.json
    ./dev evacuate eu-central-1 --stack prod --outputs outputs.json --reason "S3 5xx there"
    ./dev status --stack prod --outputs outputs.json
    ./dev restore eu-central-1 --stack prod --outputs outputs.json --reason "S3 recovered"
    ./dev restore eu-central-1 --stack prod --outputs outputs.json --hand-back

The stack file (Pulumi.<stack>.yaml) names the origins and the engine; the stack output
``routingState`` names the store: the DynamoDB table (and its home Region), and with CloudFront
Functions the key value store. Without outputs, give --table, --table-region and --kvs-arn.

An operator's decision is an item of its own in the state table (``operator#<Region>``), with
since when, by whom (your identity, from STS; the access key id against an emulator) and why:
``evacuate`` puts the origin out of rotation, ``restore`` holds it in (the health checks leave it
in, even if they had taken it out), and either stays until an operator changes it; ``restore
--hand-back`` removes the decision, and the health checks decide again. The health checks never
write these items. With CloudFront Functions the origins out of rotation are published to the key
value store at once. The commands refuse to take the last origin in rotation out. Exit status: 0
done (or nothing to do), 2 a problem you can fix, said in one line.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import boto3
from botocore.config import Config
from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    EndpointConnectionError,
    NoCredentialsError,
)

from core.engine import Engine
from core.evacuation import EVACUATION_PROBE_SECONDS
from evacuation.decide import IN, OUT, Evacuation, OperatorDecision, View, out_of_rotation
from evacuation.lambda_function import keyvaluestore_client
from evacuation.state import (
    DRAINED_KEY,
    ROTATION_KEY,
    KeyValueStore,
    Publication,
    RoutingState,
    StaleStateError,
    StateTable,
    move_operator_entries,
    value_version,
)
from evacuation.state import publish as publish_state
from routing.artifact import DEFAULT_STATE_REFRESH_SECONDS
from settings.parser import Settings
from settings.stack_file import settings_from_stack_file
from settings.table import PROJECT
from tools.cli import (
    MAX_REASON_CHARACTERS,
    NO_CREDENTIALS,
    ToolError,
    checked_reason,
    edge_region,
    kvs_arn,
    printable,
    run_command,
    table_name,
)
from tools.stack_buckets import read_outputs

# The services whose endpoints --endpoint-url may replace.
SERVICES = ("dynamodb", "cloudfront-keyvaluestore", "sts")
_CLIENT_CONFIG = Config(
    connect_timeout=5, read_timeout=10, retries={"max_attempts": 2, "mode": "standard"}
)


@dataclass(frozen=True)
class Store:
    """Where a stack's routing state lives."""

    engine: Engine
    table: str
    table_region: str
    kvs_arn: str | None
    # The key value store key the CloudFront function reads; None with Lambda@Edge.
    state_key: str | None


@dataclass
class Target:
    """What a command works on: the stack, its store, and clients for it."""

    settings: Settings
    store: Store
    table: StateTable
    kvs: KeyValueStore | None
    endpoints: dict[str, str]
    session: Any


def endpoint_overrides(flags: Sequence[str]) -> dict[str, str]:
    """``--endpoint-url SERVICE=URL`` flags, checked, by service."""
    endpoints: dict[str, str] = {}
    for flag in flags:
        service, separator, url = flag.partition("=")
        if not separator or service not in SERVICES:
            raise ToolError(
                f"--endpoint-url {flag!r}: expected SERVICE=URL with SERVICE one of "
                f"{', '.join(SERVICES)}"
            )
        if not url.startswith(("http://", "https://")):
            raise ToolError(f"--endpoint-url {flag!r}: the URL must start http:// or https://")
        endpoints[service] = url
    return endpoints


def store_from(options: argparse.Namespace, settings: Settings) -> Store:
    """The store named by the outputs' ``routingState`` or by the flags."""
    if options.outputs is not None:
        if options.table or options.table_region or options.kvs_arn:
            raise ToolError("give --outputs, or --table and --table-region: not both")
        return _store_from_outputs(options.outputs, settings)
    if not options.table or not options.table_region:
        raise ToolError(
            "where is the routing state? give --outputs outputs.json (pulumi stack output "
            "--json), or --table NAME and --table-region REGION"
        )
    functions = settings.engine is Engine.CLOUDFRONT_FUNCTIONS
    if functions and not options.kvs_arn:
        raise ToolError("the cloudfront-functions engine reads a key value store: give --kvs-arn")
    return Store(
        settings.engine,
        options.table,
        options.table_region,
        options.kvs_arn if functions else None,
        settings.state_key if functions else None,
    )


def _store_from_outputs(source: str, settings: Settings) -> Store:
    state = read_outputs(source).get("routingState")
    where = f"stack outputs in {source}"
    if isinstance(state, dict) and state.get("stateKey") == DRAINED_KEY:
        raise ToolError(drained_only(DRAINED_KEY))
    if not isinstance(state, dict) or not isinstance(state.get("table"), str):
        raise ToolError(
            f"{where} have no 'routingState' with a table: a stack with one origin has none, "
            "and a stack deployed before the routing state existed needs a pulumi up"
        )
    engine = state.get("engine")
    if engine != settings.engine.value:
        theirs = (
            f"are of a {printable(engine)} stack" if isinstance(engine, str) else "name no engine"
        )
        raise ToolError(
            f"{where} {theirs}, and Pulumi.{settings.stack}.yaml says {settings.engine.value}: "
            "run pulumi up first, or give this stack's outputs"
        )
    region = state.get("tableRegion")
    if not isinstance(region, str):
        raise ToolError(f"{where}: routingState has no tableRegion")
    kvs_arn, key = state.get("kvsArn"), state.get("stateKey")
    if settings.engine is Engine.CLOUDFRONT_FUNCTIONS and not isinstance(kvs_arn, str):
        raise ToolError(f"{where}: routingState has no kvsArn, which this engine needs")
    return Store(
        settings.engine,
        state["table"],
        region,
        kvs_arn if isinstance(kvs_arn, str) else None,
        key if isinstance(key, str) else None,
    )


def connect(options: argparse.Namespace) -> Target:
    """The stack, its store and clients for it, from the command line."""
    settings = settings_from_stack_file(options.stack)
    if not settings.routing_state:
        raise ToolError(
            f"stack {settings.stack} has one origin ({settings.origins[0]}): nothing can be taken "
            "out of rotation"
        )
    store = store_from(options, settings)
    endpoints = endpoint_overrides(options.endpoint_url)
    session = boto3.session.Session()
    dynamodb = session.client(
        "dynamodb",
        region_name=store.table_region,
        endpoint_url=endpoints.get("dynamodb"),
        config=_CLIENT_CONFIG,
    )
    kvs = None
    if store.kvs_arn is not None:
        client = keyvaluestore_client(
            session, endpoints.get("cloudfront-keyvaluestore"), _CLIENT_CONFIG
        )
        kvs = KeyValueStore(client, store.kvs_arn)
    return Target(settings, store, StateTable(dynamodb, store.table), kvs, endpoints, session)


@contextmanager
def explained(store: Store) -> Iterator[None]:
    """AWS's errors as one line each: what failed, where, and what to check."""
    try:
        yield
    except NoCredentialsError:
        raise ToolError(NO_CREDENTIALS) from None
    except EndpointConnectionError as error:
        raise ToolError(f"cannot reach {error.kwargs.get('endpoint_url')}") from None
    except ClientError as error:
        operation = error.operation_name
        code = error.response.get("Error", {}).get("Code", "")
        message = error.response.get("Error", {}).get("Message", "")
        if code == "ResourceNotFoundException" and operation in ("Query", "PutItem"):
            raise ToolError(
                f"no routing state table {store.table} in {store.table_region}: check --outputs, "
                "or --table and --table-region"
            ) from None
        if code == "ResourceNotFoundException":
            raise ToolError(
                f"no key value store {store.kvs_arn}: check --outputs or --kvs-arn"
            ) from None
        raise ToolError(f"{operation} was refused: {code}: {message}") from None
    except BotoCoreError as error:
        raise ToolError(f"the request failed: {error}") from None


def identity(target: Target) -> str:
    """Who is acting: the caller's ARN from STS; against emulated stores (an endpoint override
    and none for STS), the access key id."""
    emulated = {"dynamodb", "cloudfront-keyvaluestore"} & set(target.endpoints)
    if emulated and "sts" not in target.endpoints:
        credentials = target.session.get_credentials()
        if credentials is None:
            raise NoCredentialsError()
        return f"access key {credentials.access_key}"
    sts = target.session.client(
        "sts",
        region_name=target.store.table_region,
        endpoint_url=target.endpoints.get("sts"),
        config=_CLIENT_CONFIG,
    )
    return str(sts.get_caller_identity()["Arn"])


def drained_only(state_key: str | None) -> str:
    """Why a break-glass change cannot reach a CloudFront function without an evacuator."""
    return (
        "this stack's CloudFront function reads the drained list only "
        f"({printable(state_key or 'no state key')}: {PROJECT}:evacuation is false): take a "
        "Region out "
        f"with pulumi config set --path '{PROJECT}:drained[0]' REGION and pulumi up"
    )


def check_publishable(target: Target) -> None:
    """Refuse, before anything is written, a change the edge would never read: a CloudFront
    function that reads Pulumi's drained list only (no evacuator, so no union to publish); and
    make sure the key value store answers these credentials before the table is written, so a
    refusal there (SigV4A needs a version 2 session token: "use a Regional endpoint in AWS STS",
    "Restrictions on CloudFront Functions") leaves nothing half done."""
    if target.kvs is not None and target.store.state_key != ROTATION_KEY:
        raise ToolError(drained_only(target.store.state_key))
    if target.kvs is not None:
        target.kvs.client.describe_key_value_store(KvsARN=target.kvs.arn)


def publish(target: Target) -> Publication | str | None:
    """With CloudFront Functions: the key value store brought up to the table (read again, its
    union committed, and written to the store unless it holds that version already). Once the
    decision is in the table, a store that fails undoes nothing: what went wrong, as a sentence
    (the evacuator's next round, which publishes whatever the store lacks, brings it up)."""
    if target.kvs is None:
        return None
    try:
        return publish_state(target.table, target.kvs, always=True)
    except (StaleStateError, ClientError, BotoCoreError) as error:
        return (
            f"the key value store was not brought up to the table ({error}): the evacuator's "
            "next round publishes it; ./dev status shows what the store holds"
        )


def _propagation(target: Target, publication: Publication | str | None) -> str:
    if target.store.engine is Engine.LAMBDA_EDGE:
        return (
            "the Lambda@Edge function reads it within its refresh "
            f"({DEFAULT_STATE_REFRESH_SECONDS:g} s) once DynamoDB has replicated it to every "
            "Region (typically within a second)"
        )
    if isinstance(publication, str):
        return publication
    if publication is None:
        return "the key value store holds it already"
    committed = publication.committed
    return (
        f"the key value store holds version {committed.version} ({list(committed.out)} out); "
        "CloudFront Functions read it once it has reached the edges (AWS documents no "
        "propagation time)"
    )


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def _decide(
    target: Target, state: RoutingState, region: str, decision: OperatorDecision | None
) -> None:
    """Write (or, with None, remove) the operator's decision about ``region``; operators'
    evacuations of the earlier layout are first moved to their own items."""
    if state.legacy:
        try:
            move_operator_entries(target.table, state)
        except StaleStateError:
            raise ToolError(
                "the routing state changed while this command ran (the health checks or someone "
                "else): look with ./dev status, and run it again"
            ) from None
    if decision is None:
        target.table.remove_operator(region)
    else:
        target.table.write_operator(region, decision)


def evacuate(options: argparse.Namespace) -> int:
    why = checked_reason(options.reason)
    target = connect(options)
    region = options.region
    _check_origin(target.settings, region)
    with explained(target.store):
        check_publishable(target)
        who = identity(target)
        state = target.table.read()
        record = state.decisions.get(region)
        if record is not None and record.out:
            print(f"{region} is already evacuated, {_record_text(record)}")
            publication = publish(target)
            if isinstance(publication, str) or (publication and publication.stored is not None):
                print(_propagation(target, publication))
            return 0
        operators = {**state.decisions, region: OperatorDecision(OUT, _now(), who, why)}
        out = out_of_rotation(drained=state.drained, checks=state.checks, operators=operators)
        remaining = [origin for origin in target.settings.origins if origin not in out]
        if not remaining:
            now = ", ".join(sorted(state.out)) or "none"
            raise ToolError(
                f"refusing to evacuate {region}: no origin would stay in rotation (out now: "
                f"{now}); restore another first"
            )
        decision = operators[region]
        _decide(target, state, region, decision)
        publication = publish(target)
    taken_over = " (the checks had evacuated it: now only a person brings it back)"
    print(
        f"{region} evacuated: out of rotation since {decision.since}, by {printable(who)}: {why}"
        + (taken_over if region in state.checks else "")
    )
    print(f"in rotation: {', '.join(remaining)}")
    print(_propagation(target, publication))
    return 0


def restore(options: argparse.Namespace) -> int:
    why = checked_reason(options.reason) if options.reason is not None else ""
    target = connect(options)
    region = options.region
    _check_origin(target.settings, region)
    with explained(target.store):
        check_publishable(target)
        who = identity(target)
        state = target.table.read()
        if getattr(options, "hand_back", False):
            return _hand_back(target, state, region)
        record = state.decisions.get(region)
        if record is not None and not record.out:
            print(
                f"{region} is held in rotation already, since {printable(record.since)} by "
                f"{printable(record.by)}"
            )
            return 0
        if region not in state.out:
            print(f"{region} is in rotation: nothing to restore")
            return 0
        if region in state.drained:
            raise ToolError(
                f"{region} is drained by the stack's configuration ({PROJECT}:drained), not "
                f"evacuated: pulumi config rm {PROJECT}:drained (or edit the list) and pulumi "
                "up bring it back"
            )
        _decide(target, state, region, OperatorDecision(IN, _now(), who, why or "restored"))
        publication = publish(target)
    previous = record or state.checks.get(region)
    print(f"{region} restored: back in rotation, by {printable(who)}" + (f": {why}" if why else ""))
    if previous is not None:
        print(f"it had been evacuated {_record_text(previous)}")
    print(
        "the health checks leave it in rotation until an operator hands it back: "
        f"./dev restore {region} --stack {target.settings.stack} --hand-back"
    )
    print(_propagation(target, publication))
    return 0


def _hand_back(target: Target, state: RoutingState, region: str) -> int:
    """Remove the operator's decision about ``region``: the health checks decide it again."""
    record = state.decisions.get(region)
    if record is None:
        print(f"{region}: no operator's decision to hand back; the health checks decide it already")
        return 0
    _decide(target, state, region, None)
    publication = publish(target)
    after = target.table.read()
    where = (
        "out of rotation (the health checks hold it out)" if region in after.out else "in rotation"
    )
    print(
        f"{region} handed back to the health checks ({printable(record.by)}'s decision since "
        f"{printable(record.since)} "
        f"removed): {where}; they take it out if it fails their probes and bring it back once well"
    )
    print(_propagation(target, publication))
    return 0


def _check_origin(settings: Settings, region: str) -> None:
    if region not in settings.origins:
        raise ToolError(
            f"{region} is not an origin of stack {settings.stack}; its origins: "
            f"{', '.join(settings.origins)}"
        )


def status(options: argparse.Namespace) -> int:
    target = connect(options)
    with explained(target.store):
        state = target.table.read()
        views = target.table.views()
        reads_rotation = target.kvs is not None and target.store.state_key == ROTATION_KEY
        held = target.kvs.get(ROTATION_KEY) if target.kvs is not None and reads_rotation else None
        committed = target.table.committed() if reads_rotation else None
    store = target.store
    print(
        f"stack {target.settings.stack} ({store.engine.value}): routing state in "
        f"{store.table} ({store.table_region})"
    )
    width = max(len(origin) for origin in target.settings.origins) + 2
    for origin in target.settings.origins:
        print(f"  {origin:<{width}}{_origin_state(origin, state, target.settings.stack)}")
    if reads_rotation and committed is not None:
        expected = sorted(state.out)
        agrees = (
            "as the table says"
            if held is not None
            and value_version(held) == committed.version
            and list(committed.out) == expected
            else f"the table says version {committed.version}, {expected} out: the next round "
            "of the health checks, or any break-glass command, publishes it"
        )
        print(f"key value store ({ROTATION_KEY}): {held or 'no value'} ({agrees})")
    print(_views_text(views, target.settings.origins))
    return 0


def _origin_state(origin: str, state: RoutingState, stack: str) -> str:
    if origin in state.drained:
        return f"drained (by Pulumi: {PROJECT}:drained)"
    decision = state.decisions.get(origin)
    if decision is not None and decision.out:
        return (
            f"evacuated {_record_text(decision)} (an operator's decision: only ./dev restore "
            "brings it back)"
        )
    if decision is not None:
        return (
            f"in rotation, held there {_record_text(decision)} (the health checks leave it in; "
            f"./dev restore {origin} --stack {stack} --hand-back gives it back to them)"
        )
    record = state.checks.get(origin)
    if record is not None:
        return (
            f"evacuated since {printable(record.since)} by the health checks: "
            f"{printable(record.reason)}"
        )
    reason = state.held.get(origin)
    if reason is not None:
        return f"in rotation; the health checks would take it out: {printable(reason)}"
    return "in rotation"


def _record_text(record: Evacuation | OperatorDecision) -> str:
    """Since when, by whom and why, as the table holds them: written by a person, the checks or
    anything else with access to the table, so printed safely (no control character reaches the
    terminal, and no reason runs on for pages)."""
    return f"since {printable(record.since)} by {printable(record.by)}: {printable(record.reason)}"


def _views_text(views: dict[str, View], origins: Sequence[str]) -> str:
    """Each vantage Region's latest probes of each origin, and how long ago."""
    if not any(view.tick for view in views.values()):
        return "vantage Regions: no probes recorded (no evacuator, or it has not run yet)"
    now = datetime.now(UTC).timestamp()
    lines = [f"vantage Regions (probes counted every {EVACUATION_PROBE_SECONDS} s, in a row):"]
    for vantage, view in sorted(views.items()):
        seen = ", ".join(
            f"{origin} " + (f"{s.failures} failed" if s.failures else f"{s.successes} ok")
            for origin in origins
            if (s := view.streaks.get(origin)) is not None
        )
        ago = now - view.tick * EVACUATION_PROBE_SECONDS
        lines.append(f"  {printable(vantage)}: {seen or 'nothing counted'} ({ago:.0f} s ago)")
    return "\n".join(lines)


def _parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--stack", required=True, help="reads Pulumi.<stack>.yaml for the origins")
    common.add_argument(
        "--outputs",
        metavar="FILE",
        help="stack outputs as `pulumi stack output --json` prints them ('-' for stdin): the "
        "routingState output names the store",
    )
    common.add_argument(
        "--table", type=table_name, help="without --outputs: the routing state's DynamoDB table"
    )
    common.add_argument(
        "--table-region", type=edge_region, metavar="REGION", help="with --table: its home Region"
    )
    common.add_argument(
        "--kvs-arn",
        metavar="ARN",
        type=kvs_arn,
        help="with --table, CloudFront Functions: the key value store",
    )
    common.add_argument(
        "--endpoint-url",
        metavar="SERVICE=URL",
        action="append",
        default=[],
        help=f"an endpoint instead of AWS's, per service ({', '.join(SERVICES)}); repeatable; "
        "`./dev sandbox serve` prints its own",
    )
    parser = argparse.ArgumentParser(prog="./dev", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    evacuating = commands.add_parser(
        "evacuate",
        parents=[common],
        help="take an origin out of rotation now",
        description="Take an origin Region out of rotation now, recording who and why; the "
        "health checks never bring it back, only ./dev restore does. Refuses to take out the "
        "last origin in rotation.",
    )
    evacuating.add_argument("region", type=edge_region, help="the origin Region to take out")
    evacuating.add_argument(
        "--reason",
        required=True,
        help=f"why, for ./dev status: plain text, at most {MAX_REASON_CHARACTERS} characters",
    )
    restoring = commands.add_parser(
        "restore",
        parents=[common],
        help="bring it back, and hold it in rotation (--hand-back: give it back to the checks)",
        description="Bring an evacuated origin Region back into rotation (an evacuation by a "
        "person or by the health checks; a drained one comes back with pulumi config and up) "
        "and hold it there: the health checks leave it in until an operator hands it back "
        "(--hand-back), which also ends an operator's evacuation.",
    )
    restoring.add_argument("region", type=edge_region, help="the origin Region to bring back")
    restoring.add_argument(
        "--reason",
        help=f"why, for ./dev status: plain text, at most {MAX_REASON_CHARACTERS} characters",
    )
    restoring.add_argument(
        "--hand-back",
        action="store_true",
        help="remove the operator's decision about the Region (evacuated or held in rotation): "
        "the health checks decide it again",
    )
    commands.add_parser(
        "status",
        parents=[common],
        help="what is out of rotation, since when, by whom",
        description="Each origin: in rotation, drained (by Pulumi), evacuated or held in "
        "rotation since when, by whom and why, or held in by the checks' limits; with CloudFront "
        "Functions what the key value store holds; and each vantage Region's latest probes.",
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    options = _parser().parse_args(argv)
    command = {"evacuate": evacuate, "restore": restore, "status": status}[options.command]
    return command(options)


if __name__ == "__main__":
    sys.exit(run_command(main))
