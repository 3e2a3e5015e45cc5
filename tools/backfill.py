"""Fill a Region's bucket with the objects the other buckets already hold, by S3 Batch Replication.

    ./dev backfill REGION --stack prod [--source REGION ...] [--dry-run] [--no-wait]
    pulumi stack output --json | ./dev backfill REGION --outputs -

S3 replication copies only objects written after its rule exists, so a Region added to `origins`
starts empty. This starts S3 Batch Replication jobs (S3 Batch Operations, operation
``S3ReplicateObject``, a manifest S3 generates from the source bucket's replication configuration,
filter ``EligibleForReplication``) that copy what is missing, on AWS's fleet rather than this
machine, then shows their progress until they end (``--no-wait`` returns once they are started).

Which objects, from where. A job runs "for all replication rules that are enabled for the bucket"
(AWS tutorial, "Replicate existing objects with Amazon S3 Batch Replication"; S3 user guide,
"Troubleshooting replication": "Batch Operations attempts to perform existing object replication
for every rule in the source bucket's replication configuration"), and no filter of the API names a
rule or a destination (API reference, JobManifestGeneratorFilter). So an object replicated by a job
goes to every other bucket of the mesh again, not only to REGION: that cannot be avoided without
disabling the live rules to the others, which would stop replicating new writes while the job runs,
and this tool never touches the replication configuration. What it does choose is that every
object is replicated once, from the bucket it was written to: one job per other bucket, each
filtered to the objects written there (``ObjectReplicationStatuses`` NONE, FAILED and COMPLETED:
"If you want to back-fill a destination bucket with objects that have been replicated to another
destination, include ``"COMPLETED"``", S3 user guide, "Replicating existing objects with S3 Batch
Replication"), never
to the replicas (REPLICA) it received from the others, which would be sent back over their own
originals. A bucket that holds no object of its own ends its job with "Manifest generation found no
keys matching the filter criteria": nothing to do, not a failure. (AWS's troubleshooting page gives
another cause for that error, objects in S3 Glacier Flexible Retrieval or Deep Archive; the origin
buckets never move objects there, so the report says both.)

Each job runs in its source's Region ("You must initiate the job from the same AWS Region as the
replication source bucket") and keeps its generated manifest and its completion report (failed
tasks only) in the batch bucket of that Region that the program declares beside each origin.
Exit status: 0 when every job completed without a failed task (or had nothing to do), 1 when a job
failed, was cancelled or has failed tasks (its completion report is named), 2 for bad input.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from settings.stack_file import stack_file_path
from tools.aws_tools import Clients, add_endpoint_argument, endpoint_url, explained
from tools.cli import ToolError, edge_region, run_command, seconds
from tools.cost import BackfillPrices, load_backfill_prices
from tools.stack_buckets import pulumi_stack_outputs, read_outputs

# The source's own objects: never replicated (NONE), failed (FAILED), or replicated before REGION
# had a rule (COMPLETED). Not REPLICA: those are other buckets' objects, replicated from there.
OWN_OBJECTS = ["NONE", "FAILED", "COMPLETED"]
# S3 Batch Operations' job statuses after which a job does nothing more (S3 user guide, "Tracking
# job status and completion reports"); Suspended waits for a confirmation these jobs never ask.
FINAL_STATUSES = {"Complete", "Failed", "Cancelled", "Suspended"}
NO_KEYS = "no keys matching the filter criteria"
REPORT_FORMAT = "Report_CSV_20180820"
MANIFEST_FORMAT = "S3InventoryReport_CSV_20211130"
# Higher runs first among this account's jobs in the Region (S3 user guide, "Assigning job
# priority"); any number will do for jobs that are alone.
PRIORITY = 10
DEFAULT_INTERVAL_SECONDS = 30


@dataclass(frozen=True)
class Backfill:
    """What to start: jobs from ``sources`` whose rules replicate to ``target``."""

    stack: str
    target: str
    sources: list[str]
    buckets: dict[str, str]
    destinations: dict[str, list[str]]
    role_arn: str
    report_buckets: dict[str, str]

    @property
    def account_id(self) -> str:
        # The role is this account's: arn:aws:iam::<account>:role/<name>.
        return self.role_arn.split(":")[4]

    def prefix(self, kind: str) -> str:
        return f"backfill/{self.target}/{kind}"


@dataclass(frozen=True)
class Job:
    source: str
    job_id: str
    status: str = "New"
    total: int | None = None
    succeeded: int = 0
    failed: int = 0
    reasons: list[str] = field(default_factory=list)

    @property
    def nothing_to_do(self) -> bool:
        return self.status == "Failed" and any(NO_KEYS in r.lower() for r in self.reasons)

    @property
    def ok(self) -> bool:
        return self.nothing_to_do or (self.status == "Complete" and self.failed == 0)


def plan_backfill(
    outputs: dict[str, Any], stack: str, target: str, sources: Sequence[str]
) -> Backfill:
    """The jobs that fill ``target``'s bucket, from the stack's outputs; a ToolError naming what is
    missing when the stack cannot do it."""
    buckets = outputs.get("buckets")
    if not isinstance(buckets, dict) or not buckets:
        raise ToolError(f"the outputs of stack {stack} have no 'buckets'; is it deployed?")
    if target not in buckets:
        raise ToolError(
            f"{target} has no bucket in stack {stack} (it has {', '.join(buckets)}); add it to "
            "origins and run pulumi up first"
        )
    destinations: dict[str, list[str]] = outputs.get("replication") or {}
    batch = outputs.get("batchReplication")
    if not destinations or not isinstance(batch, dict):
        raise ToolError(
            f"stack {stack} does not replicate (replication: off, or one origin) or was deployed "
            "before backfill existed: Batch Replication needs the replication mesh and the role "
            "pulumi up declares with it; use ./dev drift --repair"
        )
    chosen = list(sources) or [region for region in buckets if region != target]
    for source in chosen:
        if source == target:
            raise ToolError(f"--source {source}: that is the Region being filled")
        if source not in buckets:
            raise ToolError(f"--source {source}: stack {stack} has no bucket there")
        if target not in destinations.get(source, []) or source not in batch["reportBuckets"]:
            raise ToolError(
                f"--source {source}: its bucket has no replication rule to {target}, or no batch "
                "bucket, yet; run pulumi up (which adds both) and try again"
            )
    return Backfill(
        stack=stack,
        target=target,
        sources=chosen,
        buckets=dict(buckets),
        destinations=destinations,
        role_arn=str(batch["roleArn"]),
        report_buckets=dict(batch["reportBuckets"]),
    )


def job_request(plan: Backfill, source: str, token: str) -> dict[str, Any]:
    """CreateJob's parameters for the job from ``source`` (S3 API reference, CreateJob;
    S3JobManifestGenerator; JobReport)."""
    account = plan.account_id
    report_bucket = f"arn:aws:s3:::{plan.report_buckets[source]}"
    return {
        "AccountId": account,
        "ConfirmationRequired": False,
        "Operation": {"S3ReplicateObject": {}},
        "Report": {
            "Bucket": report_bucket,
            "Prefix": plan.prefix("reports"),
            "Format": REPORT_FORMAT,
            "Enabled": True,
            "ReportScope": "FailedTasksOnly",
            "ExpectedBucketOwner": account,
        },
        "ManifestGenerator": {
            "S3JobManifestGenerator": {
                "ExpectedBucketOwner": account,
                "SourceBucket": f"arn:aws:s3:::{plan.buckets[source]}",
                "EnableManifestOutput": True,
                "ManifestOutputLocation": {
                    "ExpectedManifestBucketOwner": account,
                    "Bucket": report_bucket,
                    "ManifestPrefix": plan.prefix("manifests"),
                    "ManifestFormat": MANIFEST_FORMAT,
                },
                "Filter": {
                    "EligibleForReplication": True,
                    "ObjectReplicationStatuses": OWN_OBJECTS,
                },
            }
        },
        "ClientRequestToken": token,
        "Description": f"geo-proximity {plan.stack}: backfill {plan.target} from {source}"[:256],
        "Priority": PRIORITY,
        "RoleArn": plan.role_arn,
    }


def report_location(plan: Backfill, job: Job) -> str:
    """Where the job's completion report is: ``<prefix>/job-<id>/`` (API reference, JobReport)."""
    return f"s3://{plan.report_buckets[job.source]}/{plan.prefix('reports')}/job-{job.job_id}/"


