"""CloudFront's flat-rate plans against pay-as-you-go, for a stack as configured.

A plan is one price a month per distribution that includes CloudFront's delivery (data transfer
and requests), AWS WAF, CloudFront Functions and an S3 storage credit, with an allowance of
requests and data transfer (``tools/flat_rate_plans.json``, with its sources: all second-hand, and
on some points in conflict). Everything else the stack uses is billed as before; so the cost on a
plan is the plan's price plus the bill's lines a plan does not cover. A plan refuses some features
(origin access identities, and by one source Lambda@Edge): a stack that uses one is not eligible.
Where the sources disagree or are silent, the dearer reading is taken: a disputed refusal still
refuses, an allowance is read in decimal GB (the smaller), and a line whose inclusion is not
documented (key value store reads, Parquet conversion, function logs) stays outside the plan's
price.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

from tools.bill import GB, Bill, Covered, Way
from tools.prices import PriceError, as_dollars, dollars, read_json, shown

PLANS_FILE = Path(__file__).with_name("flat_rate_plans.json")
# The plans' GB, read as decimal (10^9 bytes, the smaller reading: flat_rate_plans.json, "units"),
# in the bill's GB of 2^30 bytes.
PAGE_GB = Decimal(10**9) / GB


def bill_gb(page_gb: Decimal) -> Decimal:
    """A plan's figure in the page's (decimal) GB, in the bill's GB of 2^30 bytes."""
    return page_gb * PAGE_GB


@dataclass(frozen=True)
class Level:
    usd: Decimal
    requests: int
    # As the page gives it (decimal GB); ``transfer_gb`` is the bill's.
    page_transfer_gb: Decimal

    @property
    def transfer_gb(self) -> Decimal:
        return bill_gb(self.page_transfer_gb)


@dataclass(frozen=True)
class Plan:
    name: str
    levels: tuple[Level, ...]
    page_s3_credit_gb: Decimal

    @property
    def s3_credit_gb(self) -> Decimal:
        return bill_gb(self.page_s3_credit_gb)

    def level_for(self, requests: int, transfer_gb: Decimal) -> Level | None:
        """The cheapest level whose allowance covers the traffic; None when none does."""
        for level in self.levels:
            if requests <= level.requests and transfer_gb <= level.transfer_gb:
                return level
        return None


@dataclass(frozen=True)
class Refusal:
    """A feature the named plans refuse. ``blocks`` False: a plan needs a change the plan itself
    pays for (``needs``: a web ACL), so the stack is eligible once it is made. ``disputed``: what
    another source says against the refusal (which still refuses: the dearer reading)."""

    feature: str
    plans: frozenset[str]
    citation: str
    blocks: bool = True
    needs: str = ""
    disputed: str = ""


@dataclass(frozen=True)
class Plans:
    plans: tuple[Plan, ...]
    refusals: tuple[Refusal, ...]
    citation: str
    overage: str
    not_documented: tuple[str, ...]


def _whole(value: object, where: str) -> int:
    if isinstance(value, Decimal) and value == value.to_integral_value() and 0 <= value <= 10**15:
        return int(value)
    raise PriceError(f"{where}: {value} is not a whole number from 0 to 10^15")


def _level(entry: Any, where: str) -> Level:
    if not isinstance(entry, dict):
        raise PriceError(f"{where}: expected an object with usdPerMonth, requests, transferGb")
    try:
        return Level(
            dollars(entry["usdPerMonth"], f"{where}: usdPerMonth"),
            _whole(entry["requests"], f"{where}: requests"),
            Decimal(_whole(entry["transferGb"], f"{where}: transferGb")),
        )
    except KeyError as missing:
        raise PriceError(f"{where}: missing {missing}") from None


def load_plans(path: Path = PLANS_FILE) -> Plans:
    """The flat-rate plans and what they refuse."""
    file = shown(path)
    document = read_json(path, file)
    try:
        plans = tuple(
            Plan(
                name=str(entry["name"]),
                levels=(
                    _level(entry, f"{file}: {entry['name']}"),
                    *(
                        _level(level, f"{file}: {entry['name']} level")
                        for level in entry.get("levels", [])
                    ),
                ),
                page_s3_credit_gb=Decimal(_whole(entry["s3StorageCreditGb"], f"{file}: credit")),
            )
            for entry in document["plans"]
        )
        refusals = tuple(
            Refusal(
                str(entry["feature"]),
                frozenset(entry["plans"]),
                f"{entry['source']} ({entry['url']}, read {entry['read']}; second-hand: "
                f"{entry['secondHand']})",
                bool(entry.get("blocks", True)),
                str(entry.get("needs", "")),
                str(entry.get("disputed", "")),
            )
            for entry in document["refusals"]
        )
        citation = (
            f"{document['source']}, {document['url']}, read {document['read']}; second-hand: "
            f"{document['secondHand']}"
        )
        return Plans(
            plans,
            refusals,
            citation,
            str(document["overage"]),
            tuple(document["notDocumented"]),
        )
    except (KeyError, TypeError, ValueError) as error:
        if isinstance(error, PriceError):
            raise
        raise PriceError(f"{file}: not a plans file ({error!r})") from None


