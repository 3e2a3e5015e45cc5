"""Prices as data: every price ``./dev plan`` and ``./dev backfill`` use, read and checked in one
place.

Each price file (``tools/*_prices.json``) holds prices by key, each with its unit, the page it was
read from, that page's address, the date it was read and, where no AWS page was found and the figure
comes from someone else's record of it, who relayed it (``secondHand``). ``--prices FILE`` replaces
some of them for one run: a JSON object of keys and dollar amounts.

Every file, shipped or given, is read the same guarded way, so a bad one is one line naming the
file, the key and the value, never a traceback: at most ``MAX_PRICE_FILE_BYTES`` of it is read,
it must be UTF-8 JSON no deeper than Python's parser allows, and a price must be a finite number
of dollars from 0 to ``MAX_PRICE_DOLLARS`` (JSON's ``NaN`` and ``Infinity``, which Python's parser
accepts, are refused, as is a number too large to be a price). Amounts are kept as ``Decimal``, as
written, so that the bill's figures are exact sums of the files' numbers.
"""

from __future__ import annotations

import datetime
import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

TOOLS = Path(__file__).resolve().parent
# Every price file, by what it prices. One home per price: a key is in exactly one file.
PRICE_FILES = (
    TOOLS / "cloudfront_prices.json",
    TOOLS / "edge_prices.json",
    TOOLS / "s3_prices.json",
    TOOLS / "dynamodb_prices.json",
    TOOLS / "lambda_prices.json",
    TOOLS / "monitoring_prices.json",
    TOOLS / "waf_prices.json",
)
# A price file is a few kilobytes; anything past this is not one (and is not read into memory).
MAX_PRICE_FILE_BYTES = 256 * 1024
# No AWS unit price comes near a million dollars; a larger figure is a typo or a test of the parser,
# and would carry the bill's sums past what a float prints.
MAX_PRICE_DOLLARS = Decimal(1_000_000)
_DATE = re.compile(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}\Z")
_ENTRY_KEYS = {"usd", "per", "unit", "source", "url", "read", "secondHand", "note", "tierUpToGb"}
_REQUIRED = {"usd", "unit", "source", "url", "read"}


class PriceError(ValueError):
    """A price file that cannot be used: the message is the one line the person reads."""


class _Constant:
    """A JSON ``NaN``, ``Infinity`` or ``-Infinity``, kept as written so it can be named."""

    def __init__(self, text: str) -> None:
        self.text = text

    def __repr__(self) -> str:
        return self.text


def shown(path: Path) -> str:
    """A path as messages name it: relative to the project when inside it."""
    try:
        return path.resolve().relative_to(TOOLS.parent).as_posix()
    except ValueError:
        return str(path)


def read_json(path: Path, what: str) -> Any:
    """``path``'s JSON, numbers as Decimal, read at most ``MAX_PRICE_FILE_BYTES``; ``what`` starts
    every message ("--prices FILE", or the shipped file's name)."""
    try:
        with path.open("rb") as handle:
            data = handle.read(MAX_PRICE_FILE_BYTES + 1)
    except OSError as error:
        raise PriceError(f"{what}: {error.strerror or error}") from None
    if len(data) > MAX_PRICE_FILE_BYTES:
        raise PriceError(
            f"{what}: larger than {MAX_PRICE_FILE_BYTES // 1024} KB, which no price file is"
        )
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise PriceError(f"{what}: not UTF-8 text") from None
    try:
        return json.loads(text, parse_float=Decimal, parse_int=Decimal, parse_constant=_Constant)
    except RecursionError:
        raise PriceError(f"{what}: nested too deeply to be a price file") from None
    except ValueError as error:
        raise PriceError(f"{what}: not JSON ({error})") from None


def dollars(value: object, where: str) -> Decimal:
    """``value`` as a price: a finite number of dollars from 0 to ``MAX_PRICE_DOLLARS``."""
    if isinstance(value, Decimal) and value.is_finite() and 0 <= value <= MAX_PRICE_DOLLARS:
        return value
    if isinstance(value, Decimal | _Constant):
        written = str(value)
    else:
        written = json.dumps(value) if not isinstance(value, Decimal) else str(value)
    raise PriceError(
        f"{where}: {written} is not a price (a number of dollars from 0 to {MAX_PRICE_DOLLARS:,})"
    )


@dataclass(frozen=True)
class Price:
    """One price: ``usd`` for every ``per`` ``unit`` (0.60 for 1,000,000 requests)."""

    key: str
    usd: Decimal
    per: int
    unit: str
    source: str
    url: str
    read: datetime.date
    file: str
    second_hand: str | None = None
    note: str = ""
    # For a tier of a tiered price: the GB a month up to which it applies (None: all beyond).
    tier_up_to_gb: Decimal | None = None
    # The --prices file that replaced the shipped amount, if one did.
    overridden_by: str | None = None

    @property
    def per_unit(self) -> Decimal:
        """Dollars for one unit."""
        return self.usd / self.per

    def describe(self) -> str:
        """ "$0.60 per 1,000,000 requests", "$0.085 per GB"."""
        amount = (
            f"{self.usd:,.2f}"
            if self.usd == self.usd.quantize(Decimal("0.01"))
            else (f"{self.usd.normalize():,f}")
        )
        per = f"{self.per:,} " if self.per != 1 else ""
        return f"${amount} per {per}{self.unit}"

    def citation(self) -> str:
        """Where the price comes from, as the bill's source list prints it."""
        relayed = f"; second-hand: {self.second_hand}" if self.second_hand else ""
        replaced = f"; replaced by {self.overridden_by}" if self.overridden_by else ""
        return f"{self.source}, {self.url}, read {self.read.isoformat()}{relayed}{replaced}"

    def document(self) -> dict[str, Any]:
        return {
            "usd": float(self.usd),
            "per": self.per,
            "unit": self.unit,
            "source": self.source,
            "url": self.url,
            "read": self.read.isoformat(),
            "secondHand": self.second_hand,
            "file": self.file,
            "overriddenBy": self.overridden_by,
        }


