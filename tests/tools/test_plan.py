import datetime
import fcntl
import json
import os
import re
import subprocess
import sys

import pytest

from core.engine import Engine
from routing.catalogue import load_catalogue
from settings import stack_file
from settings.parser import parse_settings, project_values
from settings.table import PROJECT_ROOT
from tools import cost, plan
from tools.prices import as_dollars


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
    assert 2_000 < function["bytes"] < 20_000 and function["limitBytes"] == 50 * 1024 * 1024


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
    assert "break-even: 83.5% cache hits; above that lambda-edge costs less" in out
    # At 50% hits the figures put cloudfront-functions first, and the words say so.
    assert "here cloudfront-functions costs $" in out


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (
            ["--cache-hit-ratio", "1.5"],
            "argument --cache-hit-ratio: '1.5' is not a ratio from 0 to 1 (or 0% to 100%)",
        ),
        (
            ["--cache-hit-ratio", "most"],
            "argument --cache-hit-ratio: 'most' is not a ratio from 0 to 1 (or 0% to 100%)",
        ),
        *(
            (
                ["--requests-per-month", value],
                f"argument --requests-per-month: {value!r} is not a {what}number of requests "
                "from 1 to 1,000,000,000,000,000 (10^15)",
            )
            for value, what in [
                ("-3", ""),
                ("0", ""),
                ("1e30", ""),
                ("1000000000000001", ""),
                ("1.5", "whole "),
                ("nan", "whole "),
                ("inf", "whole "),
                ("many", "whole "),
            ]
        ),
        *(
            (
                ["--cache-hit-ratio", value],
                f"argument --cache-hit-ratio: {value!r} is not a ratio from 0 to 1 (or 0% to 100%)",
            )
            for value in ("nan", "inf%", "-0.1", "101%")
        ),
        (
            ["--average-object-kb", "0"],
            "argument --average-object-kb: '0' is not a number of KB more than 0 to 5,368,709,120",
        ),
        *(
            (
                [flag, value],
                f"argument {flag}: {value!r} is not a number of GB from 0 to 1,000,000,000,000",
            )
            for flag, value in [
                ("--gb-per-month", "nan"),
                ("--stored-gb", "-1"),
                ("--published-gb-per-month", "1e13"),
            ]
        ),
        (
            ["--lambda-edge-instances", "0"],
            "argument --lambda-edge-instances: '0' is not a whole number of instances from 1 to "
            "10,000,000",
        ),
        (
            ["--log-bytes-per-request", "1.5"],
            "argument --log-bytes-per-request: '1.5' is not a whole number of bytes from 1 to "
            "100,000",
        ),
        *(
            (
                ["--lambda-edge-ms", value],
                f"argument --lambda-edge-ms: {value!r} is not a duration of more than 0 and at "
                "most 30000 ms",
            )
            for value in ("0", "-1", "30001", "soon", "nan")
        ),
    ],
)
def test_bad_traffic_figures_are_one_line(capsys, arguments, message):
    with pytest.raises(SystemExit) as exited:
        plan.main(arguments)
    assert exited.value.code == 2
    assert capsys.readouterr().err.splitlines()[-1] == f"./dev plan: error: {message}"


@pytest.mark.parametrize(
    ("text", "requests"),
    [("1", 1), ("1e9", 10**9), ("1,000,000", 10**6), ("1_000", 1000), ("1e15", 10**15)],
)
def test_requests_per_month_read_as_written(text, requests):
    assert plan.requests_per_month(text) == requests


