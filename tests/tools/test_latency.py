"""./dev latency: the fetch against botocore's Stubber over the real EC2 service model (every
request the command makes is validated against it, every synthetic answer too), and show."""

import argparse
import datetime
import io
import json
import subprocess

import pytest
from botocore.exceptions import ConnectionClosedError, EndpointConnectionError, ReadTimeoutError
from botocore.stub import Stubber
from botocore.validate import validate_parameters

from routing.catalogue import lambda_edge_execution_regions, load_catalogue
from settings import stack_file
from settings.parser import load_snapshot, parse_settings
from settings.table import PROJECT_ROOT
from tests.support import SEED_ORIGINS, free_port
from tools import cli, latency

OPERATION = "get_aws_network_performance_data"
NOW = datetime.datetime(2026, 11, 29, 15, 30, tzinfo=datetime.UTC)
WINDOW = latency.Window.ending(NOW, 7)


@pytest.fixture
def ec2(aws_credentials):
    """The command's own EC2 client, stubbed; every request's parameters are recorded."""
    client = latency.ec2_client("us-east-1", None)
    requests = []

    def record(params, model, **_):
        requests.append((dict(params), model))

    client.meta.events.register("provide-client-params.ec2.GetAwsNetworkPerformanceData", record)
    with Stubber(client) as stubber:
        yield client, stubber, requests
        stubber.assert_no_pending_responses()
    for params, model in requests:
        validate_parameters(params, model.input_shape)  # types, names, required members
        assert enum_problems(params, model.input_shape) == []  # which botocore does not check


def enum_problems(value, shape, path="request"):
    """Where ``value`` holds a string its model shape does not list among its enum values."""
    if shape.type_name == "structure":
        return [
            problem
            for name, member in value.items()
            for problem in enum_problems(member, shape.members[name], f"{path}.{name}")
        ]
    if shape.type_name == "list":
        return [
            problem
            for index, item in enumerate(value)
            for problem in enum_problems(item, shape.member, f"{path}[{index}]")
        ]
    if shape.type_name == "string" and shape.enum and value not in shape.enum:
        return [f"{path}: {value!r} is not one of {shape.enum}"]
    return []


def expected(queries, token=None):
    """The parameters the command must send for ``queries`` (and a page's token)."""
    params = {
        "DataQueries": [query.as_parameter() for query in queries],
        "StartTime": WINDOW.start,
        "EndTime": WINDOW.end,
    }
    return {**params, "NextToken": token} if token else params


def point(index, value):
    """The ``index``-th five-minute point of the window."""
    start = WINDOW.start + datetime.timedelta(minutes=5 * index)
    return {
        "StartDate": start,
        "EndDate": start + datetime.timedelta(minutes=5),
        "Value": value,
        "Status": "OK",
    }


def response(query, values, first=0):
    return {
        "Id": query.id,
        "Source": query.source,
        "Destination": query.destination,
        "Metric": "aggregate-latency",
        "Statistic": "p50",
        "Period": "five-minutes",
        "MetricPoints": [point(first + index, value) for index, value in enumerate(values)],
    }


def page(responses, token=None):
    answer = {"DataResponses": responses}
    return {**answer, "NextToken": token} if token else answer


def value_of(query):
    """A synthetic round trip per pair, different for every pair."""
    return 50.0 + int(query.id.removeprefix("q"))


def answer_all(stubber, queries):
    for first in range(0, len(queries), latency.QUERIES_PER_REQUEST):
        batch = queries[first : first + latency.QUERIES_PER_REQUEST]
        stubber.add_response(
            OPERATION,
            page([response(q, [value_of(q)] * 7) for q in batch]),
            expected(batch),
        )


def fetcher(client, sleeps=None, progress=None, window=WINDOW):
    """A fetcher that records its waits (without jitter, so they are exact) or fails on one."""
    return latency.Fetcher(
        client,
        window,
        sleep=(sleeps.append if sleeps is not None else pytest.fail),
        jitter=lambda delay: delay,
        progress=progress,
    )


def throttled(stubber, queries, code="RequestLimitExceeded", status=503):
    stubber.add_client_error(
        OPERATION,
        service_error_code=code,
        service_message="Request limit exceeded.",
        http_status_code=status,
        expected_params=expected(queries),
    )


# --- what is asked -----------------------------------------------------------------------------


