"""Which contract, terms and scope rule apply to a piece of work on a date.

This is the one place that answers it. Tickets, billing, pages, API and jobs
call :func:`applicable_rule` (through ``tickets.selectors.ticket_rule`` when
they start from a ticket). Set-based SQL that needs the same answer builds it
from the ``*_sql`` functions below, written next to their Python twins from the
same definitions; ``tests/billing/test_rule_agreement.py`` is the property test
that shows both give the same answer.

The definitions:

- a contract **covers** a date when it has started and not ended on it;
- the contract **in force** for a ticket's work on a date is the ticket's own
  contract when it covers the date, else the client's covering contract that
  started last (then the higher id); none covers: the work is *not covered*;
- the **terms** in force are the contract's revision with the latest
  ``effective_from`` on or before the date;
- the **scope rule** in force is the rule revision for contract × request type
  with the latest ``effective_from`` on or before the date, unless that
  revision is ``removed`` (then there is no rule and the request type's default
  treatment applies);
- work no contract covers is **billable** at the organization's default rate.
"""

import datetime
from dataclasses import dataclass
from decimal import Decimal

from django.db import connection
from django.db.models import Q

from .models import Client, Contract, ContractRevision, RequestType, ScopeRule, Treatment


# --- covering ---------------------------------------------------------------------
def covers(contract: Contract, on: datetime.date) -> bool:
    return contract.starts_on <= on and (contract.ends_on is None or contract.ends_on >= on)


def covers_q(on: datetime.date, prefix: str = "") -> Q:
    """:func:`covers` as a query filter (``prefix`` e.g. ``"contract__"``)."""
    return Q(**{f"{prefix}starts_on__lte": on}) & (
        Q(**{f"{prefix}ends_on__isnull": True}) | Q(**{f"{prefix}ends_on__gte": on})
    )


def covers_sql(alias: str, on: str) -> str:
    """:func:`covers` in SQL: contract ``alias`` covers the date expression ``on``."""
    return f"{alias}.starts_on <= {on} AND ({alias}.ends_on IS NULL OR {alias}.ends_on >= {on})"


IN_FORCE_ORDER = ("-starts_on", "-pk")  # several covering contracts: the latest-starting


def contract_in_force(*, client: Client, on: datetime.date) -> Contract | None:
    """The client's contract covering ``on`` (the latest-starting one if several)."""
    return (
        Contract.objects.filter(organization=client.organization_id, client=client)
        .filter(covers_q(on))
        .order_by(*IN_FORCE_ORDER)
        .first()
    )


def _t(model) -> str:
    return connection.ops.quote_name(model._meta.db_table)


def contract_in_force_sql(*, organization: str, client: str, contract: str, on: str) -> str:
    """The id of the contract in force (or NULL), as a scalar SQL expression
    over the columns ``client`` and ``contract`` (the ticket's) and the date
    expression ``on``."""
    table = _t(Contract)
    return (
        f"COALESCE((SELECT k0.id FROM {table} k0 WHERE k0.id = {contract}"
        f" AND {covers_sql('k0', on)}),"
        f" (SELECT k1.id FROM {table} k1 WHERE k1.organization_id = {organization}"
        f" AND k1.client_id = {client} AND {covers_sql('k1', on)}"
        " ORDER BY k1.starts_on DESC, k1.id DESC LIMIT 1))"
    )


# --- terms and rules ----------------------------------------------------------------
def contract_terms_on(*, contract: Contract, on: datetime.date) -> ContractRevision | None:
    """The revision of the contract's terms in force on ``on``."""
    return (
        ContractRevision.objects.filter(
            organization=contract.organization_id, contract=contract, effective_from__lte=on
        )
        .order_by("-effective_from")
        .first()
    )


def terms_in_force_sql(*, contract: str, on: str) -> str:
    """The id of the terms revision in force, as a scalar SQL expression."""
    return (
        f"(SELECT rv.id FROM {_t(ContractRevision)} rv WHERE rv.contract_id = {contract}"
        f" AND rv.effective_from <= {on} ORDER BY rv.effective_from DESC LIMIT 1)"
    )


