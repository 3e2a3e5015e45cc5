"""./dev backfill: S3 Batch Replication jobs that fill a new Region, checked with botocore's Stubber
against the real S3 Control model (moto does not implement CreateJob or DescribeJob): every request
the tool sends must be one the service accepts, and every answer it reads one the service gives."""

import json

import boto3
import pytest
from botocore.stub import ANY, Stubber

from tools import backfill
from tools.cli import ToolError, run_command
from tools.cost import load_backfill_prices

ACCOUNT = "123456789012"
REGIONS = ("us-east-1", "eu-central-1", "ap-northeast-1", "ap-southeast-2")
TARGET = "ap-southeast-2"
BUCKETS = {region: f"geo-proximity-prod-{region}-0000" for region in REGIONS}
REPORTS = {region: f"geo-proximity-prod-batch-{region}-0000" for region in REGIONS}
OUTPUTS = {
    "buckets": BUCKETS,
    "replication": {r: [t for t in REGIONS if t != r] for r in REGIONS},
    "batchReplication": {
        "roleArn": f"arn:aws:iam::{ACCOUNT}:role/batch-replication-role-1234567",
        "reportBuckets": REPORTS,
    },
}
JOB_IDS = {"us-east-1": "job-use1-0001", "eu-central-1": "job-euc1-0001"}


@pytest.fixture
def credentials(monkeypatch, tmp_path):
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))
    monkeypatch.delenv("AWS_PROFILE", raising=False)


class StubbedClients:
    """S3 Control clients per Region, each behind a Stubber that checks requests and answers
    against the real service model."""

    def __init__(self):
        self.clients = {}
        self.stubbers = {}

    def stubber(self, region):
        if region not in self.stubbers:
            client = boto3.session.Session().client("s3control", region_name=region)
            self.clients[region] = client
            self.stubbers[region] = Stubber(client)
            self.stubbers[region].activate()
        return self.stubbers[region]

    def __call__(self, service, region):
        assert service == "s3control"
        return self.clients[region]

    def verify(self):
        for stubber in self.stubbers.values():
            stubber.assert_no_pending_responses()


def plan(**changes):
    return backfill.plan_backfill({**OUTPUTS, **changes}, "prod", TARGET, [])


def expect_create(clients, source, stack="prod"):
    request = backfill.job_request(
        backfill.plan_backfill(OUTPUTS, stack, TARGET, []), source, "token"
    )
    clients.stubber(source).add_response(
        "create_job", {"JobId": JOB_IDS[source]}, {**request, "ClientRequestToken": ANY}
    )


def expect_describe(clients, source, status, total=None, succeeded=0, failed=0, reasons=()):
    job = {"JobId": JOB_IDS[source], "Status": status, "Priority": 10}
    if total is not None:
        job["ProgressSummary"] = {
            "TotalNumberOfTasks": total,
            "NumberOfTasksSucceeded": succeeded,
            "NumberOfTasksFailed": failed,
        }
    if reasons:
        job["FailureReasons"] = [
            {"FailureCode": code, "FailureReason": why} for code, why in reasons
        ]
    clients.stubber(source).add_response(
        "describe_job", {"Job": job}, {"AccountId": ACCOUNT, "JobId": JOB_IDS[source]}
    )


def test_one_job_per_other_bucket_each_for_the_objects_written_there():
    backfill_plan = plan()
    assert backfill_plan.sources == ["us-east-1", "eu-central-1", "ap-northeast-1"]
    assert backfill_plan.account_id == ACCOUNT
    request = backfill.job_request(backfill_plan, "eu-central-1", "token-1")
    generator = request["ManifestGenerator"]["S3JobManifestGenerator"]
    assert request["Operation"] == {"S3ReplicateObject": {}}
    assert generator["SourceBucket"] == f"arn:aws:s3:::{BUCKETS['eu-central-1']}"
    # Eligible for replication and written to this bucket: never the replicas it received.
    assert generator["Filter"] == {
        "EligibleForReplication": True,
        "ObjectReplicationStatuses": ["NONE", "FAILED", "COMPLETED"],
    }
    # Manifest and report stay in the source's Region, in its batch bucket, never an origin.
    assert (
        generator["ManifestOutputLocation"]["Bucket"] == f"arn:aws:s3:::{REPORTS['eu-central-1']}"
    )
    assert request["Report"]["Bucket"] == f"arn:aws:s3:::{REPORTS['eu-central-1']}"
    assert request["Report"]["ReportScope"] == "FailedTasksOnly"
    assert request["RoleArn"] == OUTPUTS["batchReplication"]["roleArn"]
    assert request["ConfirmationRequired"] is False
    assert request["ClientRequestToken"] == "token-1"


