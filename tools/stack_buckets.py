"""What the content tools share: which buckets a stack has, S3 clients for them, and inventories.

Bucket names come from the stack's outputs, as ``pulumi stack output --json`` prints them (a file,
or ``-`` for standard input), or from ``--bucket REGION=NAME`` flags. Every failure a person can fix
(no such bucket, no credentials, unreachable endpoint) becomes a ``ToolError`` with a plain message.
"""

from __future__ import annotations

import argparse
import dataclasses
import subprocess
import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import boto3
from boto3.s3.transfer import TransferConfig
from botocore.config import Config
from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    EndpointConnectionError,
    NoCredentialsError,
)

from core.input_file import (
    InputFileError,
    decoded,
    parse_json,
    read_input_bytes,
    read_stream_bytes,
)
from routing.catalogue import load_catalogue
from tools.cli import (
    NO_CREDENTIALS,
    ToolError,
    bucket_name_problem,
    printable,
    requests_in_flight,
)
from tools.folder import PART_BYTES


@dataclass(frozen=True)
class Endpoints:
    """Where to reach S3: AWS's own endpoints (None), one URL for all Regions, or one per Region."""

    default: str | None = None
    by_region: dict[str, str] = field(default_factory=dict)

    def for_region(self, region: str) -> str | None:
        return self.by_region.get(region, self.default)


@dataclass(frozen=True)
class StackBuckets:
    buckets: dict[str, str]  # Region → bucket name, in the stack's order
    replicated: bool  # the stack replicates every bucket to every other (replication mesh)
    endpoints: Endpoints = field(default_factory=Endpoints)

    def client(self, region: str) -> Any:
        """An S3 client for the bucket of ``region``."""
        return s3_client(region, self.endpoints.for_region(region))


@dataclass(frozen=True)
class ObjectInfo:
    size: int
    etag: str
    last_modified: datetime


def add_bucket_arguments(parser: argparse.ArgumentParser) -> None:
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument(
        "--outputs",
        metavar="FILE",
        help="stack outputs as `pulumi stack output --json` prints them ('-' for stdin)",
    )
    source.add_argument(
        "--bucket",
        metavar="REGION=NAME",
        action="append",
        help="a bucket and its Region (repeatable)",
    )
    parser.add_argument(
        "--replication",
        choices=["mesh", "off"],
        help="with --bucket: whether the buckets replicate to each other (default off)",
    )
    parser.add_argument(
        "--endpoint-url",
        metavar="[REGION=]URL",
        action="append",
        default=[],
        help="S3 endpoint to use instead of AWS's (a local emulator): one URL for every Region, or "
        "REGION=URL per Region (repeatable); `./dev sandbox serve` prints its own",
    )


def add_concurrency_argument(parser: argparse.ArgumentParser, what: str) -> None:
    """``--concurrency N``: ``what`` (e.g. "requests in flight per bucket"), 1 or more."""
    parser.add_argument(
        "--concurrency",
        type=requests_in_flight,
        default=DEFAULT_CONCURRENCY,
        metavar="N",
        help=f"{what} (default {DEFAULT_CONCURRENCY})",
    )


def run_content_tool(
    parser: argparse.ArgumentParser,
    argv: Sequence[str] | None,
    command: Callable[[argparse.Namespace], int],
    *,
    concurrency: str,
) -> int:
    """The end of publish's and drift's ``main``: ``--concurrency`` (described by ``concurrency``,
    listed last in ``--help``), then ``command`` on the parsed options; its exit status."""
    add_concurrency_argument(parser, concurrency)
    return command(parser.parse_args(argv))


def stack_buckets(options: argparse.Namespace) -> StackBuckets:
    """The buckets named by --outputs or --bucket, with the S3 endpoints of --endpoint-url."""
    found = _buckets(options)
    return dataclasses.replace(found, endpoints=endpoints(options, found.buckets))


