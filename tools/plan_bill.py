"""What ``./dev plan`` says of a stack's bill: the lines with their prices, quantities and sources,
the total each way, what moves it most, the flat-rate plans, and with ``--compare`` the three ways
side by side with the facts that decide between them."""

from __future__ import annotations

import datetime
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from settings.stack_file import settings_from_stack_file
from tools.bill import (
    DEFAULT_LOG_BYTES_PER_REQUEST,
    DEFAULT_OBJECT_KB,
    DEFAULT_PUBLISHED_GB,
    DEFAULT_STORED_GB,
    GB,
    KB,
    Bill,
    Group,
    Stack,
    Traffic,
    Way,
    bills,
    drivers,
    largest_lines,
    not_counted,
)
from tools.choosing import aspects
from tools.cost import (
    DEFAULT_CACHE_HIT_RATIO,
    DEFAULT_LAMBDA_EDGE_BILLED_MS,
    DEFAULT_REQUESTS_PER_MONTH,
    percent,
)
from tools.flat_rate import PlanFit, Plans, fits, load_plans
from tools.prices import Price, PriceBook, as_dollars, load_price_book


def default_traffic(
    requests: int = DEFAULT_REQUESTS_PER_MONTH,
    hit_ratio: Decimal = DEFAULT_CACHE_HIT_RATIO,
    *,
    object_kb: Decimal = DEFAULT_OBJECT_KB,
    gb_served: Decimal | None = None,
    stored_gb: Decimal = DEFAULT_STORED_GB,
    published_gb: Decimal = DEFAULT_PUBLISHED_GB,
    lambda_edge_ms: Decimal = DEFAULT_LAMBDA_EDGE_BILLED_MS,
    log_bytes_per_request: int = DEFAULT_LOG_BYTES_PER_REQUEST,
    lambda_edge_instances: int | None = None,
) -> Traffic:
    """A traffic from ``./dev plan``'s flags; GB served defaults to every request's object."""
    return Traffic(
        requests=requests,
        hit_ratio=hit_ratio,
        object_kb=object_kb,
        gb_served=requests * object_kb * KB / GB if gb_served is None else gb_served,
        stored_gb=stored_gb,
        published_gb=published_gb,
        lambda_edge_ms=lambda_edge_ms,
        log_bytes_per_request=log_bytes_per_request,
        lambda_edge_instances=lambda_edge_instances,
    )


def shipped_bills(stack: str, traffic: Traffic, book: PriceBook | None = None) -> dict[Way, Bill]:
    """The bills each way of a stack file's stack."""
    return bills(Stack.of(settings_from_stack_file(stack)), traffic, book or load_price_book())


class _Sources:
    """The bill's source list: one number per price, in the order the lines cite them."""

    def __init__(self) -> None:
        self.numbers: dict[str, int] = {}
        self.prices: list[Price] = []

    def cite(self, price: Price) -> str:
        if price.key not in self.numbers:
            self.numbers[price.key] = len(self.numbers) + 1
            self.prices.append(price)
        return f"[{self.numbers[price.key]}]" + ("*" if price.second_hand else "")

    def lines(self) -> list[str]:
        return [
            f"  [{self.numbers[price.key]}] {price.key} ({price.file}): {price.citation()}"
            for price in self.prices
        ]


def _quantity(value: Decimal) -> str:
    if value == value.to_integral_value():
        return f"{value:,.0f}"
    return f"{value:,.2f}" if value >= 1 else f"{value:,.4f}"


def traffic_line(traffic: Traffic) -> str:
    return (
        f"{traffic.requests:,} requests, {percent(traffic.hit_ratio)} cache hits "
        f"({_quantity(traffic.misses)} misses), {_quantity(traffic.gb_served)} GB served "
        f"({traffic.object_kb:,f} KB objects), {traffic.stored_gb:,f} GB stored in each bucket, "
        f"{traffic.published_gb:,f} GB published a month"
    )


def age_line(book: PriceBook, keys: list[str], today: datetime.date) -> str:
    oldest, newest = book.oldest(keys), book.newest(keys)
    days = (today - oldest).days
    return (
        f"prices read {oldest.isoformat()} to {newest.isoformat()}, the oldest {days} day(s) "
        "ago, not fetched live; * a price only a second-hand source gives (see its source)"
    )


