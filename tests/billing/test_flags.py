"""Exception flags: every kind is caught by the per-ticket check and by the
sweep, once per kind × subject × period; threshold flags open their billing
moment; resolving records who, when and why; logging time past a threshold
raises a flag as soon as the entry commits."""

import datetime
from unittest import mock

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone

from billing.flags import flags_check_ticket, flags_sweep
from billing.models import ExceptionFlag, ReviewItem, ReviewQueue, ScopeCheck
from billing.services import ScopeCheckRequest, decision_record, scope_check_approve, time_entry_log
from billing.services.review import flag_resolve
from clients.models import BlockTopUp, Contract, ScopeRule
from msops.tenancy.scoping import activate_organization
from tests.factories import (
    ClientFactory,
    ContractFactory,
    ContractRevisionFactory,
    RequestTypeFactory,
    ScopeRuleFactory,
    SLATargetFactory,
    TicketFactory,
    TimeEntryFactory,
)
from tickets.models import BillingMoment, TimeEntry
from tickets.services import organization_today, ticket_open

Kind = ExceptionFlag.Kind
DETECTORS = ["check", "sweep"]


def two_months_ago() -> datetime.datetime:
    """When the tests' tickets were opened: before the work of the weeks they log."""
    return timezone.now() - datetime.timedelta(days=60)


@pytest.fixture
def open_ticket(open_ticket):
    """Tickets opened two months ago (work before the opening needs a reason)."""

    def _open(*args, **kwargs):
        kwargs.setdefault("opened_at", two_months_ago())
        return open_ticket(*args, **kwargs)

    return _open


def detect(how: str, ticket) -> int:
    organization = ticket.organization
    if how == "check":
        return flags_check_ticket(organization=organization, ticket_id=ticket.pk)
    return flags_sweep(organization=organization).created


def kinds_on(ticket) -> set[str]:
    return set(ExceptionFlag.objects.filter(ticket=ticket).values_list("kind", flat=True))


def log(ticket, person, minutes, days_ago=0, **kwargs):
    return time_entry_log(
        ticket=ticket,
        person=person,
        work_date=organization_today(ticket.organization) - datetime.timedelta(days=days_ago),
        minutes=minutes,
        **kwargs,
    ).entry


def decide(ticket, actor, classification, **kwargs):
    ticket.refresh_from_db()
    return decision_record(
        ticket=ticket, actor=actor, classification=classification, version=ticket.version, **kwargs
    )


def contract_flags(contract):
    return ExceptionFlag.objects.filter(
        contract=contract, kind__in=[Kind.CONTRACT_80, Kind.CONTRACT_100]
    )


def all_flags():
    return sorted(
        ExceptionFlag.objects.values_list("kind", "subject_key", "period_key", "status", "pk")
    )


# --- each kind, by both detectors ---------------------------------------------------
@pytest.mark.parametrize("how", DETECTORS)
def test_a_ticket_over_its_expected_time_is_flagged_for_the_account_manager(
    scoped, open_ticket, developer, account_manager, how
):
    ticket = open_ticket()
    log(ticket, developer, 60)
    detect(how, ticket)
    assert Kind.OVER_EXPECTED not in kinds_on(ticket)
    log(ticket, developer, 1)
    detect(how, ticket)
    flag = ExceptionFlag.objects.get(ticket=ticket, kind=Kind.OVER_EXPECTED)
    assert flag.subject_key == f"ticket:{ticket.pk}" and flag.period_key == "-"
    assert flag.owner == account_manager and flag.client == ticket.client
    assert flag.status == ExceptionFlag.Status.OPEN
    assert "Logged 61 min" in flag.detail


@pytest.mark.parametrize("how", DETECTORS)
def test_over_the_approval_threshold_without_an_approved_scope_check_is_flagged(
    scoped, open_ticket, developer, how
):
    ticket = open_ticket()
    log(ticket, developer, 120)
    detect(how, ticket)
    assert Kind.OVER_APPROVAL not in kinds_on(ticket)
    log(ticket, developer, 1)
    detect(how, ticket)
    assert Kind.OVER_APPROVAL in kinds_on(ticket)


