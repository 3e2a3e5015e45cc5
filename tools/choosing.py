"""The facts that decide between the two engines and AWS's native routing, in one table.

``./dev plan --compare`` prints this table beside the money, and the "Choosing" section of
docs/engines.md is generated from it (with the bills of the shipped prod stack at the default
traffic), so the two never disagree: ``tests/tools/test_choosing.py`` checks the page. After a
change here, to the prices, or to anything the bill reads, regenerate the section:

    python -m tools.choosing --write

Every fact cites the AWS page it rests on. Where AWS documents nothing, the fact says so
(``documented=False``) and names the closest source; the timings are computed from the values the
program deploys (``core``), so they follow a change of them.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from dataclasses import dataclass

from core.cloudfront import (
    DEFAULT_CONNECTION_ATTEMPTS,
    DEFAULT_CONNECTION_TIMEOUT_SECONDS,
    DEFAULT_FAILOVER_STATUS_CODES,
    DEFAULT_RESPONSE_COMPLETION_TIMEOUT_SECONDS,
    NO_RESPONSE_COMPLETION_TIMEOUT,
    S3_ORIGIN_RESPONSE_TIMEOUT_SECONDS,
)
from core.evacuation import (
    DEFAULT_EVACUATION_FAILURES,
    DEFAULT_EVACUATION_VANTAGES,
    EVACUATION_PROBE_SECONDS,
    EVACUATION_QUORUM,
    EVACUATION_READ_TIMEOUT_SECONDS,
)
from routing.artifact import DEFAULT_STATE_REFRESH_SECONDS
from routing.catalogue import lambda_edge_execution_regions, load_catalogue
from settings.table import PROJECT_ROOT
from tools.bill import Way

ENGINES_PAGE = PROJECT_ROOT / "docs" / "engines.md"
SECTION_START = "<!-- choosing:start -->"
SECTION_END = "<!-- choosing:end -->"

_FAILOVER_PAGE = (
    '"Optimize high availability with CloudFront origin failover", CloudFront developer guide, '
    "https://docs.aws.amazon.com/AmazonCloudFront/latest/DeveloperGuide/"
    "high_availability_origin_failover.html"
)
_S3_ORIGIN_PAGE = (
    '"Restrict access to an Amazon S3 origin", CloudFront developer guide, '
    "https://docs.aws.amazon.com/AmazonCloudFront/latest/DeveloperGuide/"
    "private-content-restricting-access-to-s3.html"
)
_MRAP_ORIGIN_PAGE = (
    '"Restrict access to an Amazon S3 Multi-Region Access Point origin", CloudFront developer '
    "guide, https://docs.aws.amazon.com/AmazonCloudFront/latest/DeveloperGuide/"
    "private-content-restricting-access-to-s3-mrap.html"
)
_MRAP_ROUTING_PAGES = (
    '"Amazon S3 Multi-Region Access Points routing states" and "Multi-Region Access Point request '
    'routing", S3 user guide, https://docs.aws.amazon.com/AmazonS3/latest/userguide/'
    "FailoverConfiguration.html, https://docs.aws.amazon.com/AmazonS3/latest/userguide/"
    "MultiRegionAccessPointRequestRouting.html"
)
_MRAP_ROUTES_PAGE = (
    '"SubmitMultiRegionAccessPointRoutes", Amazon S3 API reference, '
    "https://docs.aws.amazon.com/AmazonS3/latest/API/API_control_SubmitMultiRegionAccessPointRoutes"
    ".html"
)
_EVACUATION_DOC = "docs/evacuation.md (this project), from core/evacuation.py's values"
_KVS_PAGE = (
    '"Helper methods for key value stores", CloudFront developer guide, '
    "https://docs.aws.amazon.com/AmazonCloudFront/latest/DeveloperGuide/functions-custom-methods.html"
)


@dataclass(frozen=True)
class Fact:
    """What one way does on one point, and the page that says so. ``documented`` False: AWS
    documents nothing on it, and ``source`` is the closest page."""

    text: str
    source: str
    documented: bool = True


@dataclass(frozen=True)
class Aspect:
    question: str
    facts: dict[Way, Fact]


def _regions() -> Aspect:
    catalogue = load_catalogue()
    too_new = [code for code, region in catalogue.items() if not region.supports_oai]
    default = [code for code, region in catalogue.items() if not region.opt_in]
    return Aspect(
        "Which Regions can be origins",
        {
            Way.LAMBDA_EDGE: Fact(
                f"{len(catalogue) - len(too_new)} of the catalogue's {len(catalogue)}: not those "
                f"launched after December 2022 ({', '.join(too_new)}), where an origin access "
                "identity does not work; opt-in Regions once enabled in the account",
                _S3_ORIGIN_PAGE,
            ),
            Way.CLOUDFRONT_FUNCTIONS: Fact(
                f"all {len(catalogue)} (origin access control); opt-in Regions once enabled in "
                "the account",
                _S3_ORIGIN_PAGE,
            ),
            Way.MRAP: Fact(
                f"the {len(default)} Regions enabled by default: 'Requests routed to a bucket in "
                "an opt-in Region will fail'; one bucket per Region, chosen when the access point "
                "is created and never changed",
                _MRAP_ORIGIN_PAGE,
            ),
        },
    )


def _failover() -> Aspect:
    codes = ", ".join(str(code) for code in DEFAULT_FAILOVER_STATUS_CODES)
    per_attempt = DEFAULT_CONNECTION_ATTEMPTS * S3_ORIGIN_RESPONSE_TIMEOUT_SECONDS
    stalled = (
        "a bucket that stalls holds each request up to "
        f"{DEFAULT_CONNECTION_ATTEMPTS} x {S3_ORIGIN_RESPONSE_TIMEOUT_SECONDS} s = {per_attempt} s "
        "first; the response completion timeout (originResponseCompletionTimeout, none by "
        "default) could end that wait sooner, but AWS documents no failover after it (count on "
        "an error for that request), and it also ends any slower download"
        if DEFAULT_RESPONSE_COMPLETION_TIMEOUT_SECONDS == NO_RESPONSE_COMPLETION_TIMEOUT
        else "the response completion timeout (originResponseCompletionTimeout, "
        f"{DEFAULT_RESPONSE_COMPLETION_TIMEOUT_SECONDS} s by default) ends a stalled bucket's "
        f"request after {DEFAULT_RESPONSE_COMPLETION_TIMEOUT_SECONDS} s, every attempt together, "
        "and AWS documents no failover after it (count on an error for that request)"
    )
    triggers = (
        f"on {codes}, a refused connection ({DEFAULT_CONNECTION_ATTEMPTS} attempts x "
        f"{DEFAULT_CONNECTION_TIMEOUT_SECONDS} s) or no answer within "
        f"{S3_ORIGIN_RESPONSE_TIMEOUT_SECONDS} s per attempt (S3 origins' response timeout, "
        "which pulumi-aws cannot set on an S3 origin), CloudFront asks the edge's next-nearest "
        f"bucket for the same request: {stalled}"
    )
    return Aspect(
        "When a bucket errors or stalls, per request",
        {
            Way.LAMBDA_EDGE: Fact(
                f"{triggers} (an origin group; the function runs again for the second bucket)",
                _FAILOVER_PAGE,
            ),
            Way.CLOUDFRONT_FUNCTIONS: Fact(
                f"{triggers} (a group the function makes for each request; not run again)",
                _FAILOVER_PAGE,
            ),
            Way.MRAP: Fact(
                "not documented: the access point sends each request to the closest bucket "
                "with an active routing status and processes it 'as if you made it directly to "
                "that bucket'; redirection is documented for 'traffic disruption' (lost "
                "connectivity), not for a bucket that answers errors or stalls; nor is an origin "
                "group with an access point as an origin",
                _MRAP_ROUTING_PAGES,
                documented=False,
            ),
        },
    )


def evacuation_seconds() -> tuple[int, int]:
    """How soon the evacuator takes out a Region that stalls, with the default settings: the
    failed probes in a row, a tick apart, the last one waiting out its timeouts, and the first
    probe up to a tick after the stall began (every vantage Region probes on the same ticks, on the
    epoch's grid). ``./dev simulate`` measures it under AWS's documented timing (docs/evacuation.md,
    How long it takes)."""
    probe = DEFAULT_CONNECTION_TIMEOUT_SECONDS + EVACUATION_READ_TIMEOUT_SECONDS
    fastest = (DEFAULT_EVACUATION_FAILURES - 1) * EVACUATION_PROBE_SECONDS + probe
    return fastest, fastest + EVACUATION_PROBE_SECONDS


def _taken_out() -> Aspect:
    fastest, slowest = evacuation_seconds()
    checks = (
        f"the evacuator: every origin probed every {EVACUATION_PROBE_SECONDS} s from "
        f"{len(DEFAULT_EVACUATION_VANTAGES)} Regions, out when {EVACUATION_QUORUM} agree after "
        f"{DEFAULT_EVACUATION_FAILURES} failures in a row: {fastest}-{slowest} s after it stalls, "
        "also when a scheduled run starts late (EventBridge Scheduler fires with '60 second "
        "precision', and Lambda may hold an invocation in its queue): each run probes for two "
        "minutes, so the runs overlap"
    )
    return Aspect(
        "How a sick Region is taken out, and how fast",
        {
            Way.LAMBDA_EDGE: Fact(
                f"{checks}, then at each container's next read of the state, due every "
                f"{DEFAULT_STATE_REFRESH_SECONDS:g} s (a container whose read fails routes there "
                "until one succeeds: `./dev simulate` gives the whole under AWS's documented "
                "timing, p50/p99/max, in docs/evacuation.md); by hand (`./dev evacuate`) the "
                "state is written in under a second, then reaches the edges the same way",
                _EVACUATION_DOC,
            ),
            Way.CLOUDFRONT_FUNCTIONS: Fact(
                f"{checks}, then the key value store's propagation to the edges, which AWS does "
                "not document; by hand (`./dev evacuate`) the state is written in under a "
                "second, then propagates the same way",
                _KVS_PAGE,
                documented=False,
            ),
            Way.MRAP: Fact(
                "nothing takes out a Region whose bucket answers errors: someone, or automation "
                "you build, sets its routing status passive with the failover controls, which "
                "'can take up to 2 minutes' to take effect; at least one Region stays active",
                _MRAP_ROUTES_PAGE,
            ),
        },
    )


def _operated() -> Aspect:
    regions = len(lambda_edge_execution_regions())
    return Aspect(
        "What needs operating",
        {
            Way.LAMBDA_EDGE: Fact(
                "a function in us-east-1 whose replicas outlive `pulumi destroy` by hours "
                f"(`./dev cleanup`), its log groups in {regions} Regions, the state table with a "
                f"replica in each of them, the evacuator",
                '"Delete Lambda@Edge functions and replicas", CloudFront developer guide, '
                "https://docs.aws.amazon.com/AmazonCloudFront/latest/DeveloperGuide/"
                "lambda-edge-delete-replicas.html",
            ),
            Way.CLOUDFRONT_FUNCTIONS: Fact(
                "a CloudFront function and its key value store (written with SigV4A and version 2 "
                "session tokens), the state table in the evacuator's Regions, the evacuator",
                '"Restrictions on CloudFront Functions", CloudFront developer guide, '
                "https://docs.aws.amazon.com/AmazonCloudFront/latest/DeveloperGuide/"
                "cloudfront-function-restrictions.html",
            ),
            Way.MRAP: Fact(
                "the access point (a Region added means a new access point and a new origin), its "
                "routing statuses, replication; nothing at the edge. Not deployed by this program: "
                "pulumi-aws 7.51 documents `sigv4` as origin access control's only signing "
                "protocol, and the access point needs `sigv4a`",
                _MRAP_ORIGIN_PAGE,
            ),
        },
    )


def _plans() -> Aspect:
    from tools.flat_rate import load_plans, plans_fitting

    plans = load_plans()

    def fitting(way: Way) -> str:
        names = plans_fitting(way, plans)
        return ", ".join(names) if names else "none"

    def cited(*features: str) -> str:
        return "; ".join(r.citation for r in plans.refusals if r.feature in features)

    # Every source on the plans is second-hand, and on Lambda@Edge they disagree: no fact here is
    # documented on an AWS page read, and the dearer reading (refused) is the one taken.
    return Aspect(
        "Which flat-rate plan it fits (with a web ACL)",
        {
            Way.LAMBDA_EDGE: Fact(
                f"{fitting(Way.LAMBDA_EDGE)}, as far as second-hand sources say, and not "
                "documented on an AWS page read: plans refuse origin access identities (two "
                "sources relay AWS's list) and Lambda@Edge (one source; a later post says "
                "Lambda@Edge was added in March 2026: taken as refused until AWS's page is read)",
                cited("Lambda@Edge", "origin access identity"),
                documented=False,
            ),
            Way.CLOUDFRONT_FUNCTIONS: Fact(
                f"{fitting(Way.CLOUDFRONT_FUNCTIONS)}, if the key value store needs Pro or above "
                "as one public note says (not confirmed on an AWS page); whether per-request "
                "origin groups are allowed is not documented",
                cited("key value store"),
                documented=False,
            ),
            Way.MRAP: Fact(
                f"{fitting(Way.MRAP)}, as far as second-hand sources say: whether an access point "
                "origin is allowed on a plan is not documented",
                plans.citation,
                documented=False,
            ),
        },
    )


def aspects() -> tuple[Aspect, ...]:
    """The comparison's facts, in the order they are shown."""
    return (_regions(), _failover(), _taken_out(), _operated(), _plans())


def _cell(fact: Fact) -> str:
    marker = "" if fact.documented else " *(not documented)*"
    return f"{fact.text}{marker}".replace("|", "&#124;")


def facts_table() -> str:
    """The facts as a Markdown table, one column per way."""
    ways = list(Way)
    rows = [
        "| | "
        + " | ".join(f"`{way.value}`" if way is not Way.MRAP else way.label for way in ways)
        + " |",
        "|---" * (len(ways) + 1) + "|",
    ]
    rows += [
        f"| {aspect.question} | " + " | ".join(_cell(aspect.facts[way]) for way in ways) + " |"
        for aspect in aspects()
    ]
    sources = sorted({aspect.facts[way].source for aspect in aspects() for way in ways})
    return "\n".join([*rows, "", "Sources:", "", *(f"- {source}" for source in sources)]) + "\n"


def cost_table() -> str:
    """The shipped prod stack's bill each way at the default traffic, by group, and the ways in
    order of cost, in words made from the same figures."""
    from tools.plan_bill import UNDOCUMENTED_MARK, default_traffic, ordering, shipped_bills

    traffic = default_traffic()
    bills = shipped_bills("prod", traffic)
    groups = list(dict.fromkeys(line.group for b in bills.values() for line in b.lines))
    ways = list(bills)
    lines = [
        f"The shipped `prod` stack at {traffic.requests:,} requests a month, "
        f"{traffic.hit_ratio:.0%} of them cache hits, {traffic.object_kb:,f} KB objects, "
        f"{traffic.stored_gb:,f} GB stored and {traffic.published_gb:,f} GB published a month, "
        "before free tiers, in USD a month (`./dev plan --stack prod --compare` prints it for "
        "any stack and traffic):",
        "",
        "| | " + " | ".join(way.label for way in ways) + " |",
        "|---" * (len(ways) + 1) + "|",
        *(
            f"| {group.value} | "
            + " | ".join(f"{bills[way].group_total(group):,.2f}" for way in ways)
            + " |"
            for group in groups
        ),
        "| **total** | " + " | ".join(f"**{bills[way].total:,.2f}**" for way in ways) + " |",
    ]
    undocumented = [line for bill in bills.values() for line in bill.undocumented]
    if undocumented:
        lines.append(
            f"| total without {UNDOCUMENTED_MARK} | "
            + " | ".join(f"{bills[way].total_without_undocumented:,.2f}" for way in ways)
            + " |"
        )
        lines += [""] + [
            f"{UNDOCUMENTED_MARK} {line.what}, counted at the highest rate: {line.undocumented}."
            for line in undocumented
        ]
    lines += ["", "In order, " + "; ".join(ordering(bills)) + "."]
    return "\n".join(lines) + "\n"


def choosing_section() -> str:
    """What docs/engines.md holds between its choosing markers."""
    return f"{facts_table()}\n{cost_table()}"


def page_section(page: str) -> str:
    """The text between the markers of ``page``; a ValueError when they are not there once each,
    in order."""
    before, start, rest = page.partition(SECTION_START + "\n")
    section, end, _ = rest.partition(SECTION_END)
    if not start or not end or SECTION_START in rest or SECTION_END in before:
        raise ValueError(f"expected one {SECTION_START} line and, after it, one {SECTION_END}")
    return section


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m tools.choosing",
        description="Print the choosing section of docs/engines.md, or write it there.",
    )
    parser.add_argument("--write", action="store_true", help="rewrite the section in the page")
    if not parser.parse_args(argv).write:
        print(choosing_section(), end="")
        return 0
    page = ENGINES_PAGE.read_text(encoding="utf-8")
    old = page_section(page)
    new = page.replace(
        f"{SECTION_START}\n{old}{SECTION_END}",
        f"{SECTION_START}\n{choosing_section()}{SECTION_END}",
    )
    if new != page:
        ENGINES_PAGE.write_text(new, encoding="utf-8")
        print(f"wrote {ENGINES_PAGE.relative_to(PROJECT_ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
