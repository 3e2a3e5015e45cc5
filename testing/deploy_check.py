"""``./dev check-deploy``: the program builds every shipped stack with what ``pulumi up`` installs,
and with the oldest versions ``requirements.txt`` allows.

    python -m testing.deploy_check floors requirements.txt       # the floors, pinned (pip syntax)
    python -m testing.deploy_check build --python NAME=PATH ...  # build every stack with each

``pulumi up`` runs the program in a virtual environment made from ``requirements.txt`` alone
(``Pulumi.yaml``: ``toolchain: pip``, ``virtualenv: .venv``), so nothing of
``requirements-dev.txt`` is there. ``./dev check-deploy`` makes two such environments, one from
``requirements.txt`` and one from its floors, each without pip or setuptools, and this module
hands each every shipped stack file's configuration (read here, with the development tools' YAML
reader; the program gets its configuration from Pulumi) in a few variants: as shipped, without the
evacuator, and with every optional part on. ``testing.isolated_build`` builds them under mocks in
that environment's interpreter, isolated (``python -I``: no ``PYTHONPATH``, no user site), and
reports every module loaded from anywhere but its standard library, its site-packages and the
project's packages. A build that fails, a module from elsewhere, a stack without its routing
function or evacuator, or two environments that declare different resources fail the check.
"""

from __future__ import annotations

import argparse
import itertools
import json
import re
import subprocess
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from settings.stack_file import read_stack_config, shipped_stacks, stack_file_path
from settings.table import PROJECT, PROJECT_ROOT

# Each variant's settings on top of the stack file's own (unnamespaced keys).
VARIANTS: dict[str, dict[str, str]] = {
    "as shipped": {},
    "evacuation off": {"evacuation": "false"},
    "every option on": {
        "accessLogs": "true",
        "webAcl": "managed",
        "alarmEmail": "oncall@example.com",
        "replicationTimeControl": "true",
        "aliases": json.dumps(["cdn.example.com"]),
        "certificateArn": "arn:aws:acm:us-east-1:123456789012:certificate/"
        "0a1b2c3d-4e5f-6a7b-8c9d-0e1f2a3b4c5d",
        "tags": json.dumps({"team": "platform"}),
    },
}
# A program that imports a development package, or a slow one: each build takes seconds.
BUILD_TIMEOUT_SECONDS = 600
# The interpreter is isolated (-I), so the project is put on its path as the Pulumi CLI does.
_BOOTSTRAP = (
    "import runpy, sys; sys.path.insert(0, sys.argv[1]); "
    "runpy.run_module('testing.isolated_build', run_name='__main__')"
)
# A requirement as requirements.txt writes them: a name, extras, then a version range.
_REQUIREMENT = re.compile(r"^(?P<name>[A-Za-z0-9][A-Za-z0-9._-]*(?:\[[^\]]*\])?)\s*(?P<spec>.*)$")
_FLOOR = re.compile(r"^\s*>=\s*(?P<version>[0-9][0-9A-Za-z.]*)\s*$")


class DeployCheckError(ValueError):
    """A requirements file this check cannot use; the message names the line."""


def floor_pins(text: str) -> list[str]:
    """Each requirement of ``text`` pinned to its floor (``pulumi>=3.231,<4`` → ``pulumi==3.231``),
    for a minimum-versions install. Every requirement must have one floor (``>=``): a range
    without one cannot be checked."""
    pins = []
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        match = _REQUIREMENT.match(line.split(";", 1)[0].strip())
        floors = [
            floor.group("version")
            for part in (match.group("spec").split(",") if match else [])
            if (floor := _FLOOR.match(part))
        ]
        if match is None or len(floors) != 1:
            raise DeployCheckError(
                f"line {number}: {raw.strip()!r} has no single floor (>=); every requirement of "
                "the program is a range from a floor the program builds with"
            )
        pins.append(f"{match.group('name')}=={floors[0]}")
    return pins


def deploy_builds(stacks: Sequence[str] | None = None) -> list[dict[str, Any]]:
    """Every shipped stack (or ``stacks``) in every variant, as ``testing.isolated_build`` reads
    them: a name, the stack and its configuration as the CLI hands it to the program."""
    builds = []
    for stack in stacks if stacks is not None else shipped_stacks():
        config = read_stack_config(stack_file_path(stack))
        for variant, values in VARIANTS.items():
            builds.append(
                {
                    "name": f"{stack}, {variant}",
                    "stack": stack,
                    "config": {
                        **config,
                        **{f"{PROJECT}:{key}": value for key, value in values.items()},
                    },
                }
            )
    return builds