@pytest.mark.parametrize("how", DETECTORS)
def test_an_approved_scope_check_means_no_approval_flag(
    scoped, open_ticket, developer, account_manager, how
):
    ticket = open_ticket()
    decide(
        ticket,
        developer,
        "needs_approval",
        reason="Bigger than a fix",
        scope_check=ScopeCheckRequest(estimate_minutes=240),
    )
    scope_check_approve(check=ScopeCheck.objects.get(ticket=ticket), actor=account_manager)
    log(ticket, developer, 200)
    detect(how, ticket)
    assert Kind.OVER_APPROVAL not in kinds_on(ticket)
    assert Kind.OVER_EXPECTED in kinds_on(ticket)


@pytest.mark.parametrize("how", DETECTORS)
def test_time_without_a_decision_is_flagged(scoped, open_ticket, developer, how):
    ticket = open_ticket()
    detect(how, ticket)
    assert Kind.NO_DECISION not in kinds_on(ticket)  # nothing logged yet
    log(ticket, developer, 15)
    detect(how, ticket)
    assert Kind.NO_DECISION in kinds_on(ticket)


@pytest.mark.parametrize("how", DETECTORS)
def test_decided_time_is_not_flagged_as_undecided(scoped, open_ticket, developer, how):
    ticket = open_ticket()
    decide(ticket, developer, "included")
    log(ticket, developer, 15)
    detect(how, ticket)
    assert Kind.NO_DECISION not in kinds_on(ticket)


@pytest.mark.parametrize("how", DETECTORS)
def test_work_under_a_catch_all_request_type_is_flagged(
    scoped, org, terms, developer, account_manager, how
):
    other = RequestTypeFactory(organization=org, name="Other", is_catch_all=True)
    ticket = ticket_open(
        organization=org, opened_by=developer, client=terms["client"], request_type=other, title="?"
    )
    log(ticket, developer, 10)
    detect(how, ticket)
    flag = ExceptionFlag.objects.get(ticket=ticket, kind=Kind.CATCH_ALL)
    assert "Other" in flag.detail and flag.owner == account_manager


@pytest.mark.parametrize("how", DETECTORS)
def test_time_entered_long_after_the_work_is_flagged_per_entry(
    scoped, org, open_ticket, developer, how
):
    org.late_entry_days = 3
    org.save()
    ticket = open_ticket()
    on_time = log(ticket, developer, 10, days_ago=3)
    late = log(ticket, developer, 10, days_ago=4)
    detect(how, ticket)
    flags = ExceptionFlag.objects.filter(kind=Kind.LATE_ENTRY)
    assert [f.subject_key for f in flags] == [f"entry:{late.pk}"]
    assert f"entry:{on_time.pk}" not in {f.subject_key for f in flags}
    assert flags[0].ticket == ticket


def test_lateness_counts_days_in_the_organizations_timezone(scoped, org, open_ticket, developer):
    """Entered at 19:00 in Los Angeles on the 21st (03:00 UTC on the 22nd)
    for work of the 18th: 3 days late there, not 4."""
    org.timezone = "America/Los_Angeles"
    org.late_entry_days = 3
    org.save()
    ticket = open_ticket()
    entered = datetime.datetime(2026, 11, 22, 3, 0, tzinfo=datetime.UTC)
    TimeEntryFactory(
        ticket=ticket, person=developer, work_date=datetime.date(2026, 11, 18), entered_at=entered
    )
    four_days = TimeEntryFactory(
        ticket=ticket, person=developer, work_date=datetime.date(2026, 11, 17), entered_at=entered
    )
    flags_sweep(organization=org)
    assert list(
        ExceptionFlag.objects.filter(kind=Kind.LATE_ENTRY).values_list("subject_key", flat=True)
    ) == [f"entry:{four_days.pk}"]


# --- SLA -------------------------------------------------------------------------------
@pytest.fixture
def sla(terms):
    return SLATargetFactory(
        contract=terms["contract"],
        priority="normal",
        first_response_minutes=60,
        resolution_minutes=480,
    )


