"""Contract usage API: each contract's allowance used and left (or block
balance), billable so far and time pending approval, for a month — the same
figures the client page, the ticket page and the account manager's home show,
from the one pricing module. Finance and admins read every client's
contracts, account managers their own clients'; developers have no access
(403: it is money), they see a contract's minutes on the ticket page."""

import datetime

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiParameter,
    extend_schema,
    extend_schema_field,
    extend_schema_view,
)
from rest_framework import serializers
from rest_framework.exceptions import ValidationError
from rest_framework.response import Response

from clients.models import Contract
from msops.calendar import parse_month
from msops.tenancy.api.mixins import ReadOnlyTenantViewSet
from msops.tenancy.roles import MONEY_READERS as READERS
from msops.timezones import organization_today

from ..pricing import Usage, month_bounds, price_month
from ..selectors.finance_pages import money_reach
from .finance_filters import ContractUsageFilter

MONTH = OpenApiParameter(
    "month",
    OpenApiTypes.STR,
    description="The month as YYYY-MM, in the years 1900–9998 (default: this month in the"
    " practice's timezone).",
    pattern=r"^\d{4}-\d{2}$",
)


class ContractUsageSerializer(serializers.ModelSerializer):
    client_name = serializers.CharField(source="client.name", read_only=True)
    period_start = serializers.SerializerMethodField()
    period_end = serializers.SerializerMethodField(help_text="The day after the period.")
    allowance_minutes = serializers.SerializerMethodField(
        help_text="Retainer: the period's allowance (pro-rated). Block: the balance available"
        " this month. Empty for other kinds."
    )
    used_minutes = serializers.SerializerMethodField(
        help_text="Included minutes drawn (a retainer's period to date; a block's month)."
    )
    left_minutes = serializers.SerializerMethodField(
        help_text="Allowance left, or the block's balance at the month's end."
    )
    overage_minutes = serializers.SerializerMethodField()
    expired_minutes = serializers.SerializerMethodField()
    billable_minutes = serializers.SerializerMethodField(help_text="Charged, after rounding.")
    billable_amount = serializers.SerializerMethodField(
        help_text="Billable time, changes and overage charged so far, in the contract currency."
    )
    pending_approval_minutes = serializers.SerializerMethodField()
    undecided_minutes = serializers.SerializerMethodField(help_text="No decision yet, or unclear.")

    class Meta:
        model = Contract
        fields = [
            "id", "client", "client_name", "name", "kind", "currency", "period_start",
            "period_end", "allowance_minutes", "used_minutes", "left_minutes", "overage_minutes",
            "expired_minutes", "billable_minutes", "billable_amount", "pending_approval_minutes",
            "undecided_minutes",
        ]  # fmt: skip
        read_only_fields = fields

    def _usage(self, contract) -> Usage | None:
        return self.context.get("usage", {}).get(contract.pk)

    def _get(self, contract, name, default=None):
        usage = self._usage(contract)
        return getattr(usage, name) if usage is not None else default

    def get_period_start(self, contract) -> datetime.date | None:
        return self._get(contract, "period_start")

    def get_period_end(self, contract) -> datetime.date | None:
        return self._get(contract, "period_end")

    def get_allowance_minutes(self, contract) -> int | None:
        return self._get(contract, "allowance")

    def get_used_minutes(self, contract) -> int:
        return self._get(contract, "used", 0)

    def get_left_minutes(self, contract) -> int | None:
        return self._get(contract, "left")

    def get_overage_minutes(self, contract) -> int:
        return self._get(contract, "overage", 0)

    def get_expired_minutes(self, contract) -> int:
        return self._get(contract, "expired", 0)

    def get_billable_minutes(self, contract) -> int:
        return self._get(contract, "billable_minutes", 0)

    # Money as a decimal string, like every amount (a month's sum: room past one row's 12 digits).
    @extend_schema_field(serializers.DecimalField(max_digits=14, decimal_places=2))
    def get_billable_amount(self, contract) -> str:
        amount = self._get(contract, "billable_amount")
        return f"{amount:.2f}" if amount is not None else "0.00"

    def get_pending_approval_minutes(self, contract) -> int:
        return self._get(contract, "pending_minutes", 0)

    def get_undecided_minutes(self, contract) -> int:
        return self._get(contract, "undecided_minutes", 0)


@extend_schema_view(
    list=extend_schema(parameters=[MONTH]), retrieve=extend_schema(parameters=[MONTH])
)
class ContractUsageViewSet(ReadOnlyTenantViewSet):
    """Usage of each contract running in the month (filter with ``client``)."""

    queryset = Contract.objects.none()
    serializer_class = ContractUsageSerializer
    filterset_class = ContractUsageFilter
    ordering_fields = ["client__name", "name", "starts_on"]
    ordering = ["client__name", "name"]
    read_roles = READERS

    def month(self) -> datetime.date:
        raw = self.request.query_params.get("month")
        if raw is None:
            return organization_today(self.request.organization).replace(day=1)
        month = parse_month(raw)
        if month is None:
            raise ValidationError(
                {"month": "Give the month as YYYY-MM, e.g. 2026-11 (years 1900–9998)."}
            )
        return month

    def get_tenant_queryset(self, organization):
        start, end = month_bounds(self.month())
        contracts = (
            Contract.objects.filter(organization=organization, starts_on__lt=end)
            .exclude(ends_on__lt=start)
            .select_related("client")
        )
        return money_reach(membership=self.request.membership).clients_of(contracts, "client")

    def _with_usage(self, contracts):
        context = self.get_serializer_context()
        clients = {c.client_id for c in contracts}
        charges = price_month(
            organization=self.request.organization, month=self.month(), client_ids=clients
        )
        context["usage"] = {k: u for ch in charges.values() for k, u in ch.usage.items()}
        return context

    def list(self, request, *args, **kwargs):
        queryset = self.filter_queryset(self.get_queryset())
        page = self.paginate_queryset(queryset)
        contracts = list(page if page is not None else queryset)
        data = ContractUsageSerializer(contracts, many=True, context=self._with_usage(contracts))
        if page is not None:
            return self.get_paginated_response(data.data)
        return Response(data.data)

    def retrieve(self, request, *args, **kwargs):
        contract = self.get_object()
        context = self._with_usage([contract])
        return Response(ContractUsageSerializer(contract, context=context).data)
