"""The business hours a contract's SLA targets are measured in.

A calendar is versioned, never edited: :func:`sla_calendar_set` adds a
version effective now, and each ticket keeps the version it was opened under
(``Ticket.sla_calendar``), so a change affects only tickets opened after it.
"""

import datetime
import zoneinfo
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from msops.business_hours import parse_week
from msops.tenancy.models import Membership, Organization

from ..models import Contract, SLACalendar, default_business_hours
from .base import Errors, add_error

SLA_CALENDAR_FIELDS = (
    "hours",
    "time_zone",
    "holiday_country",
    "holiday_subdivision",
    "closed_days",
)
CLOSED_DAYS_MAX = 366


def _supported_countries() -> dict[str, list[str]]:
    import holidays  # heavy: only when a calendar is set

    return holidays.list_supported_countries()


def _clean_hours(errors: Errors, hours: Any) -> list[list[list[str]]] | None:
    try:
        week = parse_week(hours)
    except (ValueError, TypeError) as error:
        add_error(errors, "hours", str(error))
        return None
    if not any(week):
        add_error(errors, "hours", "Give some open time in the week.")
        return None
    return [
        [[f"{s // 60:02d}:{s % 60:02d}", f"{e // 60:02d}:{e % 60:02d}"] for s, e in day]
        for day in week
    ]


def _clean_time_zone(errors: Errors, value: Any) -> str:
    value = (value or "").strip() if isinstance(value, str | type(None)) else value
    if not isinstance(value, str):
        add_error(errors, "time_zone", "Give an IANA timezone name, such as Europe/London.")
        return ""
    if value:
        try:
            zoneinfo.ZoneInfo(value)
        except (zoneinfo.ZoneInfoNotFoundError, ValueError):
            add_error(errors, "time_zone", f"“{value[:64]}” is not a known IANA timezone.")
    return value


def _clean_holidays(errors: Errors, country: Any, subdivision: Any) -> tuple[str, str]:
    """The country and subdivision codes as the ``holidays`` package spells
    them (its codes are case-sensitive: DE "Augsburg", FR "Zone A"), matched
    case-insensitively."""
    if not isinstance(country, str | type(None)) or not isinstance(subdivision, str | type(None)):
        add_error(errors, "holiday_country", "Give a country code, such as GB.")
        return "", ""
    country = (country or "").strip()
    subdivision = (subdivision or "").strip()
    if not country:
        if subdivision:
            add_error(errors, "holiday_subdivision", "Choose the country first.")
        return "", ""
    supported = _supported_countries()
    countries = {code.casefold(): code for code in supported}
    if country.casefold() not in countries:
        add_error(errors, "holiday_country", f"“{country[:8]}” has no public holidays we know.")
        return country, subdivision
    country = countries[country.casefold()]
    if subdivision:
        subdivisions = {code.casefold(): code for code in supported[country]}
        if subdivision.casefold() in subdivisions:
            subdivision = subdivisions[subdivision.casefold()]
        else:
            add_error(
                errors,
                "holiday_subdivision",
                f"{country} has no subdivision “{subdivision[:16]}”"
                f" (known: {', '.join(supported[country][:12]) or 'none'}).",
            )
    return country, subdivision


def _clean_closed_days(errors: Errors, value: Any) -> list[str]:
    if value in (None, ""):
        return []
    if not isinstance(value, list | tuple):
        add_error(errors, "closed_days", "Give a list of dates as YYYY-MM-DD.")
        return []
    if len(value) > CLOSED_DAYS_MAX:
        add_error(errors, "closed_days", f"At most {CLOSED_DAYS_MAX} closed days.")
        return []
    days = set()
    for item in value:
        if isinstance(item, datetime.date) and not isinstance(item, datetime.datetime):
            days.add(item)
            continue
        try:
            days.add(datetime.date.fromisoformat(item.strip()))
        except (AttributeError, ValueError):
            add_error(errors, "closed_days", f"“{str(item)[:20]}” is not a date as YYYY-MM-DD.")
    return [day.isoformat() for day in sorted(days)]


def sla_calendar_validate(*, data: dict[str, Any]) -> dict[str, Any]:
    """The calendar's fields, cleaned; ValidationError keyed by field otherwise."""
    errors: Errors = {}
    unknown = sorted(set(data) - set(SLA_CALENDAR_FIELDS))
    for field in unknown:
        add_error(errors, field, "This field cannot be set on a calendar.")
    hours = _clean_hours(
        errors, data["hours"] if data.get("hours") is not None else default_business_hours()
    )
    time_zone = _clean_time_zone(errors, data.get("time_zone", ""))
    country, subdivision = _clean_holidays(
        errors, data.get("holiday_country", ""), data.get("holiday_subdivision", "")
    )
    closed_days = _clean_closed_days(errors, data.get("closed_days", []))
    if errors:
        raise ValidationError(errors)
    return {
        "hours": hours,
        "time_zone": time_zone,
        "holiday_country": country,
        "holiday_subdivision": subdivision,
        "closed_days": closed_days,
    }


@transaction.atomic
def sla_calendar_set(
    *, contract: Contract, data: dict[str, Any], actor: Membership | None
) -> SLACalendar:
    """Give the contract a new calendar version, effective now. Old versions
    stay as they were: tickets opened under them keep them. Without a
    timezone the version stores the practice's zone of now."""
    cleaned = sla_calendar_validate(data=data)
    org_id = contract.organization_id
    if actor is not None and actor.organization_id != org_id:
        raise ValidationError(
            {"actor": "Only a member of this organization can set its calendars."}
        )
    # Serialize versions per contract; a new version starts after the latest.
    Contract.objects.select_for_update().only("pk").get(organization=org_id, pk=contract.pk)
    now = timezone.now()
    latest = (
        SLACalendar.objects.filter(organization=org_id, contract=contract)
        .order_by("-effective_from")
        .values_list("effective_from", flat=True)
        .first()
    )
    if latest is not None and latest >= now:
        now = latest + datetime.timedelta(microseconds=1)
    if not cleaned["time_zone"]:
        # Stored explicitly: a later change of the practice's timezone must
        # not move the clocks of tickets opened under this version.
        cleaned["time_zone"] = Organization.objects.only("timezone").get(pk=org_id).timezone
    return SLACalendar.objects.create(
        organization_id=org_id,
        contract=contract,
        effective_from=now,
        created_by=actor,
        **cleaned,
    )
