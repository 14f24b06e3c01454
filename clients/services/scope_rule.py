"""Scope rules: contract × request type → how the work is treated, kept as
effective-dated revisions so work is always judged by the revision in force on
its work date."""

import datetime
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.db import transaction

from msops.tenancy.models import Organization

from ..models import Contract, RequestType, ScopeRule, Treatment
from ..selectors import organization_today
from .base import Errors, add_error, assign, delete, same_organization, save, validate
from .rates import excludes_without_rate, first_day_without_rate

# Each ScopeRule row is one revision of the rule for contract × request type.
# The revision in force on a day is the one with the latest effective_from on
# or before it; a ``removed`` revision means no rule from its date on.
#
# Dates, in the organization's timezone ("today"):
# - a revision starts on a day the contract covers;
# - a rule's first revision may start any such day (recording a rule agreed
#   before it was entered here); every later revision — an edit, an end, a
#   rule started again after it ended — starts today or later: work already
#   done keeps being judged by the revision that was in force on its date;
# - a later revision may fall between existing future revisions (it applies
#   until the next one);
# - a revision on the date of an existing one corrects that one in place, but
#   only while its date is still in the future; from its first day on, work
#   may already be judged by it and it is history.
SCOPE_RULE_FIELDS = (
    "request_type",
    "treatment",
    "expected_minutes",
    "approval_threshold_minutes",
    "rate_override",
    "explanation",
)
REVISION_FIELDS = SCOPE_RULE_FIELDS[1:]  # what a revision carries
ALREADY_JUDGED = (
    "A revision from that date already exists and work may already be judged by it: "
    "choose a later date."
)
IN_THE_PAST = (
    "Work before today was judged by the revision in force then: "
    "a new revision starts today or later."
)


def default_effective_from(*, contract: Contract, today: datetime.date) -> datetime.date:
    """Today, or the contract's first day when it has not started yet."""
    return max(today, contract.starts_on)


def _as_date(value: Any) -> datetime.date:
    if isinstance(value, datetime.datetime):
        return value.date()
    if isinstance(value, datetime.date):
        return value
    try:
        return datetime.date.fromisoformat(str(value))
    except ValueError:
        raise ValidationError({"effective_from": "Give a date as YYYY-MM-DD."}) from None


def _history(contract: Contract, request_type: RequestType) -> list[ScopeRule]:
    """Every revision of the rule, oldest first (rows locked: two people
    revising one rule at once take turns)."""
    return list(
        ScopeRule.objects.select_for_update()
        .filter(organization=contract.organization_id, contract=contract, request_type=request_type)
        .order_by("effective_from")
    )


def _in_force(history: list[ScopeRule], on: datetime.date) -> ScopeRule | None:
    """The revision with the latest date on or before ``on`` (may be a removal)."""
    return next((row for row in reversed(history) if row.effective_from <= on), None)


def _next_after(history: list[ScopeRule], on: datetime.date) -> ScopeRule | None:
    return next((row for row in history if row.effective_from > on), None)


def _date_errors(
    errors: Errors,
    *,
    contract: Contract,
    on: datetime.date,
    today: datetime.date,
    history: list[ScopeRule],
    first: bool,
) -> None:
    if on < contract.starts_on:
        add_error(
            errors,
            "effective_from",
            f"The contract starts on {contract.starts_on:%Y-%m-%d}; a rule cannot apply before that.",
        )
    elif contract.ends_on is not None and on > contract.ends_on:
        add_error(
            errors,
            "effective_from",
            f"The contract ends on {contract.ends_on:%Y-%m-%d}; a rule cannot start after that.",
        )
    elif on <= today and any(row.effective_from == on for row in history):
        add_error(errors, "effective_from", ALREADY_JUDGED)
    elif on < today and not first:
        add_error(errors, "effective_from", IN_THE_PAST)


