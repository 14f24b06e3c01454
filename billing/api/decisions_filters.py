"""Filters of the decisions API. A related id must be one of the organization's
(``TenantIdFilter``: an unknown or another organization's id is a 400)."""

import django_filters

from clients.models import Client
from msops.tenancy.api.filters import TenantFilterSet, TenantIdFilter, UtcIsoDateTimeFilter
from msops.tenancy.models import Membership
from tickets.models import Classification, Ticket

from ..models import BillingDecision, DecisionLogEntry, ScopeCheck


class DecisionFilter(TenantFilterSet):
    ticket = TenantIdFilter(Ticket)
    classification = django_filters.MultipleChoiceFilter(choices=Classification.choices)
    decided_by = TenantIdFilter(Membership)
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
    account_manager = TenantIdFilter(Membership)
    ticket = TenantIdFilter(Ticket)
    client = TenantIdFilter(Client, field_name="ticket__client")

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
    client = TenantIdFilter(Client)
    ticket = TenantIdFilter(Ticket)
    kind = django_filters.MultipleChoiceFilter(choices=DecisionLogEntry.Kind.choices)

    class Meta:
        model = DecisionLogEntry
        fields: list[str] = []
