"""Upload a folder of assets to the stack's buckets.

    ./dev publish FOLDER --outputs outputs.json [--cache-control "max-age=300"] [--dry-run]
    pulumi stack output --json | ./dev publish examples/site --outputs -

With replication (the stack's default with two or more origins) it writes to one bucket, the one
nearest the publisher (``--from-region``, else the AWS SDK's configured Region) or the one named by
``--to``, and replication carries the objects to the others. Without replication, or with ``--all``,
it writes to every bucket.

A file is uploaded, with the metadata publish sets (Content-Type from the file name,
Cache-Control from ``--cache-control``, none without it), when the bucket has no object of its size
and ETag (the MD5 for a single PUT, the MD5 of the parts' MD5s for a multipart upload, computed
here with the same part size). With ``--cache-control`` or ``--check-metadata``, each object ends
as this run would upload it: one with the right bytes but other metadata (read with HeadObject, one
request each: a listing does not carry it) is copied onto itself with the new metadata
(``tools.uploads``). Without either, objects with the right bytes are left as they are, as
``aws s3 sync`` (which compares size and modification time only) leaves them.

Requests run concurrently (``--concurrency``, 16 in flight per bucket by default): a file under
8 MiB is one PutObject, a larger one a multipart upload of 8 MiB parts through boto3's managed
transfer, so files of any size S3 accepts go up. Every request carries the SHA-256 of its bytes,
which S3 checks before it stores them (S3 user guide, "Checking object integrity"); a multipart
object becomes visible only once every part has been checked and the upload completed, so an
interrupted run never leaves a half-written object. Ctrl-C or SIGTERM cancels what is not yet
sent, lets the requests in flight end, aborts this run's unfinished multipart uploads and says what
is in place; running the same command again finishes the job. What cannot be an object (a FIFO,
socket or device, a link to nothing, a file that cannot be read, a name that is not UTF-8) is
skipped with a line naming it. Exit status: 0 when every file is in place, 1 when some uploads
failed or files were skipped (one line each), 2 for a problem found before writing (folder,
buckets, credentials, endpoint), 130 or 143 when stopped by Ctrl-C or SIGTERM.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from concurrent.futures import CancelledError
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
from botocore.exceptions import ClientError

from routing.catalogue import load_catalogue, rank_origins
from tools.cli import (
    MAX_KEY_BYTES,
    CommandParser,
    ToolError,
    cache_control,
    edge_region,
    folder_path,
    key_prefix,
    run_command,
)
from tools.folder import PART_BYTES, LocalFile, scan_folder
from tools.interrupt import at_forced_stop, shielded, stop_requested, worker_threads
from tools.stack_buckets import (
    ObjectInfo,
    add_bucket_arguments,
    explained,
    inventory,
    run_content_tool,
    stack_buckets,
)
from tools.uploads import (
    BucketPublisher,
    Outcome,
    Progress,
    metadata_changes,
    wait_for,
    wanted_metadata,
)


def choose_targets(
    buckets: dict[str, str], replicated: bool, options: argparse.Namespace
) -> list[str]:
    """The Regions to write to."""
    if options.to is not None:
        if options.to not in buckets:
            raise ToolError(
                f"--to {options.to}: the stack has no bucket there; it has {', '.join(buckets)}"
            )
        return [options.to]
    if options.all or not replicated:
        return list(buckets)
    here = options.from_region or boto3.session.Session().region_name
    if here not in load_catalogue():
        yours = (
            f"{here!r} is not an AWS Region code"
            if here is not None
            else "no AWS Region is configured (AWS_REGION, your profile)"
        )
        flag = "--from-region" if options.from_region else "your AWS Region"
        raise ToolError(
            "with replication, publish writes to the bucket nearest you, and "
            f"{flag}: {yours}; give --from-region REGION, --to REGION, or --all"
        )
    return [rank_origins(here, list(buckets))[0]]


@dataclass(frozen=True)
class BucketPlan:
    """What one bucket needs: files to upload (absent, or other bytes) and files whose object has
    the right bytes but other metadata, each with what differs."""

    region: str
    bucket: str
    client: Any
    uploads: list[LocalFile]
    updates: list[tuple[LocalFile, list[str]]]


def checks_metadata(options: argparse.Namespace) -> bool:
    """Whether the metadata of objects whose bytes match is read and corrected: asked for with
    ``--check-metadata``, or implied by ``--cache-control`` (a run that sets metadata on every
    object means every object). One HeadObject per such object: a no-change run of 2,000 files
    sends 2,000 requests more than the listing's two."""
    return bool(options.check_metadata or options.cache_control)