UNDOCUMENTED_MARK = "†"


def _undocumented_lines(bill: Bill) -> list[str]:
    if not bill.undocumented:
        return []
    return [
        f"{UNDOCUMENTED_MARK} counted although AWS does not document that it applies: "
        + "; ".join(f"{line.what}: {line.undocumented}" for line in bill.undocumented)
        + f". Without it the total is {bill.total_without_undocumented:,.2f}."
    ]


def not_counted_lines(bill: Bill) -> list[str]:
    """What the bill leaves out, and why, as printed under it."""
    return [
        "not counted, and why:",
        *(f"  - {entry}" for entry in not_counted(bill.way, bill.stack)),
    ]


def render_bill(bill: Bill, book: PriceBook, today: datetime.date) -> str:
    """The bill of the stack's own way, line by line."""
    sources = _Sources()
    rows: list[tuple[str, str, str, str, str]] = []
    notes: dict[int, str] = {}
    for group in Group:
        lines = [line for line in bill.lines if line.group is group]
        if not lines:
            continue
        rows.append((f"  {group.value}", "", "", "", ""))
        for line in lines:
            rows.append(
                (
                    f"    {line.what}",
                    _quantity(line.quantity),
                    line.price.describe(),
                    f"{line.dollars:,.2f}",
                    sources.cite(line.price) + (UNDOCUMENTED_MARK if line.undocumented else ""),
                )
            )
            if line.note:
                notes[len(rows) - 1] = line.note
    rows.append(("  total", "", "", f"{bill.total:,.2f}", ""))
    header = ("  what", "quantity", "unit price", "$/month", "source")
    widths = [max(len(row[column]) for row in [header, *rows]) for column in range(5)]
    printed = []
    for index, row in enumerate([header, *rows]):
        printed.append(
            f"{row[0]:<{widths[0]}}  {row[1]:>{widths[1]}}  {row[2]:<{widths[2]}}  "
            f"{row[3]:>{widths[3]}}  {row[4]}".rstrip()
        )
        if index - 1 in notes:
            printed.append(f"{'':6}({notes[index - 1]})")
    return "\n".join(
        [
            f"the bill of stack {bill.stack.name} per month, {bill.way.label} (USD, before free "
            "tiers):",
            f"  at {traffic_line(bill.traffic)}",
            f"  {age_line(book, [line.price.key for line in bill.lines], today)}",
            *printed,
            *_undocumented_lines(bill),
            "sources:",
            *sources.lines(),
            *not_counted_lines(bill),
        ]
    )


def _ranked(all_bills: dict[Way, Bill], total: Callable[[Bill], Decimal]) -> str:
    ranked = sorted(all_bills.items(), key=lambda item: total(item[1]))
    return ", ".join(
        f"{way.label} ${total(bill):,.2f}"
        + (" (cannot serve this stack)" if bill.obstacles else "")
        for way, bill in ranked
    )


def ordering(all_bills: dict[Way, Bill]) -> list[str]:
    """The ways from the cheapest, in words made from their totals; and again without the charges
    AWS does not document as applying, when any way has one (the order may change)."""
    sentences = [f"cheapest first: {_ranked(all_bills, lambda bill: bill.total)}"]
    undocumented = [line.what for bill in all_bills.values() for line in bill.undocumented]
    if undocumented:
        sentences.append(
            f"without {', '.join(undocumented)} (not documented to apply): "
            + _ranked(all_bills, lambda bill: bill.total_without_undocumented)
        )
    return sentences


def _total_text(bill: Bill) -> str:
    if not bill.undocumented:
        return f"{bill.total:>14,.2f}"
    return (
        f"{bill.total:>14,.2f}{UNDOCUMENTED_MARK} ({bill.total_without_undocumented:,.2f} without "
        f"{', '.join(line.what for line in bill.undocumented)})"
    )


