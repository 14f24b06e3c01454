import datetime

import pytest
from django.core import mail
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone

from billing.models import BillingDecision, DecisionLogEntry, ScopeCheck
from billing.services import (
    ClientLinkError,
    ScopeCheckRequest,
    TicketConflict,
    decision_record,
    scope_check_approve,
    scope_check_ask_client,
    scope_check_client_answer,
    scope_check_client_link,
    scope_check_reject,
    ticket_mark_change_request,
    ticket_mark_out_of_scope,
    work_log_after_the_fact,
)
from tests.billing.helpers import decide as _decide
from tests.billing.helpers import log as _log
from tickets.models import BillingMoment, Ticket, TimeEntry
from tickets.services import organization_today, ticket_update


def test_opening_a_ticket_raises_a_moment_with_the_rule_in_plain_words(scoped, open_ticket):
    ticket = open_ticket()
    moment = BillingMoment.objects.get(ticket=ticket)
    assert moment.kind == BillingMoment.Kind.TICKET_OPENED
    assert moment.status == BillingMoment.Status.OPEN
    assert "Troubleshooting — included, about 60 min" in moment.detail


def test_following_the_rule_needs_no_reason_and_answers_the_moment(scoped, open_ticket, developer):
    ticket = open_ticket()
    decision = _decide(ticket, developer, "included")
    assert decision.suggested_classification == "included"
    assert not decision.overrides_rule
    assert decision.scope_rule.request_type.name == "Troubleshooting"
    assert decision.contract_revision is not None
    assert decision.decided_by == developer
    assert BillingMoment.objects.get(ticket=ticket).status == BillingMoment.Status.DECIDED
    ticket.refresh_from_db()
    assert ticket.classification == "included"
    assert not DecisionLogEntry.objects.exists()


def test_overriding_the_rule_needs_a_reason_and_is_logged(scoped, open_ticket, developer):
    ticket = open_ticket()
    with pytest.raises(ValidationError) as error:
        _decide(ticket, developer, "billable")
    assert "reason" in error.value.message_dict
    assert not BillingDecision.objects.exists()
    decision = _decide(ticket, developer, "billable", reason="Client broke it themselves")
    assert decision.overrides_rule
    entry = DecisionLogEntry.objects.get()
    assert entry.kind == DecisionLogEntry.Kind.RULE_OVERRIDDEN
    assert entry.reason == "Client broke it themselves"
    assert entry.decision == decision and entry.client == ticket.client


def test_unclear_needs_a_reason(scoped, open_ticket, developer):
    ticket = open_ticket()
    with pytest.raises(ValidationError):
        _decide(ticket, developer, "unclear")
    assert _decide(ticket, developer, "unclear", reason="Ask AM").classification == "unclear"


def test_excluded_work_is_suggested_billable_and_a_write_off_needs_a_reason(
    scoped, open_ticket, developer
):
    ticket = open_ticket("hardware")
    entry = _log(ticket, developer, 30)
    decision = _decide(ticket, developer, "billable")
    assert decision.suggested_classification == "billable"
    assert not decision.overrides_rule
    entry.refresh_from_db()
    assert entry.billing_status == TimeEntry.BillingStatus.BILLABLE
    with pytest.raises(ValidationError) as error:
        _decide(ticket, developer, "billable", write_off=True)
    assert "reason" in error.value.message_dict
    _decide(ticket, developer, "billable", write_off=True, reason="Goodwill after the outage")
    entry.refresh_from_db()
    assert entry.billing_status == TimeEntry.BillingStatus.BILLABLE  # decided earlier: kept
    assert _log(ticket, developer, 15).billing_status == TimeEntry.BillingStatus.NON_BILLABLE
    assert DecisionLogEntry.objects.filter(kind="write_off").count() == 1


def test_a_stale_version_is_a_conflict_and_nothing_is_lost(
    scoped, open_ticket, developer, admin_member
):
    ticket = open_ticket()
    seen = ticket.version
    decision_record(ticket=ticket, actor=admin_member, classification="included", version=seen)
    with pytest.raises(TicketConflict) as conflict:
        decision_record(
            ticket=ticket, actor=developer, classification="unclear", version=seen, reason="?"
        )
    assert conflict.value.current.classification == "included"
    assert BillingDecision.objects.count() == 1


def test_finance_cannot_decide(scoped, open_ticket, finance):
    ticket = open_ticket()
    with pytest.raises(PermissionDenied):
        _decide(ticket, finance, "included")


