"""Billing meaning by work and date: decisions apply forward, thresholds
split entries into portions, rules have history, work no contract covers is
billable, excluded work decided included is a write-off, and billing owns
every write of a time entry."""

import datetime
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.db.models import Sum
from django.utils import timezone

from billing.flags import flags_check_ticket, flags_sweep
from billing.models import DecisionLogEntry, EntryPortion, ExceptionFlag, ReviewItem, ScopeCheck
from billing.services import (
    ScopeCheckRequest,
    entries_reclassify,
    scope_check_approve,
    ticket_mark_out_of_scope,
    time_entry_correct,
    time_entry_log,
    time_entry_remove,
    work_log_after_the_fact,
)
from billing.services.review import review_queue_build
from clients.models import Contract, Treatment
from tests.billing.helpers import decide, log
from tests.factories import (
    ClientFactory,
    ContractFactory,
    ContractRevisionFactory,
    ScopeRuleFactory,
)
from tickets.models import BillingMoment, Ticket, TimeEntry
from tickets.services import organization_today, ticket_open, ticket_update

Status = TimeEntry.BillingStatus


def portions(entry):
    return [
        (p.minutes, p.status) for p in EntryPortion.objects.filter(entry=entry).order_by("position")
    ]


def totals(ticket) -> dict[str, int]:
    rows = (
        EntryPortion.objects.filter(ticket=ticket).values("status").annotate(minutes=Sum("minutes"))
    )
    return {row["status"]: row["minutes"] for row in rows}


def open_moments(ticket, kind):
    return BillingMoment.objects.filter(ticket=ticket, kind=kind, status="open")


# --- decisions apply forward -----------------------------------------------------------
def test_a_later_decision_does_not_relabel_work_an_earlier_one_covered(
    scoped, open_ticket, developer
):
    """The reported case: 1:30 decided billable stays billable after the work
    is flagged out of scope and sent for approval; new time waits."""
    ticket = open_ticket("feature")
    earlier = log(ticket, developer, 90)
    decide(ticket, developer, "billable", reason="Client asked for it directly")
    ticket_mark_out_of_scope(ticket=ticket, actor=developer, note="Bigger than it looked")
    decide(
        ticket,
        developer,
        "needs_approval",
        reason="Needs a new module",
        scope_check=ScopeCheckRequest(estimate_minutes=120),
    )
    later = log(ticket, developer, 30)
    earlier.refresh_from_db()
    assert earlier.billing_status == Status.BILLABLE
    assert later.billing_status == Status.PENDING_APPROVAL
    assert totals(ticket) == {Status.BILLABLE: 90, Status.PENDING_APPROVAL: 30}


def test_reclassifying_named_entries_needs_a_reason_and_is_logged(scoped, open_ticket, developer):
    ticket = open_ticket(opened_at=timezone.now() - datetime.timedelta(days=10))
    first = log(ticket, developer, 20, days_ago=2)
    decide(ticket, developer, "included")
    with pytest.raises(ValidationError) as error:
        entries_reclassify(
            ticket=ticket, actor=developer, entries=[first], classification="billable",
            reason="", version=Ticket.objects.get(pk=ticket.pk).version,
        )  # fmt: skip
    assert "reason" in error.value.message_dict
    ticket.refresh_from_db()
    decision = entries_reclassify(
        ticket=ticket,
        actor=developer,
        entries=[first],
        classification="billable",
        reason="It was a new report, not a fix",
        version=ticket.version,
    )
    first.refresh_from_db()
    assert first.billing_status == Status.BILLABLE
    assert decision.reclassification and decision.entries_rederived == 20
    assert log(ticket, developer, 10).billing_status == Status.INCLUDED  # later work unaffected
    entry = DecisionLogEntry.objects.get(kind=DecisionLogEntry.Kind.RECLASSIFIED)
    assert entry.reason == "It was a new report, not a fix" and "0:20 h" in entry.summary


def test_an_entry_of_another_ticket_cannot_be_reclassified(scoped, open_ticket, developer):
    ticket, other = open_ticket(), open_ticket(title="Printer")
    foreign = log(other, developer, 10)
    with pytest.raises(ValidationError) as error:
        entries_reclassify(
            ticket=ticket, actor=developer, entries=[foreign], classification="billable",
            reason="Wrong ticket", version=ticket.version,
        )  # fmt: skip
    assert "entries" in error.value.message_dict
    assert portions(foreign) == [(10, Status.UNDECIDED)]


