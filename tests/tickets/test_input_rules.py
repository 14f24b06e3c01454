"""Rules people expect on input: free text has a stated limit (title 200,
description 10,000, time-entry notes 5,000, notes and reasons 2,000), text at
the limit passes and one character more is refused with its length — never
cut — by the service, the page and the API alike, and nothing is saved;
required notes are refused when they are only spaces; contradictory contract
terms are refused on their field."""

import datetime
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse
from django_scopes import scopes_disabled
from drf_spectacular.generators import SchemaGenerator

from billing.forms import DecisionForm
from billing.models import BillingDecision, ExceptionFlag, ScopeCheck
from billing.services import (
    ScopeCheckRequest,
    decision_record,
    entries_reclassify,
    scope_check_reject,
    time_entry_log,
)
from billing.services.review import flag_resolve
from clients.models import Contract
from clients.services import client_create, contract_create, contract_update, scope_rule_create
from msops.limits import (
    DESCRIPTION_MAX,
    NOTE_MAX,
    TIME_ENTRY_NOTES_MAX,
    TITLE_MAX,
    too_long,
)
from msops.tenancy.scoping import activate_organization
from tests.factories import ContractFactory, ContractRevisionFactory, RequestTypeFactory
from tests.tickets.helpers import count, fresh
from tickets.forms import LogTimeForm, TicketForm
from tickets.models import Ticket, TimeEntry
from tickets.services import organization_today, ticket_update

TICKETS = "/api/v1/tickets/"
ENTRIES = "/api/v1/time-entries/"
DECISIONS = "/api/v1/decisions/"
HTMX = {"HX-Request": "true"}


def page_url(name, org, **kwargs):
    return reverse(f"tickets:{name}", kwargs={"org": org.slug, **kwargs})


def opening(terms, **overrides) -> dict:
    return {
        "client": terms.client.pk,
        "request_type": terms.request_type.pk,
        "title": "Printer offline",
        "priority": "normal",
        "source": "email",
        **overrides,
    }


# --- the message ---------------------------------------------------------------------
def test_the_message_says_the_limit_and_the_length():
    assert too_long("x" * 1000, limit=200, what="Titles") == (
        "Titles are at most 200 characters (this one has 1,000)."
    )
    assert too_long("x" * 200, limit=200, what="Titles") is None


# --- titles --------------------------------------------------------------------------
def test_a_title_of_200_characters_opens_the_ticket_whole(open_ticket):
    ticket = open_ticket(title="t" * TITLE_MAX)
    assert fresh(ticket).title == "t" * TITLE_MAX


@pytest.mark.parametrize(
    "length,said", [(TITLE_MAX + 1, "201"), (1000, "1,000")], ids=["201", "1000"]
)
def test_a_longer_title_is_refused_not_cut(open_ticket, org, length, said):
    with pytest.raises(ValidationError) as refused:
        open_ticket(title="t" * length)
    assert refused.value.message_dict == {
        "title": [f"Titles are at most 200 characters (this one has {said})."]
    }
    assert count(Ticket, organization=org) == 0


def test_a_longer_title_on_a_change_is_refused_and_nothing_saved(open_ticket, developer, org):
    ticket = open_ticket()
    with activate_organization(org), pytest.raises(ValidationError) as refused:
        ticket_update(ticket=ticket, actor=developer, version=1, title="t" * 201, priority="high")
    assert refused.value.message_dict["title"] == [
        "Titles are at most 200 characters (this one has 201)."
    ]
    stored = fresh(ticket)
    assert (stored.title, stored.priority, stored.version) == ("Printer offline", "normal", 1)


def test_the_api_refuses_a_1000_character_title_on_the_field(api, developer, org, terms):
    response = api(developer).post(TICKETS, opening(terms, title="t" * 1000))
    assert response.status_code == 400
    assert response.json()["fields"] == {
        "title": ["Titles are at most 200 characters (this one has 1,000)."]
    }
    assert count(Ticket, organization=org) == 0


