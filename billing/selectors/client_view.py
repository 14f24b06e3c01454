"""What the client view link shows, and the staff page that manages links.

The client's page is built from a whitelist: plain dicts of the values a
client may read (their contract's allowance or block balance, work covered,
billable and waiting for approval this period, the scope checks waiting for
their answer, SLA results). No model instance reaches the template, so no
internal field (notes, reasons, cost rates, margins) can leak through it.
Figures come from the one pricing module (``billing.pricing``) and the SLA
report (``tickets.sla_report``); nothing here re-defines them."""

import datetime

from django.db.models import Count, QuerySet
from django.utils import timezone

from clients.models import Client, Contract
from clients.rules import contract_in_force
from msops.calendar import contract_period, months_between
from msops.tenancy.models import Organization
from msops.timezones import organization_today
from tickets.sla_report import sla_report

from ..models import ClientViewEvent, ClientViewLink, EntryPortion, InvoiceLine, ScopeCheck
from ..pricing import price_client_month

COVERED_KINDS = (InvoiceLine.Kind.INCLUDED, InvoiceLine.Kind.BLOCK_DRAWDOWN)
EVENTS_SHOWN = 50


# --- the client's page ------------------------------------------------------------------------
def _period(contract: Contract, today: datetime.date) -> tuple[datetime.date, datetime.date]:
    """The contract period holding ``today`` as its usage reports it: a
    block's is the month (its balance carries over), else the contract's
    billing period."""
    if contract.kind == Contract.Kind.BLOCK:
        return contract_period(Contract.Period.MONTHLY, today)
    return contract_period(contract.period, today)


def _work(
    *, client: Client, contract: Contract, start: datetime.date, today: datetime.date
) -> tuple[dict, object]:
    """Minutes covered, billable, past the allowance and waiting for approval
    on ``contract`` from ``start`` to ``today``, summed over the months of
    the pricing module, and this month's usage.

    A month without any work of the client adds nothing to these figures
    (its lines are fees and adjustments), so only the months with work and
    this month (for its usage) are priced: an annual retainer costs a
    pricing run per month with work, not one per month of the year."""
    covered = billable = overage = pending = undecided = 0
    usage = None
    this_month = today.replace(day=1)
    worked = set(
        EntryPortion.objects.filter(
            organization=client.organization_id,
            ticket__client=client,
            work_date__gte=start.replace(day=1),
            work_date__lt=this_month,
        ).dates("work_date", "month")
    )
    for month in months_between(start, today):
        if month != this_month and month not in worked:
            continue
        charges = price_client_month(client=client, month=month)
        covered += sum(
            line.minutes
            for line in charges.lines
            if line.contract_id == contract.pk and line.kind in COVERED_KINDS
        )
        usage = charges.usage.get(contract.pk)
        if usage is not None:
            billable += usage.billable_minutes
            overage += usage.overage
            pending += usage.pending_minutes
            undecided += usage.undecided_minutes
    work = {
        "covered_minutes": covered,
        "billable_minutes": billable,
        "overage_minutes": overage,
        "pending_minutes": pending,
        "undecided_minutes": undecided,
    }
    return work, usage


def _allowance(contract: Contract, usage) -> dict | None:
    """This period's allowance used and left (retainer) or the block's balance."""
    if usage is None:
        return None
    if contract.kind == Contract.Kind.BLOCK:
        return {
            "kind": "block",
            "balance_minutes": usage.balance or 0,
            "used_minutes": usage.used,
            "expired_minutes": usage.expired,
            "percent_used": usage.percent_used,
        }
    if usage.allowance is None:
        return None
    return {
        "kind": "retainer",
        "allowance_minutes": usage.allowance,
        "used_minutes": usage.used,
        "left_minutes": usage.left,
        "percent_used": usage.percent_used,
    }


def _same_email(a: str, b: str) -> bool:
    a, b = (a or "").strip().casefold(), (b or "").strip().casefold()
    return bool(a) and a == b


