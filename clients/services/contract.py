"""Contracts and their terms as effective-dated revisions."""

import datetime
import re
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.db import transaction
from django.db.models import ProtectedError

from msops import period_guard
from msops.calendar import months_between
from msops.errors import IN_USE
from msops.limits import NOTE_MAX, too_long
from msops.tenancy.models import Organization
from msops.timezones import organization_today

from ..models import (
    ZERO,
    BlockTopUp,
    Client,
    Contract,
    ContractRevision,
    PricingTier,
    ScopeRule,
    SLATarget,
    UnitCount,
)
from ..rules import contract_terms_on
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
from .pricing import block_top_up_create, top_up_expires_on
from .rates import first_day_without_rate, rules_excluding_without_rate

CURRENCY = re.compile(r"^[A-Z]{3}$")

# The commercial terms a contract revision carries (and their defaults for the
# first revision when none are given).
TERM_FIELDS: dict[str, Any] = {
    "fee": ZERO,
    "included_minutes": 0,
    "hourly_rate": ZERO,
    "overage_rate": None,
    "rounding_increment_minutes": 15,
    "minimum_charge_minutes": 0,
    "reask_factor": 2,
    "block_expiry_months": None,
    "note": "",
}
CONTRACT_FIELDS = (
    "client",
    "name",
    "kind",
    "period",
    "starts_on",
    "ends_on",
    "currency",
    "exclusions",
    "notice_days",
    "offboarding_fee",
    "review_cadence",
    "tier_mode",
)
FIRST_TOP_UP_NOTE = "The block's first prepaid time"


# --- contracts and their terms ----------------------------------------------
def _contract_rules(contract: Contract, errors: Errors, *, original: Mapping[str, Any]) -> None:
    organization = contract.organization_id
    if "client" not in errors:
        if original.get("client_id") and contract.client_id != original["client_id"]:
            add_error(errors, "client", "A contract cannot move to another client.")
        elif (
            same_organization(errors, organization, "client", contract.client)
            and contract.pk is None
            and contract.client.status == Client.Status.ENDED
        ):
            add_error(
                errors, "client", "This client has ended; reopen it before adding a contract."
            )
    if "name" not in errors:
        contract.name = (contract.name or "").strip()
        if not contract.name:
            add_error(errors, "name", "Give the contract a name.")
    if "currency" not in errors:
        contract.currency = (contract.currency or contract.organization.currency).strip().upper()
        if not CURRENCY.match(contract.currency):
            add_error(errors, "currency", "Use a three-letter currency code such as EUR or USD.")
    if "exclusions" not in errors:
        message = too_long(contract.exclusions, limit=NOTE_MAX, what="Exclusions")
        if message:
            add_error(errors, "exclusions", message)
    starts_on, ends_on = contract.starts_on, contract.ends_on
    dates_valid = "starts_on" not in errors and "ends_on" not in errors
    if dates_valid and ends_on is not None and ends_on <= starts_on:
        add_error(errors, "ends_on", "The contract must end after it starts.")
    if (
        contract.pk is not None
        and "starts_on" not in errors
        and starts_on != original.get("starts_on")
    ):
        # The first revision moves with the start; a later change of terms may
        # not fall on or before the new start.
        later = (
            ContractRevision.objects.filter(
                organization=organization, contract=contract, effective_from__lte=starts_on
            )
            .exclude(effective_from=original.get("starts_on"))
            .order_by("effective_from")
            .first()
        )
        if later is not None:
            add_error(
                errors,
                "starts_on",
                f"The terms already change on {later.effective_from:%Y-%m-%d}; "
                "the contract must start before that.",
            )
    if contract.pk is not None and dates_valid and ends_on is not None:
        late = ContractRevision.objects.filter(
            organization=organization, contract=contract, effective_from__gt=ends_on
        ).first()
        if late is not None:
            add_error(
                errors,
                "ends_on",
                f"New terms start on {late.effective_from:%Y-%m-%d}, after this end date.",
            )
    if contract.pk is not None:
        _top_up_dates_rules(contract, errors, original=original)