@pytest.mark.parametrize(
    ("outputs", "sources", "message"),
    [
        ({"buckets": {}}, [], "have no 'buckets'; is it deployed?"),
        (
            {**OUTPUTS, "buckets": {r: b for r, b in BUCKETS.items() if r != TARGET}},
            [],
            "ap-southeast-2 has no bucket in stack prod (it has us-east-1, eu-central-1, "
            "ap-northeast-1); add it to origins and run pulumi up first",
        ),
        ({**OUTPUTS, "replication": {}}, [], "does not replicate (replication: off"),
        ({k: v for k, v in OUTPUTS.items() if k != "batchReplication"}, [], "./dev drift --repair"),
        (OUTPUTS, [TARGET], "--source ap-southeast-2: that is the Region being filled"),
        (OUTPUTS, ["sa-east-1"], "--source sa-east-1: stack prod has no bucket there"),
        (
            {**OUTPUTS, "replication": {**OUTPUTS["replication"], "us-east-1": ["eu-central-1"]}},
            ["us-east-1"],
            "--source us-east-1: its bucket has no replication rule to ap-southeast-2",
        ),
    ],
)
def test_a_stack_that_cannot_be_backfilled_is_told_why_in_one_line(outputs, sources, message):
    with pytest.raises(ToolError) as refused:
        backfill.plan_backfill(outputs, "prod", TARGET, sources)
    assert message in str(refused.value) and "\n" not in str(refused.value)


def test_jobs_are_started_in_their_sources_region_and_watched_to_the_end(credentials, capsys):
    clients = StubbedClients()
    sources = ["us-east-1", "eu-central-1"]
    backfill_plan = backfill.plan_backfill(OUTPUTS, "prod", TARGET, sources)
    for source in sources:
        expect_create(clients, source)
    expect_describe(clients, "us-east-1", "Preparing")
    expect_describe(clients, "eu-central-1", "Preparing")
    expect_describe(clients, "us-east-1", "Active", total=1000, succeeded=400)
    expect_describe(
        clients,
        "eu-central-1",
        "Failed",
        reasons=[
            (
                "ManifestGenerationFailed",
                "Manifest generation found no keys matching the filter criteria.",
            )
        ],
    )
    expect_describe(clients, "us-east-1", "Complete", total=1000, succeeded=1000)
    jobs = backfill.start_jobs(backfill_plan, clients)
    pauses = []
    ended = backfill.watch(backfill_plan, clients, jobs, 30, sleep=pauses.append)
    clients.verify()
    assert pauses == [30, 30]
    out = capsys.readouterr().out.splitlines()
    assert out == [
        "  us-east-1       job job-use1-0001: Preparing, 0 failed",
        "  eu-central-1    job job-euc1-0001: Preparing, 0 failed",
        "  us-east-1       job job-use1-0001: Active, 400 of 1,000 tasks, 0 failed",
        "  eu-central-1    job job-euc1-0001: Failed, 0 failed",
        "  us-east-1       job job-use1-0001: Complete, 1,000 of 1,000 tasks, 0 failed",
    ]
    lines, status = backfill.summary(backfill_plan, ended, load_backfill_prices())
    assert status == 0
    assert lines[0] == "done: us-east-1 job job-use1-0001: 1,000 objects replicated"
    assert lines[1] == (
        "nothing to do: eu-central-1 holds no object of its own (or only archived ones, which "
        "Batch Replication skips)"
    )
    # 2 jobs x $0.25, 1,000 objects x $1 per million, 3,000 replication PUTs x $0.005 per 1,000.
    assert lines[2].startswith(
        "cost: about $0.52 for 2 job(s), 1,000 objects and 3,000 replication"
    )


def test_failed_tasks_name_the_completion_report_and_exit_1(credentials):
    clients = StubbedClients()
    backfill_plan = backfill.plan_backfill(OUTPUTS, "prod", TARGET, ["us-east-1"])
    expect_describe(clients, "us-east-1", "Complete", total=10, succeeded=7, failed=3)
    (job,) = backfill.watch(
        backfill_plan, clients, [backfill.Job("us-east-1", JOB_IDS["us-east-1"])], 1, sleep=None
    )
    lines, status = backfill.summary(backfill_plan, [job], load_backfill_prices())
    assert status == 1
    assert lines[0] == (
        "failed: us-east-1 job job-use1-0001 Complete: 7 succeeded, 3 failed; completion report: "
        f"s3://{REPORTS['us-east-1']}/backfill/ap-southeast-2/reports/job-job-use1-0001/"
    )


