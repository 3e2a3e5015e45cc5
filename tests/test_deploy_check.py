"""What `pulumi up` installs is what the program imports: the program's import graph, read from the
source, reaches only the standard library, the project and the distributions requirements.txt
names; and ``./dev check-deploy`` (testing.deploy_check, testing.isolated_build), which builds every
shipped stack in environments made from requirements.txt alone and from its floors, reports what
it should."""

from __future__ import annotations

import ast
import json
import re
import subprocess
import sys
import types
from importlib import metadata
from pathlib import Path

import pytest

from settings.stack_file import read_stack_config, stack_file_path
from settings.table import PROJECT_ROOT
from testing import deploy_check, isolated_build

PROJECT_PACKAGES = isolated_build.PROJECT_PACKAGES


def _normalized(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _module_file(root: Path, module: str) -> Path | None:
    """The file of a project module (a package's __init__.py or a module), if there is one."""
    path = root.joinpath(*module.split("."))
    for candidate in (path / "__init__.py", path.with_suffix(".py")):
        if candidate.is_file():
            return candidate
    return None


def program_imports(
    root: Path = PROJECT_ROOT, packages: frozenset[str] = PROJECT_PACKAGES
) -> dict[str, set[str]]:
    """Top-level name of every module outside the project that ``__main__.py`` reaches, through
    every project module it imports (imports inside functions too) → the files that import it."""
    outside: dict[str, set[str]] = {}
    seen: set[Path] = set()
    pending = [root / "__main__.py"]
    while pending:
        path = pending.pop()
        if path in seen:
            continue
        seen.add(path)
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                modules = [node.module, *(f"{node.module}.{a.name}" for a in node.names)]
            elif isinstance(node, ast.Import):
                modules = [alias.name for alias in node.names]
            else:
                continue
            top = modules[0].partition(".")[0]
            if top in packages:
                pending += [f for m in modules if (f := _module_file(root, m)) is not None]
            elif top not in sys.stdlib_module_names and top != "__future__":
                outside.setdefault(top, set()).add(path.relative_to(root).as_posix())
    return outside


def requirement_names(text: str) -> set[str]:
    return {
        _normalized(pin.partition("==")[0].partition("[")[0])
        for pin in deploy_check.floor_pins(text)
    }


def distributions_of(module: str) -> set[str]:
    return {_normalized(name) for name in metadata.packages_distributions().get(module, [])}


def test_the_program_imports_only_what_requirements_txt_names():
    imported = program_imports()
    # The walk sees what the program is made of: Pulumi, the provider, and the evacuator's code.
    assert {"pulumi", "pulumi_aws", "boto3", "botocore", "ecdsa"} <= set(imported)
    named = requirement_names((PROJECT_ROOT / "requirements.txt").read_text(encoding="utf-8"))
    unnamed = {
        module: sorted(files)
        for module, files in sorted(imported.items())
        if not distributions_of(module) & named
    }
    assert unnamed == {}, "imported by the program, not named in requirements.txt"


def test_the_import_walk_finds_a_development_package_the_program_reaches(tmp_path):
    # The shape that broke `pulumi up` before: the settings the program reads imported the YAML
    # reader's package, inside a function of a module two imports away.
    (tmp_path / "settings").mkdir()
    (tmp_path / "settings" / "__init__.py").write_text("")
    (tmp_path / "settings" / "parser.py").write_text("from settings import table\n")
    (tmp_path / "settings" / "table.py").write_text("def read():\n    import ruamel.yaml\n")
    (tmp_path / "__main__.py").write_text(
        "import json\nimport pulumi\nfrom settings import parser\n"
    )
    assert program_imports(tmp_path, frozenset({"settings"})) == {
        "pulumi": {"__main__.py"},
        "ruamel": {"settings/table.py"},
    }
    named = requirement_names((PROJECT_ROOT / "requirements.txt").read_text(encoding="utf-8"))
    assert not distributions_of("ruamel") & named


def test_floors_are_each_requirement_pinned_to_its_floor():
    text = "# comment\npulumi-aws>=7.37,<8  # why\nbotocore[crt] >= 1.40.12, <2\n\necdsa>=0.19\n"
    assert deploy_check.floor_pins(text) == [
        "pulumi-aws==7.37",
        "botocore[crt]==1.40.12",
        "ecdsa==0.19",
    ]
    shipped = deploy_check.floor_pins((PROJECT_ROOT / "requirements.txt").read_text("utf-8"))
    assert [pin.partition("==")[0] for pin in shipped] == [
        "pulumi-aws",
        "pulumi",
        "boto3",
        "botocore",
        "ecdsa",
    ]


@pytest.mark.parametrize(
    "line", ["boto3<2", "boto3", "boto3==1.40", "boto3>=1.1,>=1.2", "-r x.txt"]
)
def test_a_requirement_without_one_floor_is_refused_with_its_line(line):
    with pytest.raises(deploy_check.DeployCheckError, match=r"^line 2: .* has no single floor"):
        deploy_check.floor_pins(f"pulumi>=3.231,<4\n{line}\n")


def test_every_shipped_stack_is_built_as_shipped_without_evacuation_and_with_every_option():
    builds = deploy_check.deploy_builds()
    assert [b["name"] for b in builds] == [
        f"{stack}, {variant}"
        for stack in ("dev", "prod")
        for variant in ("as shipped", "evacuation off", "every option on")
    ]
    prod = read_stack_config(stack_file_path("prod"))
    assert builds[3]["config"] == prod
    assert builds[4]["config"] == {**prod, "geo-proximity:evacuation": "false"}
    assert builds[5]["config"]["geo-proximity:webAcl"] == "managed"
    # Both engines.
    assert {b["config"].get("geo-proximity:engine") for b in builds} == {
        "cloudfront-functions",
        "lambda-edge",
    }


def _module(name: str, file: str | None) -> types.ModuleType:
    module = types.ModuleType(name)
    if file is not None:
        module.__file__ = file
    return module


def test_a_module_from_outside_the_environment_is_reported(tmp_path):
    stdlib, site = tmp_path / "lib", tmp_path / "venv" / "site-packages"
    project = tmp_path / "project"
    modules = {
        "json": _module("json", str(stdlib / "json" / "__init__.py")),
        "sys": _module("sys", None),
        "pulumi": _module("pulumi", str(site / "pulumi" / "__init__.py")),
        "settings.table": _module("settings.table", str(project / "settings" / "table.py")),
        "__main__": _module("__main__", str(project / "__main__.py")),
        # The development environment's packages, found through a path the program should not
        # have; and a package inside the project's own .venv.
        "ruamel.yaml": _module("ruamel.yaml", str(tmp_path / "dev" / "ruamel" / "yaml.py")),
        "moto": _module("moto", str(project / ".venv" / "moto" / "__init__.py")),
    }
    assert isolated_build.modules_outside(modules, [stdlib, site], project) == [
        f"moto: {project / '.venv' / 'moto' / '__init__.py'}",
        f"ruamel.yaml: {tmp_path / 'dev' / 'ruamel' / 'yaml.py'}",
    ]


def _declared(*rows: tuple[str, str]) -> list[list[object]]:
    """(type, parent type) rows as isolated_build reports them."""
    return [
        [type_, f"r{n}", "us-east-1", parent, ["tags"]] for n, (type_, parent) in enumerate(rows)
    ]


EDGE = ("aws:lambda/function:Function", "geo-proximity:index:LambdaEdgeRouter")
EVACUATOR = ("aws:lambda/function:Function", "geo-proximity:index:Evacuator")
CLOUDFRONT_FUNCTION = (
    "aws:cloudfront/function:Function",
    "geo-proximity:index:CloudFrontFunctionRouter",
)


@pytest.mark.parametrize(
    ("config", "declared", "problems"),
    [
        ({}, _declared(EDGE, EVACUATOR), []),
        ({}, _declared(EVACUATOR), ["b: no Lambda@Edge function declared"]),
        ({}, _declared(EDGE), ["b: no evacuator function declared"]),
        ({"geo-proximity:evacuation": "false"}, _declared(EDGE), []),
        (
            {"geo-proximity:evacuation": "false"},
            _declared(EDGE, EVACUATOR, EVACUATOR),
            ["b: 2 evacuator functions with evacuation off"],
        ),
        (
            {"geo-proximity:engine": "cloudfront-functions"},
            _declared(CLOUDFRONT_FUNCTION, EVACUATOR),
            [],
        ),
        (
            {"geo-proximity:engine": "cloudfront-functions"},
            _declared(EDGE, EVACUATOR),
            ["b: no CloudFront function declared"],
        ),
    ],
)
def test_a_build_without_its_routing_function_or_evacuator_is_a_problem(config, declared, problems):
    build = {"name": "b", "stack": "s", "config": config}
    report = {"name": "b", "error": None, "declared": declared, "exports": []}
    assert deploy_check.build_problems(build, report) == problems
    failed = {**report, "error": "TypeError: no tags"}
    assert deploy_check.build_problems(build, failed) == ["b: TypeError: no tags"]


def test_environments_that_declare_different_resources_are_told_apart():
    builds = [{"name": "prod, as shipped"}, {"name": "dev, as shipped"}]
    same = _declared(EDGE, EVACUATOR)
    one = {"builds": [{"error": None, "declared": same}, {"error": None, "declared": same}]}
    # The same resources in another order are the same build; one input fewer is not.
    other_rows = [list(row) for row in reversed(same)]
    other_rows[0][4] = []
    other = {
        "builds": [
            {"error": None, "declared": list(reversed(same))},
            {"error": None, "declared": other_rows},
        ]
    }
    assert deploy_check.differences(builds, ("a", one), ("b", other)) == [
        "dev, as shipped: a and b declare different resources (1 only in a, 1 only in b; first: "
        "['aws:lambda/function:Function', 'r1', 'us-east-1', 'geo-proximity:index:Evacuator', "
        "['tags']])"
    ]


def test_the_isolated_build_runs_the_program_and_reports_its_error(tmp_path):
    prod = read_stack_config(stack_file_path("prod"))
    builds = [
        {"name": "prod", "stack": "prod", "config": prod},
        {"name": "bad", "stack": "prod", "config": {**prod, "geo-proximity:engine": "nginx"}},
    ]
    # In this environment (the development one) the program builds; the harness reports the
    # program's own error for a bad value, and the next build in the same process still runs.
    report = deploy_check.run_isolated(sys.executable, builds)
    assert report["outside"] == []
    assert report["python"] == sys.version.split()[0]
    assert any(pin.startswith("pulumi==") for pin in report["distributions"])
    first, second = report["builds"]
    assert first["error"] is None
    assert deploy_check.build_problems(builds[0], first) == []
    assert ["aws:cloudfront/distribution:Distribution", "cdn-distribution"] in [
        row[:2] for row in first["declared"]
    ]
    assert "distributionId" in first["exports"]
    assert second["error"].endswith(
        "geo-proximity:engine: 'nginx' is not one of: lambda-edge, cloudfront-functions"
    )
    json.dumps(report)  # plain data, as it crossed the pipe


# A pulumi-aws without the `tags` input of KeyValueStoreArgs (7.36 and older), faked, and the
# program built under mocks: its error comes back, it does not hang (a deferred output the program
# never resolved would keep Pulumi waiting), and the next run in the same process still builds.
_OLD_PROVIDER = """
import json, sys
import pulumi_aws
original = pulumi_aws.cloudfront.KeyValueStoreArgs.__init__
def without_tags(self, *args, tags=None, **kwargs):
    if tags is not None:
        raise TypeError("KeyValueStoreArgs.__init__() got an unexpected keyword argument 'tags'")
    original(self, *args, **kwargs)
pulumi_aws.cloudfront.KeyValueStoreArgs.__init__ = without_tags
from testing.mock_program import ProgramError, deploy
configs = json.loads(sys.stdin.read())
try:
    deploy(configs["dev"], stack="dev")
    print("built")
except ProgramError as error:
    print(error)
print(len(deploy(configs["prod"], stack="prod").resources))
"""


def test_a_program_error_after_a_deferred_output_is_reported_not_waited_for():
    configs = {stack: read_stack_config(stack_file_path(stack)) for stack in ("dev", "prod")}
    completed = subprocess.run(
        [sys.executable, "-W", "ignore", "-c", _OLD_PROVIDER],
        input=json.dumps(configs),
        capture_output=True,
        text=True,
        cwd=PROJECT_ROOT,
        timeout=300,
        check=True,
    )
    error, resources = completed.stdout.splitlines()
    assert (
        error == "TypeError: KeyValueStoreArgs.__init__() got an unexpected keyword argument 'tags'"
    )
    assert int(resources) > 100