def _buckets(options: argparse.Namespace) -> StackBuckets:
    if options.bucket:
        if options.replication is None:
            options.replication = "off"
        buckets = {}
        for flag in options.bucket:
            region, separator, name = flag.partition("=")
            if not separator or not name:
                raise ToolError(
                    f"--bucket {flag!r} is not REGION=NAME, e.g. --bucket eu-west-1=my-assets"
                )
            _known_region(region, f"--bucket {flag}")
            problem = bucket_name_problem(name)
            if problem is not None:
                raise ToolError(f"--bucket {printable(flag)}: {problem}")
            buckets[region] = name
        return StackBuckets(buckets, replicated=options.replication == "mesh")
    if options.replication is not None:
        raise ToolError(
            "--replication goes with --bucket; stack outputs already say whether buckets replicate"
        )
    return _from_outputs(options.outputs)


def endpoints(options: argparse.Namespace, buckets: dict[str, str]) -> Endpoints:
    """The checked --endpoint-url flags: ``URL`` (every Region), ``REGION=URL`` (that Region)."""
    default: str | None = None
    by_region: dict[str, str] = {}
    for flag in options.endpoint_url:
        region, separator, url = flag.partition("=")
        if not separator or "://" in region:
            region, url = "", flag
        if not url.startswith(("http://", "https://")):
            raise ToolError(
                f"--endpoint-url {flag!r}: expected URL or REGION=URL, "
                "the URL starting http:// or https://"
            )
        if not region:
            if default is not None:
                raise ToolError(
                    "--endpoint-url: give one URL for every Region, or REGION=URL for each, "
                    "not two URLs"
                )
            default = url
            continue
        _known_region(region, f"--endpoint-url {flag}")
        if region not in buckets:
            raise ToolError(
                f"--endpoint-url {flag}: the stack has no bucket in {region}; it has "
                f"{', '.join(buckets)}"
            )
        by_region[region] = url
    return Endpoints(default, by_region)


def read_outputs(source: str) -> dict[str, Any]:
    """The stack outputs in ``source`` (a file, or '-' for standard input), as
    ``pulumi stack output --json`` prints them; read bounded (``core.input_file``)."""
    what = "stack outputs file"
    try:
        if source == "-":
            data = read_stream_bytes(sys.stdin, what=what)
        else:
            data = read_input_bytes(Path(source), what=what, pipes=True)
        where = "standard input" if source == "-" else source
        text = decoded(data, where=where)
    except InputFileError as error:
        raise ToolError(f"--outputs: {error}") from None
    return _parsed_outputs(text, f"stack outputs in {source}")


def pulumi_stack_outputs(stack: str) -> dict[str, Any]:
    """The outputs of ``stack``, from the Pulumi CLI (``pulumi stack output --json``)."""
    command = ["pulumi", "stack", "output", "--json", "--stack", stack]
    try:
        done = subprocess.run(command, capture_output=True, text=True, check=False, timeout=120)
    except FileNotFoundError:
        raise ToolError(
            "--stack needs the Pulumi CLI (pulumi) on the PATH; or give the outputs with "
            "--outputs FILE (pulumi stack output --json > FILE)"
        ) from None
    except subprocess.TimeoutExpired:
        raise ToolError(f"`{' '.join(command)}` did not answer within 120 s") from None
    if done.returncode != 0:
        last = (done.stderr.strip().splitlines() or ["no message"])[-1]
        raise ToolError(f"`{' '.join(command)}` failed: {last}")
    return _parsed_outputs(done.stdout, f"the outputs of stack {stack}")


def _parsed_outputs(text: str, where: str) -> dict[str, Any]:
    if not text.strip():
        raise ToolError(f"{where} are empty; produce them with `pulumi stack output --json`")
    try:
        outputs = parse_json(text, where=where, what="stack outputs file")
    except InputFileError as error:
        raise ToolError(str(error)) from None
    except ValueError:
        raise ToolError(
            f"{where} are not JSON; produce them with `pulumi stack output --json`"
        ) from None
    if not isinstance(outputs, dict):
        raise ToolError(f"{where} are not a JSON object of outputs")
    return outputs


def _from_outputs(source: str) -> StackBuckets:
    outputs = read_outputs(source)
    buckets = outputs.get("buckets")
    if (
        not isinstance(buckets, dict)
        or not buckets
        or not all(isinstance(v, str) for v in buckets.values())
    ):
        raise ToolError(f"stack outputs in {source} have no 'buckets' map of Region to bucket name")
    for region, name in buckets.items():
        _known_region(region, f"stack outputs in {source}")
        problem = bucket_name_problem(name)
        if problem is not None:
            raise ToolError(f"stack outputs in {source}: {problem}")
    return StackBuckets(dict(buckets), replicated=bool(outputs.get("replication")))


