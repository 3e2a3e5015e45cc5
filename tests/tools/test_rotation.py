"""./dev evacuate, restore and status end to end against a running sandbox, both engines: the edge
stops sending to an evacuated Region once the state has reached it and sends there again after a
restore; status says who took it out (or holds it in), when and why; --hand-back gives it back to
the health checks; the last origin in rotation stays; a change the checks make meanwhile undoes
nothing; the health checks never undo an operator's evacuation; and every bad input is one
line."""

import json
import time

import pytest

from evacuation.state import ROTATION_KEY, StateTable, out_value
from routing.catalogue import lambda_edge_execution_regions
from sandbox.drill import ask
from sandbox.stack import Sandbox
from sandbox.state import PROBE_SECONDS
from settings import stack_file
from settings.parser import parse_settings
from tools import rotation
from tools.cli import run_command

ORIGINS = ["us-east-1", "eu-central-1", "ap-northeast-1"]
ENGINES = ["lambda-edge", "cloudfront-functions"]


def stack_values(engine, **values):
    return {"origins": json.dumps(ORIGINS), "engine": engine, **values}


@pytest.fixture
def credentials(monkeypatch, tmp_path):
    """The sandbox's credentials, and nothing from this machine's AWS configuration."""
    for name in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_REGION", "AWS_DEFAULT_REGION"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-credentials"))
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "sandbox")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "sandbox")


@pytest.fixture
def stack_files(monkeypatch, tmp_path):
    """Writes Pulumi.<name>.yaml stack files where the commands look for them."""
    monkeypatch.setattr(stack_file, "PROJECT_ROOT", tmp_path)

    def write(name, values):
        lines = [f"  geo-proximity:{key}: '{value}'" for key, value in values.items()]
        (tmp_path / f"Pulumi.{name}.yaml").write_text(
            "config:\n" + "\n".join(lines) + "\n", encoding="utf-8"
        )

    return write


@pytest.fixture(scope="module", params=ENGINES)
def running(request):
    engine = request.param
    settings = parse_settings(stack_values(engine), stack=f"rot-{engine[:2]}")
    with Sandbox(settings, read_timeout=0.5) as sandbox:
        yield sandbox


@pytest.fixture
def box(running, stack_files, credentials, tmp_path):
    """The running sandbox, its stack file and its outputs; every evacuation undone after."""
    stack_files(running.settings.stack, stack_values(running.settings.engine.value))
    outputs = tmp_path / "outputs.json"
    outputs.write_text(
        json.dumps({"buckets": running.buckets, "routingState": running.state.outputs()}),
        encoding="utf-8",
    )
    endpoints = [
        f"--endpoint-url={service}={url}"
        for service, url in running.state.endpoints().items()
        if service in rotation.SERVICES
    ]
    running.where = ["--stack", running.settings.stack, "--outputs", str(outputs), *endpoints]
    yield running
    table = running.state.state_table()
    table.write_evacuated({}, table.read().version)
    for origin in ORIGINS:
        table.remove_operator(origin)
    running.state.write_drained(running.settings.routing.drained)
    if running.state.kvs is not None:
        running.state.kvs.put(running.state.kvs_arn, ROTATION_KEY, out_value(set()))
    running.edge.invalidate()


def command(capsys, *argv):
    """(exit status, stdout, stderr) of a command run as ./dev runs it."""
    status = run_command(rotation.main, list(argv))
    out, err = capsys.readouterr()
    return status, out, err


def own_edges(sandbox, region):
    """Edge Regions whose primary is ``region`` with nothing out of rotation."""
    routing = sandbox.settings.routing
    edges = [e for e in lambda_edge_execution_regions() if routing.route_for(e).primary == region]
    assert edges
    return edges


