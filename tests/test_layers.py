"""The house's floors: what each package may import, read from the source (every import, those
inside functions too), and what a module loads, checked in a fresh interpreter: ``./dev plan`` runs
without Pulumi, the sandbox without the upload command, and the folder scan both share without
either."""

import ast
import subprocess
import sys
from pathlib import Path

import pytest

from settings.table import PROJECT_ROOT

# Each top-level package (or module) on its floor, lowest first. A package imports only from floors
# below its own: never up, never sideways, so there is no circle. The ground floor is pure Python
# that the Lambda functions carry; ``core`` holds the values and documents every floor above shares;
# the Pulumi room (``components``) is reached only by the program and the mocks harness, while the
# tools and the sandbox read the same values from ``core``.
FLOORS: tuple[frozenset[str], ...] = (
    frozenset({"routing", "evacuation"}),
    frozenset({"core", "edge_function"}),
    frozenset({"settings"}),
    frozenset({"components", "tools"}),
    frozenset({"sandbox"}),
    frozenset({"testing", "simulation"}),
    frozenset({"benchmarks", "__main__"}),
)
FLOOR = {package: level for level, packages in enumerate(FLOORS) for package in packages}


def project_imports(root: Path = PROJECT_ROOT) -> dict[tuple[str, str], set[str]]:
    """(importing package, imported package) -> the files where it happens, for every import of
    one project package by another outside the tests."""
    found: dict[tuple[str, str], set[str]] = {}
    for path in sorted(root.rglob("*.py")):
        relative = path.relative_to(root)
        # Hidden folders are not the project's: virtual environments (.venv, .venv-deploy, .bench).
        if relative.parts[0] == "tests" or relative.parts[0].startswith("."):
            continue
        importer = relative.parts[0].removesuffix(".py")
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                targets = [node.module]
            elif isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            else:
                continue
            for target in targets:
                package = target.partition(".")[0]
                if package in FLOOR and package != importer:
                    found.setdefault((importer, package), set()).add(relative.as_posix())
    return found


def test_every_project_package_has_a_floor():
    packages = {
        path.name.removesuffix(".py")
        for path in PROJECT_ROOT.iterdir()
        if (path.is_dir() and (path / "__init__.py").exists()) or path.name == "__main__.py"
    }
    assert packages - {"tests"} == set(FLOOR)


def test_no_package_imports_from_its_own_floor_or_above():
    imports = project_imports()
    # The walk sees the house: the program reaches the components, the tools the settings.
    assert ("__main__", "components") in imports
    assert ("tools", "settings") in imports
    upward = [
        f"{importer} (floor {FLOOR[importer]}) imports {imported} (floor {FLOOR[imported]}) "
        f"in {', '.join(sorted(files))}"
        for (importer, imported), files in sorted(imports.items())
        if FLOOR[imported] >= FLOOR[importer]
    ]
    assert not upward, "\n".join(upward)


def test_the_components_are_reached_by_the_program_and_the_mocks_harness_only():
    importers = {importer for importer, imported in project_imports() if imported == "components"}
    # The mocks harness runs the program and builds single components by their module name.
    assert importers <= {"__main__", "testing"}
    assert "__main__" in importers


def test_the_floor_check_finds_an_import_inside_a_function(tmp_path):
    (tmp_path / "routing").mkdir()
    (tmp_path / "routing" / "__init__.py").write_text("def late():\n    import sandbox.edge\n")
    assert project_imports(tmp_path) == {("routing", "sandbox"): {"routing/__init__.py"}}


def modules_loaded_by(code: str) -> set[str]:
    """The modules in ``sys.modules`` after running ``code`` in a new Python process."""
    probe = f"{code}\nimport sys\nprint('\\n'.join(sys.modules))"
    result = subprocess.run(
        [sys.executable, "-c", probe],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    return set(result.stdout.split())


def top_level(modules: set[str]) -> set[str]:
    return {module.partition(".")[0] for module in modules}


@pytest.mark.parametrize(
    "code",
    [
        "import tools.plan",
        # The whole plan of the shipped stack, printed: the settings, routing table, package size
        # and cost.
        "import contextlib, io, tools.plan\n"
        "with contextlib.redirect_stdout(io.StringIO()):\n"
        "    assert tools.plan.main(['--stack', 'prod']) == 0",
    ],
    ids=["import", "main"],
)
def test_plan_does_not_import_pulumi(code):
    loaded = top_level(modules_loaded_by(code))
    assert "tools" in loaded
    assert not loaded & {"pulumi", "pulumi_aws"}


def test_the_sandbox_does_not_import_the_upload_command():
    loaded = modules_loaded_by("import sandbox.__main__, sandbox.stack")
    assert "tools.folder" in loaded
    assert not loaded & {"tools.publish", "tools.drift", "tools.stack_buckets"}


def test_the_folder_scan_imports_neither_pulumi_nor_the_other_tools():
    loaded = modules_loaded_by("import tools.folder")
    assert not top_level(loaded) & {"pulumi", "sandbox", "components", "settings"}
    # tools.interrupt (the standard library alone): its thread pool stops hashing on Ctrl-C.
    assert {module for module in loaded if module.startswith("tools.")} == {
        "tools.folder",
        "tools.interrupt",
    }


def test_modules_loaded_by_sees_pulumi_where_it_is_imported():
    # The probe itself: a component does import Pulumi.
    assert "pulumi" in top_level(modules_loaded_by("import components.lambda_edge"))
