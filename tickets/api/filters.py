"""Filters of the tickets API. Related objects are filtered by id: the
queryset is already the token's organization, so another organization's id
simply matches nothing (and reveals nothing)."""

import django_filters

from clients.models import Priority
from msops.tenancy.api.filters import TenantFilterSet, UtcIsoDateTimeFilter

from ..models import BillingMoment, Classification, Ticket, TimeEntry
from ..selectors import ticket_search

UNDECIDED = "undecided"


class TicketFilter(TenantFilterSet):
    q = django_filters.CharFilter(method="search", label="Title contains, or the number (42, #42)")
    number = django_filters.NumberFilter()
    client = django_filters.NumberFilter(field_name="client_id")
    request_type = django_filters.NumberFilter(field_name="request_type_id")
    assignee = django_filters.NumberFilter(field_name="assignee_id")
    unassigned = django_filters.BooleanFilter(field_name="assignee", lookup_expr="isnull")
    contract = django_filters.NumberFilter(field_name="contract_id")
    status = django_filters.MultipleChoiceFilter(choices=Ticket.Status.choices)
    open = django_filters.BooleanFilter(method="filter_open", label="Only open (or only not open)")
    priority = django_filters.MultipleChoiceFilter(choices=Priority.choices)
    phase = django_filters.ChoiceFilter(choices=Ticket.Phase.choices)
    source = django_filters.ChoiceFilter(choices=Ticket.Source.choices)
    classification = django_filters.ChoiceFilter(
        choices=[(UNDECIDED, "No decision yet"), *Classification.choices],
        method="filter_classification",
    )
    opened_after = UtcIsoDateTimeFilter(field_name="opened_at", lookup_expr="gte")
    opened_before = UtcIsoDateTimeFilter(field_name="opened_at", lookup_expr="lt")

    class Meta:
        model = Ticket
        fields: list[str] = []

    def search(self, queryset, name, value):
        return ticket_search(queryset, value)

    def filter_classification(self, queryset, name, value):
        return queryset.filter(classification="" if value == UNDECIDED else value)

    def filter_open(self, queryset, name, value):
        if value is None:
            return queryset
        condition = {"status__in": Ticket.OPEN_STATUSES}
        return queryset.filter(**condition) if value else queryset.exclude(**condition)


class TimeEntryFilter(TenantFilterSet):
    ticket = django_filters.NumberFilter(field_name="ticket_id")
    person = django_filters.NumberFilter(field_name="person_id")
    work_date_from = django_filters.DateFilter(field_name="work_date", lookup_expr="gte")
    work_date_to = django_filters.DateFilter(field_name="work_date", lookup_expr="lte")
    billing_status = django_filters.MultipleChoiceFilter(choices=TimeEntry.BillingStatus.choices)
    locked = django_filters.BooleanFilter()

    class Meta:
        model = TimeEntry
        fields: list[str] = []


class BillingMomentFilter(TenantFilterSet):
    ticket = django_filters.NumberFilter(field_name="ticket_id")
    kind = django_filters.MultipleChoiceFilter(choices=BillingMoment.Kind.choices)
    status = django_filters.ChoiceFilter(choices=BillingMoment.Status.choices)

    class Meta:
        model = BillingMoment
        fields: list[str] = []
