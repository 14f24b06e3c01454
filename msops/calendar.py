"""Calendar arithmetic shared by the layers."""

import datetime


def add_months(day: datetime.date, months: int) -> datetime.date:
    """``day`` moved by whole calendar months (the 31st → the month's last day)."""
    index = day.year * 12 + day.month - 1 + months
    year, month = divmod(index, 12)
    first = datetime.date(year, month + 1, 1)
    last = (first + datetime.timedelta(days=32)).replace(day=1) - datetime.timedelta(days=1)
    return first.replace(day=min(day.day, last.day))