def _top_up_dates_rules(contract: Contract, errors: Errors, *, original: Mapping) -> None:
    """A block keeps its top-ups inside its run (those added on its first day
    move with the start) and stays a block while it has any (or terms that
    say when they expire)."""
    top_ups = BlockTopUp.objects.filter(organization=contract.organization_id, contract=contract)
    if (
        "kind" not in errors
        and contract.kind == Contract.Kind.BLOCK
        and original.get("kind") not in (None, Contract.Kind.BLOCK)
        and not top_ups.exists()
    ):
        add_error(
            errors,
            "kind",
            "A block of hours starts with prepaid time, and this contract has none: "
            "add a block contract with its prepaid minutes instead.",
        )
    if "kind" not in errors and contract.kind != Contract.Kind.BLOCK:
        if top_ups.exists():
            add_error(errors, "kind", "This block of hours has top-ups: it stays a block.")
        elif ContractRevision.objects.filter(
            organization=contract.organization_id,
            contract=contract,
            block_expiry_months__isnull=False,
        ).exists():
            add_error(errors, "kind", "Its terms say when top-ups expire: it stays a block.")
    if "starts_on" not in errors and contract.starts_on != original.get("starts_on"):
        early = (
            top_ups.filter(added_on__lt=contract.starts_on)
            .exclude(added_on=original.get("starts_on"))
            .order_by("added_on")
            .first()
        )
        if early is not None:
            add_error(
                errors,
                "starts_on",
                f"Time was added to the block on {early.added_on:%Y-%m-%d}; "
                "the contract must start on or before that.",
            )
    if "ends_on" not in errors and contract.ends_on is not None:
        late = top_ups.filter(added_on__gt=contract.ends_on).order_by("-added_on").first()
        if late is not None:
            add_error(
                errors,
                "ends_on",
                f"Time was added to the block on {late.added_on:%Y-%m-%d}, after this end date.",
            )


def _revision_rules(revision: ContractRevision, errors: Errors) -> None:
    contract = revision.contract
    if "effective_from" in errors or revision.effective_from is None:
        if "effective_from" not in errors:
            add_error(errors, "effective_from", "Say from which date the terms apply.")
        return
    on = revision.effective_from
    if on < contract.starts_on:
        add_error(
            errors,
            "effective_from",
            f"The contract starts on {contract.starts_on:%Y-%m-%d}; terms cannot apply before that.",
        )
    elif contract.ends_on is not None and on > contract.ends_on:
        add_error(
            errors,
            "effective_from",
            f"The contract ends on {contract.ends_on:%Y-%m-%d}; terms cannot start after that.",
        )
    elif (
        contract.pk is not None
        and ContractRevision.objects.filter(
            organization=contract.organization_id, contract=contract, effective_from=on
        )
        .exclude(pk=revision.pk)
        .exists()
    ):
        add_error(
            errors, "effective_from", f"Terms from {on:%Y-%m-%d} already exist for this contract."
        )
    increment = revision.rounding_increment_minutes
    if "rounding_increment_minutes" not in errors and not 1 <= (increment or 0) <= 60:
        add_error(errors, "rounding_increment_minutes", "Round to between 1 and 60 minutes.")
    if (
        contract.kind == Contract.Kind.BLOCK
        and contract.pk is None
        and "included_minutes" not in errors
        and not revision.included_minutes
    ):
        add_error(
            errors,
            "included_minutes",
            "A block of hours starts with prepaid minutes: give their number "
            "(they become its first top-up).",
        )
    if "block_expiry_months" not in errors:
        _block_expiry_rule(contract, revision.block_expiry_months, errors)
    try:
        factor = int(revision.reask_factor)
    except (TypeError, ValueError):
        factor = None  # reported by the field check
    if factor is not None and factor < 2:
        errors["reask_factor"] = [
            "Ask again at twice the expected time or later: give a factor of 2 or more."
        ]
    if (
        contract.pk is not None
        and "hourly_rate" not in errors
        and "effective_from" not in errors
        and (revision.hourly_rate or ZERO) <= ZERO
    ):
        _excluded_work_needs_a_rate(revision, errors)


def _block_expiry_rule(contract: Contract, months: int | None, errors: Errors) -> None:
    if months is not None and contract.kind != Contract.Kind.BLOCK:
        add_error(
            errors,
            "block_expiry_months",
            "Only a block of hours has top-ups that expire: leave this empty.",
        )


def check_block_expiry(*, contract: Contract, block_expiry_months: int | None) -> None:
    """The terms' rule for ``block_expiry_months``, for forms that add terms
    outside :func:`contract_revision_create` (the admin's inline)."""
    errors: Errors = {}
    _block_expiry_rule(contract, block_expiry_months, errors)
    if errors:
        raise ValidationError(errors)


