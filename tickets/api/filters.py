"""Filters of the tickets API. A related id must be one of the
organization's (``TenantIdFilter``: an unknown or another organization's id is
a 400). The tickets list searches with ``search`` (``q`` is its deprecated
alias)."""

import django_filters
from django import forms

from clients.models import Client, Contract, Priority, RequestType
from msops.tenancy.api.filters import TenantFilterSet, TenantIdFilter, UtcIsoDateTimeFilter
from msops.tenancy.models import Membership

from ..models import BillingMoment, Classification, Ticket, TimeEntry
from ..selectors import ticket_search

UNDECIDED = "undecided"


class WholeNumberFilter(django_filters.NumberFilter):
    """A whole number (the ticket's number): 1.5 or 1e400 is a 400, not rounded."""

    field_class = forms.IntegerField


class TicketFilter(TenantFilterSet):
    search = django_filters.CharFilter(
        method="filter_search", label="Title contains, or the number (42, #42)"
    )
    q = django_filters.CharFilter(method="filter_search", label="Deprecated: use search.")
    number = WholeNumberFilter()
    client = TenantIdFilter(Client)
    request_type = TenantIdFilter(RequestType)
    assignee = TenantIdFilter(Membership)
    unassigned = django_filters.BooleanFilter(field_name="assignee", lookup_expr="isnull")
    contract = TenantIdFilter(Contract)
    # Columns of the ticket itself: no join can repeat a row, so no DISTINCT.
    status = django_filters.MultipleChoiceFilter(choices=Ticket.Status.choices, distinct=False)
    open = django_filters.BooleanFilter(method="filter_open", label="Only open (or only not open)")
    priority = django_filters.MultipleChoiceFilter(choices=Priority.choices, distinct=False)
    phase = django_filters.ChoiceFilter(choices=Ticket.Phase.choices)
    source = django_filters.ChoiceFilter(choices=Ticket.Source.choices)
    classification = django_filters.ChoiceFilter(
        choices=[(UNDECIDED, "No decision yet"), *Classification.choices],
        method="filter_classification",
    )
    waiting = django_filters.BooleanFilter(
        method="filter_waiting",
        label="Waiting for a billing decision (an open billing moment), or not",
    )
    opened_after = UtcIsoDateTimeFilter(field_name="opened_at", lookup_expr="gte")
    opened_before = UtcIsoDateTimeFilter(field_name="opened_at", lookup_expr="lt")

    class Meta:
        model = Ticket
        fields: list[str] = []

    def filter_search(self, queryset, name, value):
        return ticket_search(queryset, value)

    def filter_classification(self, queryset, name, value):
        return queryset.filter(classification="" if value == UNDECIDED else value)

    def filter_waiting(self, queryset, name, value):
        # ``waits_for_decision`` is annotated by tickets.selectors.ticket_list (one definition).
        if value is None:
            return queryset
        return queryset.filter(waits_for_decision=value)

    def filter_open(self, queryset, name, value):
        if value is None:
            return queryset
        condition = {"status__in": Ticket.OPEN_STATUSES}
        return queryset.filter(**condition) if value else queryset.exclude(**condition)


class TimeEntryFilter(TenantFilterSet):
    ticket = TenantIdFilter(Ticket)
    person = TenantIdFilter(Membership)
    work_date_from = django_filters.DateFilter(field_name="work_date", lookup_expr="gte")
    work_date_to = django_filters.DateFilter(field_name="work_date", lookup_expr="lte")
    billing_status = django_filters.MultipleChoiceFilter(choices=TimeEntry.BillingStatus.choices)
    locked = django_filters.BooleanFilter()

    class Meta:
        model = TimeEntry
        fields: list[str] = []


class BillingMomentFilter(TenantFilterSet):
    ticket = TenantIdFilter(Ticket)
    kind = django_filters.MultipleChoiceFilter(choices=BillingMoment.Kind.choices)
    status = django_filters.ChoiceFilter(choices=BillingMoment.Status.choices)

    class Meta:
        model = BillingMoment
        fields: list[str] = []