def test_the_api_accepts_a_title_of_exactly_200(api, developer, terms):
    response = api(developer).post(TICKETS, opening(terms, title="t" * 200))
    assert response.status_code == 201, response.json()
    assert response.json()["title"] == "t" * 200


def test_the_api_refuses_a_longer_title_on_a_change(api, developer, open_ticket):
    ticket = open_ticket()
    response = api(developer).patch(f"{TICKETS}{ticket.pk}/", {"version": 1, "title": "t" * 201})
    assert response.status_code == 400
    assert response.json()["fields"]["title"] == [
        "Titles are at most 200 characters (this one has 201)."
    ]
    assert fresh(ticket).version == 1


def test_the_page_refuses_a_1000_character_title_beside_the_field(login, developer, org, terms):
    response = login(developer).post(
        page_url("ticket_create", org), opening(terms, title="t" * 1000)
    )
    assert response.status_code == 200
    assert "Titles are at most 200 characters (this one has 1,000)." in response.content.decode()
    assert count(Ticket, organization=org) == 0


def test_the_title_input_states_its_limit_but_has_no_maxlength_that_would_cut_a_paste(org):
    """A browser cuts pasted text at ``maxlength`` without a word: that was
    the silent cut to 200. The limit is stated instead, and refused aloud."""
    with activate_organization(org):
        form = TicketForm(organization=org)
        html = str(form["title"])
    assert "maxlength" not in html
    assert 'data-max-length="200"' in html
    assert form.fields["title"].help_text == "At most 200 characters."


def test_the_api_schema_shows_the_limits():
    schema = SchemaGenerator().get_schema(request=None, public=True)["components"]["schemas"]
    assert schema["TicketRequest"]["properties"]["title"]["maxLength"] == TITLE_MAX
    assert schema["TicketRequest"]["properties"]["description"]["maxLength"] == DESCRIPTION_MAX
    assert schema["TicketRequest"]["properties"]["resolution_note"]["maxLength"] == 10_000
    entry = schema["TimeEntryCreateRequest"]["properties"]
    assert (entry["notes"]["maxLength"], entry["date_reason"]["maxLength"]) == (
        TIME_ENTRY_NOTES_MAX,
        500,
    )
    assert schema["DecisionCreateRequest"]["properties"]["reason"]["maxLength"] == NOTE_MAX


# --- descriptions ----------------------------------------------------------------------
def test_a_description_of_10000_characters_passes_and_one_more_is_refused(open_ticket, org):
    assert len(fresh(open_ticket(description="d" * DESCRIPTION_MAX)).description) == 10_000
    with pytest.raises(ValidationError) as refused:
        open_ticket(description="d" * (DESCRIPTION_MAX + 1))
    assert refused.value.message_dict == {
        "description": ["Descriptions are at most 10,000 characters (this one has 10,001)."]
    }
    assert count(Ticket, organization=org) == 1


def test_the_api_refuses_a_longer_description(api, developer, org, terms):
    response = api(developer).post(TICKETS, opening(terms, description="d" * 10_001))
    assert response.status_code == 400
    assert response.json()["fields"] == {
        "description": ["Descriptions are at most 10,000 characters (this one has 10,001)."]
    }
    assert count(Ticket, organization=org) == 0


# --- time-entry notes ------------------------------------------------------------------
def test_notes_of_5000_characters_pass_and_one_more_is_refused_with_nothing_logged(
    open_ticket, developer, org
):
    ticket = open_ticket()
    today = organization_today(org)
    with activate_organization(org):
        entry = time_entry_log(
            ticket=ticket, person=developer, work_date=today, minutes=30, notes="n" * 5000
        ).entry
        with pytest.raises(ValidationError) as refused:
            time_entry_log(
                ticket=ticket, person=developer, work_date=today, minutes=30, notes="n" * 5001
            )
    assert len(fresh(entry).notes) == 5000
    assert refused.value.message_dict == {
        "notes": ["Notes are at most 5,000 characters (this one has 5,001)."]
    }
    assert fresh(ticket).logged_minutes == 30
    assert count(TimeEntry, ticket=ticket) == 1


