"""Calendar arithmetic shared by the layers."""

import datetime
import re


def add_months(day: datetime.date, months: int) -> datetime.date:
    """``day`` moved by whole calendar months (the 31st → the month's last day)."""
    index = day.year * 12 + day.month - 1 + months
    year, month = divmod(index, 12)
    first = datetime.date(year, month + 1, 1)
    last = (first + datetime.timedelta(days=32)).replace(day=1) - datetime.timedelta(days=1)
    return first.replace(day=min(day.day, last.day))


# The years a month given in a URL or a request may be in: month arithmetic
# (the month after, a contract period's end) stays inside ``datetime.date``.
FIRST_YEAR, LAST_YEAR = 1900, 9998
_MONTH = re.compile(r"^(\d{4})-(\d{2})(?:-(\d{2}))?$")


def parse_month(value) -> datetime.date | None:
    """``2026-11``, ``2026-11-15`` or a date → the first day of its month;
    None when it is not a month, or its year is outside 1900–9998."""
    if isinstance(value, datetime.datetime):
        value = value.date()
    if isinstance(value, datetime.date):
        month = value.replace(day=1)
    else:
        match = _MONTH.match(str(value or "").strip())
        if not match:
            return None
        year, number, day = (int(g) if g else 1 for g in match.groups())
        try:
            month = datetime.date(year, number, day).replace(day=1)
        except ValueError:
            return None
    return month if FIRST_YEAR <= month.year <= LAST_YEAR else None


def contract_period(kind: str, day: datetime.date) -> tuple[datetime.date, datetime.date]:
    """The contract period (``monthly``, ``quarterly``, ``annual``) holding
    ``day``: its first day and the first day after it."""
    start = day.replace(day=1)
    if kind == "quarterly":
        start = start.replace(month=(start.month - 1) // 3 * 3 + 1)
        return start, add_months(start, 3)
    if kind == "annual":
        start = start.replace(month=1)
        return start, add_months(start, 12)
    return start, add_months(start, 1)


def months_between(first: datetime.date, last: datetime.date) -> list[datetime.date]:
    """The first days of the months from ``first``'s through ``last``'s (in
    either order), both included."""
    lo, hi = sorted((first.replace(day=1), last.replace(day=1)))
    months = []
    while lo <= hi:
        months.append(lo)
        lo = add_months(lo, 1)
    return months


_PERIOD = re.compile(r"^(\d{4})(?:-(?:[Qq]([1-4])|(\d{2})))?$")


def parse_period(value) -> tuple[datetime.date, datetime.date] | None:
    """A reporting period as people type it → its first day and the first day
    after it: ``2026`` (the year), ``2026-Q3`` (the quarter), ``2026-11`` (the
    month). None for anything else, or a year outside 1900–9998."""
    match = _PERIOD.match(str(value or "").strip())
    if not match:
        return None
    year, quarter, month = match.groups()
    year = int(year)
    if not FIRST_YEAR <= year <= LAST_YEAR:
        return None
    if quarter:
        start = datetime.date(year, (int(quarter) - 1) * 3 + 1, 1)
        return start, add_months(start, 3)
    if month:
        if not 1 <= int(month) <= 12:
            return None
        start = datetime.date(year, int(month), 1)
        return start, add_months(start, 1)
    start = datetime.date(year, 1, 1)
    return start, add_months(start, 12)
