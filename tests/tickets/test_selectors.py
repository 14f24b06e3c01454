import datetime

from django.utils import timezone

from clients.models import Treatment
from msops.tenancy.models import Role
from msops.tenancy.scoping import activate_organization
from tests.factories import (
    BillingMomentFactory,
    ClientFactory,
    ContractFactory,
    MembershipFactory,
    RequestTypeFactory,
    ScopeRuleFactory,
    TicketFactory,
    TimeEntryFactory,
)
from tickets.selectors import home_counts, ticket_detail, ticket_list, ticket_rule


def test_the_rule_of_a_ticket_is_its_contracts_rule_on_the_date(org, open_ticket, terms):
    ticket = open_ticket()
    with activate_organization(org):
        rule = ticket_rule(ticket=ticket, on=datetime.date(2025, 3, 3))
    assert rule.rule == terms.rule and rule.treatment == Treatment.INCLUDED
    assert rule.in_plain_words == "Troubleshooting — included, about 60 min"


def test_after_the_contract_ends_the_rule_comes_from_the_renewal(org, open_ticket, terms):
    ticket = open_ticket(opened_at=datetime.datetime(2025, 3, 3, 9, tzinfo=datetime.UTC))
    terms.contract.ends_on = datetime.date(2025, 5, 31)
    terms.contract.save()
    renewal = ContractFactory(client=terms.client, starts_on=datetime.date(2025, 6, 1))
    ScopeRuleFactory(
        contract=renewal, request_type=terms.request_type, treatment=Treatment.BILLABLE
    )
    with activate_organization(org):
        ticket = ticket_detail(organization=org, pk=ticket.pk)  # as every page reads it
        before = ticket_rule(ticket=ticket, on=datetime.date(2025, 5, 31))
        after = ticket_rule(ticket=ticket, on=datetime.date(2025, 6, 1))
    assert (before.contract, before.treatment) == (terms.contract, Treatment.INCLUDED)
    assert (after.contract, after.treatment) == (renewal, Treatment.BILLABLE)


def test_without_a_scope_rule_the_request_types_default_applies(org, open_ticket):
    ticket = open_ticket(
        request_type=RequestTypeFactory(
            organization=org, name="New feature", default_treatment=Treatment.NEEDS_APPROVAL
        )
    )
    with activate_organization(org):
        rule = ticket_rule(ticket=ticket)
    assert rule.rule is None and rule.treatment == Treatment.NEEDS_APPROVAL
    assert "no rule in the contract" in rule.in_plain_words


def test_the_list_can_keep_the_tickets_of_an_account_managers_clients(org, account_manager):
    mine = ClientFactory(organization=org, account_manager=account_manager)
    TicketFactory(organization=org, client=mine, number=1, title="Managed")
    TicketFactory(organization=org, number=2, title="Someone else's")
    with activate_organization(org):
        titles = [t.title for t in ticket_list(organization=org, account_manager=account_manager)]
    assert titles == ["Managed"]


def test_home_counts_for_an_account_manager_cover_their_clients(
    org, account_manager, django_assert_max_num_queries
):
    mine = ClientFactory(organization=org, account_manager=account_manager)
    managed = TicketFactory(organization=org, client=mine, number=1)
    TicketFactory(organization=org, client=mine, number=2, status="closed")
    other = TicketFactory(organization=org, number=3, assignee=MembershipFactory(organization=org))
    BillingMomentFactory(ticket=managed)
    BillingMomentFactory(ticket=other)
    with activate_organization(org), django_assert_max_num_queries(2):
        counts = home_counts(membership=account_manager)
    assert counts == {
        "open_tickets": 2,
        "unassigned_tickets": 1,
        "my_clients_open_tickets": 1,
        "open_moments_my_clients": 1,
    }


def test_home_counts_for_finance_are_this_months_undecided_and_unclear_time(
    org, finance, django_assert_max_num_queries
):
    ticket = TicketFactory(organization=org)
    today = timezone.localdate(timezone=org.tzinfo)
    for status in ("undecided", "unclear", "billable"):
        TimeEntryFactory(ticket=ticket, work_date=today.replace(day=1), billing_status=status)
    TimeEntryFactory(
        ticket=ticket,
        work_date=today.replace(day=1) - datetime.timedelta(days=1),
        billing_status="undecided",
    )
    with activate_organization(org), django_assert_max_num_queries(2):
        counts = home_counts(membership=finance)
    assert counts == {"open_moments": 0, "unsettled_entries_this_month": 2}


def test_home_counts_never_count_another_organizations_rows(org, other_org, developer):
    stranger_ticket = TicketFactory(
        organization=other_org,
        assignee=MembershipFactory(organization=other_org, role=Role.DEVELOPER),
    )
    BillingMomentFactory(ticket=stranger_ticket)
    with activate_organization(org):
        counts = home_counts(membership=developer)
    assert set(counts.values()) == {0}
