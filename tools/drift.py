"""Compare the stack's buckets object by object and report, per Region, what is missing or differs.

    ./dev drift --outputs outputs.json [--repair] [--details 20]
    pulumi stack output --json | ./dev drift --outputs -

An object "differs" in a Region when its size or ETag is not that of the newest copy among all
buckets; a Region "misses" it when the key is absent there. ``--repair`` copies the newest copy of
each drifted object to the buckets that lack it or hold another, then checks again. Every bucket is
listed at the same time and compared as the pages arrive (S3 lists keys in ascending order, so a
key is settled once every listing has passed it). Repairs are server-side copies run concurrently
(``--concurrency``) through boto3's managed transfer: one CopyObject up to 5 GiB, a multipart copy
in 8 MiB parts above (the part size publish uploads with, so the copy's ETag matches the
source's). Exit status: 0 when all buckets agree (after repair, if asked), 1 on drift, 2 when a
bucket cannot be read (missing, denied, unreachable) or the input is wrong.
"""

from __future__ import annotations

import argparse
import sys
import threading
from collections.abc import Iterable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from queue import Queue

from boto3.s3.transfer import create_transfer_manager

from tools.cli import CommandParser, ToolError, count, run_command
from tools.stack_buckets import (
    DEFAULT_CONCURRENCY,
    ObjectInfo,
    StackBuckets,
    add_bucket_arguments,
    explained,
    listed_objects,
    run_content_tool,
    stack_buckets,
    transfer_config,
)


@dataclass
class Drift:
    """Per Region, the keys it lacks and the keys it holds in another version than the newest."""

    objects: dict[str, int] = field(default_factory=dict)
    missing: dict[str, list[str]] = field(default_factory=dict)
    differs: dict[str, list[str]] = field(default_factory=dict)
    # Key → the Region holding its newest copy.
    newest: dict[str, str] = field(default_factory=dict)

    @property
    def clean(self) -> bool:
        return not any(self.missing.values()) and not any(self.differs.values())


def compare(listings: Mapping[str, Iterable[tuple[str, ObjectInfo]]]) -> Drift:
    """Compare the buckets key by key as their listings arrive, each in ascending key order (as S3
    lists them): a key is settled as soon as every listing has reached or passed it, so only the
    drifted keys are kept, never a whole inventory."""
    regions = list(listings)
    drift = Drift(
        objects=dict.fromkeys(regions, 0),
        missing={region: [] for region in regions},
        differs={region: [] for region in regions},
    )
    heads: dict[str, tuple[str, ObjectInfo] | None] = {}
    iterators = {region: iter(listing) for region, listing in listings.items()}
    for region in regions:
        heads[region] = next(iterators[region], None)
    while any(head is not None for head in heads.values()):
        key = min(head[0] for head in heads.values() if head is not None)
        holders: dict[str, ObjectInfo] = {}
        for region in regions:
            head = heads[region]
            if head is not None and head[0] == key:
                holders[region] = head[1]
                drift.objects[region] += 1
                following = next(iterators[region], None)
                if following is not None and following[0] <= key:
                    raise ToolError(
                        f"the listing of {region} came out of key order at {following[0]!r}; "
                        "S3 lists keys in ascending order (is the endpoint S3?)"
                    )
                heads[region] = following
        # The newest copy is the reference; on a tie, the stack's first Region holding it.
        newest_region = max(holders, key=lambda region: holders[region].last_modified)
        reference = holders[newest_region]
        for region in regions:
            info = holders.get(region)
            if info is None:
                drift.missing[region].append(key)
            elif (info.size, info.etag) != (reference.size, reference.etag):
                drift.differs[region].append(key)
            else:
                continue
            drift.newest[key] = newest_region
    return drift


def prefetched(items: Iterator[tuple[str, ObjectInfo]]) -> Iterator[tuple[str, ObjectInfo]]:
    """``items`` read ahead on a thread of its own, so every bucket is listed at the same time
    while the comparison consumes them; an error while listing is raised here, in order."""
    queue: Queue[tuple[str, ObjectInfo] | BaseException | None] = Queue(maxsize=5_000)

    def read() -> None:
        try:
            for item in items:
                queue.put(item)
        except BaseException as error:  # noqa: BLE001 - handed to the consumer, which raises it
            queue.put(error)
        else:
            queue.put(None)

    threading.Thread(target=read, daemon=True).start()
    while (item := queue.get()) is not None:
        if isinstance(item, BaseException):
            raise item
        yield item