def test_a_20000_character_note_is_refused_through_the_api(api, developer, org, open_ticket):
    ticket = open_ticket()
    response = api(developer).post(
        ENTRIES,
        {
            "ticket": ticket.pk,
            "work_date": organization_today(org).isoformat(),
            "minutes": 30,
            "notes": "n" * 20_000,
        },
    )
    assert response.status_code == 400
    assert response.json()["fields"] == {
        "notes": ["Notes are at most 5,000 characters (this one has 20,000)."]
    }
    assert fresh(ticket).logged_minutes == 0 and count(TimeEntry, ticket=ticket) == 0


def test_a_longer_note_is_refused_on_a_correction_through_the_api(api, developer, org, open_ticket):
    ticket = open_ticket()
    with activate_organization(org):
        entry = time_entry_log(
            ticket=ticket, person=developer, work_date=organization_today(org), minutes=30
        ).entry
    response = api(developer).patch(f"{ENTRIES}{entry.pk}/", {"notes": "n" * 5001})
    assert response.status_code == 400
    assert list(response.json()["fields"]) == ["notes"]
    assert fresh(entry).notes == ""


def test_the_page_refuses_a_longer_note_beside_the_field(login, developer, org, open_ticket):
    ticket = open_ticket()
    response = login(developer).post(
        page_url("ticket_log_time", org, pk=ticket.pk),
        {"work_date": organization_today(org).isoformat(), "minutes": "30", "notes": "n" * 5001},
        headers=HTMX,
    )
    assert response.status_code == 200
    assert "Notes are at most 5,000 characters (this one has 5,001)." in response.content.decode()
    assert fresh(ticket).logged_minutes == 0 and count(TimeEntry, ticket=ticket) == 0


def test_the_log_time_form_states_the_notes_limit():
    form = LogTimeForm()
    assert "maxlength" not in str(form["notes"])
    assert 'data-max-length="5000"' in str(form["notes"])


# --- notes and reasons: 2,000 ------------------------------------------------------------
def test_a_resolution_note_of_10000_passes_and_10001_is_refused(open_ticket, developer, org):
    ticket = open_ticket()
    with activate_organization(org):
        ticket_update(ticket=ticket, actor=developer, version=1, resolution_note="r" * 10_000)
        with pytest.raises(ValidationError) as refused:
            ticket_update(ticket=ticket, actor=developer, version=2, resolution_note="r" * 10_001)
    assert refused.value.message_dict == {
        "resolution_note": ["Resolution notes are at most 10,000 characters (this one has 10,001)."]
    }
    assert len(fresh(ticket).resolution_note) == 10_000


def test_a_decision_reason_longer_than_2000_is_refused_through_the_api(
    api, developer, org, open_ticket
):
    ticket = open_ticket()
    response = api(developer).post(
        DECISIONS,
        {"ticket": ticket.pk, "classification": "unclear", "version": 1, "reason": "r" * 2001},
    )
    assert response.status_code == 400
    assert response.json()["fields"] == {
        "reason": ["Reasons are at most 2,000 characters (this one has 2,001)."]
    }
    assert count(BillingDecision, ticket=ticket) == 0


def test_the_decision_form_refuses_a_longer_reason_with_the_same_words():
    form = DecisionForm({"classification": "unclear", "reason": "r" * 2001, "version": 1})
    assert not form.is_valid()
    assert form.errors["reason"] == ["Reasons are at most 2,000 characters (this one has 2,001)."]
    assert DecisionForm(
        {"classification": "unclear", "reason": "r" * 2000, "version": 1}
    ).is_valid()


