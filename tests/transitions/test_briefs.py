"""The client brief: its sections from seeded data, staleness, who may write
it, bad input, the API, and a page whose query count does not grow with the
number of tickets."""

import datetime

import pytest
from django.contrib.auth.models import Permission
from django.core.exceptions import ValidationError
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from billing.models import DecisionLogEntry, ExceptionFlag, ScopeCheck
from msops.tenancy.models import Role
from msops.tenancy.scoping import activate_organization
from tests.factories import (
    ClientFactory,
    ContractFactory,
    ContractRevisionFactory,
    MembershipFactory,
    RequestTypeFactory,
    ScopeRuleFactory,
    TicketFactory,
)
from tests.transitions.conftest import rows
from transitions.briefs import (
    client_brief_is_stale,
    client_brief_mark_reviewed,
    client_brief_page,
    client_brief_update,
)
from transitions.models import ClientBrief

API = "/api/v1"
MANAGERS_WRITE = {
    Role.DEVELOPER: False,
    Role.FINANCE: False,
    Role.ACCOUNT_MANAGER: True,
    Role.ADMIN: True,
}


def page_of(client):
    with activate_organization(client.organization):
        return client_brief_page(client=client)


def brief_url(org, client, action: str = "") -> str:
    name = f"transitions:client_brief{'_' + action if action else ''}"
    return reverse(name, kwargs={"org": org.slug, "pk": client.pk})


def write_brief(client, by, summary="Runs on-prem; escalate to the CTO after 2 h."):
    with activate_organization(client.organization):
        return client_brief_update(client=client, summary=summary, by=by)


@pytest.fixture
def contract(client_):
    contract = ContractFactory(organization=client_.organization, client=client_)
    ContractRevisionFactory(organization=client_.organization, contract=contract)
    return contract


# --- sections ----------------------------------------------------------------------
def test_a_recurring_task_shows_its_owner_and_the_rule_in_force_in_plain_words(
    contract, request_type, make_task, developer, client_
):
    ScopeRuleFactory(
        organization=contract.organization,
        contract=contract,
        request_type=request_type,
        treatment="included",
        expected_minutes=45,
    )
    make_task(known_exceptions="Never on the last Friday")
    make_task(title="Old task", active=False)

    page = page_of(client_)

    [line] = page.recurring_tasks
    assert line.task.owner == developer
    assert line.task.known_exceptions == "Never on the last Friday"
    assert line.treatment == "Patching — included, about 45 min"
    assert "Patching — included, about 45 min" in page.rules


def test_a_task_without_a_rule_in_the_contract_shows_its_request_types_default(
    contract, make_task, client_
):
    make_task()

    [line] = page_of(client_).recurring_tasks

    assert line.treatment.startswith("Patching — included")
    assert "no rule in the contract" in line.treatment


def test_without_a_contract_the_task_is_billable_and_the_brief_says_so(make_task, client_):
    make_task()

    page = page_of(client_)

    assert page.contract is None
    assert "billable: no contract covers" in page.recurring_tasks[0].treatment


def test_the_billing_rules_are_the_contracts_rules_in_force_in_plain_words(contract, client_):
    org = contract.organization
    approval = RequestTypeFactory(organization=org, name="New feature")
    ScopeRuleFactory(
        organization=org,
        contract=contract,
        request_type=approval,
        treatment="needs_approval",
        approval_threshold_minutes=120,
    )
    RequestTypeFactory(organization=org, name="Training", default_treatment="billable")

    page = page_of(client_)

    assert page.contract == contract
    assert page.rules == ["New feature — needs approval; approval needed past 120 min"]
    assert any(words.startswith("Training — billable") for words in page.defaults)


def test_recent_unusual_decisions_of_the_client_are_listed_newest_first(
    org, client_, account_manager
):
    ticket = TicketFactory(organization=org, client=client_)
    other = TicketFactory(organization=org, client=ClientFactory(organization=org))

    def log(summary, *, days_ago=0, ticket=ticket):
        DecisionLogEntry.objects.create(
            organization=org,
            kind=DecisionLogEntry.Kind.RULE_OVERRIDDEN,
            client=ticket.client,
            ticket=ticket,
            actor=account_manager,
            summary=summary,
            created_at=timezone.now() - datetime.timedelta(days=days_ago),
        )

    log("Billed the printer fix although included", days_ago=3)
    log("Wrote off the migration", days_ago=1)
    log("Too old", days_ago=91)
    log("Another client's call", ticket=other)

    summaries = [entry.summary for entry in page_of(client_).decisions]

    assert summaries == ["Wrote off the migration", "Billed the printer fix although included"]