def _open_scope_checks(
    *, organization: Organization, client: Client, contact_email: str
) -> list[dict]:
    """Scope checks waiting for the client's answer, oldest asked first.
    Approving one commits the client to billable work, so its approval link
    is only for the approver the check was sent to: ``_check`` (the row, for
    the view to sign its approval link — ``billing.services.client_link``)
    is set only when the view link's contact is that approver (the same
    address, in any case) and the approval link is active; the view takes
    it out before rendering. Anyone else (a read-only contact, someone the
    view link was forwarded to) sees the check with ``for_contact`` False
    and no link, and never the approver's address."""
    now = timezone.now()
    checks = (
        ScopeCheck.objects.filter(
            organization=organization,
            ticket__client=client,
            status=ScopeCheck.Status.AWAITING_CLIENT,
        )
        .select_related("ticket")
        .order_by("client_asked_at", "created_at", "pk")
    )
    rows = []
    for check in checks:
        for_contact = _same_email(check.client_email, contact_email)
        active = bool(check.client_link_nonce) and (
            check.client_link_expires_at is None or check.client_link_expires_at > now
        )
        rows.append(
            {
                "ticket_number": check.ticket.number,
                "ticket_title": check.ticket.title,
                "explanation": check.client_explanation,
                "estimate_minutes": check.estimate_minutes,
                "asked_at": check.client_asked_at or check.created_at,
                "for_contact": for_contact,
                "_check": check if active and for_contact else None,
            }
        )
    return rows


def _sla(
    *, organization: Organization, client: Client, start: datetime.date, end: datetime.date
) -> dict:
    report = sla_report(organization=organization, client=client, start=start, end=end)
    return report.for_the_client()


def client_view_page(*, link: ClientViewLink, today: datetime.date | None = None) -> dict:
    """Everything the client view shows, as plain values (see the module)."""
    organization = link.organization
    client = link.client
    today = today or organization_today(organization)
    contract = contract_in_force(client=client, on=today)
    page = {
        "practice_name": organization.name,
        "client_name": client.name,
        "contact_name": link.contact_name,
        "expires_at": link.expires_at,
        "today": today,
        "contract": None,
        "allowance": None,
        "work": None,
        "scope_checks": _open_scope_checks(
            organization=organization, client=client, contact_email=link.contact_email
        ),
    }
    if contract is None:
        start, end = contract_period(Contract.Period.MONTHLY, today)
    else:
        start, end = _period(contract, today)
        start = max(start, contract.starts_on)
        work, usage = _work(client=client, contract=contract, start=start, today=today)
        page["contract"] = {
            "name": contract.name,
            "kind": contract.kind,
            "kind_label": contract.get_kind_display(),
        }
        page["allowance"] = _allowance(contract, usage)
        page["work"] = work
    page["period_start"] = start
    page["period_last_day"] = end - datetime.timedelta(days=1)
    sla_end = min(end, today + datetime.timedelta(days=1))
    page["sla"] = _sla(organization=organization, client=client, start=start, end=sla_end)
    return page


# --- the staff page -----------------------------------------------------------------------
def client_view_link_list(*, organization: Organization, client: Client | None) -> QuerySet:
    """The client's links (``None``: every client's), newest first, with
    their view counts: one query."""
    links = ClientViewLink.objects.filter(organization=organization)
    if client is not None:
        links = links.filter(client=client)
    return (
        links.select_related("client", "created_by__user", "revoked_by__user")
        .annotate(view_count=Count("events"))
        .order_by("-created_at", "-pk")
    )


def client_view_event_list(
    *, organization: Organization, client: Client | None = None, link: ClientViewLink | None = None
) -> QuerySet:
    """Views of a client's links (or of one link), newest first."""
    events = ClientViewEvent.objects.filter(organization=organization).select_related("link")
    if client is not None:
        events = events.filter(link__client=client)
    if link is not None:
        events = events.filter(link=link)
    return events.order_by("-viewed_at", "-pk")
