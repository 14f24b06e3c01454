"""Business hours: the clock an SLA runs on.

A :class:`BusinessCalendar` is a week of local open intervals (Monday first,
``"HH:MM"`` to ``"HH:MM"``, ``"24:00"`` ends a day) in a timezone, less the
public holidays of a country (the ``holidays`` package, read once per year)
and extra closed days. It answers two questions, both optionally skipping
paused stretches:

- :meth:`BusinessCalendar.add`: the instant at which ``minutes`` of open time
  have elapsed after ``start`` (``start`` may be outside hours);
- :meth:`BusinessCalendar.between`: the open time in ``[a, b)``.

Each day's intervals are built as aware local datetimes (``zoneinfo``) and
converted to UTC, so a 09:00–17:00 day is 8 h on the days the clocks change
too. Arithmetic is in ``timedelta`` (microseconds, exact), never floats.
:data:`ALWAYS` is the round-the-clock calendar: ``add`` is ``start +
minutes`` and ``between`` is ``b - a``, as SLAs behaved before calendars.

Pure Python: no Django models; ``msops`` helpers import no app.
"""

import datetime
import itertools
import logging
import re
import zoneinfo
from collections.abc import Iterable, Sequence
from functools import cached_property

logger = logging.getLogger(__name__)

UTC = datetime.UTC
DAY = datetime.timedelta(days=1)
ZERO = datetime.timedelta(0)
MINUTE = datetime.timedelta(minutes=1)
SEARCH_LIMIT_DAYS = 5 * 366  # add() looks this far ahead for open time
BETWEEN_LIMIT_DAYS = 50 * 366  # between() refuses longer spans
FOREVER = datetime.datetime.max.replace(tzinfo=UTC)
WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
_HHMM = re.compile(r"^([01]\d|2[0-4]):([0-5]\d)$")

Pause = tuple[datetime.datetime, datetime.datetime | None]  # end None: still paused


class NoOpenTime(ValueError):
    """No open time where some was needed (within the search limit)."""


def parse_hhmm(value: str) -> int:
    """Minutes after midnight of ``"HH:MM"`` (``"24:00"`` is 1440); ValueError otherwise."""
    match = _HHMM.match(value) if isinstance(value, str) else None
    if match is None:
        raise ValueError(f"{value!r} is not a time as HH:MM.")
    minutes = int(match[1]) * 60 + int(match[2])
    if minutes > 24 * 60:
        raise ValueError(f"{value!r} is past 24:00.")
    return minutes


def parse_week(hours: Sequence[Sequence[Sequence[str]]]) -> tuple[tuple[tuple[int, int], ...], ...]:
    """Seven days of ``[["HH:MM", "HH:MM"], ...]`` as sorted (start, end)
    minutes; ValueError on a bad time, an empty or reversed interval, or
    overlapping intervals within a day."""
    if not isinstance(hours, list | tuple) or len(hours) != 7:
        raise ValueError("Give the hours of seven days, Monday first.")
    week = []
    for name, day in zip(WEEKDAYS, hours, strict=True):
        if not isinstance(day, list | tuple):
            raise ValueError(f"{name}: give a list of intervals.")
        intervals = []
        for interval in day:
            if not isinstance(interval, list | tuple) or len(interval) != 2:
                raise ValueError(f"{name}: each interval is a start and an end.")
            try:
                start, end = parse_hhmm(interval[0]), parse_hhmm(interval[1])
            except ValueError as error:
                raise ValueError(f"{name}: {error}") from None
            if start >= end:
                raise ValueError(f"{name}: {interval[0]}–{interval[1]} must start before it ends.")
            intervals.append((start, end))
        intervals.sort()
        for (_, end), (start, _) in itertools.pairwise(intervals):
            if start < end:
                raise ValueError(f"{name}: intervals overlap.")
        week.append(tuple(intervals))
    return tuple(week)


def _merge_pauses(pauses: Iterable[Pause]) -> list[tuple[datetime.datetime, datetime.datetime]]:
    spans = sorted((start, end or FOREVER) for start, end in pauses if end is None or end > start)
    merged: list[list[datetime.datetime]] = []
    for start, end in spans:
        if merged and start <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], end)
        else:
            merged.append([start, end])
    return [(start, end) for start, end in merged]


def _minus_pauses(start, end, pauses):
    """The parts of [start, end) outside the (merged, sorted) pauses."""
    for pause_start, pause_end in pauses:
        if pause_end <= start:
            continue
        if pause_start >= end:
            break
        if pause_start > start:
            yield start, pause_start
        start = max(start, pause_end)
        if start >= end:
            return
    if start < end:
        yield start, end