def _opened(org, developer, terms, minutes_ago, **changes):
    ticket = ticket_open(
        organization=org,
        opened_by=developer,
        client=terms["client"],
        request_type=terms["rules"]["troubleshooting"].request_type,
        title="Server down",
        opened_at=timezone.now() - datetime.timedelta(minutes=minutes_ago),
    )
    if changes:
        type(ticket).objects.filter(pk=ticket.pk).update(**changes)
    return ticket


@pytest.mark.parametrize("how", DETECTORS)
@pytest.mark.parametrize(
    "minutes_ago,expected",
    [
        (30, set()),  # half the first-response target: fine
        (50, {Kind.SLA_RESPONSE_AT_RISK}),  # past 75 % of 60 min
        (61, {Kind.SLA_RESPONSE_BREACHED}),
        (400, {Kind.SLA_RESPONSE_BREACHED, Kind.SLA_RESOLUTION_AT_RISK}),  # past 75 % of 8 h
        (481, {Kind.SLA_RESPONSE_BREACHED, Kind.SLA_RESOLUTION_BREACHED}),
    ],
)
def test_sla_targets_at_risk_and_breached(
    scoped, org, terms, sla, developer, how, minutes_ago, expected
):
    ticket = _opened(org, developer, terms, minutes_ago)
    assert ticket.first_response_due is not None
    detect(how, ticket)
    sla_kinds = {k for k in kinds_on(ticket) if k.startswith("sla_")}
    assert sla_kinds == expected


@pytest.mark.parametrize("how", DETECTORS)
def test_an_sla_flag_says_when_it_was_due_in_the_practices_time(
    scoped, org, terms, sla, developer, how
):
    org.timezone = "America/New_York"
    org.save(update_fields=["timezone"])
    ticket = _opened(org, developer, terms, 61)
    due = ticket.first_response_due.astimezone(org.tzinfo)
    detect(how, ticket)
    flag = ExceptionFlag.objects.get(ticket=ticket, kind=Kind.SLA_RESPONSE_BREACHED)
    assert flag.detail == f"First response due {due:%Y-%m-%d %H:%M} (America/New_York)"


@pytest.mark.parametrize("how", DETECTORS)
def test_answered_and_closed_tickets_are_not_sla_flagged(scoped, org, terms, sla, developer, how):
    answered = _opened(org, developer, terms, 100, first_responded_at=timezone.now())
    closed = _opened(org, developer, terms, 1000, status="resolved", resolved_at=timezone.now())
    detect(how, answered)
    detect(how, closed)
    assert {k for k in kinds_on(answered) if k.startswith("sla_")} == set()
    assert {k for k in kinds_on(closed) if k.startswith("sla_")} == set()


def test_at_risk_then_breached_keeps_both_flags(scoped, org, terms, sla, developer):
    ticket = _opened(org, developer, terms, 50)
    flags_sweep(organization=org)
    type(ticket).objects.filter(pk=ticket.pk).update(
        opened_at=ticket.opened_at - datetime.timedelta(minutes=20),
        first_response_due=ticket.first_response_due - datetime.timedelta(minutes=20),
    )
    flags_sweep(organization=org)
    assert {Kind.SLA_RESPONSE_AT_RISK, Kind.SLA_RESPONSE_BREACHED} <= kinds_on(ticket)


# --- contract hours --------------------------------------------------------------------
@pytest.mark.parametrize("how", DETECTORS)
def test_retainer_hours_at_80_and_100_percent_of_the_month(
    scoped, org, open_ticket, developer, account_manager, terms, how
):
    """20 included hours a month: 16 h is 80 %, 20 h is 100 %."""
    ticket = open_ticket()
    decide(ticket, developer, "included")
    log(ticket, developer, 15 * 60)
    detect(how, ticket)
    assert not contract_flags(terms["contract"]).exists()
    log(ticket, developer, 60)
    detect(how, ticket)
    month = f"{organization_today(org):%Y-%m}"
    flag = ExceptionFlag.objects.get(kind=Kind.CONTRACT_80)
    assert flag.subject_key == f"contract:{terms['contract'].pk}" and flag.period_key == month
    assert flag.owner == account_manager and flag.ticket is None
    assert "960 of 1200 min used" in flag.detail
    log(ticket, developer, 4 * 60)
    detect(how, ticket)
    assert ExceptionFlag.objects.get(kind=Kind.CONTRACT_100).period_key == month
    assert contract_flags(terms["contract"]).count() == 2


