"""Upload a folder of assets to the stack's buckets.

    ./dev publish FOLDER --outputs outputs.json [--cache-control "max-age=300"] [--dry-run]
    pulumi stack output --json | ./dev publish examples/site --outputs -

With replication (the stack's default with two or more origins) it writes to one bucket, the one
nearest the publisher (``--from-region``, else the AWS SDK's configured Region) or the one named by
``--to``, and replication carries the objects to the others. Without replication, or with ``--all``,
it writes to every bucket. Files whose size and MD5 already match the bucket's copy are skipped.

Uploads run concurrently (``--concurrency``, 16 requests in flight per bucket by default) through
boto3's managed transfer (s3transfer): a file up to 8 MiB is one PUT, a larger one a multipart
upload of 8 MiB parts, so files of any size S3 accepts go up. Every request carries the SHA-256 of
its bytes, which S3 checks before it stores them (S3 user guide, "Checking object integrity"); a
multipart object becomes visible only once every part has been checked and the upload completed,
so an interrupted run never leaves a half-written object. A file is skipped when its size and ETag
match the bucket's copy: the MD5 for a single PUT, the MD5 of the parts' MD5s for a multipart
upload, computed here with the same part size. Exit status: 0 when every file is in place, 1 when
some uploads failed (one line each), 2 for a problem found before writing (folder, buckets,
credentials, endpoint).
"""

from __future__ import annotations

import argparse
import sys
import threading
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import boto3
from boto3.s3.transfer import create_transfer_manager
from s3transfer.subscribers import BaseSubscriber

from routing.catalogue import load_catalogue, rank_origins
from tools.cli import (
    MAX_KEY_BYTES,
    ToolError,
    cache_control,
    edge_region,
    key_prefix,
    run_command,
)
from tools.folder import LocalFile, scan_folder
from tools.stack_buckets import (
    add_bucket_arguments,
    explained,
    inventory,
    run_content_tool,
    stack_buckets,
    transfer_config,
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


class Progress(BaseSubscriber):  # type: ignore[misc]
    """A one-line progress bar on standard error, for runs long enough to want one; s3transfer
    reports the bytes of every request to it, from its worker threads."""

    def __init__(self, total_bytes: int, enabled: bool) -> None:
        self.total = max(total_bytes, 1)
        self.done = 0
        self.enabled = enabled
        self._lock = threading.Lock()

    def on_progress(self, future: Any, bytes_transferred: int, **kwargs: Any) -> None:
        self.advance(bytes_transferred, future.meta.call_args.key)

    def advance(self, count: int, label: str) -> None:
        with self._lock:
            self.done += count
            if self.enabled:
                filled = int(30 * self.done / self.total)
                sys.stderr.write(
                    f"\r[{'#' * filled}{'.' * (30 - filled)}] {100 * self.done / self.total:5.1f}% "
                    f"{self.done / 1e6:8.1f}/{self.total / 1e6:.1f} MB {label[-40:]:<40}"
                )
                sys.stderr.flush()

    def finish(self) -> None:
        if self.enabled:
            sys.stderr.write("\n")


def upload_all(
    client: Any,
    bucket: str,
    region: str,
    files: list[LocalFile],
    *,
    cache_control: str | None,
    progress: Progress,
    concurrency: int,
) -> list[str]:
    """Upload ``files`` concurrently; one line per file that failed."""
    failures = []
    with create_transfer_manager(client, transfer_config(concurrency)) as manager:
        futures = [
            (
                local,
                manager.upload(
                    str(local.path),
                    bucket,
                    local.key,
                    extra_args={
                        "ContentType": local.content_type,
                        # S3 checks each request's bytes against this before it stores them.
                        "ChecksumAlgorithm": "SHA256",
                        **({"CacheControl": cache_control} if cache_control else {}),
                    },
                    subscribers=[progress],
                ),
            )
            for local in files
        ]
        for local, future in futures:
            try:
                with explained(bucket, region):
                    future.result()
            except ToolError as error:
                failures.append(f"{region} {local.key}: {error}")
    return failures


def publish(options: argparse.Namespace) -> int:
    folder = Path(options.folder)
    if not folder.is_dir():
        raise ToolError(f"no folder at {folder}")
    stack = stack_buckets(options)
    targets = choose_targets(stack.buckets, stack.replicated, options)
    clients = {region: stack.client(region) for region in targets}
    # Every bucket is listed at once, while the folder is read and hashed here; a missing or
    # unreadable bucket is reported by its listing (the first error, in target order).
    with ThreadPoolExecutor(len(targets)) as pool:
        listings = [
            pool.submit(inventory, clients[region], stack.buckets[region], region)
            for region in targets
        ]
        files = scan_folder(folder, options.prefix)
        too_long = next((f for f in files if len(f.key.encode("utf-8")) > MAX_KEY_BYTES), None)
        if too_long is not None:
            raise ToolError(
                f"the key of {too_long.path} is {len(too_long.key.encode('utf-8')):,} bytes long; "
                f"S3 keys are at most {MAX_KEY_BYTES}: use a shorter --prefix or path"
            )
        existing = [listing.result() for listing in listings]
    plans = [
        (
            region,
            stack.buckets[region],
            clients[region],
            [
                f
                for f in files
                if (found := objects.get(f.key)) is None
                or (found.size, found.etag) != (f.size, f.etag)
            ],
        )
        for region, objects in zip(targets, existing, strict=True)
    ]

    verb = "would upload" if options.dry_run else "uploading"
    for region, bucket, _, changed in plans:
        print(
            f"{region} {bucket}: {verb} {len(changed)} of {len(files)} files "
            f"({sum(f.size for f in changed):,} bytes)"
        )
    if options.dry_run:
        for region, _, _, changed in plans:
            for local in changed:
                print(f"  {region} {local.key} ({local.content_type}, {local.size:,} bytes)")
        return 0

    total = sum(f.size for *_, changed in plans for f in changed)
    progress = Progress(total, enabled=options.progress and sys.stderr.isatty())
    with ThreadPoolExecutor(len(plans)) as pool:
        failures = [
            failure
            for failed in pool.map(
                lambda planned: upload_all(
                    planned[2],
                    planned[1],
                    planned[0],
                    planned[3],
                    cache_control=options.cache_control,
                    progress=progress,
                    concurrency=options.concurrency,
                ),
                plans,
            )
            for failure in failed
        ]
    progress.finish()
    for failure in failures:
        print(f"failed: {failure}", file=sys.stderr)
    uploaded = sum(len(changed) for *_, changed in plans) - len(failures)
    print(
        f"done: {uploaded} uploaded, {len(failures)} failed"
        + (
            "; replication copies them to the other Regions"
            if stack.replicated and len(targets) == 1
            else ""
        )
    )
    return 1 if failures else 0


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="./dev publish", description=__doc__.splitlines()[0])
    parser.add_argument(
        "folder", help="local folder whose files become objects (paths become keys)"
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
        "--dry-run", action="store_true", help="show what would be uploaded, write nothing"
    )
    parser.add_argument(
        "--no-progress", dest="progress", action="store_false", help="no progress bar"
    )
    return run_content_tool(parser, argv, publish, concurrency="requests in flight per bucket")


if __name__ == "__main__":
    sys.exit(run_command(main))