def test_evacuate_status_and_restore_end_to_end(box, capsys):
    status, out, err = command(capsys, "status", *box.where)
    assert (status, err) == (0, "")
    assert all(f"  {origin}" in out and "in rotation" in out for origin in ORIGINS)

    status, out, err = command(
        capsys, "evacuate", "eu-central-1", *box.where, "--reason", "S3 5xx in eu-central-1"
    )
    assert (status, err) == (0, "")
    assert out.startswith("eu-central-1 evacuated: out of rotation since ")
    assert "by access key sandbox: S3 5xx in eu-central-1" in out
    assert "in rotation: us-east-1, ap-northeast-1" in out
    # Within the refresh, the edge sends it nothing more.
    box.await_propagation()
    box.edge.invalidate()
    europe = box.emulators.regions["eu-central-1"]
    before = europe.viewer_requests
    for edge in own_edges(box, "eu-central-1"):
        answer = ask(box, edge, "index.html")
        assert (answer.status, answer.failover) == (200, False)
        assert answer.served_by != "eu-central-1"
    assert europe.viewer_requests == before

    status, out, _ = command(capsys, "status", *box.where)
    line = next(line for line in out.splitlines() if line.strip().startswith("eu-central-1"))
    assert "evacuated since " in line and "by access key sandbox: S3 5xx in eu-central-1" in line
    assert "(an operator's decision: only ./dev restore brings it back)" in line
    if box.state.kvs is not None:
        assert 'key value store (rotation): {"out":["eu-central-1"],"v":' in out
        assert "(as the table says)" in out

    status, out, err = command(capsys, "restore", "eu-central-1", *box.where, "--reason", "fixed")
    assert (status, err) == (0, "")
    assert out.startswith("eu-central-1 restored: back in rotation, by access key sandbox: fixed")
    hand_back = f"./dev restore eu-central-1 --stack {box.settings.stack} --hand-back"
    assert f"until an operator hands it back: {hand_back}" in out
    box.await_propagation()
    box.edge.invalidate()
    for edge in own_edges(box, "eu-central-1"):
        assert ask(box, edge, "index.html").served_by == "eu-central-1"
    assert europe.viewer_requests > before
    line = command(capsys, "status", *box.where)[1].splitlines()[2]
    assert line.strip().startswith("eu-central-1") and "in rotation, held there since " in line
    assert hand_back in line

    status, out, err = command(capsys, "restore", "eu-central-1", *box.where, "--hand-back")
    assert (status, err) == (0, "")
    assert out.startswith("eu-central-1 handed back to the health checks (access key sandbox's")
    assert "in rotation; they take it out if it fails their probes" in out
    assert box.state.read().decisions == {}
    assert command(capsys, "restore", "eu-central-1", *box.where, "--hand-back")[1] == (
        "eu-central-1: no operator's decision to hand back; the health checks decide it already\n"
    )


def test_the_last_origin_in_rotation_is_never_evacuated(box, capsys):
    for region in ("us-east-1", "eu-central-1"):
        assert command(capsys, "evacuate", region, *box.where, "--reason", "r")[0] == 0
    state = box.state.read()
    status, out, err = command(capsys, "evacuate", "ap-northeast-1", *box.where, "--reason", "r")
    assert (status, out) == (2, "")
    assert err == (
        "error: refusing to evacuate ap-northeast-1: no origin would stay in rotation (out now: "
        "eu-central-1, us-east-1); restore another first\n"
    )
    assert box.state.read() == state


def test_a_change_the_checks_make_meanwhile_undoes_nothing(box, capsys, monkeypatch):
    from evacuation.decide import Evacuation

    write = StateTable.write_operator

    def the_checks_first(self, region, decision):
        # The checks take another origin out while the command runs: each writes its own item.
        state = self.read()
        checks = Evacuation("2026-11-30T06:00:00+00:00", "checks", "4 failed probes in a row")
        self.write_evacuated({"us-east-1": checks}, state.version)
        return write(self, region, decision)

    with monkeypatch.context() as patched:
        patched.setattr(StateTable, "write_operator", the_checks_first)
        status, _out, err = command(capsys, "evacuate", "eu-central-1", *box.where, "--reason", "r")
    assert (status, err) == (0, "")
    assert box.state.read().out == {"eu-central-1", "us-east-1"}
    if box.state.kvs is not None:
        value = json.loads(dict(box.state.function_store())[ROTATION_KEY])
        assert value["out"] == ["eu-central-1", "us-east-1"]


def test_an_evacuation_by_the_checks_is_taken_over_and_an_operators_is_kept(box, capsys):
    from evacuation.decide import Evacuation

    table = box.state.state_table()
    checks = Evacuation("2026-11-30T06:00:00+00:00", "checks", "4 failed probes in a row")
    table.write_evacuated({"eu-central-1": checks}, table.read().version)
    status, out, _ = command(capsys, "evacuate", "eu-central-1", *box.where, "--reason", "mine")
    assert status == 0 and "(the checks had evacuated it: now only a person brings it back)" in out
    assert box.state.read().operators["eu-central-1"].by == "access key sandbox"
    status, out, _ = command(capsys, "evacuate", "eu-central-1", *box.where, "--reason", "again")
    assert status == 0 and out.startswith("eu-central-1 is already evacuated, since ")
    assert box.state.read().operators["eu-central-1"].reason == "mine"