def _as_delta(minutes: int | datetime.timedelta) -> datetime.timedelta:
    delta = (
        minutes if isinstance(minutes, datetime.timedelta) else datetime.timedelta(minutes=minutes)
    )
    if delta < ZERO:
        raise ValueError("Minutes can't be negative.")
    return delta


def _aware(value: datetime.datetime, what: str) -> datetime.datetime:
    if value.tzinfo is None:
        raise ValueError(f"{what} needs a timezone (an aware datetime).")
    return value


def _country_holidays(country: str, subdivision: str, year: int) -> dict[datetime.date, str]:
    """The ``holidays`` package's holidays of a country (and subdivision) in
    a year. A stored code the package does not know (renamed, or mis-spelled:
    codes are case-sensitive) falls back to the country's own holidays, then
    to none, with a warning, rather than failing every ticket of a contract."""
    import holidays  # heavy: only when a calendar names a country

    if subdivision:
        try:
            return dict(holidays.country_holidays(country, subdiv=subdivision, years=year))
        except NotImplementedError:
            logger.warning(
                "Holidays of %r have no subdivision %r: using the country's holidays.",
                country,
                subdivision,
            )
    try:
        return dict(holidays.country_holidays(country, years=year))
    except NotImplementedError:
        logger.warning("No public holidays known for %r: none are skipped.", country)
        return {}


