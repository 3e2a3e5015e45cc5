"""Upload a folder of assets to the stack's buckets.

    ./dev publish FOLDER --outputs outputs.json [--cache-control "max-age=300"] [--dry-run]
    pulumi stack output --json | ./dev publish examples/site --outputs -

With replication (the stack's default with two or more origins) it writes to one bucket, the one
nearest the publisher (``--from-region``, else the AWS SDK's configured Region) or the one named by
``--to``, and replication carries the objects to the others. Without replication, or with ``--all``,
it writes to every bucket. Files whose size and MD5 already match the bucket's copy are skipped.

Each object is one PUT carrying its Content-MD5: S3 stores it whole or not at all, so an interrupted
run never leaves a half-written object. Exit status: 0 when every file is in place, 1 when some
uploads failed, 2 for a problem found before writing (folder, buckets, credentials, endpoint).
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import mimetypes
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

import boto3

from routing.catalogue import load_catalogue
from routing.table import rank_origins
from tools.cli import ToolError, run_command
from tools.stack_buckets import (
    add_bucket_arguments,
    explained,
    inventory,
    stack_buckets,
)

# S3's limit for a single PUT; larger files would need a multipart upload, which this tool avoids
# so that every object it writes is verified whole by its Content-MD5.
MAX_SINGLE_PUT_BYTES = 5 * 1024**3
_CHUNK = 1024 * 1024


@dataclass(frozen=True)
class LocalFile:
    path: Path
    key: str
    size: int
    md5: bytes

    @property
    def content_type(self) -> str:
        guessed, _ = mimetypes.guess_type(self.path.name)
        return guessed or "application/octet-stream"


def scan_folder(folder: Path, prefix: str) -> list[LocalFile]:
    if not folder.is_dir():
        raise ToolError(f"no folder at {folder}")
    files = []
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        size = path.stat().st_size
        if size > MAX_SINGLE_PUT_BYTES:
            raise ToolError(f"{path} is {size:,} bytes; this tool uploads files of up to 5 GiB")
        digest = hashlib.md5(usedforsecurity=False)
        with path.open("rb") as handle:
            while chunk := handle.read(_CHUNK):
                digest.update(chunk)
        files.append(
            LocalFile(path, prefix + path.relative_to(folder).as_posix(), size, digest.digest())
        )
    return files


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
        raise ToolError(
            "with replication, publish writes to the bucket nearest you: give --from-region REGION "
            f"(your AWS Region is {here!r}), --to REGION, or --all"
        )
    return [rank_origins(here, list(buckets))[0]]


class Progress:
    """A one-line progress bar on standard error, for runs long enough to want one."""

    def __init__(self, total_bytes: int, enabled: bool) -> None:
        self.total = max(total_bytes, 1)
        self.done = 0
        self.enabled = enabled

    def advance(self, count: int, label: str) -> None:
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


class _CountingReader:
    """A file object that reports the bytes botocore reads from it (rewinds on retry included)."""

    def __init__(self, handle: BinaryIO, progress: Progress, label: str) -> None:
        self._handle = handle
        self._progress = progress
        self._label = label

    def read(self, size: int = -1) -> bytes:
        chunk = self._handle.read(size)
        self._progress.advance(len(chunk), self._label)
        return chunk

    def seek(self, offset: int, whence: int = 0) -> int:
        before = self._handle.tell()
        position = self._handle.seek(offset, whence)
        self._progress.advance(position - before, self._label)
        return position

    def tell(self) -> int:
        return self._handle.tell()


def upload(
    client: Any, bucket: str, local: LocalFile, cache_control: str | None, progress: Progress
) -> None:
    extra = {"CacheControl": cache_control} if cache_control else {}
    with local.path.open("rb") as handle:
        client.put_object(
            Bucket=bucket,
            Key=local.key,
            Body=_CountingReader(handle, progress, local.key),
            ContentLength=local.size,
            ContentMD5=base64.b64encode(local.md5).decode(),
            ContentType=local.content_type,
            **extra,
        )


def publish(options: argparse.Namespace) -> int:
    files = scan_folder(Path(options.folder), options.prefix)
    stack = stack_buckets(options)
    targets = choose_targets(stack.buckets, stack.replicated, options)
    plans = []
    for region in targets:
        bucket = stack.buckets[region]
        client = stack.client(region)
        with explained(bucket, region):
            client.head_bucket(Bucket=bucket)
        existing = inventory(client, bucket, region)
        changed = [
            f
            for f in files
            if (found := existing.get(f.key)) is None
            or (found.size, found.etag) != (f.size, f.md5.hex())
        ]
        plans.append((region, bucket, client, changed))

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
    failures = []
    for region, bucket, client, changed in plans:
        for local in changed:
            try:
                with explained(bucket, region):
                    upload(client, bucket, local, options.cache_control, progress)
            except ToolError as error:
                failures.append(f"{region} {local.key}: {error}")
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
    parser.add_argument("--to", metavar="REGION", help="write to this Region's bucket only")
    parser.add_argument(
        "--from-region",
        metavar="REGION",
        help="your Region: with replication, write to the nearest bucket",
    )
    parser.add_argument(
        "--all", action="store_true", help="write to every bucket, even when they replicate"
    )
    parser.add_argument(
        "--cache-control", metavar="VALUE", help="Cache-Control of every uploaded object"
    )
    parser.add_argument("--prefix", default="", help="key prefix for every object (e.g. 'v2/')")
    parser.add_argument(
        "--dry-run", action="store_true", help="show what would be uploaded, write nothing"
    )
    parser.add_argument(
        "--no-progress", dest="progress", action="store_false", help="no progress bar"
    )
    return publish(parser.parse_args(argv))


if __name__ == "__main__":
    sys.exit(run_command(main))
