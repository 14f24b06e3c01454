"""Filters of the finance API. A related id must be one of the organization's
(``TenantIdFilter``: an unknown or another organization's id is a 400). The
queryset is already the token's organization (and, for an account manager,
their clients)."""

import django_filters
from django import forms

from clients.models import Client, Contract
from msops.calendar import parse_month
from msops.tenancy.api.filters import TenantFilterSet, TenantIdFilter
from tickets.models import Ticket

from ..models import Adjustment, BillingPeriod, DraftRun, InvoiceDraft, InvoiceLine

MONTH_HELP = "A month: 2026-11 (or any day of it, 2026-11-01), in the years 1900–9998."


class MonthFormField(forms.CharField):
    def to_python(self, value):
        value = super().to_python(value)
        if not value:
            return None
        month = parse_month(value)
        if month is None:
            raise forms.ValidationError(MONTH_HELP, code="invalid")
        return month


class MonthFilter(django_filters.Filter):
    field_class = MonthFormField


class BillingPeriodFilter(TenantFilterSet):
    month = MonthFilter(field_name="month", help_text=MONTH_HELP)
    month_from = MonthFilter(field_name="month", lookup_expr="gte", help_text=MONTH_HELP)
    month_to = MonthFilter(field_name="month", lookup_expr="lte", help_text=MONTH_HELP)
    status = django_filters.MultipleChoiceFilter(choices=BillingPeriod.Status.choices)
    client = TenantIdFilter(Client)

    class Meta:
        model = BillingPeriod
        fields: list[str] = []


class InvoiceDraftFilter(TenantFilterSet):
    period = TenantIdFilter(BillingPeriod)
    client = TenantIdFilter(Client, field_name="period__client")
    month = MonthFilter(field_name="period__month", help_text=MONTH_HELP)
    currency = django_filters.CharFilter()

    class Meta:
        model = InvoiceDraft
        fields: list[str] = []


class InvoiceLineFilter(TenantFilterSet):
    period = TenantIdFilter(BillingPeriod)
    draft = TenantIdFilter(InvoiceDraft)
    kind = django_filters.MultipleChoiceFilter(choices=InvoiceLine.Kind.choices)
    ticket = TenantIdFilter(Ticket)
    contract = TenantIdFilter(Contract)

    class Meta:
        model = InvoiceLine
        fields: list[str] = []


class AdjustmentFilter(TenantFilterSet):
    period = TenantIdFilter(
        BillingPeriod, help_text="The open period it is billed in (an unknown id is a 400)."
    )
    corrects = TenantIdFilter(
        BillingPeriod, help_text="The locked period it corrects (an unknown id is a 400)."
    )
    client = TenantIdFilter(Client)

    class Meta:
        model = Adjustment
        fields: list[str] = []


class DraftRunFilter(TenantFilterSet):
    month = MonthFilter(field_name="month", help_text=MONTH_HELP)
    status = django_filters.MultipleChoiceFilter(choices=DraftRun.Status.choices)

    class Meta:
        model = DraftRun
        fields: list[str] = []


class ContractUsageFilter(TenantFilterSet):
    client = TenantIdFilter(Client)

    class Meta:
        model = Contract
        fields = ["client", "kind"]
