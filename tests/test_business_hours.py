"""The SLA clock's calendar (msops.business_hours): hand-worked examples
across weekends, holidays and clock changes, and properties on random data."""

import datetime
import zoneinfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from msops.business_hours import ALWAYS, BusinessCalendar, NoOpenTime

LONDON = zoneinfo.ZoneInfo("Europe/London")
NEW_YORK = zoneinfo.ZoneInfo("America/New_York")
UTC = datetime.UTC
H = datetime.timedelta(hours=1)
WEEKDAYS_9_17 = [[["09:00", "17:00"]]] * 5 + [[], []]


def at(zone, *args) -> datetime.datetime:
    return datetime.datetime(*args, tzinfo=zone)


def office(zone=LONDON, **kwargs) -> BusinessCalendar:
    return BusinessCalendar(hours=WEEKDAYS_9_17, time_zone=zone, **kwargs)


# --- hand examples ------------------------------------------------------------
def test_friday_afternoon_plus_two_hours_is_monday_morning():
    clock = office()
    assert clock.add(at(LONDON, 2026, 3, 13, 16, 0), 120) == at(LONDON, 2026, 3, 16, 10, 0)


def test_a_start_outside_hours_counts_from_the_next_opening():
    clock = office()
    assert clock.add(at(LONDON, 2026, 3, 14, 11, 0), 30) == at(LONDON, 2026, 3, 16, 9, 30)
    assert clock.add(at(LONDON, 2026, 3, 16, 7, 0), 60) == at(LONDON, 2026, 3, 16, 10, 0)


def test_an_interval_that_ends_exactly_at_the_due_returns_its_end_not_the_next_day():
    clock = office()
    assert clock.add(at(LONDON, 2026, 3, 16, 9, 0), 480) == at(LONDON, 2026, 3, 16, 17, 0)


def test_a_uk_bank_holiday_is_skipped():
    # Friday 2026-04-03 is Good Friday, Monday 2026-04-06 Easter Monday.
    clock = office(holiday_country="GB", holiday_subdivision="ENG")
    due = clock.add(at(LONDON, 2026, 4, 2, 16, 0), 120)
    assert due == at(LONDON, 2026, 4, 7, 10, 0)
    assert clock.between(at(LONDON, 2026, 4, 2, 16, 0), due) == 2 * H


def test_the_holiday_list_is_read_once_per_year():
    clock = office(holiday_country="GB", holiday_subdivision="ENG")
    clock.add(at(LONDON, 2026, 12, 24, 9, 0), 60 * 40)
    assert set(clock._holidays) >= {2026, 2027}
    names = dict(clock.closed_between(datetime.date(2026, 12, 1), datetime.date(2027, 1, 5)))
    assert datetime.date(2026, 12, 25) in names and datetime.date(2027, 1, 1) in names


def test_a_stored_subdivision_the_package_does_not_know_falls_back_to_the_country(caplog):
    # Codes are case-sensitive ("Augsburg", not "AUGSBURG"): an old row spelled
    # otherwise keeps the country's holidays instead of failing every ticket.
    clock = BusinessCalendar(
        hours=WEEKDAYS_9_17,
        time_zone="Europe/Berlin",
        holiday_country="DE",
        holiday_subdivision="AUGSBURG",
    )
    assert clock.is_closed(datetime.date(2026, 12, 25))
    assert not clock.is_closed(datetime.date(2026, 8, 8))  # Augsburg's own Friedensfest
    assert "AUGSBURG" in caplog.text
    exact = BusinessCalendar(
        hours=WEEKDAYS_9_17,
        time_zone="Europe/Berlin",
        holiday_country="DE",
        holiday_subdivision="Augsburg",
    )
    assert exact.is_closed(datetime.date(2026, 8, 8))


def test_a_country_the_package_does_not_know_skips_no_holidays(caplog):
    clock = office(holiday_country="XX")
    assert not clock.is_closed(datetime.date(2026, 12, 25))
    assert "XX" in caplog.text