def used_features(way: Way, *, routing_state: bool, web_acl: bool) -> set[str]:
    """What a stack routed ``way`` uses that a plan may refuse (``refusals[].feature``)."""
    used = set()
    if way is Way.LAMBDA_EDGE:
        used |= {"Lambda@Edge", "origin access identity"}
    if way is Way.CLOUDFRONT_FUNCTIONS and routing_state:
        used.add("key value store")
    if not web_acl:
        used.add("no web ACL")
    return used


@dataclass(frozen=True)
class PlanFit:
    """One plan for one way of routing the stack."""

    plan: Plan
    refused: tuple[Refusal, ...]
    level: Level | None
    outside_dollars: Decimal
    pay_as_you_go: Decimal

    @property
    def eligible(self) -> bool:
        return not any(refusal.blocks for refusal in self.refused)

    @property
    def needs(self) -> tuple[str, ...]:
        """What the stack must change first, which the plan pays for (a web ACL)."""
        return tuple(
            refusal.needs or refusal.feature for refusal in self.refused if not refusal.blocks
        )

    @property
    def dollars(self) -> Decimal | None:
        """The month on the plan: its price and what it does not cover; None when the traffic is
        over every allowance (no overage charge, but AWS may throttle)."""
        if self.level is None:
            return None
        return self.level.usd + self.outside_dollars

    def document(self) -> dict[str, Any]:
        return {
            "plan": self.plan.name,
            "eligible": self.eligible,
            "refusedFeatures": [r.feature for r in self.refused if r.blocks],
            "disputedRefusals": {r.feature: r.disputed for r in self.refused if r.disputed},
            "needs": list(self.needs),
            "planDollarsPerMonth": None if self.level is None else as_dollars(self.level.usd),
            "allowance": None
            if self.level is None
            else {
                "requests": self.level.requests,
                "transferGbAsThePageGivesIt": int(self.level.page_transfer_gb),
                "transferGb": float(self.level.transfer_gb),
            },
            "outsideThePlanDollarsPerMonth": as_dollars(self.outside_dollars),
            "onThePlanDollarsPerMonth": None if self.dollars is None else as_dollars(self.dollars),
            "payAsYouGoDollarsPerMonth": as_dollars(self.pay_as_you_go),
        }


def _outside(bill: Bill, plan: Plan) -> Decimal:
    """What a plan leaves to pay: every line it does not cover, and storage past its credit."""
    outside = Decimal(0)
    for line in bill.lines:
        if line.covered is Covered.S3_STORAGE:
            outside += max(Decimal(0), line.quantity - plan.s3_credit_gb) * line.price.per_unit
        elif line.covered is None:
            outside += line.dollars
    return outside


def fits(bill: Bill, plans: Plans) -> list[PlanFit]:
    """Each plan for ``bill``'s stack and way at its traffic."""
    used = used_features(
        bill.way, routing_state=bill.stack.routing_state, web_acl=bill.stack.web_acl is not None
    )
    return [
        PlanFit(
            plan=plan,
            refused=refusals_of(plan, used, plans),
            level=plan.level_for(bill.traffic.requests, bill.traffic.gb_served),
            outside_dollars=_outside(bill, plan),
            pay_as_you_go=bill.total,
        )
        for plan in plans.plans
    ]


def plans_fitting(way: Way, plans: Plans, *, routing_state: bool = True) -> list[str]:
    """The plans a way of routing can be on, once the stack has a web ACL (every plan needs one,
    and includes it)."""
    used = used_features(way, routing_state=routing_state, web_acl=True)
    return [plan.name for plan in plans.plans if not refusals_of(plan, used, plans)]


def refusals_of(plan: Plan, used: set[str], plans: Plans) -> tuple[Refusal, ...]:
    """What ``plan`` refuses of the features ``used``."""
    return tuple(r for r in plans.refusals if r.feature in used and plan.name in r.plans)
