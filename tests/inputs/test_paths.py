"""./dev run from another folder: a file or folder a person names is where they stand, as with any
command (--html, --prices, --file, --outputs, --assets, publish's FOLDER), while stacks are the
project's, and a stack file's latencyFile is relative to the project directory, where the program
reads it at deploy time. Each run is ./dev itself, in a process of its own started elsewhere."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from settings.table import PROJECT_ROOT
from tests.inputs.support import CLOSED, run_dev

SNAPSHOT = {
    "source": "a test",
    "measured": "2026-11-29",
    "statistic": "p50",
    "unit": "ms",
    "latency": {"ap-south-1": {"eu-central-1": 121.4}},
}


@pytest.fixture
def elsewhere(tmp_path: Path) -> Path:
    """A folder outside the project, where the user stands."""
    folder = tmp_path / "elsewhere"
    folder.mkdir()
    return folder


@pytest.fixture
def project_stack() -> Iterator[str]:
    """The name of a stack whose file is in the project (untracked), removed afterwards."""
    name = f"zz-inputs-{uuid.uuid4().hex[:8]}"
    path = PROJECT_ROOT / f"Pulumi.{name}.yaml"
    yield name
    path.unlink(missing_ok=True)
    (PROJECT_ROOT / f"{name}.json").unlink(missing_ok=True)


def test_html_is_written_where_the_user_stands(elsewhere):
    done = run_dev(["plan", "--stack", "prod", "--html", "map.html"], cwd=elsewhere)
    assert done.status == 0, done.err
    assert (elsewhere / "map.html").stat().st_size > 0
    assert not (PROJECT_ROOT / "map.html").exists()
    assert (
        done.out
        == "wrote map.html: the routing of stack prod on a world map; open it in a browser\n"
    )


def test_files_named_from_another_folder_are_found(elsewhere, aws):
    (elsewhere / "prices.json").write_text(
        '{"lambdaEdgePerMillionRequests": 0.6}', encoding="utf-8"
    )
    (elsewhere / "snapshot.json").write_text(json.dumps(SNAPSHOT), encoding="utf-8")
    (elsewhere / "outputs.json").write_text(json.dumps({"buckets": {}}), encoding="utf-8")
    (elsewhere / "site").mkdir()
    (elsewhere / "site" / "index.html").write_text("<h1>here</h1>\n", encoding="utf-8")

    priced = run_dev(["plan", "--stack", "prod", "--prices", "prices.json"], cwd=elsewhere)
    assert priced.status == 0, priced.err
    shown = run_dev(["latency", "show", "--file", "snapshot.json"], cwd=elsewhere)
    assert (shown.status, shown.out.splitlines()[-1]) == (0, "ap-south-1: eu-central-1 121.4")
    # Read, and refused for what it holds, not for where it is.
    status = run_dev(["status", "--stack", "prod", "--outputs", "outputs.json"], cwd=elsewhere)
    assert status.status == 2
    assert status.err.startswith("error: stack outputs in outputs.json have no 'routingState'")
    published = run_dev(
        ["publish", "site", "--bucket", "us-east-1=geo-bucket", "--endpoint-url", CLOSED],
        cwd=elsewhere,
    )
    assert published.status == 2 and published.err.startswith("error: cannot reach S3"), (
        published.err
    )
    # --assets is found: refused for holding no file, not for being nowhere.
    (elsewhere / "empty").mkdir()
    assets = run_dev(["sandbox", "drill", "--assets", "empty"], cwd=elsewhere)
    assert (assets.status, assets.err) == (
        2,
        "error: --assets empty: the folder holds no files to serve\n",
    )


def test_a_missing_file_is_named_as_the_user_gave_it(elsewhere):
    done = run_dev(["latency", "show", "--file", "nothere.json"], cwd=elsewhere)
    assert (done.status, done.err) == (
        2,
        "error: no latency snapshot at nothere.json; run `./dev latency fetch` to write one\n",
    )


def test_a_stacks_latency_file_is_the_projects_wherever_the_user_stands(elsewhere, project_stack):
    # The same relative name where the user stands holds another snapshot: it is not read.
    (PROJECT_ROOT / f"{project_stack}.json").write_text(json.dumps(SNAPSHOT), encoding="utf-8")
    (elsewhere / f"{project_stack}.json").write_text("not this one", encoding="utf-8")
    (PROJECT_ROOT / f"Pulumi.{project_stack}.yaml").write_text(
        "config:\n  geo-proximity:origins: [us-east-1, eu-central-1]\n"
        "  geo-proximity:routingMetric: latency\n"
        f"  geo-proximity:latencyFile: {project_stack}.json\n",
        encoding="utf-8",
    )
    done = run_dev(["latency", "show", "--stack", project_stack], cwd=elsewhere)
    assert done.status == 0, done.err
    assert done.out.startswith(f"{PROJECT_ROOT / project_stack}.json: p50 round trips")


def test_a_module_where_the_user_stands_is_never_imported(elsewhere):
    # `python -m` puts the current folder first on sys.path; ./dev runs Python with -P.
    (elsewhere / "tools").mkdir()
    (elsewhere / "tools" / "__init__.py").write_text("raise SystemExit('imported')\n")
    (elsewhere / "json.py").write_text("raise SystemExit('imported')\n")
    done = run_dev(["plan", "--stack", "prod", "--json"], cwd=elsewhere)
    assert done.status == 0, done.err
    assert json.loads(done.out)["stack"] == "prod"


def test_a_file_name_that_is_not_utf8_is_written_and_named_safely(elsewhere):
    # Bytes that are not UTF-8 reach Python as lone surrogates, which a UTF-8 stdout cannot
    # carry: the map was written, then printing its name failed with a traceback.
    done = run_dev(["plan", "--stack", "prod", "--html", "\udcff.html"], cwd=elsewhere)
    assert done.status == 0, done.err
    assert (elsewhere / b"\xff.html".decode("utf-8", "surrogateescape")).exists()
    assert done.out.startswith("wrote \\udcff.html: ")