def _excluded_work_needs_a_rate(revision: ContractRevision, errors: Errors) -> None:
    """Terms without an hourly rate may not apply while a scope rule excludes
    work without a rate override: excluded work falls back to this rate."""
    following = (
        ContractRevision.objects.filter(
            organization=revision.organization_id,
            contract=revision.contract,
            effective_from__gt=revision.effective_from,
        )
        .exclude(pk=revision.pk)
        .order_by("effective_from")
        .first()
    )
    excluded = rules_excluding_without_rate(
        contract=revision.contract,
        start=revision.effective_from,
        until=following.effective_from if following else None,
    )
    if excluded:
        rule = excluded[0]
        add_error(
            errors,
            "hourly_rate",
            f"Excluded work falls back to billable at this rate: the rule for “{rule.request_type_name}” "
            f"excludes work from {rule.on:%Y-%m-%d} without a rate override. "
            "Give an hourly rate above zero, or that rule a rate override.",
        )


def _revision_from_terms(
    contract: Contract, effective_from: datetime.date, terms: Mapping[str, Any], base: Mapping
) -> ContractRevision:
    unknown = sorted(set(terms) - set(TERM_FIELDS))
    if unknown:
        raise ValidationError({field: "Not a contract term." for field in unknown})
    values = {**base, **terms}
    if values.get("note") is None:
        values["note"] = ""
    return ContractRevision(
        organization_id=contract.organization_id,
        contract=contract,
        effective_from=effective_from,
        **values,
    )


@transaction.atomic
def contract_create(
    *,
    organization: Organization,
    client: Client,
    name: str,
    kind: str,
    starts_on: datetime.date,
    period: str = Contract.Period.MONTHLY,
    ends_on: datetime.date | None = None,
    currency: str | None = None,
    exclusions: str = "",
    notice_days: int = 30,
    offboarding_fee: Decimal = ZERO,
    review_cadence: str = Contract.ReviewCadence.QUARTERLY,
    tier_mode: str = Contract.TierMode.GRADUATED,
    terms: Mapping[str, Any] | None = None,
) -> Contract:
    """A contract and its first terms (in force from the start), together.
    The currency defaults to the organization's. A block of hours also gets
    its first top-up: the terms' prepaid minutes on the first day, at the
    terms' fee."""
    contract = Contract(
        organization=organization,
        client=client,
        name=name,
        kind=kind,
        period=period,
        starts_on=starts_on,
        ends_on=ends_on,
        currency=currency or organization.currency,
        exclusions=exclusions or "",
        notice_days=notice_days,
        offboarding_fee=offboarding_fee,
        review_cadence=review_cadence,
        tier_mode=tier_mode,
    )
    errors = field_errors(contract)
    _contract_rules(contract, errors, original={})
    revision = _revision_from_terms(contract, contract.starts_on, terms or {}, TERM_FIELDS)
    if "starts_on" not in errors and "kind" not in errors:
        revision_errors = field_errors(revision, exclude=["contract", "effective_from"])
        _revision_rules(revision, revision_errors)
        revision_errors.pop("effective_from", None)  # reported on starts_on already
        for field, messages in revision_errors.items():
            errors.setdefault(field, []).extend(messages)
    if errors:
        raise ValidationError(errors)
    contract.full_clean()
    save(contract)
    revision.contract = contract
    revision.full_clean()
    save(revision)
    if contract.kind == Contract.Kind.BLOCK and revision.included_minutes > 0:
        block_top_up_create(
            organization=organization,
            contract=contract,
            added_on=contract.starts_on,
            minutes=revision.included_minutes,
            price=revision.fee,
            note=FIRST_TOP_UP_NOTE,
        )
    return contract


# What decides how every month of the contract prices.
PRICED_BY = ("kind", "period", "currency", "tier_mode")


def _priced_months_open(contract: Contract, original: Mapping[str, Any]) -> None:
    """A change to the dates or the pricing of a contract changes the months it
    touches: a locked billing month among them refuses it (msops.period_guard)."""
    months: list[datetime.date] = []
    today = organization_today(contract.organization)
    field_name = "starts_on"
    for field in ("starts_on", "ends_on"):
        old, new = original[field], getattr(contract, field)
        if old != new:
            ends = [d for d in (old, new) if d is not None]
            if len(ends) == 1:  # an end added or removed: every month after it
                ends.append(today)
            if not months:
                field_name = field
            months += months_between(*ends)
    if any(getattr(contract, f) != original[f] for f in PRICED_BY):
        until = contract.ends_on or today
        months += months_between(original["starts_on"], max(until, original["starts_on"]))
        field_name = next(f for f in PRICED_BY if getattr(contract, f) != original[f])
    if months:
        period_guard.ensure_open(
            organization_id=contract.organization_id,
            client=contract.client_id,
            days=sorted(set(months)),
            field=field_name,
        )