def test_every_edge_region_is_asked_for_every_origin_but_itself():
    queries = latency.query_pairs(SEED_ORIGINS)
    edges = lambda_edge_execution_regions()
    assert len(edges) == 13 and len(queries) == 13 * 3 - 3
    pairs = {(q.source, q.destination) for q in queries}
    assert pairs == {(e, o) for e in edges for o in SEED_ORIGINS if e != o}
    assert len({q.id for q in queries}) == len(queries)
    every = latency.query_pairs(list(load_catalogue()))
    assert len(every) == 13 * len(load_catalogue()) - 13
    assert queries[0].as_parameter() == {
        "Id": "q0",
        "Source": "us-east-1",
        "Destination": "eu-central-1",
        "Metric": "aggregate-latency",
        "Statistic": "p50",
        "Period": "five-minutes",
    }


def test_the_enum_check_fails_on_a_value_the_model_does_not_list(ec2):
    client, _, _ = ec2
    shape = client.meta.service_model.operation_model("GetAwsNetworkPerformanceData").input_shape
    query = {**latency.query_pairs(["eu-central-1"])[0].as_parameter(), "Period": "two-days"}
    assert enum_problems({"DataQueries": [query]}, shape) == [
        "request.DataQueries[0].Period: 'two-days' is not one of ['five-minutes', "
        "'fifteen-minutes', 'one-hour', 'three-hours', 'one-day', 'one-week']"
    ]


def test_the_window_is_whole_utc_days_before_today():
    assert WINDOW.start == datetime.datetime(2026, 11, 22, tzinfo=datetime.UTC)
    assert WINDOW.end == datetime.datetime(2026, 11, 29, tzinfo=datetime.UTC)
    assert WINDOW.last_day == datetime.date(2026, 11, 28)
    assert WINDOW.describe() == "2026-11-22 to 2026-11-28 (UTC)"


# --- the fetch ---------------------------------------------------------------------------------


def test_queries_go_ten_a_request_and_every_page_is_followed(ec2):
    client, stubber, requests = ec2
    queries = latency.query_pairs(SEED_ORIGINS)  # 36: requests of 10, 10, 10 and 6
    first = queries[:10]
    # The first request's answer comes in two pages, q1's points split across them.
    stubber.add_response(
        OPERATION,
        page(
            [response(q, [value_of(q)] * 7) for q in first[:1]]
            + [response(first[1], [70.0, 71.0, 90.0])],
            token="page-2",
        ),
        expected(first),
    )
    stubber.add_response(
        OPERATION,
        page(
            [response(first[1], [72.0, 73.0, 74.0, 75.0], first=3)]
            + [response(q, [value_of(q)] * 7) for q in first[2:]]
        ),
        expected(first, token="page-2"),
    )
    answer_all(stubber, queries[10:])
    fetched = fetcher(client).run(queries)
    assert fetched.requests == 5 and len(requests) == 5
    assert [len(params["DataQueries"]) for params, _ in requests] == [10, 10, 10, 10, 6]
    assert fetched.missing == {}
    # The median of every point the pair got, over both pages: 70 71 72 73 74 75 90.
    assert fetched.latency[first[1].source][first[1].destination] == 73.0
    assert fetched.latency["ap-south-1"] == {
        q.destination: value_of(q) for q in queries if q.source == "ap-south-1"
    }


def test_pairs_aws_did_not_return_are_reported(ec2):
    client, stubber, _ = ec2
    queries = latency.query_pairs(["eu-central-1"])[:3]
    stubber.add_response(
        OPERATION,
        page(
            [
                response(queries[0], [20.0, 22.0]),
                response(queries[1], []),  # an answer without points
                # queries[2]: no answer at all
            ]
        ),
        expected(queries),
    )
    fetched = fetcher(client).run(queries)
    assert fetched.latency == {queries[0].source: {"eu-central-1": 21.0}}
    assert fetched.missing == {
        (queries[1].source, "eu-central-1"): "no data points",
        (queries[2].source, "eu-central-1"): "no data points",
    }


