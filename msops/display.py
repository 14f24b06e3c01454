"""How things read to people, for pages, API payloads and messages alike.

Times: every time a person reads is in the practice's timezone
(``Organization.timezone``), as ``2026-11-26 14:05``; a text that stands on
its own (an email, a flag's detail, a decision's reason) names the zone once:
``2026-11-26 14:05 (Europe/Amsterdam)``. Pages name it once, in the footer
(templates/base.html), and show times through Django's ``|date`` with the
organization's timezone active (msops/tenancy/middleware.py). Texts built in
SQL read the same through :func:`local_time_sql` and :func:`local_date_sql`."""

import datetime

from django.db import connection
from django.utils import timezone

from msops.sql import text_constant
from msops.tenancy.models import Membership, Organization

TIME_FORMAT = "%Y-%m-%d %H:%M"
DATE_FORMAT = "%Y-%m-%d"


def member_name(membership: Membership | None) -> str | None:
    """A member as people read them: their full name, else their username."""
    if membership is None:
        return None
    return membership.user.get_full_name() or membership.user.get_username()


def zone_label(organization: Organization) -> str:
    """How a text names the practice's timezone: `` (Europe/Amsterdam)``."""
    return f" ({organization.timezone})"


def local_time(
    moment: datetime.datetime, organization: Organization, *, with_zone: bool = False
) -> str:
    """``moment`` in the practice's timezone, to the minute: ``2026-11-26 14:05``;
    ``with_zone`` adds the zone's name: ``2026-11-26 14:05 (Europe/Amsterdam)``."""
    text = timezone.localtime(moment, organization.tzinfo).strftime(TIME_FORMAT)
    return text + zone_label(organization) if with_zone else text


def local_date(moment: datetime.datetime, organization: Organization) -> str:
    """The day ``moment`` falls on in the practice's timezone: ``2026-11-26``."""
    return timezone.localtime(moment, organization.tzinfo).strftime(DATE_FORMAT)


def local_date_sql(column: str, organization: Organization) -> tuple[str, list]:
    """SQL for the day the timestamp ``column`` falls on in the practice's
    timezone (what :func:`local_date` says), as a date the database compares
    and subtracts, and concatenates as ``2026-11-26``. SQLite has no time
    zones: Django's own date function there converts (daylight saving time
    included), as for ``TruncDate``."""
    sql, params = connection.ops.datetime_cast_date_sql(column, (), organization.timezone)
    return sql, list(params)


def local_time_sql(
    column: str, organization: Organization, *, with_zone: bool = False
) -> tuple[str, list]:
    """SQL text of the timestamp ``column`` as :func:`local_time` writes it."""
    if connection.vendor == "postgresql":
        sql = f"to_char({column} AT TIME ZONE %s, 'YYYY-MM-DD HH24:MI')"
        params = [organization.timezone]
    else:
        minute, minute_params = connection.ops.datetime_trunc_sql(
            "minute", column, (), organization.timezone
        )
        sql, params = f"SUBSTR({minute}, 1, 16)", list(minute_params)
    if with_zone:
        sql = f"{sql} || '{text_constant(zone_label(organization))}'"
    return sql, params
