"""The insights page: revenue leakage, allowance use, billing questions,
catch-all use, late entries and concentration of context
(:mod:`billing.selectors.insights`), each as a chart and the same numbers in
a table (the accessible version, and what the CSV export holds). Each number
links to the list of the records behind it.

Who: account managers (their own clients), finance and admins (every
client); developers 403. The range is ``?from=YYYY-MM&to=YYYY-MM`` (both
months included; the last 12 months by default); a bad month is a 400
naming the field.

The tables are built here once (:func:`insight_tables`): the page renders
them and the CSV writes the same rows, so both always agree. The brief's
staleness is a transitions rule, filled in here (faces may read every app).
"""

import csv
import dataclasses
import datetime
import io
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation

from django.http import Http404, HttpRequest, HttpResponse
from django.urls import reverse
from django.utils.http import urlencode
from django.views.decorators.http import require_GET

from billing.exports import safe_text
from clients.templatetags.msops_format import minutes_hm, money
from msops.calendar import add_months, parse_month
from msops.htmx import render_local
from msops.tenancy.models import Membership
from msops.tenancy.roles import MONEY_READERS, require_role
from msops.timezones import organization_today
from transitions.briefs import client_brief_is_stale, client_brief_list

from ..models import DecisionLogEntry, ExceptionFlag
from ..selectors.insights import LEAKAGE_COMPONENTS, QUESTION_KINDS, Insights, insights

TEMPLATE = "billing/insights.html"
DEFAULT_MONTHS = 12
MAX_MONTHS = 36  # the page answers in a second for a year; three years at most
TABLE_NAMES = (
    "leakage",
    "allowance",
    "questions_by_client",
    "questions_by_type",
    "catch_all",
    "late_entries",
    "concentration",
)


# --- the range --------------------------------------------------------------------
def parse_range(params, today: datetime.date) -> tuple[datetime.date, datetime.date, dict]:
    """(first day, first day after the last month, errors by field) from
    ``from`` and ``to`` (``YYYY-MM``); the last ``DEFAULT_MONTHS`` months
    without them."""
    errors: dict[str, str] = {}
    raw_to, raw_from = params.get("to") or "", params.get("from") or ""
    last = parse_month(raw_to) if raw_to else today.replace(day=1)
    if last is None or (raw_to and len(raw_to.strip()) != 7):
        errors["to"] = "Not a month: give it as YYYY-MM (e.g. 2026-12)."
        last = today.replace(day=1)
    first = parse_month(raw_from) if raw_from else add_months(last, 1 - DEFAULT_MONTHS)
    if first is None or (raw_from and len(raw_from.strip()) != 7):
        errors["from"] = "Not a month: give it as YYYY-MM (e.g. 2026-01)."
        first = add_months(last, 1 - DEFAULT_MONTHS)
    if not errors:
        if first > last:
            errors["from"] = "The first month comes after the last."
        elif add_months(first, MAX_MONTHS) <= last:
            errors["to"] = f"At most {MAX_MONTHS} months at once."
    return first, add_months(last, 1), errors


def insights_for(*, membership: Membership, start, end, only: str | None = None) -> Insights:
    """The selector's figures (``only``: one series) with each client's brief
    staleness filled in (``transitions.briefs.client_brief_is_stale``; one query)."""
    organization = membership.organization
    report = insights(organization=organization, start=start, end=end, viewer=membership, only=only)
    if report.concentration:
        today = organization_today(organization)
        ids = {row.client_id for row in report.concentration}
        briefs = {
            b.client_id: b
            for b in client_brief_list(organization=organization).filter(client_id__in=ids)
        }
        report.concentration = [
            dataclasses.replace(
                row,
                brief_stale=client_brief_is_stale(brief=briefs.get(row.client_id), today=today),
            )
            for row in report.concentration
        ]
    return report


# --- tables -----------------------------------------------------------------------
@dataclass(frozen=True)
class Cell:
    text: str  # as shown
    value: str  # as exported (plain numbers: minutes, 1234.50, 12.5)
    href: str = ""


@dataclass
class Table:
    name: str
    title: str
    caption: str
    header: list[str]
    rows: list[list[Cell]] = field(default_factory=list)
    charts: list[str] = field(default_factory=list)  # its canvases' ids (insights.js)


def _c(text, value=None, href: str = "") -> Cell:
    return Cell(text=str(text), value=str(text if value is None else value), href=href)


def _pct(value) -> Cell:
    return _c("—" if value is None else f"{value} %", "" if value is None else value)