def test_an_extra_closed_day_is_skipped():
    clock = office(closed_days=["2026-03-16"])
    assert clock.add(at(LONDON, 2026, 3, 13, 16, 0), 120) == at(LONDON, 2026, 3, 17, 10, 0)


@pytest.mark.parametrize(
    ("zone", "spring", "autumn"),
    [
        (LONDON, datetime.date(2026, 3, 29), datetime.date(2026, 10, 25)),
        (NEW_YORK, datetime.date(2026, 3, 8), datetime.date(2026, 11, 1)),
    ],
)
def test_a_working_day_is_eight_hours_on_the_days_the_clocks_change(zone, spring, autumn):
    every_day = BusinessCalendar(hours=[[["09:00", "17:00"]]] * 7, time_zone=zone)
    for day in (spring, autumn):
        start = datetime.datetime.combine(day, datetime.time(0), tzinfo=zone)
        end = datetime.datetime.combine(
            day + datetime.timedelta(days=1), datetime.time(0), tzinfo=zone
        )
        assert every_day.between(start, end) == 8 * H
        assert every_day.add(start, 8 * 60) == datetime.datetime.combine(
            day, datetime.time(17), tzinfo=zone
        )


@pytest.mark.parametrize(
    ("zone", "friday", "monday", "hours"),
    [
        (LONDON, datetime.date(2026, 3, 27), datetime.date(2026, 3, 30), 23),
        (LONDON, datetime.date(2026, 10, 23), datetime.date(2026, 10, 26), 25),
        (NEW_YORK, datetime.date(2026, 3, 6), datetime.date(2026, 3, 9), 23),
        (NEW_YORK, datetime.date(2026, 10, 30), datetime.date(2026, 11, 2), 25),
    ],
)
def test_a_weekend_across_a_clock_change_still_costs_no_business_time(zone, friday, monday, hours):
    clock = office(zone)
    start = datetime.datetime.combine(friday, datetime.time(16), tzinfo=zone)
    due = clock.add(start, 120)
    assert due == datetime.datetime.combine(monday, datetime.time(10), tzinfo=zone)
    # Wall time differs by the hour the clocks moved; business time does not.
    assert due - start == datetime.timedelta(days=2, hours=18) + (hours - 24) * H
    assert clock.between(start, due) == 2 * H


# 01:00–02:30 and 03:00–05:00 in New York: 02:00–03:00 is skipped on
# 2026-03-08, so 02:30 lands at 03:30 EDT, inside the second interval.
SKIPPED_HOUR_HOURS = [[["01:00", "02:30"], ["03:00", "05:00"]]] * 7


def test_intervals_overlapping_after_a_skipped_hour_are_counted_once():
    clock = BusinessCalendar(hours=SKIPPED_HOUR_HOURS, time_zone=NEW_YORK)
    day_start, day_end = at(NEW_YORK, 2026, 3, 8, 0, 0), at(NEW_YORK, 2026, 3, 8, 6, 0)
    # 01:00 EST to 05:00 EDT is three real hours, all open.
    assert clock.between(day_start, day_end) == 3 * H
    assert clock.day_intervals(datetime.date(2026, 3, 8)) == (
        (
            at(NEW_YORK, 2026, 3, 8, 1, 0).astimezone(UTC),
            at(NEW_YORK, 2026, 3, 8, 5, 0).astimezone(UTC),
        ),
    )
    assert clock.add(day_start, 90) == at(NEW_YORK, 2026, 3, 8, 3, 30)
    assert clock.add(day_start, 100) == at(NEW_YORK, 2026, 3, 8, 3, 40)
    assert clock.add(day_start, 180) == at(NEW_YORK, 2026, 3, 8, 5, 0)