def test_billable_work_is_billed_on_top_and_uses_no_retainer_hours(
    scoped, org, open_ticket, developer, terms
):
    ScopeRule.objects.filter(pk=terms["rules"]["troubleshooting"].pk).update(
        expected_minutes=10_000, approval_threshold_minutes=None
    )
    ticket = open_ticket()
    decide(ticket, developer, "billable", reason="Client's own mistake")
    log(ticket, developer, 20 * 60)
    flags_sweep(organization=org)
    assert not contract_flags(terms["contract"]).exists()


def test_undecided_work_counts_towards_the_allowance_alert(
    scoped, org, open_ticket, developer, terms
):
    """All work on the contract counts, decided or not: an alert that waited
    for decisions would come too late."""
    ScopeRule.objects.filter(pk=terms["rules"]["troubleshooting"].pk).update(
        expected_minutes=10_000, approval_threshold_minutes=None
    )
    ticket = open_ticket()
    entry = log(ticket, developer, 16 * 60)
    assert entry.billing_status == TimeEntry.BillingStatus.UNDECIDED
    flags_sweep(organization=org)
    assert contract_flags(terms["contract"]).filter(kind=Kind.CONTRACT_80).exists()


def test_the_retainer_month_is_the_organizations_month(scoped, org, developer, terms):
    """12:00 UTC on 30 November is 1 December in Auckland: November's time
    does not count towards December's hours, and the flag is December's."""
    org.timezone = "Pacific/Auckland"
    org.save()
    ticket = TicketFactory(
        organization=org,
        client=terms["client"],
        contract=terms["contract"],
        request_type=terms["rules"]["troubleshooting"].request_type,
    )
    for work_date, minutes in [
        (datetime.date(2026, 11, 30), 1200),
        (datetime.date(2026, 12, 1), 900),
    ]:
        TimeEntryFactory(
            ticket=ticket,
            person=developer,
            work_date=work_date,
            minutes=minutes,
            billing_status=TimeEntry.BillingStatus.INCLUDED,
        )
    now = datetime.datetime(2026, 11, 30, 12, 0, tzinfo=datetime.UTC)
    with mock.patch("django.utils.timezone.now", return_value=now):
        flags_sweep(organization=org)
    assert not ExceptionFlag.objects.filter(kind=Kind.CONTRACT_80).exists()  # 900 < 960
    TimeEntryFactory(
        ticket=ticket,
        person=developer,
        work_date=datetime.date(2026, 12, 1),
        minutes=60,
        billing_status=TimeEntry.BillingStatus.INCLUDED,
    )
    with mock.patch("django.utils.timezone.now", return_value=now):
        flags_sweep(organization=org)
    assert ExceptionFlag.objects.get(kind=Kind.CONTRACT_80).period_key == "2026-12"


def test_each_month_of_a_retainer_gets_its_own_flag(scoped, org, developer, terms):
    ticket = TicketFactory(
        organization=org,
        client=terms["client"],
        contract=terms["contract"],
        request_type=terms["rules"]["troubleshooting"].request_type,
    )
    for day in (datetime.date(2026, 10, 5), datetime.date(2026, 11, 5)):
        TimeEntryFactory(
            ticket=ticket,
            person=developer,
            work_date=day,
            minutes=1000,
            billing_status=TimeEntry.BillingStatus.INCLUDED,
        )
    for now in (
        datetime.datetime(2026, 10, 20, 12, tzinfo=datetime.UTC),
        datetime.datetime(2026, 11, 20, 12, tzinfo=datetime.UTC),
        datetime.datetime(2026, 11, 21, 12, tzinfo=datetime.UTC),
    ):
        with mock.patch("django.utils.timezone.now", return_value=now):
            flags_sweep(organization=org)
    assert sorted(
        ExceptionFlag.objects.filter(kind=Kind.CONTRACT_80).values_list("period_key", flat=True)
    ) == ["2026-10", "2026-11"]


def top_up(block, minutes, added_on=None):
    return BlockTopUp.objects.create(
        organization=block.organization,
        contract=block,
        added_on=added_on or block.starts_on,
        minutes=minutes,
    )