def _known_region(region: str, where: str) -> str:
    if region not in load_catalogue():
        raise ToolError(f"{where}: {region!r} is not an AWS Region code")
    return region


# Requests in flight at once, per bucket, for publish and drift (the AWS CLI's default is 10).
DEFAULT_CONCURRENCY = 16


def transfer_config(concurrency: int, *, multipart_threshold: int = PART_BYTES) -> TransferConfig:
    """boto3's managed transfers as publish uploads and drift copies: ``concurrency`` requests in
    flight, objects from ``multipart_threshold`` up in parts of ``PART_BYTES`` (so a copy's ETag
    is the one publish's upload gave the source)."""
    return TransferConfig(
        max_concurrency=concurrency,
        multipart_threshold=multipart_threshold,
        multipart_chunksize=PART_BYTES,
        # Threads, not the CRT client: the same behaviour on every machine and against emulators.
        preferred_transfer_client="classic",
    )


def s3_client(region: str, endpoint_url: str | None) -> Any:
    """An S3 client for one Region's bucket, at ``endpoint_url`` (None: AWS's endpoint)."""
    # Few retries: a person waiting on a dead endpoint wants the error, not a minute of back-off.
    # A connection per concurrent request (botocore keeps 10 by default).
    config = Config(
        retries={"max_attempts": 2, "mode": "standard"},
        connect_timeout=5,
        read_timeout=60,
        max_pool_connections=DEFAULT_CONCURRENCY * 2,
    )
    # A session of its own: credentials are looked up now, not reused from an earlier lookup.
    return boto3.session.Session().client(
        "s3", region_name=region, endpoint_url=endpoint_url, config=config
    )


@contextmanager
def explained(bucket: str, region: str) -> Iterator[None]:
    """Turn the S3 errors a person can fix into one-line ToolErrors naming the bucket and Region."""
    try:
        yield
    except NoCredentialsError:
        raise ToolError(NO_CREDENTIALS) from None
    except EndpointConnectionError as error:
        raise ToolError(
            f"cannot reach S3 for {bucket} ({region}) at {error.kwargs.get('endpoint_url')}"
        ) from None
    except ClientError as error:
        code = error.response.get("Error", {}).get("Code", "")
        if code in ("NoSuchBucket", "404", "NotFound"):
            raise ToolError(
                f"bucket {bucket} ({region}) does not exist; check the stack outputs or --bucket"
            ) from None
        if code in ("PermanentRedirect", "301"):
            raise ToolError(
                f"the S3 endpoint for {bucket} ({region}) serves another Region; with "
                "--endpoint-url, give each "
                "Region its own endpoint (--endpoint-url REGION=URL, repeatable)"
            ) from None
        if code in (
            "AccessDenied",
            "403",
            "Forbidden",
            "InvalidAccessKeyId",
            "SignatureDoesNotMatch",
        ):
            raise ToolError(
                f"access to bucket {bucket} ({region}) was denied ({code}); check the credentials"
            ) from None
        raise ToolError(f"S3 refused a request on {bucket} ({region}): {code} {error}") from None
    except BotoCoreError as error:
        raise ToolError(f"S3 request on {bucket} ({region}) failed: {error}") from None


def listed_objects(client: Any, bucket: str, region: str) -> Iterator[tuple[str, ObjectInfo]]:
    """Every object's key, size, ETag and modification time, as S3 lists them: 1,000 keys a page,
    in ascending UTF-8 order (S3 user guide, "Listing object keys")."""
    with explained(bucket, region):
        for page in client.get_paginator("list_objects_v2").paginate(Bucket=bucket):
            for item in page.get("Contents", []):
                yield (
                    item["Key"],
                    ObjectInfo(item["Size"], item["ETag"].strip('"'), item["LastModified"]),
                )


def inventory(client: Any, bucket: str, region: str) -> dict[str, ObjectInfo]:
    """Every object of ``bucket`` by key."""
    return dict(listed_objects(client, bucket, region))
