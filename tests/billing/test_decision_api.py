"""The decisions API: decisions (409 on a stale version), scope checks and
their actions, the decision log and work after the fact; the role matrix and
foreign ids."""

import re

import pytest
from django.core import mail

from billing.models import BillingDecision, DecisionLogEntry, ScopeCheck
from billing.services import (
    ScopeCheckRequest,
    decision_record,
    scope_check_from_link,
    time_entry_log,
)
from msops.tenancy.models import Role
from msops.tenancy.scoping import activate_organization
from tests.billing.helpers import decided_entry
from tests.factories import (
    BillingMomentFactory,
    ClientFactory,
    MembershipFactory,
    RequestTypeFactory,
    TicketFactory,
)
from tests.tickets.helpers import count, fresh
from tickets.models import Ticket, TimeEntry
from tickets.services import organization_today

DECISIONS = "/api/v1/decisions/"
CHECKS = "/api/v1/scope-checks/"
LOG = "/api/v1/decision-log/"
AFTER = "/api/v1/work-after-the-fact/"
API_LIST_BUDGET = 4  # token lookup, its last-used stamp, the count and the page


def needs_approval(ticket, actor, estimate=240):
    ticket.refresh_from_db()
    return decision_record(
        ticket=ticket,
        actor=actor,
        classification="needs_approval",
        version=ticket.version,
        reason="A new export is a feature",
        scope_check=ScopeCheckRequest(estimate_minutes=estimate),
    )


def check_of(ticket) -> ScopeCheck:
    return ScopeCheck.objects.get(ticket=ticket)


# --- decisions --------------------------------------------------------------------------
def test_deciding_answers_201_with_who_why_and_the_rule(scoped, api, developer, open_ticket):
    ticket = open_ticket()
    response = api(developer).post(
        DECISIONS,
        {"ticket": ticket.pk, "classification": "billable", "version": 1, "reason": "Misuse"},
    )
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["classification"] == "billable" and body["suggested_classification"] == "included"
    assert body["overrides_rule"] is True and body["reason"] == "Misuse"
    assert body["decided_by"] == developer.pk and body["decided_by_name"]
    assert body["rule_in_words"].startswith("Troubleshooting — included")
    assert body["scope_rule"] is not None and body["contract_revision"] is not None
    assert body["moment_kind"] == "ticket_opened" and body["ticket_number"] == ticket.number
    assert fresh(ticket).classification == "billable"


def test_a_reason_is_required_against_the_rule(scoped, api, developer, open_ticket):
    ticket = open_ticket()
    response = api(developer).post(
        DECISIONS, {"ticket": ticket.pk, "classification": "unclear", "version": 1}
    )
    assert response.status_code == 400
    assert "Say what is unclear" in response.json()["fields"]["reason"][0]
    assert count(BillingDecision) == 0


def test_a_stale_version_is_a_409_with_the_ticket_now(scoped, api, developer, open_ticket):
    ticket = open_ticket()
    client = api(developer)
    first = {"ticket": ticket.pk, "classification": "included", "version": 1}
    assert client.post(DECISIONS, first).status_code == 201
    response = client.post(DECISIONS, {**first, "classification": "unclear", "reason": "?"})
    assert response.status_code == 409
    body = response.json()
    assert "nothing was saved" in body["detail"]
    assert body["current"]["version"] == 2 and body["current"]["classification"] == "included"
    assert body["current"]["client_name"] == "Acme"
    assert count(BillingDecision) == 1


def test_needs_approval_opens_a_scope_check(scoped, api, developer, account_manager, open_ticket):
    ticket = open_ticket("feature")
    payload = {
        "ticket": ticket.pk,
        "classification": "needs_approval",
        "version": 1,
        "reason": "A new report",
    }
    response = api(developer).post(DECISIONS, payload)
    assert response.status_code == 400 and "estimate_minutes" in response.json()["fields"]
    response = api(developer).post(
        DECISIONS, {**payload, "estimate_minutes": 120, "client_explanation": "About 2 hours."}
    )
    assert response.status_code == 201
    checks = api(developer).get(CHECKS, {"ticket": ticket.pk}).json()["results"]
    assert [(c["status"], c["estimate_minutes"], c["account_manager"]) for c in checks] == [
        ("pending", 120, account_manager.pk)
    ]
    assert checks[0]["client_explanation"] == "About 2 hours."


def test_a_moment_of_another_ticket_is_a_400(scoped, api, developer, open_ticket):
    ticket, other = open_ticket(), open_ticket(title="Other")
    moment = BillingMomentFactory(ticket=other, kind="out_of_scope")
    response = api(developer).post(
        DECISIONS,
        {"ticket": ticket.pk, "classification": "included", "version": 1, "moment": moment.pk},
    )
    assert response.status_code == 400 and "moment" in response.json()["fields"]


