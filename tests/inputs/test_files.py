"""The files commands read besides stack files, by kind: the latency snapshot (through a stack's
latencyFile, and --file) and Pulumi.yaml. Each bad one is refused in one line naming the file, read
no further than its bound, with a non-zero status and no traceback. (--outputs and --prices, given
on the command line, are among the flags: tests/inputs/test_flags.py.)"""

from __future__ import annotations

import pytest

from settings import parser, stack_file
from tests.inputs.support import BAD_FILE_MAKERS, COMMANDS, assert_one_line_refusal

SNAPSHOT_KINDS = sorted(BAD_FILE_MAKERS)


@pytest.fixture
def project(tmp_path, monkeypatch):
    monkeypatch.setattr(stack_file, "PROJECT_ROOT", tmp_path)
    return tmp_path


def latency_stack(project, snapshot) -> None:
    (project / "Pulumi.t.yaml").write_text(
        "config:\n  geo-proximity:origins: [us-east-1, eu-central-1]\n"
        "  geo-proximity:routingMetric: latency\n"
        f"  geo-proximity:latencyFile: {snapshot}\n",
        encoding="utf-8",
    )


@pytest.mark.parametrize(
    "argv",
    [["plan", "--stack", "t"], ["latency show", "--stack", "t"], ["run", "--stack", "t"]],
    ids=" ".join,
)
@pytest.mark.parametrize("kind", SNAPSHOT_KINDS)
def test_a_bad_latency_snapshot_is_refused_in_one_line(kind, argv, project, bad_files, capsys):
    snapshot = bad_files[kind]
    latency_stack(project, snapshot)
    status = COMMANDS[argv[0]].run(argv[1:])
    assert_one_line_refusal(status, capsys.readouterr().err, str(snapshot))


@pytest.mark.parametrize("kind", SNAPSHOT_KINDS)
def test_a_bad_snapshot_named_by_file_is_refused_in_one_line(kind, bad_files, capsys):
    snapshot = bad_files[kind]
    status = COMMANDS["latency show"].run(["--file", str(snapshot)])
    assert_one_line_refusal(status, capsys.readouterr().err, str(snapshot))


@pytest.mark.parametrize("kind", SNAPSHOT_KINDS)
def test_the_program_refuses_a_bad_snapshot_with_the_key(kind, bad_files):
    # What `pulumi up` runs: settings parsing reads latencyFile at deploy time, bounded as well.
    snapshot = bad_files[kind]
    with pytest.raises(parser.ConfigError) as raised:
        parser.parse_settings(
            {
                "origins": '["us-east-1", "eu-central-1"]',
                "routingMetric": "latency",
                "latencyFile": str(snapshot),
            },
            stack="t",
        )
    message = str(raised.value)
    assert message.startswith(f"geo-proximity:latencyFile: {snapshot}") or message.startswith(
        f"geo-proximity:latencyFile: no latency snapshot at {snapshot}"
    )
    assert "\n" not in message


PROJECT_FILE_KINDS = ["missing", "folder", "device", "fifo", "huge", "not-utf8", "binary"]


@pytest.mark.parametrize("kind", PROJECT_FILE_KINDS)
def test_a_bad_project_file_is_refused_in_one_line(kind, bad_files, monkeypatch, capsys):
    project_file = bad_files[kind]
    monkeypatch.setattr(stack_file, "PROJECT_FILE", project_file)
    status = COMMANDS["plan"].run(["--stack", "prod"])
    assert_one_line_refusal(status, capsys.readouterr().err, project_file.name)


def test_a_project_file_whose_config_is_not_a_map_is_refused(tmp_path, monkeypatch, capsys):
    project_file = tmp_path / "Pulumi.yaml"
    project_file.write_text("name: geo-proximity\nconfig: [a, b]\n", encoding="utf-8")
    monkeypatch.setattr(stack_file, "PROJECT_FILE", project_file)
    status = COMMANDS["plan"].run(["--stack", "prod"])
    assert_one_line_refusal(status, capsys.readouterr().err, "Pulumi.yaml: 'config'")
