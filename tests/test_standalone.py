"""A clean clone is all the tests need, and they leave the machine as they found it: no file the
repository ships points outside it, and no test runs an installer (Chromium for the map test comes
from `./dev setup --browser` or .ci/run)."""

import re
import subprocess
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parents[1]
# Paths into the workspace around the repository, which a clone does not have.
OUTSIDE = ("../shared", "shared/seed", "shared/reference")
# A command list that starts an installer, as subprocess.run takes it.
INSTALLER = re.compile(
    r"""\[\s*["'](?:sudo["']\s*,\s*["'])?(?:apt-get|apt|dnf|yum|brew|npm|pip3?)["']"""
    r"""|["']-m["']\s*,\s*["']pip["']"""
)


def shipped_files() -> list[Path]:
    listed = subprocess.run(
        ["git", "ls-files"], cwd=PROJECT_ROOT, capture_output=True, text=True, check=False
    )
    names = listed.stdout.split() if listed.returncode == 0 else []
    if not names:  # not a git checkout: every file but the virtual environment's
        return [
            path
            for path in PROJECT_ROOT.rglob("*")
            if path.is_file() and ".venv" not in path.parts and ".git" not in path.parts
        ]
    return [PROJECT_ROOT / name for name in names]


def text_of(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except (UnicodeDecodeError, FileNotFoundError):
        return ""  # binary, or deleted in the work tree


def test_no_shipped_file_points_outside_the_repository():
    this = Path(__file__).resolve()
    found = [
        f"{path.relative_to(PROJECT_ROOT)}: {marker}"
        for path in shipped_files()
        if path.resolve() != this
        for marker in OUTSIDE
        if marker in text_of(path)
    ]
    assert found == []


def test_no_test_runs_an_installer():
    this = Path(__file__).resolve()
    found = [
        f"{path.relative_to(PROJECT_ROOT)}: {match.group(0)}"
        for path in sorted((PROJECT_ROOT / "tests").rglob("*.py"))
        if path.resolve() != this
        for match in INSTALLER.finditer(text_of(path))
    ]
    assert found == []


def test_the_installer_pattern_finds_what_the_map_test_used_to_run():
    # The lines tests/tools/test_plan_map.py held before Chromium moved to ./dev setup --browser.
    before = 'subprocess.run(["apt-get", "install", "-y", "-qq", "chromium"], check=False)'
    assert INSTALLER.search(before)
    assert INSTALLER.search('subprocess.run([sys.executable, "-m", "pip", "install", "x"])')
    assert not INSTALLER.search('subprocess.run(["./dev", "setup", "--browser"])')