# --- thresholds split entries ----------------------------------------------------------
def test_a_threshold_decision_covers_only_the_minutes_past_the_threshold(
    scoped, open_ticket, developer
):
    ticket = open_ticket()  # troubleshooting: included, about 60 min, approval past 120
    decide(ticket, developer, "included")
    entry = log(ticket, developer, 90)
    assert portions(entry) == [(60, Status.INCLUDED), (30, Status.UNDECIDED)]
    assert entry.billing_status == Status.UNDECIDED  # what part of it still waits for
    moment = open_moments(ticket, BillingMoment.Kind.EXPECTED_TIME_PASSED).get()
    assert moment.threshold_minutes == 60
    answer = decide(ticket, developer, "billable", reason="Past the hour: their change")
    assert portions(entry) == [(60, Status.INCLUDED), (30, Status.BILLABLE)]
    entry.refresh_from_db()
    assert entry.billing_status == Status.SPLIT
    assert answer.entries_rederived == 30
    assert sum(totals(ticket).values()) == 90


def test_every_portion_says_which_decision_and_rule_revision_gave_it_meaning(
    scoped, open_ticket, developer, terms
):
    ticket = open_ticket()
    first = decide(ticket, developer, "included")
    entry = log(ticket, developer, 90)
    second = decide(ticket, developer, "billable", reason="Past the hour")
    rows = list(EntryPortion.objects.filter(entry=entry).order_by("position"))
    assert [p.decision for p in rows] == [first, second]
    assert {p.scope_rule for p in rows} == {terms["rules"]["troubleshooting"]}
    assert {p.contract for p in rows} == {terms["contract"]}


def test_a_ticket_asks_again_each_time_it_passes_another_multiple(
    scoped, org, developer, account_manager
):
    client = ClientFactory(organization=org, account_manager=account_manager)
    contract = ContractFactory(client=client)
    ContractRevisionFactory(contract=contract, reask_factor=2)
    rule = ScopeRuleFactory(contract=contract, expected_minutes=60)
    ticket = ticket_open(
        organization=org, opened_by=developer, client=client, request_type=rule.request_type,
        title="Slow network",
    )  # fmt: skip
    decide(ticket, developer, "included")
    asked = []
    for _ in range(10):  # 10 × 60 = 600 minutes, answering every question
        log(ticket, developer, 60)
        moment = open_moments(ticket, BillingMoment.Kind.EXPECTED_TIME_PASSED).first()
        if moment:
            asked.append(moment.threshold_minutes)
            decide(ticket, developer, "included", reason="Still their outage")
    assert asked == [60, 120, 240, 480]
    assert sum(totals(ticket).values()) == 600


def test_time_past_the_approval_threshold_waits_for_approval(scoped, open_ticket, developer):
    ticket = open_ticket()  # approval past 120
    decide(ticket, developer, "included")
    log(ticket, developer, 60)
    decide(ticket, developer, "included", reason="Fine")  # nothing waits
    entry = log(ticket, developer, 90)  # 60 → 150: past the hour, then past 120
    assert portions(entry) == [(60, Status.UNDECIDED), (30, Status.PENDING_APPROVAL)]
    assert open_moments(ticket, BillingMoment.Kind.APPROVAL_THRESHOLD_PASSED).exists()
    assert totals(ticket).get(Status.PENDING_APPROVAL) == 30


def test_a_developer_cannot_settle_time_past_the_approval_threshold(
    scoped, open_ticket, developer, account_manager
):
    ticket = open_ticket()  # approval past 120
    decide(ticket, developer, "included")
    entry = log(ticket, developer, 150)
    decide(ticket, developer, "included", reason="Still the same outage")
    assert portions(entry) == [(60, Status.INCLUDED), (60, Status.INCLUDED),
                               (30, Status.PENDING_APPROVAL)]  # fmt: skip
    assert open_moments(ticket, BillingMoment.Kind.APPROVAL_THRESHOLD_PASSED).exists()
    assert log(ticket, developer, 20).billing_status == Status.PENDING_APPROVAL
    decide(ticket, account_manager, "included", reason="Agreed with the client by phone")
    assert totals(ticket) == {Status.INCLUDED: 170}
    assert not open_moments(ticket, BillingMoment.Kind.APPROVAL_THRESHOLD_PASSED).exists()