def test_a_flag_note_longer_than_2000_is_refused_through_the_api(
    api, account_manager, org, open_ticket
):
    ticket = open_ticket()
    with scopes_disabled():
        flag = ExceptionFlag.objects.create(
            organization=org,
            kind=ExceptionFlag.Kind.OVER_EXPECTED,
            subject_key=f"ticket:{ticket.pk}",
            ticket=ticket,
            detail="3:00 logged, 1:00 expected",
        )
    response = api(account_manager).post(f"/api/v1/flags/{flag.pk}/resolve/", {"note": "n" * 2001})
    assert response.status_code == 400
    assert response.json()["fields"] == {
        "note": ["Notes are at most 2,000 characters (this one has 2,001)."]
    }
    assert fresh(flag).status == "open"


def test_client_billing_notes_are_at_most_2000(org):
    with activate_organization(org):
        client_create(organization=org, name="Acme", billing_notes="b" * 2000)
        with pytest.raises(ValidationError) as refused:
            client_create(organization=org, name="Globex", billing_notes="b" * 2001)
    assert refused.value.message_dict == {
        "billing_notes": ["Billing notes are at most 2,000 characters (this one has 2,001)."]
    }


def test_contract_exclusions_are_at_most_2000(org, terms):
    with activate_organization(org), pytest.raises(ValidationError) as refused:
        contract_create(
            organization=org,
            client=terms.client,
            name="Hardware care",
            kind=Contract.Kind.TIME_AND_MATERIALS,
            starts_on=datetime.date(2026, 1, 1),
            exclusions="e" * 2001,
            terms={"hourly_rate": Decimal("100.00")},
        )
    assert refused.value.message_dict["exclusions"] == [
        "Exclusions are at most 2,000 characters (this one has 2,001)."
    ]


# --- required notes: spaces are not a note ----------------------------------------------
def test_an_unclear_decision_with_only_spaces_as_reason_is_refused(open_ticket, developer, org):
    ticket = open_ticket()
    with activate_organization(org), pytest.raises(ValidationError) as refused:
        decision_record(
            ticket=ticket, actor=developer, classification="unclear", version=1, reason="   "
        )
    assert "reason" in refused.value.message_dict
    assert count(BillingDecision, ticket=ticket) == 0


def test_going_against_the_rule_with_only_spaces_as_reason_is_refused(open_ticket, developer, org):
    ticket = open_ticket()
    with activate_organization(org), pytest.raises(ValidationError) as refused:
        decision_record(
            ticket=ticket, actor=developer, classification="billable", version=1, reason="\n\t "
        )
    assert "reason" in refused.value.message_dict


def test_a_reclassification_with_only_spaces_as_reason_is_refused(open_ticket, developer, org):
    ticket = open_ticket()
    with activate_organization(org):
        entry = time_entry_log(
            ticket=ticket, person=developer, work_date=organization_today(org), minutes=30
        ).entry
        decision_record(ticket=ticket, actor=developer, classification="included", version=1)
        ticket.refresh_from_db()
        with pytest.raises(ValidationError) as refused:
            entries_reclassify(
                ticket=ticket,
                actor=developer,
                entries=[entry],
                classification="billable",
                reason="   ",
                version=ticket.version,
            )
    assert "reason" in refused.value.message_dict
    assert count(BillingDecision, ticket=ticket) == 1


def test_declining_a_scope_check_with_only_spaces_is_refused(
    open_ticket, developer, account_manager, org
):
    ticket = open_ticket()
    with activate_organization(org):
        decision_record(
            ticket=ticket,
            actor=developer,
            classification="needs_approval",
            version=1,
            reason="A new server is a project.",
            scope_check=ScopeCheckRequest(estimate_minutes=120),
        )
        check = ScopeCheck.objects.get(ticket=ticket)
        with pytest.raises(ValidationError) as refused:
            scope_check_reject(check=check, actor=account_manager, note="  ")
    assert "note" in refused.value.message_dict
    assert fresh(check).status == ScopeCheck.Status.PENDING


