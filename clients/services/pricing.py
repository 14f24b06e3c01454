"""Per-unit pricing: price bands and monthly unit counts."""

import datetime
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Q

from msops.tenancy.models import Organization

from ..models import Contract, PricingTier, UnitCount
from .base import (
    Errors,
    add_error,
    assign,
    delete,
    same_organization,
    save,
    snapshot,
    validate,
)

PRICING_TIER_FIELDS = ("min_units", "max_units", "unit_price")


# --- per-unit pricing -------------------------------------------------------
def _per_unit_contract(errors: Errors, organization: int, contract: Contract) -> bool:
    if not same_organization(errors, organization, "contract", contract):
        return False
    if contract.kind != Contract.Kind.PER_UNIT:
        add_error(errors, "contract", "Only a per-unit contract has unit prices and unit counts.")
        return False
    return True


def _pricing_tier_rules(tier: PricingTier, errors: Errors, *, original: Mapping) -> None:
    organization = tier.organization_id
    if "contract" in errors:
        return
    if original.get("contract_id") and tier.contract_id != original["contract_id"]:
        add_error(errors, "contract", "A pricing tier cannot move to another contract.")
        return
    if not _per_unit_contract(errors, organization, tier.contract):
        return
    if "min_units" in errors or "max_units" in errors:
        return
    if tier.min_units < 1:
        add_error(errors, "min_units", "A band starts at one unit or more.")
        return
    if tier.max_units is not None and tier.max_units < tier.min_units:
        add_error(errors, "max_units", "The band must end at or above where it starts.")
        return
    upper = tier.max_units
    overlapping = PricingTier.objects.filter(
        organization=organization, contract=tier.contract
    ).exclude(pk=tier.pk)
    # Two bands overlap when each starts before the other ends.
    overlapping = overlapping.filter(Q(max_units__isnull=True) | Q(max_units__gte=tier.min_units))
    if upper is not None:
        overlapping = overlapping.filter(min_units__lte=upper)
    clash = overlapping.order_by("min_units").first()
    if clash is not None:
        add_error(errors, "min_units", f"This band overlaps the band {clash}.")


@transaction.atomic
def pricing_tier_create(
    *,
    organization: Organization,
    contract: Contract,
    min_units: int,
    unit_price: Decimal,
    max_units: int | None = None,
) -> PricingTier:
    tier = PricingTier(
        organization=organization,
        contract=contract,
        min_units=min_units,
        max_units=max_units,
        unit_price=unit_price,
    )
    validate(tier, rules=lambda t, e: _pricing_tier_rules(t, e, original={}))
    return save(tier)


@transaction.atomic
def pricing_tier_update(*, pricing_tier: PricingTier, data: Mapping[str, Any]) -> PricingTier:
    original = snapshot(pricing_tier, ["contract_id"])
    if "contract" in data and data["contract"] != pricing_tier.contract:
        raise ValidationError({"contract": "A pricing tier cannot move to another contract."})
    assign(pricing_tier, {k: v for k, v in data.items() if k != "contract"}, PRICING_TIER_FIELDS)
    validate(pricing_tier, rules=lambda t, e: _pricing_tier_rules(t, e, original=original))
    return save(pricing_tier)


@transaction.atomic
def pricing_tier_delete(*, pricing_tier: PricingTier) -> None:
    delete(pricing_tier, in_use="This pricing tier is in use.")


@transaction.atomic
def unit_count_set(
    *, organization: Organization, contract: Contract, month: datetime.date, units: int
) -> UnitCount:
    """How many units a per-unit contract covered in a month (any day of the
    month names it). Setting a month again replaces its count."""
    errors: Errors = {}
    if _per_unit_contract(errors, organization.pk, contract) and isinstance(month, datetime.date):
        month = month.replace(day=1)
        last_day = (month + datetime.timedelta(days=32)).replace(day=1) - datetime.timedelta(days=1)
        if last_day < contract.starts_on or (
            contract.ends_on is not None and month > contract.ends_on
        ):
            add_error(errors, "month", "The contract does not run in this month.")
    if not isinstance(month, datetime.date):
        add_error(errors, "month", "Give the month as a date.")
    if units is None or not isinstance(units, int) or units < 0:
        add_error(errors, "units", "Give a whole number of units, zero or more.")
    if errors:
        raise ValidationError(errors)
    count = (
        UnitCount.objects.select_for_update()
        .filter(organization=organization, contract=contract, month=month)
        .first()
    )
    if count is None:
        count = UnitCount(organization=organization, contract=contract, month=month)
    count.units = units
    count.full_clean()
    return save(count)


@transaction.atomic
def unit_count_delete(*, unit_count: UnitCount) -> None:
    delete(unit_count, in_use="This unit count is in use.")