def _text(entry: Mapping[str, Any], field: str, where: str) -> str:
    value = entry.get(field)
    if not isinstance(value, str) or not value.strip():
        raise PriceError(f"{where}: {field} must be text")
    return value


def _date(text: str, where: str) -> datetime.date:
    try:
        if not _DATE.match(text):
            raise ValueError(text)
        return datetime.date.fromisoformat(text)
    except ValueError:
        raise PriceError(f"{where}: {text!r} is not a date (YYYY-MM-DD)") from None


def _whole(value: object, where: str) -> int:
    if (
        isinstance(value, Decimal)
        and value.is_finite()
        and value == value.to_integral_value()
        and 1 <= value <= 10**9
    ):
        return int(value)
    raise PriceError(f"{where}: per must be a whole number from 1 to 1,000,000,000")


def _gigabytes(value: object, where: str) -> Decimal:
    if isinstance(value, Decimal) and value.is_finite() and 0 < value <= 10**12:
        return value
    raise PriceError(f"{where}: {value} is not a number of GB (more than 0, at most 10^12)")


def _price(key: str, entry: object, file: str) -> Price:
    where = f"{file}: {key}"
    if not isinstance(entry, dict):
        raise PriceError(f"{where}: expected an object with {', '.join(sorted(_REQUIRED))}")
    unknown = set(entry) - _ENTRY_KEYS
    missing = _REQUIRED - set(entry)
    if unknown or missing:
        raise PriceError(
            f"{where}: "
            + (f"unknown field(s) {', '.join(sorted(unknown))}" if unknown else "")
            + ("; " if unknown and missing else "")
            + (f"missing {', '.join(sorted(missing))}" if missing else "")
        )
    tier = entry.get("tierUpToGb")
    second_hand = entry.get("secondHand")
    return Price(
        key=key,
        usd=dollars(entry["usd"], where),
        per=_whole(entry.get("per", Decimal(1)), where),
        unit=_text(entry, "unit", where),
        source=_text(entry, "source", where),
        url=_text(entry, "url", where),
        read=_date(_text(entry, "read", where), where),
        file=file,
        second_hand=_text(entry, "secondHand", where) if second_hand is not None else None,
        note=_text(entry, "note", where) if entry.get("note") is not None else "",
        tier_up_to_gb=None if tier is None else _gigabytes(tier, f"{where}: tierUpToGb"),
    )


def read_price_file(path: Path) -> dict[str, Price]:
    """One price file's prices by key."""
    file = shown(path)
    document = read_json(path, file)
    if not isinstance(document, dict) or not isinstance(document.get("prices"), dict):
        raise PriceError(f"{file}: expected an object with 'about' and 'prices'")
    return {key: _price(key, entry, file) for key, entry in document["prices"].items()}


@dataclass(frozen=True)
class PriceBook:
    """Every price by key."""

    prices: Mapping[str, Price]

    def __getitem__(self, key: str) -> Price:
        return self.prices[key]

    def usd(self, key: str) -> Decimal:
        """Dollars for one unit of ``key``'s price (per GB, per request)."""
        return self.prices[key].per_unit

    def oldest(self, keys: Iterable[str] | None = None) -> datetime.date:
        chosen = self.prices.values() if keys is None else [self.prices[k] for k in keys]
        return min(price.read for price in chosen)

    def newest(self, keys: Iterable[str] | None = None) -> datetime.date:
        chosen = self.prices.values() if keys is None else [self.prices[k] for k in keys]
        return max(price.read for price in chosen)

    def tiers(self, prefix: str) -> list[Price]:
        """The tiers of a tiered price (keys starting with ``prefix``), lowest first."""
        found = [price for key, price in self.prices.items() if key.startswith(prefix)]
        bounded = sorted(
            (price for price in found if price.tier_up_to_gb is not None),
            key=lambda price: price.tier_up_to_gb or 0,
        )
        return bounded + [price for price in found if price.tier_up_to_gb is None]


def _read_override(override: Path, known: Mapping[str, Price]) -> dict[str, Decimal]:
    """``--prices FILE``: an object of some price keys and their dollar amounts."""
    what = f"--prices {override}"
    changes = read_json(override, what)
    if not isinstance(changes, dict) or not changes:
        raise PriceError(f"{what}: expected an object of price keys and dollar amounts")
    unknown = sorted(set(changes) - set(known))
    if unknown:
        raise PriceError(
            f"{what}: {', '.join(unknown)} is not a price key; the keys are those of "
            f"tools/*_prices.json ({', '.join(sorted(known))})"
        )
    return {key: dollars(value, f"{what}: {key}") for key, value in changes.items()}


def load_price_book(override: Path | None = None, files: Iterable[Path] = PRICE_FILES) -> PriceBook:
    """Every shipped price, with the amounts ``override`` gives replacing theirs."""
    prices: dict[str, Price] = {}
    for path in files:
        for key, price in read_price_file(path).items():
            if key in prices:
                raise PriceError(f"{price.file}: {key} is also in {prices[key].file}")
            prices[key] = price
    if override is not None:
        for key, usd in _read_override(override, prices).items():
            prices[key] = replace(prices[key], usd=usd, overridden_by=str(override))
    return PriceBook(prices)


def as_dollars(value: Decimal) -> float:
    """Dollars to the cent, as the documents carry them."""
    try:
        return float(value.quantize(Decimal("0.01")))
    except InvalidOperation:  # pragma: no cover - prices are bounded, so sums are too
        return float(value)