def test_resolving_a_flag_with_only_spaces_is_refused(open_ticket, account_manager, org):
    ticket = open_ticket()
    with activate_organization(org):
        flag = ExceptionFlag.objects.create(
            organization=org,
            kind=ExceptionFlag.Kind.OVER_EXPECTED,
            subject_key=f"ticket:{ticket.pk}",
            ticket=ticket,
            detail="3:00 logged, 1:00 expected",
        )
        with pytest.raises(ValidationError) as refused:
            flag_resolve(flag=flag, actor=account_manager, note=" \n ")
    assert "note" in refused.value.message_dict
    assert fresh(flag).status == "open"


def test_the_api_refuses_a_required_note_of_only_spaces(api, account_manager, org, open_ticket):
    ticket = open_ticket()
    with scopes_disabled():
        flag = ExceptionFlag.objects.create(
            organization=org,
            kind=ExceptionFlag.Kind.OVER_EXPECTED,
            subject_key=f"ticket:{ticket.pk}",
            ticket=ticket,
            detail="3:00 logged, 1:00 expected",
        )
    response = api(account_manager).post(f"/api/v1/flags/{flag.pk}/resolve/", {"note": "   "})
    assert response.status_code == 400 and "note" in response.json()["fields"]
    assert fresh(flag).status == "open"


# --- contradictory terms -------------------------------------------------------------------
def test_a_retainer_turned_into_a_block_without_prepaid_time_is_refused(org, terms):
    with activate_organization(org), pytest.raises(ValidationError) as refused:
        contract_update(contract=terms.contract, data={"kind": Contract.Kind.BLOCK})
    assert refused.value.message_dict["kind"] == [
        "A block of hours starts with prepaid time, and this contract has none: add a block "
        "contract with its prepaid minutes instead."
    ]
    assert fresh(terms.contract).kind == Contract.Kind.RETAINER


def test_a_block_without_prepaid_minutes_is_refused(org, terms):
    with activate_organization(org), pytest.raises(ValidationError) as refused:
        contract_create(
            organization=org,
            client=terms.client,
            name="Ten hours",
            kind=Contract.Kind.BLOCK,
            starts_on=datetime.date(2026, 1, 1),
            terms={"included_minutes": 0, "hourly_rate": Decimal("100.00")},
        )
    assert "included_minutes" in refused.value.message_dict


def test_negative_included_time_is_refused(org, terms):
    with activate_organization(org), pytest.raises(ValidationError) as refused:
        contract_create(
            organization=org,
            client=terms.client,
            name="Retainer",
            kind=Contract.Kind.RETAINER,
            starts_on=datetime.date(2026, 1, 1),
            terms={"included_minutes": -60, "hourly_rate": Decimal("100.00")},
        )
    assert "included_minutes" in refused.value.message_dict


def test_a_contract_that_ends_before_it_starts_is_refused(org, terms):
    with activate_organization(org), pytest.raises(ValidationError) as refused:
        contract_create(
            organization=org,
            client=terms.client,
            name="Backwards",
            kind=Contract.Kind.TIME_AND_MATERIALS,
            starts_on=datetime.date(2026, 6, 1),
            ends_on=datetime.date(2026, 5, 1),
            terms={"hourly_rate": Decimal("100.00")},
        )
    assert refused.value.message_dict["ends_on"] == ["The contract must end after it starts."]


def test_included_work_asking_approval_before_its_expected_time_is_refused(org, terms):
    contract = ContractFactory(client=terms.client, starts_on=datetime.date(2025, 1, 1))
    ContractRevisionFactory(contract=contract)
    request_type = RequestTypeFactory(organization=org, name="Onboarding")
    with activate_organization(org), pytest.raises(ValidationError) as refused:
        scope_rule_create(
            organization=org,
            contract=contract,
            request_type=request_type,
            treatment="included",
            expected_minutes=120,
            approval_threshold_minutes=60,
            effective_from=datetime.date(2025, 1, 1),
        )
    assert "approval_threshold_minutes" in refused.value.message_dict