@pytest.mark.parametrize("field", ["ticket", "moment"])
def test_an_id_of_another_organization_is_a_400_on_its_field(
    scoped, api, developer, open_ticket, other_org, field
):
    ticket = open_ticket()
    foreign_ticket = TicketFactory(organization=other_org)
    foreign = {
        "ticket": foreign_ticket.pk,
        "moment": BillingMomentFactory(ticket=foreign_ticket).pk,
    }[field]
    payload = {"ticket": ticket.pk, "classification": "included", "version": 1, field: foreign}
    response = api(developer).post(DECISIONS, payload)
    assert response.status_code == 400 and field in response.json()["fields"]
    assert count(BillingDecision) == 0


@pytest.mark.parametrize(
    "role,expected",
    [(Role.DEVELOPER, 201), (Role.ACCOUNT_MANAGER, 201), (Role.ADMIN, 201), (Role.FINANCE, 403)],
)
def test_who_decides(scoped, api, members, open_ticket, role, expected):
    ticket = open_ticket()
    response = api(members[role]).post(
        DECISIONS, {"ticket": ticket.pk, "classification": "included", "version": 1}
    )
    assert response.status_code == expected
    assert count(BillingDecision) == (1 if expected == 201 else 0)


@pytest.mark.parametrize("role", list(Role))
@pytest.mark.parametrize("endpoint", [DECISIONS, CHECKS, LOG])
def test_every_member_reads(scoped, api, members, open_ticket, developer, role, endpoint):
    ticket = open_ticket("feature")
    needs_approval(ticket, developer)
    response = api(members[role]).get(endpoint)
    assert response.status_code == 200
    detail = response.json()["results"]
    if detail:
        assert api(members[role]).get(f"{endpoint}{detail[0]['id']}/").status_code == 200


def test_decisions_filter(scoped, api, developer, admin_member, open_ticket):
    first, second = open_ticket(), open_ticket(title="Second")
    decision_record(ticket=first, actor=developer, classification="included", version=1)
    decision_record(
        ticket=second, actor=admin_member, classification="unclear", version=1, reason="?"
    )
    client = api(developer)

    def tickets(**query):
        return sorted(d["ticket"] for d in client.get(DECISIONS, query).json()["results"])

    assert tickets() == sorted([first.pk, second.pk])
    assert tickets(ticket=first.pk) == [first.pk]
    assert tickets(classification="unclear") == [second.pk]
    assert tickets(decided_by=admin_member.pk) == [second.pk]
    assert tickets(overrides_rule="true") == [second.pk]
    assert tickets(overrides_rule="false") == [first.pk]


# --- scope checks -------------------------------------------------------------------------
@pytest.mark.parametrize(
    "role,expected",
    [(Role.DEVELOPER, 403), (Role.FINANCE, 403), (Role.ACCOUNT_MANAGER, 200), (Role.ADMIN, 200)],
)
def test_who_approves(scoped, api, members, developer, open_ticket, role, expected):
    ticket = open_ticket("feature")
    needs_approval(ticket, developer)
    check = check_of(ticket)
    response = api(members[role]).post(f"{CHECKS}{check.pk}/approve/", {"note": "Go"})
    assert response.status_code == expected
    if expected == 200:
        body = response.json()
        assert body["status"] == "approved" and body["decision_note"] == "Go"
        assert body["decided_by"] == members[role].pk
        assert fresh(ticket).classification == "billable"
    else:
        assert fresh(check).status == "pending"


@pytest.mark.parametrize("action", ["reject", "ask-client"])
@pytest.mark.parametrize("role", [Role.DEVELOPER, Role.FINANCE])
def test_only_managers_reject_or_ask_the_client(
    scoped, api, members, developer, open_ticket, role, action
):
    ticket = open_ticket("feature")
    needs_approval(ticket, developer)
    check = check_of(ticket)
    payload = {"note": "No", "client_email": "cto@acme.example"}
    response = api(members[role]).post(f"{CHECKS}{check.pk}/{action}/", payload)
    assert response.status_code == 403
    assert fresh(check).status == "pending"