def test_open_items_show_tickets_scope_checks_and_flags_with_their_owners(
    org, client_, developer, account_manager
):
    ticket = TicketFactory(organization=org, client=client_, assignee=developer)
    TicketFactory(organization=org, client=client_, assignee=developer, status="resolved")
    check = ScopeCheck.objects.create(
        organization=org,
        ticket=ticket,
        requested_by=developer,
        account_manager=account_manager,
        estimate_minutes=120,
        reason="Needs a new server",
        client_explanation="Two hours to set up a server.",
    )
    flag = ExceptionFlag.objects.create(
        organization=org,
        kind=ExceptionFlag.Kind.OVER_EXPECTED,
        subject_key=f"ticket:{ticket.pk}",
        ticket=ticket,
        owner=account_manager,
        detail="3:00 logged, 1:00 expected",
    )

    page = page_of(client_)

    assert [(t.pk, t.assignee) for t in page.open_tickets] == [(ticket.pk, developer)]
    assert [(c.pk, c.account_manager) for c in page.open_scope_checks] == [
        (check.pk, account_manager)
    ]
    assert [(f.pk, f.owner) for f in page.open_flags] == [(flag.pk, account_manager)]


def test_risks_not_closed_are_listed_with_owner_and_next_action(make_risk, client_, developer):
    make_risk(description="Backups never restored", next_action="Run a restore drill")
    make_risk(description="Old worry", status="closed")

    [risk] = page_of(client_).risks

    assert (risk.description, risk.owner, risk.next_action) == (
        "Backups never restored",
        developer,
        "Run a restore drill",
    )


def test_a_request_type_with_three_tickets_in_90_days_is_a_repeating_pattern(
    org, client_, request_type
):
    other_type = RequestTypeFactory(organization=org, name="Onboarding")
    for _ in range(3):
        TicketFactory(organization=org, client=client_, request_type=request_type)
    for _ in range(2):
        TicketFactory(organization=org, client=client_, request_type=other_type)
    TicketFactory(
        organization=org,
        client=client_,
        request_type=other_type,
        opened_at=timezone.now() - datetime.timedelta(days=100),
    )

    repeating = page_of(client_).repeating

    assert [(row.name, row.tickets) for row in repeating] == [("Patching", 3)]


# --- staleness -----------------------------------------------------------------------
def _reviewed_days_ago(org, today, days: int) -> ClientBrief:
    noon = datetime.datetime.combine(
        today - datetime.timedelta(days=days), datetime.time(12), tzinfo=org.tzinfo
    )
    return ClientBrief(organization=org, reviewed_at=noon)


def test_a_brief_reviewed_30_days_ago_is_current_and_31_days_ago_stale(org, today):
    assert not client_brief_is_stale(brief=_reviewed_days_ago(org, today, 30), today=today)
    assert client_brief_is_stale(brief=_reviewed_days_ago(org, today, 31), today=today)


def test_a_client_without_a_brief_or_a_brief_never_reviewed_is_stale(org, client_, today):
    assert page_of(client_).stale
    assert client_brief_is_stale(brief=ClientBrief(organization=org), today=today)


def test_a_written_brief_is_not_stale(client_, account_manager):
    write_brief(client_, account_manager)

    assert not page_of(client_).stale


# --- services --------------------------------------------------------------------------
def test_writing_the_summary_records_the_writer_as_reviewer(client_, account_manager):
    before = timezone.now()

    brief = write_brief(client_, account_manager, "  On-prem; call Dana first.  ")

    assert brief.summary == "On-prem; call Dana first."
    assert brief.reviewed_by == account_manager and brief.reviewed_at >= before
    assert len(rows(ClientBrief)) == 1


def test_writing_again_changes_the_same_brief(client_, account_manager, admin_member):
    write_brief(client_, account_manager, "First")
    write_brief(client_, admin_member, "Second")

    [brief] = rows(ClientBrief)
    assert (brief.summary, brief.reviewed_by) == ("Second", admin_member)


def test_marking_reviewed_keeps_the_summary_and_records_the_reviewer(
    client_, account_manager, admin_member
):
    brief = write_brief(client_, account_manager, "Unchanged")
    with activate_organization(client_.organization):
        client_brief_mark_reviewed(brief=brief, by=admin_member)

    [stored] = rows(ClientBrief)
    assert (stored.summary, stored.reviewed_by) == ("Unchanged", admin_member)