def test_a_clear_decision_settles_minutes_decided_unclear(scoped, open_ticket, developer):
    ticket = open_ticket()
    decide(ticket, developer, "unclear", reason="Their printer or ours?")
    entry = log(ticket, developer, 30)
    assert entry.billing_status == Status.UNCLEAR
    decide(ticket, developer, "included")
    assert portions(entry) == [(30, Status.INCLUDED)]


def test_after_a_request_type_correction_new_work_waits_for_a_decision(
    scoped, open_ticket, developer, terms
):
    ticket = open_ticket()
    decide(ticket, developer, "included")
    ticket.refresh_from_db()
    ticket_update(
        ticket=ticket,
        actor=developer,
        version=ticket.version,
        request_type=terms["rules"]["feature"].request_type,
    )
    entry = log(ticket, developer, 30)
    assert portions(entry) == [(30, Status.UNDECIDED)]
    decide(
        ticket,
        developer,
        "needs_approval",
        reason="A new feature after all",
        scope_check=ScopeCheckRequest(estimate_minutes=60),
    )
    assert portions(entry) == [(30, Status.PENDING_APPROVAL)]


def test_work_before_the_question_does_not_use_up_the_approved_estimate(
    scoped, open_ticket, developer, account_manager
):
    ticket = open_ticket("feature")
    before = log(ticket, developer, 100)  # no decision yet
    decide(
        ticket,
        developer,
        "needs_approval",
        reason="A new export",
        scope_check=ScopeCheckRequest(estimate_minutes=120),
    )
    scope_check_approve(check=ScopeCheck.objects.get(ticket=ticket), actor=account_manager)
    assert portions(before) == [(100, Status.BILLABLE)]
    assert portions(log(ticket, developer, 120)) == [(120, Status.BILLABLE)]
    assert not open_moments(ticket, BillingMoment.Kind.ESTIMATE_PASSED).exists()


def test_included_work_that_can_be_included_is_not_written_off_with_work_that_cannot(
    scoped, org, open_ticket, developer, terms
):
    """Reclassified as included: the covered entry draws from the allowance,
    the one after the contract ended is written off (with the reason)."""
    today = organization_today(org)
    ticket = open_ticket(opened_at=timezone.now() - datetime.timedelta(days=10))
    covered = time_entry_log(
        ticket=ticket, person=developer, work_date=today - datetime.timedelta(days=5), minutes=20
    ).entry
    Contract.objects.filter(pk=terms["contract"].pk).update(
        ends_on=today - datetime.timedelta(days=3)
    )
    after = log(ticket, developer, 25, date_reason="The handover week, after the contract ended.")
    ticket.refresh_from_db()
    decision = entries_reclassify(
        ticket=ticket,
        actor=developer,
        entries=[covered, after],
        classification="included",
        reason="Goodwill for the handover week",
        version=ticket.version,
    )
    assert decision.written_off
    assert portions(covered) == [(20, Status.INCLUDED)]
    assert portions(after) == [(25, Status.NON_BILLABLE)]


def test_time_past_an_approved_estimate_asks_again(scoped, open_ticket, developer, account_manager):
    ticket = open_ticket("feature")  # needs approval, about 240 min
    decide(
        ticket,
        developer,
        "needs_approval",
        reason="A new export",
        scope_check=ScopeCheckRequest(estimate_minutes=120),
    )
    scope_check_approve(check=ScopeCheck.objects.get(ticket=ticket), actor=account_manager)
    first = log(ticket, developer, 100)
    second = log(ticket, developer, 60)  # 160 of 120 approved
    assert portions(first) == [(100, Status.BILLABLE)]
    assert portions(second) == [(20, Status.BILLABLE), (40, Status.UNDECIDED)]
    moment = open_moments(ticket, BillingMoment.Kind.ESTIMATE_PASSED).get()
    assert "2:00 h" in moment.detail and "ask again" in moment.detail
    decide(ticket, developer, "included", reason="We absorb the overrun")
    assert portions(second) == [(20, Status.BILLABLE), (40, Status.INCLUDED)]


