"""Digests: one email per account manager (their pending scope checks and
open flags) and per finance member (blocking exceptions of the open period).
A DigestSent row per recipient, kind and period makes re-runs send nothing."""

import datetime

from django.db import IntegrityError, transaction
from django.db.models import Count, Q
from django.utils import timezone

from msops.mail import notify
from msops.tenancy.models import Membership, Organization, Role
from msops.timezones import organization_today, organization_week_start
from tickets.models import TimeEntry

from ..models import DigestSent, ExceptionFlag, ScopeCheck

BLOCKING_STATUSES = (
    TimeEntry.BillingStatus.UNDECIDED,
    TimeEntry.BillingStatus.UNCLEAR,
    TimeEntry.BillingStatus.PENDING_APPROVAL,
)


def _claim(*, membership: Membership, kind: str, period_key: str, summary: str) -> bool:
    """Record the digest as sent; False if it already was (re-run)."""
    try:
        with transaction.atomic():
            DigestSent.objects.create(
                organization_id=membership.organization_id,
                membership=membership,
                kind=kind,
                period_key=period_key,
                summary=summary[:300],
            )
    except IntegrityError:
        return False
    return True


def digests_send(*, organization: Organization, now: datetime.datetime | None = None) -> int:
    """Send this week's account-manager digests and this month's finance
    digests that have not been sent. Returns how many were sent."""
    now = now or timezone.now()
    week = organization_week_start(organization, now)
    sent = 0
    members = Membership.objects.filter(organization=organization).select_related("user")
    checks = (
        ScopeCheck.objects.filter(organization=organization, status__in=ScopeCheck.OPEN_STATUSES)
        .values("account_manager")
        .annotate(n=Count("pk"))
    )
    checks_by_am = {row["account_manager"]: row["n"] for row in checks}
    flags = (
        ExceptionFlag.objects.filter(organization=organization, status=ExceptionFlag.Status.OPEN)
        .values("owner")
        .annotate(n=Count("pk"))
    )
    flags_by_owner = {row["owner"]: row["n"] for row in flags}
    for member in members:
        if member.role != Role.ACCOUNT_MANAGER or not member.user.email:
            continue
        n_checks, n_flags = checks_by_am.get(member.pk, 0), flags_by_owner.get(member.pk, 0)
        if not (n_checks or n_flags):
            continue
        summary = f"{n_checks} scope checks waiting for you, {n_flags} open flags you own"
        with transaction.atomic():
            if _claim(
                membership=member,
                kind=DigestSent.Kind.ACCOUNT_MANAGER,
                period_key=f"{week:%Y-%m-%d}",
                summary=summary,
            ):
                notify(
                    to=[member.user.email],
                    subject=f"[{organization.name}] Your week: {summary}",
                    body=f"{summary}.\n\nOpen msops to approve, ask the client or resolve.",
                )
                sent += 1
    local_today = organization_today(organization, now=now)
    month_start = local_today.replace(day=1)
    blocking = TimeEntry.objects.filter(
        organization=organization, work_date__gte=month_start, work_date__lte=local_today
    ).aggregate(
        entries=Count("pk", filter=Q(billing_status__in=BLOCKING_STATUSES)),
    )["entries"]
    open_blocking_flags = ExceptionFlag.objects.filter(
        organization=organization,
        status=ExceptionFlag.Status.OPEN,
        kind__in=[ExceptionFlag.Kind.OVER_APPROVAL, ExceptionFlag.Kind.NO_DECISION],
    ).count()
    if blocking or open_blocking_flags:
        summary = (
            f"{blocking} time entries this month undecided, unclear or waiting for approval; "
            f"{open_blocking_flags} blocking flags open"
        )
        for member in members:
            if member.role != Role.FINANCE or not member.user.email:
                continue
            with transaction.atomic():
                if _claim(
                    membership=member,
                    kind=DigestSent.Kind.FINANCE,
                    period_key=f"{month_start:%Y-%m}",
                    summary=summary,
                ):
                    notify(
                        to=[member.user.email],
                        subject=f"[{organization.name}] Billing exceptions for {month_start:%B %Y}",
                        body=f"{summary}.\n\nThese block the period from closing cleanly.",
                    )
                    sent += 1
    return sent