def test_a_decision_gives_meaning_to_waiting_work_but_not_to_locked_entries(
    scoped, open_ticket, developer
):
    ticket = open_ticket(opened_at=timezone.now() - datetime.timedelta(days=10))
    first = _log(ticket, developer, 20, days_ago=2)
    locked = _log(ticket, developer, 10, days_ago=1)
    TimeEntry.objects.filter(pk=locked.pk).update(locked=True)
    assert first.billing_status == TimeEntry.BillingStatus.UNDECIDED
    decision = _decide(ticket, developer, "included")
    later = _decide(ticket, developer, "billable", reason="Turned into a project")
    first.refresh_from_db()
    locked.refresh_from_db()
    assert first.billing_status == TimeEntry.BillingStatus.INCLUDED  # kept by the later one
    assert locked.billing_status == TimeEntry.BillingStatus.UNDECIDED
    assert (decision.entries_rederived, later.entries_rederived) == (20, 0)


@pytest.mark.parametrize(
    "action,kind",
    [
        (ticket_mark_out_of_scope, BillingMoment.Kind.OUT_OF_SCOPE),
        (ticket_mark_change_request, BillingMoment.Kind.CHANGE_REQUEST),
    ],
)
def test_developer_actions_raise_one_open_moment_each(scoped, open_ticket, developer, action, kind):
    ticket = open_ticket()
    first = action(ticket=ticket, actor=developer, note="Wants a new report")
    again = action(ticket=ticket, actor=developer)
    assert first == again
    assert BillingMoment.objects.filter(ticket=ticket, kind=kind, status="open").count() == 1


def test_moving_to_implementation_raises_a_moment(scoped, open_ticket, developer):
    ticket = open_ticket()
    ticket_update(ticket=ticket, actor=developer, version=ticket.version, phase="implementation")
    assert BillingMoment.objects.filter(ticket=ticket, kind="phase_change", status="open").exists()


def test_passing_expected_time_and_the_approval_threshold_raises_moments(
    scoped, open_ticket, developer
):
    ticket = open_ticket()
    _log(ticket, developer, 50)
    assert not BillingMoment.objects.filter(ticket=ticket, kind="expected_time_passed").exists()
    _log(ticket, developer, 20)
    assert BillingMoment.objects.filter(ticket=ticket, kind="expected_time_passed").count() == 1
    _log(ticket, developer, 60)
    assert BillingMoment.objects.filter(ticket=ticket, kind="approval_threshold").count() == 1
    _log(ticket, developer, 60)
    assert BillingMoment.objects.filter(ticket=ticket, kind="expected_time_passed").count() == 1


def _needs_approval(ticket, developer, **kwargs):
    return _decide(
        ticket,
        developer,
        "needs_approval",
        reason="A new export is a feature",
        scope_check=ScopeCheckRequest(estimate_minutes=240),
        **kwargs,
    )


def test_needs_approval_opens_a_scope_check_for_the_account_manager_and_emails_them(
    scoped, open_ticket, developer, account_manager, django_capture_on_commit_callbacks
):
    ticket = open_ticket("feature")
    with django_capture_on_commit_callbacks(execute=True):
        decision = _needs_approval(ticket, developer)
    check = ScopeCheck.objects.get()
    assert check.decision == decision
    assert check.account_manager == account_manager
    assert check.status == ScopeCheck.Status.PENDING
    assert "4:00 h" in check.client_explanation
    assert mail.outbox and mail.outbox[0].to == ["am@example.com"]


def test_needs_approval_without_an_estimate_saves_nothing(scoped, open_ticket, developer):
    ticket = open_ticket("feature")
    with pytest.raises(ValidationError) as error:
        _decide(ticket, developer, "needs_approval", reason="Feature")
    assert "estimate_minutes" in error.value.message_dict
    assert not BillingDecision.objects.exists() and not ScopeCheck.objects.exists()


def test_time_logged_while_a_check_is_pending_waits_for_approval(scoped, open_ticket, developer):
    ticket = open_ticket("feature")
    _needs_approval(ticket, developer)
    assert _log(ticket, developer, 30).billing_status == TimeEntry.BillingStatus.PENDING_APPROVAL


