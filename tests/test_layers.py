"""What a module imports, checked in a fresh interpreter: ``./dev plan`` runs without Pulumi, the
sandbox without the upload command, and the folder scan both share without either."""

import subprocess
import sys

import pytest

from tools.stack_file import PROJECT_ROOT


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
    assert "content.folder" in loaded
    assert not loaded & {"tools.publish", "tools.drift", "tools.stack_buckets"}


def test_the_folder_scan_imports_neither_pulumi_nor_the_tools():
    loaded = modules_loaded_by("import content.folder")
    assert not top_level(loaded) & {"pulumi", "tools", "sandbox", "components"}


def test_modules_loaded_by_sees_pulumi_where_it_is_imported():
    # The probe itself: a component does import Pulumi.
    assert "pulumi" in top_level(modules_loaded_by("import components.lambda_edge"))
