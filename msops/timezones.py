"""Dates in the practice's own timezone and week: the one place that turns
"now" into the organization's today or current week."""

import datetime

from django.utils import timezone

from msops.tenancy.models import Organization


def organization_date(organization: Organization, moment: datetime.datetime) -> datetime.date:
    """The date ``moment`` falls on in the organization's timezone."""
    return timezone.localtime(moment, organization.tzinfo).date()


def organization_today(
    organization: Organization, *, now: datetime.datetime | None = None
) -> datetime.date:
    """Today (or the day of ``now``) in the organization's timezone."""
    return organization_date(organization, now or timezone.now())


def organization_week_start(
    organization: Organization, now: datetime.datetime | None = None
) -> datetime.date:
    """The first day of the organization's current week, in its timezone."""
    today = organization_today(organization, now=now)
    return today - datetime.timedelta(days=(today.weekday() - organization.week_start) % 7)
