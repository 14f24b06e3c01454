"""The request type catalogue, scope rules (contract × request type → treatment) and SLA targets."""

from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction

from msops.tenancy.models import Organization

from ..models import Contract, Priority, RequestType, ScopeRule, SLATarget, Treatment
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
SCOPE_RULE_FIELDS = (
    "request_type",
    "treatment",
    "expected_minutes",
    "approval_threshold_minutes",
    "rate_override",
    "explanation",
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


# --- scope rules ------------------------------------------------------------
def _scope_rule_rules(rule: ScopeRule, errors: Errors, *, original: Mapping[str, Any]) -> None:
    organization = rule.organization_id
    if "contract" not in errors:
        if original.get("contract_id") and rule.contract_id != original["contract_id"]:
            add_error(errors, "contract", "A scope rule cannot move to another contract.")
        else:
            same_organization(errors, organization, "contract", rule.contract)
    if "request_type" not in errors and same_organization(
        errors, organization, "request_type", rule.request_type
    ):
        request_type = rule.request_type
        if rule.request_type_id != original.get("request_type_id"):
            if not request_type.is_active:
                add_error(errors, "request_type", "This request type is no longer offered.")
            elif (
                "contract" not in errors
                and ScopeRule.objects.filter(
                    organization=organization,
                    contract_id=rule.contract_id,
                    request_type=request_type,
                )
                .exclude(pk=rule.pk)
                .exists()
            ):
                add_error(
                    errors,
                    "request_type",
                    f"This contract already has a rule for “{request_type.name}”.",
                )
    for field in ("expected_minutes", "approval_threshold_minutes"):
        value = getattr(rule, field)
        if field not in errors and value is not None and value < 1:
            add_error(errors, field, "Leave it empty or give at least one minute.")
    rule.explanation = (rule.explanation or "").strip()
    if (
        "treatment" not in errors
        and rule.treatment == Treatment.INCLUDED
        and rule.rate_override is not None
    ):
        add_error(errors, "rate_override", "Included work is not billed; leave the rate empty.")


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
) -> ScopeRule:
    rule = ScopeRule(
        organization=organization,
        contract=contract,
        request_type=request_type,
        treatment=treatment,
        expected_minutes=expected_minutes,
        approval_threshold_minutes=approval_threshold_minutes,
        rate_override=rate_override,
        explanation=explanation or "",
    )
    validate(rule, rules=lambda r, e: _scope_rule_rules(r, e, original={}))
    return save(rule)


@transaction.atomic
def scope_rule_update(*, scope_rule: ScopeRule, data: Mapping[str, Any]) -> ScopeRule:
    original = snapshot(scope_rule, ["contract_id", "request_type_id"])
    if "contract" in data and data["contract"] != scope_rule.contract:
        raise ValidationError({"contract": "A scope rule cannot move to another contract."})
    assign(scope_rule, {k: v for k, v in data.items() if k != "contract"}, SCOPE_RULE_FIELDS)
    validate(scope_rule, rules=lambda r, e: _scope_rule_rules(r, e, original=original))
    return save(scope_rule)


@transaction.atomic
def scope_rule_delete(*, scope_rule: ScopeRule) -> None:
    delete(scope_rule, in_use="This rule is referred to by recorded decisions.")


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