def render(stack: StackBuckets, drift: Drift, details: int) -> str:
    lines = [f"{'Region':<16}{'bucket':<64}{'objects':>8}{'missing':>9}{'differs':>9}"]
    for region, bucket in stack.buckets.items():
        lines.append(
            f"{region:<16}{bucket:<64}{drift.objects[region]:>8}"
            f"{len(drift.missing[region]):>9}{len(drift.differs[region]):>9}"
        )
    listed = [
        f"  {region:<16}{kind:<8} {key}"
        for region in stack.buckets
        for kind, keys in (("missing", drift.missing[region]), ("differs", drift.differs[region]))
        for key in keys
    ]
    lines.extend(listed[:details])
    if len(listed) > details:
        lines.append(f"  ... and {len(listed) - details} more (--details N shows more)")
    return "\n".join(lines)


# S3's limit for one CopyObject; larger objects are copied in parts.
MAX_SINGLE_COPY_BYTES = 5 * 1024**3


def repair(
    stack: StackBuckets, drift: Drift, concurrency: int = DEFAULT_CONCURRENCY
) -> tuple[int, list[str]]:
    """Copy the newest copy of each drifted object where it is missing or differs, concurrently.
    Returns how many were copied, and one line per copy that failed."""
    clients = {region: stack.client(region) for region in stack.buckets}
    config = transfer_config(concurrency, multipart_threshold=MAX_SINGLE_COPY_BYTES)

    def repair_region(region: str) -> tuple[int, list[str]]:
        bucket = stack.buckets[region]
        keys = drift.missing[region] + drift.differs[region]
        failures = []
        with create_transfer_manager(clients[region], config) as manager:
            futures = [
                manager.copy(
                    {"Bucket": stack.buckets[drift.newest[key]], "Key": key},
                    bucket,
                    key,
                    # A multipart copy reads the source's size and metadata from its own Region.
                    source_client=clients[drift.newest[key]],
                )
                for key in keys
            ]
            for key, future in zip(keys, futures, strict=True):
                try:
                    with explained(bucket, region):
                        future.result()
                except ToolError as error:
                    failures.append(f"{region} {key}: {error}")
        return len(keys) - len(failures), failures

    with ThreadPoolExecutor(len(stack.buckets)) as pool:
        results = list(pool.map(repair_region, stack.buckets))
    return sum(copied for copied, _ in results), [line for _, lines in results for line in lines]


def check(options: argparse.Namespace) -> int:
    stack = stack_buckets(options)

    def read_all() -> Drift:
        # Every bucket is listed at the same time, and compared as the pages arrive.
        return compare(
            {
                region: prefetched(listed_objects(stack.client(region), bucket, region))
                for region, bucket in stack.buckets.items()
            }
        )

    drift = read_all()
    print(render(stack, drift, options.details))
    if drift.clean:
        print("all buckets agree")
        return 0
    if not options.repair:
        print(
            "drift found; --repair copies the newest copy of each object "
            "where it is missing or differs"
        )
        return 1
    copied, failures = repair(stack, drift, options.concurrency)
    for failure in failures:
        print(f"failed: {failure}", file=sys.stderr)
    print(
        f"repaired: {copied} objects copied"
        + (f", {len(failures)} failed" if failures else "")
        + "; checking again"
    )
    drift = read_all()
    print(render(stack, drift, options.details))
    print(
        "all buckets agree" if drift.clean else "drift remains (objects changed during the repair?)"
    )
    return 0 if drift.clean else 1


def main(argv: Sequence[str] | None = None) -> int:
    parser = CommandParser(prog="./dev drift", description=__doc__.splitlines()[0])
    add_bucket_arguments(parser)
    parser.add_argument(
        "--repair",
        action="store_true",
        help="copy the newest copy where an object is missing or differs",
    )
    parser.add_argument(
        "--details",
        type=count,
        default=20,
        metavar="N",
        help="list at most N drifted objects (default 20)",
    )
    return run_content_tool(
        parser, argv, check, concurrency="copies in flight per bucket while repairing"
    )


if __name__ == "__main__":
    sys.exit(run_command(main))