def insight_tables(report: Insights, *, slug: str) -> list[Table]:
    """Every series as a table of cells with the links to their records."""

    def url(name: str, query: dict | None = None, **kwargs) -> str:
        base = reverse(name, kwargs={"org": slug, **kwargs})
        return f"{base}?{urlencode(query)}" if query else base

    tickets = "tickets:ticket_list"
    flags = "billing:flag_list"
    tables = []

    leakage = Table(
        "leakage",
        "Revenue leakage per month",
        "Revenue not billed per month and currency: written off, absorbed past"
        " thresholds, excluded work not billed",
        ["Month", "Currency", *[label for _, label in LEAKAGE_COMPONENTS], "Total",
         "Minutes without a rate"],
    )  # fmt: skip
    for row in report.leakage:
        month = url("billing:finance_month", month=row.month.strftime("%Y-%m"))
        cells = [_c(row.month.strftime("%Y-%m")), _c(row.currency)]
        for key, _ in LEAKAGE_COMPONENTS:
            cell = row.cells[key]
            cells.append(_c(money(cell.amount, row.currency), cell.amount, month))
        unpriced = sum(c.unpriced_minutes for c in row.cells.values())
        cells += [
            _c(money(row.total, row.currency), row.total, month),
            _c(minutes_hm(unpriced), unpriced),
        ]
        leakage.rows.append(cells)
    tables.append(leakage)

    allowance = Table(
        "allowance",
        "Allowance use per client",
        "Time counted against retainer allowances and block balances per client",
        ["Client", "Allowance (h:mm)", "Used (h:mm)", "Used %"],
    )
    for row in report.allowance:
        work = url(tickets, {"client": row.client_id})
        allowance.rows.append(
            [
                _c(row.client, href=url("clients:client_detail", pk=row.client_id)),
                _c(minutes_hm(row.allowance_minutes), row.allowance_minutes),
                _c(minutes_hm(row.used_minutes), row.used_minutes, work),
                _pct(row.percent),
            ]
        )
    tables.append(allowance)

    labels = [label for _, label in QUESTION_KINDS]
    by_client = Table(
        "questions_by_client",
        "Billing questions and disputes per client",
        "Clients that raise the most billing questions and disputes",
        ["Client", *labels, "Total"],
    )
    log_kinds = {
        "overrides": DecisionLogEntry.Kind.RULE_OVERRIDDEN,
        "rejected": DecisionLogEntry.Kind.SCOPE_CHECK_REJECTED,
    }
    for row in report.questions_by_client:
        log = url("billing:decision_log", pk=row.key)
        hrefs = {
            "unclear": url(tickets, {"client": row.key}),
            "overrides": url("billing:decision_log", {"kind": log_kinds["overrides"]}, pk=row.key),
            "rejected": log,
            "review_items": url("billing:review_current", {"status": "all"}),
        }
        by_client.rows.append(
            [_c(row.name)]
            + [_c(row.counts[k], href=hrefs[k]) for k, _ in QUESTION_KINDS]
            + [_c(row.total, href=log)]
        )
    tables.append(by_client)

    by_type = Table(
        "questions_by_type",
        "Billing questions and disputes per request type",
        "Request types that raise the most billing questions and disputes",
        ["Request type", *labels, "Total"],
    )
    for row in report.questions_by_type:
        of_type = url(tickets, {"request_type": row.key})
        by_type.rows.append(
            [_c(row.name)]
            + [_c(row.counts[k], href=of_type) for k, _ in QUESTION_KINDS]
            + [_c(row.total, href=of_type)]
        )
    tables.append(by_type)

    catch_all = Table(
        "catch_all",
        "Catch-all use per client",
        "Time logged under catch-all request types per client",
        ["Client", "Time logged (h:mm)", "Under catch-all types (h:mm)", "Share",
         "Catch-all flags"],
    )  # fmt: skip
    for row in report.catch_all:
        catch_all.rows.append(
            [
                _c(row.client),
                _c(minutes_hm(row.minutes), row.minutes, url(tickets, {"client": row.client_id})),
                _c(minutes_hm(row.catch_all_minutes), row.catch_all_minutes),
                _pct(row.share),
                _c(
                    row.flags,
                    href=url(
                        flags,
                        {
                            "kind": ExceptionFlag.Kind.CATCH_ALL,
                            "client": row.client_id,
                            "status": "all",
                        },
                    ),
                ),
            ]
        )
    tables.append(catch_all)

    late = Table(
        "late_entries",
        "Late entries per person",
        "Time entries entered long after the work, per person",
        ["Person", "Entries", "Late entries", "Share late"],
    )
    for row in report.late_entries:
        late.rows.append(
            [
                _c(row.person),
                _c(row.entries, href=url("billing:timesheet", {"person": row.person_id})),
                _c(
                    row.late,
                    href=url(
                        flags,
                        {
                            "kind": ExceptionFlag.Kind.LATE_ENTRY,
                            "person": row.person_id,
                            "status": "all",
                        },
                    ),
                ),
                _pct(row.share),
            ]
        )
    tables.append(late)

    concentration = Table(
        "concentration",
        "Concentration of context",
        "Share of each client's time logged by one person, and whether its brief is stale",
        ["Client", "Time logged (h:mm)", "Top person", "Their time (h:mm)", "Share",
         "Brief"],
    )  # fmt: skip
    for row in report.concentration:
        brief = {None: "—", True: "Stale", False: "Current"}[row.brief_stale]
        concentration.rows.append(
            [
                _c(row.client),
                _c(minutes_hm(row.minutes), row.minutes, url(tickets, {"client": row.client_id})),
                _c(row.person),
                _c(minutes_hm(row.person_minutes), row.person_minutes),
                _pct(row.share),
                _c(brief, href=url("transitions:client_brief", pk=row.client_id)),
            ]
        )
    tables.append(concentration)
    return tables


