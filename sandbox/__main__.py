"""python -m sandbox {drill,serve} [--stack prod] ...: the request flow of a stack on this machine."""

from __future__ import annotations

import argparse
import errno
import signal
import sys
import threading
from pathlib import Path

from settings import ConfigError, settings_from_stack_file
from tools.stack_buckets import ToolError


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m sandbox", description=__doc__.split(":", 1)[1].strip())
    parser.add_argument("mode", choices=["drill", "serve"], help="drill: run the failover drill and exit; serve: keep answering until Ctrl-C")
    parser.add_argument("--stack", default="prod", help="reads Pulumi.<stack>.yaml (default: prod)")
    parser.add_argument("--port", type=int, default=None, help="edge port on 127.0.0.1 (serve: 8080; drill: any free port)")
    parser.add_argument("--edge-region", default="us-east-1", help="edge Region of requests without an X-Edge-Region header")
    parser.add_argument("--assets", type=Path, help="a folder to put in every bucket instead of the sample objects")
    options = parser.parse_args(argv)

    # Imported here so that --help answers at once.
    from sandbox.drill import run_drill
    from sandbox.stack import Sandbox

    port = options.port if options.port is not None else (8080 if options.mode == "serve" else 0)
    try:
        settings = settings_from_stack_file(options.stack)
        sandbox = Sandbox(settings, port=port, default_edge_region=options.edge_region, assets=options.assets)
        with sandbox:
            if options.mode == "drill":
                return run_drill(sandbox, sandbox.keys)
            return serve(sandbox)
    except (ConfigError, FileNotFoundError, ToolError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    except OSError as error:
        if error.errno == errno.EADDRINUSE:
            print(f"error: port {port} is busy; choose another with --port", file=sys.stderr)
            return 2
        raise


def serve(sandbox) -> int:
    print(f"edge: {sandbox.url}  (stack {sandbox.settings.stack}; default edge Region {sandbox.default_edge_region})")
    for region, emulator in sandbox.emulators.regions.items():
        print(f"S3 {region}: http://127.0.0.1:{emulator.port}  bucket {sandbox.buckets[region]}")
    print(f"try:  curl -i -H 'X-Edge-Region: ap-southeast-2' {sandbox.url}/{sandbox.keys[0]}")
    print("Ctrl-C stops everything.")
    stopped = threading.Event()
    # Explicit handlers: a shell that starts this in the background leaves SIGINT ignored otherwise.
    for signal_number in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signal_number, lambda *_: stopped.set())
    stopped.wait()
    print("\nstopping: edge and S3 emulators shut down", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
