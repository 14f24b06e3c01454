"""Billing periods: a client's month from open to exported.

open → in review → locked → exported. Drafts are computed by
``billing.pricing`` and saved here while the period is open or in review.
Locking is refused while exceptions block it; once locked nothing changes the
period's time entries, their meaning, its drafts or what priced them — the
services refuse with :class:`PeriodLocked` (the API answers 409) and the
database refuses too (``billing/migrations/0006_locked_period_triggers.py``).
Unlocking needs an admin and a reason. Corrections after a lock are
adjustments billed in the next open period.
"""

import datetime
import json
from collections.abc import Callable, Iterable
from decimal import Decimal, InvalidOperation

from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.utils import timezone

from clients.models import Client, Contract
from msops.tenancy.models import Membership, Organization, Role
from msops.tenancy.roles import FINANCE
from tickets.models import Ticket, TimeEntry

from ..models import (
    Adjustment,
    BillingPeriod,
    DraftRun,
    InvoiceDraft,
    InvoiceLine,
    PeriodEvent,
    ReviewItem,
    ReviewQueue,
)
from ..pricing import ClientCharges, month_blockers, month_bounds, price_month
from ..selectors.finance_pages import adjustment_lands_in
from ._common import draft_run_soon, require_role

DRAFT_BATCH = 25  # clients whose drafts are saved in one transaction
Event = PeriodEvent.Action
PStatus = BillingPeriod.Status


class PeriodLocked(ValidationError):
    """A change to a locked (or exported) billing period. The API answers 409."""

    def __init__(self, client: Client | int, month: datetime.date, field: str = "work_date"):
        name = client.name if isinstance(client, Client) else "this client"
        super().__init__(
            {
                field: ValidationError(
                    f"The billing period {month:%Y-%m} of {name} is locked: nothing in it can"
                    " change. Corrections go on an adjustment in the next open period.",
                    code="period_locked",
                )
            }
        )


def first_of_month(day: datetime.date) -> datetime.date:
    return day.replace(day=1)


def ensure_open(
    *, organization_id: int, client: Client | int, days: Iterable[datetime.date], field="work_date"
) -> None:
    """Refuse (:class:`PeriodLocked`) if any of ``days`` is in a closed period.

    Inside the caller's transaction the periods' rows stay locked until it
    commits, so a lock taken meanwhile waits for the change and then sees it
    (it would otherwise freeze the month without it)."""
    client_id = client.pk if isinstance(client, Client) else client
    months = {first_of_month(d) for d in days if d is not None}
    if not months:
        return
    periods = BillingPeriod.objects.select_for_update().filter(
        organization=organization_id, client_id=client_id, month__in=months
    )
    statuses = dict(periods.order_by("month").values_list("month", "status"))
    if len(statuses) < len(months):
        # A month without its period yet gets one (open), locked like the
        # others: a lock can't then start on the month while this change is
        # in flight and freeze it without the change.
        BillingPeriod.objects.bulk_create(
            [
                BillingPeriod(organization_id=organization_id, client_id=client_id, month=m)
                for m in sorted(months - set(statuses))
            ],
            ignore_conflicts=True,
        )
        statuses = dict(periods.order_by("month").values_list("month", "status"))
    closed = sorted(m for m, status in statuses.items() if status in BillingPeriod.CLOSED_STATUSES)
    if closed:
        raise PeriodLocked(client, closed[0], field)


def period_get(*, client: Client, month: datetime.date) -> BillingPeriod:
    """The client's period for the month holding ``month`` (created open)."""
    period, _ = BillingPeriod.objects.get_or_create(
        organization_id=client.organization_id, client=client, month=first_of_month(month)
    )
    return period


def _locked_period(period: BillingPeriod) -> BillingPeriod:
    return (
        BillingPeriod.objects.select_for_update(of=("self",))
        .select_related("client__organization")
        .get(organization=period.organization_id, pk=period.pk)
    )


def _event(period: BillingPeriod, action: str, actor: Membership | None, note: str = "") -> None:
    PeriodEvent.objects.create(
        organization_id=period.organization_id, period=period, action=action, actor=actor,
        note=note,
    )  # fmt: skip