def test_time_before_the_question_keeps_its_decision_while_the_check_waits(
    scoped, open_ticket, developer
):
    """Work logged before the scope check keeps its meaning; work logged
    after it waits for the answer, whatever date it is for."""
    ticket = open_ticket("feature", opened_at=timezone.now() - datetime.timedelta(days=10))
    _decide(ticket, developer, "included", reason="Started as a small tweak")
    earlier = _log(ticket, developer, 20, days_ago=5)
    _needs_approval(ticket, developer)
    late_entry = _log(ticket, developer, 15, days_ago=3)  # logged now, for earlier work
    today = _log(ticket, developer, 30)
    earlier.refresh_from_db()
    statuses = [e.billing_status for e in (earlier, late_entry, today)]
    assert statuses == ["included", "pending_approval", "pending_approval"]


def test_approving_makes_the_work_billable(scoped, open_ticket, developer, account_manager):
    ticket = open_ticket("feature")
    _needs_approval(ticket, developer)
    entry = _log(ticket, developer, 30)
    scope_check_approve(check=ScopeCheck.objects.get(), actor=account_manager)
    entry.refresh_from_db()
    ticket.refresh_from_db()
    assert entry.billing_status == TimeEntry.BillingStatus.BILLABLE
    assert ticket.classification == "billable"
    assert ScopeCheck.objects.get().status == ScopeCheck.Status.APPROVED


def test_developers_cannot_approve(scoped, open_ticket, developer):
    ticket = open_ticket("feature")
    _needs_approval(ticket, developer)
    with pytest.raises(PermissionDenied):
        scope_check_approve(check=ScopeCheck.objects.get(), actor=developer)


def test_rejecting_needs_a_note_and_is_logged(scoped, open_ticket, developer, account_manager):
    ticket = open_ticket("feature")
    _needs_approval(ticket, developer)
    check = ScopeCheck.objects.get()
    with pytest.raises(ValidationError):
        scope_check_reject(check=check, actor=account_manager, note="")
    scope_check_reject(check=check, actor=account_manager, note="Raise it as a project")
    assert ScopeCheck.objects.get().status == ScopeCheck.Status.REJECTED
    assert (
        DecisionLogEntry.objects.get(kind="scope_check_rejected").reason == "Raise it as a project"
    )


def _ask(check, account_manager):
    return scope_check_ask_client(
        check=check,
        actor=account_manager,
        client_email="cto@acme.example",
        link_url=lambda token: f"https://msops.example/client/scope-checks/{token}/",
    )


def test_asking_the_client_emails_a_single_use_link(
    scoped, open_ticket, developer, account_manager, django_capture_on_commit_callbacks
):
    ticket = open_ticket("feature")
    _needs_approval(ticket, developer)
    with django_capture_on_commit_callbacks(execute=True):
        check = _ask(ScopeCheck.objects.get(), account_manager)
    token = scope_check_client_link(check=check)
    assert any(token in message.body for message in mail.outbox)
    answered = scope_check_client_answer(
        token=token, approve=True, name="Carla CTO", ip="203.0.113.9"
    )
    assert answered.status == ScopeCheck.Status.CLIENT_APPROVED
    assert answered.client_answer_name == "Carla CTO"
    assert answered.client_answer_ip == "203.0.113.9"
    ticket.refresh_from_db()
    assert ticket.classification == "billable"
    with pytest.raises(ClientLinkError):
        scope_check_client_answer(token=token, approve=False, name="Carla CTO", ip=None)


def test_a_tampered_or_foreign_link_is_refused(scoped, open_ticket, developer, account_manager):
    ticket = open_ticket("feature")
    _needs_approval(ticket, developer)
    check = _ask(ScopeCheck.objects.get(), account_manager)
    token = scope_check_client_link(check=check)
    with pytest.raises(ClientLinkError):
        scope_check_client_answer(token=token[:-2] + "xx", approve=True, name="X", ip=None)
    from django.core import signing

    from billing.services import CLIENT_LINK_SALT

    forged = signing.dumps(
        {"o": check.organization_id + 1, "c": check.pk, "n": check.client_link_nonce},
        salt=CLIENT_LINK_SALT + "x",
    )
    with pytest.raises(ClientLinkError):
        scope_check_client_answer(token=forged, approve=True, name="X", ip=None)


def test_the_client_declining_is_logged(scoped, open_ticket, developer, account_manager):
    ticket = open_ticket("feature")
    _needs_approval(ticket, developer)
    check = _ask(ScopeCheck.objects.get(), account_manager)
    scope_check_client_answer(
        token=scope_check_client_link(check=check), approve=False, name="Carla", ip=None
    )
    assert DecisionLogEntry.objects.get(kind="client_declined").ticket == ticket