def test_a_reviewer_of_another_organization_is_refused(client_, stranger):
    with pytest.raises(ValidationError) as error:
        write_brief(client_, stranger)

    assert "reviewed_by" in error.value.message_dict
    assert rows(ClientBrief) == []


# --- the page ------------------------------------------------------------------------
def test_a_developer_reads_the_brief_without_the_edit_form(
    login, org, client_, developer, account_manager
):
    write_brief(client_, account_manager, "Escalate to the CTO")
    TicketFactory(organization=org, client=client_, assignee=developer)  # a client of theirs

    response = login(developer).get(brief_url(org, client_))

    assert response.status_code == 200
    assert "Escalate to the CTO" in response.content.decode()
    assert brief_url(org, client_, "edit") not in response.content.decode()


def test_a_manager_sees_the_edit_form_and_the_mark_reviewed_button(
    login, org, client_, account_manager
):
    write_brief(client_, account_manager)

    body = login(account_manager).get(brief_url(org, client_)).content.decode()

    assert brief_url(org, client_, "edit") in body
    assert brief_url(org, client_, "reviewed") in body


def test_the_client_page_links_to_the_brief(login, org, client_, developer):
    body = login(developer).get(reverse("clients:client_detail", args=[org.slug, client_.pk]))

    assert brief_url(org, client_) in body.content.decode()


@pytest.mark.parametrize("role,allowed", MANAGERS_WRITE.items())
def test_only_admins_and_account_managers_write_the_summary(
    login, members, org, client_, role, allowed
):
    response = login(members[role]).post(brief_url(org, client_, "edit"), {"summary": "Hi"})

    assert response.status_code == (302 if allowed else 403)
    assert [(b.summary, b.reviewed_by) for b in rows(ClientBrief)] == (
        [("Hi", members[role])] if allowed else []
    )


def test_an_empty_summary_is_a_400_with_the_field_and_nothing_saved(
    login, org, client_, account_manager
):
    response = login(account_manager).post(brief_url(org, client_, "edit"), {"summary": "  "})

    assert response.status_code == 400
    assert "summary" in response.context["form"].errors
    assert rows(ClientBrief) == []


def test_an_htmx_edit_answers_the_summary_partial(login, org, client_, account_manager):
    response = login(account_manager).post(
        brief_url(org, client_, "edit"), {"summary": "Via htmx"}, HTTP_HX_REQUEST="true"
    )

    body = response.content.decode()
    assert response.status_code == 200
    assert "Via htmx" in body and "<html" not in body


def test_a_developer_cannot_mark_the_brief_reviewed(
    login, org, client_, developer, account_manager
):
    write_brief(client_, account_manager)

    assert login(developer).post(brief_url(org, client_, "reviewed")).status_code == 403


def test_marking_a_brief_reviewed_on_the_page_records_the_manager(
    login, org, client_, account_manager, admin_member
):
    write_brief(client_, account_manager)

    response = login(admin_member).post(brief_url(org, client_, "reviewed"))

    assert response.status_code == 302
    assert rows(ClientBrief)[0].reviewed_by == admin_member


def test_another_organizations_client_brief_is_404(login, org, foreign_client, account_manager):
    assert login(account_manager).get(brief_url(org, foreign_client)).status_code == 404


def _page_queries(browser, url) -> int:
    with CaptureQueriesContext(connection) as queries:
        assert browser.get(url).status_code == 200
    return len(queries)


def _seed_tickets(org, client_, request_type, developer, account_manager, count: int) -> None:
    for _ in range(count):
        ticket = TicketFactory(
            organization=org, client=client_, request_type=request_type, assignee=developer
        )
        ExceptionFlag.objects.create(
            organization=org,
            kind=ExceptionFlag.Kind.OVER_EXPECTED,
            subject_key=f"ticket:{ticket.pk}",
            ticket=ticket,
            owner=account_manager,
        )
        DecisionLogEntry.objects.create(
            organization=org,
            kind=DecisionLogEntry.Kind.WRITE_OFF,
            client=client_,
            ticket=ticket,
            actor=account_manager,
            summary="Wrote it off",
        )


def test_the_page_makes_as_many_queries_with_20_tickets_as_with_2(
    login, org, client_, request_type, developer, account_manager, contract, make_task, make_risk
):
    write_brief(client_, account_manager)
    make_task()
    make_risk()
    browser = login(developer)
    url = brief_url(org, client_)
    _seed_tickets(org, client_, request_type, developer, account_manager, 2)
    browser.get(url)  # warm the session and the template cache
    with_two = _page_queries(browser, url)

    _seed_tickets(org, client_, request_type, developer, account_manager, 18)
    make_task(title="Another task")
    make_risk(description="Another risk")

    assert _page_queries(browser, url) == with_two


