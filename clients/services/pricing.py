"""Per-unit pricing (price bands and monthly unit counts) and the prepaid
top-ups of a block of hours."""

import datetime
from collections.abc import Mapping
from decimal import Decimal, InvalidOperation
from typing import Any

from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.db import transaction

from msops.calendar import add_months
from msops.tenancy.models import Organization

from ..models import ZERO, BlockTopUp, Contract, ContractRevision, PricingTier, UnitCount
from ..rules import contract_terms_on, covers
from .base import (
    Errors,
    add_error,
    assign,
    delete,
    field_errors,
    same_organization,
    save,
    snapshot,
    validate,
)

PRICING_TIER_FIELDS = ("min_units", "max_units", "unit_price")


def _band(lower: int, upper: int | None) -> str:
    return f"{lower}–{upper if upper is not None else '∞'}"


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
    others = list(
        PricingTier.objects.filter(organization=organization, contract=tier.contract)
        .exclude(pk=tier.pk)
        .order_by("min_units")
    )
    upper = tier.max_units
    # Two bands overlap when each starts before the other ends.
    clash = next(
        (
            other
            for other in others
            if (other.max_units is None or other.max_units >= tier.min_units)
            and (upper is None or other.min_units <= upper)
        ),
        None,
    )
    if clash is not None:
        if upper is None and clash.min_units > tier.min_units:
            add_error(
                errors,
                "max_units",
                "Only the last band may be open-ended: the band "
                f"{_band(clash.min_units, clash.max_units)} comes after this one.",
            )
        else:
            add_error(
                errors,
                "min_units",
                f"This band overlaps the band {_band(clash.min_units, clash.max_units)}.",
            )
        return
    _contiguity_rules(tier, others, errors, original=original)


def _gaps(bands: list[tuple[int, int | None]]) -> set[tuple[int, int]]:
    """The unit ranges no band prices, below the last band's start: from 1 up
    to the first band, and between one band's end and the next one's start."""
    gaps = set()
    expected = 1
    for lower, upper in sorted(bands):
        if lower > expected:
            gaps.add((expected, lower - 1))
        if upper is None:
            break
        expected = max(expected, upper + 1)
    return gaps


def _contiguity_rules(
    tier: PricingTier, others: list[PricingTier], errors: Errors, *, original: Mapping
) -> None:
    """The bands start at 1 and follow each other without gaps (next start =
    previous end + 1). Only gaps this save would open are refused (bands saved
    before the rule keep theirs until they are changed)."""
    bands = [(other.min_units, other.max_units) for other in others]
    before = list(bands)
    if original.get("min_units") is not None:
        before.append((original["min_units"], original.get("max_units")))
    opened = _gaps([*bands, (tier.min_units, tier.max_units)]) - _gaps(before)
    if not opened:
        return
    previous = next((o for o in reversed(others) if o.min_units < tier.min_units), None)
    following = next((o for o in others if o.min_units > tier.min_units), None)
    for lower, upper in sorted(opened):
        unpriced = f"Units {_band(lower, upper)} would have no price"
        if upper == tier.min_units - 1:
            where = (
                f"start this band at {previous.max_units + 1}, right after the band "
                f"{_band(previous.min_units, previous.max_units)}"
                if previous is not None
                else "the first band starts at 1 unit"
            )
            add_error(errors, "min_units", f"{unpriced}: {where}.")
        elif tier.max_units is not None and lower == tier.max_units + 1 and following:
            add_error(
                errors,
                "max_units",
                f"{unpriced}: end this band at {following.min_units - 1}, "
                f"right before the band {_band(following.min_units, following.max_units)}.",
            )
        else:  # left behind where the band used to be
            add_error(
                errors,
                "min_units",
                f"{unpriced}: bands follow each other without gaps. "
                "Move a band only within the units it priced.",
            )


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
    original = snapshot(pricing_tier, ["contract_id", "min_units", "max_units"])
    if "contract" in data and data["contract"] != pricing_tier.contract:
        raise ValidationError({"contract": "A pricing tier cannot move to another contract."})
    assign(pricing_tier, {k: v for k, v in data.items() if k != "contract"}, PRICING_TIER_FIELDS)
    validate(pricing_tier, rules=lambda t, e: _pricing_tier_rules(t, e, original=original))
    return save(pricing_tier)