@pytest.mark.parametrize(
    # EC2's throttling answer is RequestLimitExceeded ("Request throttling for the Amazon EC2 API").
    ("code", "status"),
    [("RequestLimitExceeded", 503), ("InternalError", 500), ("Unavailable", 503)],
)
def test_throttling_and_server_errors_back_off_and_try_again(ec2, code, status):
    client, stubber, _ = ec2
    queries = latency.query_pairs(["eu-central-1"])[:2]
    throttled(stubber, queries, code, status)
    throttled(stubber, queries, code, status)
    answer_all(stubber, queries)
    sleeps = []
    fetched = fetcher(client, sleeps).run(queries)
    assert sleeps == [1.0, 2.0]
    assert fetched.requests == 3 and fetched.missing == {}


def test_throttled_every_time_is_one_line_after_a_bounded_number_of_tries(ec2):
    client, stubber, _ = ec2
    queries = latency.query_pairs(["eu-central-1"])[:2]
    for _ in range(latency.MAX_ATTEMPTS):
        throttled(stubber, queries)
    sleeps = []
    with pytest.raises(cli.ToolError) as raised:
        fetcher(client, sleeps).run(queries)
    assert sleeps == [1.0, 2.0, 4.0, 8.0]
    assert str(raised.value).endswith(
        "still answered RequestLimitExceeded after 5 tries with back-off; try again later"
    )


def test_a_query_aws_refuses_is_found_by_halving_and_the_rest_is_kept(ec2):
    client, stubber, requests = ec2
    queries = latency.query_pairs(["eu-central-1"])[:4]
    bad = queries[3]

    def refuse(batch):
        stubber.add_client_error(
            OPERATION,
            service_error_code="InvalidParameterValue",
            service_message=f"The destination {bad.destination} is not supported.",
            http_status_code=400,
            expected_params=expected(batch),
        )

    refuse(queries)
    stubber.add_response(
        OPERATION, page([response(q, [30.0]) for q in queries[:2]]), expected(queries[:2])
    )
    refuse(queries[2:])
    stubber.add_response(OPERATION, page([response(queries[2], [40.0])]), expected(queries[2:3]))
    refuse([bad])
    fetched = fetcher(client).run(queries)
    assert [len(params["DataQueries"]) for params, _ in requests] == [4, 2, 2, 1, 1]
    assert fetched.missing == {
        (bad.source, bad.destination): "refused: InvalidParameterValue: The destination "
        "eu-central-1 is not supported."
    }
    assert len(fetched.latency) == 3


@pytest.mark.parametrize(
    ("code", "status"), [("UnauthorizedOperation", 403), ("AccessDenied", 403)]
)
def test_credentials_that_may_not_read_the_data_are_one_line(ec2, code, status):
    client, stubber, _ = ec2
    queries = latency.query_pairs(["eu-central-1"])[:1]
    stubber.add_client_error(
        OPERATION,
        service_error_code=code,
        http_status_code=status,
        expected_params=expected(queries),
    )
    with pytest.raises(
        cli.ToolError, match=f"AWS refused ec2:GetAwsNetworkPerformanceData \\({code}"
    ):
        fetcher(client).run(queries)


def test_credentials_ec2_cannot_validate_are_not_blamed_on_iam(ec2):
    # What EC2 answers in a Region the account has not enabled, as reported (no AWS page says),
    # and for credentials that are not valid: AuthFailure, HTTP 401. Not a missing permission.
    client, stubber, _ = ec2
    queries = latency.query_pairs(["eu-central-1"])[:1]
    stubber.add_client_error(
        OPERATION,
        service_error_code="AuthFailure",
        service_message="AWS was not able to validate the provided access credentials",
        http_status_code=401,
        expected_params=expected(queries),
    )
    with pytest.raises(cli.ToolError) as raised:
        fetcher(client).run(queries)
    assert str(raised.value) == (
        f"AWS could not validate the credentials in {client.meta.region_name} (AuthFailure): the "
        "Region is not enabled for this account, or the credentials are expired or not valid; ask "
        "an enabled Region with --region (any Region answers for every pair), or renew them"
    )
    assert "IAM" not in str(raised.value) and "need it" not in str(raised.value)


def test_a_service_the_account_is_not_subscribed_to_is_its_own_line(ec2):
    client, stubber, _ = ec2
    queries = latency.query_pairs(["eu-central-1"])[:1]
    stubber.add_client_error(
        OPERATION,
        service_error_code="OptInRequired",
        http_status_code=401,
        expected_params=expected(queries),
    )
    with pytest.raises(cli.ToolError) as raised:
        fetcher(client).run(queries)
    assert str(raised.value) == (
        f"AWS refused ec2:GetAwsNetworkPerformanceData in {client.meta.region_name} "
        "(OptInRequired): the account is not subscribed to the service there (EC2 API error "
        "codes); ask another Region with --region (any Region answers for every pair)"
    )