# --- not covered means billable; excluded stays excluded -----------------------------------
def test_work_for_a_client_without_a_contract_is_billable_at_the_default_rate_and_flagged(
    scoped, org, developer, account_manager
):
    org.default_hourly_rate = Decimal("95.00")
    org.save()
    client = ClientFactory(organization=org, account_manager=account_manager)
    ticket = ticket_open(
        organization=org, opened_by=developer, client=client,
        request_type=ScopeRuleFactory(organization=org).request_type, title="Ad hoc",
    )  # fmt: skip
    decision = decide(ticket, developer, "billable")
    assert decision.suggested_classification == "billable" and not decision.overrides_rule
    entry = log(ticket, developer, 45, date_reason="Ad hoc work; no contract yet.")
    assert entry.billing_status == Status.BILLABLE
    assert entry.rate == Decimal("95.00")
    flags_check_ticket(organization=org, ticket_id=ticket.pk)
    flag = ExceptionFlag.objects.get(kind=ExceptionFlag.Kind.OUTSIDE_CONTRACT)
    assert flag.subject_key == f"entry:{entry.pk}" and "45 min" in flag.detail


def test_included_work_moved_past_the_contracts_end_becomes_billable_and_flagged(
    scoped, org, open_ticket, developer, terms
):
    contract = terms["contract"]
    today = organization_today(org)
    Contract.objects.filter(pk=contract.pk).update(ends_on=today - datetime.timedelta(days=3))
    ticket = open_ticket(opened_at=timezone.now() - datetime.timedelta(days=10))
    entry = time_entry_log(
        ticket=ticket, person=developer, work_date=today - datetime.timedelta(days=5), minutes=30
    ).entry
    decide(ticket, developer, "included", reason="Covered then")
    entry.refresh_from_db()
    assert entry.billing_status == Status.INCLUDED
    time_entry_correct(
        entry=entry,
        work_date=today - datetime.timedelta(days=1),
        date_reason="Finished after the contract ended.",
    )
    entry.refresh_from_db()
    assert entry.billing_status == Status.BILLABLE  # never silently included
    assert EntryPortion.objects.get(entry=entry).contract is None
    flags_sweep(organization=org)
    assert ExceptionFlag.objects.filter(
        kind=ExceptionFlag.Kind.OUTSIDE_CONTRACT, subject_key=f"entry:{entry.pk}"
    ).exists()


def test_excluded_work_decided_included_is_a_write_off_drawn_from_no_allowance(
    scoped, org, open_ticket, developer, terms
):
    ticket = open_ticket("hardware")  # excluded
    terms["rules"]["hardware"].__class__.objects.filter(pk=terms["rules"]["hardware"].pk).update(
        expected_minutes=10_000
    )
    with pytest.raises(ValidationError) as error:
        decide(ticket, developer, "included")
    assert "written off" in error.value.message_dict["reason"][0]
    decision = decide(ticket, developer, "included", reason="Goodwill: our cable")
    assert decision.written_off and not decision.overrides_rule
    entry = log(ticket, developer, 20 * 60)
    assert entry.billing_status == Status.NON_BILLABLE
    kinds = set(DecisionLogEntry.objects.values_list("kind", flat=True))
    assert kinds == {DecisionLogEntry.Kind.WRITE_OFF}
    flags_sweep(organization=org)
    assert not ExceptionFlag.objects.filter(contract=terms["contract"]).exists()


# --- rules with history ----------------------------------------------------------------------
def test_work_is_judged_by_the_rule_revision_in_force_on_its_work_date(
    scoped, org, developer, admin_member, terms
):
    """A rule made stricter from yesterday on: work of last week logged after
    the fact is judged by last week's rule (no spurious “say why”)."""
    old = terms["rules"]["troubleshooting"]
    today = organization_today(org)
    new = ScopeRuleFactory(
        contract=terms["contract"],
        request_type=old.request_type,
        treatment=Treatment.BILLABLE,
        expected_minutes=30,
        effective_from=today - datetime.timedelta(days=1),
    )
    decision = work_log_after_the_fact(
        organization=org,
        actor=developer,
        client=terms["client"],
        request_type=old.request_type,
        title="Phone call about mail",
        minutes=30,
        work_date=today - datetime.timedelta(days=7),
        source=Ticket.Source.PHONE,
        classification="included",
    )
    assert decision.scope_rule == old and not decision.overrides_rule
    portion = EntryPortion.objects.get(ticket=decision.ticket)
    assert (portion.scope_rule, portion.status) == (old, Status.INCLUDED)
    fresh = ticket_open(
        organization=org, opened_by=developer, client=terms["client"],
        request_type=old.request_type, title="Mail again",
    )  # fmt: skip
    assert decide(fresh, developer, "billable").scope_rule == new