# --- drafts ----------------------------------------------------------------------------
def _save_drafts(period: BillingPeriod, charges: ClientCharges, now) -> list[InvoiceDraft]:
    """Replace the period's drafts with ``charges`` (one draft per currency)."""
    return _replace_drafts([(period, charges)], now)[period.pk]


def _replace_drafts(
    priced: list[tuple[BillingPeriod, ClientCharges]], now
) -> dict[int, list[InvoiceDraft]]:
    """Replace the drafts of one organization's ``priced`` periods, in the same
    handful of statements however many periods (the draft job saves 25 at a
    time)."""
    organization_id = priced[0][0].organization_id
    period_ids = [period.pk for period, _ in priced]
    InvoiceLine.objects.filter(organization=organization_id, period__in=period_ids).delete()
    InvoiceDraft.objects.filter(organization=organization_id, period__in=period_ids).delete()
    drafts: dict[int, dict[str, InvoiceDraft]] = {}
    for period, charges in priced:
        totals = charges.totals()
        org_currency = period.client.organization.currency
        currencies = sorted(set(totals) | ({org_currency} if not totals else set()))
        drafts[period.pk] = {
            cur: InvoiceDraft(
                organization_id=organization_id,
                period=period,
                currency=cur,
                total=totals.get(cur, Decimal("0.00")),
                cost=charges.cost if cur == org_currency else Decimal("0.00"),
                computed_at=now,
            )
            for cur in currencies
        }
    InvoiceDraft.objects.bulk_create(
        [d for by_currency in drafts.values() for d in by_currency.values()]
    )
    _insert_lines(
        (
            organization_id, drafts[period.pk][line.currency].pk, period.pk, i, line.kind,
            line.description[:300], line.contract_id, line.ticket_id, line.scope_check_id,
            line.minutes, line.billed_minutes, line.quantity, line.unit, line.unit_price,
            line.amount, line.currency, line.computation[:300], line.sources_json(),
        )
        for period, charges in priced
        for i, line in enumerate(charges.lines, start=1)
    )  # fmt: skip
    return {pk: list(by_currency.values()) for pk, by_currency in drafts.items()}


LINE_FIELDS = (
    "organization_id", "draft_id", "period_id", "position", "kind", "description", "contract_id",
    "ticket_id", "scope_check_id", "minutes", "billed_minutes", "quantity", "unit", "unit_price",
    "amount", "currency", "computation", "sources",
)  # fmt: skip


