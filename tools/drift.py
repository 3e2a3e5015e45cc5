"""Compare the stack's buckets object by object and report, per Region, what is missing or differs.

    ./dev drift --outputs outputs.json [--repair] [--details 20]
    pulumi stack output --json | ./dev drift --outputs -

An object "differs" in a Region when its size or ETag is not that of the newest copy among all
buckets; a Region "misses" it when the key is absent there. ``--repair`` copies the newest copy of
each drifted object to the buckets that lack it or hold another, then checks again. Exit status: 0
when all buckets agree (after repair, if asked), 1 on drift, 2 when a bucket cannot be read
(missing, denied, unreachable) or the input is wrong.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field

from tools.cli import count, run_command
from tools.stack_buckets import (
    ObjectInfo,
    StackBuckets,
    add_bucket_arguments,
    explained,
    inventory,
    stack_buckets,
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


def compare(inventories: dict[str, dict[str, ObjectInfo]]) -> Drift:
    drift = Drift(
        objects={region: len(objects) for region, objects in inventories.items()},
        missing={region: [] for region in inventories},
        differs={region: [] for region in inventories},
    )
    for key in sorted(set().union(*inventories.values())):
        holders = {
            region: objects[key] for region, objects in inventories.items() if key in objects
        }
        # The newest copy is the reference; on a tie, the stack's first Region holding it.
        newest_region = max(holders, key=lambda region: holders[region].last_modified)
        reference = holders[newest_region]
        for region in inventories:
            info = holders.get(region)
            if info is None:
                drift.missing[region].append(key)
            elif (info.size, info.etag) != (reference.size, reference.etag):
                drift.differs[region].append(key)
            else:
                continue
            drift.newest[key] = newest_region
    return drift


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


def repair(stack: StackBuckets, drift: Drift) -> int:
    """Copy the newest copy of each drifted object where it is missing or differs; count them."""
    copies = 0
    for region, bucket in stack.buckets.items():
        client = stack.client(region)
        for key in drift.missing[region] + drift.differs[region]:
            source = stack.buckets[drift.newest[key]]
            with explained(bucket, region):
                # A server-side copy keeps the metadata and Content-Type; objects over 5 GiB are not
                # written by the publish command and would need a multipart copy.
                client.copy_object(
                    Bucket=bucket, Key=key, CopySource={"Bucket": source, "Key": key}
                )
            copies += 1
    return copies


def check(options: argparse.Namespace) -> int:
    stack = stack_buckets(options)

    def read_all() -> Drift:
        return compare(
            {
                region: inventory(stack.client(region), bucket, region)
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
    print(f"repaired: {repair(stack, drift)} objects copied; checking again")
    drift = read_all()
    print(render(stack, drift, options.details))
    print(
        "all buckets agree" if drift.clean else "drift remains (objects changed during the repair?)"
    )
    return 0 if drift.clean else 1


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="./dev drift", description=__doc__.splitlines()[0])
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
    return check(parser.parse_args(argv))


if __name__ == "__main__":
    sys.exit(run_command(main))