def test_a_weeks_five_minute_points_over_many_pages_make_one_median(ec2):
    client, stubber, requests = ec2
    (query,) = latency.query_pairs(["eu-central-1"])[:1]
    every = [60.0 + (index % 7) for index in range(7 * latency.POINTS_PER_DAY)]  # 2,016 points
    per_page = 96
    for first in range(0, len(every), per_page):
        last = first + per_page >= len(every)
        stubber.add_response(
            OPERATION,
            page(
                [response(query, every[first : first + per_page], first)],
                token=None if last else f"page-{first // per_page + 2}",
            ),
            expected([query], token=f"page-{first // per_page + 1}" if first else None),
        )
    fetched = fetcher(client).run([query])
    assert len(requests) == fetched.requests == 21
    assert fetched.latency == {query.source: {"eu-central-1": 63.0}}


class FlakyNetwork:
    """An EC2 client whose first ``failures`` requests the network loses, then answers."""

    def __init__(self, failures, error, answer):
        self.failures, self.error, self.answer, self.calls = failures, error, answer, 0

    def get_aws_network_performance_data(self, **_):
        self.calls += 1
        if self.calls <= self.failures:
            raise self.error
        return self.answer


@pytest.mark.parametrize(
    "error",
    [
        ReadTimeoutError(endpoint_url="https://ec2.us-east-1.amazonaws.com/"),
        ConnectionClosedError(endpoint_url="https://ec2.us-east-1.amazonaws.com/"),
        EndpointConnectionError(endpoint_url="https://ec2.us-east-1.amazonaws.com/"),
    ],
)
def test_a_request_the_network_loses_is_tried_again_then_one_line(error):
    (query,) = latency.query_pairs(["eu-central-1"])[:1]
    answer = page([response(query, [40.0, 42.0])])
    sleeps = []
    recovered = FlakyNetwork(2, error, answer)
    assert fetcher(recovered, sleeps).run([query]).latency == {query.source: {"eu-central-1": 41.0}}
    assert recovered.calls == 3 and sleeps == [1.0, 2.0]
    with pytest.raises(cli.ToolError) as raised:
        fetcher(FlakyNetwork(latency.MAX_ATTEMPTS, error, answer), []).run([query])
    assert str(raised.value).endswith("after 5 tries with back-off; try again later")
    assert "\n" not in str(raised.value)


def test_a_chain_of_pages_without_points_stops_at_one_page_per_point():
    (query,) = latency.query_pairs(["eu-central-1"])[:1]

    class EndlessPages:
        calls = 0

        def get_aws_network_performance_data(self, **_):
            self.calls += 1
            return page([], token=f"page-{self.calls}")

    client, one_day = EndlessPages(), latency.Window.ending(NOW, 1)
    with pytest.raises(cli.ToolError, match="returned more than 289 pages for one request"):
        fetcher(client, window=one_day).run([query])
    assert client.calls == latency.POINTS_PER_DAY + 1


def test_the_back_off_is_jittered_within_its_bounds():
    waits = [latency.Fetcher(None, WINDOW).jitter(8.0) for _ in range(200)]
    assert all(4.0 <= wait <= 8.0 for wait in waits)
    assert len(set(waits)) > 1


def test_progress_is_shown_on_a_terminal_only(ec2):
    client, stubber, _ = ec2
    queries = latency.query_pairs(["eu-central-1", "us-east-1"])[:12]

    class Terminal(io.StringIO):
        def isatty(self):
            return True

    terminal = Terminal()
    answer_all(stubber, queries)
    fetcher(client, progress=latency.Progress(terminal, len(queries))).run(queries)
    assert terminal.getvalue() == (
        "\rlatency: 10 of 12 pairs asked, 1 request(s)"
        "\rlatency: 12 of 12 pairs asked, 2 request(s)\n"
    )
    quiet = io.StringIO()
    progress = latency.Progress(quiet, 1)
    progress.update(1, 1)
    progress.finish()
    assert quiet.getvalue() == ""


# --- the command -------------------------------------------------------------------------------


