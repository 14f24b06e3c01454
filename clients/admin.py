"""Django admin for clients/. A staff member who is not a superuser sees and
picks only rows of the organizations they administer (TenantAdmin); related
objects must belong to the row's own organization; inlines on a contract offer
only that contract's organization's rows. Pricing tiers and block top-ups are
written through their services (their own admin pages; read-only inline)."""

from collections.abc import Callable
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.db import models, transaction
from django.shortcuts import redirect
from django.urls import reverse

from msops.forms import add_service_errors
from msops.tenancy.admin import TenantAdmin, admin_organization_ids
from msops.tenancy.scoping import activate_organization

from .models import (
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
from .services import (
    block_top_up_create,
    block_top_up_delete,
    check_block_expiry,
    contract_revision_create,
    pricing_tier_create,
    pricing_tier_delete,
    pricing_tier_update,
    unit_count_delete,
    unit_count_set,
)
from .services.rates import rules_excluding_without_rate
from .services.sla_calendar import SLA_CALENDAR_FIELDS, sla_calendar_set

SAME_ORGANIZATION = "Choose one from the same organization."


class _DryRun(Exception):
    """Rolls back a service call made only to hear its answer."""


def service_answer(organization, call: Callable[[], object]) -> ValidationError | None:
    """Run a service in a savepoint that is always rolled back, and return
    its refusal (None: it would succeed). The admin's forms check with it;
    ``save_model``/``delete_model`` then run the same service for real."""
    try:
        with activate_organization(organization), transaction.atomic():
            call()
            raise _DryRun
    except _DryRun:
        return None
    except ValidationError as error:
        return error


def _related_organization_errors(form: forms.ModelForm, organization_id: int | None) -> None:
    if organization_id is None:
        return
    for name in form.fields:
        value = form.cleaned_data.get(name)
        if (
            isinstance(value, models.Model)
            and hasattr(value, "organization_id")
            and value.organization_id != organization_id
        ):
            form.add_error(name, SAME_ORGANIZATION)


class SameOrganizationForm(forms.ModelForm):
    """Every related object of the row belongs to the row's organization."""

    def clean(self):
        cleaned = super().clean()
        organization = cleaned.get("organization")
        organization_id = organization.pk if organization else self.instance.organization_id
        _related_organization_errors(self, organization_id)
        return cleaned


class ContractPartForm(forms.ModelForm):
    """A row inline on a contract: its organization is the contract's, and
    the model's constraints (which lead with organization) are validated."""

    def clean(self):
        cleaned = super().clean()
        contract = self.instance.contract
        self.instance.organization_id = contract.organization_id
        _related_organization_errors(self, contract.organization_id)
        return cleaned

    def _get_validation_exclusions(self):
        exclude = super()._get_validation_exclusions()
        exclude.discard("organization")
        return exclude


class ContractRevisionForm(ContractPartForm):
    def clean(self):
        cleaned = super().clean()
        contract = self.instance.contract
        effective_from = cleaned.get("effective_from")
        if effective_from and contract.starts_on and effective_from < contract.starts_on:
            self.add_error("effective_from", "Terms cannot apply before the contract starts.")
        if effective_from and contract.ends_on and effective_from > contract.ends_on:
            self.add_error("effective_from", "Terms cannot start after the contract ends.")
        try:
            check_block_expiry(
                contract=contract, block_expiry_months=cleaned.get("block_expiry_months")
            )
        except ValidationError as error:
            add_service_errors(self, error)
        rate = cleaned.get("hourly_rate")
        if effective_from and rate is not None and rate <= 0 and contract.pk is not None:
            # The same rule as contract_revision_create: excluded work falls
            # back to this rate.
            later = (
                ContractRevision.objects.filter(
                    organization=contract.organization_id,
                    contract=contract,
                    effective_from__gt=effective_from,
                )
                .order_by("effective_from")
                .first()
            )
            excluded = rules_excluding_without_rate(
                contract=contract,
                start=effective_from,
                until=later.effective_from if later else None,
            )
            if excluded:
                self.add_error(
                    "hourly_rate",
                    f"The rule for “{excluded[0].request_type_name}” excludes work without a "
                    "rate override: excluded work falls back to this rate, so it cannot be zero.",
                )
        return cleaned


class ContractPartInline(admin.TabularInline):
    """Inline whose foreign-key choices are the parent contract's organization's."""

    form = ContractPartForm
    extra = 0
    exclude = ["organization"]

    def get_formset(self, request, obj=None, **kwargs):
        request.clients_admin_parent = obj
        return super().get_formset(request, obj, **kwargs)

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        field = super().formfield_for_foreignkey(db_field, request, **kwargs)
        if field is None or not any(
            f.name == "organization" for f in db_field.related_model._meta.fields
        ):
            return field
        parent = getattr(request, "clients_admin_parent", None)
        if parent is not None:
            field.queryset = field.queryset.filter(organization_id=parent.organization_id)
        else:
            ids = admin_organization_ids(request)
            if ids is not None:
                field.queryset = field.queryset.filter(organization_id__in=ids)
        return field


class ContractRevisionInline(ContractPartInline):
    """Terms over time: new terms may be added; terms are never edited here."""

    model = ContractRevision
    form = ContractRevisionForm
    can_delete = False

    def has_change_permission(self, request, obj=None):
        return False


RULES_ON_THE_CLIENT_PAGE = (
    "Scope rules (read-only here: change them on the client page, where each change "
    "is a revision from a date and is checked like every other change)"
)
SCOPE_RULE_COLUMNS = [
    "request_type",
    "effective_from",
    "removed",
    "treatment",
    "expected_minutes",
    "approval_threshold_minutes",
    "rate_override",
    "explanation",
    "created_at",
]


class ScopeRuleInline(ContractPartInline):
    """Every revision of the contract's rules, to read. Writing them here
    would skip the services' rules (dates, history, a rate for excluded
    work), so the admin does not."""

    model = ScopeRule
    verbose_name_plural = RULES_ON_THE_CLIENT_PAGE
    fields = SCOPE_RULE_COLUMNS
    readonly_fields = SCOPE_RULE_COLUMNS
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class SLATargetInline(ContractPartInline):
    model = SLATarget


class ReadOnlyContractPartInline(ContractPartInline):
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class PricingTierInline(ReadOnlyContractPartInline):
    """The bands, to read: each band is checked against its neighbours (no
    overlap, no gap), which a formset of several bands cannot do one by one.
    Change them on the pricing tier pages (or the API)."""

    model = PricingTier
    verbose_name_plural = "Pricing tiers (read-only here: change them under Pricing tiers)"
    fields = readonly_fields = ["min_units", "max_units", "unit_price"]


class BlockTopUpInline(ReadOnlyContractPartInline):
    model = BlockTopUp
    verbose_name_plural = "Top-ups (read-only here: add them under Block top-ups)"
    fields = readonly_fields = ["added_on", "minutes", "price", "expires_on", "note"]


class UnitCountInline(ReadOnlyContractPartInline):
    """Unit counts, to read: they are set through unit_count_set (a locked
    billing month refuses them)."""

    model = UnitCount


class ClientsAdmin(TenantAdmin):
    form = SameOrganizationForm


@admin.register(Client)
class ClientAdmin(ClientsAdmin):
    list_display = ["name", "organization", "status", "account_manager"]
    list_filter = ["status"]
    list_select_related = ["organization", "account_manager__user"]
    search_fields = ["name"]


@admin.register(Contract)
class ContractAdmin(ClientsAdmin):
    list_display = ["name", "client", "organization", "kind", "starts_on", "ends_on", "currency"]
    list_filter = ["kind", "period"]
    list_select_related = ["organization", "client"]
    search_fields = ["name", "client__name"]
    inlines = [
        ContractRevisionInline,
        ScopeRuleInline,
        SLATargetInline,
        PricingTierInline,
        UnitCountInline,
        BlockTopUpInline,
    ]

    def save_related(self, request, form, formsets, change):
        super().save_related(request, form, formsets, change)
        contract = form.instance
        if not ContractRevision.objects.filter(
            organization=contract.organization_id, contract=contract
        ).exists():
            # A contract always has terms from its start (the same service
            # the pages and the API use).
            try:
                contract_revision_create(
                    organization=contract.organization,
                    contract=contract,
                    effective_from=contract.starts_on,
                )
            except ValidationError as error:
                self.message_user(
                    request,
                    "The contract has no terms yet: add its first terms below. "
                    + " ".join(error.messages),
                    level=messages.WARNING,
                )


class ContractRevisionAdminForm(SameOrganizationForm):
    def clean(self):
        cleaned = super().clean()
        contract = cleaned.get("contract")
        if contract is not None:
            try:
                check_block_expiry(
                    contract=contract, block_expiry_months=cleaned.get("block_expiry_months")
                )
            except ValidationError as error:
                add_service_errors(self, error)
        return cleaned


@admin.register(ContractRevision)
class ContractRevisionAdmin(ClientsAdmin):
    form = ContractRevisionAdminForm
    list_display = ["contract", "organization", "effective_from", "fee", "hourly_rate"]
    list_select_related = ["organization", "contract__client"]
    search_fields = ["contract__name", "contract__client__name", "note"]
    date_hierarchy = "effective_from"


@admin.register(RequestType)
class RequestTypeAdmin(ClientsAdmin):
    list_display = [
        "name",
        "organization",
        "default_treatment",
        "expected_minutes",
        "is_catch_all",
        "is_active",
    ]
    list_filter = ["default_treatment", "is_catch_all", "is_active"]
    list_select_related = ["organization"]
    search_fields = ["name"]


@admin.register(ScopeRule)
class ScopeRuleAdmin(ClientsAdmin):
    """Scope rule revisions, to read (see ScopeRuleInline)."""

    list_display = [
        "request_type",
        "contract",
        "organization",
        "effective_from",
        "removed",
        "treatment",
        "expected_minutes",
    ]
    list_filter = ["treatment", "removed"]
    list_select_related = ["organization", "request_type", "contract__client"]
    search_fields = ["request_type__name", "contract__name", "explanation"]
    date_hierarchy = "effective_from"
    readonly_fields = ["organization", "contract", *SCOPE_RULE_COLUMNS]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(SLATarget)
class SLATargetAdmin(ClientsAdmin):
    list_display = [
        "contract",
        "organization",
        "priority",
        "first_response_minutes",
        "resolution_minutes",
    ]
    list_filter = ["priority"]
    list_select_related = ["organization", "contract__client"]


def service_form(write: Callable[[Any, dict], object]) -> type[SameOrganizationForm]:
    """An admin form that asks the service ``write(instance, cleaned)`` first
    (in a savepoint that is rolled back): its refusal shows on the form."""

    class ServiceForm(SameOrganizationForm):
        def clean(self):
            cleaned = super().clean()
            contract = cleaned.get("contract")
            if self.errors or contract is None:
                return cleaned
            refused = service_answer(contract.organization, lambda: write(self.instance, cleaned))
            if refused:
                add_service_errors(self, refused)
            return cleaned

    return ServiceForm


class ServiceAdmin(ClientsAdmin):
    """Rows written through a service: the form asks the service first (its
    refusal shows on the form), ``save_model`` and ``delete_model`` call it,
    a refused delete is a message, and there is no bulk delete."""

    def get_actions(self, request):
        actions = super().get_actions(request)
        actions.pop("delete_selected", None)
        return actions

    write: Callable[[Any, dict], object]  # the service that saves (instance, cleaned data)

    def save_model(self, request, obj, form, change):
        with activate_organization(form.cleaned_data["contract"].organization):
            saved = self.write(obj, form.cleaned_data)
        obj.pk = saved.pk
        obj.refresh_from_db()

    def delete_service(self, obj) -> Callable[[], object]:
        raise NotImplementedError

    def delete_model(self, request, obj):
        with activate_organization(obj.organization):
            self.delete_service(obj)()

    def delete_view(self, request, object_id, extra_context=None):
        if request.method == "POST":
            obj = self.get_queryset(request).filter(pk=object_id).first()
            refused = obj and service_answer(obj.organization, self.delete_service(obj))
            if refused:
                self.message_user(request, " ".join(refused.messages), messages.ERROR)
                opts = self.model._meta
                return redirect(
                    reverse(f"admin:{opts.app_label}_{opts.model_name}_change", args=[obj.pk])
                )
        return super().delete_view(request, object_id, extra_context)


def _save_tier(instance: PricingTier, cleaned: dict) -> PricingTier:
    values = {field: cleaned.get(field) for field in ("min_units", "max_units", "unit_price")}
    if instance.pk is None:
        contract = cleaned["contract"]
        return pricing_tier_create(organization=contract.organization, contract=contract, **values)
    saved = PricingTier.objects.get(organization=instance.organization_id, pk=instance.pk)
    return pricing_tier_update(
        pricing_tier=saved, data={**values, "contract": cleaned.get("contract", saved.contract)}
    )


@admin.register(PricingTier)
class PricingTierAdmin(ServiceAdmin):
    """Bands start at 1 and follow each other without gaps or overlaps
    (pricing_tier_create/update); only the last band can be deleted."""

    form = service_form(_save_tier)
    write = staticmethod(_save_tier)
    list_display = ["contract", "organization", "min_units", "max_units", "unit_price"]
    list_select_related = ["organization", "contract__client"]

    def delete_service(self, obj):
        return lambda: pricing_tier_delete(pricing_tier=obj)


def _set_units(instance: UnitCount, cleaned: dict) -> UnitCount:
    contract = cleaned["contract"]
    if instance.pk is not None and (
        instance.month != cleaned.get("month") or instance.contract_id != contract.pk
    ):
        unit_count_delete(unit_count=UnitCount.objects.get(pk=instance.pk))
    return unit_count_set(
        organization=contract.organization,
        contract=contract,
        month=cleaned.get("month"),
        units=cleaned.get("units"),
    )


@admin.register(UnitCount)
class UnitCountAdmin(ServiceAdmin):
    """Unit counts are set through unit_count_set: per-unit contracts only,
    in the contract's run, and never in a locked billing month."""

    form = service_form(_set_units)
    write = staticmethod(_set_units)
    list_display = ["contract", "organization", "month", "units"]
    list_select_related = ["organization", "contract__client"]

    def delete_service(self, obj):
        return lambda: unit_count_delete(unit_count=obj)


def _add_top_up(instance: BlockTopUp, cleaned: dict) -> BlockTopUp:
    contract = cleaned["contract"]
    return block_top_up_create(
        organization=contract.organization,
        contract=contract,
        added_on=cleaned.get("added_on"),
        minutes=cleaned.get("minutes"),
        price=cleaned.get("price"),
        note=cleaned.get("note") or "",
    )


@admin.register(BlockTopUp)
class BlockTopUpAdmin(ServiceAdmin):
    """Top-ups are added (their expiry set from the terms in force that day)
    and withdrawn through the service; a top-up is never edited."""

    form = service_form(_add_top_up)
    write = staticmethod(_add_top_up)
    fields = ["organization", "contract", "added_on", "minutes", "price", "note", "expires_on"]
    readonly_fields = ["expires_on"]
    list_display = ["contract", "organization", "added_on", "minutes", "price", "expires_on"]
    list_select_related = ["organization", "contract__client"]
    date_hierarchy = "added_on"

    def has_change_permission(self, request, obj=None):
        return obj is None and super().has_change_permission(request, obj)

    def delete_service(self, obj):
        return lambda: block_top_up_delete(top_up=obj)


def _set_sla_calendar(instance: SLACalendar, cleaned: dict) -> SLACalendar:
    data = {field: cleaned.get(field) for field in SLA_CALENDAR_FIELDS if field in cleaned}
    return sla_calendar_set(contract=cleaned["contract"], data=data, actor=None)


@admin.register(SLACalendar)
class SLACalendarAdmin(ServiceAdmin):
    """Versions of a contract's business hours: added through the service
    (effective now), never edited or deleted — tickets keep the version they
    were opened under."""

    form = service_form(_set_sla_calendar)
    write = staticmethod(_set_sla_calendar)
    fields = [
        "organization",
        "contract",
        "hours",
        "time_zone",
        "holiday_country",
        "holiday_subdivision",
        "closed_days",
        "effective_from",
        "created_by",
    ]
    readonly_fields = ["effective_from", "created_by"]
    list_display = ["contract", "organization", "effective_from", "time_zone", "holiday_country"]
    list_select_related = ["organization", "contract__client"]
    date_hierarchy = "effective_from"

    def has_change_permission(self, request, obj=None):
        return obj is None and super().has_change_permission(request, obj)

    def has_delete_permission(self, request, obj=None):
        return False
