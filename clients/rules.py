"""Which terms and which scope rule apply to a piece of work on a date.

This is the one place that answers it; tickets, billing, pages, API and jobs
all call :func:`applicable_rule` (through ``tickets.selectors.ticket_rule``
when they start from a ticket).
"""

import datetime
from dataclasses import dataclass
from decimal import Decimal

from django.db.models import Q

from .models import Client, Contract, ContractRevision, RequestType, ScopeRule, Treatment


def contract_in_force(*, client: Client, on: datetime.date) -> Contract | None:
    """The client's contract covering ``on`` (the latest-starting one if several)."""
    return (
        Contract.objects.filter(
            organization=client.organization_id, client=client, starts_on__lte=on
        )
        .filter(Q(ends_on__isnull=True) | Q(ends_on__gte=on))
        .order_by("-starts_on", "-pk")
        .first()
    )


def contract_terms_on(*, contract: Contract, on: datetime.date) -> ContractRevision | None:
    """The revision of the contract's terms in force on ``on``."""
    return (
        ContractRevision.objects.filter(
            organization=contract.organization_id, contract=contract, effective_from__lte=on
        )
        .order_by("-effective_from")
        .first()
    )


@dataclass(frozen=True)
class AppliedRule:
    """What the contract says about a request type on a date."""

    request_type: RequestType
    contract: Contract | None
    revision: ContractRevision | None
    rule: ScopeRule | None
    treatment: str
    expected_minutes: int
    approval_threshold_minutes: int | None
    explanation: str

    @property
    def suggested_classification(self) -> str:
        """The classification a decision starts from. Excluded work is never
        silently unbilled: it is suggested as billable (at the T&M rate)."""
        return Treatment.BILLABLE if self.treatment == Treatment.EXCLUDED else self.treatment

    @property
    def rate(self) -> Decimal | None:
        if self.rule is not None and self.rule.rate_override is not None:
            return self.rule.rate_override
        return self.revision.hourly_rate if self.revision is not None else None

    @property
    def in_plain_words(self) -> str:
        return rule_in_plain_words(
            name=self.request_type.name,
            treatment=self.treatment,
            expected_minutes=self.expected_minutes,
            approval_threshold_minutes=self.approval_threshold_minutes,
            from_contract=self.rule is not None,
        )


def rule_in_plain_words(
    *,
    name: str,
    treatment: str,
    expected_minutes: int | None,
    approval_threshold_minutes: int | None = None,
    from_contract: bool = True,
) -> str:
    """“Troubleshooting — included, about 60 min”; “New feature — needs approval”."""
    label = Treatment(treatment).label.lower()
    words = f"{name} — {label}"
    if treatment == Treatment.EXCLUDED:
        words += ", billed at the time-and-materials rate unless written off"
    elif treatment == Treatment.INCLUDED and expected_minutes:
        words += f", about {expected_minutes} min"
    if approval_threshold_minutes:
        words += f"; approval needed past {approval_threshold_minutes} min"
    if not from_contract:
        words += " (default for this request type: no rule in the contract)"
    return words


def applicable_rule(
    *,
    client: Client,
    request_type: RequestType,
    on: datetime.date,
    contract: Contract | None = None,
) -> AppliedRule:
    """The rule in force for ``request_type`` work for ``client`` on ``on``.

    ``contract`` (the ticket's, resolved at opening) is used when it covers
    ``on``; otherwise the contract in force on that date. Without a rule the
    request type's default treatment applies."""
    if contract is None or not _covers(contract, on):
        contract = contract_in_force(client=client, on=on) or contract
    revision = contract_terms_on(contract=contract, on=on) if contract else None
    rule = (
        ScopeRule.objects.filter(
            organization=client.organization_id, contract=contract, request_type=request_type
        ).first()
        if contract
        else None
    )
    if rule is not None:
        return AppliedRule(
            request_type=request_type,
            contract=contract,
            revision=revision,
            rule=rule,
            treatment=rule.treatment,
            expected_minutes=rule.expected_minutes or request_type.expected_minutes,
            approval_threshold_minutes=rule.approval_threshold_minutes,
            explanation=rule.explanation,
        )
    return AppliedRule(
        request_type=request_type,
        contract=contract,
        revision=revision,
        rule=None,
        treatment=request_type.default_treatment,
        expected_minutes=request_type.expected_minutes,
        approval_threshold_minutes=None,
        explanation="",
    )


def _covers(contract: Contract, on: datetime.date) -> bool:
    return contract.starts_on <= on and (contract.ends_on is None or contract.ends_on >= on)
