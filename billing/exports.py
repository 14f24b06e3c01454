"""Exports of a billing period's saved drafts: invoice CSVs for Xero and
QuickBooks Online, the drafts with their provenance as JSON, and the month's
time, portion by portion, as CSV.

Money stays exact. A line's amount is exported as it was computed; its
quantity and unit price are exported as they are only when quantity × unit
price is exactly the amount. Otherwise (e.g. 25 min at 95.00/h: 0.4167 ×
95.00 = 39.5865, the amount is 39.58) the line goes out as quantity 1 at the
amount, with the time charged in its description, so the accounting package
never recomputes a different total. Zero-priced lines (included work, work
drawn from a block, write-offs) go out at 0, so the client sees them.

Cells are protected from formula injection (OWASP "CSV injection"): a text
cell starting with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return gets
a leading apostrophe, which spreadsheets show as text. Numbers (money,
quantities, minutes) are written as plain numbers, never prefixed: a credit
stays ``-120.00``.
"""

import csv
import datetime
import io
import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from decimal import Decimal

from django.core.serializers.json import DjangoJSONEncoder
from django.db.models import Prefetch
from django.utils.text import slugify

from msops.display import member_name

from .models import (
    Adjustment,
    BillingPeriod,
    EntryPortion,
    InvoiceDraft,
    InvoiceLine,
    PeriodEvent,
)
from .pricing import month_bounds
from .pricing.engine import SOURCE_KEYS

FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")
XERO, QUICKBOOKS = "xero", "quickbooks"
LAYOUTS = (XERO, QUICKBOOKS)

# Xero's sales invoice import template (Business › Invoices › Import): its
# header row as Xero writes it, the asterisks marking required columns.
XERO_COLUMNS = (
    "*ContactName",
    "EmailAddress",
    "POAddressLine1",
    "POAddressLine2",
    "POAddressLine3",
    "POAddressLine4",
    "POCity",
    "PORegion",
    "POPostalCode",
    "POCountry",
    "*InvoiceNumber",
    "Reference",
    "*InvoiceDate",
    "*DueDate",
    "InventoryItemCode",
    "*Description",
    "*Quantity",
    "*UnitAmount",
    "Discount",
    "*AccountCode",
    "*TaxType",
    "TrackingName1",
    "TrackingOption1",
    "TrackingName2",
    "TrackingOption2",
    "Currency",
    "BrandingTheme",
)
# QuickBooks Online's invoice import (Settings › Import data › Invoices):
# these headers map without manual mapping.
QUICKBOOKS_COLUMNS = (
    "InvoiceNo",
    "Customer",
    "InvoiceDate",
    "DueDate",
    "Terms",
    "Memo",
    "Item(Product/Service)",
    "ItemDescription",
    "ItemQuantity",
    "ItemRate",
    "ItemAmount",
    "ItemTaxCode",
    "ServiceDate",
    "Currency",
)
# Dates as each package's import reads them by default (Xero: day first, as
# its template says; QuickBooks Online: its US default, chosen on import).
DATE_FORMATS = {XERO: "%d/%m/%Y", QUICKBOOKS: "%m/%d/%Y"}
ENTRY_COLUMNS = (
    "Date",
    "Person",
    "Ticket",
    "TicketTitle",
    "Entry",
    "Portion",
    "Minutes",
    "Status",
    "Decision",
    "Classification",
    "DecidedBy",
    "Rule",
    "Treatment",
    "Contract",
    "InvoiceLine",
    "LineDescription",
    "Notes",
)


# --- cells -------------------------------------------------------------------------------
class Number(str):
    """A cell already written as a plain number: exported as it is."""


def safe_text(value: str) -> str:
    """``value`` neutralised for spreadsheets: a leading apostrophe when it
    would start a formula (=, +, -, @, tab, carriage return)."""
    return f"'{value}" if value.startswith(FORMULA_PREFIXES) else value


def money(value: Decimal) -> Number:
    """To the cent, plain: ``-120.00``."""
    return Number(f"{Decimal(value).quantize(Decimal('0.01')):f}")


