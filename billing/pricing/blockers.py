"""The exceptions that block a client's month from locking — the only things
finance has to look at. Each names its ticket, minutes, who can settle it and
what finance can do about it inline."""

import datetime
from collections import defaultdict
from dataclasses import dataclass, field

from django.db import models

from clients.models import Treatment
from tickets.models import Ticket, TimeEntry

from ..models import BillingDecision, ExceptionFlag, ScopeCheck
from .engine import ClientCharges

Status = TimeEntry.BillingStatus

BLOCKING_FLAGS = (
    ExceptionFlag.Kind.OVER_EXPECTED,
    ExceptionFlag.Kind.OVER_APPROVAL,
    ExceptionFlag.Kind.OUTSIDE_CONTRACT,
)


class BlockerKind(models.TextChoices):
    UNDECIDED = "undecided", "Time without a decision"
    UNCLEAR = "unclear", "Unclear time"
    EXCLUDED = "excluded", "Excluded work neither billed nor written off"
    PENDING_APPROVAL = "pending_approval", "Time waiting for approval"
    SCOPE_CHECK = "scope_check", "Scope check not answered"
    FLAG = "flag", "Open threshold or out-of-scope flag"
    OUTSIDE_CONTRACT = "outside_contract", "Work outside any contract"
    MISSING_RATE = "missing_rate", "Billable time without a rate"
    MISSING_UNITS = "missing_units", "Per-unit contract without a unit count or band"


class Action(models.TextChoices):
    CLASSIFY = "classify", "Classify"
    WRITE_OFF = "write_off", "Write off"
    SEND_BACK = "send_back", "Send back"
    RESOLVE_FLAG = "resolve_flag", "Resolve the flag"
    FIX_TERMS = "fix_terms", "Fix the contract terms"


ACTIONS = {
    BlockerKind.UNDECIDED: (Action.CLASSIFY, Action.WRITE_OFF, Action.SEND_BACK),
    BlockerKind.UNCLEAR: (Action.CLASSIFY, Action.WRITE_OFF, Action.SEND_BACK),
    BlockerKind.EXCLUDED: (Action.CLASSIFY, Action.WRITE_OFF, Action.SEND_BACK),
    BlockerKind.PENDING_APPROVAL: (Action.SEND_BACK,),
    BlockerKind.SCOPE_CHECK: (Action.SEND_BACK,),
    BlockerKind.FLAG: (Action.RESOLVE_FLAG, Action.SEND_BACK),
    BlockerKind.OUTSIDE_CONTRACT: (Action.RESOLVE_FLAG, Action.WRITE_OFF, Action.SEND_BACK),
    BlockerKind.MISSING_RATE: (Action.FIX_TERMS,),
    BlockerKind.MISSING_UNITS: (Action.FIX_TERMS,),
}


@dataclass
class Blocker:
    kind: str
    client_id: int
    detail: str
    ticket_id: int | None = None
    ticket_number: int | None = None
    ticket_title: str = ""
    minutes: int = 0
    owner_id: int | None = None  # who the question goes back to
    flag_id: int | None = None
    scope_check_id: int | None = None
    contract_id: int | None = None
    portion_ids: list[int] = field(default_factory=list)

    @property
    def label(self) -> str:
        return BlockerKind(self.kind).label

    @property
    def actions(self) -> tuple[str, ...]:
        return ACTIONS[BlockerKind(self.kind)]

    @property
    def key(self) -> str:
        """Stable id of the exception (in the page and the API)."""
        subject = self.flag_id or self.scope_check_id or self.ticket_id or self.contract_id
        return f"{self.kind}:{subject}"


PORTION_KINDS = {
    Status.UNDECIDED: BlockerKind.UNDECIDED,
    Status.UNCLEAR: BlockerKind.UNCLEAR,
    Status.PENDING_APPROVAL: BlockerKind.PENDING_APPROVAL,
}