def test_a_refused_job_is_one_line_not_a_traceback(credentials):
    clients = StubbedClients()
    backfill_plan = backfill.plan_backfill(OUTPUTS, "prod", TARGET, ["us-east-1"])
    clients.stubber("us-east-1").add_client_error(
        "create_job",
        service_error_code="AccessDenied",
        service_message="not authorized to perform: iam:PassRole",
        http_status_code=403,
    )
    with pytest.raises(ToolError) as refused:
        backfill.start_jobs(backfill_plan, clients)
    assert str(refused.value) == (
        "starting the Batch Replication job in us-east-1: AccessDenied: not authorized to perform: "
        "iam:PassRole; check the credentials' permissions (docs/deploying.md)"
    )


def outputs_file(tmp_path):
    path = tmp_path / "outputs.json"
    path.write_text(json.dumps(OUTPUTS), encoding="utf-8")
    return str(path)


def test_the_command_starts_waits_and_summarises(credentials, tmp_path, capsys, monkeypatch):
    clients = StubbedClients()
    expect_create(clients, "us-east-1", stack="(from --outputs)")
    expect_describe(clients, "us-east-1", "Complete", total=5, succeeded=5)
    monkeypatch.setattr(backfill, "Clients", lambda endpoint: clients)
    argv = [TARGET, "--outputs", outputs_file(tmp_path), "--source", "us-east-1"]
    assert run_command(backfill.main, argv) == 0
    clients.verify()
    out = capsys.readouterr().out
    assert out.startswith(
        "backfill ap-southeast-2 of stack (from --outputs): 1 S3 Batch Replication"
    )
    assert "each object also reaches the 2 other bucket(s) again" in out
    assert "done: us-east-1 job job-use1-0001: 5 objects replicated" in out
    assert "./dev drift" in out


def test_no_wait_returns_once_started_and_says_how_to_watch(
    credentials, tmp_path, capsys, monkeypatch
):
    clients = StubbedClients()
    expect_create(clients, "us-east-1", stack="(from --outputs)")
    monkeypatch.setattr(backfill, "Clients", lambda endpoint: clients)
    argv = [TARGET, "--outputs", outputs_file(tmp_path), "--source", "us-east-1", "--no-wait"]
    assert run_command(backfill.main, argv) == 0
    clients.verify()
    assert (
        "watch: aws s3control describe-job --account-id 123456789012 --job-id job-use1-0001 "
        "--region us-east-1" in capsys.readouterr().out
    )


def test_dry_run_prints_the_requests_and_starts_nothing(tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(backfill, "Clients", lambda endpoint: pytest.fail("a client was made"))
    assert (
        run_command(backfill.main, [TARGET, "--outputs", outputs_file(tmp_path), "--dry-run"]) == 0
    )
    out = capsys.readouterr().out
    starts = [line for line in out.splitlines() if line.startswith("would start in ")]
    assert [line.split()[3].rstrip(":") for line in starts] == [
        "us-east-1",
        "eu-central-1",
        "ap-northeast-1",
    ]
    request = json.loads(starts[0].split(": ", 1)[1])
    assert request["ManifestGenerator"]["S3JobManifestGenerator"]["SourceBucket"].endswith(
        BUCKETS["us-east-1"]
    )


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["mars-north-1", "--outputs", "x"], "argument REGION: 'mars-north-1' is not"),
        ([TARGET], "one of the arguments --stack --outputs is required"),
        ([TARGET, "--outputs", "x", "--interval", "0"], "'0' is not a whole number of seconds"),
    ],
)
def test_bad_arguments_are_one_line_of_usage(tmp_path, capsys, argv, message):
    argv = [outputs_file(tmp_path) if arg == "x" else arg for arg in argv]
    with pytest.raises(SystemExit) as exited:
        backfill.main(argv)
    assert exited.value.code == 2
    assert message in capsys.readouterr().err.splitlines()[-1]


def test_a_bad_endpoint_is_one_line(tmp_path, capsys):
    argv = [TARGET, "--outputs", outputs_file(tmp_path), "--endpoint-url", "localhost:5000"]
    assert run_command(backfill.main, argv) == 2
    assert capsys.readouterr().err == (
        "error: --endpoint-url 'localhost:5000': expected a URL starting http:// or https://\n"
    )


def test_unreadable_outputs_and_a_missing_pulumi_cli_are_one_line(tmp_path, capsys, monkeypatch):
    assert run_command(backfill.main, [TARGET, "--outputs", str(tmp_path / "none.json")]) == 2
    assert "--outputs: no stack outputs file at" in capsys.readouterr().err
    monkeypatch.setenv("PATH", str(tmp_path))
    assert run_command(backfill.main, [TARGET, "--stack", "prod"]) == 2
    assert capsys.readouterr().err.startswith("error: --stack needs the Pulumi CLI (pulumi)")
