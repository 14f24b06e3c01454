"""Filters of the jobs API. Related objects are filtered by id: the queryset
is already the token's organization, so another organization's id simply
matches nothing (and reveals nothing)."""

import django_filters

from msops.tenancy.api.filters import TenantFilterSet

from ..models import ExceptionFlag, ReviewItem, ReviewQueue


class FlagFilter(TenantFilterSet):
    kind = django_filters.MultipleChoiceFilter(choices=ExceptionFlag.Kind.choices)
    status = django_filters.ChoiceFilter(choices=ExceptionFlag.Status.choices)
    client = django_filters.NumberFilter(field_name="client_id")
    owner = django_filters.NumberFilter(field_name="owner_id")
    ticket = django_filters.NumberFilter(field_name="ticket_id")
    contract = django_filters.NumberFilter(field_name="contract_id")
    period_key = django_filters.CharFilter()

    class Meta:
        model = ExceptionFlag
        fields: list[str] = []


class ReviewQueueFilter(TenantFilterSet):
    week_start = django_filters.DateFilter()
    week_start_from = django_filters.DateFilter(field_name="week_start", lookup_expr="gte")

    class Meta:
        model = ReviewQueue
        fields: list[str] = []


class ReviewItemFilter(TenantFilterSet):
    queue = django_filters.NumberFilter(field_name="queue_id")
    kind = django_filters.MultipleChoiceFilter(choices=ReviewItem.Kind.choices)
    status = django_filters.ChoiceFilter(choices=ReviewItem.Status.choices)
    owner = django_filters.NumberFilter(field_name="owner_id")
    ticket = django_filters.NumberFilter(field_name="ticket_id")
    client = django_filters.NumberFilter(field_name="client_id")

    class Meta:
        model = ReviewItem
        fields: list[str] = []