# --- the API -------------------------------------------------------------------------
def test_every_member_reads_the_briefs_filtered_by_client(
    api, members, org, client_, account_manager
):
    brief = write_brief(client_, account_manager, "Read me")
    write_brief(ClientFactory(organization=org), account_manager, "Not me")
    TicketFactory(organization=org, client=client_, assignee=members[Role.DEVELOPER])

    for membership in members.values():
        response = api(membership).get(f"{API}/client-briefs/", {"client": client_.pk})
        assert response.status_code == 200
        assert [row["id"] for row in response.json()["results"]] == [brief.pk]

    body = api(members[Role.DEVELOPER]).get(f"{API}/client-briefs/{brief.pk}/").json()
    assert body["summary"] == "Read me" and body["stale"] is False
    assert body["reviewed_by"] == account_manager.pk and body["reviewed_at"]


@pytest.mark.parametrize("role,allowed", MANAGERS_WRITE.items())
def test_managers_change_the_summary_through_the_api_and_become_its_reviewer(
    api, members, client_, account_manager, role, allowed
):
    brief = write_brief(client_, account_manager, "Before")

    response = api(members[role]).patch(
        f"{API}/client-briefs/{brief.pk}/", {"summary": "After"}, format="json"
    )

    assert response.status_code == (200 if allowed else 403)
    [stored] = rows(ClientBrief)
    if allowed:
        assert response.json()["summary"] == "After"
        assert (stored.summary, stored.reviewed_by) == ("After", members[role])
    else:
        assert (stored.summary, stored.reviewed_by) == ("Before", account_manager)


def test_an_empty_summary_through_the_api_is_a_400_on_the_field(api, client_, account_manager):
    brief = write_brief(client_, account_manager, "Before")

    response = api(account_manager).patch(
        f"{API}/client-briefs/{brief.pk}/", {"summary": "   "}, format="json"
    )

    assert response.status_code == 400 and "summary" in response.json()["fields"]
    assert rows(ClientBrief)[0].summary == "Before"


def test_the_reviewed_action_records_the_manager_and_developers_may_not(
    api, client_, account_manager, admin_member, developer
):
    brief = write_brief(client_, account_manager)

    assert api(developer).post(f"{API}/client-briefs/{brief.pk}/reviewed/").status_code == 403
    response = api(admin_member).post(f"{API}/client-briefs/{brief.pk}/reviewed/")

    assert response.status_code == 200
    assert response.json()["reviewed_by"] == admin_member.pk
    assert rows(ClientBrief)[0].reviewed_by == admin_member


def test_briefs_cannot_be_created_or_deleted_through_the_api(api, client_, account_manager):
    brief = write_brief(client_, account_manager)
    briefs = api(account_manager)

    assert (
        briefs.post(f"{API}/client-briefs/", {"client": client_.pk, "summary": "x"}).status_code
        == 405
    )
    assert briefs.delete(f"{API}/client-briefs/{brief.pk}/").status_code == 405


# --- the admin -----------------------------------------------------------------------
def test_staff_mark_their_organizations_briefs_reviewed_in_the_admin(
    client, org, client_, account_manager
):
    staff = MembershipFactory(organization=org, role=Role.ADMIN, user__username="staffer")
    staff.user.is_staff = True
    staff.user.save()
    staff.user.user_permissions.set(
        Permission.objects.filter(content_type__app_label="transitions")
    )
    client.force_login(staff.user)
    brief = write_brief(client_, account_manager, "Seen in the admin")
    changelist = reverse("admin:transitions_clientbrief_changelist")

    assert client_.name in client.get(changelist).content.decode()
    response = client.post(changelist, {"action": "mark_reviewed", "_selected_action": [brief.pk]})

    assert response.status_code == 302
    assert rows(ClientBrief)[0].reviewed_by == staff


@pytest.mark.parametrize("n", [2, 50])
def test_the_brief_list_answers_within_the_same_query_budget_at_2_and_50_rows(
    api, org, developer, account_manager, django_assert_max_num_queries, n
):
    for i in range(n):
        client = ClientFactory(organization=org, name=f"Client {i}")
        write_brief(client, account_manager)
        TicketFactory(organization=org, client=client, assignee=developer)  # theirs
    briefs = api(developer)

    with django_assert_max_num_queries(8):
        response = briefs.get(f"{API}/client-briefs/?page_size=50")

    assert response.json()["count"] == n