def block_ticket(org, developer, account_manager, **contract):
    """A ticket on a block of hours whose rule never asks about time."""
    client = ClientFactory(organization=org, account_manager=account_manager)
    block = ContractFactory(client=client, kind=Contract.Kind.BLOCK, **contract)
    ContractRevisionFactory(contract=block, included_minutes=0)  # the balance is the top-ups
    rule = ScopeRuleFactory(contract=block, expected_minutes=10_000)
    ticket = ticket_open(
        organization=org, opened_by=developer, client=client, request_type=rule.request_type,
        title="Migration", opened_at=two_months_ago(),
    )  # fmt: skip
    assert ticket.contract == block
    decide(ticket, developer, "included")
    return block, ticket


@pytest.mark.parametrize("how", DETECTORS)
def test_a_block_of_hours_is_flagged_with_its_remaining_balance(
    scoped, org, developer, account_manager, how
):
    block, ticket = block_ticket(org, developer, account_manager, name="10 h block")
    top_up(block, 600)
    log(ticket, developer, 500, days_ago=40)  # a block counts its whole life
    detect(how, ticket)
    flag = ExceptionFlag.objects.get(kind=Kind.CONTRACT_80, contract=block)
    assert flag.period_key == f"from-{block.starts_on:%Y-%m-%d}"  # once per balance
    assert "100 min left" in flag.detail
    log(ticket, developer, 100)
    detect(how, ticket)
    assert "0 min left" in ExceptionFlag.objects.get(kind=Kind.CONTRACT_100).detail


def test_a_topped_up_block_warns_again_for_its_new_balance(scoped, org, developer, account_manager):
    block, ticket = block_ticket(
        org, developer, account_manager, starts_on=datetime.date(2025, 1, 1)
    )
    top_up(block, 600)
    log(ticket, developer, 500, days_ago=40)
    flags_sweep(organization=org)
    assert ExceptionFlag.objects.filter(kind=Kind.CONTRACT_80, contract=block).count() == 1
    added_on = organization_today(org) - datetime.timedelta(days=1)
    top_up(block, 600, added_on=added_on)  # carried over: 1200 in all
    log(ticket, developer, 500)  # 1000 of 1200
    flags_sweep(organization=org)
    flags = ExceptionFlag.objects.filter(kind=Kind.CONTRACT_80, contract=block)
    assert sorted(flags.values_list("period_key", flat=True)) == sorted(
        ["from-2025-01-01", f"from-{added_on:%Y-%m-%d}"]
    )
    assert (
        "1000 of 1200 min used, 200 min left"
        in flags.get(period_key=f"from-{added_on:%Y-%m-%d}").detail
    )
    assert not contract_flags(block).filter(kind=Kind.CONTRACT_100).exists()


def test_a_top_up_counts_from_the_day_it_is_added_and_its_expiry_is_ignored(
    scoped, org, developer, account_manager
):
    block, ticket = block_ticket(org, developer, account_manager)
    today = organization_today(org)
    BlockTopUp.objects.create(
        organization=org,
        contract=block,
        added_on=block.starts_on,
        minutes=600,
        expires_on=today - datetime.timedelta(days=10),  # expired: still counted
    )
    top_up(block, 6000, added_on=today + datetime.timedelta(days=1))  # not added yet
    log(ticket, developer, 500)
    flags_sweep(organization=org)
    flag = contract_flags(block).get()
    assert flag.kind == Kind.CONTRACT_80
    assert flag.period_key == f"from-{block.starts_on:%Y-%m-%d}"


@pytest.mark.parametrize("how", DETECTORS)
def test_a_block_without_top_ups_raises_no_alert(scoped, org, developer, account_manager, how):
    block, ticket = block_ticket(org, developer, account_manager)
    log(ticket, developer, 900)
    detect(how, ticket)
    assert not contract_flags(block).exists()


# --- once, idempotent, isolated ----------------------------------------------------------
def _busy_ticket(org, developer, open_ticket):
    """Over its expected time and approval threshold, undecided, one entry late."""
    ticket = open_ticket()
    log(ticket, developer, 150)
    log(ticket, developer, 10, days_ago=10)
    return ticket