@transaction.atomic
def contract_update(*, contract: Contract, data: Mapping[str, Any]) -> Contract:
    """Change what the contract is (not its commercial terms: those change by
    adding a revision). Moving the start moves the first terms with it, and a
    block's top-ups added on its first day (their expiry moves along)."""
    original = snapshot(contract, ["client_id", "starts_on", "ends_on", *PRICED_BY])
    assign(contract, data, CONTRACT_FIELDS)
    validate(contract, rules=lambda c, e: _contract_rules(c, e, original=original))
    _priced_months_open(contract, original)
    save(contract)
    if contract.starts_on != original["starts_on"]:
        ContractRevision.objects.filter(
            organization=contract.organization_id,
            contract=contract,
            effective_from=original["starts_on"],
        ).update(effective_from=contract.starts_on)
        terms = contract_terms_on(contract=contract, on=contract.starts_on)
        for top_up in BlockTopUp.objects.filter(
            organization=contract.organization_id,
            contract=contract,
            added_on=original["starts_on"],
        ):
            top_up.added_on = contract.starts_on
            top_up.expires_on = top_up_expires_on(terms, contract.starts_on)
            save(top_up)
    return contract


@transaction.atomic
def contract_delete(*, contract: Contract) -> None:
    """Only a contract nothing refers to yet (no work, no recorded decision);
    otherwise it should be given an end date. Its terms and rules go with it."""
    organization = contract.organization_id
    try:
        with transaction.atomic():
            for model in (
                ScopeRule,
                ContractRevision,
                SLATarget,
                PricingTier,
                UnitCount,
                BlockTopUp,
            ):
                model.objects.filter(organization=organization, contract=contract).delete()
            contract.delete()
    except ProtectedError as error:
        raise ValidationError(
            {
                NON_FIELD_ERRORS: ValidationError(
                    "Work or decisions are recorded against this contract. "
                    "Give it an end date instead.",
                    code=IN_USE,
                )
            }
        ) from error


@transaction.atomic
def contract_revision_create(
    *,
    organization: Organization,
    contract: Contract,
    effective_from: datetime.date,
    terms: Mapping[str, Any] | None = None,
) -> ContractRevision:
    """New terms from a date. Terms not given carry over from the terms in
    force on that date. Refuses a date before the contract starts, after it
    ends, or one that already has terms."""
    errors: Errors = {}
    if not same_organization(errors, organization.pk, "contract", contract):
        raise ValidationError(errors)
    base = dict(TERM_FIELDS)
    in_force = (
        contract_terms_on(contract=contract, on=effective_from)
        if isinstance(effective_from, datetime.date)
        else None
    )
    if in_force is not None:
        base = {field: getattr(in_force, field) for field in TERM_FIELDS}
        base["note"] = ""
    revision = _revision_from_terms(contract, effective_from, terms or {}, base)
    validate(revision, rules=_revision_rules)
    return save(revision)


@transaction.atomic
def contract_revision_delete(*, revision: ContractRevision, today: datetime.date) -> None:
    """Withdraw terms that are not in force yet. Terms that applied on some
    day are history: decisions may have recorded them."""
    contract = revision.contract
    if revision.effective_from <= today:
        raise ValidationError(
            {NON_FIELD_ERRORS: ["These terms are already in force; add new terms instead."]}
        )
    if revision.effective_from == contract.starts_on:
        raise ValidationError({NON_FIELD_ERRORS: ["The first terms of a contract stay."]})
    following = (
        ContractRevision.objects.filter(
            organization=contract.organization_id,
            contract=contract,
            effective_from__gt=revision.effective_from,
        )
        .order_by("effective_from")
        .first()
    )
    delete(revision, in_use="These terms are referred to elsewhere.")
    until = following.effective_from if following else None
    if first_day_without_rate(contract=contract, start=revision.effective_from, until=until):
        excluded = rules_excluding_without_rate(
            contract=contract, start=revision.effective_from, until=until
        )
        if excluded:
            raise ValidationError(
                {
                    NON_FIELD_ERRORS: [
                        f"Without these terms the rule for “{excluded[0].request_type_name}” "
                        "would exclude work while the contract has no hourly rate."
                    ]
                }
            )
