"""The service-level report page and its CSV: how a contract, a client or the
whole practice kept its SLA over a period (figures from tickets.sla_report).

Account managers, finance and admins read it; developers get a 403. The
filter form swaps the report's body over htmx; the same view renders the
page in full otherwise (one access check for both)."""

import csv
import io
from decimal import Decimal

from django import forms
from django.http import HttpRequest, HttpResponse
from django.views.decorators.http import require_GET

from billing.exports import safe_text
from clients.models import Client, Contract, Priority
from clients.selectors import sla_target_list
from msops.display import local_time
from msops.htmx import htmx_template, render_local
from msops.tenancy.roles import MONEY_READERS, require_role
from msops.timezones import organization_today

from .sla_report import SLAReport, period_presets, sla_report, sla_report_period

TEMPLATE = "tickets/sla_report.html"
# Who reads service levels: the people who talk to clients about them and
# about the money behind them (account managers, finance, admins).
SLA_REPORT_READERS = MONEY_READERS


class SLAReportFilterForm(forms.Form):
    """Client, one of its contracts, and the period ("2026", "2026-Q3", "2026-11")."""

    client = forms.ModelChoiceField(
        queryset=Client.objects.none(), required=False, empty_label="Every client"
    )
    contract = forms.ModelChoiceField(
        queryset=Contract.objects.none(), required=False, empty_label="Every contract"
    )
    period = forms.CharField(
        required=False,
        max_length=20,
        help_text="2026, 2026-Q3 or 2026-11",
    )

    def __init__(self, *args, organization, **kwargs):
        super().__init__(*args, **kwargs)
        self.organization = organization
        self.fields["client"].queryset = Client.objects.filter(organization=organization).order_by(
            "name", "pk"
        )
        self.fields["contract"].queryset = (
            Contract.objects.filter(organization=organization)
            .select_related("client")
            .order_by("client__name", "name", "pk")
        )
        self.fields["contract"].label_from_instance = lambda c: f"{c.client.name} — {c.name}"

    def clean_period(self):
        value = (self.cleaned_data.get("period") or "").strip()
        period = sla_report_period(value, organization=self.organization)
        if period is None:
            raise forms.ValidationError(
                "Give a year (2026), a quarter (2026-Q3) or a month (2026-11), years 1900–9998."
            )
        return period

    def clean(self):
        data = super().clean()
        client, contract = data.get("client"), data.get("contract")
        if client is not None and contract is not None and contract.client_id != client.pk:
            self.add_error("contract", "This contract is not one of the client's.")
        return data


def _report_for(request: HttpRequest):
    """The filter form and, when it is valid, the report it asks for."""
    organization = request.organization
    form = SLAReportFilterForm(request.GET, organization=organization)  # no period: this month
    if not form.is_valid():
        return form, None
    data = form.cleaned_data
    start, end = data["period"]
    report = sla_report(
        organization=organization,
        start=start,
        end=end,
        contract=data.get("contract"),
        client=data.get("client"),
    )
    return form, report


def _targets(request: HttpRequest, contract) -> list:
    if contract is None:
        return []
    order = {value: rank for rank, value in enumerate(Priority.values)}
    targets = sla_target_list(organization=request.organization).filter(contract=contract)
    return sorted(targets, key=lambda t: order.get(t.priority, len(order)))


@require_GET
def sla_report_page(request: HttpRequest, org: str) -> HttpResponse:
    require_role(request, *SLA_REPORT_READERS)
    form, report = _report_for(request)
    data = getattr(form, "cleaned_data", {})  # the valid fields, also when another is not
    today = organization_today(request.organization)
    context = {
        "form": form,
        "report": report,
        "presets": period_presets(today),
        "period_value": _period_text(form),
        "chosen_client": data.get("client"),
        "chosen_contract": data.get("contract"),
        "targets": _targets(request, data.get("contract")),
        "csv_query": request.GET.urlencode(),
    }
    # Bad input is a 400; an htmx swap gets it as 200, as htmx swaps no error
    # answers, so that the messages show in the report's place.
    status = 200 if report is not None or request.htmx else 400
    return render_local(
        request, htmx_template(request, TEMPLATE, "sla-report-body"), context, status=status
    )


def _period_text(form: SLAReportFilterForm) -> str:
    return (form.data.get("period") or "").strip()


def _cell(value) -> str:
    if value is None:
        return ""
    if isinstance(value, int | Decimal):
        return str(value)
    return safe_text(str(value))


def sla_report_csv_text(report: SLAReport, *, organization, scope: str) -> str:
    """One block of figures (name, value), a blank line, then the breaches."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    figures = [
        ("Scope", scope),
        ("Period start", report.start.isoformat()),
        ("Period end (exclusive)", report.end.isoformat()),
        ("Opened", report.opened),
        ("Closed", report.closed),
        ("First responses counted", report.response_total),
        ("First responses in time", report.response_met),
        ("First responses in time %", report.response_pct),
        ("Resolutions counted", report.resolution_total),
        ("Resolutions in time", report.resolution_met),
        ("Resolutions in time %", report.resolution_pct),
        ("First response median (SLA minutes)", report.response_median),
        ("First response p90 (SLA minutes)", report.response_p90),
        ("Resolution median (SLA minutes)", report.resolution_median),
        ("Resolution p90 (SLA minutes)", report.resolution_p90),
        ("Reopened", report.reopened),
        ("Reopen rate %", report.reopen_rate),
        ("Backlog at end", report.backlog),
        ("Backlog median age (days)", report.backlog_median_age_days),
        ("Backlog oldest (days)", report.backlog_oldest_days),
        ("Paused (SLA minutes)", report.pauses_minutes),
        ("Breaches", report.breach_count),
    ]
    writer.writerow(["Figure", "Value"])
    for name, value in figures:
        writer.writerow([name, _cell(value)])
    writer.writerow([])
    writer.writerow(["Ticket", "Title", "Breach", "Due", "Done", "Minutes late (wall clock)"])
    for breach in report.breaches:
        writer.writerow(
            [
                breach.number,
                _cell(breach.title),
                breach.kind,
                local_time(breach.due, organization),
                local_time(breach.done_at, organization) if breach.done_at else "",
                breach.minutes_late,
            ]
        )
    return out.getvalue()


def scope_label(*, organization, client=None, contract=None) -> str:
    if contract is not None:
        return f"{contract.client.name} — {contract.name}"
    if client is not None:
        return client.name
    return f"{organization.name} (every client)"


@require_GET
def sla_report_csv(request: HttpRequest, org: str) -> HttpResponse:
    require_role(request, *SLA_REPORT_READERS)
    form, report = _report_for(request)
    if report is None:
        errors = "; ".join(
            f"{name}: {' '.join(messages)}" for name, messages in form.errors.items()
        )
        return HttpResponse(errors, status=400, content_type="text/plain; charset=utf-8")
    data = form.cleaned_data
    scope = scope_label(
        organization=request.organization,
        client=data.get("client"),
        contract=data.get("contract"),
    )
    text = sla_report_csv_text(report, organization=request.organization, scope=scope)
    response = HttpResponse(text, content_type="text/csv; charset=utf-8")
    name = f"sla-{report.start:%Y-%m-%d}-{report.end:%Y-%m-%d}.csv"
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    return response
