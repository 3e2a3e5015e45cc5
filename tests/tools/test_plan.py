import json
import subprocess
import sys

import pytest

from routing.catalogue import load_catalogue
from tools import plan, stack_file
from tools.stack_file import PROJECT_ROOT


def rows_of(out):
    return {
        line.split()[0].lstrip("*"): line
        for line in out.splitlines()
        if line[:1] in "* " and line.strip()
    }


def test_plan_prints_every_region_with_distances(capsys):
    assert plan.main(["--stack", "prod"]) == 0
    out = capsys.readouterr().out
    assert out.startswith(
        "stack prod: origins us-east-1, eu-central-1, ap-northeast-1; default us-east-1; failover "
        "ranked"
    )
    assert "origin connections: 3 attempt(s) x 1 s, so an unreachable Region delays failover" in out
    rows = rows_of(out)
    assert rows["eu-west-1"].split()[1:] == ["eu-central-1", "1,088", "us-east-1", "5,462"]
    assert rows["ap-southeast-2"].split()[1] == "ap-northeast-1"
    assert set(load_catalogue()) <= set(rows)
    assert "warning" not in out
    assert "Nothing was deployed" in out


def write_stack(tmp_path, monkeypatch, text):
    monkeypatch.setattr(stack_file, "PROJECT_ROOT", tmp_path)
    (tmp_path / "Pulumi.t.yaml").write_text(text, encoding="utf-8")


def test_pinned_routes_are_marked_with_the_nearest_origin(capsys, tmp_path, monkeypatch):
    write_stack(
        tmp_path,
        monkeypatch,
        "config:\n  geo-proximity:origins: [us-east-1, eu-central-1, ap-northeast-1]\n"
        "  geo-proximity:routes:\n    ap-south-1: ap-northeast-1\n",
    )
    assert plan.main(["--stack", "t"]) == 0
    rows = rows_of(capsys.readouterr().out)
    assert rows["ap-south-1"].split()[1] == "ap-northeast-1"
    assert rows["ap-south-1"].endswith("pinned (nearest is eu-central-1)")
    assert "pinned" not in rows["ap-southeast-1"]


def test_fixed_failover_warns_where_failover_equals_primary(capsys, tmp_path, monkeypatch):
    write_stack(
        tmp_path,
        monkeypatch,
        "config:\n  geo-proximity:origins: [us-east-1, eu-central-1, ap-northeast-1]\n"
        "  geo-proximity:failover: fixed\n",
    )
    assert plan.main(["--stack", "t"]) == 0
    out = capsys.readouterr().out
    rows = rows_of(out)
    # The group's secondary is eu-central-1 (nearest us-east-1): Europe's edges have no other one.
    assert rows["eu-west-1"].endswith("failover = primary: lost while it is down")
    assert "failover = primary" not in rows["ap-southeast-1"]
    warning = next(line for line in out.splitlines() if line.startswith("warning:"))
    assert (
        "eu-central-1 is both the primary and the failover of" in warning and "eu-west-1" in warning
    )


def test_plan_json_has_distances_pins_warnings_and_package_size(capsys, tmp_path, monkeypatch):
    write_stack(
        tmp_path,
        monkeypatch,
        "config:\n  geo-proximity:origins: [us-east-1, eu-west-1]\n"
        "  geo-proximity:routes:\n    eu-central-1: us-east-1\n",
    )
    assert plan.main(["--stack", "t", "--json"]) == 0
    document = json.loads(capsys.readouterr().out)
    assert document["failover"] == "ranked"
    assert document["originGroup"] == {"primary": "us-east-1", "secondary": "eu-west-1"}
    pinned = document["routes"]["eu-central-1"]
    assert (
        pinned["primary"] == "us-east-1"
        and pinned["pinned"] is True
        and pinned["nearest"] == "eu-west-1"
    )
    assert (
        pinned["primaryKm"] > 6000
        and pinned["failover"] == "eu-west-1"
        and 0 < pinned["failoverKm"] < 1500
    )
    assert pinned["notes"] == ["pinned (nearest is eu-west-1)"]
    assert document["routes"]["eu-west-2"]["pinned"] is False
    assert document["routes"]["eu-west-2"]["notes"] == []
    assert document["warnings"] == []
    assert document["originConnection"] == {"attempts": 3, "timeoutSeconds": 1}
    assert document["packageBytes"] == plan.package_size(stack_file.settings_from_stack_file("t"))
    assert 2_000 < document["packageBytes"] < 10_000


def test_plan_reports_a_missing_stack_and_bad_config(capsys, tmp_path, monkeypatch):
    assert plan.run_command(plan.main, ["--stack", "nope"]) == 2
    assert "no stack file at" in capsys.readouterr().err
    write_stack(tmp_path, monkeypatch, "config:\n  geo-proximity:origins: [us-east-1, us-east-1]\n")
    assert plan.run_command(plan.main, ["--stack", "t"]) == 2
    assert (
        capsys.readouterr().err.strip()
        == "error: geo-proximity:origins: 'us-east-1' is listed twice; "
        "each Region holds at most one bucket"
    )


def test_yaml_1_2_failover_off_is_read_as_the_cli_reads_it(capsys, tmp_path, monkeypatch):
    write_stack(
        tmp_path,
        monkeypatch,
        "config:\n  geo-proximity:origins: [us-east-1, eu-west-1]\n  geo-proximity:failover: off\n",
    )
    assert plan.run_command(plan.main, ["--stack", "t"]) == 0
    assert "failover off" in capsys.readouterr().out


def test_invalid_yaml_is_one_line_with_file_line_and_column(capsys, tmp_path, monkeypatch):
    write_stack(tmp_path, monkeypatch, "config:\n  geo-proximity:origins: [us-east-1\n")
    assert plan.run_command(plan.main, ["--stack", "t"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: Pulumi.t.yaml:3:1: ") and err.count("\n") == 1


@pytest.mark.parametrize("command", [["./dev", "plan"], ["./dev", "run"]])
def test_a_reader_that_goes_away_is_no_traceback(command):
    process = subprocess.Popen(
        command, cwd=PROJECT_ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    assert process.stdout is not None
    first = process.stdout.readline()
    process.stdout.close()  # as `| head -1` does
    _, err = process.communicate(timeout=120)
    assert first
    assert b"Traceback" not in err and b"BrokenPipeError" not in err, err.decode()
    assert process.returncode == 141


def test_dev_says_unknown_commands_and_answers_help():
    unknown = subprocess.run(
        ["./dev", "nonsense"], cwd=PROJECT_ROOT, capture_output=True, text=True, check=False
    )
    assert unknown.returncode == 2
    assert unknown.stderr.startswith("dev: unknown command 'nonsense'")
    for flag in ("help", "--help", "-h"):
        helped = subprocess.run(
            ["./dev", flag], cwd=PROJECT_ROOT, capture_output=True, text=True, check=False
        )
        assert helped.returncode == 0 and "./dev run" in helped.stdout and helped.stderr == ""


@pytest.mark.parametrize("module", ["tools.plan", "tools.publish", "tools.drift", "sandbox"])
def test_usage_lines_name_the_dev_command(module):
    helped = subprocess.run(
        [sys.executable, "-m", module, "--help"],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert helped.returncode == 0
    assert helped.stdout.startswith("usage: ./dev ")