class BusinessCalendar:
    """Open hours of a week in a timezone, less holidays and closed days."""

    always = False

    def __init__(
        self,
        *,
        hours: Sequence[Sequence[Sequence[str]]],
        time_zone: zoneinfo.ZoneInfo | str,
        holiday_country: str = "",
        holiday_subdivision: str = "",
        closed_days: Iterable[datetime.date | str] = (),
    ):
        self.week = parse_week(hours)
        if not any(self.week):
            raise ValueError("A business calendar needs some open time in the week.")
        self.tz = (
            time_zone if isinstance(time_zone, zoneinfo.ZoneInfo) else zoneinfo.ZoneInfo(time_zone)
        )
        self.holiday_country = holiday_country or ""
        self.holiday_subdivision = holiday_subdivision or ""
        self.closed_days = frozenset(
            day if isinstance(day, datetime.date) else datetime.date.fromisoformat(day)
            for day in closed_days
        )
        self._holidays: dict[int, dict[datetime.date, str]] = {}
        self._days: dict[
            datetime.date, tuple[tuple[datetime.datetime, datetime.datetime], ...]
        ] = {}

    # --- days -----------------------------------------------------------------
    def holidays_of(self, year: int) -> dict[datetime.date, str]:
        """The public holidays of ``year`` (read once per year)."""
        if year not in self._holidays:
            found: dict[datetime.date, str] = {}
            if self.holiday_country:
                found = _country_holidays(self.holiday_country, self.holiday_subdivision, year)
            self._holidays[year] = found
        return self._holidays[year]

    def is_closed(self, day: datetime.date) -> bool:
        return day in self.closed_days or day in self.holidays_of(day.year)

    def closed_between(
        self, start: datetime.date, end: datetime.date
    ) -> list[tuple[datetime.date, str]]:
        """Holidays and closed days in [start, end), oldest first, with names."""
        found: dict[datetime.date, str] = {}
        for year in range(start.year, end.year + 1):
            for day, name in self.holidays_of(year).items():
                if start <= day < end:
                    found[day] = name
        for day in self.closed_days:
            if start <= day < end:
                found.setdefault(day, "Closed")
        return sorted(found.items())

    def day_intervals(
        self, day: datetime.date
    ) -> tuple[tuple[datetime.datetime, datetime.datetime], ...]:
        """The open intervals of a local date, as UTC datetimes."""
        cached = self._days.get(day)
        if cached is not None:
            return cached
        intervals: list[list[datetime.datetime]] = []
        if not self.is_closed(day):
            midnight = datetime.datetime.combine(day, datetime.time(0))
            converted = sorted(
                (self._local(midnight, start), self._local(midnight, end))
                for start, end in self.week[day.weekday()]
            )
            # A wall time in a skipped hour (spring forward) lands an hour
            # later, so converted intervals can be empty or overlap: drop the
            # empty ones and merge overlapping or touching ones.
            for start_utc, end_utc in converted:
                if end_utc <= start_utc:
                    continue
                if intervals and start_utc <= intervals[-1][1]:
                    intervals[-1][1] = max(intervals[-1][1], end_utc)
                else:
                    intervals.append([start_utc, end_utc])
        result = tuple((start, end) for start, end in intervals)
        if len(self._days) > 4000:
            self._days.clear()
        self._days[day] = result
        return result

    def _local(self, midnight: datetime.datetime, minutes: int) -> datetime.datetime:
        # A wall time of the day (24:00 is the next midnight), in the zone, as UTC.
        if minutes == 24 * 60:
            wall = midnight + DAY
        else:
            wall = midnight.replace(hour=minutes // 60, minute=minutes % 60)
        return wall.replace(tzinfo=self.tz).astimezone(UTC)

    def _local_date(self, value: datetime.datetime) -> datetime.date:
        return value.astimezone(self.tz).date()

    # --- the two questions ------------------------------------------------------
    def add(
        self,
        start: datetime.datetime,
        minutes: int | datetime.timedelta,
        *,
        pauses: Iterable[Pause] = (),
    ) -> datetime.datetime:
        """The instant when ``minutes`` of open time (outside pauses) have
        elapsed after ``start``. Zero minutes is ``start`` itself."""
        start = _aware(start, "start").astimezone(UTC)
        remaining = _as_delta(minutes)
        if not remaining:
            return start
        merged = _merge_pauses(pauses)
        day = self._local_date(start) - DAY  # a day back: nothing can be missed
        for _ in range(SEARCH_LIMIT_DAYS):
            for open_start, open_end in self.day_intervals(day):
                if open_end <= start:
                    continue
                for seg_start, seg_end in _minus_pauses(max(open_start, start), open_end, merged):
                    length = seg_end - seg_start
                    if length >= remaining:
                        return seg_start + remaining
                    remaining -= length
            day += DAY
            if (
                merged
                and merged[-1][1] == FOREVER
                and self._local(datetime.datetime.combine(day, datetime.time(0)), 0)
                >= merged[-1][0]
            ):
                raise NoOpenTime("The clock is paused with no end: no open time follows.")
        raise NoOpenTime(
            f"No {remaining} of open time within {SEARCH_LIMIT_DAYS // 366} years after {start:%Y-%m-%d}."
        )

    def between(
        self, a: datetime.datetime, b: datetime.datetime, *, pauses: Iterable[Pause] = ()
    ) -> datetime.timedelta:
        """Open time (outside pauses) in [a, b); zero if ``b <= a``."""
        a = _aware(a, "a").astimezone(UTC)
        b = _aware(b, "b").astimezone(UTC)
        if b <= a:
            return ZERO
        if b - a > BETWEEN_LIMIT_DAYS * DAY:
            raise ValueError(
                f"Spans longer than {BETWEEN_LIMIT_DAYS // 366} years aren't measured."
            )
        merged = _merge_pauses(pauses)
        total = ZERO
        day, last = self._local_date(a) - DAY, self._local_date(b)
        while day <= last:
            for open_start, open_end in self.day_intervals(day):
                lo, hi = max(open_start, a), min(open_end, b)
                if lo < hi:
                    for seg_start, seg_end in _minus_pauses(lo, hi, merged):
                        total += seg_end - seg_start
            day += DAY
        return total

    def minutes_between(
        self, a: datetime.datetime, b: datetime.datetime, *, pauses: Iterable[Pause] = ()
    ) -> int:
        """:meth:`between` in whole minutes (rounded down)."""
        return self.between(a, b, pauses=pauses) // MINUTE

    @cached_property
    def description(self) -> str:
        return f"business hours ({self.tz.key})"


class _RoundTheClock(BusinessCalendar):
    """Every instant is open: the SLA clock is the wall clock."""

    always = True

    def __init__(self):
        self.week = tuple(((0, 24 * 60),) for _ in range(7))
        self.tz = zoneinfo.ZoneInfo("UTC")
        self.holiday_country = self.holiday_subdivision = ""
        self.closed_days = frozenset()
        self._holidays = {}
        self._days = {}

    def is_closed(self, day: datetime.date) -> bool:
        return False

    def add(self, start, minutes, *, pauses=()):
        start = _aware(start, "start")
        remaining = _as_delta(minutes)
        merged = _merge_pauses(pauses)
        if not merged:
            return start + remaining
        return super().add(start, remaining, pauses=merged)

    def between(self, a, b, *, pauses=()):
        a, b = _aware(a, "a"), _aware(b, "b")
        if b <= a:
            return ZERO
        total = b - a
        for pause_start, pause_end in _merge_pauses(pauses):
            lo, hi = max(pause_start, a), min(pause_end, b)
            if lo < hi:
                total -= hi - lo
        return total

    @cached_property
    def description(self) -> str:
        return "round the clock"


ALWAYS: BusinessCalendar = _RoundTheClock()