@pytest.fixture
def stack(tmp_path, monkeypatch):
    """Pulumi.t.yaml routing by latency (its snapshot not fetched yet), the clock and the client
    the command uses, and no real waiting."""
    monkeypatch.setattr(stack_file, "PROJECT_ROOT", tmp_path)
    snapshot = tmp_path / "snapshots" / "t.json"
    snapshot.parent.mkdir()
    (tmp_path / "Pulumi.t.yaml").write_text(
        "config:\n  geo-proximity:origins: [us-east-1, eu-central-1, ap-northeast-1]\n"
        "  geo-proximity:routingMetric: latency\n"
        f"  geo-proximity:latencyFile: {snapshot}\n",
        encoding="utf-8",
    )
    monkeypatch.setattr(latency, "_now", lambda: NOW)
    monkeypatch.setattr(latency, "_sleep", lambda seconds: pytest.fail("no throttling here"))
    return snapshot


def use_client(monkeypatch, client, calls=None):
    def make(region, endpoint_url):
        if calls is not None:
            calls.append((region, endpoint_url))
        return client

    monkeypatch.setattr(latency, "ec2_client", make)


def test_fetch_writes_the_stacks_snapshot_and_the_stack_then_routes_by_it(
    ec2, stack, monkeypatch, capsys
):
    client, stubber, _ = ec2
    queries = latency.query_pairs(SEED_ORIGINS)
    missing = queries[-1]
    answered = [q for q in queries if q != missing]
    for first in range(0, len(queries), 10):
        batch = queries[first : first + 10]
        stubber.add_response(
            OPERATION,
            page([response(q, [value_of(q)] * 7) for q in batch if q != missing]),
            expected(batch),
        )
    calls = []
    use_client(monkeypatch, client, calls)
    assert cli.run_command(latency.main, ["fetch", "--stack", "t"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert calls == [("us-east-1", None)]
    assert out[0] == (
        f"wrote {stack}: 35 of 36 pairs, p50 round trips of 2026-11-22 to 2026-11-28 (UTC) "
        "(4 request(s) in us-east-1)"
    )
    assert out[1].startswith("AWS returned no latency for 1 pair(s); routing ranks them by")
    assert out[2:] == [f"  {missing.source} -> {missing.destination}: no data points"]
    document = json.loads(stack.read_text(encoding="utf-8"))
    assert document["measured"] == "2026-11-28"
    assert (document["statistic"], document["unit"]) == ("p50", "ms")
    assert document["source"].startswith("EC2 GetAwsNetworkPerformanceData")
    assert "in us-east-1" in document["source"]
    assert sum(len(row) for row in document["latency"].values()) == len(answered)
    assert document["latency"]["ap-south-1"]["eu-central-1"] == value_of(
        next(q for q in queries if (q.source, q.destination) == ("ap-south-1", "eu-central-1"))
    )
    # The stack now parses, and routes by what was written.
    settings = stack_file.settings_from_stack_file("t")
    assert settings.latency == load_snapshot(stack)


def test_the_same_answers_write_the_same_bytes(ec2, stack, monkeypatch, tmp_path):
    client, stubber, _ = ec2
    queries = latency.query_pairs(["eu-west-1"])
    answer_all(stubber, queries)
    answer_all(stubber, queries)
    use_client(monkeypatch, client)
    monkeypatch.setattr(latency, "query_pairs", lambda origins: queries)
    first, second = tmp_path / "a.json", tmp_path / "b.json"
    for output in (first, second):
        argv = ["fetch", "--stack", "t", "--all", "--output", str(output)]
        assert cli.run_command(latency.main, argv) == 0
    assert first.read_bytes() == second.read_bytes()
    assert not stack.exists()  # --output wins over the stack's latencyFile


def test_no_latency_at_all_writes_nothing(ec2, stack, monkeypatch, capsys):
    client, stubber, _ = ec2
    queries = latency.query_pairs(SEED_ORIGINS)
    for first in range(0, len(queries), 10):
        stubber.add_response(OPERATION, page([]), expected(queries[first : first + 10]))
    use_client(monkeypatch, client)
    assert cli.run_command(latency.main, ["fetch", "--stack", "t"]) == 2
    assert capsys.readouterr().err == (
        "error: AWS returned no latency for any of the 36 pairs asked; nothing written\n"
    )
    assert not stack.exists()


def test_no_credentials_and_no_endpoint_are_one_line(stack, monkeypatch, tmp_path, capsys):
    for name in ("AWS_PROFILE", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    closed = f"http://127.0.0.1:{free_port()}"
    argv = ["fetch", "--stack", "t", "--endpoint-url", closed]
    assert cli.run_command(latency.main, argv) == 2
    assert capsys.readouterr().err.startswith("error: no AWS credentials found")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    waits = []
    monkeypatch.setattr(latency, "_sleep", waits.append)
    assert cli.run_command(latency.main, argv) == 2
    assert capsys.readouterr().err == (
        f"error: cannot reach the EC2 API at {closed}/ after 5 tries with back-off; "
        "try again later\n"
    )
    # Jittered waits, each between half and all of 1, 2, 4 and 8 s.
    assert len(waits) == 4
    assert all(bound / 2 <= wait <= bound for wait, bound in zip(waits, [1, 2, 4, 8], strict=True))


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["fetch"], "error: give --stack NAME (its origins) or --all"),
        (["fetch", "--stack", "nope"], "error: no stack file at"),
        (["show", "--file", "/nonexistent/latency.json"], "error: no latency snapshot at"),
    ],
)
def test_bad_input_is_one_line(stack, argv, message, capsys):
    assert cli.run_command(latency.main, argv) == 2
    err = capsys.readouterr().err
    assert err.startswith(message) and err.count("\n") == 1


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["fetch", "--all", "--days", "31"], "'31' is not a number of days from 1 to 30"),
        (["fetch", "--all", "--region", "us-mars-1"], "'us-mars-1' is not a known AWS Region"),
        ([], "the following arguments are required: {fetch,show}"),
    ],
)
def test_bad_arguments_are_argparses_usage_and_one_line(argv, message, capsys):
    with pytest.raises(SystemExit) as exited:
        cli.run_command(latency.main, argv)
    assert exited.value.code == 2
    err = capsys.readouterr().err
    assert message in err.splitlines()[-1] and "Traceback" not in err


