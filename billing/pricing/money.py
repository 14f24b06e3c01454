"""Money and time arithmetic of the pricing module, with its rounding points.

Money is ``Decimal`` in the contract's currency and is rounded once per line,
half-up to the cent (:func:`cents`); a draft's total is the sum of its lines.
Time charged per entry is rounded up to the contract's increment and raised
to its minimum charge (:func:`billed_minutes`). Pro-rated allowances round
half-up to the whole minute."""

import datetime
from decimal import ROUND_HALF_UP, Decimal

CENT = Decimal("0.01")
ZERO = Decimal("0.00")
SIXTY = Decimal(60)


def cents(value: Decimal) -> Decimal:
    """Half-up to the cent: 0.005 → 0.01."""
    return Decimal(value).quantize(CENT, rounding=ROUND_HALF_UP)


def billed_minutes(minutes: int, *, increment: int, minimum: int) -> int:
    """Time charged for one entry's billable minutes: rounded up to the next
    multiple of ``increment``, and never below ``minimum``.

    7 min with 15-min increments and a 30-min minimum → 30; 38 min with
    15-min increments → 45; 45 min → 45."""
    if minutes <= 0:
        return 0
    increment = max(int(increment or 1), 1)
    rounded = -(-minutes // increment) * increment
    return max(rounded, int(minimum or 0))


def time_amount(minutes: int, rate: Decimal) -> Decimal:
    """``minutes`` at an hourly ``rate``, half-up to the cent."""
    return cents(Decimal(minutes) * Decimal(rate) / SIXTY)


def hours(minutes: int) -> Decimal:
    """Minutes as hours, to four places (a line's quantity)."""
    return (Decimal(minutes) / SIXTY).quantize(Decimal("0.0001"), rounding=ROUND_HALF_UP)


def share(value: Decimal, days: int, period_days: int) -> Decimal:
    """``value`` × days / period_days, half-up to the cent (a pro-rated fee)."""
    return cents(Decimal(value) * days / period_days)


def share_minutes(minutes: int, days: int, period_days: int) -> int:
    """Minutes × days / period_days, half-up to the whole minute."""
    return int((Decimal(minutes) * days / period_days).quantize(Decimal(1), ROUND_HALF_UP))


def month_bounds(month: datetime.date) -> tuple[datetime.date, datetime.date]:
    """(first day, first day of the next month) of the month holding ``month``."""
    start = month.replace(day=1)
    return start, (start + datetime.timedelta(days=32)).replace(day=1)