def render_totals(all_bills: dict[Way, Bill], own: Way, book: PriceBook) -> str:
    """The total each way, what moves the stack's own the most, and the one-off of a Region."""
    own_bill = all_bills[own]
    totals = [
        f"  {way.label:<42} {_total_text(bill)}"
        + ("  <- this stack" if way is own else "")
        + (f"  (cannot serve this stack: {'; '.join(bill.obstacles)})" if bill.obstacles else "")
        for way, bill in all_bills.items()
    ]
    moved = drivers(own, own_bill.stack, own_bill.traffic, book)
    share = [
        f"{line.what} {line.dollars / own_bill.total:.0%}"
        for line in largest_lines(own_bill)
        if own_bill.total
    ]
    one_off = sum((line.dollars for line in own_bill.one_off), Decimal(0))
    return "\n".join(
        [
            "the total each way (USD a month, same stack and traffic; `--compare` for the detail; "
            f"{UNDOCUMENTED_MARK} counts a charge AWS does not document as applying):",
            *totals,
            *ordering(all_bills),
            "what changes the total most (each input 10% higher): "
            + ", ".join(f"{driver.what} +${driver.dollars:,.2f}" for driver in moved),
            "its largest lines: " + ", ".join(share),
            f"once, to add a Region filled by S3 Batch Replication (`./dev backfill`): "
            f"${one_off:,.2f} (jobs, their manifests, objects, replica PUTs and transfer of "
            f"{own_bill.traffic.stored_gb:,f} GB)",
        ]
    )


def _fit_text(fit: PlanFit) -> str:
    base = fit.plan.levels[0]
    name = (
        f"{fit.plan.name} (${base.usd:,.0f} for {base.requests:,} requests and "
        f"{base.page_transfer_gb:,.0f} GB, {fit.plan.page_s3_credit_gb:,.0f} GB of S3 storage)"
    )
    if not fit.eligible:
        refused = ", ".join(
            refusal.feature + (" (sources disagree; taken as refused)" if refusal.disputed else "")
            for refusal in fit.refused
            if refusal.blocks
        )
        return f"{name}: not eligible ({refused})"
    if fit.needs:
        name += ", once webAcl is set (every plan needs a web ACL and includes it)"
    if fit.level is None:
        return (
            f"{name}: the traffic is over every allowance (no figure: one source says no overage "
            "charge, AWS may throttle; another, overage at pay-as-you-go rates)"
        )
    assert fit.dollars is not None
    level = (
        ""
        if fit.level is base
        else f" at its ${fit.level.usd:,.0f} level ({fit.level.requests:,} requests)"
    )
    return (
        f"{name}: ${fit.level.usd:,.2f}{level} + ${fit.outside_dollars:,.2f} outside it = "
        f"${fit.dollars:,.2f}, against ${fit.pay_as_you_go:,.2f} pay-as-you-go"
    )


def render_plans(bill: Bill, plans: Plans) -> str:
    found = fits(bill, plans)
    configured = bill.way is Way.of(bill.stack.engine)
    disputes = {r.feature: r.disputed for fit in found for r in fit.refused if r.disputed}
    return "\n".join(
        [
            (
                f"flat-rate plans for this stack as configured ({bill.way.label}; USD a month; "
                "from second-hand sources):"
                if configured
                else f"flat-rate plans if this stack were routed {bill.way.label} (USD a month; "
                "from second-hand sources):"
            ),
            *(f"  {_fit_text(fit)}" for fit in found),
            *(f"  {feature}: {text}" for feature, text in disputes.items()),
            "  (allowances and credits as the sources give them, in decimal GB, the smaller "
            "reading; a plan includes delivery, AWS WAF, CloudFront Functions and an S3 credit; "
            f"the rest is billed as above. Source: {plans.citation})",
        ]
    )


