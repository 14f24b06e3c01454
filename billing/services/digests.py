"""Digests: one email per account manager (their pending scope checks and
open flags) and per finance member (what still blocks the month's invoices,
client by client, from ``Organization.finance_digest_days`` before its end).
A DigestSent row per recipient, kind and period makes re-runs send nothing."""

import datetime

from django.db import IntegrityError, transaction
from django.db.models import Count
from django.urls import reverse
from django.utils import timezone

from clients.models import Client
from msops.mail import absolute_url, notify
from msops.tenancy.models import Membership, Organization, Role
from msops.timezones import organization_today, organization_week_start

from ..models import DigestSent, ExceptionFlag, ScopeCheck


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


DIGEST_ITEMS = 10  # items listed per section; the section's page has them all


def _link(organization: Organization, name: str, **kwargs) -> str:
    return absolute_url(reverse(name, kwargs={"org": organization.slug, **kwargs}))


def _flag_link(organization: Organization, flag: ExceptionFlag) -> str:
    """A flag's page: its ticket's, else its client's, else the flags page."""
    if flag.ticket_id:
        return _link(organization, "tickets:ticket_detail", number=flag.ticket.number)
    if flag.client_id:
        return _link(organization, "clients:client_detail", pk=flag.client_id)
    return _link(organization, "billing:flag_list")


def _account_manager_body(
    organization: Organization, member: Membership, summary: str, n_checks: int, n_flags: int
) -> str:
    """The digest's summary, then each scope check and flag with its own link,
    then the pages that hold them all and the week's review."""
    lines = [f"{summary}.", ""]
    if n_checks:
        checks = (
            ScopeCheck.objects.filter(
                organization=organization,
                account_manager=member,
                status__in=ScopeCheck.OPEN_STATUSES,
            )
            .select_related("ticket__client")
            .order_by("created_at", "pk")[:DIGEST_ITEMS]
        )
        lines.append("Scope checks waiting for you (approve, reject or ask the client):")
        for c in checks:
            lines.append(f"  - #{c.ticket.number} {c.ticket.title} ({c.ticket.client.name})")
            lines.append(
                f"    {_link(organization, 'tickets:ticket_detail', number=c.ticket.number)}"
            )
        lines += [f"  All of them: {_link(organization, 'billing:scope_check_queue')}", ""]
    if n_flags:
        flags = (
            ExceptionFlag.objects.filter(
                organization=organization, owner=member, status=ExceptionFlag.Status.OPEN
            )
            .select_related("ticket", "client")
            .order_by("-created_at", "-pk")[:DIGEST_ITEMS]
        )
        lines.append("Open flags you own:")
        for f in flags:
            about = (
                f"#{f.ticket.number} {f.ticket.title}"
                if f.ticket_id
                else (f.client.name if f.client_id else "—")
            )
            lines += [
                f"  - {about} — {f.get_kind_display()}: {f.detail}",
                f"    {_flag_link(organization, f)}",
            ]
        lines += [f"  All of them: {_link(organization, 'billing:flag_list')}?owner=me", ""]
    lines.append(f"This week's review: {_link(organization, 'billing:review_current')}")
    return "\n".join(lines)


def digests_send(*, organization: Organization, now: datetime.datetime | None = None) -> int:
    """Send this week's account-manager digests and this month's finance
    digests that have not been sent. Returns how many were sent."""
    now = now or timezone.now()
    week = organization_week_start(organization, now)
    sent = 0
    members = Membership.objects.filter(
        organization=organization, deactivated_at__isnull=True
    ).select_related("user")
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
                    body=_account_manager_body(organization, member, summary, n_checks, n_flags),
                )
                sent += 1
    sent += _finance_digest(organization, members, now)
    return sent


def finance_digest_due(organization: Organization, today: datetime.date) -> bool:
    """Finance hears from ``finance_digest_days`` days before the month's last
    day (3: from the 27th of a 30-day month)."""
    next_month = (today.replace(day=1) + datetime.timedelta(days=32)).replace(day=1)
    return (next_month - today).days - 1 <= organization.finance_digest_days


def _finance_digest(organization: Organization, members, now: datetime.datetime) -> int:
    """What still blocks this month's invoices, client by client, to every
    finance member, once a month, from ``finance_digest_days`` before its end."""
    from ..pricing import month_blockers, price_month

    today = organization_today(organization, now=now)
    if not finance_digest_due(organization, today):
        return 0
    month = today.replace(day=1)
    charges = price_month(organization=organization, month=month)
    blockers = month_blockers(organization_id=organization.pk, month=month, charges=charges)
    if not any(blockers.values()):
        return 0
    names = dict(Client.objects.filter(organization=organization).values_list("pk", "name"))
    lines = []
    for client_id, items in sorted(blockers.items(), key=lambda kv: names.get(kv[0], "")):
        if not items:
            continue
        page = _link(organization, "billing:finance_client_month", month=month, pk=client_id)
        lines += [f"{names.get(client_id, client_id)}: {len(items)} blocking", f"  {page}"]
        for b in items[:DIGEST_ITEMS]:
            lines.append(f"  - {b.label}: {b.detail}")
            if b.ticket_number:
                ticket = _link(organization, "tickets:ticket_detail", number=b.ticket_number)
                lines.append(f"    {ticket}")
        if len(items) > DIGEST_ITEMS:
            lines.append(f"  … and {len(items) - DIGEST_ITEMS} more")
    count = sum(len(items) for items in blockers.values())
    n_clients = sum(1 for items in blockers.values() if items)
    summary = (
        f"{count} exceptions block {n_clients} client{'s' if n_clients != 1 else ''}' invoices"
    )
    sent = 0
    for member in members:
        if member.role != Role.FINANCE or not member.user.email:
            continue
        with transaction.atomic():
            if _claim(
                membership=member,
                kind=DigestSent.Kind.FINANCE,
                period_key=f"{month:%Y-%m}",
                summary=summary,
            ):
                notify(
                    to=[member.user.email],
                    subject=f"[{organization.name}] {month:%B %Y}: {summary}",
                    body="\n".join(
                        [f"The month closes on {(month + datetime.timedelta(days=32)).replace(day=1) - datetime.timedelta(days=1):%d %B}."
                         " These still block the invoices:", "", *lines, "",
                         "Open the pre-invoice review in msops to resolve them:",
                         _link(organization, "billing:finance_month", month=month)]
                    ),
                )  # fmt: skip
                sent += 1
    return sent