def test_rejecting_needs_a_note(scoped, api, developer, account_manager, open_ticket):
    ticket = open_ticket("feature")
    needs_approval(ticket, developer)
    check = check_of(ticket)
    client = api(account_manager)
    response = client.post(f"{CHECKS}{check.pk}/reject/", {})
    assert response.status_code == 400 and "note" in response.json()["fields"]
    response = client.post(f"{CHECKS}{check.pk}/reject/", {"note": "Quote it"})
    assert response.status_code == 200 and response.json()["status"] == "rejected"
    log = client.get(LOG, {"kind": "scope_check_rejected"}).json()["results"]
    assert [(entry["ticket"], entry["reason"]) for entry in log] == [(ticket.pk, "Quote it")]
    response = client.post(f"{CHECKS}{check.pk}/approve/", {})
    assert response.status_code == 400
    assert "already rejected" in response.json()["fields"]["non_field_errors"][0]


def test_asking_the_client_emails_an_absolute_signed_link(
    scoped, api, developer, account_manager, open_ticket, django_capture_on_commit_callbacks
):
    ticket = open_ticket("feature")
    needs_approval(ticket, developer)
    check = check_of(ticket)
    client = api(account_manager)
    response = client.post(f"{CHECKS}{check.pk}/ask-client/", {"client_email": "nope"})
    assert response.status_code == 400 and "client_email" in response.json()["fields"]
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            f"{CHECKS}{check.pk}/ask-client/",
            {"client_email": "cto@acme.example", "client_explanation": "About 4 hours."},
        )
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "awaiting_client" and body["client_email"] == "cto@acme.example"
    assert body["client_explanation"] == "About 4 hours."
    assert "client_link_nonce" not in body
    # The emailed link is absolute and opens this check (tokens carry the
    # second they were signed, so the link is read out of the mail).
    found = re.search(r"http://testserver/client/scope-checks/([^/\s]+)/", mail.outbox[-1].body)
    assert found is not None
    assert scope_check_from_link(token=found.group(1)).pk == check.pk


def test_scope_checks_filter(scoped, api, developer, account_manager, open_ticket, org):
    mine, approved = open_ticket("feature"), open_ticket("feature", title="Approved")
    needs_approval(mine, developer)
    needs_approval(approved, developer)
    api(account_manager).post(f"{CHECKS}{check_of(approved).pk}/approve/", {})
    client = api(developer)

    def tickets(**query):
        return sorted(c["ticket"] for c in client.get(CHECKS, query).json()["results"])

    assert tickets(status="pending") == [mine.pk]
    assert tickets(status="open") == [mine.pk]
    assert tickets(status="approved") == [approved.pk]
    assert tickets(account_manager=account_manager.pk) == sorted([mine.pk, approved.pk])
    assert tickets(account_manager=developer.pk) == []
    assert tickets(ticket=approved.pk) == [approved.pk]


# --- decision log ----------------------------------------------------------------------------
def test_the_decision_log_filters_by_client_and_kind(
    scoped, api, developer, open_ticket, org, terms
):
    ticket = open_ticket()
    decision_record(
        ticket=ticket, actor=developer, classification="billable", version=1, reason="Misuse"
    )
    other = TicketFactory(organization=org, client=ClientFactory(organization=org))
    DecisionLogEntry.objects.create(
        organization=org, kind="write_off", client=other.client, ticket=other, summary="W"
    )
    client = api(developer)

    def kinds(**query):
        return sorted(e["kind"] for e in client.get(LOG, query).json()["results"])

    assert kinds() == ["rule_overridden", "write_off"]
    assert kinds(client=terms["client"].pk) == ["rule_overridden"]
    assert kinds(kind="write_off") == ["write_off"]
    entry = client.get(LOG, {"client": terms["client"].pk}).json()["results"][0]
    assert entry["reason"] == "Misuse" and entry["ticket_number"] == ticket.number
    assert entry["actor"] == developer.pk and entry["client_name"] == "Acme"


# --- work after the fact ---------------------------------------------------------------------
def after_the_fact(terms, org, **overrides):
    return {
        "client": terms["client"].pk,
        "request_type": terms["rules"]["troubleshooting"].request_type.pk,
        "title": "Reset Bob's VPN",
        "minutes": 25,
        "work_date": organization_today(org).isoformat(),
        "source": "direct_message",
        **overrides,
    }


def test_work_after_the_fact_answers_201_with_the_ticket_and_decision(
    scoped, api, developer, org, terms
):
    response = api(developer).post(AFTER, after_the_fact(terms, org))
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["ticket"]["source"] == "direct_message" and body["ticket"]["logged_minutes"] == 25
    assert body["ticket"]["classification"] == "included"
    assert body["decision"]["classification"] == "included"
    assert body["decision"]["ticket"] == body["ticket"]["id"]
    assert TimeEntry.objects.get().billing_status == "included"


