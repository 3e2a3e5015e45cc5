"""Numbers a person types (a flag of ``./dev plan``, a price in a ``--prices`` file), bounded in
their digits as well as their value: a number such as ``1e-99999999`` is finite and within any
range that starts at 0, yet written out in full it is 100 million digits, and a bill computed
from it overflows Python's decimal context or takes gigabytes to print. Every such number has at
most ``MAX_DECIMAL_PLACES`` digits after the point and ``MAX_WHOLE_DIGITS`` before it."""

from __future__ import annotations

from decimal import Decimal

# The finest figure any input needs: the smallest shipped unit price, $0.0000166667 (a GB-second
# of Lambda), has ten decimal places.
MAX_DECIMAL_PLACES = 10
# 10^15 requests a month is the largest quantity the plan takes; 16 digits hold it.
MAX_WHOLE_DIGITS = 16
DIGITS_RULE = f"at most {MAX_DECIMAL_PLACES} decimal places"
_FINEST = Decimal(1).scaleb(-MAX_DECIMAL_PLACES)


def has_bounded_digits(value: Decimal) -> bool:
    """Whether ``value`` is finite, with at most ``MAX_WHOLE_DIGITS`` digits before the point and
    ``MAX_DECIMAL_PLACES`` after it (trailing zeros not counted: 1.50000000000 is 1.5).

    The exponent is checked before any arithmetic, so no value, however written, makes the check
    itself overflow or build a long number."""
    if not value.is_finite():
        return False
    if value.is_zero():
        return True
    if not -MAX_DECIMAL_PLACES <= value.adjusted() < MAX_WHOLE_DIGITS:
        return False
    # At most 26 significant digits now, within the default context's 28: quantize is exact.
    return value == value.quantize(_FINEST)


def bounded(value: Decimal) -> Decimal | None:
    """``value`` when ``has_bounded_digits``, a zero as plain 0 (``0e-999999`` would print a
    million zeros); None otherwise."""
    if not has_bounded_digits(value):
        return None
    return Decimal(0) if value.is_zero() else value
