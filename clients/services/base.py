"""What every clients service does the same way: validate everything at
once (field checks, then the domain's rules, then Django's full_clean), keep
related objects inside the organization, and turn a lost race or a protected
row into a ValidationError instead of a 500."""

from collections.abc import Callable, Iterable, Mapping
from typing import Any, TypeVar

from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.db import DatabaseError, IntegrityError, models, transaction
from django.db.models import ProtectedError

from msops import period_guard
from msops.calendar import contract_period, months_between
from msops.errors import IN_USE
from msops.sql import refused_by_locked_period

M = TypeVar("M", bound=models.Model)
Errors = dict[str, list[str]]

CONFLICT = "Someone else changed this at the same moment. Reload and try again."


def add_error(errors: Errors, field: str, message: str) -> None:
    errors.setdefault(field, []).append(message)


def assign(instance: models.Model, data: Mapping[str, Any], allowed: Iterable[str]) -> None:
    """Copy ``data`` onto ``instance``; a key that is not an editable field is refused."""
    allowed = tuple(allowed)
    unknown = sorted(set(data) - set(allowed))
    if unknown:
        raise ValidationError({field: "This field cannot be changed here." for field in unknown})
    for field, value in data.items():
        setattr(instance, field, value)


def field_errors(instance: models.Model, exclude: Iterable[str] = ()) -> Errors:
    """Field-level validation (types, choices, lengths, validators)."""
    try:
        instance.clean_fields(exclude=list(exclude))
    except ValidationError as error:
        return {field: list(messages) for field, messages in error.message_dict.items()}
    return {}


def validate(
    instance: M, *, rules: Callable[[M, Errors], None], exclude: Iterable[str] = ()
) -> None:
    """Field checks first (they also convert values), then the domain's rules
    on the fields that passed, then Django's own full_clean as a backstop.
    Raise one ValidationError with everything found."""
    errors = field_errors(instance, exclude)
    rules(instance, errors)
    if errors:
        raise ValidationError(errors)
    instance.full_clean(exclude=list(exclude))


def same_organization(
    errors: Errors, organization_id: int, field: str, related: models.Model | None
) -> bool:
    """A related object must belong to the same organization."""
    if related is None:
        return True
    if getattr(related, "organization_id", None) != organization_id:
        # The same words whether the object exists elsewhere or not at all.
        add_error(errors, field, "Choose one from this organization.")
        return False
    return True


# What prices a month, by the date that places it in one: writing it into a
# locked billing period is refused (msops.period_guard; triggers on PostgreSQL).
PRICING_DATES = {
    "unitcount": "month",
    "blocktopup": "added_on",
    "contractrevision": "effective_from",
    "scoperule": "effective_from",
}


def _period_open(instance: models.Model) -> None:
    field = PRICING_DATES.get(instance._meta.model_name)
    if field is None:
        return
    days = [getattr(instance, field)]
    if instance.pk is not None:  # moving it out of a locked month changes that month too
        days += type(instance)._base_manager.filter(pk=instance.pk).values_list(field, flat=True)
    contract = type(instance.contract)._base_manager.filter(pk=instance.contract_id).first()
    client = contract.client_id if contract is not None else None
    if field == "effective_from" and contract is not None and contract.period != "monthly":
        # A quarter's or a year's fee is billed in its first month (the
        # contract's own first month if it starts later): terms taking effect
        # later in that period change a fee already billed there (checked
        # here only: the database's triggers look at the terms' own month).
        # So do the allowances of the months before them in the period.
        for day in [d for d in days if d is not None]:
            start, _ = contract_period(contract.period, day)
            days += months_between(max(start, contract.starts_on.replace(day=1)), day)
    period_guard.ensure_open(
        organization_id=instance.organization_id, client=client, days=days, field=field
    )


def save(instance: M) -> M:
    """Save in a savepoint; a constraint lost to a concurrent write is a
    validation error, not a 500. What prices a locked month refuses."""
    _period_open(instance)
    try:
        with transaction.atomic():
            instance.save()
    except IntegrityError as error:
        raise ValidationError({NON_FIELD_ERRORS: [CONFLICT]}) from error
    except DatabaseError as error:
        _locked_period(error)
        raise
    return instance


def delete(instance: models.Model, *, in_use: str) -> None:
    _period_open(instance)
    try:
        with transaction.atomic():
            instance.delete()
    except ProtectedError as error:
        raise ValidationError({NON_FIELD_ERRORS: ValidationError(in_use, code=IN_USE)}) from error
    except DatabaseError as error:
        _locked_period(error)
        raise


def _locked_period(error: DatabaseError) -> None:
    """A locked billing period refused the write (the database's wall around
    what priced a closed month: unit counts, top-ups): a clear error."""
    if refused_by_locked_period(error):
        raise ValidationError(
            {
                NON_FIELD_ERRORS: ValidationError(
                    "The billing period of this month is locked: what priced it cannot change."
                    " Corrections go on an adjustment in the next open period.",
                    code="period_locked",
                )
            }
        ) from error


def snapshot(instance: models.Model, fields: Iterable[str]) -> dict[str, Any]:
    return {field: getattr(instance, field) for field in fields}
