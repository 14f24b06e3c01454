"""Exception flags: set-based detection of what people miss.

Each rule is one ``INSERT … SELECT … ON CONFLICT DO NOTHING`` over a keyset
batch of tickets (and their time entries) of one organization, in a short
transaction of its own. The unique constraint (organization, kind, subject,
period) makes every run idempotent: running the sweep twice, or two sweeps at
once, gives the same flags. The per-ticket check is the same SQL restricted to
one ticket.
"""

from dataclasses import dataclass

from django.db import connection, transaction
from django.utils import timezone

from msops.sql import table
from msops.tenancy.models import Organization
from tickets.models import Ticket

from ..models import EntryPortion
from .allowances import allowance_sql
from .sql import bind, execute
from .tickets import late_entry_sql, outside_contract_sql, ticket_facts, ticket_rules_sql

BATCH = 20_000

__all__ = ["BATCH", "SweepResult", "flags_check_ticket", "flags_sweep", "ticket_facts"]


@dataclass(frozen=True)
class SweepResult:
    created: int
    batches: int


def _ticket_batch(organization: Organization, now, where: str, where_params: list) -> int:
    """The ticket rules over one batch; returns the number of new flags."""
    today = timezone.localtime(now, organization.tzinfo).date()
    rules = ticket_rules_sql(now, organization, today)
    return execute(*bind(*rules, organization.pk, where, where_params))


def flags_check_ticket(*, organization: Organization, ticket_id: int) -> int:
    """Check one ticket at once (after its time or state changed): its rules,
    its entries and the allowances of the contracts its work falls under.
    Returns the number of new flags."""
    now = timezone.now()
    if not Ticket.objects.filter(organization=organization, pk=ticket_id).exists():
        return 0
    contracts = sorted(
        set(
            EntryPortion.objects.filter(
                organization=organization, ticket=ticket_id, contract__isnull=False
            ).values_list("contract_id", flat=True)
        )
    )
    with transaction.atomic():
        created = _ticket_batch(organization, now, "AND t.id = %s", [ticket_id])
        sql, params = late_entry_sql(organization, now)
        created += execute(*bind(sql, params, organization.pk, "AND e.ticket_id = %s", [ticket_id]))
        sql, params = outside_contract_sql(now)
        created += execute(*bind(sql, params, organization.pk, "AND p.ticket_id = %s", [ticket_id]))
        if contracts:
            created += execute(*allowance_sql(organization, now, contracts))
    return created


def _keyset_batches(model, alias: str, organization: Organization, batch: int):
    """``(where, params)`` restrictions covering the organization's rows in
    consecutive (low, high] id ranges of about ``batch`` rows each (ids of one
    tenant are mostly dense). An organization that fits in one batch gets no
    id restriction at all, which also keeps the planner's estimates right."""
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT MIN(id), MAX(id), COUNT(*) FROM {table(model)} WHERE organization_id = %s",
            [organization.pk],
        )
        first, last, count = cursor.fetchone()
    if not count:
        return
    if count <= batch:
        yield "", []
        return
    parts = -(-count // batch)
    step = max(1, -(-(last - first + 1) // parts))
    low = first - 1
    while low < last:
        high = min(low + step, last)
        yield f"AND {alias}.id > %s AND {alias}.id <= %s", [low, high]
        low = high


def flags_sweep(*, organization: Organization, batch: int = BATCH) -> SweepResult:
    """Every rule over every ticket and entry of the organization, in keyset
    batches of tickets (with their time entries), one short transaction per
    batch; then the contracts. Idempotent."""
    now = timezone.now()
    created = batches = 0
    late_sql, late_params = late_entry_sql(organization, now)
    outside_sql, outside_params = outside_contract_sql(now)
    for where, where_params in _keyset_batches(Ticket, "t", organization, batch):
        with transaction.atomic():
            created += _ticket_batch(organization, now, where, where_params)
            entries = where.replace("t.id", "e.ticket_id")
            created += execute(*bind(late_sql, late_params, organization.pk, entries, where_params))
            portions = where.replace("t.id", "p.ticket_id")
            created += execute(
                *bind(outside_sql, outside_params, organization.pk, portions, where_params)
            )
        batches += 1
    with transaction.atomic():
        created += execute(*allowance_sql(organization, now, None))
    batches += 1
    return SweepResult(created=created, batches=batches)