def test_a_round_the_clock_day_on_a_clock_change_is_the_real_length_of_the_day():
    clock = BusinessCalendar(hours=[[["00:00", "24:00"]]] * 7, time_zone=LONDON)
    start = at(LONDON, 2026, 3, 29, 0, 0)
    assert clock.between(start, at(LONDON, 2026, 3, 30, 0, 0)) == 23 * H


def test_pauses_are_not_counted_and_push_the_due():
    clock = office()
    start = at(LONDON, 2026, 3, 16, 9, 0)
    pause = (at(LONDON, 2026, 3, 16, 10, 0), at(LONDON, 2026, 3, 16, 12, 0))
    assert clock.add(start, 120, pauses=[pause]) == at(LONDON, 2026, 3, 16, 13, 0)
    assert clock.between(start, at(LONDON, 2026, 3, 16, 13, 0), pauses=[pause]) == 2 * H


def test_a_pause_after_the_due_changes_nothing():
    clock = office()
    start = at(LONDON, 2026, 3, 16, 9, 0)
    pause = (at(LONDON, 2026, 3, 16, 14, 0), at(LONDON, 2026, 3, 16, 15, 0))
    assert clock.add(start, 120, pauses=[pause]) == at(LONDON, 2026, 3, 16, 11, 0)


def test_an_open_ended_pause_stops_the_clock_for_good():
    clock = office()
    start = at(LONDON, 2026, 3, 16, 9, 0)
    with pytest.raises(NoOpenTime):
        clock.add(start, 120, pauses=[(at(LONDON, 2026, 3, 16, 10, 0), None)])
    assert clock.between(start, at(LONDON, 2026, 3, 20, 0, 0), pauses=[(start + H, None)]) == H


def test_round_the_clock_is_the_wall_clock():
    start = at(UTC, 2026, 3, 13, 16, 0)
    assert ALWAYS.add(start, 120) == start + 2 * H
    assert ALWAYS.between(start, start + 50 * H) == 50 * H
    assert ALWAYS.add(start, 120, pauses=[(start + H, start + 3 * H)]) == start + 4 * H


def test_a_calendar_without_open_time_is_refused():
    with pytest.raises(ValueError, match="open time"):
        BusinessCalendar(hours=[[]] * 7, time_zone=LONDON)


@pytest.mark.parametrize(
    "hours",
    [
        [[["9:00", "17:00"]]] + [[]] * 6,
        [[["17:00", "09:00"]]] + [[]] * 6,
        [[["09:00", "12:00"], ["11:00", "13:00"]]] + [[]] * 6,
        [[["09:00", "24:01"]]] + [[]] * 6,
        [[["09:00", "17:00"]]] * 6,
    ],
)
def test_bad_hours_are_refused(hours):
    with pytest.raises(ValueError):
        BusinessCalendar(hours=hours, time_zone=LONDON)


def test_the_search_for_open_time_gives_up_with_a_clear_error():
    every_day = [
        (datetime.date(2026, 1, 5) + datetime.timedelta(days=n)).isoformat() for n in range(6 * 366)
    ]
    clock = office(closed_days=every_day)
    with pytest.raises(NoOpenTime, match="within 5 years"):
        clock.add(at(LONDON, 2026, 1, 5, 9, 0), 60)


def test_naive_datetimes_are_refused():
    with pytest.raises(ValueError, match="aware"):
        office().add(datetime.datetime(2026, 3, 16, 9), 60)


# --- properties -----------------------------------------------------------------
CALENDARS = [
    office(LONDON, holiday_country="GB", holiday_subdivision="ENG"),
    BusinessCalendar(
        hours=[[["08:00", "12:00"], ["13:00", "17:30"]]] * 5 + [[["10:00", "14:00"]], []],
        time_zone=NEW_YORK,
        holiday_country="US",
    ),
    BusinessCalendar(hours=[[["00:00", "24:00"]]] * 7, time_zone=LONDON),
    ALWAYS,
]
instants = st.datetimes(
    min_value=datetime.datetime(2025, 1, 1), max_value=datetime.datetime(2028, 12, 31)
).map(lambda value: value.replace(tzinfo=UTC))
minutes = st.integers(min_value=0, max_value=60 * 24 * 20)
calendars = st.sampled_from(CALENDARS)


