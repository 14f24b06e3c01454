"""Filters of the transitions API. A related id must be one of the
organization's (``TenantIdFilter``: an unknown or another tenant's id is a 400)."""

import django_filters

from clients.models import Client, RequestType
from msops.tenancy.api.filters import TenantFilterSet, TenantIdFilter
from msops.tenancy.models import Membership

from ..models import ClientBrief, RecurringOccurrence, RecurringTask, Risk


class RecurringTaskFilter(TenantFilterSet):
    client = TenantIdFilter(Client)
    owner = TenantIdFilter(Membership)
    request_type = TenantIdFilter(RequestType)

    class Meta:
        model = RecurringTask
        fields = ["client", "owner", "request_type", "cadence", "active"]


class RecurringOccurrenceFilter(TenantFilterSet):
    recurring_task = TenantIdFilter(RecurringTask)
    client = TenantIdFilter(Client, field_name="recurring_task__client")
    owner = TenantIdFilter(Membership, field_name="recurring_task__owner")
    due_after = django_filters.DateFilter(field_name="due_on", lookup_expr="gte")
    due_before = django_filters.DateFilter(field_name="due_on", lookup_expr="lte")

    class Meta:
        model = RecurringOccurrence
        fields = ["recurring_task", "client", "owner"]


class RiskFilter(TenantFilterSet):
    client = TenantIdFilter(Client)
    owner = TenantIdFilter(Membership)

    class Meta:
        model = Risk
        fields = ["client", "owner", "status", "severity"]


class ClientBriefFilter(TenantFilterSet):
    client = TenantIdFilter(Client)

    class Meta:
        model = ClientBrief
        fields = ["client"]
