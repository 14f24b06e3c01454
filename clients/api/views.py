"""Viewsets of the clients API. Querysets come from the selectors (already
filtered by the token's organization and joined for the serializer); every
write goes through a service, whose ValidationError the project's exception
handler answers as 400 with field messages."""

from typing import Any

from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import exceptions

from msops.tenancy.api.filters import SEARCHABLE_FILTER_BACKENDS
from msops.tenancy.api.mixins import ServiceModelViewSet
from msops.tenancy.roles import ADMINS, MANAGERS

from .. import selectors, services
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
from ..services.sla_calendar import sla_calendar_set
from . import filters, serializers


class ClientViewSet(ServiceModelViewSet):
    """Clients. Admins and account managers write; everyone reads."""

    queryset = Client.objects.none()
    serializer_class = serializers.ClientSerializer
    filterset_class = filters.ClientFilter
    filter_backends = SEARCHABLE_FILTER_BACKENDS
    search_fields = ["name"]
    ordering_fields = ["name", "status", "created_at"]
    write_roles = MANAGERS

    def get_tenant_queryset(self, organization):
        return selectors.client_list(organization=organization)

    def create_object(self, data):
        return services.client_create(organization=self.organization, **data)

    def update_object(self, instance, data):
        return services.client_update(client=instance, data=data)

    def delete_object(self, instance):
        services.client_delete(client=instance)


def _terms_errors(error: ValidationError) -> exceptions.ValidationError:
    """A service error on a new contract, with errors on its first terms
    reported under ``terms`` where the client sent them."""
    if not hasattr(error, "error_dict"):
        return exceptions.ValidationError({"non_field_errors": error.messages})
    detail: dict[str, Any] = {}
    terms: dict[str, list[str]] = {}
    for field, messages in error.message_dict.items():
        if field in services.TERM_FIELDS:
            terms[field] = messages
        else:
            detail["non_field_errors" if field == NON_FIELD_ERRORS else field] = messages
    if terms:
        detail["terms"] = terms
    return exceptions.ValidationError(detail)


class ContractViewSet(ServiceModelViewSet):
    """Contracts with their revisions (terms over time). Create accepts the
    first terms under ``terms``; later terms are added as contract revisions.
    Admins write; everyone reads."""

    queryset = Contract.objects.none()
    serializer_class = serializers.ContractSerializer
    filterset_class = filters.ContractFilter
    filter_backends = SEARCHABLE_FILTER_BACKENDS
    search_fields = ["name", "client__name"]
    ordering_fields = ["starts_on", "ends_on", "name", "created_at"]
    write_roles = ADMINS

    def get_tenant_queryset(self, organization):
        return selectors.contract_list(organization=organization)

    def create_object(self, data):
        terms = data.pop("terms", None) or {}
        try:
            return services.contract_create(organization=self.organization, terms=terms, **data)
        except ValidationError as error:
            raise _terms_errors(error) from error

    def update_object(self, instance, data):
        if "terms" in data:
            raise ValidationError(
                {"terms": "Terms change from a date: add a contract revision instead."}
            )
        return services.contract_update(contract=instance, data=data)

    def delete_object(self, instance):
        services.contract_delete(contract=instance)


class ContractRevisionViewSet(ServiceModelViewSet):
    """Terms of a contract from a date on. Terms left out carry over from the
    terms in force on that date. Terms are history once in force: they are
    never edited, and only terms not yet in force may be withdrawn."""

    queryset = ContractRevision.objects.none()
    serializer_class = serializers.ContractRevisionSerializer
    filterset_class = filters.ContractRevisionFilter
    ordering_fields = ["effective_from", "created_at"]
    http_method_names = ["get", "post", "delete", "head", "options"]
    write_roles = ADMINS

    def get_tenant_queryset(self, organization):
        return selectors.contract_revision_list(organization=organization)

    def create_object(self, data):
        contract = data.pop("contract")
        effective_from = data.pop("effective_from")
        return services.contract_revision_create(
            organization=self.organization,
            contract=contract,
            effective_from=effective_from,
            terms=data,
        )

    def delete_object(self, instance):
        services.contract_revision_delete(
            revision=instance,
            today=selectors.organization_today(organization=self.organization),
        )