def run_isolated(python: str, builds: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """``testing.isolated_build``'s report of ``builds``, run by the interpreter ``python``."""
    completed = subprocess.run(
        [python, "-I", "-c", _BOOTSTRAP, str(PROJECT_ROOT)],
        input=json.dumps({"builds": list(builds)}),
        capture_output=True,
        text=True,
        cwd=PROJECT_ROOT,
        timeout=BUILD_TIMEOUT_SECONDS,
        check=False,
    )
    if completed.returncode != 0:
        last = (completed.stderr.strip().splitlines() or ["no message"])[-1]
        raise DeployCheckError(f"{python} could not run the builds: {last}")
    report: dict[str, Any] = json.loads(completed.stdout)
    return report


def _parents(declared: Sequence[Sequence[Any]], type_: str) -> list[str]:
    """The parent types of every declared resource of ``type_``."""
    return [str(row[3]) for row in declared if row[0] == type_]


def build_problems(build: Mapping[str, Any], report: Mapping[str, Any]) -> list[str]:
    """What is wrong with one build: it failed, or lacks its engine's routing function, or has an
    evacuator where it should not (or none where it should)."""
    name = build["name"]
    if report["error"]:
        return [f"{name}: {report['error']}"]
    config = build["config"]
    declared = report["declared"]
    problems = []
    engine = config.get(f"{PROJECT}:engine", "lambda-edge")
    if engine == "lambda-edge":
        if "geo-proximity:index:LambdaEdgeRouter" not in _parents(
            declared, "aws:lambda/function:Function"
        ):
            problems.append(f"{name}: no Lambda@Edge function declared")
    elif "geo-proximity:index:CloudFrontFunctionRouter" not in _parents(
        declared, "aws:cloudfront/function:Function"
    ):
        problems.append(f"{name}: no CloudFront function declared")
    evacuators = _parents(declared, "aws:lambda/function:Function").count(
        "geo-proximity:index:Evacuator"
    )
    if config.get(f"{PROJECT}:evacuation") == "false" and evacuators:
        problems.append(f"{name}: {evacuators} evacuator functions with evacuation off")
    if config.get(f"{PROJECT}:evacuation") != "false" and not evacuators:
        problems.append(f"{name}: no evacuator function declared")
    return problems


def environment_problems(
    label: str, builds: Sequence[Mapping[str, Any]], report: Mapping[str, Any]
) -> list[str]:
    """Every build's problems in one environment, and every module it loaded from outside."""
    problems = [
        f"{label}: {problem}"
        for build, outcome in zip(builds, report["builds"], strict=True)
        for problem in build_problems(build, outcome)
    ]
    problems += [
        f"{label}: the program loaded a module from outside the environment: {module}"
        for module in report["outside"]
    ]
    return problems


def differences(
    builds: Sequence[Mapping[str, Any]],
    first: tuple[str, Mapping[str, Any]],
    second: tuple[str, Mapping[str, Any]],
) -> list[str]:
    """Builds that declare different resources (or inputs) in two environments."""
    (first_label, first_report), (second_label, second_report) = first, second
    found = []
    for build, one, other in zip(
        builds, first_report["builds"], second_report["builds"], strict=True
    ):
        if one["error"] or other["error"] or sorted(one["declared"]) == sorted(other["declared"]):
            continue
        only_one = [row for row in one["declared"] if row not in other["declared"]]
        only_other = [row for row in other["declared"] if row not in one["declared"]]
        example = (only_one or only_other or [["the same resources in another order"]])[0]
        found.append(
            f"{build['name']}: {first_label} and {second_label} declare different resources "
            f"({len(only_one)} only in {first_label}, {len(only_other)} only in "
            f"{second_label}; first: {example})"
        )
    return found


def _summary(label: str, report: Mapping[str, Any], wanted: Sequence[str]) -> str:
    versions = [
        pin
        for pin in report["distributions"]
        if pin.partition("==")[0].lower().replace("_", "-") in wanted
    ]
    built = sum(1 for outcome in report["builds"] if not outcome["error"])
    resources = sum(len(outcome["declared"]) for outcome in report["builds"])
    return (
        f"{label}: Python {report['python']}, {', '.join(sorted(versions))}: "
        f"{built} of {len(report['builds'])} builds, {resources} resources"
    )


def check(environments: Mapping[str, str], stacks: Sequence[str] | None = None) -> int:
    """Build every stack in every environment (label → interpreter); print what was built with
    which versions and every problem. 0 when there is none, 1 otherwise."""
    builds = deploy_builds(stacks)
    print(f"check-deploy: {len(builds)} builds: " + "; ".join(b["name"] for b in builds))
    wanted = [
        pin.partition("==")[0].partition("[")[0].lower().replace("_", "-")
        for pin in floor_pins((PROJECT_ROOT / "requirements.txt").read_text(encoding="utf-8"))
    ]
    reports = {label: run_isolated(python, builds) for label, python in environments.items()}
    problems = []
    for label, report in reports.items():
        print(_summary(label, report, wanted))
        problems += environment_problems(label, builds, report)
    labels = list(reports)
    for first, second in itertools.pairwise(labels):
        problems += differences(builds, (first, reports[first]), (second, reports[second]))
    for problem in problems:
        print(f"  problem: {problem}")
    print("check-deploy: " + ("failed" if problems else "every build passed"))
    return 1 if problems else 0


def _environment(text: str) -> tuple[str, str]:
    label, separator, python = text.partition("=")
    if not separator or not label or not python:
        raise argparse.ArgumentTypeError(
            f"expected NAME=PATH to a Python interpreter, not {text!r}"
        )
    return label, python


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m testing.deploy_check")
    commands = parser.add_subparsers(dest="command", required=True)
    floors = commands.add_parser("floors", help="print each requirement pinned to its floor")
    floors.add_argument("requirements", type=Path)
    build = commands.add_parser("build", help="build every shipped stack in each environment")
    build.add_argument("--python", type=_environment, action="append", required=True)
    build.add_argument("--stack", action="append", help="only this stack (default: every one)")
    options = parser.parse_args(argv)
    try:
        if options.command == "floors":
            text = options.requirements.read_text(encoding="utf-8")
            print("\n".join(floor_pins(text)))
            return 0
        return check(dict(options.python), options.stack)
    except (DeployCheckError, OSError, subprocess.TimeoutExpired) as error:
        print(f"check-deploy: {error}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
