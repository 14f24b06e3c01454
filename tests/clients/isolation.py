"""Isolation-test data for clients (merged by tests/isolation.py)."""

import datetime
from decimal import Decimal

from clients.models import BlockTopUp, Contract, PricingTier, SLACalendar, Treatment, UnitCount
from msops.tenancy.models import Role
from tests.factories import (
    ClientFactory,
    ContractFactory,
    ContractRevisionFactory,
    MembershipFactory,
    RequestTypeFactory,
    ScopeRuleFactory,
    SLATargetFactory,
)
from tests.isolation_types import Route, collection, obj

ROUTES: dict[str, Route] = {
    # Pages
    "clients:client_list": collection(),
    "clients:client_create": collection(),
    "clients:client_detail": obj(pk="client"),
    "clients:client_update": obj(pk="client"),
    "clients:scope_rule_edit": obj(pk="scope_rule"),
    "clients:scope_rule_end": obj(pk="scope_rule"),
    "clients:scope_rule_create": obj(pk="contract"),
    "clients:block_top_up_create": obj(pk="block"),
    "clients:block_top_up_delete": obj(pk="block_top_up"),
    "clients:request_type_list": collection(),
    # API
    "api:client-list": collection(),
    "api:client-detail": obj(pk="client"),
    "api:contract-list": collection(),
    "api:contract-detail": obj(pk="contract"),
    "api:contract-revision-list": collection(),
    "api:contract-revision-detail": obj(pk="contract_revision"),
    "api:request-type-list": collection(),
    "api:request-type-detail": obj(pk="request_type"),
    "api:scope-rule-list": collection(),
    "api:scope-rule-detail": obj(pk="scope_rule"),
    "api:sla-target-list": collection(),
    "api:sla-target-detail": obj(pk="sla_target"),
    "api:pricing-tier-list": collection(),
    "api:pricing-tier-detail": obj(pk="pricing_tier"),
    "api:unit-count-list": collection(),
    "api:unit-count-detail": obj(pk="unit_count"),
    "api:block-top-up-list": collection(),
    "api:block-top-up-detail": obj(pk="block_top_up"),
    "clients:contract_sla_calendar": obj(pk="contract"),
    "api:sla-calendar-list": collection(),
    "api:sla-calendar-detail": obj(pk="sla_calendar"),
}


def build(organization, tag: str, world: dict) -> dict:
    """Create one of each clients tenant object for ``organization``; put ``tag``
    in their visible text. ``world`` holds what earlier builders made."""
    manager = MembershipFactory(
        organization=organization,
        role=Role.ACCOUNT_MANAGER,
        user__username=f"am-{tag}",
        user__first_name=f"Manager {tag}",
    )
    client = ClientFactory(
        organization=organization,
        name=f"Client {tag}",
        account_manager=manager,
        billing_notes=f"Billing notes {tag}",
    )
    contract = ContractFactory(
        client=client,
        name=f"Retainer {tag}",
        kind=Contract.Kind.PER_UNIT,
        exclusions=f"Exclusions {tag}",
    )
    revision = ContractRevisionFactory(contract=contract, note=f"Terms {tag}")
    request_type = RequestTypeFactory(organization=organization, name=f"Troubleshooting {tag}")
    RequestTypeFactory(organization=organization, name=f"New feature {tag}")  # not yet ruled
    scope_rule = ScopeRuleFactory(
        contract=contract,
        request_type=request_type,
        treatment=Treatment.INCLUDED,
        explanation=f"Covered {tag}",
    )
    sla_target = SLATargetFactory(contract=contract)
    pricing_tier = PricingTier.objects.create(
        organization=organization, contract=contract, min_units=1, unit_price=Decimal("12.50")
    )
    unit_count = UnitCount.objects.create(
        organization=organization, contract=contract, month=datetime.date(2025, 1, 1), units=42
    )
    block = ContractFactory(
        client=client, name=f"Block {tag}", kind=Contract.Kind.BLOCK, exclusions=f"Block {tag}"
    )
    ContractRevisionFactory(contract=block, note=f"Block terms {tag}", block_expiry_months=12)
    block_top_up = BlockTopUp.objects.create(
        organization=organization,
        contract=block,
        added_on=block.starts_on,
        minutes=600,
        price=Decimal("1100.00"),
        expires_on=datetime.date(2026, 1, 1),
        note=f"Top-up {tag}",
    )
    sla_calendar = SLACalendar.objects.create(
        organization=organization,
        contract=contract,
        time_zone="Europe/London",
        closed_days=["2025-12-24"],
        effective_from=datetime.datetime(2024, 1, 1, tzinfo=datetime.UTC),
    )
    return {
        "sla_calendar": sla_calendar,
        "client": client,
        "block": block,
        "block_top_up": block_top_up,
        "contract": contract,
        "contract_revision": revision,
        "request_type": request_type,
        "scope_rule": scope_rule,
        "sla_target": sla_target,
        "pricing_tier": pricing_tier,
        "unit_count": unit_count,
    }