def test_work_after_the_fact_makes_ticket_entry_and_decision_in_one_step(
    scoped, org, developer, terms
):
    decision = work_log_after_the_fact(
        organization=org,
        actor=developer,
        client=terms["client"],
        request_type=terms["rules"]["troubleshooting"].request_type,
        title="Reset the VPN for Bob",
        minutes=25,
        work_date=organization_today(org),
        source=Ticket.Source.DIRECT_MESSAGE,
    )
    ticket = decision.ticket
    assert ticket.source == "direct_message"
    assert decision.classification == "included"
    entry = TimeEntry.objects.get(ticket=ticket)
    assert entry.minutes == 25 and entry.billing_status == TimeEntry.BillingStatus.INCLUDED


def test_work_after_the_fact_with_bad_minutes_saves_nothing(scoped, org, developer, terms):
    with pytest.raises(ValidationError):
        work_log_after_the_fact(
            organization=org,
            actor=developer,
            client=terms["client"],
            request_type=terms["rules"]["troubleshooting"].request_type,
            title="Reset the VPN",
            minutes=0,
            work_date=organization_today(org),
            source=Ticket.Source.PHONE,
        )
    assert not Ticket.objects.exists()


def test_a_refused_link_says_why_without_naming_anything(
    scoped, open_ticket, developer, account_manager
):
    from django.core import signing

    from billing.services import CLIENT_LINK_SALT, scope_check_from_link

    ticket = open_ticket("feature")
    _needs_approval(ticket, developer)
    check = _ask(ScopeCheck.objects.get(), account_manager)
    token = scope_check_client_link(check=check)

    def reason(token):
        with pytest.raises(ClientLinkError) as error:
            scope_check_from_link(token=token)
        assert ticket.title not in str(error.value) and "Practice" not in str(error.value)
        return error.value.reason

    assert reason(token[:-1] + ("A" if token[-1] != "A" else "B")) == ClientLinkError.INVALID
    unknown = signing.dumps({"o": check.organization_id, "c": check.pk + 999, "n": "x"},
                            salt=CLIENT_LINK_SALT)  # fmt: skip
    assert reason(unknown) == ClientLinkError.INVALID
    ScopeCheck.objects.filter(pk=check.pk).update(
        client_link_expires_at=check.client_asked_at - datetime.timedelta(seconds=1)
    )
    assert reason(token) == ClientLinkError.EXPIRED
    ScopeCheck.objects.filter(pk=check.pk).update(client_link_expires_at=None)
    scope_check_client_answer(token=token, approve=True, name="Carla", ip=None)
    assert reason(token) == ClientLinkError.USED


def test_work_after_the_fact_reports_every_field_at_once(scoped, org, developer, terms):
    with pytest.raises(ValidationError) as error:
        work_log_after_the_fact(
            organization=org,
            actor=developer,
            client=terms["client"],
            request_type=terms["rules"]["troubleshooting"].request_type,
            title="",
            minutes=0,
            work_date=organization_today(org) + datetime.timedelta(days=1),
            source="carrier pigeon",
            classification="needs_approval",
        )
    assert set(error.value.message_dict) == {
        "title", "minutes", "work_date", "source", "classification"
    }  # fmt: skip
    assert not Ticket.objects.exists() and not BillingMoment.objects.exists()


def test_the_nth_ticket_of_one_type_in_30_days_raises_a_recurring_issue_moment(
    scoped, org, open_ticket
):
    assert org.recurring_ticket_count == 3
    first = open_ticket(title="VPN drops")
    second = open_ticket(title="VPN drops again")
    third = open_ticket(title="VPN drops, third time")
    other_type = open_ticket("feature", title="Export")
    recurring = BillingMoment.objects.filter(kind=BillingMoment.Kind.RECURRING_ISSUE)
    assert list(recurring.values_list("ticket", flat=True)) == [third.pk]
    assert "3 “Troubleshooting” tickets in 30 days" in recurring.get().detail
    assert not recurring.filter(ticket__in=[first, second, other_type]).exists()


def test_tickets_older_than_30_days_do_not_count_as_recurring(scoped, org, developer, terms):
    from tickets.services import ticket_open

    rtype = terms["rules"]["troubleshooting"].request_type
    now = timezone.now()
    for days_ago in (45, 40, 0):
        ticket_open(
            organization=org,
            opened_by=developer,
            client=terms["client"],
            request_type=rtype,
            title="Printer",
            opened_at=now - datetime.timedelta(days=days_ago),
        )
    assert not BillingMoment.objects.filter(kind=BillingMoment.Kind.RECURRING_ISSUE).exists()