def plan_bucket(
    region: str,
    bucket: str,
    client: Any,
    files: list[LocalFile],
    objects: dict[str, ObjectInfo],
    options: argparse.Namespace,
) -> BucketPlan:
    """Compare ``files`` with the bucket's ``objects``: size and ETag from the listing, then the
    metadata of those whose bytes match, read with one HeadObject each (a listing does not carry
    it), ``--concurrency`` at a time."""
    uploads, same_bytes = [], []
    for local in files:
        found = objects.get(local.key)
        if found is None or (found.size, found.etag) != (local.size, local.etag):
            uploads.append(local)
        else:
            same_bytes.append(local)
    if not checks_metadata(options):
        # Unchanged bytes are left as they are, as aws s3 sync leaves them: no HeadObject each.
        return BucketPlan(region, bucket, client, uploads, [])

    def changes(local: LocalFile) -> list[str] | None:
        """What differs in the object's metadata; None: it is gone since it was listed."""
        if stop_requested():
            raise CancelledError  # the command is stopping: the rest is not compared
        with explained(bucket, region):
            try:
                head = client.head_object(Bucket=bucket, Key=local.key)
            except ClientError as error:
                if error.response.get("Error", {}).get("Code") in ("404", "NoSuchKey", "NotFound"):
                    return None
                raise
        return metadata_changes(head, wanted_metadata(local, options.cache_control))

    with worker_threads(options.concurrency, f"compare-{region}") as pool:
        compared = list(pool.map(changes, same_bytes))
    updates = []
    for local, changed in zip(same_bytes, compared, strict=True):
        if changed is None or (changed and local.size >= PART_BYTES):
            # A multipart object is uploaded again: a copy in one piece would change its ETag.
            uploads.append(local)
        elif changed:
            updates.append((local, changed))
    return BucketPlan(region, bucket, client, uploads, updates)


def print_plans(plans: list[BucketPlan], files: list[LocalFile], dry_run: bool) -> None:
    verb, update = ("would upload", "would update") if dry_run else ("uploading", "updating")
    for plan in plans:
        print(
            f"{plan.region} {plan.bucket}: {verb} {len(plan.uploads)} of {len(files)} files "
            f"({sum(f.size for f in plan.uploads):,} bytes)"
            + (
                f"; {update} the metadata of {len(plan.updates)} (same bytes, copied in place)"
                if plan.updates
                else ""
            )
        )
    if not dry_run:
        return
    for plan in plans:
        for local in plan.uploads:
            print(f"  {plan.region} {local.key} ({local.content_type}, {local.size:,} bytes)")
        for local, changed in plan.updates:
            print(f"  {plan.region} {local.key}: metadata {'; '.join(changed)}")


def publish(options: argparse.Namespace) -> int:
    folder = Path(options.folder)
    if not folder.is_dir():
        raise ToolError(f"no folder at {folder}")
    stack = stack_buckets(options)
    targets = choose_targets(stack.buckets, stack.replicated, options)
    clients = {region: stack.client(region) for region in targets}
    # Every bucket is listed at once, while the folder is read and hashed here; a missing or
    # unreadable bucket is reported by its listing (the first error, in target order).
    with worker_threads(len(targets), "list") as pool:
        listings = [
            pool.submit(inventory, clients[region], stack.buckets[region], region)
            for region in targets
        ]
        skipped: list[str] = []
        files = scan_folder(folder, options.prefix, skipped=skipped.append)
        for line in skipped:
            print(line, file=sys.stderr)
        too_long = next((f for f in files if len(f.key.encode("utf-8")) > MAX_KEY_BYTES), None)
        if too_long is not None:
            raise ToolError(
                f"the key of {too_long.path} is {len(too_long.key.encode('utf-8')):,} bytes long; "
                f"S3 keys are at most {MAX_KEY_BYTES}: use a shorter --prefix or path"
            )
        wait_for(listings)
        existing = [listing.result() for listing in listings]
        compared = [
            pool.submit(
                plan_bucket, region, stack.buckets[region], clients[region], files, objects, options
            )
            for region, objects in zip(targets, existing, strict=True)
        ]
        wait_for(compared)
        plans = [future.result() for future in compared]
    print_plans(plans, files, options.dry_run)
    if options.dry_run:
        return 0
    outcomes = upload(plans, options)
    failures = [failure for outcome in outcomes for failure in outcome.failures]
    for failure in failures:
        print(f"failed: {failure}", file=sys.stderr)
    uploaded = sum(outcome.uploaded for outcome in outcomes)
    updated = sum(outcome.updated for outcome in outcomes)
    print(
        f"done: {uploaded} uploaded, "
        + (f"{updated} with new metadata, " if updated else "")
        + f"{len(failures)} failed"
        + (f", {len(skipped)} skipped (above)" if skipped else "")
        + (
            "; replication copies them to the other Regions"
            if stack.replicated and len(targets) == 1
            else ""
        )
    )
    return 1 if failures or skipped else 0


