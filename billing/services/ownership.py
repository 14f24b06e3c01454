"""Giving an open scope check or flag to another named owner (a handoff, or
anyone re-routing work). Review items have theirs in ``review``."""

from django.core.exceptions import ValidationError
from django.db import transaction

from msops.tenancy.models import Membership
from msops.tenancy.roles import MANAGERS

from ..models import ExceptionFlag, ScopeCheck
from ..selectors.review import REVIEWERS
from .scope_checks import _lock_check_open


def _check_owner(owner, organization_id: int, roles, rule: str) -> None:
    if not isinstance(owner, Membership) or owner.organization_id != organization_id:
        raise ValidationError({"owner": "Choose a member of this organization."})
    if owner.role not in roles:
        raise ValidationError({"owner": rule})
    if not owner.user.is_active:
        raise ValidationError(
            {"owner": "This person's account is deactivated: choose someone who is still here."}
        )


@transaction.atomic
def scope_check_reassign(*, check: ScopeCheck, owner: Membership) -> ScopeCheck:
    """Name the account manager who answers an open scope check."""
    _check_owner(
        owner,
        check.organization_id,
        MANAGERS,
        "A scope check is answered by an account manager or admin.",
    )
    current = _lock_check_open(check)
    current.account_manager = owner
    current.save(update_fields=["account_manager"])
    return current


@transaction.atomic
def flag_reassign(*, flag: ExceptionFlag, owner: Membership) -> ExceptionFlag:
    """Name who works an open flag (someone who works the review)."""
    _check_owner(
        owner,
        flag.organization_id,
        REVIEWERS,
        "Flags are worked by account managers, admins and finance.",
    )
    current = ExceptionFlag.objects.select_for_update().get(
        organization=flag.organization_id, pk=flag.pk
    )
    if current.status != ExceptionFlag.Status.OPEN:
        raise ValidationError("This flag is already resolved.")
    current.owner = owner
    current.save(update_fields=["owner"])
    return current