def quantity(value: Decimal) -> Number:
    """As few places as it needs (at most four): ``1.5``, ``10``, ``0.4167``."""
    return Number(f"{Decimal(value).quantize(Decimal('0.0001')).normalize():f}")


def unit_amount(value: Decimal) -> Number:
    """To the cent when that is exact, else to four places (``33.3333``)."""
    value = Decimal(value)
    cent = value.quantize(Decimal("0.01"))
    return money(cent) if cent == value else Number(f"{value.quantize(Decimal('0.0001')):f}")


def _cell(value) -> str:
    if value is None:
        return ""
    if isinstance(value, Number):
        return str(value)
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int | Decimal):
        return str(value)
    return safe_text(str(value))


def _csv(header: Iterable[str], rows: Iterable[Iterable]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(header)
    for row in rows:
        writer.writerow([_cell(v) for v in row])
    return out.getvalue()


def hm(minutes: int) -> str:
    return f"{minutes // 60}:{minutes % 60:02d} h"


# --- reads -------------------------------------------------------------------------------
def _period(period: BillingPeriod) -> BillingPeriod:
    return BillingPeriod.objects.select_related(
        "client", "client__organization", "review_started_by__user", "locked_by__user",
        "exported_by__user",
    ).get(organization=period.organization_id, pk=period.pk)  # fmt: skip


def _drafts(period: BillingPeriod) -> list[InvoiceDraft]:
    lines = InvoiceLine.objects.filter(organization=period.organization_id).select_related(
        "ticket", "contract"
    )
    return list(
        InvoiceDraft.objects.filter(organization=period.organization_id, period=period)
        .order_by("currency")
        .prefetch_related(Prefetch("lines", queryset=lines.order_by("position")))
    )


# --- invoice CSV -------------------------------------------------------------------------
def invoice_number(period: BillingPeriod, draft: InvoiceDraft, currencies: int) -> str:
    """The same for every export of the period, so a second import of the
    file is refused by the accounting package as a duplicate."""
    number = f"MS-{period.month:%Y%m}-{period.client_id}"
    return f"{number}-{draft.currency}" if currencies > 1 else number


def line_terms(line: InvoiceLine) -> tuple[Decimal, Decimal, str]:
    """(quantity, unit price, description) that reproduce the amount exactly."""
    if line.quantity * line.unit_price == line.amount:
        return line.quantity, line.unit_price, line.description
    time = f"{hm(line.billed_minutes)} at {unit_amount(line.unit_price)}/h"
    if not line.billed_minutes:
        time = f"{quantity(line.quantity)} × {unit_amount(line.unit_price)}"
    return Decimal(1), line.amount, f"{line.description} ({time})"


def invoice_csv(
    period: BillingPeriod,
    layout: str = XERO,
    *,
    account_code: str = "200",
    tax_type: str = "",
    due_days: int = 30,
    date_format: str | None = None,
) -> str:
    """One row per invoice line of the period's drafts (one invoice per
    draft, i.e. per currency), in Xero's or QuickBooks Online's import
    layout. The invoice is dated the month's last day and due ``due_days``
    later; ``account_code`` and ``tax_type`` are the practice's own codes
    (Xero's default chart calls its sales account 200)."""
    if layout not in LAYOUTS:
        raise ValueError(f"Unknown layout {layout!r}: choose one of {', '.join(LAYOUTS)}.")
    period = _period(period)
    drafts = _drafts(period)
    _, next_month = month_bounds(period.month)
    invoice_date = next_month - datetime.timedelta(days=1)
    due_date = invoice_date + datetime.timedelta(days=due_days)
    fmt = date_format or DATE_FORMATS[layout]
    client = period.client.name
    rows = []
    for draft in drafts:
        number = invoice_number(period, draft, len(drafts))
        for line in draft.lines.all():
            qty, price, description = line_terms(line)
            if layout == XERO:
                rows.append([
                    client, "", "", "", "", "", "", "", "", "", number,
                    f"{period.month:%Y-%m}", invoice_date.strftime(fmt), due_date.strftime(fmt),
                    "", description, quantity(qty), unit_amount(price), "", account_code,
                    tax_type, "", "", "", "", line.currency, "",
                ])  # fmt: skip
            else:
                rows.append([
                    number, client, invoice_date.strftime(fmt), due_date.strftime(fmt),
                    f"Net {due_days}", f"{period.month:%Y-%m}", line.get_kind_display(),
                    description, quantity(qty), unit_amount(price), money(line.amount),
                    tax_type, invoice_date.strftime(fmt), line.currency,
                ])  # fmt: skip
    return _csv(XERO_COLUMNS if layout == XERO else QUICKBOOKS_COLUMNS, rows)


# --- JSON --------------------------------------------------------------------------------
def _when(moment: datetime.datetime | None) -> str | None:
    return moment.isoformat() if moment else None


def sources_of(line: InvoiceLine) -> dict:
    """Every kind of source (``SOURCE_KEYS``) with the ids behind the line
    (empty: none), and ``portion_minutes``: {portion id: its minutes on this
    line} for the portions only part of which is on it (see
    :class:`billing.models.InvoiceLine`)."""
    given = line.sources or {}
    out: dict = {key: list(given.get(key, [])) for key in SOURCE_KEYS}
    out["portion_minutes"] = portion_minutes(line)
    return out


def portion_minutes(line: InvoiceLine) -> dict[str, int]:
    """{portion id: minutes} of the portions only part of which is on ``line``."""
    given = (line.sources or {}).get("portion_minutes") or {}
    return {str(k): v for k, v in given.items() if isinstance(v, int)}


def line_json(line: InvoiceLine) -> dict:
    return {
        "id": line.pk,
        "position": line.position,
        "kind": line.kind,
        "kind_display": line.get_kind_display(),
        "description": line.description,
        "contract": line.contract_id,
        "contract_name": line.contract.name if line.contract_id else None,
        "ticket": line.ticket_id,
        "ticket_number": line.ticket.number if line.ticket_id else None,
        "scope_check": line.scope_check_id,
        "minutes": line.minutes,
        "billed_minutes": line.billed_minutes,
        "quantity": f"{line.quantity:f}",
        "unit": line.unit,
        "unit_price": f"{line.unit_price:f}",
        "amount": f"{line.amount:f}",
        "currency": line.currency,
        "computation": line.computation,
        "sources": sources_of(line),
    }


def invoice_json(period: BillingPeriod) -> dict:
    """The period, its client and status, each draft with its total and its
    lines with every field and their sources; the period's history and the
    adjustments that correct it. Money as strings, exact."""
    period = _period(period)
    drafts = _drafts(period)
    events = PeriodEvent.objects.filter(
        organization=period.organization_id, period=period
    ).select_related("actor__user")
    corrections = Adjustment.objects.filter(
        organization=period.organization_id, corrects=period
    ).select_related("period", "created_by__user")
    return {
        "period": {
            "id": period.pk,
            "month": f"{period.month:%Y-%m}",
            "status": period.status,
            "version": period.version,
            "review_started_at": _when(period.review_started_at),
            "review_started_by": member_name(period.review_started_by),
            "locked_at": _when(period.locked_at),
            "locked_by": member_name(period.locked_by),
            "exported_at": _when(period.exported_at),
            "exported_by": member_name(period.exported_by),
        },
        "client": {"id": period.client_id, "name": period.client.name},
        "status": period.status,
        "totals": {d.currency: f"{d.total:f}" for d in drafts},
        "drafts": [
            {
                "id": d.pk,
                "currency": d.currency,
                "total": f"{d.total:f}",
                "cost": f"{d.cost:f}",
                "computed_at": _when(d.computed_at),
                "lines": [line_json(line) for line in d.lines.all()],
            }
            for d in drafts
        ],
        "events": [
            {"action": e.action, "actor": member_name(e.actor), "at": _when(e.at), "note": e.note}
            for e in events
        ],
        "corrections": [
            {
                "id": a.pk,
                "billed_in": f"{a.period.month:%Y-%m}",
                "description": a.description,
                "amount": f"{a.amount:f}",
                "currency": a.currency,
                "reason": a.reason,
                "created_by": member_name(a.created_by),
                "created_at": _when(a.created_at),
            }
            for a in corrections
        ],
    }


# --- time entries CSV --------------------------------------------------------------------
def time_entries_csv(period: BillingPeriod) -> str:
    """One row per entry portion of the client's month and invoice line it
    is on: when, who, which ticket, how many minutes with which meaning, the
    decision and rule it came from, and the line (none: it waits, or is on no
    line). A portion split between lines (included up to a retainer's
    allowance, the rest overage) has a row per line with that line's
    minutes, so the rows add up to the month's minutes."""
    period = _period(period)
    start, end = month_bounds(period.month)
    on_lines: dict[int, list[tuple[InvoiceLine, int | None]]] = {}
    lines = InvoiceLine.objects.filter(organization=period.organization_id, period=period)
    for line in lines.order_by("draft__currency", "position"):
        split = portion_minutes(line)
        for portion_id in (line.sources or {}).get("portions", []):
            on_lines.setdefault(portion_id, []).append((line, split.get(str(portion_id))))
    portions = (
        EntryPortion.objects.filter(
            organization=period.organization_id,
            ticket__client=period.client_id,
            work_date__gte=start,
            work_date__lt=end,
        )
        .select_related(
            "entry__person__user",
            "ticket",
            "decision__decided_by__user",
            "scope_rule__request_type",
            "contract",
        )
        .order_by("work_date", "entry_id", "position")
    )
    rows = []
    for p in portions:
        rule = (
            f"{p.scope_rule.request_type.name}: {p.scope_rule.get_treatment_display()}"
            if p.scope_rule_id
            else ""
        )
        for line, minutes in on_lines.get(p.pk) or [(None, None)]:
            rows.append([
                p.work_date.isoformat(), member_name(p.entry.person), p.ticket.number,
                p.ticket.title, p.entry_id, p.pk, p.minutes if minutes is None else minutes,
                p.get_status_display(), p.decision_id,
                p.decision.get_classification_display() if p.decision_id else "",
                member_name(p.decision.decided_by) if p.decision_id else "", rule,
                p.get_treatment_display(), p.contract.name if p.contract_id else "",
                line.position if line else None, line.description if line else "", p.entry.notes,
            ])  # fmt: skip
    return _csv(ENTRY_COLUMNS, rows)


# --- the formats -------------------------------------------------------------------------
@dataclass(frozen=True)
class Export:
    """One way to download a locked period."""

    label: str
    content_type: str  # with its charset: CSV in UTF-8; JSON is UTF-8 by definition
    filename: str  # ``{name}``: the client's slug and the month
    write: Callable[..., str]  # (period, **invoice options) → the file's text


def _json_text(period: BillingPeriod, **options) -> str:
    return json.dumps(invoice_json(period), cls=DjangoJSONEncoder, indent=2)


CSV = "text/csv; charset=utf-8"
# The formats by name, as the period page and the API take them. Options
# (``account_code``, ``tax_type``, ``due_days``) apply to the invoice CSVs.
EXPORTS: dict[str, Export] = {
    XERO: Export(
        "Xero invoice import (CSV)", CSV, "{name}-xero.csv",
        lambda period, **options: invoice_csv(period, XERO, **options),
    ),
    QUICKBOOKS: Export(
        "QuickBooks Online invoice import (CSV)", CSV, "{name}-quickbooks.csv",
        lambda period, **options: invoice_csv(period, QUICKBOOKS, **options),
    ),
    "json": Export(
        "Drafts, lines and sources (JSON)", "application/json", "{name}.json",
        _json_text,
    ),
    "entries": Export(
        "Time entries, portion by portion (CSV)", CSV, "{name}-time-entries.csv",
        lambda period, **options: time_entries_csv(period),
    ),
}  # fmt: skip
EXPORT_CHOICES = [(name, export.label) for name, export in EXPORTS.items()]


def export_file(period: BillingPeriod, fmt: str, **options) -> tuple[str, str, str]:
    """(text, content type, file name) of the period's export in ``fmt``
    (a key of ``EXPORTS``)."""
    export = EXPORTS[fmt]
    name = f"{slugify(period.client.name) or 'client'}-{period.month:%Y-%m}"
    return export.write(period, **options), export.content_type, export.filename.format(name=name)