def test_costs_at_the_largest_traffic_print_without_float_noise(capsys):
    assert plan.main(["--requests-per-month", "1e15", "--cache-hit-ratio", "95%"]) == 0
    out = capsys.readouterr().out
    start = out.index("routing cost per month")
    assert out[start:].splitlines()[:4] == [
        "routing cost per month at 1,000,000,000,000,000 requests with 95% served from the edge "
        "cache (USD, prices of 2026-11-27):",
        "  engine                runs on                    invocations         $/month",
        "  lambda-edge           cache misses        50,000,000,000,000   30,312,562.50  "
        "<- this stack",
        "  cloudfront-functions  every request    1,000,000,000,000,000  100,000,000.00",
    ]
    assert plan.main(["--requests-per-month", "1e15", "--cache-hit-ratio", "95%", "--json"]) == 0
    cost = json.loads(capsys.readouterr().out)["cost"]
    # Whole numbers of invocations, exact: 5% of 10^15 is 5 x 10^13, not 50000000000000.04.
    assert cost["lambdaEdge"]["invocations"] == 50_000_000_000_000
    assert cost["cloudfrontFunctions"]["invocations"] == 10**15
    assert cost["cloudfrontFunctions"]["dollarsPerMonth"] == 100_000_000.0


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("not json", ": not JSON ("),
        (
            '{"lambdaEdgePerMillionRequests": "cheap"}',
            ': lambdaEdgePerMillionRequests: "cheap" is not a price (a number of dollars from 0 '
            "to 1,000,000)",
        ),
        ('{"discount": 0.5}', ": discount is not a price key; the keys are those of"),
        # JSON's NaN and Infinity, which Python's parser accepts, a negative price and one too
        # large to be a price: each named with its key and as written.
        ('{"lambdaEdgePerMillionRequests": NaN}', ": lambdaEdgePerMillionRequests: NaN is not"),
        ('{"alarmPerMonth": Infinity}', ": alarmPerMonth: Infinity is not a price"),
        ('{"alarmPerMonth": -Infinity}', ": alarmPerMonth: -Infinity is not a price"),
        ('{"wafPerMillionRequests": -0.6}', ": wafPerMillionRequests: -0.6 is not a price"),
        ('{"wafPerMillionRequests": 1e400}', ": wafPerMillionRequests: 1E+400 is not a price"),
        ('{"wafPerMillionRequests": true}', ": wafPerMillionRequests: true is not a price"),
        ("[1, 2]", ": expected an object of price keys and dollar amounts"),
        ("[" * 100_000 + "]" * 100_000, ": nested too deeply to be a price file"),
        (" " * (256 * 1024) + "{}", ": larger than 256 KB, which no price file is"),
    ],
)
def test_a_bad_prices_file_is_one_line(capsys, tmp_path, content, message):
    prices = tmp_path / "prices.json"
    prices.write_text(content, encoding="utf-8")
    from tools.cli import run_command

    assert run_command(plan.main, ["--prices", str(prices)]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"error: --prices {prices}{message}") and err.count("\n") == 1
    with pytest.raises(SystemExit) as refused:
        run_command(plan.main, ["--prices", str(tmp_path / "none.json")])
    assert refused.value.code == 2
    assert "argument --prices: no file at" in capsys.readouterr().err
    prices.write_bytes(b'{"alarmPerMonth": 0.1\xff}')
    assert run_command(plan.main, ["--prices", str(prices)]) == 2
    assert capsys.readouterr().err == f"error: --prices {prices}: not UTF-8 text\n"


def test_a_bad_shipped_price_is_refused_naming_the_file_and_key(tmp_path):
    from tools.prices import PriceError, load_price_book

    shipped = tmp_path / "edge_prices.json"
    shipped.write_text(
        '{"about": "x", "prices": {"cloudFrontFunctionsPerMillionInvocations": {"usd": NaN, '
        '"unit": "invocations", "source": "s", "url": "u", "read": "2026-01-01"}}}',
        encoding="utf-8",
    )
    with pytest.raises(PriceError) as refused:
        load_price_book(files=[shipped])
    assert str(refused.value) == (
        f"{shipped}: cloudFrontFunctionsPerMillionInvocations: NaN is not a price (a number of "
        "dollars from 0 to 1,000,000)"
    )


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


# ./dev plan --json prints about 14 KB: more than two of the smallest pipes hold.
@pytest.mark.parametrize(
    "command",
    [
        ["./dev", "plan", "--json"],
        pytest.param(
            ["./dev", "run"],
            marks=pytest.mark.slow(
                reason="./dev run starts every stack's sandbox in a fresh process before its "
                "first line; the pipe, the script and the exit status 141 exist only there"
            ),
        ),
    ],
)
def test_a_reader_that_goes_away_is_no_traceback(command):
    # A pipe of one page (Linux's smallest): the writer waits for its reader, so it is still
    # writing when the reader leaves. With a 64 KB pipe a short output could be written whole
    # before that, and end with status 0, as `./dev plan | head -1` then does too.
    read_end, write_end = os.pipe()
    if hasattr(fcntl, "F_SETPIPE_SZ"):
        fcntl.fcntl(write_end, fcntl.F_SETPIPE_SZ, 4096)
    process = subprocess.Popen(command, cwd=PROJECT_ROOT, stdout=write_end, stderr=subprocess.PIPE)
    os.close(write_end)
    with os.fdopen(read_end, "rb") as reader:
        first = reader.readline()
    # The reader is gone, as after `| head -1`.
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