@pytest.mark.parametrize(
    "overrides,field",
    [
        ({"classification": "needs_approval"}, "classification"),
        ({"classification": "billable"}, "reason"),
        ({"minutes": 0}, "minutes"),
        ({"title": ""}, "title"),
    ],
)
def test_work_after_the_fact_refuses_bad_input_and_saves_nothing(
    scoped, api, developer, org, terms, overrides, field
):
    response = api(developer).post(AFTER, after_the_fact(terms, org, **overrides))
    assert response.status_code == 400 and field in response.json()["fields"]
    assert count(Ticket) == count(TimeEntry) == count(BillingDecision) == 0


@pytest.mark.parametrize("field", ["client", "request_type"])
def test_work_after_the_fact_refuses_foreign_ids(
    scoped, api, developer, org, terms, other_org, field
):
    foreign = {
        "client": lambda: ClientFactory(organization=other_org).pk,
        "request_type": lambda: RequestTypeFactory(organization=other_org).pk,
    }[field]()
    response = api(developer).post(AFTER, after_the_fact(terms, org, **{field: foreign}))
    assert response.status_code == 400 and field in response.json()["fields"]
    assert count(Ticket) == 0


def test_finance_does_not_log_work_after_the_fact(scoped, api, finance, org, terms):
    response = api(finance).post(AFTER, after_the_fact(terms, org))
    assert response.status_code == 403
    assert api(finance).get(AFTER).status_code == 405


# --- query budgets ----------------------------------------------------------------------------
@pytest.mark.parametrize("rows", [2, 50])
@pytest.mark.parametrize("endpoint", [DECISIONS, CHECKS, LOG])
def test_every_list_endpoint_has_a_fixed_query_budget(
    scoped, api, developer, org, terms, rows, endpoint, django_assert_max_num_queries
):
    for _ in range(rows):
        requester = MembershipFactory(organization=org)
        ticket = TicketFactory(
            organization=org,
            client=ClientFactory(
                organization=org,
                account_manager=MembershipFactory(organization=org, role=Role.ACCOUNT_MANAGER),
            ),
            request_type=terms["rules"]["feature"].request_type,
        )
        decision = needs_approval(ticket, requester)
        DecisionLogEntry.objects.create(
            organization=org,
            kind="client_exception",
            client=ticket.client,
            ticket=ticket,
            decision=decision,
            actor=requester,
            summary="Exception",
        )
    model = {DECISIONS: BillingDecision, CHECKS: ScopeCheck, LOG: DecisionLogEntry}[endpoint]
    client = api(developer)
    with django_assert_max_num_queries(API_LIST_BUDGET):
        response = client.get(endpoint)
    assert response.json()["count"] == count(model) >= rows


# --- reclassifying earlier work -----------------------------------------------------
def test_reclassify_changes_named_entries_with_a_reason_and_answers_201(
    api, org, developer, open_ticket
):
    ticket, entry = decided_entry(org, open_ticket, developer)
    client = api(developer)
    missing = client.post(
        "/api/v1/decisions/reclassify/",
        {"ticket": ticket.pk, "version": ticket.version, "entries": [entry.pk],
         "classification": "billable"},
        format="json",
    )  # fmt: skip
    assert missing.status_code == 400 and "reason" in missing.json()["fields"]
    response = client.post(
        "/api/v1/decisions/reclassify/",
        {"ticket": ticket.pk, "version": ticket.version, "entries": [entry.pk],
         "classification": "billable", "reason": "A new report, not a fix"},
        format="json",
    )  # fmt: skip
    assert response.status_code == 201, response.content
    assert response.json()["reclassification"] is True
    listed = client.get(f"/api/v1/time-entries/{entry.pk}/").json()
    assert listed["billing_status"] == "billable"
    assert listed["portions"][0]["decision"] == response.json()["id"]
    stale = client.post(
        "/api/v1/decisions/reclassify/",
        {"ticket": ticket.pk, "version": ticket.version, "entries": [entry.pk],
         "classification": "included", "reason": "Again"},
        format="json",
    )  # fmt: skip
    assert stale.status_code == 409


def test_finance_cannot_reclassify(api, org, finance, developer, open_ticket):
    with activate_organization(org):
        ticket = open_ticket()
        entry = time_entry_log(
            ticket=ticket, person=developer, work_date=organization_today(org), minutes=40
        ).entry
    response = api(finance).post(
        "/api/v1/decisions/reclassify/",
        {"ticket": ticket.pk, "version": ticket.version, "entries": [entry.pk],
         "classification": "billable", "reason": "No"},
        format="json",
    )  # fmt: skip
    assert response.status_code == 403