def test_a_sweep_run_twice_gives_the_same_flags(scoped, org, open_ticket, developer, terms):
    ticket = _busy_ticket(org, developer, open_ticket)
    first = flags_sweep(organization=org)
    rows = all_flags()
    assert first.created == len(rows) >= 4
    assert {Kind.OVER_EXPECTED, Kind.OVER_APPROVAL, Kind.NO_DECISION} <= kinds_on(ticket)
    second = flags_sweep(organization=org)
    assert second.created == 0
    assert all_flags() == rows


def test_the_check_and_the_sweep_agree(scoped, org, open_ticket, developer, terms):
    ticket = _busy_ticket(org, developer, open_ticket)
    assert flags_check_ticket(organization=org, ticket_id=ticket.pk) > 0
    rows = all_flags()
    assert flags_sweep(organization=org).created == 0
    assert flags_check_ticket(organization=org, ticket_id=ticket.pk) == 0
    assert all_flags() == rows


def test_small_batches_find_the_same_flags(scoped, org, developer, terms, open_ticket):
    tickets = [_busy_ticket(org, developer, open_ticket) for _ in range(5)]
    flags_sweep(organization=org, batch=2)
    in_batches = all_flags()
    ExceptionFlag.objects.all().delete()
    flags_sweep(organization=org)
    assert [row[:3] for row in all_flags()] == [row[:3] for row in in_batches]
    assert all(kinds_on(t) for t in tickets)


def test_a_resolved_flag_stays_resolved_and_is_not_raised_again(
    scoped, org, open_ticket, developer, account_manager
):
    ticket = _busy_ticket(org, developer, open_ticket)
    flags_sweep(organization=org)
    flag = ExceptionFlag.objects.get(ticket=ticket, kind=Kind.OVER_EXPECTED)
    flag_resolve(flag=flag, actor=account_manager, note="Agreed with the client")
    log(ticket, developer, 30)
    flags_sweep(organization=org)
    assert ExceptionFlag.objects.filter(ticket=ticket, kind=Kind.OVER_EXPECTED).count() == 1
    flag.refresh_from_db()
    assert flag.status == ExceptionFlag.Status.RESOLVED


def test_a_sweep_flags_only_its_own_organization(
    scoped, org, other_org, open_ticket, developer, stranger
):
    _busy_ticket(org, developer, open_ticket)
    with activate_organization(other_org):
        theirs = TicketFactory(organization=other_org, logged_minutes=500)
        TimeEntryFactory(ticket=theirs, person=stranger, minutes=500)
    flags_sweep(organization=org)
    assert ExceptionFlag.objects.filter(organization=org).exists()
    with activate_organization(other_org):
        assert not ExceptionFlag.objects.filter(organization=other_org).exists()
        assert flags_check_ticket(organization=org, ticket_id=theirs.pk) == 0
        assert not ExceptionFlag.objects.exists()


# --- threshold flags are billing moments too ----------------------------------------------
def test_the_sweep_flags_thresholds_but_raises_no_moments(scoped, org, developer, terms):
    """Time written behind the services' back: the sweep flags it; billing
    moments (and the meaning of the minutes) belong to the time services."""
    ticket = TicketFactory(
        organization=org,
        client=terms["client"],
        contract=terms["contract"],
        request_type=terms["rules"]["troubleshooting"].request_type,
        logged_minutes=150,
    )
    TimeEntryFactory(ticket=ticket, person=developer, minutes=150)
    flags_sweep(organization=org)
    assert {Kind.OVER_EXPECTED, Kind.OVER_APPROVAL} <= kinds_on(ticket)
    assert not BillingMoment.objects.filter(ticket=ticket).exists()


def test_a_moment_the_service_raised_is_not_raised_again(scoped, org, open_ticket, developer):
    ticket = open_ticket()
    log(ticket, developer, 150)  # the service raises both threshold moments
    before = BillingMoment.objects.filter(ticket=ticket).count()
    flags_sweep(organization=org)
    assert BillingMoment.objects.filter(ticket=ticket).count() == before