def render_compare(all_bills: dict[Way, Bill], plans: Plans) -> str:
    """The three ways side by side: money by group, then the facts, then the plans."""
    ways = list(all_bills)
    groups = list(dict.fromkeys(line.group for b in all_bills.values() for line in b.lines))
    width = max(len(way.label) for way in ways)
    lines = [
        "side by side (USD a month, same stack and traffic; the access point's column keeps the "
        "stack's buckets, replication, web ACL, logs and monitoring but the routing function's "
        "alarms, and has no routing state or evacuator):",
        f"  {'':24}" + "".join(f"{way.label:>{width + 2}}" for way in ways),
        *(
            f"  {group.value:<24}"
            + "".join(f"{all_bills[way].group_total(group):>{width + 2},.2f}" for way in ways)
            for group in groups
        ),
        f"  {'total':<24}" + "".join(f"{all_bills[way].total:>{width + 2},.2f}" for way in ways),
    ]
    if any(bill.undocumented for bill in all_bills.values()):
        lines.append(
            f"  {'total without ' + UNDOCUMENTED_MARK:<24}"
            + "".join(
                f"{all_bills[way].total_without_undocumented:>{width + 2},.2f}" for way in ways
            )
        )
        lines += [
            f"  {UNDOCUMENTED_MARK} {line.what}: {line.undocumented}"
            for bill in all_bills.values()
            for line in bill.undocumented
        ]
    lines += [f"  {sentence}" for sentence in ordering(all_bills)]
    for way in ways:
        if all_bills[way].obstacles:
            lines.append(
                f"  {way.label} cannot serve this stack: {'; '.join(all_bills[way].obstacles)}"
            )
    lines.append("not counted in the other columns (beside what the bill above lists):")
    own = {
        entry
        for bill in all_bills.values()
        if bill.way is Way.of(bill.stack.engine)
        for entry in not_counted(bill.way, bill.stack)
    }
    for way in ways:
        extra = [entry for entry in not_counted(way, all_bills[way].stack) if entry not in own]
        lines += [f"  {way.label}: {entry}" for entry in extra]
    lines.append("what decides beside the money:")
    for aspect in aspects():
        lines.append(f"  {aspect.question}:")
        for way in ways:
            fact = aspect.facts[way]
            flag = " (not documented; closest: " if not fact.documented else " ("
            lines.append(f"    {way.label}: {fact.text}{flag}{fact.source})")
    for way in ways:
        lines += ["", render_plans(all_bills[way], plans)]
    lines += [
        "",
        f"over a plan's allowance: {plans.overage}",
        "what no page found says of the plans: " + "; ".join(plans.not_documented),
    ]
    return "\n".join(lines)


@dataclass(frozen=True)
class BillReport:
    """What ``./dev plan`` prints and ``--json`` carries of the bills."""

    own: Way
    bills: dict[Way, Bill]
    book: PriceBook
    plans: Plans
    today: datetime.date

    def document(self) -> dict[str, Any]:
        own = self.bills[self.own]
        used = sorted({line.price.key for bill in self.bills.values() for line in bill.lines})
        moved = drivers(self.own, own.stack, own.traffic, self.book)
        return {
            "stack": own.stack.name,
            "way": self.own.value,
            "traffic": own.traffic.document(),
            "lines": [line.document() for line in own.lines],
            "totalDollarsPerMonth": as_dollars(own.total),
            "byWay": {way.value: bill.document() for way, bill in self.bills.items()},
            "drivers": [
                {"input": driver.what, "dollarsPerMonthAt10PercentMore": as_dollars(driver.dollars)}
                for driver in moved
            ],
            "oneOffAddingARegion": as_dollars(
                sum((line.dollars for line in own.one_off), Decimal(0))
            ),
            "flatRatePlans": {
                way.value: [fit.document() for fit in fits(bill, self.plans)]
                for way, bill in self.bills.items()
            },
            "flatRatePlansNotDocumented": list(self.plans.not_documented),
            "facts": [
                {
                    "question": aspect.question,
                    "byWay": {
                        way.value: {
                            "text": fact.text,
                            "source": fact.source,
                            "documented": fact.documented,
                        }
                        for way, fact in aspect.facts.items()
                    },
                }
                for aspect in aspects()
            ],
            "prices": {key: self.book[key].document() for key in used},
            "pricesOldest": self.book.oldest(used).isoformat(),
            "pricesAgeDays": (self.today - self.book.oldest(used)).days,
        }


def bill_report(
    stack: Stack, traffic: Traffic, book: PriceBook, today: datetime.date
) -> BillReport:
    return BillReport(Way.of(stack.engine), bills(stack, traffic, book), book, load_plans(), today)