@pytest.mark.parametrize(
    "module",
    ["tools.plan", "tools.publish", "tools.drift", "sandbox", "tools.cleanup", "tools.backfill"],
)
def test_usage_lines_name_the_dev_command(module):
    helped = subprocess.run(
        [sys.executable, "-m", module, "--help"],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert helped.returncode == 0
    assert helped.stdout.startswith(f"usage: ./dev {module.rsplit('.', 1)[-1]} ")


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


def bill_lines(out):
    """The bill's lines as printed: what → (quantity, unit price, dollars, source)."""
    start = out.index("the bill of stack")
    found = {}
    for line in out[start:].splitlines()[3:]:
        if line.startswith("sources:"):
            break
        cells = re.split(r"\s{2,}", line.strip())
        if len(cells) >= 4 and cells[0] != "what":
            found[cells[0]] = tuple(cells[1:])
    return found


def test_plan_prints_what_monitoring_costs(capsys):
    assert plan.main(["--stack", "prod"]) == 0
    out = capsys.readouterr().out
    # As docs/monitoring.md counts it: 1 + 13 x 2 + 6 alarms, and with the evacuator (on by
    # default) 8 more (every origin out; each vantage's silence; each origin's health object; the
    # checks held), a dashboard, 6 rules' metrics and the evacuator's 8 series.
    lines = bill_lines(out)
    assert lines["alarms"][:3] == ("41", "$0.10 per standard-resolution alarm metric-month", "4.10")
    assert lines["dashboard"][:3] == ("1", "$3.00 per dashboard-month", "3.00")
    assert lines["metrics"][:3] == ("32", "$0.30 per metric-month", "9.60")
    assert (
        "(1 viewer 5xx, 26 Lambda@Edge in 13 execution Regions, 6 failed replication, 1 every "
        "origin out of rotation, 3 evacuator silent, 3 health object unreadable, 1 checks held)"
        in out
    )
    assert plan.main(["--stack", "dev"]) == 0
    out = capsys.readouterr().out
    lines = bill_lines(out)
    assert [lines[what][2] for what in ("alarms", "dashboard", "metrics")] == [
        "1.30",
        "3.00",
        "4.50",
    ]
    assert "(1 viewer 5xx, 3 CloudFront function, 2 failed replication, 1 every origin" in out


def test_plan_json_has_the_monitoring_cost_and_its_prices(capsys):
    assert plan.main(["--stack", "prod", "--json"]) == 0
    monitoring = json.loads(capsys.readouterr().out)["monitoring"]
    prices = monitoring.pop("prices")
    assert monitoring == {
        "enabled": True,
        "alarms": {
            "viewer5xx": 1,
            "router": 26,
            "failedReplication": 6,
            "evacuator": 8,
            "total": 41,
        },
        "dashboards": 1,
        "replicationRules": 6,
        "replicationMetrics": 24,
        "evacuatorMetrics": 8,
        "dollarsPerMonth": {
            "alarms": 4.1,
            "dashboards": 3.0,
            "metrics": 9.6,
            "total": 16.7,
        },
    }
    assert prices["asOf"] == "2026-11-27" and "CloudWatch pricing" in prices["source"]
    assert "second-hand" in prices["source"]
    assert (prices["alarmPerMonth"], prices["dashboardPerMonth"], prices["metricPerMonth"]) == (
        0.1,
        3.0,
        0.3,
    )


def test_an_unmonitored_stack_shows_no_monitoring_cost(capsys, tmp_path, monkeypatch):
    write_stack(
        tmp_path,
        monkeypatch,
        "config:\n  geo-proximity:origins: [us-east-1, eu-west-1]\n"
        "  geo-proximity:monitoring: false\n",
    )
    assert plan.main(["--stack", "t"]) == 0
    out = capsys.readouterr().out
    assert "  monitoring\n" not in out and "alarms" not in bill_lines(out)
    assert plan.main(["--stack", "t", "--json"]) == 0
    monitoring = json.loads(capsys.readouterr().out)["monitoring"]
    assert monitoring["enabled"] is False
    assert monitoring["alarms"]["total"] == monitoring["replicationMetrics"] == 0
    assert monitoring["dashboards"] == 0 and monitoring["dollarsPerMonth"]["total"] == 0


@pytest.mark.parametrize(
    ("engine", "origins", "mesh", "alarms", "metrics", "dollars"),
    [
        ("lambda-edge", 3, True, 33, 24, 13.50),  # prod
        ("cloudfront-functions", 2, True, 6, 8, 6.00),  # dev
        ("lambda-edge", 3, False, 27, 0, 5.70),  # replication off
        ("lambda-edge", 20, True, 407, 1_520, 499.70),
        ("cloudfront-functions", 20, True, 384, 1_520, 497.40),
        # Every Region of the catalogue: about $1,500 a month, nearly all of it replication.
        ("lambda-edge", 34, True, 1_149, 4_488, 1_464.30),
        ("cloudfront-functions", 34, True, 1_126, 4_488, 1_462.00),
    ],
)
def test_monitoring_grows_with_the_square_of_the_origins(
    engine, origins, mesh, alarms, metrics, dollars
):
    estimate = cost.monitoring_estimate(
        cost.load_monitoring_prices(),
        enabled=True,
        engine=Engine(engine),
        origins=origins,
        mesh=mesh,
    )
    assert (estimate.alarms, estimate.dashboards, estimate.replication_metrics) == (
        alarms,
        1,
        metrics,
    )
    assert as_dollars(estimate.dollars) == dollars
    # With an evacuator in two vantage Regions: every origin out of rotation, each vantage's
    # silence, each origin's health object, the checks held.
    evacuated = cost.monitoring_estimate(
        cost.load_monitoring_prices(),
        enabled=True,
        engine=Engine(engine),
        origins=origins,
        mesh=mesh,
        evacuation=True,
        vantages=2,
    )
    assert evacuated.evacuation_alarms == 1 + 2 + origins + 1
    assert evacuated.alarms == alarms + evacuated.evacuation_alarms


ALARM = "aws:cloudwatch/metricAlarm:MetricAlarm"
DASHBOARD = "aws:cloudwatch/dashboard:Dashboard"


@pytest.mark.parametrize(
    "scenario",
    [
        "stack:prod",
        "stack:dev",
        "unmonitored",
        "fixed-failover",
        "functions-twenty-origins",
        "evacuation-off",
        "functions-unmonitored",
    ],
)
def test_the_monitoring_estimate_counts_what_the_program_declares(scenario):
    # The plan counts without Pulumi; the program, run under mocks, declares the resources.
    from testing.mock_program import REPLICATION_CONFIG
    from tests.components.conftest import _config, deployed

    config, stack = _config(scenario)
    settings = parse_settings(project_values(config), stack=stack)
    estimate = plan.stack_monitoring(settings)
    deployment = deployed(scenario)
    rules_with_metrics = [
        rule
        for config in deployment.all(REPLICATION_CONFIG)
        for rule in config.inputs["rules"]
        if (rule["destination"].get("metrics") or {}).get("status") == "Enabled"
    ]
    assert estimate.alarms == len(deployment.all(ALARM))
    assert estimate.dashboards == len(deployment.all(DASHBOARD))
    assert estimate.replication_rules == len(rules_with_metrics)


def test_prices_override_reaches_the_monitoring_prices(capsys, tmp_path):
    prices = tmp_path / "prices.json"
    prices.write_text('{"alarmPerMonth": 0.2}', encoding="utf-8")
    assert plan.main(["--prices", str(prices), "--json"]) == 0
    document = json.loads(capsys.readouterr().out)
    assert document["monitoring"]["dollarsPerMonth"]["alarms"] == 8.2  # 41 alarms at $0.20
    assert (
        f"; replaced by {prices}. dashboardPerMonth:" in document["monitoring"]["prices"]["source"]
    )
    assert "replaced" not in document["cost"]["prices"]["source"]
    assert document["bill"]["prices"]["alarmPerMonth"]["overriddenBy"] == str(prices)


def test_opt_in_origins_are_named_in_a_warning(capsys, tmp_path, monkeypatch):
    write_stack(
        tmp_path,
        monkeypatch,
        "config:\n  geo-proximity:origins: [us-east-1, eu-south-1, me-south-1]\n",
    )
    assert plan.main(["--stack", "t"]) == 0
    warnings = [line for line in capsys.readouterr().out.splitlines() if line.startswith("warning")]
    assert warnings == [
        "warning: opt-in Region(s) among the origins: eu-south-1, me-south-1. AWS leaves them "
        "disabled in an account until someone enables them (console: Account, AWS Regions; or "
        "`aws account enable-region --region-name eu-south-1`); enable each before `pulumi up`, "
        "or creating its bucket fails."
    ]
    assert plan.main(["--stack", "t", "--json"]) == 0
    assert "eu-south-1, me-south-1" in json.loads(capsys.readouterr().out)["warnings"][0]


@pytest.mark.parametrize(
    ("engine", "other"),
    [("lambda-edge", "cloudfront-functions"), ("cloudfront-functions", "lambda-edge")],
)
def test_a_switch_under_way_says_the_steps_left_whichever_step_it_is(
    capsys, tmp_path, monkeypatch, engine, other
):
    # The same configuration is step 1 of a switch to `other` and step 2 of one from it: the
    # warning names both ways on, never only the one that would switch back.
    write_stack(
        tmp_path,
        monkeypatch,
        "config:\n  geo-proximity:origins: [us-east-1, eu-central-1]\n"
        f"  geo-proximity:engine: {engine}\n  geo-proximity:nextEngine: {other}\n",
    )
    assert plan.main(["--stack", "t"]) == 0
    (warning,) = [
        line for line in capsys.readouterr().out.splitlines() if "switching engines" in line
    ]
    assert (
        f"To move the distribution to {other}: `pulumi config set geo-proximity:engine {other}`"
        in warning
    )
    assert f"`pulumi config set geo-proximity:nextEngine {engine}`" in warning
    assert "`pulumi config rm geo-proximity:nextEngine`" in warning
    assert "keeps its replicas" in warning


# --- the routing metric ------------------------------------------------------------------------


def latency_stack(tmp_path, monkeypatch, measured, extra=""):
    """Pulumi.t.yaml routing the seed origins by a snapshot: from Mumbai, Tokyo 20 ms faster than
    Frankfurt (its nearest); from Sao Paulo, Frankfurt 7 ms faster than Virginia (its nearest)."""
    snapshot = tmp_path / "latency.json"
    snapshot.write_text(
        json.dumps(
            {
                "source": "synthetic",
                "measured": measured.isoformat(),
                "statistic": "p50",
                "unit": "ms",
                "latency": {
                    "ap-south-1": {"eu-central-1": 120.0, "ap-northeast-1": 100.0},
                    "sa-east-1": {"us-east-1": 115.0, "eu-central-1": 108.0},
                },
            }
        ),
        encoding="utf-8",
    )
    write_stack(
        tmp_path,
        monkeypatch,
        "config:\n  geo-proximity:origins: [us-east-1, eu-central-1, ap-northeast-1]\n"
        f"  geo-proximity:routingMetric: latency\n  geo-proximity:latencyFile: {snapshot}\n"
        + extra,
    )
    return snapshot


def test_plan_says_a_stack_routes_by_distance(capsys):
    assert plan.main(["--stack", "prod"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[2] == "routing metric: distance (the nearest origin by great-circle km)"
    assert " ms " not in lines[4]  # no measured columns
    assert plan.main(["--stack", "prod", "--json"]) == 0
    document = json.loads(capsys.readouterr().out)
    assert document["routingMetric"] == "distance" and document["latency"] is None
    route = document["routes"]["ap-south-1"]
    assert route["latencyChanged"] is False and route["primaryMs"] is None
    assert route["fastest"] is None and route["gainMs"] is None


def test_plan_shows_where_measured_latency_and_distance_differ(capsys, tmp_path, monkeypatch):
    today = datetime.datetime.now(datetime.UTC).date()
    snapshot = latency_stack(tmp_path, monkeypatch, today - datetime.timedelta(days=2))
    assert plan.main(["--stack", "t"]) == 0
    out = capsys.readouterr().out
    lines = out.splitlines()
    assert lines[2] == (
        f"routing metric: latency ({snapshot}, p50 round trips measured "
        f"{(today - datetime.timedelta(days=2)).isoformat()}; margin 10 ms): 4 of 36 pairs from "
        "the Regional edge cache Regions to the origins measured, the others ranked by distance"
    )
    rows = rows_of(out)
    assert rows["ap-south-1"].split()[1:7] == [
        "ap-northeast-1",
        "6,723",
        "100.0",
        "eu-central-1",
        "6,564",
        "120.0",
    ]
    assert rows["ap-south-1"].endswith("latency: 20.0 ms faster than nearest eu-central-1")
    assert rows["sa-east-1"].split()[1:4] == ["us-east-1", "7,664", "115.0"]
    assert rows["eu-west-1"].split()[1:4] == ["eu-central-1", "1,088", "-"]
    assert (
        "where the nearest origin by distance is not the fastest measured:\n"
        "- sa-east-1: nearest us-east-1 (115.0 ms), fastest eu-central-1 (108.0 ms), 7.0 ms "
        "faster: kept on us-east-1 (under the 10 ms margin)\n"
        "- ap-south-1: nearest eu-central-1 (120.0 ms), fastest ap-northeast-1 (100.0 ms), "
        "20.0 ms faster: routed to ap-northeast-1\n"
    ) in out
    assert (
        "warning: the latency snapshot holds 4 of the 36 pairs from the Regional edge cache "
        "Regions to this stack's origins; the other 32 are ranked by distance "
        "(`./dev latency fetch --stack t` asks AWS for them" in out
    )
    assert "days ago" not in out


def test_plan_json_and_the_map_carry_both_metrics(capsys, tmp_path, monkeypatch):
    today = datetime.datetime.now(datetime.UTC).date()
    latency_stack(tmp_path, monkeypatch, today, extra="  geo-proximity:latencyMarginMs: 5\n")
    assert plan.main(["--stack", "t", "--json"]) == 0
    document = json.loads(capsys.readouterr().out)
    assert document["routingMetric"] == "latency"
    assert document["latency"]["marginMs"] == 5
    assert (document["latency"]["pairsMeasured"], document["latency"]["pairsToOrigins"]) == (4, 36)
    mumbai, sao_paulo = document["routes"]["ap-south-1"], document["routes"]["sa-east-1"]
    assert (mumbai["primary"], mumbai["primaryKm"], mumbai["primaryMs"]) == (
        "ap-northeast-1",
        6723.4,
        100.0,
    )
    assert (mumbai["nearest"], mumbai["nearestMs"], mumbai["fastest"], mumbai["fastestMs"]) == (
        "eu-central-1",
        120.0,
        "ap-northeast-1",
        100.0,
    )
    assert mumbai["gainMs"] == 20.0 and mumbai["latencyChanged"] is True
    # With a 5 ms margin, Sao Paulo's 7 ms gain moves it too.
    assert sao_paulo["primary"] == "eu-central-1" and sao_paulo["latencyChanged"] is True
    changed = {edge for edge, route in document["routes"].items() if route["latencyChanged"]}
    assert changed == {"ap-south-1", "sa-east-1"}
    from tools.plan_map import render_page

    page = render_page(document)
    assert sorted(re.findall(r'<path class="primary latency" data-edge="([a-z0-9-]+)"', page)) == [
        "ap-south-1",
        "sa-east-1",
    ]
    assert page.count('<path class="primary latency"') == 2
    assert "routing by measured latency" in page and "green arrow" in page


def test_an_old_snapshot_is_said_to_need_refreshing(capsys, tmp_path, monkeypatch):
    latency_stack(tmp_path, monkeypatch, datetime.date(2020, 1, 1))
    assert plan.main(["--stack", "t", "--json"]) == 0
    warnings = json.loads(capsys.readouterr().out)["warnings"]
    (stale,) = [w for w in warnings if "days ago" in w]
    age = (datetime.datetime.now(datetime.UTC).date() - datetime.date(2020, 1, 1)).days
    assert stale.startswith(f"the latency snapshot was measured {age} days ago (2020-01-01)")
    assert "`./dev latency fetch --stack t`" in stale


def test_a_stack_routing_by_latency_without_its_snapshot_is_one_line(capsys, tmp_path, monkeypatch):
    snapshot = latency_stack(tmp_path, monkeypatch, datetime.date(2026, 11, 28))
    snapshot.unlink()
    assert plan.run_command(plan.main, ["--stack", "t"]) == 2
    err = capsys.readouterr().err
    assert err == (
        f"error: geo-proximity:latencyFile: no latency snapshot at {snapshot}, which "
        "routingMetric 'latency' routes by; run `./dev latency fetch --stack t` to write it (or "
        "set routingMetric to distance)\n"
    )