def _insert_lines(rows: Iterable[tuple]) -> None:
    """Insert invoice lines (values in ``LINE_FIELDS`` order). On PostgreSQL
    with COPY: a month's drafts are tens of thousands of lines, and building
    and adapting a model instance per line took longer than pricing them.
    PostgreSQL refuses COPY into a table under row-level security, so the rows
    are copied into a temporary table and inserted from it in one statement
    (the policy and the locked-period trigger see every row); ``sources`` goes
    in as its JSON text. Runs inside the caller's transaction."""
    if connection.vendor != "postgresql":
        InvoiceLine.objects.bulk_create(
            (InvoiceLine(**dict(zip(LINE_FIELDS, row, strict=True))) for row in rows),
            batch_size=2000,
        )
        return
    meta = InvoiceLine._meta
    columns = ", ".join(meta.get_field(f.removesuffix("_id")).column for f in LINE_FIELDS)
    table, staging = meta.db_table, "msops_invoice_lines_in"
    # Only model table and column names are interpolated; values go through COPY.
    with connection.cursor() as cursor:
        cursor.execute(
            f"CREATE TEMPORARY TABLE {staging} ON COMMIT DROP AS "  # noqa: S608
            f"SELECT {columns} FROM {table} WITH NO DATA"
        )
        with cursor.cursor.copy(f"COPY {staging} ({columns}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row((*row[:-1], json.dumps(row[-1])))
        cursor.execute(f"INSERT INTO {table} ({columns}) SELECT {columns} FROM {staging}")  # noqa: S608
        cursor.execute(f"DROP TABLE {staging}")


def drafts_compute(
    *,
    organization: Organization,
    month: datetime.date,
    client_ids=None,
    progress: Callable[[int, int], None] | None = None,
    now: datetime.datetime | None = None,
) -> int:
    """Compute and save the drafts of every client (or ``client_ids``) for the
    month; closed periods keep theirs. Clients are saved 25 at a time, each
    batch in one transaction; ``progress(done, total)`` is called after each.
    Returns how many periods were (re)computed."""
    now = now or timezone.now()
    month = first_of_month(month)
    charges = price_month(organization=organization, month=month, client_ids=client_ids)
    existing = {
        p.client_id: p
        for p in BillingPeriod.objects.filter(
            organization=organization, month=month, client_id__in=list(charges)
        ).select_related("client__organization")
    }
    missing = [
        BillingPeriod(organization=organization, client_id=c, month=month)
        for c in charges
        if c not in existing
    ]
    BillingPeriod.objects.bulk_create(missing, ignore_conflicts=True)
    if missing:
        existing = {
            p.client_id: p
            for p in BillingPeriod.objects.filter(
                organization=organization, month=month, client_id__in=list(charges)
            ).select_related("client__organization")
        }
    done = 0
    total = len(charges)
    batch: list[tuple[BillingPeriod, ClientCharges]] = []
    for client_id, client_charges in charges.items():
        period = existing[client_id]
        if not period.is_closed:
            batch.append((period, client_charges))
        done += 1
        if done % DRAFT_BATCH == 0 or done == total:
            if batch:
                with transaction.atomic():
                    # A period locked while the month was priced keeps its draft.
                    still_open = set(
                        BillingPeriod.objects.select_for_update()
                        .filter(pk__in=[p.pk for p, _ in batch])
                        .exclude(status__in=BillingPeriod.CLOSED_STATUSES)
                        .order_by("pk")
                        .values_list("pk", flat=True)
                    )
                    _replace_drafts([(p, c) for p, c in batch if p.pk in still_open], now)
                batch = []
            if progress is not None:
                progress(done, total)
    return done


def draft_run_start(
    *, organization: Organization, month: datetime.date, actor: Membership
) -> DraftRun:
    """Queue the job that computes every client's draft for the month (the
    page polls the run for its progress). A run already going is reused."""
    require_role(actor, FINANCE, organization.pk)
    month = first_of_month(month)
    running = DraftRun.objects.filter(
        organization=organization, month=month,
        status__in=(DraftRun.Status.QUEUED, DraftRun.Status.RUNNING),
        created_at__gte=timezone.now() - datetime.timedelta(minutes=30),
    ).first()  # fmt: skip
    if running is not None:
        return running
    run = DraftRun.objects.create(organization=organization, month=month, started_by=actor)
    draft_run_soon(organization=organization, run_id=run.pk)
    return run


def draft_run_execute(*, organization: Organization, run_id: int) -> DraftRun:
    """The job: compute the month's drafts, recording progress as it goes."""
    run = DraftRun.objects.get(organization=organization, pk=run_id)
    if run.status == DraftRun.Status.DONE:
        return run
    DraftRun.objects.filter(pk=run.pk).update(status=DraftRun.Status.RUNNING)

    def progress(done: int, total: int) -> None:
        DraftRun.objects.filter(pk=run.pk).update(done=done, total=total)

    try:
        drafts_compute(organization=organization, month=run.month, progress=progress)
    except Exception as exc:
        DraftRun.objects.filter(pk=run.pk).update(
            status=DraftRun.Status.FAILED, error=str(exc)[:300], finished_at=timezone.now()
        )
        raise
    DraftRun.objects.filter(pk=run.pk).update(
        status=DraftRun.Status.DONE, finished_at=timezone.now()
    )
    run.refresh_from_db()
    return run


def period_review(*, period: BillingPeriod):
    """What the period's page shows: charges computed now (or, once closed,
    the saved lines), and the exceptions that block it."""
    charges = price_month(
        organization=period.client.organization, month=period.month, client_ids=[period.client_id]
    )
    blockers = month_blockers(
        organization_id=period.organization_id, month=period.month, charges=charges
    )
    return charges.get(period.client_id), blockers.get(period.client_id, [])


# --- transitions -------------------------------------------------------------------------
def _version(period: BillingPeriod, version) -> None:
    if version is None:
        return
    try:
        version = int(version)
    except (TypeError, ValueError):
        raise ValidationError({"version": "Give the period's version as a whole number."}) from None
    if version != period.version:
        raise ValidationError(
            {
                "version": ValidationError(
                    "Someone changed this period since you opened it: reload and try again.",
                    code="conflict",
                )
            }
        )


def _save(period: BillingPeriod, fields: list[str]) -> BillingPeriod:
    period.version += 1
    period.save(update_fields=[*fields, "version"])
    return period


@transaction.atomic
def period_start_review(*, period: BillingPeriod, actor: Membership, version=None) -> BillingPeriod:
    require_role(actor, FINANCE, period.organization_id)
    current = _locked_period(period)
    _version(current, version)
    if current.is_closed:
        raise PeriodLocked(current.client, current.month, "status")
    if current.status != PStatus.OPEN:
        raise ValidationError({"status": f"The period is {current.get_status_display().lower()}."})
    charges, _ = period_review(period=current)
    if charges is not None:
        _save_drafts(current, charges, timezone.now())
    current.status = PStatus.IN_REVIEW
    current.review_started_at, current.review_started_by = timezone.now(), actor
    _event(current, Event.REVIEW_STARTED, actor)
    return _save(current, ["status", "review_started_at", "review_started_by"])


@transaction.atomic
def period_lock(*, period: BillingPeriod, actor: Membership, version=None) -> BillingPeriod:
    """Lock the month: refused while exceptions block it. The draft is
    computed one last time and frozen with the month's time entries."""
    require_role(actor, FINANCE, period.organization_id)
    current = _locked_period(period)
    _version(current, version)
    if current.is_closed:
        raise PeriodLocked(current.client, current.month, "status")
    charges, blockers = period_review(period=current)
    if blockers:
        kinds = sorted({b.label.lower() for b in blockers})
        raise ValidationError(
            {
                "status": f"{len(blockers)} exception{'s' if len(blockers) != 1 else ''} still"
                f" block{'' if len(blockers) != 1 else 's'} this month ({', '.join(kinds)}):"
                " resolve them first."
            },
            code="blocked",
        )
    now = timezone.now()
    _save_drafts(current, charges or ClientCharges.empty(current.client_id, current.month), now)
    start, end = month_bounds(current.month)
    TimeEntry.objects.filter(
        organization=current.organization_id,
        ticket__client=current.client_id,
        work_date__gte=start,
        work_date__lt=end,
    ).update(locked=True)
    current.status = PStatus.LOCKED
    current.locked_at, current.locked_by = now, actor
    _event(current, Event.LOCKED, actor)
    return _save(current, ["status", "locked_at", "locked_by"])


@transaction.atomic
def period_unlock(
    *, period: BillingPeriod, actor: Membership, reason: str, version=None
) -> BillingPeriod:
    """Reopen a locked month for review: an admin, with a reason (recorded).
    A month that adjustments already correct stays locked (see below)."""
    require_role(actor, {Role.ADMIN}, period.organization_id)
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError({"reason": "Say why the period is unlocked: it is recorded."})
    current = _locked_period(period)
    _version(current, version)
    if not current.is_closed:
        raise ValidationError({"status": "The period is not locked."})
    corrected_in = sorted(
        Adjustment.objects.filter(organization=current.organization_id, corrects=current)
        .values_list("period__month", flat=True)
        .distinct()
    )
    if corrected_in:
        # Reopening it would let the same correction be made twice: once in
        # the month itself and once as the adjustment already billed later.
        months = ", ".join(f"{m:%Y-%m}" for m in corrected_in)
        raise ValidationError(
            {
                "status": f"This month is already corrected by adjustments billed in {months}:"
                " correct it further with another adjustment instead of unlocking it."
            }
        )
    current.status = PStatus.IN_REVIEW
    _save(current, ["status"])
    start, end = month_bounds(current.month)
    TimeEntry.objects.filter(
        organization=current.organization_id,
        ticket__client=current.client_id,
        work_date__gte=start,
        work_date__lt=end,
    ).update(locked=False)
    _event(current, Event.UNLOCKED, actor, reason)
    return current


@transaction.atomic
def period_mark_exported(*, period: BillingPeriod, actor: Membership) -> BillingPeriod:
    """Record an export of a locked period (each export is an event)."""
    require_role(actor, FINANCE, period.organization_id)
    current = _locked_period(period)
    if not current.is_closed:
        raise ValidationError(
            {"status": "Lock the period before exporting it: an open draft can still change."}
        )
    current.status = PStatus.EXPORTED
    current.exported_at, current.exported_by = timezone.now(), actor
    _event(current, Event.EXPORTED, actor)
    return _save(current, ["status", "exported_at", "exported_by"])


# --- adjustments and sending back -----------------------------------------------------
@transaction.atomic
def adjustment_create(
    *,
    corrects: BillingPeriod,
    actor: Membership,
    description: str,
    amount,
    reason: str,
    contract: Contract | None = None,
) -> Adjustment:
    """A correction to a locked period, billed in the client's next open
    period (created if needed); the locked original stays as it was."""
    require_role(actor, FINANCE, corrects.organization_id)
    errors: dict[str, str] = {}
    description, reason = (description or "").strip(), (reason or "").strip()
    if not corrects.is_closed:
        errors["corrects"] = "Only a locked period is corrected by an adjustment: edit the work."
    if not description:
        errors["description"] = "Say what the adjustment is for."
    if not reason:
        errors["reason"] = "An adjustment needs a reason."
    try:
        amount = Decimal(str(amount)).quantize(Decimal("0.01"))
        if not amount or not amount.is_finite() or abs(amount) >= Decimal("1e9"):
            raise InvalidOperation
    except (InvalidOperation, ValueError, TypeError):
        errors["amount"] = "Give a non-zero amount (negative for a credit), e.g. -120.00."
    if contract is not None and (
        contract.organization_id != corrects.organization_id
        or contract.client_id != corrects.client_id
    ):
        errors["contract"] = "Choose one of this client's contracts."
    if errors:
        raise ValidationError(errors)
    client = corrects.client
    month = adjustment_lands_in(period=corrects)
    target = (
        BillingPeriod.objects.select_for_update()
        .filter(organization=corrects.organization_id, client=client, month=month)
        .first()
    ) or period_get(client=client, month=month)
    currency = contract.currency if contract else client.organization.currency
    return Adjustment.objects.create(
        organization_id=corrects.organization_id,
        client=client,
        period=target,
        corrects=corrects,
        contract=contract,
        currency=currency,
        description=description[:200],
        amount=amount,
        reason=reason,
        created_by=actor,
    )


@transaction.atomic
def send_back(
    *,
    period: BillingPeriod,
    actor: Membership,
    to: Membership,
    note: str,
    ticket: Ticket | None = None,
    subject: str = "",
) -> ReviewItem:
    """Send an exception back to the person who decided it, with a note: it
    appears in their review queue (and on their home page)."""
    require_role(actor, FINANCE, period.organization_id)
    note = (note or "").strip()
    errors = {}
    if not note:
        errors["note"] = "Say what you need from them."
    if to is None or to.organization_id != period.organization_id:
        errors["to"] = "Choose a member of this organization."
    if ticket is not None and (
        ticket.organization_id != period.organization_id or ticket.client_id != period.client_id
    ):
        errors["ticket"] = "The ticket is not this client's."
    if errors:
        raise ValidationError(errors)
    from msops.timezones import organization_week_start

    organization = period.client.organization
    queue, _ = ReviewQueue.objects.get_or_create(
        organization=organization, week_start=organization_week_start(organization)
    )
    key = f"sent:{period.pk}:{subject or (f'ticket:{ticket.pk}' if ticket else 'period')}"[:60]
    item, created = ReviewItem.objects.get_or_create(
        organization=organization,
        queue=queue,
        kind=ReviewItem.Kind.SENT_BACK,
        subject_key=key,
        defaults={
            "ticket": ticket,
            "client": period.client,
            "reason": f"Finance, {period.month:%Y-%m}: {note}"[:300],
            "owner": to,
            "note": note,
        },
    )
    if not created:
        item.reason = f"Finance, {period.month:%Y-%m}: {note}"[:300]
        item.owner, item.note, item.status = to, note, ReviewItem.Status.OPEN
        item.resolved_at = item.resolved_by = None
        item.save(update_fields=["reason", "owner", "note", "status", "resolved_at", "resolved_by"])
    return item
