"""The review pack: a client's contract on one page for each review on the
contract's cadence, frozen when prepared (``ReviewPack.data``) and printed
to PDF from the same template.

Review dates (one home: :func:`review_period_on`): every ``CADENCE_MONTHS``
months counted from the contract's ``starts_on`` (quarterly from 15 January:
15 April, 15 July …; the 31st falls on a short month's last day, counted from
``starts_on`` each time so it never drifts). The pack for a review covers the
cadence period just ended, [previous review, review). A fixed-term contract's
last period stops at its end (``ends_on`` is its last day), and that day-after
is the last review.

The figures (:func:`review_pack_figures`), all for the contract over the
period, in the practice's timezone:

- Hours against the allowance by month, from the one pricing module
  (:func:`billing.pricing.price_client_month`): the period's allowance, what
  the month drew from it (for a retainer, the engine's period-to-date use
  less the previous month's in the same contract period), overage, left, and
  for a block of hours the balance at the month's end and what expired;
  beside them all time logged under the contract that month (its portions).
- Scope changes decided in the period, approved and declined (by the account
  manager or the client), with the ticket, the estimate and the day decided.
- Top request types: tickets of the contract opened in the period per
  request type, and the minutes logged on the type's tickets in the period.
- Recurring issues: a request type with ``RECURRING_MIN_TICKETS`` or more
  tickets opened in the period is proposed as a remediation project, with
  the time it cost in the period. Grouping by request type, not by similar
  titles: the type is what people chose when they opened the ticket, and
  titles vary too much to group without guessing.
- SLA results: :func:`tickets.sla_report.sla_report` for the contract.
- Exit terms: the renewal date (a fixed term's ``ends_on``; open-ended, the
  end of the contract period holding the review, or the first later one
  whose notice deadline has not passed by the review) and the notice
  deadline (renewal − ``notice_days``), with the offboarding fee.

It is client-facing: no rates, costs, margins, amounts billed or internal
notes — minutes and dates, the contract's own terms, and what the client
was told (a scope check's ``client_explanation``).
"""

import datetime
import logging
import re
from dataclasses import dataclass
from decimal import Decimal

from django.contrib.staticfiles import finders
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import (
    BooleanField,
    ExpressionWrapper,
    Q,
    QuerySet,
    Sum,
)
from django.db.models.functions import TruncMonth
from django.template.loader import render_to_string
from django.utils import timezone

from billing.models import EntryPortion, ScopeCheck
from billing.pricing import price_client_month
from billing.selectors.finance_pages import money_reach
from clients.models import Client, Contract
from msops.calendar import FIRST_YEAR, LAST_YEAR, add_months, contract_period, months_between
from msops.tenancy.models import Membership, Organization
from msops.timezones import organization_today
from tickets.models import Ticket
from tickets.sla_report import sla_report

from .models import ReviewPack

logger = logging.getLogger(__name__)

CADENCE_MONTHS = {
    Contract.ReviewCadence.MONTHLY: 1,
    Contract.ReviewCadence.QUARTERLY: 3,
    Contract.ReviewCadence.SEMIANNUAL: 6,
    Contract.ReviewCadence.ANNUAL: 12,
}
PREPARE_DAYS_AHEAD = 7  # the daily job prepares a pack this many days before its review
REFRESH_DAYS_AFTER = 7  # and prepares it again up to this many days after, once the period ended
TOP_REQUEST_TYPES = 5
RECURRING_MIN_TICKETS = 3
TICKET_NUMBERS_SHOWN = 10
BREACHES_SHOWN = 20
PRINT_TEMPLATE = "transitions/review_pack_print.html"
STYLESHEET = "css/review-pack.css"
DATA_VERSION = 1


# --- review dates ---------------------------------------------------------------
@dataclass(frozen=True)
class ReviewPeriod:
    """The cadence period a review looks back on: [start, end), reviewed on ``review_on``."""

    start: datetime.date
    end: datetime.date  # exclusive
    review_on: datetime.date


def _contract_end(contract: Contract) -> datetime.date | None:
    """The day after the contract's last day (None: open-ended)."""
    return contract.ends_on + datetime.timedelta(days=1) if contract.ends_on else None