def test_show_prints_each_edges_origins_fastest_first(stack, capsys):
    stack.write_text(
        json.dumps(
            {
                "source": "synthetic",
                "measured": "2026-11-28",
                "statistic": "p50",
                "unit": "ms",
                "latency": {"ap-south-1": {"eu-central-1": 120.0, "ap-northeast-1": 105.5}},
            }
        ),
        encoding="utf-8",
    )
    assert cli.run_command(latency.main, ["show", "--stack", "t"]) == 0
    assert capsys.readouterr().out.splitlines() == [
        f"{stack}: p50 round trips in ms, measured 2026-11-28, 2 pairs",
        "source: synthetic",
        "ap-south-1: ap-northeast-1 105.5, eu-central-1 120.0",
    ]


def test_dev_latency_help_exits_0():
    helped = subprocess.run(
        ["./dev", "latency", "--help"],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert helped.returncode == 0 and helped.stdout.startswith("usage: ./dev latency")
    assert "fetch" in helped.stdout and "show" in helped.stdout


def test_every_argument_type_is_one_of_tools_cli():
    parser = latency._parser()
    (commands,) = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    types = {
        (name, action.dest): action.type
        for name, sub in commands.choices.items()
        for action in sub._actions
        if action.type not in (None, str, int, float, latency.Path)
    }
    assert types == {("fetch", "days"): cli.days_of_history, ("fetch", "region"): cli.edge_region}


def test_the_fetched_snapshot_is_what_the_settings_read(tmp_path):
    # The file fetch writes, by the renderer it uses, is the settings' own input.
    written = tmp_path / "latency.json"
    snapshot = latency.snapshot_of(
        {"ap-south-1": {"ap-northeast-1": 104.96, "eu-central-1": 120.0}},
        source="x",
        measured=WINDOW.last_day,
    )
    latency._write(written, latency.render_snapshot(snapshot))
    settings = parse_settings(
        {
            "origins": json.dumps(list(SEED_ORIGINS)),
            "routingMetric": "latency",
            "latencyFile": str(written),
            "latencyMarginMs": "0",
        },
        stack="t",
    )
    assert settings.latency.between("ap-south-1", "ap-northeast-1") == 105.0
    assert settings.routing.routes["ap-south-1"].primary == "ap-northeast-1"
    assert not (tmp_path / ".latency.json.partial").exists()
