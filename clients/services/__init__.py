"""Writes of clients/: clients, contracts and their effective-dated terms,
request types, scope rules, SLA targets, per-unit pricing and the top-ups of
a block of hours.

Every service takes the organization explicitly (or an object that carries
it), validates field values *and* the domain's rules, and reports every
problem at once as a ``ValidationError`` keyed by field, so a form shows it
beside the field and the API answers 400 with the same messages. Writes run in
``transaction.atomic``: a refused write leaves nothing behind.
"""

from .client import CLIENT_FIELDS, client_create, client_delete, client_update
from .contract import (
    CONTRACT_FIELDS,
    TERM_FIELDS,
    check_block_expiry,
    contract_create,
    contract_delete,
    contract_revision_create,
    contract_revision_delete,
    contract_update,
)
from .pricing import (
    block_top_up_create,
    block_top_up_delete,
    pricing_tier_create,
    pricing_tier_delete,
    pricing_tier_update,
    top_up_expires_on,
    unit_count_delete,
    unit_count_set,
)
from .scope import (
    request_type_create,
    request_type_delete,
    request_type_update,
    sla_target_create,
    sla_target_delete,
    sla_target_update,
)
from .scope_rule import (
    REVISION_FIELDS,
    default_effective_from,
    scope_rule_create,
    scope_rule_delete,
    scope_rule_revise,
    scope_rule_update,
)

__all__ = [
    "CLIENT_FIELDS",
    "CONTRACT_FIELDS",
    "REVISION_FIELDS",
    "TERM_FIELDS",
    "block_top_up_create",
    "block_top_up_delete",
    "check_block_expiry",
    "client_create",
    "client_delete",
    "client_update",
    "contract_create",
    "contract_delete",
    "contract_revision_create",
    "contract_revision_delete",
    "contract_update",
    "default_effective_from",
    "pricing_tier_create",
    "pricing_tier_delete",
    "pricing_tier_update",
    "request_type_create",
    "request_type_delete",
    "request_type_update",
    "scope_rule_create",
    "scope_rule_delete",
    "scope_rule_revise",
    "scope_rule_update",
    "sla_target_create",
    "sla_target_delete",
    "sla_target_update",
    "top_up_expires_on",
    "unit_count_delete",
    "unit_count_set",
]