# --- tickets reopened (repeating patterns) -------------------------------------------
def _reopened(org, client_, *, days_ago: float, times: int = 1, **fields):
    return TicketFactory(
        organization=org,
        client=client_,
        reopen_count=times,
        last_reopened_at=timezone.now() - datetime.timedelta(days=days_ago),
        **fields,
    )


def test_tickets_reopened_in_the_last_90_days_are_listed_newest_first_with_their_count(
    org, client_
):
    older = _reopened(org, client_, days_ago=20, times=3, title="VPN drops every hour")
    newer = _reopened(org, client_, days_ago=2, title="Printer offline again")
    _reopened(org, client_, days_ago=91, title="Reopened long ago")
    _reopened(org, ClientFactory(organization=org), days_ago=1, title="Another client's")
    TicketFactory(organization=org, client=client_, status="resolved", title="Never reopened")

    reopened = page_of(client_).reopened

    assert [(t.pk, t.reopen_count) for t in reopened] == [(newer.pk, 1), (older.pk, 3)]


def test_a_ticket_reopened_through_the_service_appears_in_the_brief(
    org, client_, request_type, developer
):
    from tickets.services import ticket_open, ticket_update

    with activate_organization(org):
        ticket = ticket_open(
            organization=org,
            opened_by=developer,
            client=client_,
            request_type=request_type,
            title="Backup job fails",
        )
        ticket = ticket_update(
            ticket=ticket, actor=developer, version=ticket.version, status="resolved"
        )
        assert page_of(client_).reopened == []
        ticket_update(ticket=ticket, actor=developer, version=ticket.version, status="in_progress")

    [line] = page_of(client_).reopened
    assert (line.pk, line.reopen_count) == (ticket.pk, 1)


def test_the_page_lists_reopened_tickets_with_a_link_and_says_when_there_are_none(
    login, org, client_, developer, admin_member
):
    browser = login(admin_member)
    assert "No ticket was reopened in the last 90 days." in (
        browser.get(brief_url(org, client_)).content.decode()
    )
    ticket = _reopened(org, client_, days_ago=3, times=2, title="VPN drops every hour")

    body = browser.get(brief_url(org, client_)).content.decode()

    assert "Tickets reopened" in body
    [line] = body.split('data-testid="brief-reopened">')[1:]
    line = line.split("</li>")[0]
    ticket_url = reverse("tickets:ticket_detail", kwargs={"org": org.slug, "number": ticket.number})
    assert f'href="{ticket_url}"' in line
    assert "VPN drops every hour" in line
    reopened_on = timezone.localtime(ticket.last_reopened_at, org.tzinfo).date()
    assert f"reopened 2 times, last on {reopened_on:%Y-%m-%d}" in line


def test_the_page_makes_as_many_queries_with_20_reopened_tickets_as_with_2(
    login, org, client_, developer, admin_member
):
    browser = login(admin_member)
    url = brief_url(org, client_)
    for i in range(2):
        _reopened(org, client_, days_ago=i + 1)
    browser.get(url)  # warm the session and the template cache
    with_two = _page_queries(browser, url)

    for i in range(18):
        _reopened(org, client_, days_ago=i + 3)

    assert _page_queries(browser, url) == with_two


def test_open_flags_are_grouped_by_kind_with_their_tickets_and_a_link(
    login, org, client_, account_manager
):
    write_brief(client_, account_manager)
    tickets = [TicketFactory(organization=org, client=client_) for _ in range(7)]
    for ticket in tickets:
        ExceptionFlag.objects.create(
            organization=org, kind=ExceptionFlag.Kind.LATE_ENTRY, subject_key=f"t:{ticket.pk}",
            ticket=ticket, client=client_, owner=account_manager,
        )  # fmt: skip
    ExceptionFlag.objects.create(
        organization=org, kind=ExceptionFlag.Kind.CONTRACT_80, subject_key="contract:1",
        client=client_, detail="48:00 of 60:00 used",
    )  # fmt: skip

    body = login(account_manager).get(brief_url(org, client_)).content.decode()

    assert body.count('data-testid="brief-open-flag"') == 2
    newest = ", ".join(f"#{t.number}" for t in reversed(tickets[2:]))
    assert f"7 flags: Time entered long after the work on {newest} and 2 more" in body
    assert f"?client={client_.pk}&amp;kind=late_entry" in body
    assert "Flag: Contract hours at 80 %" in body and "48:00 of 60:00 used" in body
