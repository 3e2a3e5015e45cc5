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
        "stack prod: engine lambda-edge; origins us-east-1, eu-central-1, ap-northeast-1; default "
        "us-east-1; failover ranked"
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
    assert document["engine"] == "lambda-edge" and document["originAccess"] == "oai"
    function = document["function"]
    assert function["bytes"] == plan.package_size(stack_file.settings_from_stack_file("t"))
    assert 2_000 < function["bytes"] < 10_000 and function["limitBytes"] == 50 * 1024 * 1024


def test_plan_tells_the_engine_and_the_functions_size_against_its_limit(capsys):
    assert plan.main(["--stack", "dev"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("stack dev: engine cloudfront-functions; origins us-east-1, eu-west-1")
    # The function makes each request's group: no declared origin group to show.
    assert "(origin group:" not in out.splitlines()[0]
    settings = stack_file.settings_from_stack_file("dev")
    size = len(plan.render_function_code(settings.routing, settings.failover_status_codes).encode())
    assert f"CloudFront function code: {size:,} bytes of the 10,240 CloudFront allows" in out
    assert plan.main(["--stack", "dev", "--json"]) == 0
    document = json.loads(capsys.readouterr().out)
    assert document["engine"] == "cloudfront-functions" and document["originAccess"] == "oac"
    assert document["function"] == {
        "what": "CloudFront function code",
        "bytes": size,
        "limitBytes": 10_240,
    }


def test_the_cost_model_prices_both_engines_and_their_break_even(capsys):
    assert (
        plan.main(["--requests-per-month", "1000000000", "--cache-hit-ratio", "95%", "--json"]) == 0
    )
    cost = json.loads(capsys.readouterr().out)["cost"]
    # Lambda@Edge on the 5% of misses: $0.60 per million plus 1 ms at 128 MB x $0.00005001/GB-s.
    misses = 50_000_000
    per_miss = 0.60 / 1e6 + 0.128 / 1.024 * 0.001 * 0.00005001
    assert cost["lambdaEdge"]["invocations"] == misses
    assert cost["lambdaEdge"]["dollarsPerMonth"] == round(misses * per_miss, 2) == 30.31
    # CloudFront Functions on every request: $0.10 per million.
    assert cost["cloudfrontFunctions"]["dollarsPerMonth"] == 100.0
    assert cost["breakEvenCacheHitRatio"] == round(1 - 0.10 / 1e6 / per_miss, 4) == 0.8351
    assert cost["prices"]["asOf"] and "pricing" in cost["prices"]["source"]


def test_prices_and_duration_are_overridable(capsys, tmp_path):
    prices = tmp_path / "prices.json"
    prices.write_text('{"cloudFrontFunctionsPerMillionInvocations": 0.6}', encoding="utf-8")
    assert plan.main(["--prices", str(prices), "--lambda-edge-ms", "2.2", "--json"]) == 0
    cost = json.loads(capsys.readouterr().out)["cost"]
    assert cost["lambdaEdge"]["billedMs"] == 3  # billed per whole millisecond
    assert cost["cloudfrontFunctions"]["dollarsPerMonth"] == 60.0
    # At Lambda@Edge's request price, Functions win only where nearly every request misses.
    per_miss = 0.60 / 1e6 + 0.125 * 0.003 * 0.00005001
    assert cost["breakEvenCacheHitRatio"] == round(1 - 0.60 / 1e6 / per_miss, 4) == 0.0303
    assert str(prices) in cost["prices"]["source"]


def test_the_cost_table_marks_the_stacks_engine(capsys):
    assert plan.main(["--stack", "prod", "--cache-hit-ratio", "0.5"]) == 0
    out = capsys.readouterr().out
    lines = {line.split()[0]: line for line in out.splitlines() if line.startswith("  ")}
    assert lines["lambda-edge"].endswith("<- this stack")
    assert "this stack" not in lines["cloudfront-functions"]
    assert "break-even: 83.5% cache hits; above that Lambda@Edge costs less" in out


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["--cache-hit-ratio", "1.5"], "argument --cache-hit-ratio: '1.5' is not a ratio"),
        (["--cache-hit-ratio", "most"], "argument --cache-hit-ratio: 'most' is not a ratio"),
        (["--requests-per-month", "-3"], "argument --requests-per-month: -3 is negative"),
        (["--lambda-edge-ms", "0"], "argument --lambda-edge-ms: '0' is not a duration"),
    ],
)
def test_bad_traffic_figures_are_one_line(capsys, arguments, message):
    with pytest.raises(SystemExit) as exited:
        plan.main(arguments)
    assert exited.value.code == 2
    assert message in capsys.readouterr().err


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("not json", "not JSON"),
        ('{"lambdaEdgePerMillionRequests": "cheap"}', "'cheap' is not a number of dollars"),
        ('{"discount": 0.5}', "expected an object with some of asOf"),
    ],
)
def test_a_bad_prices_file_is_one_line(capsys, tmp_path, content, message):
    prices = tmp_path / "prices.json"
    prices.write_text(content, encoding="utf-8")
    from tools.cli import run_command

    assert run_command(plan.main, ["--prices", str(prices)]) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1
    assert run_command(plan.main, ["--prices", str(tmp_path / "none.json")]) == 2
    assert "No such file or directory" in capsys.readouterr().err


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


def test_plan_marks_drained_regions_and_where_their_edges_go(capsys, tmp_path, monkeypatch):
    write_stack(
        tmp_path,
        monkeypatch,
        "config:\n  geo-proximity:origins: [us-east-1, eu-central-1, ap-northeast-1]\n"
        "  geo-proximity:drained: [eu-central-1]\n",
    )
    assert plan.main(["--stack", "t"]) == 0
    out = capsys.readouterr().out
    assert out.splitlines()[0].endswith("; drained eu-central-1")
    rows = rows_of(out)
    assert rows["eu-west-2"].split()[1:5] == ["us-east-1", "5,918", "ap-northeast-1", "9,560"]
    assert rows["eu-west-2"].endswith("eu-central-1 drained")
    assert "eu-central-1 drained" not in rows["us-east-2"]
    assert "warning: drained: eu-central-1 keep their buckets but take no traffic" in out
    assert plan.main(["--stack", "t", "--json"]) == 0
    document = json.loads(capsys.readouterr().out)
    assert document["drained"] == ["eu-central-1"]
    assert document["routes"]["eu-west-2"]["drainedNearer"] == "eu-central-1"
    assert document["routes"]["us-east-2"]["drainedNearer"] is None
    from tools.plan_map import render_page

    page = render_page(document)
    assert '<g class="region drained execution" data-region="eu-central-1">' in page
    assert '<g class="region origin execution" data-region="us-east-1">' in page
