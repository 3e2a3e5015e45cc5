"""./dev sandbox {drill,serve} [--stack prod] ...: the request flow of a stack on this machine.

./dev run is drill --every-stack: every stack file git tracks, so both engines are drilled.
"""

from __future__ import annotations

import argparse
import errno
import json
import os
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, NoReturn

from settings.stack_file import settings_from_stack_file, shipped_stacks
from settings.table import PROJECT_ROOT
from tools.cli import CommandParser, ToolError, edge_region, folder_path, port_number, run_command
from tools.interrupt import temporary_folder

if TYPE_CHECKING:
    from sandbox.stack import Sandbox
    from settings.parser import Settings


def _parser() -> argparse.ArgumentParser:
    parser = CommandParser(prog="./dev sandbox", description=__doc__.split(":", 1)[1].strip())
    parser.add_argument(
        "mode",
        choices=["drill", "serve"],
        help="drill: run the failover drill and exit; serve: keep answering until Ctrl-C",
    )
    parser.add_argument(
        "--stack",
        action="append",
        help="reads Pulumi.<stack>.yaml (default: prod); drill: repeat it to drill several stacks",
    )
    parser.add_argument(
        "--every-stack",
        action="store_true",
        help="drill: every Pulumi.<stack>.yaml that git tracks, one after another",
    )
    _add_common_options(parser)
    return parser


def _run_parser() -> argparse.ArgumentParser:
    """``./dev run``: the drill of every stack file git tracks, or of the stacks named."""
    parser = CommandParser(
        prog="./dev run",
        description="The main job, locally: every shipped stack's whole request flow and failover "
        "drill (every Pulumi.<stack>.yaml git tracks, both engines), or the stacks --stack names. "
        "Exits non-zero if any request failed or came from an unexpected Region.",
    )
    parser.add_argument(
        "--stack",
        action="append",
        help="drill Pulumi.<stack>.yaml only (repeat it to drill several stacks)",
    )
    _add_common_options(parser, drill_only=True)
    return parser


def _add_common_options(parser: argparse.ArgumentParser, *, drill_only: bool = False) -> None:
    drill = "" if drill_only else "drill: "
    parser.add_argument(
        "--port",
        type=port_number,
        default=None,
        help="edge port on 127.0.0.1 ("
        + ("any free port" if drill_only else "serve: 8080; drill: any free port")
        + ")",
    )
    parser.add_argument(
        "--edge-region",
        type=edge_region,
        default="us-east-1",
        help="edge Region of requests without an X-Edge-Region header (default us-east-1)",
    )
    parser.add_argument(
        "--assets",
        type=folder_path,
        help="a folder to put in every bucket instead of the sample objects",
    )
    parser.add_argument(
        "--failures-only",
        action="store_true",
        help=f"{drill}print only the requests that failed, and the summary",
    )
    parser.add_argument(
        "--stall",
        action="store_true",
        help=f"{drill}add a phase with the busiest Region stalled (connections accepted, no "
        "answer); each miss waits out S3's 30 s response timeout per connection attempt (90 s "
        "at the defaults) before failover, or, where the stack sets "
        "originResponseCompletionTimeout, ends at it with a 504 (no failover after it is "
        "documented); left out of ./dev run unless --stall is given",
    )


def main(argv: Sequence[str] | None = None) -> int:
    arguments = list(sys.argv[1:] if argv is None else argv)
    if arguments[:1] == ["run"]:
        options = _run_parser().parse_args(arguments[1:])
        options.mode, options.every_stack = "drill", not options.stack
    else:
        parser = _parser()
        options = parser.parse_args(arguments)
        _check_mode_options(parser, options)
    every = sorted(shipped_stacks(), key=lambda stack: (stack != "prod", stack))
    stacks = every if options.every_stack else options.stack or ["prod"]
    # Every stack file is read first: a bad value is reported before anything starts.
    every_settings = [settings_from_stack_file(stack) for stack in stacks]

    port = options.port if options.port is not None else (8080 if options.mode == "serve" else 0)
    if options.mode == "serve":
        return _run(every_settings[0], options, port)
    outcomes = {}
    for index, settings in enumerate(every_settings):
        if index:
            print()
        outcomes[settings.stack] = _run(settings, options, port)
    if len(outcomes) > 1:
        print(
            "\nevery stack: "
            + ", ".join(
                f"{stack} {'passed' if code == 0 else 'FAILED'}" for stack, code in outcomes.items()
            )
        )
    return max(outcomes.values())


def _check_mode_options(parser: argparse.ArgumentParser, options: argparse.Namespace) -> None:
    """What ``./dev sandbox`` refuses for its mode (argparse's usage error, status 2)."""
    if options.every_stack and options.stack:
        parser.error("--every-stack drills every stack file; leave out --stack, or leave out this")
    if options.mode == "serve" and (options.every_stack or len(options.stack or []) > 1):
        parser.error("serve answers for one stack at a time: give --stack once")
    for flag, given in (("--failures-only", options.failures_only), ("--stall", options.stall)):
        if options.mode == "serve" and given:
            parser.error(f"{flag} applies to drill only")