def start_jobs(
    plan: Backfill, clients: Clients, token: Callable[[], str] = lambda: str(uuid.uuid4())
) -> list[Job]:
    jobs = []
    for source in plan.sources:
        with explained(f"starting the Batch Replication job in {source}"):
            created = clients("s3control", source).create_job(**job_request(plan, source, token()))
        jobs.append(Job(source, created["JobId"]))
    return jobs


def described(plan: Backfill, clients: Clients, job: Job) -> Job:
    with explained(f"reading job {job.job_id} in {job.source}"):
        found = clients("s3control", job.source).describe_job(
            AccountId=plan.account_id, JobId=job.job_id
        )["Job"]
    progress = found.get("ProgressSummary", {})
    return replace(
        job,
        status=found["Status"],
        total=progress.get("TotalNumberOfTasks"),
        succeeded=progress.get("NumberOfTasksSucceeded", 0),
        failed=progress.get("NumberOfTasksFailed", 0),
        reasons=[
            f"{reason.get('FailureCode', '')}: {reason.get('FailureReason', '')}".strip(": ")
            for reason in found.get("FailureReasons", [])
        ],
    )


def progress_line(job: Job) -> str:
    tasks = "" if job.total is None else f", {job.succeeded + job.failed:,} of {job.total:,} tasks"
    return f"  {job.source:<16}job {job.job_id}: {job.status}{tasks}, {job.failed:,} failed"