class RequestTypeViewSet(ServiceModelViewSet):
    """The catalogue of kinds of work. Admins write; everyone reads."""

    queryset = RequestType.objects.none()
    serializer_class = serializers.RequestTypeSerializer
    filterset_class = filters.RequestTypeFilter
    filter_backends = SEARCHABLE_FILTER_BACKENDS
    search_fields = ["name"]
    ordering_fields = ["name", "expected_minutes"]
    write_roles = ADMINS

    def get_tenant_queryset(self, organization):
        return selectors.request_type_list(organization=organization)

    def create_object(self, data):
        return services.request_type_create(organization=self.organization, **data)

    def update_object(self, instance, data):
        return services.request_type_update(request_type=instance, data=data)

    def delete_object(self, instance):
        services.request_type_delete(request_type=instance)


@extend_schema_view(
    destroy=extend_schema(
        parameters=[
            OpenApiParameter(
                "effective_from",
                OpenApiTypes.DATE,
                description="End the rule from this date (default today). Without it, a "
                "revision not in force yet is withdrawn.",
            )
        ]
    )
)
class ScopeRuleViewSet(ServiceModelViewSet):
    """Scope rules as revisions: contract × request type → included, billable,
    needs approval or excluded, from ``effective_from`` on.

    - POST names the rule by ``contract`` and ``request_type``: its first
      revision, or — when the rule exists — a new revision from
      ``effective_from`` (default today; fields left out carry over).
    - PUT/PATCH correct a revision not in force yet; a revision in force is
      history (400: POST a new revision instead).
    - DELETE withdraws a revision not in force yet, else ends the rule from
      ``?effective_from=`` (default today).

    Admins and account managers write; everyone reads."""

    queryset = ScopeRule.objects.none()
    serializer_class = serializers.ScopeRuleSerializer
    filterset_class = filters.ScopeRuleFilter
    filter_backends = SEARCHABLE_FILTER_BACKENDS
    search_fields = ["request_type__name", "explanation"]
    ordering_fields = ["request_type__name", "treatment", "effective_from", "created_at"]
    write_roles = MANAGERS

    def get_tenant_queryset(self, organization):
        return selectors.scope_rule_list(organization=organization)

    def create_object(self, data):
        contract = data.pop("contract")
        request_type = data.pop("request_type")
        effective_from = data.pop("effective_from", None)
        return services.scope_rule_revise(
            organization=self.organization,
            contract=contract,
            request_type=request_type,
            data=data,
            effective_from=effective_from,
        )

    def update_object(self, instance, data):
        today = selectors.organization_today(organization=self.organization)
        if instance.effective_from <= today:
            raise ValidationError(
                {
                    "effective_from": f"This revision is in force since "
                    f"{instance.effective_from:%Y-%m-%d} and work may already be judged by it: "
                    "POST a new revision (same contract and request type, with effective_from) "
                    "instead."
                }
            )
        if data.get("effective_from", instance.effective_from) != instance.effective_from:
            raise ValidationError(
                {
                    "effective_from": "A revision keeps its date: DELETE it and POST it again "
                    "from the new date."
                }
            )
        if instance.removed:
            raise ValidationError(
                {"removed": "This revision ends the rule: DELETE it to withdraw the end."}
            )
        data.pop("effective_from", None)
        return services.scope_rule_update(
            scope_rule=instance, data=data, effective_from=instance.effective_from
        )

    def delete_object(self, instance):
        services.scope_rule_delete(
            scope_rule=instance,
            effective_from=self.request.query_params.get("effective_from"),
        )


class SLATargetViewSet(ServiceModelViewSet):
    """First-response and resolution targets per contract and priority."""

    queryset = SLATarget.objects.none()
    serializer_class = serializers.SLATargetSerializer
    filterset_class = filters.SLATargetFilter
    ordering_fields = ["priority", "first_response_minutes"]
    write_roles = ADMINS

    def get_tenant_queryset(self, organization):
        return selectors.sla_target_list(organization=organization)

    def create_object(self, data):
        return services.sla_target_create(organization=self.organization, **data)

    def update_object(self, instance, data):
        return services.sla_target_update(sla_target=instance, data=data)

    def delete_object(self, instance):
        services.sla_target_delete(sla_target=instance)


