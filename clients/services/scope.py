"""The request type catalogue and SLA targets. Scope rules live in
:mod:`clients.services.scope_rule`."""

from collections.abc import Mapping
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction

from msops.tenancy.models import Organization

from ..models import Contract, Priority, RequestType, SLATarget, Treatment
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

REQUEST_TYPE_FIELDS = (
    "name",
    "default_treatment",
    "expected_minutes",
    "is_catch_all",
    "is_active",
)
SLA_TARGET_FIELDS = ("priority", "first_response_minutes", "resolution_minutes")


# --- request types ----------------------------------------------------------
def _request_type_rules(request_type: RequestType, errors: Errors) -> None:
    if "name" not in errors:
        request_type.name = (request_type.name or "").strip()
        if not request_type.name:
            add_error(errors, "name", "Give the request type a name.")
        elif (
            RequestType.objects.filter(
                organization=request_type.organization_id, name__iexact=request_type.name
            )
            .exclude(pk=request_type.pk)
            .exists()
        ):
            add_error(
                errors, "name", f"There is already a request type called “{request_type.name}”."
            )
    if "expected_minutes" not in errors and (request_type.expected_minutes or 0) < 1:
        add_error(errors, "expected_minutes", "Expect at least one minute.")


@transaction.atomic
def request_type_create(
    *,
    organization: Organization,
    name: str,
    default_treatment: str = Treatment.INCLUDED,
    expected_minutes: int = 60,
    is_catch_all: bool = False,
    is_active: bool = True,
) -> RequestType:
    request_type = RequestType(
        organization=organization,
        name=name,
        default_treatment=default_treatment,
        expected_minutes=expected_minutes,
        is_catch_all=is_catch_all,
        is_active=is_active,
    )
    validate(request_type, rules=_request_type_rules)
    return save(request_type)


@transaction.atomic
def request_type_update(*, request_type: RequestType, data: Mapping[str, Any]) -> RequestType:
    assign(request_type, data, REQUEST_TYPE_FIELDS)
    validate(request_type, rules=_request_type_rules)
    return save(request_type)


@transaction.atomic
def request_type_delete(*, request_type: RequestType) -> None:
    delete(
        request_type,
        in_use="This request type is in use (scope rules or tickets). Deactivate it instead.",
    )


# --- SLA targets ------------------------------------------------------------
def _sla_target_rules(target: SLATarget, errors: Errors, *, original: Mapping[str, Any]) -> None:
    organization = target.organization_id
    if "contract" not in errors:
        if original.get("contract_id") and target.contract_id != original["contract_id"]:
            add_error(errors, "contract", "An SLA target cannot move to another contract.")
        else:
            same_organization(errors, organization, "contract", target.contract)
    if (
        "priority" not in errors
        and "contract" not in errors
        and target.priority in Priority.values
        and SLATarget.objects.filter(
            organization=organization, contract_id=target.contract_id, priority=target.priority
        )
        .exclude(pk=target.pk)
        .exists()
    ):
        add_error(
            errors,
            "priority",
            f"This contract already has a target for {Priority(target.priority).label.lower()} priority.",
        )
    if (
        "first_response_minutes" not in errors
        and "resolution_minutes" not in errors
        and target.resolution_minutes < target.first_response_minutes
    ):
        add_error(
            errors, "resolution_minutes", "Resolution cannot be due before the first response."
        )


@transaction.atomic
def sla_target_create(
    *,
    organization: Organization,
    contract: Contract,
    priority: str,
    first_response_minutes: int,
    resolution_minutes: int,
) -> SLATarget:
    target = SLATarget(
        organization=organization,
        contract=contract,
        priority=priority,
        first_response_minutes=first_response_minutes,
        resolution_minutes=resolution_minutes,
    )
    validate(target, rules=lambda t, e: _sla_target_rules(t, e, original={}))
    return save(target)


@transaction.atomic
def sla_target_update(*, sla_target: SLATarget, data: Mapping[str, Any]) -> SLATarget:
    original = snapshot(sla_target, ["contract_id"])
    if "contract" in data and data["contract"] != sla_target.contract:
        raise ValidationError({"contract": "An SLA target cannot move to another contract."})
    assign(sla_target, {k: v for k, v in data.items() if k != "contract"}, SLA_TARGET_FIELDS)
    validate(sla_target, rules=lambda t, e: _sla_target_rules(t, e, original=original))
    return save(sla_target)


@transaction.atomic
def sla_target_delete(*, sla_target: SLATarget) -> None:
    delete(sla_target, in_use="This SLA target is in use.")