def chart_data(report: Insights, tables: list[Table]) -> dict:
    """What static/js/insights.js draws: per chart its canvas id, labels and
    datasets (numbers only; the tables carry the words)."""
    charts = []
    currencies = sorted({row.currency for row in report.leakage})
    for currency in currencies:
        rows = {row.month: row for row in report.leakage if row.currency == currency}
        months = report.months
        charts.append(
            {
                "canvas": f"chart-leakage-{currency}",
                "table": "leakage",
                "type": "bar",
                "stacked": True,
                "labels": [m.strftime("%Y-%m") for m in months],
                "datasets": [
                    {
                        "label": f"{label} ({currency})",
                        "data": [
                            float(rows[m].cells[key].amount) if m in rows else 0 for m in months
                        ],
                    }
                    for key, label in LEAKAGE_COMPONENTS
                ],
            }
        )

    def ranked(name, label_of, series: list[tuple[str, callable]], stacked=False):
        rows = getattr(report, name)
        charts.append(
            {
                "canvas": f"chart-{name.replace('_', '-')}",
                "table": name,
                "type": "bar",
                "stacked": stacked,
                "horizontal": True,
                "labels": [label_of(r) for r in rows],
                "datasets": [
                    {"label": label, "data": [float(value(r) or 0) for r in rows]}
                    for label, value in series
                ],
            }
        )

    ranked(
        "allowance",
        lambda r: r.client,
        [("Allowance (hours)", lambda r: r.allowance_minutes / 60),
         ("Used (hours)", lambda r: r.used_minutes / 60)],
    )  # fmt: skip
    for name in ("questions_by_client", "questions_by_type"):
        ranked(
            name,
            lambda r: r.name,
            [(label, lambda r, k=k: r.counts[k]) for k, label in QUESTION_KINDS],
            stacked=True,
        )
    ranked(
        "catch_all", lambda r: r.client, [("Share under catch-all types (%)", lambda r: r.share)]
    )
    ranked("late_entries", lambda r: r.person, [("Late entries", lambda r: r.late)])
    ranked(
        "concentration", lambda r: r.client, [("Share logged by one person (%)", lambda r: r.share)]
    )
    return {"charts": charts}


# --- pages ------------------------------------------------------------------------
def _context(request: HttpRequest) -> tuple[dict, int]:
    membership = require_role(request, *MONEY_READERS)
    organization = request.organization
    start, end, errors = parse_range(request.GET, organization_today(organization))
    context = {
        "errors": errors,
        "from_value": request.GET.get("from") or start.strftime("%Y-%m"),
        "to_value": request.GET.get("to") or add_months(end, -1).strftime("%Y-%m"),
        "start": start,
        "last_month": add_months(end, -1),
        "tables": [],
        "data": {"charts": []},
    }
    if errors:
        return context, 400
    report = insights_for(membership=membership, start=start, end=end)
    tables = insight_tables(report, slug=organization.slug)
    data = chart_data(report, tables)
    for table in tables:
        if table.rows:
            table.charts = [c["canvas"] for c in data["charts"] if c["table"] == table.name]
    context.update(report=report, tables=tables, data=data)
    return context, 200


@require_GET
def insights_page(request: HttpRequest, org: str) -> HttpResponse:
    context, status = _context(request)
    return render_local(request, TEMPLATE, context, status=status)


def _csv_cell(value) -> str:
    """A number as it is; text neutralised for spreadsheets (a name starting
    with ``=`` must not run as a formula)."""
    text = str(value)
    try:
        Decimal(text)
    except InvalidOperation:
        return safe_text(text)
    return text


@require_GET
def insights_csv(request: HttpRequest, org: str) -> HttpResponse:
    """One series' table as CSV (``?series=<name>``, the first series without
    one, and the page's range)."""
    name = request.GET.get("series") or TABLE_NAMES[0]
    context, status = _context(request)
    if name not in TABLE_NAMES:
        context["errors"]["series"] = f"Not a series: choose one of {', '.join(TABLE_NAMES)}."
        status = 400
    if status != 200:
        text = "; ".join(f"{k}: {v}" for k, v in context["errors"].items())
        return HttpResponse(text, status=400, content_type="text/plain; charset=utf-8")
    table = next((t for t in context["tables"] if t.name == name), None)
    if table is None:  # pragma: no cover - every name has a table
        raise Http404
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow([safe_text(str(heading)) for heading in table.header])
    for row in table.rows:
        writer.writerow([_csv_cell(cell.value) for cell in row])
    response = HttpResponse(out.getvalue(), content_type="text/csv; charset=utf-8")
    period = f"{context['start']:%Y-%m}_{context['last_month']:%Y-%m}"
    response["Content-Disposition"] = f'attachment; filename="insights-{name}-{period}.csv"'
    return response