def upload(plans: list[BucketPlan], options: argparse.Namespace) -> list[Outcome]:
    """Every plan carried out, all buckets at once; on Ctrl-C or SIGTERM, every bucket's work
    cancelled (see ``BucketPublisher.cancel``) and what was done and left said before the stop
    goes on up."""
    total = sum(f.size for plan in plans for f in plan.uploads)
    progress = Progress(
        total, enabled=options.progress and sys.stderr.isatty(), write=_write_progress
    )
    publishers = [
        BucketPublisher(
            plan.client,
            plan.bucket,
            plan.region,
            cache_control=options.cache_control,
            concurrency=options.concurrency,
            progress=progress,
        )
        for plan in plans
    ]
    told = ExitStack()
    try:
        for publisher in publishers:
            told.enter_context(at_forced_stop(publisher.tell_unfinished))
        # Single requests first, then multipart uploads: --concurrency holds for both.
        for plan, publisher in zip(plans, publishers, strict=True):
            publisher.start_single_requests(plan.uploads, [local for local, _ in plan.updates])
        for publisher in publishers:
            publisher.wait()
        for plan, publisher in zip(plans, publishers, strict=True):
            publisher.start_multipart(plan.uploads)
        for publisher in publishers:
            publisher.wait()
    except KeyboardInterrupt:
        with shielded():
            for publisher in publishers:
                publisher.cancel()
            progress.finish()
            print_stopped([publisher.tally() for publisher in publishers])
        raise
    finally:
        told.close()
    progress.finish()
    for publisher in publishers:
        publisher.close()
    return [publisher.tally() for publisher in publishers]


def print_stopped(outcomes: list[Outcome]) -> None:
    """After a stop: what was done, what was not, and what is left to finish by hand."""
    done = sum(outcome.uploaded + outcome.updated for outcome in outcomes)
    failed = sum(len(outcome.failures) for outcome in outcomes)
    not_done = sum(outcome.not_done for outcome in outcomes)
    left = [line for outcome in outcomes for line in outcome.left_behind]
    print(
        f"stopped: {done} of {done + failed + not_done} objects in place, {not_done} not "
        + (f"done, {failed} failed" if failed else "done")
        + (
            "; no object is half-written (S3 stores one only once its upload completes) and no "
            "unfinished multipart upload is left"
            if not left
            else ""
        )
        + "; run the same command again to publish the rest (what is in place is skipped)",
        file=sys.stderr,
    )
    for line in left:
        print(f"left behind: {line}", file=sys.stderr)


def _write_progress(text: str) -> None:
    sys.stderr.write(text)
    sys.stderr.flush()


def main(argv: Sequence[str] | None = None) -> int:
    parser = CommandParser(prog="./dev publish", description=__doc__.splitlines()[0])
    parser.add_argument(
        "folder",
        type=folder_path,
        help="local folder whose files become objects (paths become keys)",
    )
    add_bucket_arguments(parser)
    parser.add_argument(
        "--to", metavar="REGION", type=edge_region, help="write to this Region's bucket only"
    )
    parser.add_argument(
        "--from-region",
        metavar="REGION",
        type=edge_region,
        help="your Region: with replication, write to the nearest bucket",
    )
    parser.add_argument(
        "--all", action="store_true", help="write to every bucket, even when they replicate"
    )
    parser.add_argument(
        "--cache-control",
        metavar="VALUE",
        type=cache_control,
        help="Cache-Control of every uploaded object",
    )
    parser.add_argument(
        "--prefix", default="", type=key_prefix, help="key prefix for every object (e.g. 'v2/')"
    )
    parser.add_argument(
        "--check-metadata",
        action="store_true",
        help="also correct the Content-Type and Cache-Control of objects whose bytes already match "
        "(one HeadObject each; implied by --cache-control)",
    )
    parser.add_argument(
        "--dry-run", action="store_true", help="show what would be uploaded, write nothing"
    )
    parser.add_argument(
        "--no-progress", dest="progress", action="store_false", help="no progress bar"
    )
    return run_content_tool(parser, argv, publish, concurrency="requests in flight per bucket")


if __name__ == "__main__":
    sys.exit(
        run_command(
            main,
            stopping="cancelling the uploads not started, aborting this run's multipart uploads",
            forced=(
                ": the requests in flight were not waited for, nor this run's multipart "
                "uploads aborted"
            ),
        )
    )