def month_blockers(
    *, organization_id: int, month: datetime.date, charges: dict[int, ClientCharges]
) -> dict[int, list[Blocker]]:
    """Per client of ``charges``: what blocks its month."""
    grouped: dict[tuple, Blocker] = {}
    ticket_ids: set[int] = set()
    decision_ids: set[int] = set()
    for client_id, ch in charges.items():
        for p in ch.portions:
            kind = PORTION_KINDS.get(p.status)
            if kind is None:
                continue
            if kind == BlockerKind.UNDECIDED and p.treatment == Treatment.EXCLUDED:
                kind = BlockerKind.EXCLUDED
            b = grouped.get((kind, p.ticket_id))
            if b is None:
                b = grouped[(kind, p.ticket_id)] = Blocker(
                    kind=kind, client_id=client_id, detail="", ticket_id=p.ticket_id
                )
            b.minutes += p.minutes
            b.portion_ids.append(p.id)
            ticket_ids.add(p.ticket_id)
            if p.decision_id:
                decision_ids.add(p.decision_id)
                b.owner_id = p.decision_id  # resolved to the decider below
    month_tickets = {p.ticket_id for ch in charges.values() for p in ch.portions}
    tickets = {
        t[0]: t[1:]
        for t in Ticket.objects.filter(
            organization=organization_id, pk__in=month_tickets
        ).values_list("pk", "number", "title", "assignee_id", "client__account_manager_id")
    }
    deciders = dict(
        BillingDecision.objects.filter(
            organization=organization_id, pk__in=decision_ids
        ).values_list("pk", "decided_by_id")
    )
    out: dict[int, list[Blocker]] = defaultdict(list)
    for b in grouped.values():
        number, title, assignee, manager = tickets[b.ticket_id]
        b.ticket_number, b.ticket_title = number, title
        decided_by = deciders.get(b.owner_id) if b.owner_id else None
        b.owner_id = (
            manager if b.kind == BlockerKind.PENDING_APPROVAL else decided_by or assignee or manager
        )
        b.detail = f"{b.minutes} min on #{number} {title}"
        out[b.client_id].append(b)

    checks = ScopeCheck.objects.filter(
        organization=organization_id,
        status__in=ScopeCheck.OPEN_STATUSES,
        ticket_id__in=month_tickets,
    ).select_related("ticket")
    for c in checks:
        out[c.ticket.client_id].append(
            Blocker(
                kind=BlockerKind.SCOPE_CHECK,
                client_id=c.ticket.client_id,
                detail=f"{c.get_status_display()}: {c.estimate_minutes} min asked on"
                f" #{c.ticket.number} {c.ticket.title}",
                ticket_id=c.ticket_id,
                ticket_number=c.ticket.number,
                ticket_title=c.ticket.title,
                owner_id=c.account_manager_id,
                scope_check_id=c.pk,
            )
        )
    flags = ExceptionFlag.objects.filter(
        organization=organization_id,
        status=ExceptionFlag.Status.OPEN,
        kind__in=BLOCKING_FLAGS,
        ticket_id__in=month_tickets,
    ).select_related("ticket")
    for f in flags:
        kind = (
            BlockerKind.OUTSIDE_CONTRACT
            if f.kind == ExceptionFlag.Kind.OUTSIDE_CONTRACT
            else BlockerKind.FLAG
        )
        out[f.ticket.client_id].append(
            Blocker(
                kind=kind,
                client_id=f.ticket.client_id,
                detail=f"{f.get_kind_display()}: {f.detail}",
                ticket_id=f.ticket_id,
                ticket_number=f.ticket.number,
                ticket_title=f.ticket.title,
                owner_id=f.owner_id,
                flag_id=f.pk,
            )
        )
    for client_id, ch in charges.items():
        for line in ch.missing_rates:
            out[client_id].append(
                Blocker(
                    kind=BlockerKind.MISSING_RATE,
                    client_id=client_id,
                    detail=f"{line.minutes} min on “{line.description}” have no rate",
                    ticket_id=line.ticket_id,
                    minutes=line.minutes,
                    contract_id=line.contract_id,
                )
            )
        for contract_id in ch.missing_counts:
            out[client_id].append(
                Blocker(
                    kind=BlockerKind.MISSING_UNITS,
                    client_id=client_id,
                    detail="No unit count for the month, or a count beyond the price bands",
                    contract_id=contract_id,
                )
            )
    for blockers in out.values():
        blockers.sort(key=lambda b: (list(BlockerKind.values).index(b.kind), b.ticket_number or 0))
    return dict(out)