class SLACalendarViewSet(ServiceModelViewSet):
    """Versions of a contract's business hours, newest first per contract
    (``?contract=<id>&in_force=true``: the version in force now). POST adds a
    version effective now; versions are never edited or deleted, so tickets
    keep the one they were opened under. Admins and account managers write
    (as on the client page); everyone reads."""

    queryset = SLACalendar.objects.none()
    serializer_class = serializers.SLACalendarSerializer
    filterset_class = filters.SLACalendarFilter
    ordering_fields = ["effective_from", "created_at"]
    http_method_names = ["get", "post", "head", "options"]
    write_roles = MANAGERS

    def get_tenant_queryset(self, organization):
        return selectors.sla_calendar_list(organization=organization)

    def create_object(self, data):
        contract = data.pop("contract")
        return sla_calendar_set(contract=contract, data=data, actor=self.request.membership)


class PricingTierViewSet(ServiceModelViewSet):
    """Price per unit by volume band, for per-unit contracts. A contract's
    bands start at 1 and follow each other without gaps or overlaps (next
    ``min_units`` = previous ``max_units`` + 1); only the last band is
    open-ended (``max_units`` null) and only the last band can be deleted.
    How a month's count is priced by the bands is the contract's ``tier_mode``."""

    queryset = PricingTier.objects.none()
    serializer_class = serializers.PricingTierSerializer
    filterset_class = filters.PricingTierFilter
    ordering_fields = ["min_units"]
    write_roles = ADMINS

    def get_tenant_queryset(self, organization):
        return selectors.pricing_tier_list(organization=organization)

    def create_object(self, data):
        return services.pricing_tier_create(organization=self.organization, **data)

    def update_object(self, instance, data):
        return services.pricing_tier_update(pricing_tier=instance, data=data)

    def delete_object(self, instance):
        services.pricing_tier_delete(pricing_tier=instance)


class UnitCountViewSet(ServiceModelViewSet):
    """Units a per-unit contract covered in a month. Posting a month that
    already has a count replaces it."""

    queryset = UnitCount.objects.none()
    serializer_class = serializers.UnitCountSerializer
    filterset_class = filters.UnitCountFilter
    ordering_fields = ["month"]
    write_roles = ADMINS

    def get_tenant_queryset(self, organization):
        return selectors.unit_count_list(organization=organization)

    def create_object(self, data):
        return services.unit_count_set(organization=self.organization, **data)

    def update_object(self, instance, data):
        moved = {
            field: "A unit count cannot move; set the count of that month instead."
            for field in ("contract", "month")
            if field in data and data[field] != getattr(instance, field)
        }
        if moved:
            raise ValidationError(moved)
        return services.unit_count_set(
            organization=self.organization,
            contract=instance.contract,
            month=instance.month,
            units=data.get("units", instance.units),
        )

    def delete_object(self, instance):
        services.unit_count_delete(unit_count=instance)


class BlockTopUpViewSet(ServiceModelViewSet):
    """Prepaid minutes added to a block of hours. A top-up is charged in the
    month it is added and is not edited: delete a mistaken one and add it
    again. Its expiry comes from the terms in force on the day it is added.
    Admins and account managers write (as on the client page); everyone reads."""

    queryset = BlockTopUp.objects.none()
    serializer_class = serializers.BlockTopUpSerializer
    filterset_class = filters.BlockTopUpFilter
    ordering_fields = ["added_on", "created_at"]
    http_method_names = ["get", "post", "delete", "head", "options"]
    write_roles = MANAGERS

    def get_tenant_queryset(self, organization):
        # Read here until clients/selectors.py gains a top-up selector.
        return (
            BlockTopUp.objects.filter(organization=organization)
            .select_related("contract")
            .order_by("contract_id", "added_on", "pk")
        )

    def create_object(self, data):
        return services.block_top_up_create(organization=self.organization, **data)

    def delete_object(self, instance):
        services.block_top_up_delete(top_up=instance)
