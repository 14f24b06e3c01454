"""Filters of the finance API. Related objects are filtered by id: the
queryset is already the token's organization (and, for an account manager,
their clients), so another organization's id simply matches nothing."""

import django_filters
from django import forms

from msops.calendar import parse_month
from msops.tenancy.api.filters import TenantFilterSet

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
    client = django_filters.NumberFilter(field_name="client_id")

    class Meta:
        model = BillingPeriod
        fields: list[str] = []


class InvoiceDraftFilter(TenantFilterSet):
    period = django_filters.NumberFilter(field_name="period_id")
    client = django_filters.NumberFilter(field_name="period__client_id")
    month = MonthFilter(field_name="period__month", help_text=MONTH_HELP)
    currency = django_filters.CharFilter()

    class Meta:
        model = InvoiceDraft
        fields: list[str] = []


class InvoiceLineFilter(TenantFilterSet):
    period = django_filters.NumberFilter(field_name="period_id")
    draft = django_filters.NumberFilter(field_name="draft_id")
    kind = django_filters.MultipleChoiceFilter(choices=InvoiceLine.Kind.choices)
    ticket = django_filters.NumberFilter(field_name="ticket_id")
    contract = django_filters.NumberFilter(field_name="contract_id")

    class Meta:
        model = InvoiceLine
        fields: list[str] = []


class AdjustmentFilter(TenantFilterSet):
    period = django_filters.NumberFilter(
        field_name="period_id", help_text="The open period it is billed in."
    )
    corrects = django_filters.NumberFilter(
        field_name="corrects_id", help_text="The locked period it corrects."
    )
    client = django_filters.NumberFilter(field_name="client_id")

    class Meta:
        model = Adjustment
        fields: list[str] = []


class DraftRunFilter(TenantFilterSet):
    month = MonthFilter(field_name="month", help_text=MONTH_HELP)
    status = django_filters.MultipleChoiceFilter(choices=DraftRun.Status.choices)

    class Meta:
        model = DraftRun
        fields: list[str] = []
