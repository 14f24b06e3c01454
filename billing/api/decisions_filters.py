"""Filters of the decisions API. Related objects are filtered by id: the
queryset is already the token's organization, so another organization's id
simply matches nothing (and reveals nothing)."""

import django_filters

from msops.tenancy.api.filters import TenantFilterSet, UtcIsoDateTimeFilter
from tickets.models import Classification

from ..models import BillingDecision, DecisionLogEntry, ScopeCheck


class DecisionFilter(TenantFilterSet):
    ticket = django_filters.NumberFilter(field_name="ticket_id")
    classification = django_filters.MultipleChoiceFilter(choices=Classification.choices)
    decided_by = django_filters.NumberFilter(field_name="decided_by_id")
    overrides_rule = django_filters.BooleanFilter()
    decided_after = UtcIsoDateTimeFilter(field_name="decided_at", lookup_expr="gte")
    decided_before = UtcIsoDateTimeFilter(field_name="decided_at", lookup_expr="lt")

    class Meta:
        model = BillingDecision
        fields: list[str] = []


class ScopeCheckFilter(TenantFilterSet):
    OPEN = "open"

    status = django_filters.MultipleChoiceFilter(
        choices=[(OPEN, "Open (pending or awaiting the client)"), *ScopeCheck.Status.choices],
        method="filter_status",
    )
    account_manager = django_filters.NumberFilter(field_name="account_manager_id")
    ticket = django_filters.NumberFilter(field_name="ticket_id")
    client = django_filters.NumberFilter(field_name="ticket__client_id")

    class Meta:
        model = ScopeCheck
        fields: list[str] = []

    def filter_status(self, queryset, name, value):
        if not value:
            return queryset
        statuses = set(value)
        if self.OPEN in statuses:
            statuses.discard(self.OPEN)
            statuses.update(ScopeCheck.OPEN_STATUSES)
        return queryset.filter(status__in=statuses)


class DecisionLogEntryFilter(TenantFilterSet):
    client = django_filters.NumberFilter(field_name="client_id")
    ticket = django_filters.NumberFilter(field_name="ticket_id")
    kind = django_filters.MultipleChoiceFilter(choices=DecisionLogEntry.Kind.choices)

    class Meta:
        model = DecisionLogEntry
        fields: list[str] = []