def _scope_rule_rules(
    rule: ScopeRule, errors: Errors, *, history: list[ScopeRule], first: bool, today
) -> None:
    for field in ("expected_minutes", "approval_threshold_minutes"):
        value = getattr(rule, field)
        if field not in errors and value is not None and value < 1:
            add_error(errors, field, "Leave it empty or give at least one minute.")
    expected, threshold = rule.expected_minutes, rule.approval_threshold_minutes
    if (
        not {"expected_minutes", "approval_threshold_minutes", "treatment"} & set(errors)
        and rule.treatment == Treatment.INCLUDED
        and expected is not None
        and threshold is not None
        and threshold < expected
    ):
        add_error(
            errors,
            "approval_threshold_minutes",
            f"Approval past {threshold} min comes before the expected {expected} min: every "
            "ordinary ticket of this included work would wait for approval. Set it at or "
            "above the expected time.",
        )
    rule.explanation = (rule.explanation or "").strip()
    if (
        "treatment" not in errors
        and rule.treatment == Treatment.INCLUDED
        and rule.rate_override is not None
    ):
        add_error(errors, "rate_override", "Included work is not billed; leave the rate empty.")
    if "effective_from" in errors:
        return
    _date_errors(
        errors,
        contract=rule.contract,
        on=rule.effective_from,
        today=today,
        history=history,
        first=first,
    )
    if not (
        {"treatment", "rate_override", "effective_from"} & set(errors)
    ) and excludes_without_rate(rule):
        following = _next_after(history, rule.effective_from)
        day = first_day_without_rate(
            contract=rule.contract,
            start=rule.effective_from,
            until=following.effective_from if following else None,
        )
        if day is not None:
            add_error(
                errors,
                "treatment",
                "Excluded work falls back to billable at the contract's time-and-materials "
                f"rate, and this contract has none from {day:%Y-%m-%d}: give the rule a rate "
                "override or the contract an hourly rate.",
            )


def _revise(
    *,
    organization: Organization,
    contract: Contract,
    request_type: RequestType,
    values: Mapping[str, Any],
    effective_from: datetime.date | str | None,
    today: datetime.date | None,
    base: ScopeRule | None = None,
    new_rule: bool = False,
) -> ScopeRule:
    """Write the revision of contract × request type from ``effective_from``:
    a new row, or the correction of a future one on that date. Fields not in
    ``values`` carry over from the revision in force on that date (or
    ``base``)."""
    errors: Errors = {}
    same_organization(errors, organization.pk, "contract", contract)
    same_organization(errors, organization.pk, "request_type", request_type)
    if errors:
        raise ValidationError(errors)
    today = today or organization_today(organization=organization)
    on = (
        default_effective_from(contract=contract, today=today)
        if effective_from is None
        else _as_date(effective_from)
    )
    history = _history(contract, request_type)
    in_force = _in_force(history, on)
    in_force_on_date = in_force is not None and not in_force.removed
    if new_rule and history and (in_force_on_date or not history[-1].removed):
        raise ValidationError(
            {
                "request_type": f"This contract already has a rule for “{request_type.name}”: "
                "change it by adding a revision."
            }
        )
    if not in_force_on_date and base is None and not request_type.is_active:
        raise ValidationError({"request_type": "This request type is no longer offered."})
    carried = in_force if in_force_on_date else base
    merged = {field: getattr(carried, field) for field in REVISION_FIELDS} if carried else {}
    merged.update(values)
    if "treatment" not in merged:
        raise ValidationError({"treatment": "Choose how the work is treated."})
    same_day = next((row for row in history if row.effective_from == on), None)
    if same_day is not None and on > today:
        rule = same_day  # a future revision, corrected in place
    else:
        rule = ScopeRule(
            organization=organization,
            contract=contract,
            request_type=request_type,
            effective_from=on,
        )
    for field, value in merged.items():
        setattr(rule, field, value)
    rule.explanation = rule.explanation or ""
    rule.removed = False
    first = not [row for row in history if row.pk != rule.pk]
    validate(
        rule,
        rules=lambda r, e: _scope_rule_rules(
            r, e, history=[row for row in history if row.pk != r.pk], first=first, today=today
        ),
    )
    return save(rule)


@transaction.atomic
def scope_rule_create(
    *,
    organization: Organization,
    contract: Contract,
    request_type: RequestType,
    treatment: str,
    expected_minutes: int | None = None,
    approval_threshold_minutes: int | None = None,
    rate_override: Decimal | None = None,
    explanation: str = "",
    effective_from: datetime.date | None = None,
    today: datetime.date | None = None,
) -> ScopeRule:
    """The first revision of the rule for contract × request type, from
    ``effective_from`` (default: today, or the contract's start when it has
    not started). Refused while the contract has a rule for that type:
    changes are revisions (:func:`scope_rule_update`). A rule that was ended
    may be started again, from today or later.

    ``today`` is the organization's today; pass it only to record history as
    of an earlier day (demo data)."""
    return _revise(
        organization=organization,
        contract=contract,
        request_type=request_type,
        values={
            "treatment": treatment,
            "expected_minutes": expected_minutes,
            "approval_threshold_minutes": approval_threshold_minutes,
            "rate_override": rate_override,
            "explanation": explanation or "",
        },
        effective_from=effective_from,
        today=today,
        new_rule=True,
    )