def review_period_on(*, contract: Contract, on: datetime.date) -> ReviewPeriod | None:
    """The review period holding ``on``: the one whose review is the first
    review date after ``on`` (on a review date itself, the period that
    begins then). None before the contract starts or from the day after it ends."""
    end_of_contract = _contract_end(contract)
    if on < contract.starts_on or (end_of_contract is not None and on >= end_of_contract):
        return None
    step = CADENCE_MONTHS.get(contract.review_cadence, 3)
    months = (on.year - contract.starts_on.year) * 12 + on.month - contract.starts_on.month
    k = max(months // step - 1, 0)
    while add_months(contract.starts_on, (k + 1) * step) <= on:
        k += 1
    start = add_months(contract.starts_on, k * step)
    end = add_months(contract.starts_on, (k + 1) * step)
    if end_of_contract is not None:
        end = min(end, end_of_contract)
    return ReviewPeriod(start=start, end=end, review_on=end)


def next_review(*, contract: Contract, today: datetime.date) -> ReviewPeriod | None:
    """The next review on or after ``today`` and the period it covers (a
    review today covers the period that just ended; before the contract
    starts, its first review). None once its last review has passed."""
    yesterday = today - datetime.timedelta(days=1)
    return review_period_on(contract=contract, on=max(yesterday, contract.starts_on))


def review_dates(*, contract: Contract, until: datetime.date) -> list[datetime.date]:
    """The contract's review dates up to ``until`` (included), in order."""
    dates = []
    period = review_period_on(contract=contract, on=contract.starts_on)
    while period is not None and period.review_on <= until:
        dates.append(period.review_on)
        period = review_period_on(contract=contract, on=period.end)
    return dates


# --- exit terms -----------------------------------------------------------------
def renewal_dates(*, contract: Contract, on: datetime.date) -> dict:
    """The renewal date and notice deadline as seen on ``on`` (see the module)."""
    if contract.ends_on is not None:
        renewal = contract.ends_on
    else:
        _, end = contract_period(contract.period, on)
        renewal = end - datetime.timedelta(days=1)
        while renewal - datetime.timedelta(days=contract.notice_days) < on:
            _, end = contract_period(contract.period, end)
            renewal = end - datetime.timedelta(days=1)
    return {
        "open_ended": contract.ends_on is None,
        "renewal_on": renewal,
        "notice_by": renewal - datetime.timedelta(days=contract.notice_days),
        "notice_days": contract.notice_days,
    }


# --- figures --------------------------------------------------------------------
def _midnight(day: datetime.date, organization: Organization) -> datetime.datetime:
    return datetime.datetime.combine(day, datetime.time.min, tzinfo=organization.tzinfo)


def _hours_by_month(*, contract: Contract, start: datetime.date, end: datetime.date) -> list[dict]:
    """One row per month of the period, from the pricing engine's usage."""
    organization = contract.organization
    months = months_between(start, end - datetime.timedelta(days=1))
    worked = dict(
        EntryPortion.objects.filter(
            organization=organization, contract=contract, work_date__gte=start, work_date__lt=end
        )
        .annotate(month=TruncMonth("work_date"))
        .values("month")
        .annotate(minutes=Sum("minutes"))
        .order_by()
        .values_list("month", "minutes")
    )
    previous = None
    first = months[0]
    if contract.kind == Contract.Kind.RETAINER and first > contract.starts_on.replace(day=1):
        before = add_months(first, -1)
        previous = price_client_month(client=contract.client, month=before).usage.get(contract.pk)
    rows = []
    for month in months:
        usage = price_client_month(client=contract.client, month=month).usage.get(contract.pk)
        row = {"month": month, "worked_minutes": worked.get(month, 0), "running": usage is not None}
        if usage is not None:
            drawn = usage.used
            if (
                contract.kind == Contract.Kind.RETAINER
                and previous is not None
                and previous.period_start == usage.period_start
            ):
                drawn = usage.used - previous.used
            row.update(
                allowance_period_start=usage.period_start,
                allowance_period_end=usage.period_end,
                allowance_minutes=usage.allowance,
                drawn_minutes=drawn,
                period_used_minutes=usage.used,
                overage_minutes=usage.overage,
                left_minutes=usage.left,
                billable_minutes=usage.billable_minutes,
                balance_minutes=usage.balance,
                expired_minutes=usage.expired,
            )
        previous = usage
        rows.append(row)
    return rows


def _scope_changes(*, contract: Contract, start: datetime.date, end: datetime.date) -> dict:
    organization = contract.organization
    decided = (
        ScopeCheck.objects.filter(
            organization=organization,
            ticket__contract=contract,
            decided_at__gte=_midnight(start, organization),
            decided_at__lt=_midnight(end, organization),
        )
        .select_related("ticket")
        .order_by("decided_at", "pk")
    )
    approved, declined = [], []
    by_client = (ScopeCheck.Status.CLIENT_APPROVED, ScopeCheck.Status.CLIENT_DECLINED)
    for check in decided:
        row = {
            "ticket_number": check.ticket.number,
            "title": check.ticket.title,
            "explanation": check.client_explanation,
            "estimate_minutes": check.estimate_minutes,
            "decided_on": timezone.localtime(check.decided_at, organization.tzinfo).date(),
            "decided_by_client": check.status in by_client,
        }
        if check.status in ScopeCheck.APPROVED_STATUSES:
            approved.append(row)
        elif check.status in (ScopeCheck.Status.REJECTED, ScopeCheck.Status.CLIENT_DECLINED):
            declined.append(row)
    return {
        "approved": approved,
        "declined": declined,
        "approved_minutes": sum(r["estimate_minutes"] for r in approved),
    }


def _request_types(*, contract: Contract, start: datetime.date, end: datetime.date) -> list[dict]:
    """Every request type with tickets opened or time logged in the period,
    most tickets first (then most time, then name)."""
    organization = contract.organization
    opened = (
        Ticket.objects.filter(
            organization=organization,
            contract=contract,
            opened_at__gte=_midnight(start, organization),
            opened_at__lt=_midnight(end, organization),
        )
        .values_list("request_type_id", "request_type__name", "number")
        .order_by("number")
    )
    types: dict[int, dict] = {}

    def row(type_id: int, name: str) -> dict:
        return types.setdefault(
            type_id, {"name": name, "tickets": 0, "minutes": 0, "ticket_numbers": []}
        )

    for type_id, name, number in opened:
        entry = row(type_id, name)
        entry["tickets"] += 1
        entry["ticket_numbers"].append(number)
    logged = (
        EntryPortion.objects.filter(
            organization=organization, contract=contract, work_date__gte=start, work_date__lt=end
        )
        .values("ticket__request_type_id", "ticket__request_type__name")
        .annotate(minutes=Sum("minutes"))
        .order_by()
    )
    for item in logged:
        row(item["ticket__request_type_id"], item["ticket__request_type__name"])["minutes"] += item[
            "minutes"
        ]
    return sorted(types.values(), key=lambda t: (-t["tickets"], -t["minutes"], t["name"]))


def _sla(*, contract: Contract, start: datetime.date, end: datetime.date) -> dict:
    report = sla_report(organization=contract.organization, contract=contract, start=start, end=end)
    return report.for_the_client(breaches=BREACHES_SHOWN)


def _jsonable(value):
    """Dates and times as ISO strings, decimals as strings, recursively."""
    if isinstance(value, dict):
        return {key: _jsonable(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(item) for item in value]
    if isinstance(value, datetime.datetime | datetime.date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    return value


def review_pack_figures(
    *, contract: Contract, period_start: datetime.date, period_end: datetime.date
) -> dict:
    """The pack's figures (see the module), JSON-ready."""
    client = contract.client
    months = _hours_by_month(contract=contract, start=period_start, end=period_end)
    request_types = _request_types(contract=contract, start=period_start, end=period_end)
    recurring = [
        {**t, "ticket_numbers": t["ticket_numbers"][:TICKET_NUMBERS_SHOWN]}
        for t in request_types
        if t["tickets"] >= RECURRING_MIN_TICKETS
    ]
    top = [
        {key: t[key] for key in ("name", "tickets", "minutes")}
        for t in request_types[:TOP_REQUEST_TYPES]
    ]
    last_month = next((m for m in reversed(months) if m["running"]), None)
    block = None
    if contract.kind == Contract.Kind.BLOCK and last_month is not None:
        block = {
            "balance_minutes": last_month["balance_minutes"],
            "as_of": last_month["month"],
            "expired_minutes": sum(m.get("expired_minutes") or 0 for m in months),
        }
    review = review_period_on(contract=contract, on=period_start)
    next_period = None
    if review is not None and review.end == period_end:
        next_period = review_period_on(contract=contract, on=period_end)
    data = {
        "version": DATA_VERSION,
        "client": {"id": client.pk, "name": client.name},
        "contract": {
            "id": contract.pk,
            "name": contract.name,
            "kind": contract.kind,
            "kind_label": contract.get_kind_display(),
            "period": contract.period,
            "period_label": contract.get_period_display(),
            "review_cadence": contract.review_cadence,
            "review_cadence_label": contract.get_review_cadence_display(),
            "starts_on": contract.starts_on,
            "ends_on": contract.ends_on,
            "currency": contract.currency,
            "exclusions": contract.exclusions,
        },
        "period": {
            "start": period_start,
            "end": period_end,
            "last_day": period_end - datetime.timedelta(days=1),
            "review_on": period_end,
        },
        "months": months,
        "totals": {
            "worked_minutes": sum(m["worked_minutes"] for m in months),
            "drawn_minutes": sum(m.get("drawn_minutes") or 0 for m in months),
            "overage_minutes": sum(m.get("overage_minutes") or 0 for m in months),
            "billable_minutes": sum(m.get("billable_minutes") or 0 for m in months),
        },
        "block": block,
        "scope_changes": _scope_changes(contract=contract, start=period_start, end=period_end),
        "request_types": top,
        "recurring_issues": recurring,
        "recurring_min_tickets": RECURRING_MIN_TICKETS,
        "sla": _sla(contract=contract, start=period_start, end=period_end),
        "terms": {
            **renewal_dates(contract=contract, on=period_end),
            "offboarding_fee": contract.offboarding_fee,
            "next_review_on": next_period.review_on if next_period else None,
        },
    }
    return _jsonable(data)


# --- display --------------------------------------------------------------------
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_DATETIME = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}")
# The keys that hold dates and times (never a title that looks like one).
DATE_KEYS = frozenset(
    {
        "start", "end", "last_day", "review_on", "month", "allowance_period_start",
        "allowance_period_end", "decided_on", "starts_on", "ends_on", "renewal_on", "notice_by",
        "next_review_on", "as_of", "due", "done_at",
    }
)  # fmt: skip


def _as_date(value):
    if isinstance(value, str):
        if _DATE.match(value):
            return datetime.date.fromisoformat(value)
        if _DATETIME.match(value):
            try:
                return datetime.datetime.fromisoformat(value)
            except ValueError:
                return value
    return value


def review_pack_display(data: dict) -> dict:
    """``data`` with its ISO dates and times (under ``DATE_KEYS``) turned back
    into dates and datetimes, for the templates' date filters."""

    def convert(value, key=None):
        if isinstance(value, dict):
            return {k: convert(item, k) for k, item in value.items()}
        if isinstance(value, list):
            return [convert(item) for item in value]
        return _as_date(value) if key in DATE_KEYS else value

    return convert(data)


def review_pack_context(
    *, data: dict, organization: Organization, generated_at: datetime.datetime
) -> dict:
    """What the pack's templates read, for the page and the PDF alike."""
    pack = review_pack_display(data)
    scope = pack.get("scope_changes", {})
    return {
        "pack": pack,
        "organization": organization,
        "generated_at": generated_at,
        "before_end": generated_at < _midnight(pack["period"]["end"], organization),
        "scope_groups": [
            {"key": "approved", "title": "Approved", "rows": scope.get("approved", [])},
            {"key": "declined", "title": "Declined", "rows": scope.get("declined", [])},
        ],
    }


def _refuse_urls(url: str, *args, **kwargs):
    """The PDF is made from our own template and stylesheet only: no fetching."""
    raise ValueError(f"review packs load no external resources ({url[:40]})")


def review_pack_pdf(*, organization: Organization, context: dict) -> bytes | None:
    """The print template as PDF with WeasyPrint; None when WeasyPrint or its
    system libraries are not available (the page then offers the browser's
    Print → Save as PDF)."""
    try:
        import weasyprint
    except (ImportError, OSError):
        logger.warning("WeasyPrint is not available: review pack saved without its PDF")
        return None
    with timezone.override(organization.tzinfo):
        html = render_to_string(PRINT_TEMPLATE, context)
    stylesheet = finders.find(STYLESHEET)
    stylesheets = [weasyprint.CSS(filename=stylesheet)] if stylesheet else []
    try:
        return weasyprint.HTML(string=html, url_fetcher=_refuse_urls).write_pdf(
            stylesheets=stylesheets
        )
    except OSError:
        logger.warning("WeasyPrint failed: review pack saved without its PDF", exc_info=True)
        return None


# --- service --------------------------------------------------------------------
OUTSIDE_THE_CALENDAR = (
    f"Choose a day whose review and renewal fall between {FIRST_YEAR} and {LAST_YEAR}."
)


def _supported(*days: datetime.date) -> bool:
    return all(FIRST_YEAR <= day.year <= LAST_YEAR for day in days)


def _calendar_fits(contract: Contract, start: datetime.date, end: datetime.date) -> bool:
    """Whether the pack's dates for [start, end) stay within the supported
    years: the period, the review after it, the renewal and notice deadline
    (month arithmetic past them would leave ``datetime.date``)."""
    if not _supported(start, end):
        return False
    try:
        following = review_period_on(contract=contract, on=end)
        terms = renewal_dates(contract=contract, on=end)
    except (ValueError, OverflowError):
        return False
    days = [terms["renewal_on"], terms["notice_by"], *([following.end] if following else [])]
    return _supported(*days)


def _period_holding(*, contract: Contract, on: datetime.date) -> ReviewPeriod | None:
    """:func:`review_period_on`, refusing (on ``on``) a day whose period or
    renewal leaves the supported years."""
    if on < contract.starts_on or (contract.ends_on is not None and on > contract.ends_on):
        return None  # outside the contract
    try:
        period = review_period_on(contract=contract, on=on) if _supported(on) else None
    except (ValueError, OverflowError):
        period = None
    if period is None or not _calendar_fits(contract, period.start, period.end):
        raise ValidationError({"on": OUTSIDE_THE_CALENDAR})
    return period


def _check_period(contract: Contract, start, end) -> None:
    errors = {}
    if not isinstance(start, datetime.date) or not isinstance(end, datetime.date):
        raise ValidationError({"period_start": "Give the period's first day and the day after."})
    if end <= start:
        errors["period_end"] = "The period must end after it starts."
    elif start < contract.starts_on:
        errors["period_start"] = (
            f"The contract starts on {contract.starts_on:%Y-%m-%d}: choose a period from then on."
        )
    elif contract.ends_on is not None and start > contract.ends_on:
        errors["period_start"] = (
            f"The contract ended on {contract.ends_on:%Y-%m-%d}: choose a period before then."
        )
    elif not _calendar_fits(contract, start, end):
        errors["period_end"] = OUTSIDE_THE_CALENDAR
    if errors:
        raise ValidationError(errors)


def review_pack_build(
    *,
    contract: Contract,
    period_start: datetime.date,
    period_end: datetime.date,
    actor: Membership | None = None,
) -> ReviewPack:
    """Prepare (or prepare again, replacing it) the contract's pack for
    [period_start, period_end), reviewed on ``period_end``: the figures, then
    the PDF from the print template, then one write. ``actor`` None: the job."""
    organization = contract.organization
    if actor is not None and actor.organization_id != organization.pk:
        raise ValidationError({"actor": "Choose a member of this organization."})
    _check_period(contract, period_start, period_end)
    data = review_pack_figures(contract=contract, period_start=period_start, period_end=period_end)
    generated_at = timezone.now()
    context = review_pack_context(data=data, organization=organization, generated_at=generated_at)
    pdf = review_pack_pdf(organization=organization, context=context)
    with transaction.atomic():
        pack, _ = ReviewPack.objects.update_or_create(
            organization=organization,
            contract=contract,
            period_start=period_start,
            period_end=period_end,
            defaults={
                "client": contract.client,
                "review_on": period_end,
                "data": data,
                "pdf": pdf,
                "generated_at": generated_at,
                "generated_by": actor,
            },
        )
    return pack


def review_pack_prepare(
    *, contract: Contract, on: datetime.date | None = None, actor: Membership | None = None
) -> ReviewPack:
    """On demand: the pack of the review period holding ``on`` (default: the
    next review's, as the job would prepare it)."""
    organization = contract.organization
    if on is None:
        try:
            period = next_review(contract=contract, today=organization_today(organization))
            if period is None:
                period = review_period_on(
                    contract=contract, on=contract.ends_on or contract.starts_on
                )
        except (ValueError, OverflowError):
            raise ValidationError({"on": OUTSIDE_THE_CALENDAR}) from None
        if period is not None and not _calendar_fits(contract, period.start, period.end):
            raise ValidationError({"on": OUTSIDE_THE_CALENDAR})
    else:
        period = _period_holding(contract=contract, on=on)
    if period is None:
        raise ValidationError(
            {"on": "That day is outside the contract: choose a day between its start and its end."}
        )
    return review_pack_build(
        contract=contract, period_start=period.start, period_end=period.end, actor=actor
    )


def review_packs_prepare(
    *,
    organization: Organization,
    today: datetime.date | None = None,
    days_ahead: int = PREPARE_DAYS_AHEAD,
) -> int:
    """The daily job: for each contract of a client not ended whose next
    review is within ``days_ahead`` days, prepare its pack unless one exists
    for that period; and prepare again a pack whose period has ended (its
    review today or in the last ``REFRESH_DAYS_AFTER`` days) when it was
    prepared before the period ended, so the pack at the meeting holds the
    period's last days. Idempotent (the unique period; a pack prepared after
    its period ended is left alone); a contract that fails is logged and
    tried again next run. Returns how many packs it prepared (again)."""
    today = today or organization_today(organization)
    horizon = today + datetime.timedelta(days=days_ahead)
    contracts = (
        Contract.objects.filter(organization=organization, starts_on__lt=horizon)
        .filter(Q(ends_on__isnull=True) | Q(ends_on__gte=today - datetime.timedelta(days=1)))
        .exclude(client__status=Client.Status.ENDED)
        .select_related("client", "organization")
        .order_by("pk")
    )
    existing = set(
        ReviewPack.objects.filter(organization=organization, review_on__gte=today).values_list(
            "contract_id", "period_start", "period_end"
        )
    )
    prepared = 0
    for contract in contracts:
        period = next_review(contract=contract, today=today)
        if period is None or period.review_on > horizon:
            continue
        if (contract.pk, period.start, period.end) in existing:
            continue
        try:
            review_pack_build(contract=contract, period_start=period.start, period_end=period.end)
        except Exception:  # one contract's failure must not keep the others' packs back
            logger.exception("review pack of contract %s not prepared", contract.pk)
            continue
        prepared += 1
    ended = (
        ReviewPack.objects.filter(
            organization=organization,
            review_on__lte=today,
            review_on__gte=today - datetime.timedelta(days=REFRESH_DAYS_AFTER),
        )
        .exclude(client__status=Client.Status.ENDED)
        .select_related("contract__client", "contract__organization")
        .defer("pdf", "data")
        .order_by("pk")
    )
    for pack in ended:
        if pack.generated_at >= _midnight(pack.period_end, organization):
            continue  # prepared once the period had ended: complete
        try:
            review_pack_build(
                contract=pack.contract, period_start=pack.period_start, period_end=pack.period_end
            )
        except Exception:  # as above
            logger.exception("review pack %s not prepared again", pack.pk)
            continue
        prepared += 1
    return prepared


# --- selectors ------------------------------------------------------------------
def review_pack_list(
    *, organization: Organization, membership: Membership | None = None, with_data: bool = False
) -> QuerySet[ReviewPack]:
    """Packs newest review first, without their PDF bytes (``has_pdf`` says
    whether there is one) nor, unless ``with_data``, their figures; with
    ``membership``, only the clients whose money they read (finance and
    admins every client's, an account manager their own clients')."""
    queryset = (
        ReviewPack.objects.filter(organization=organization)
        .select_related("client", "contract", "generated_by__user")
        .defer("pdf", *([] if with_data else ["data"]))
        .annotate(
            has_pdf=ExpressionWrapper(Q(pdf__isnull=False), output_field=BooleanField()),
        )
        .order_by("-review_on", "client__name", "-pk")
    )
    if membership is not None:
        queryset = money_reach(membership=membership).clients_of(queryset, "client")
    return queryset


def review_pack_get(*, organization: Organization, pk: int) -> ReviewPack | None:
    """One pack with its figures (not its PDF bytes), or None."""
    return (
        ReviewPack.objects.filter(organization=organization, pk=pk)
        .select_related("client", "contract", "generated_by__user")
        .defer("pdf")
        .annotate(has_pdf=ExpressionWrapper(Q(pdf__isnull=False), output_field=BooleanField()))
        .first()
    )


def review_pack_pdf_bytes(*, pack: ReviewPack) -> bytes | None:
    """The pack's PDF, read only when downloaded."""
    pdf = (
        ReviewPack.objects.filter(organization=pack.organization_id, pk=pack.pk)
        .values_list("pdf", flat=True)
        .first()
    )
    return bytes(pdf) if pdf is not None else None


def review_pack_clients(*, organization: Organization, membership: Membership) -> QuerySet:
    """The clients whose packs the member may read and prepare."""
    clients = Client.objects.filter(organization=organization).order_by("name")
    return money_reach(membership=membership).clients_of(clients)


def review_pack_contracts(*, client: Client) -> QuerySet[Contract]:
    """The client's contracts a pack can be prepared for, newest first."""
    return Contract.objects.filter(organization=client.organization_id, client=client).order_by(
        "-starts_on", "-pk"
    )