def test_the_identity_comes_from_sts_where_it_answers(box, capsys):
    # moto's server answers STS too: as an STS endpoint it stands in for AWS's.
    sts = f"--endpoint-url=sts={box.state.dynamodb_endpoint}"
    assert command(capsys, "evacuate", "eu-central-1", *box.where, sts, "--reason", "r")[0] == 0
    who = box.state.read().operators["eu-central-1"].by
    assert who.startswith("arn:aws:sts::123456789012:") or who.startswith("arn:aws:iam::"), who


def test_flags_instead_of_outputs(box, capsys):
    state = box.state.outputs()
    flags = ["--table", state["table"], "--table-region", state["tableRegion"]]
    if state["kvsArn"]:
        flags += ["--kvs-arn", state["kvsArn"]]
    where = [box.where[0], box.where[1], *flags, *box.where[4:]]
    assert command(capsys, "evacuate", "ap-northeast-1", *where, "--reason", "flags")[0] == 0
    assert "ap-northeast-1" in box.state.read().out


def test_restoring_a_drained_region_points_at_pulumi(box, capsys):
    box.state.write_drained({"ap-northeast-1"})
    status, out, err = command(capsys, "restore", "ap-northeast-1", *box.where)
    assert (status, out) == (2, "")
    assert err.startswith("error: ap-northeast-1 is drained by the stack's configuration")
    assert command(capsys, "restore", "us-east-1", *box.where)[1] == (
        "us-east-1 is in rotation: nothing to restore\n"
    )


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["evacuate", "sa-east-1", "--reason", "r"], "error: sa-east-1 is not an origin of stack"),
        (["evacuate", "us-east-1", "--reason", " "], "error: --reason: say why"),
        (
            ["status", "--endpoint-url", "s3=http://127.0.0.1:1"],
            "error: --endpoint-url 's3=http://127.0.0.1:1': expected SERVICE=URL with SERVICE one",
        ),
        (
            ["status", "--endpoint-url", "dynamodb=127.0.0.1:1"],
            "error: --endpoint-url 'dynamodb=127.0.0.1:1': the URL must start http://",
        ),
        (["status", "--table", "routing"], "error: give --outputs, or --table and --table-region"),
    ],
)
def test_bad_input_is_one_line(box, capsys, argv, message):
    status, out, err = command(capsys, *argv[:1], *box.where, *argv[1:])
    assert (status, out) == (2, "")
    assert err.startswith(message) and err.count("\n") == 1, err


def test_outputs_without_a_routing_state_or_of_another_engine_are_one_line(box, capsys, tmp_path):
    stack = box.settings.stack
    no_state = tmp_path / "old.json"
    no_state.write_text(json.dumps({"buckets": box.buckets}), encoding="utf-8")
    status, _, err = command(capsys, "status", "--stack", stack, "--outputs", str(no_state))
    assert status == 2 and "have no 'routingState' with a table" in err
    other = tmp_path / "other.json"
    engine = "lambda-edge" if box.settings.engine.value != "lambda-edge" else "cloudfront-functions"
    other.write_text(
        json.dumps({"routingState": {**box.state.outputs(), "engine": engine}}), encoding="utf-8"
    )
    status, _, err = command(capsys, "status", "--stack", stack, "--outputs", str(other))
    assert status == 2 and f"are of a {engine} stack" in err and err.count("\n") == 1


def test_an_unreachable_store_or_refused_credentials_are_one_line(box, capsys, monkeypatch):
    where = [arg for arg in box.where if not arg.startswith("--endpoint-url=dynamodb=")]
    status, _, err = command(
        capsys, "status", *where, "--endpoint-url", "dynamodb=http://127.0.0.1:9"
    )
    assert status == 2 and err.startswith("error: cannot reach http://127.0.0.1:9")
    if box.state.kvs is not None:
        monkeypatch.setenv("AWS_ACCESS_KEY_ID", "not-the-sandboxs")
        status, _, err = command(capsys, "evacuate", "us-east-1", *box.where, "--reason", "r")
        assert status == 2 and "UnrecognizedClientException" in err and err.count("\n") == 1
        # Refused at the key value store before the table was written: nothing changed.
        assert box.state.read().out == set()
        monkeypatch.setenv("AWS_ACCESS_KEY_ID", "sandbox")
        status, out, _ = command(capsys, "evacuate", "us-east-1", *box.where, "--reason", "r")
        assert status == 0 and "the key value store holds version" in out
        value = json.loads(dict(box.state.function_store())[ROTATION_KEY])
        assert value["out"] == ["us-east-1"]


