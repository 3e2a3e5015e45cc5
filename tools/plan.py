"""Show where a stack sends every edge Region's cache misses, without deploying anything.

    python -m tools.plan [--stack prod] [--json]

Reads Pulumi.<stack>.yaml the way the Pulumi CLI hands it to the program, validates it with the
program's own settings code (same messages), and prints the routing table the edge function would
carry, with great-circle distances, plus the size of the function package it would deploy.
"""

from __future__ import annotations

import argparse
import json
import sys

from components.naming import bucket_prefix
from edge_function.package import stack_package_files, zip_package
from routing.catalogue import great_circle_km, load_catalogue
from settings import PROJECT, ConfigError, Settings, settings_from_stack_file

# S3 completes bucket names at deploy time; a placeholder of the real length sizes the package.
_PLACEHOLDER_SUFFIX = "0" * 26


def render_table(settings: Settings) -> str:
    catalogue = load_catalogue()
    table = settings.routing
    lines = [
        f"stack {settings.stack}: origins {', '.join(table.origins)}; default {table.default_origin}; "
        f"failover {table.failover_mode.value}"
        + (f" (origin group: {table.default_origin} -> {table.failover_origin})" if table.failover_origin else ""),
        "",
        f"{'edge Region':<16}{'primary':<16}{'km':>7}  {'failover':<16}{'km':>7}",
    ]

    def km(edge: str, origin: str | None) -> str:
        return f"{great_circle_km(catalogue[edge], catalogue[origin]):>7,.0f}" if origin else f"{'-':>7}"

    # Execution Regions first: they are where Lambda@Edge runs today.
    ordered = sorted(table.routes, key=lambda code: not catalogue[code].lambda_edge_execution)
    for edge in ordered:
        route = table.routes[edge]
        marker = "*" if catalogue[edge].lambda_edge_execution else " "
        lines.append(
            f"{marker}{edge:<15}{route.primary:<16}{km(edge, route.primary)}  "
            f"{route.failover or '-':<16}{km(edge, route.failover)}"
        )
    default = table.default_route
    lines.append(f" {'(unknown)':<15}{default.primary:<16}{'':>7}  {default.failover or '-':<16}")
    lines.append("")
    lines.append("* Lambda@Edge executes there today (Regional edge cache); others are routed in advance.")
    return "\n".join(lines)


def package_size(settings: Settings) -> int:
    placeholder_names = {
        code: bucket_prefix(PROJECT, settings.stack, code) + _PLACEHOLDER_SUFFIX for code in settings.origins
    }
    return len(zip_package(stack_package_files(settings, placeholder_names)))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--stack", default="prod", help="stack name: reads Pulumi.<stack>.yaml (default: prod)")
    parser.add_argument("--json", action="store_true", help="print the routing table as JSON")
    options = parser.parse_args(argv)
    try:
        settings = settings_from_stack_file(options.stack)
    except (ConfigError, FileNotFoundError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    if options.json:
        print(json.dumps(settings.routing.summary(), indent=2))
        return 0
    print(render_table(settings))
    print(f"\nfunction package: {package_size(settings):,} bytes zipped. Nothing was deployed; run `pulumi up` to deploy.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