def _run(settings: Settings, options: argparse.Namespace, port: int) -> int:
    # Imported here so that --help answers at once.
    from sandbox.drill import run_drill
    from sandbox.stack import Sandbox

    serving = options.mode == "serve"
    sandbox = Sandbox(
        settings,
        port=port,
        default_edge_region=options.edge_region,
        assets=options.assets,
        # serve runs the evacuator for as long as it serves; the drill runs it in its phase.
        evacuating=serving,
        evacuator_log=_evacuator_line if serving else None,
    )
    try:
        with sandbox:
            if options.mode == "drill":
                return run_drill(
                    sandbox, sandbox.keys, failures_only=options.failures_only, stall=options.stall
                )
            return serve(sandbox)
    except BrokenPipeError:
        raise  # the reader of our output left: run_command ends quietly
    except OSError as error:
        if error.errno == errno.EADDRINUSE:
            raise ToolError(f"port {port} is busy; choose another with --port") from None
        if error.errno == errno.EACCES:
            raise ToolError(
                f"port {port} needs privileges; choose one above 1023 with --port"
            ) from None
        raise ToolError(f"cannot start the sandbox: {error.strerror or error}") from None


def _evacuator_line(line: str) -> None:
    print(f"evacuator {line}", flush=True)


def break_glass_commands(sandbox: Sandbox, outputs: Path) -> str:
    """The break-glass commands against this sandbox's routing state, ready to paste; writes the
    stack outputs they read to ``outputs``."""
    state, settings = sandbox.state, sandbox.settings
    if state is None:
        return "break-glass commands: none (one origin: nothing can be taken out of rotation)"
    outputs.write_text(
        json.dumps({"buckets": sandbox.buckets, "routingState": state.outputs()}, indent=1),
        encoding="utf-8",
    )
    endpoints = " ".join(
        f"--endpoint-url {service}={url}"
        for service, url in state.endpoints().items()
        if service in ("dynamodb", "cloudfront-keyvaluestore")
    )
    where = f"--stack {settings.stack} --outputs {outputs} {endpoints}"
    region = settings.routing.active_origins[-1]
    store = (
        "the key value store checks SigV4A signatures: use these credentials"
        if state.kvs is not None
        else "the routing state is the sandbox's DynamoDB table, which takes any credentials"
    )
    return (
        f"take an origin out of rotation and back, as during an incident ({store}):\n"
        "  export AWS_ACCESS_KEY_ID=sandbox AWS_SECRET_ACCESS_KEY=sandbox\n"
        f"  ./dev evacuate {region} {where} --reason 'trying the sandbox'\n"
        f"  ./dev status {where}\n"
        f"  ./dev restore {region} {where}"
    )


def serve(sandbox: Sandbox) -> int:
    from sandbox.invalidations import InvalidationsEmulator

    settings = sandbox.settings
    print(
        f"edge: {sandbox.url}  (stack {settings.stack}, engine {settings.engine.value}; default "
        f"edge Region {sandbox.default_edge_region})"
    )
    for region, emulator in sandbox.emulators.regions.items():
        print(f"S3 {region}: http://127.0.0.1:{emulator.port}  bucket {sandbox.buckets[region]}")
    print(f"try:  curl -i -H 'X-Edge-Region: ap-southeast-2' {sandbox.url}/{sandbox.keys[0]}")
    endpoints = " ".join(
        f"--endpoint-url {region}=http://127.0.0.1:{emulator.port}"
        for region, emulator in sandbox.emulators.regions.items()
    )
    buckets = " ".join(f"--bucket {region}={bucket}" for region, bucket in sandbox.buckets.items())
    print(
        "publish and drift against these buckets (any credentials do):\n"
        f"  export AWS_ACCESS_KEY_ID=sandbox AWS_SECRET_ACCESS_KEY=sandbox\n"
        f"  ./dev publish {_example_site()} --all {buckets} {endpoints}\n"
        f"  ./dev drift {buckets} {endpoints}"
    )
    with (
        temporary_folder("geo-proximity-sandbox-") as folder,
        InvalidationsEmulator(sandbox.edge.invalidate) as invalidations,
    ):
        print(break_glass_commands(sandbox, folder / "outputs.json"))
        print(
            "objects in the edge caches are served from them, whichever origin is in rotation (as "
            "on CloudFront); empty the caches as an invalidation does:\n"
            f"  aws cloudfront create-invalidation --endpoint-url {invalidations.endpoint} "
            f"--distribution-id {invalidations.distribution_id} --paths '/*'"
        )
        if sandbox.evacuating:
            from core.evacuation import EVACUATION_PROBE_SECONDS
            from sandbox.state import PROBE_SECONDS, SCALE

            print(
                f"the evacuator probes every origin from {', '.join(settings.evacuation_vantages)}"
                f" every {PROBE_SECONDS:g} s ({EVACUATION_PROBE_SECONDS} s scaled down {SCALE} "
                "times); its evacuations, restores, unreadable health objects and alarms are "
                "logged below"
            )
        print("Ctrl-C stops everything. One line per request follows.", flush=True)
        sandbox.log_requests(print)
        wait_for_a_stop_signal()


def _example_site() -> str:
    """The project's example site, as a path from where the command was run (publish reads
    FOLDER from there)."""
    return os.path.relpath(PROJECT_ROOT / "examples" / "site")


def wait_for_a_stop_signal() -> NoReturn:
    """Wait until SIGINT (Ctrl-C) or SIGTERM stops the command: ``run_command``'s handlers raise
    ``tools.interrupt.Stopped`` here (they replace the SIG_IGN that a shell starting this in the
    background leaves for SIGINT)."""
    # Slept in short slices: "Python signal handlers are always executed in the main Python
    # thread ..., even if the signal was received in another thread" (Python docs, signal,
    # "Signals and threads"). A signal the kernel hands to one of the emulators' threads does not
    # wake a main thread blocked in an untimed wait, so Ctrl-C could hang for ever.
    while True:
        time.sleep(0.2)


if __name__ == "__main__":
    sys.exit(run_command(main, stopping="stopping the sandbox's edge and emulators"))