# --- resolving ---------------------------------------------------------------------------
def test_resolving_records_who_when_and_why(scoped, org, open_ticket, developer, finance):
    ticket = _busy_ticket(org, developer, open_ticket)
    flags_sweep(organization=org)
    flag = ExceptionFlag.objects.get(ticket=ticket, kind=Kind.OVER_EXPECTED)
    before = timezone.now()
    resolved = flag_resolve(flag=flag, actor=finance, note="  Billed as agreed  ")
    assert resolved.status == ExceptionFlag.Status.RESOLVED
    assert resolved.resolved_by == finance and resolved.resolved_at >= before
    assert resolved.resolution_note == "Billed as agreed"
    with pytest.raises(ValidationError):
        flag_resolve(flag=flag, actor=finance, note="again")


@pytest.mark.parametrize("note", ["", "   "])
def test_resolving_needs_a_note(scoped, org, open_ticket, developer, finance, note):
    ticket = _busy_ticket(org, developer, open_ticket)
    flags_sweep(organization=org)
    flag = ExceptionFlag.objects.get(ticket=ticket, kind=Kind.OVER_EXPECTED)
    with pytest.raises(ValidationError) as error:
        flag_resolve(flag=flag, actor=finance, note=note)
    assert "note" in error.value.message_dict
    flag.refresh_from_db()
    assert flag.status == ExceptionFlag.Status.OPEN


def test_developers_and_strangers_cannot_resolve(scoped, org, open_ticket, developer, stranger):
    ticket = _busy_ticket(org, developer, open_ticket)
    flags_sweep(organization=org)
    flag = ExceptionFlag.objects.get(ticket=ticket, kind=Kind.OVER_EXPECTED)
    with pytest.raises(PermissionDenied):
        flag_resolve(flag=flag, actor=developer)
    with pytest.raises(ValidationError):
        flag_resolve(flag=flag, actor=stranger)
    flag.refresh_from_db()
    assert flag.status == ExceptionFlag.Status.OPEN


def test_resolving_a_flag_settles_its_review_item(
    scoped, org, open_ticket, developer, account_manager
):
    ticket = _busy_ticket(org, developer, open_ticket)
    flags_sweep(organization=org)
    flag = ExceptionFlag.objects.get(ticket=ticket, kind=Kind.OVER_EXPECTED)
    queue = ReviewQueue.objects.create(organization=org, week_start=datetime.date(2026, 11, 16))
    item = ReviewItem.objects.create(
        organization=org,
        queue=queue,
        kind=ReviewItem.Kind.OPEN_FLAG,
        subject_key=f"flags:{flag.client_id}:{flag.kind}",
        client=flag.client,
        flag=flag,
        flag_kind=flag.kind,
        reason="x",
    )
    flag_resolve(flag=flag, actor=account_manager, note="Done")
    item.refresh_from_db()
    assert item.status == ReviewItem.Status.RESOLVED
    assert item.resolved_by == account_manager and item.note == "Done"


# --- at once, on commit --------------------------------------------------------------------
def test_logging_time_past_a_threshold_raises_a_flag_when_the_entry_commits(
    scoped, open_ticket, developer, django_capture_on_commit_callbacks
):
    ticket = open_ticket()
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        log(ticket, developer, 130)
    assert callbacks, "the check is queued on commit"
    assert {Kind.OVER_EXPECTED, Kind.OVER_APPROVAL, Kind.NO_DECISION} <= kinds_on(ticket)


def test_nothing_is_checked_if_the_entry_does_not_commit(
    scoped, open_ticket, developer, django_capture_on_commit_callbacks
):
    ticket = open_ticket()
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        log(ticket, developer, 130)
    assert len(callbacks) >= 1
    assert kinds_on(ticket) == set()


def test_a_decision_is_checked_when_it_commits(
    scoped, org, developer, terms, django_capture_on_commit_callbacks
):
    ticket = TicketFactory(
        organization=org,
        client=terms["client"],
        contract=terms["contract"],
        request_type=terms["rules"]["troubleshooting"].request_type,
        logged_minutes=90,
    )
    TimeEntryFactory(ticket=ticket, person=developer, minutes=90)  # written behind our back
    with django_capture_on_commit_callbacks(execute=True):
        decide(ticket, developer, "included")
    assert Kind.OVER_EXPECTED in kinds_on(ticket)
