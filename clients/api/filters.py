"""Filters of the clients API: the fields people filter on. A related id
must be one of the organization's (``TenantIdFilter``: an unknown or another
tenant's id is a 400)."""

import django_filters
from django.db.models import Q

from msops.tenancy.api.filters import TenantFilterSet, TenantIdFilter
from msops.tenancy.models import Membership

from ..models import (
    BlockTopUp,
    Client,
    Contract,
    ContractRevision,
    PricingTier,
    RequestType,
    ScopeRule,
    SLACalendar,
    SLATarget,
    UnitCount,
)
from ..selectors import scope_rules_in_force_on


class ClientFilter(TenantFilterSet):
    account_manager = TenantIdFilter(Membership)

    class Meta:
        model = Client
        fields = ["status", "account_manager"]


class ContractFilter(TenantFilterSet):
    client = TenantIdFilter(Client)
    active_on = django_filters.DateFilter(
        method="filter_active_on", label="In force on this date (YYYY-MM-DD)"
    )

    class Meta:
        model = Contract
        fields = ["client", "kind", "period", "currency", "review_cadence"]

    def filter_active_on(self, queryset, name, value):
        return queryset.filter(starts_on__lte=value).filter(
            Q(ends_on__isnull=True) | Q(ends_on__gte=value)
        )


class ContractRevisionFilter(TenantFilterSet):
    contract = TenantIdFilter(Contract)
    effective_from_after = django_filters.DateFilter(field_name="effective_from", lookup_expr="gte")
    effective_from_before = django_filters.DateFilter(
        field_name="effective_from", lookup_expr="lte"
    )

    class Meta:
        model = ContractRevision
        fields = ["contract"]


class RequestTypeFilter(TenantFilterSet):
    class Meta:
        model = RequestType
        fields = ["default_treatment", "is_catch_all", "is_active"]


class ScopeRuleFilter(TenantFilterSet):
    contract = TenantIdFilter(Contract)
    client = TenantIdFilter(Client, field_name="contract__client")
    request_type = TenantIdFilter(RequestType)
    in_force_on = django_filters.DateFilter(
        method="filter_in_force_on",
        label="Only the revision in force on this date (YYYY-MM-DD) per contract and "
        "request type; rules ended by then are left out",
    )

    class Meta:
        model = ScopeRule
        fields = ["contract", "client", "request_type", "treatment", "removed"]

    def filter_in_force_on(self, queryset, name, value):
        return scope_rules_in_force_on(queryset, on=value)


class SLATargetFilter(TenantFilterSet):
    contract = TenantIdFilter(Contract)

    class Meta:
        model = SLATarget
        fields = ["contract", "priority"]


class SLACalendarFilter(TenantFilterSet):
    contract = TenantIdFilter(Contract)
    in_force = django_filters.BooleanFilter(
        field_name="in_force", help_text="true: only the versions in force now."
    )

    class Meta:
        model = SLACalendar
        fields = ["contract"]


class PricingTierFilter(TenantFilterSet):
    contract = TenantIdFilter(Contract)

    class Meta:
        model = PricingTier
        fields = ["contract"]


class UnitCountFilter(TenantFilterSet):
    contract = TenantIdFilter(Contract)
    month_after = django_filters.DateFilter(field_name="month", lookup_expr="gte")
    month_before = django_filters.DateFilter(field_name="month", lookup_expr="lte")

    class Meta:
        model = UnitCount
        fields = ["contract"]


class BlockTopUpFilter(TenantFilterSet):
    contract = TenantIdFilter(Contract)
    added_after = django_filters.DateFilter(field_name="added_on", lookup_expr="gte")
    added_before = django_filters.DateFilter(field_name="added_on", lookup_expr="lte")

    class Meta:
        model = BlockTopUp
        fields = ["contract"]