def watch(
    plan: Backfill,
    clients: Clients,
    jobs: list[Job],
    interval: float,
    sleep: Callable[[float], None] | None = None,
) -> list[Job]:
    """Describe every job each ``interval`` seconds until all have ended, printing a job's line
    whenever it changes."""
    shown: dict[str, str] = {}
    while True:
        jobs = [
            job if job.status in FINAL_STATUSES else described(plan, clients, job) for job in jobs
        ]
        for job in jobs:
            line = progress_line(job)
            if shown.get(job.job_id) != line:
                print(line, flush=True)
                shown[job.job_id] = line
        if all(job.status in FINAL_STATUSES for job in jobs):
            return jobs
        (sleep or time.sleep)(interval)


def summary(plan: Backfill, jobs: list[Job], prices: BackfillPrices) -> tuple[list[str], int]:
    """The closing lines and the exit status."""
    lines = []
    for job in jobs:
        if job.nothing_to_do:
            lines.append(
                f"nothing to do: {job.source} holds no object of its own (or only archived ones, "
                "which Batch Replication skips)"
            )
        elif job.ok:
            lines.append(
                f"done: {job.source} job {job.job_id}: {job.succeeded:,} objects replicated"
            )
        else:
            why = f" ({'; '.join(job.reasons)})" if job.reasons else ""
            lines.append(
                f"failed: {job.source} job {job.job_id} {job.status}{why}: {job.succeeded:,} "
                f"succeeded, {job.failed:,} failed; completion report: {report_location(plan, job)}"
            )
    objects = sum(job.succeeded + job.failed for job in jobs)
    copies = sum((job.succeeded + job.failed) * len(plan.destinations[job.source]) for job in jobs)
    dollars = prices.jobs_and_requests(len(jobs), objects, copies)
    lines.append(
        f"cost: about ${dollars:,.2f} for {len(jobs)} job(s), {objects:,} objects and {copies:,} "
        f"replication PUTs (prices of {prices.as_of}), plus data transfer, "
        f"${prices.transfer_per_gb:.2f} per GB per copy from most Regions"
    )
    lines.append(
        f"then confirm every bucket agrees: ./dev drift --outputs <outputs of stack {plan.stack}>"
    )
    return lines, 0 if all(job.ok for job in jobs) else 1


def run(options: argparse.Namespace) -> int:
    endpoint = endpoint_url(options.endpoint_url)
    outputs = (
        read_outputs(options.outputs) if options.outputs else pulumi_stack_outputs(options.stack)
    )
    plan = plan_backfill(
        outputs, options.stack or "(from --outputs)", options.region, options.source
    )
    others = len(plan.buckets) - 2
    print(
        f"backfill {plan.target} of stack {plan.stack}: {len(plan.sources)} S3 Batch Replication "
        "job(s), one per bucket, each replicating the objects written to it"
        + (
            f"; a job runs all of its bucket's replication rules, so each object also reaches the "
            f"{others} other bucket(s) again (docs/adding-a-region.md)"
            if others
            else ""
        )
    )
    if options.dry_run:
        for source in plan.sources:
            request = job_request(plan, source, "<token>")
            print(f"would start in {source}: {json.dumps(request, sort_keys=True)}")
        return 0
    clients = Clients(endpoint)
    jobs = start_jobs(plan, clients)
    for job in jobs:
        print(f"  {job.source:<16}job {job.job_id}: started; report {report_location(plan, job)}")
    if options.no_wait:
        for job in jobs:
            print(
                f"watch: aws s3control describe-job --account-id {plan.account_id} "
                f"--job-id {job.job_id} --region {job.source}"
            )
        return 0
    jobs = watch(plan, clients, jobs, options.interval)
    lines, status = summary(plan, jobs, load_backfill_prices())
    print("\n".join(lines))
    return status


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="./dev backfill", description=__doc__.splitlines()[0])
    parser.add_argument("region", metavar="REGION", type=edge_region, help="the Region to fill")
    where = parser.add_mutually_exclusive_group(required=True)
    where.add_argument(
        "--stack", help="the stack, whose outputs `pulumi stack output --json` prints"
    )
    where.add_argument(
        "--outputs",
        metavar="FILE",
        help="stack outputs as `pulumi stack output --json` prints them ('-' for stdin)",
    )
    parser.add_argument(
        "--source",
        metavar="REGION",
        type=edge_region,
        action="append",
        default=[],
        help="replicate only the objects written to this Region's bucket (repeatable; default: "
        "every bucket but REGION's)",
    )
    parser.add_argument(
        "--dry-run", action="store_true", help="print the jobs' requests; start nothing"
    )
    parser.add_argument("--no-wait", action="store_true", help="return once the jobs are started")
    parser.add_argument(
        "--interval",
        type=seconds,
        default=DEFAULT_INTERVAL_SECONDS,
        metavar="SECONDS",
        help=f"seconds between progress checks (default {DEFAULT_INTERVAL_SECONDS})",
    )
    add_endpoint_argument(parser)
    options = parser.parse_args(argv)
    if options.stack is not None:
        stack_file_path(options.stack)  # a stack name Pulumi accepts, or one line saying why not
    return run(options)


if __name__ == "__main__":
    sys.exit(run_command(main))