@pytest.mark.parametrize("name", ["evacuate", "restore", "status"])
def test_every_command_has_help(name, capsys):
    with pytest.raises(SystemExit) as exited:
        rotation.main([name, "--help"])
    assert exited.value.code == 0
    out = capsys.readouterr().out
    assert out.startswith(f"usage: ./dev {name} ") and "--endpoint-url SERVICE=URL" in out


@pytest.mark.parametrize("engine", ENGINES)
def test_the_checks_never_bring_back_what_an_operator_took_out(
    engine, stack_files, credentials, capsys, tmp_path
):
    settings = parse_settings(stack_values(engine), stack=f"keep-{engine[:2]}")
    stack_files(settings.stack, stack_values(engine))
    with Sandbox(settings, read_timeout=0.5, evacuating=True) as sandbox:
        outputs = tmp_path / "outputs.json"
        outputs.write_text(json.dumps({"routingState": sandbox.state.outputs()}), encoding="utf-8")
        where = ["--stack", settings.stack, "--outputs", str(outputs)]
        where += [
            f"--endpoint-url={service}={url}"
            for service, url in sandbox.state.endpoints().items()
            if service in rotation.SERVICES
        ]
        assert command(capsys, "evacuate", "eu-central-1", *where, "--reason", "by hand")[0] == 0
        # The Region is healthy: every probe succeeds, round after round, until the vantage
        # Regions have seen enough good probes to restore one the checks had taken out (polled,
        # so a loaded machine's slower rounds make the test wait longer, not fail).
        recovered = f"eu-central-1 {settings.evacuation_recoveries} ok"
        deadline = time.monotonic() + 60
        out = ""
        while recovered not in out and time.monotonic() < deadline:
            time.sleep(PROBE_SECONDS)
            out = command(capsys, "status", *where)[1]
        assert "vantage Regions (probes counted every 10 s, in a row):" in out
        assert recovered in out
        time.sleep(PROBE_SECONDS * 3)  # a few more rounds in which the checks could restore it
        assert sandbox.state.read().operators["eu-central-1"].reason == "by hand"
        if sandbox.state.kvs is not None:
            value = json.loads(dict(sandbox.state.function_store())[ROTATION_KEY])
            assert value["out"] == ["eu-central-1"]


def test_with_evacuation_off_a_cloudfront_function_reads_pulumis_list_only(
    stack_files, credentials, capsys, tmp_path
):
    values = stack_values("cloudfront-functions", evacuation="false")
    settings = parse_settings(values, stack="no-evac-fn")
    stack_files(settings.stack, values)
    with Sandbox(settings, read_timeout=0.5) as sandbox:
        outputs = tmp_path / "outputs.json"
        outputs.write_text(json.dumps({"routingState": sandbox.state.outputs()}), encoding="utf-8")
        where = ["--stack", settings.stack, "--outputs", str(outputs)]
        where += [
            f"--endpoint-url={service}={url}"
            for service, url in sandbox.state.endpoints().items()
            if service in rotation.SERVICES
        ]
        status, _, err = command(capsys, "evacuate", "eu-central-1", *where, "--reason", "r")
    assert status == 2 and "reads the drained list only" in err and err.count("\n") == 1


def test_a_store_that_fails_after_the_table_was_written_undoes_nothing(box, capsys, monkeypatch):
    if box.state.kvs is None:
        return  # Lambda@Edge reads the table itself
    from botocore.exceptions import ClientError

    from evacuation.state import KeyValueStore

    def failing(self, key, out, version):
        raise ClientError(
            {
                "Error": {"Code": "InternalServerException", "Message": "try again"},
                "ResponseMetadata": {"HTTPStatusCode": 500},
            },
            "PutKey",
        )

    with monkeypatch.context() as patched:  # undone before the fixture's teardown publishes
        patched.setattr(KeyValueStore, "publish", failing)
        status, out, err = command(capsys, "evacuate", "eu-central-1", *box.where, "--reason", "r")
    assert (status, err) == (0, "")
    assert out.startswith("eu-central-1 evacuated: out of rotation since ")
    assert "the key value store was not brought up to the table" in out
    assert "the evacuator's next round publishes it" in out
    assert box.state.read().operators["eu-central-1"].reason == "r"