@settings(max_examples=60, deadline=None)
@given(clock=calendars, start=instants, amount=minutes)
def test_between_start_and_add_is_the_minutes_added(clock, start, amount):
    assert clock.between(start, clock.add(start, amount)) == datetime.timedelta(minutes=amount)


@settings(max_examples=60, deadline=None)
@given(clock=calendars, start=instants, first=minutes, second=minutes)
def test_add_is_monotonic_in_minutes(clock, start, first, second):
    low, high = sorted((first, second))
    assert clock.add(start, low) <= clock.add(start, high)


@settings(max_examples=60, deadline=None)
@given(clock=calendars, points=st.lists(instants, min_size=3, max_size=3))
def test_between_adds_up_over_a_split_point(clock, points):
    a, b, c = sorted(points)
    assert clock.between(a, c) == clock.between(a, b) + clock.between(b, c)


@settings(max_examples=60, deadline=None)
@given(clock=calendars, points=st.lists(instants, min_size=2, max_size=2))
def test_between_never_exceeds_the_wall_time(clock, points):
    a, b = sorted(points)
    assert datetime.timedelta(0) <= clock.between(a, b) <= b - a


@settings(max_examples=60, deadline=None)
@given(start=instants, amount=minutes, points=st.lists(instants, min_size=2, max_size=2))
def test_round_the_clock_is_the_wall_clock_on_random_data(start, amount, points):
    a, b = sorted(points)
    assert ALWAYS.add(start, amount) == start + datetime.timedelta(minutes=amount)
    assert ALWAYS.between(a, b) == b - a


@settings(max_examples=40, deadline=None)
@given(
    clock=calendars,
    start=instants,
    amount=minutes,
    pause_at=st.integers(min_value=0, max_value=60 * 24 * 10),
    pause_for=st.integers(min_value=0, max_value=60 * 24 * 5),
)
def test_with_a_pause_between_start_and_add_is_still_the_minutes_added(
    clock, start, amount, pause_at, pause_for
):
    pause_start = start + datetime.timedelta(minutes=pause_at)
    pause = (pause_start, pause_start + datetime.timedelta(minutes=pause_for))
    due = clock.add(start, amount, pauses=[pause])
    assert clock.between(start, due, pauses=[pause]) == datetime.timedelta(minutes=amount)
    assert due >= clock.add(start, amount)


# Calendars whose wall intervals fall in or just after a skipped hour.
SKIPPED_HOUR_CALENDARS = [
    BusinessCalendar(hours=SKIPPED_HOUR_HOURS, time_zone=NEW_YORK),
    BusinessCalendar(hours=[[["02:15", "02:45"], ["02:50", "04:00"]]] * 7, time_zone=NEW_YORK),
    BusinessCalendar(hours=[[["00:30", "01:30"], ["01:45", "03:00"]]] * 7, time_zone=LONDON),
]
around_the_change = st.datetimes(
    min_value=datetime.datetime(2026, 3, 6), max_value=datetime.datetime(2026, 3, 31)
).map(lambda value: value.replace(tzinfo=UTC))
short_minutes = st.integers(min_value=0, max_value=60 * 12)


@settings(max_examples=150, deadline=None)
@given(
    clock=st.sampled_from(SKIPPED_HOUR_CALENDARS),
    start=around_the_change,
    first=short_minutes,
    second=short_minutes,
)
def test_add_is_monotonic_across_a_skipped_hour(clock, start, first, second):
    low, high = sorted((first, second))
    assert clock.add(start, low) <= clock.add(start, high)
    assert clock.between(start, clock.add(start, high)) == datetime.timedelta(minutes=high)