@transaction.atomic
def scope_rule_update(
    *,
    scope_rule: ScopeRule,
    data: Mapping[str, Any],
    effective_from: datetime.date | None = None,
    today: datetime.date | None = None,
) -> ScopeRule:
    """Change a rule: add a revision from ``effective_from`` (default today,
    or the contract's start when it has not started) carrying ``data`` over
    the revision in force on that date, and return it. Earlier revisions stay
    as they were, so past work keeps its judgement. On the date of an
    existing revision this corrects that revision, only while the date is in
    the future. See the notes above for every date rule."""
    data = dict(data)
    if "contract" in data and data.pop("contract") != scope_rule.contract:
        raise ValidationError({"contract": "A scope rule cannot move to another contract."})
    if "request_type" in data and data.pop("request_type") != scope_rule.request_type:
        raise ValidationError(
            {"request_type": "A rule keeps its request type: add a rule for the other type."}
        )
    assign(ScopeRule(), data, REVISION_FIELDS)  # refuses what a revision does not carry
    return _revise(
        organization=scope_rule.organization,
        contract=scope_rule.contract,
        request_type=scope_rule.request_type,
        values=data,
        effective_from=effective_from,
        today=today,
        base=scope_rule,
    )


@transaction.atomic
def scope_rule_revise(
    *,
    organization: Organization,
    contract: Contract,
    request_type: RequestType,
    data: Mapping[str, Any],
    effective_from: datetime.date | None = None,
    today: datetime.date | None = None,
) -> ScopeRule:
    """The rule for contract × request type from ``effective_from`` (default
    today, or the contract's start): its first revision when it has none,
    else a new revision carrying ``data`` over the revision in force on that
    date (as :func:`scope_rule_update`). For callers that name the rule by
    contract and request type rather than by a revision (the API's POST)."""
    data = dict(data)
    assign(ScopeRule(), data, REVISION_FIELDS)
    return _revise(
        organization=organization,
        contract=contract,
        request_type=request_type,
        values=data,
        effective_from=effective_from,
        today=today,
    )


def _withdraw(revision: ScopeRule, history: list[ScopeRule]) -> None:
    """Delete a revision that is not in force yet; the one before it then
    applies longer, which must still leave excluded work a rate."""
    before = _in_force([row for row in history if row.pk != revision.pk], revision.effective_from)
    following = _next_after(history, revision.effective_from)
    delete(revision, in_use="This revision is referred to by recorded decisions.")
    if before is not None and excludes_without_rate(before):
        day = first_day_without_rate(
            contract=revision.contract,
            start=revision.effective_from,
            until=following.effective_from if following else None,
        )
        if day is not None:
            raise ValidationError(
                {
                    NON_FIELD_ERRORS: [
                        "Without this revision the rule would exclude work from "
                        f"{day:%Y-%m-%d} while the contract has no hourly rate: "
                        "give the earlier revision a rate override first."
                    ]
                }
            )


@transaction.atomic
def scope_rule_delete(
    *,
    scope_rule: ScopeRule,
    effective_from: datetime.date | str | None = None,
    today: datetime.date | None = None,
) -> ScopeRule | None:
    """Withdraw a revision not in force yet (``effective_from`` not given or
    its own date), if nothing refers to it. Otherwise end the rule from
    ``effective_from`` (default today, or the contract's start): revisions
    planned after that date are withdrawn and a ``removed`` revision is
    added, so from that date the request type's default applies. Returns the
    ``removed`` revision, or None when only future revisions went."""
    organization = scope_rule.organization
    contract = scope_rule.contract
    today = today or organization_today(organization=organization)
    on = (
        default_effective_from(contract=contract, today=today)
        if effective_from is None
        else _as_date(effective_from)
    )
    history = _history(contract, scope_rule.request_type)
    if scope_rule.effective_from > today and (
        effective_from is None or on == scope_rule.effective_from
    ):
        _withdraw(scope_rule, history)
        return None
    errors: Errors = {}
    _date_errors(errors, contract=contract, on=on, today=today, history=history, first=False)
    if errors:
        raise ValidationError(errors)
    before = next((row for row in reversed(history) if row.effective_from < on), None)
    planned = [row for row in history if row.effective_from >= on]  # all after today
    if (before is None or before.removed) and not any(not row.removed for row in planned):
        raise ValidationError(
            {"effective_from": "The rule is not in force from that date: there is nothing to end."}
        )
    for row in planned:
        delete(row, in_use="A planned revision is referred to by recorded decisions.")
    if before is None or before.removed:
        return None
    removal = ScopeRule(
        organization=before.organization,
        contract=contract,
        request_type=before.request_type,
        effective_from=on,
        removed=True,
        **{field: getattr(before, field) for field in REVISION_FIELDS},
    )
    removal.full_clean()
    return save(removal)