def test_after_a_renewal_the_sweep_uses_the_new_contracts_rule(
    scoped, org, developer, account_manager, terms
):
    """Renewed with a new rule (600 expected, no threshold): 150 minutes are
    over neither threshold, on the ticket page and in the sweep alike."""
    old = terms["contract"]
    today = organization_today(org)
    Contract.objects.filter(pk=old.pk).update(ends_on=today - datetime.timedelta(days=10))
    renewal = ContractFactory(client=terms["client"], starts_on=today - datetime.timedelta(days=9))
    ContractRevisionFactory(contract=renewal)
    rtype = terms["rules"]["troubleshooting"].request_type
    ScopeRuleFactory(contract=renewal, request_type=rtype, expected_minutes=600)
    old.refresh_from_db()
    ticket = ticket_open(
        organization=org, opened_by=developer, client=terms["client"], request_type=rtype,
        title="Mail",
    )  # fmt: skip
    Ticket.objects.filter(pk=ticket.pk).update(contract=old)  # opened under the old one
    ticket.refresh_from_db()
    log(ticket, developer, 150)
    flags_sweep(organization=org)
    kinds = set(ExceptionFlag.objects.filter(ticket=ticket).values_list("kind", flat=True))
    assert not kinds & {ExceptionFlag.Kind.OVER_EXPECTED, ExceptionFlag.Kind.OVER_APPROVAL}
    assert not BillingMoment.objects.filter(
        ticket=ticket, kind__in=["expected_time_passed", "approval_threshold"]
    ).exists()


# --- billing owns every write ----------------------------------------------------------------
def test_correcting_minutes_keeps_totals_equal_to_the_time_logged(scoped, open_ticket, developer):
    ticket = open_ticket()
    decide(ticket, developer, "included")
    entry = log(ticket, developer, 90)  # 60 included + 30 waiting
    time_entry_correct(entry=entry, minutes=50)
    assert portions(entry) == [(50, Status.INCLUDED)]
    time_entry_correct(entry=entry, minutes=80)  # 30 more: 20 included, 10 past the hour
    assert sum(m for m, _ in portions(entry)) == 80
    ticket.refresh_from_db()
    assert sum(totals(ticket).values()) == ticket.logged_minutes == 80
    time_entry_remove(entry=entry)
    ticket.refresh_from_db()
    assert ticket.logged_minutes == 0 and not EntryPortion.objects.filter(ticket=ticket).exists()


def test_correcting_a_request_type_asks_the_ticket_again(scoped, open_ticket, developer, terms):
    ticket = open_ticket()
    decide(ticket, developer, "included")
    ticket.refresh_from_db()
    ticket_update(
        ticket=ticket,
        actor=developer,
        version=ticket.version,
        request_type=terms["rules"]["feature"].request_type,
    )
    ticket.refresh_from_db()
    assert ticket.request_type == terms["rules"]["feature"].request_type
    moment = open_moments(ticket, BillingMoment.Kind.REQUEST_TYPE_CHANGED).get()
    assert "Troubleshooting" in moment.detail and "New feature" in moment.detail


def test_the_client_reads_what_the_developer_wrote(scoped, open_ticket, developer):
    ticket = open_ticket("feature", title="Ticket title nobody should read")
    decide(
        ticket,
        developer,
        "needs_approval",
        reason="Adding a second mailbox export for the auditors",
        scope_check=ScopeCheckRequest(estimate_minutes=90),
    )
    explanation = ScopeCheck.objects.get(ticket=ticket).client_explanation
    assert explanation.startswith("Adding a second mailbox export for the auditors")
    assert "New feature — needs approval" in explanation and "1:30 h" in explanation
    assert "Ticket title nobody should read" not in explanation


def test_the_weekly_review_counts_only_the_minutes_still_waiting(
    scoped, org, open_ticket, developer
):
    ticket = open_ticket()
    decide(ticket, developer, "included")
    log(ticket, developer, 90)  # 60 included + 30 past the expected time
    review_queue_build(organization=org)
    item = ReviewItem.objects.get(kind=ReviewItem.Kind.UNDECIDED_TIME, ticket=ticket)
    assert f"#{ticket.number}: 30 min logged without a decision" in item.reason