@transaction.atomic
def pricing_tier_delete(*, pricing_tier: PricingTier) -> None:
    """Only the last band goes: a band in the middle would leave a gap."""
    following = (
        PricingTier.objects.filter(
            organization=pricing_tier.organization_id,
            contract=pricing_tier.contract_id,
            min_units__gt=pricing_tier.min_units,
        )
        .order_by("min_units")
        .first()
    )
    if following is not None:
        raise ValidationError(
            {
                NON_FIELD_ERRORS: [
                    f"Units {_band(pricing_tier.min_units, pricing_tier.max_units)} would have "
                    "no price: only the last band can be deleted (the band "
                    f"{_band(following.min_units, following.max_units)} comes after this one)."
                ]
            }
        )
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


# --- block top-ups ----------------------------------------------------------------
TOP_UP_CHECKED = ("added_on", "minutes", "price", "expires_on")  # by _top_up_errors


def top_up_expires_on(terms: ContractRevision | None, added_on: datetime.date):
    """When a top-up added on ``added_on`` under ``terms`` expires: the terms'
    ``block_expiry_months`` calendar months later (None: never). Its unused
    minutes cannot be drawn from that day on."""
    months = terms.block_expiry_months if terms is not None else None
    return add_months(added_on, months) if months else None


def _top_up_errors(
    organization: Organization,
    contract: Contract | None,
    added_on: Any,
    minutes: Any,
    price: Any,
) -> Errors:
    errors: Errors = {}
    if contract is None:
        add_error(errors, "contract", "Choose the block of hours to top up.")
    elif same_organization(errors, organization.pk, "contract", contract):
        if contract.kind != Contract.Kind.BLOCK:
            add_error(errors, "contract", "Only a block of hours is topped up.")
        elif isinstance(added_on, datetime.date) and not covers(contract, added_on):
            ends = f"{contract.ends_on:%Y-%m-%d}" if contract.ends_on else "open-ended"
            add_error(
                errors,
                "added_on",
                f"The contract runs {contract.starts_on:%Y-%m-%d} – {ends}: "
                "add the top-up on a day in between.",
            )
    if not isinstance(added_on, datetime.date):
        add_error(errors, "added_on", "Give the day the time was added.")
    if isinstance(minutes, bool) or not isinstance(minutes, int) or minutes < 1:
        add_error(errors, "minutes", "Add one minute or more.")
    try:
        amount = Decimal(price)
    except (InvalidOperation, TypeError, ValueError):
        add_error(errors, "price", "Give the price as an amount, zero or more.")
    else:
        if not amount.is_finite() or amount < ZERO:
            add_error(errors, "price", "The price cannot be negative.")
    return errors


@transaction.atomic
def block_top_up_create(
    *,
    organization: Organization,
    contract: Contract,
    added_on: datetime.date,
    minutes: int,
    price: Decimal,
    note: str = "",
) -> BlockTopUp:
    """Prepaid minutes added to a block of hours on a day within the
    contract's run, charged ``price`` in that month. It expires after the
    ``block_expiry_months`` of the terms in force on ``added_on`` (none: never)."""
    errors = _top_up_errors(organization, contract, added_on, minutes, price)
    top_up = BlockTopUp(organization=organization, contract=contract, note=(note or "").strip())
    for field, messages in field_errors(top_up, exclude=["contract", *TOP_UP_CHECKED]).items():
        errors.setdefault(field, []).extend(messages)
    if errors:
        raise ValidationError(errors)
    top_up.added_on, top_up.minutes, top_up.price = added_on, minutes, Decimal(price)
    top_up.expires_on = top_up_expires_on(
        contract_terms_on(contract=contract, on=added_on), added_on
    )
    top_up.full_clean()
    return save(top_up)


@transaction.atomic
def block_top_up_delete(*, top_up: BlockTopUp) -> None:
    """Withdraw a top-up added by mistake."""
    delete(top_up, in_use="This top-up is in use.")
