"""Filters of the jobs API. A related id must be one of the organization's
(``TenantIdFilter``: an unknown or another organization's id is a 400)."""

import django_filters

from clients.models import Client, Contract
from msops.tenancy.api.filters import TenantFilterSet, TenantIdFilter
from msops.tenancy.models import Membership
from tickets.models import Ticket

from ..models import ExceptionFlag, ReviewItem, ReviewQueue


class FlagFilter(TenantFilterSet):
    kind = django_filters.MultipleChoiceFilter(choices=ExceptionFlag.Kind.choices)
    status = django_filters.ChoiceFilter(choices=ExceptionFlag.Status.choices)
    client = TenantIdFilter(Client)
    owner = TenantIdFilter(Membership)
    ticket = TenantIdFilter(Ticket)
    contract = TenantIdFilter(Contract)
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
    queue = TenantIdFilter(ReviewQueue)
    kind = django_filters.MultipleChoiceFilter(choices=ReviewItem.Kind.choices)
    status = django_filters.ChoiceFilter(choices=ReviewItem.Status.choices)
    owner = TenantIdFilter(Membership)
    ticket = TenantIdFilter(Ticket)
    client = TenantIdFilter(Client)

    class Meta:
        model = ReviewItem
        fields: list[str] = []