def scope_rule_on(
    *, contract: Contract, request_type: RequestType, on: datetime.date
) -> ScopeRule | None:
    """The scope rule revision in force on ``on`` (None: no rule, or it was removed)."""
    revision = (
        ScopeRule.objects.filter(
            organization=contract.organization_id,
            contract=contract,
            request_type=request_type,
            effective_from__lte=on,
        )
        .select_related("request_type")
        .order_by("-effective_from")
        .first()
    )
    return None if revision is None or revision.removed else revision


def scope_rule_in_force_sql(*, contract: str, request_type: str, on: str) -> str:
    """The id of the scope rule revision in force (NULL: none; a removed
    revision's id is returned and must be read as no rule: join with
    ``NOT r.removed``)."""
    return (
        f"(SELECT sr.id FROM {_t(ScopeRule)} sr WHERE sr.contract_id = {contract}"
        f" AND sr.request_type_id = {request_type} AND sr.effective_from <= {on}"
        " ORDER BY sr.effective_from DESC LIMIT 1)"
    )


# The expected minutes and approval threshold a rule gives, in SQL over the
# rule revision ``r`` (joined ``NOT r.removed``, may be NULL) and request type ``rt``.
EXPECTED_MINUTES_SQL = "COALESCE(r.expected_minutes, rt.expected_minutes)"
APPROVAL_THRESHOLD_SQL = "r.approval_threshold_minutes"


@dataclass(frozen=True)
class AppliedRule:
    """What the contract says about a request type on a date."""

    request_type: RequestType
    on: datetime.date
    contract: Contract | None
    revision: ContractRevision | None
    rule: ScopeRule | None
    treatment: str
    expected_minutes: int
    approval_threshold_minutes: int | None
    explanation: str
    default_rate: Decimal | None = None

    @property
    def covered(self) -> bool:
        """Some contract covers the work date."""
        return self.contract is not None

    @property
    def suggested_classification(self) -> str:
        """The classification a decision starts from. Excluded work is never
        silently unbilled: it is suggested as billable (at the T&M rate)."""
        return Treatment.BILLABLE if self.treatment == Treatment.EXCLUDED else self.treatment

    @property
    def reask_factor(self) -> int:
        return self.revision.reask_factor if self.revision is not None else 2

    @property
    def rate(self) -> Decimal | None:
        if not self.covered:
            return self.default_rate
        if self.rule is not None and self.rule.rate_override is not None:
            return self.rule.rate_override
        return self.revision.hourly_rate if self.revision is not None else None

    @property
    def in_plain_words(self) -> str:
        if not self.covered:
            return f"{self.request_type.name} — billable: no contract covers {self.on:%Y-%m-%d}" + (
                f", billed at the default rate of {self.default_rate}/h"
                if self.default_rate
                else ""
            )
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
    ``on``; otherwise the contract in force on that date. No contract covering
    the date: billable at the organization's default rate. A contract without
    a rule for the request type: the request type's default treatment."""
    if contract is None or not covers(contract, on):
        contract = contract_in_force(client=client, on=on)
    if contract is None:
        return AppliedRule(
            request_type=request_type,
            on=on,
            contract=None,
            revision=None,
            rule=None,
            treatment=Treatment.BILLABLE,
            expected_minutes=request_type.expected_minutes,
            approval_threshold_minutes=None,
            explanation="No contract covers this date: the work is billable.",
            default_rate=client.organization.default_hourly_rate,
        )
    revision = contract_terms_on(contract=contract, on=on)
    rule = scope_rule_on(contract=contract, request_type=request_type, on=on)
    return AppliedRule(
        request_type=request_type,
        on=on,
        contract=contract,
        revision=revision,
        rule=rule,
        treatment=rule.treatment if rule else request_type.default_treatment,
        expected_minutes=rule.effective_expected_minutes if rule else request_type.expected_minutes,
        approval_threshold_minutes=rule.approval_threshold_minutes if rule else None,
        explanation=rule.explanation if rule else "",
    )
