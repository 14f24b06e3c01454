"""On the client page a rule shows since when it is in force, its planned
revisions and its whole history; editing saves a revision from a date and
ending a rule ends it from a date."""

import datetime
from decimal import Decimal

import pytest
from django.urls import reverse
from django_scopes import scopes_disabled

from clients.models import ScopeRule, Treatment
from clients.selectors import organization_today
from msops.tenancy.models import Role
from tests.factories import ContractRevisionFactory, RequestTypeFactory, ScopeRuleFactory

HTMX = {"HX-Request": "true"}
WRITERS = {Role.DEVELOPER: False, Role.FINANCE: False, Role.ACCOUNT_MANAGER: True, Role.ADMIN: True}


def url(name, org, **kwargs):
    return reverse(f"clients:{name}", kwargs={"org": org.slug, **kwargs})


def day(org, n: int) -> datetime.date:
    return organization_today(organization=org) + datetime.timedelta(days=n)


def revisions(rule) -> list[ScopeRule]:
    with scopes_disabled():
        return list(
            ScopeRule.objects.filter(
                contract=rule.contract_id, request_type=rule.request_type_id
            ).order_by("effective_from")
        )


@pytest.fixture
def contract(org, account_manager):
    return ContractRevisionFactory(
        contract__client__organization=org,
        contract__client__account_manager=account_manager,
        hourly_rate=Decimal("120.00"),
        reask_factor=3,
    ).contract


@pytest.fixture
def rule(contract):
    return ScopeRuleFactory(
        contract=contract,
        request_type__name="Troubleshooting",
        treatment=Treatment.INCLUDED,
        expected_minutes=60,
        explanation="Covered by the retainer.",
    )


def edit(browser, org, rule, **data):
    payload = {"treatment": "included", "expected_minutes": "60", **data}
    return browser.post(url("scope_rule_edit", org, pk=rule.pk), payload, headers=HTMX)


def test_the_inline_form_offers_today_as_the_effective_date(login, account_manager, org, rule):
    body = (
        login(account_manager)
        .get(url("scope_rule_edit", org, pk=rule.pk), headers=HTMX)
        .content.decode()
    )
    assert 'type="date"' in body and f'value="{day(org, 0).isoformat()}"' in body


def test_saving_shows_the_new_revision_in_the_rows_history(login, account_manager, org, rule):
    response = edit(
        login(account_manager), org, rule, expected_minutes="90", effective_from=day(org, 0)
    )
    body = response.content.decode()
    assert "saved: revision from " + day(org, 0).isoformat() in body
    assert "about 90 min" in body and f"since {day(org, 0).isoformat()}" in body
    assert 'data-testid="rule-history"' in body and body.count('data-testid="rule-revision"') == 2
    old, new = revisions(rule)
    assert old.pk == rule.pk and old.expected_minutes == 60 and new.expected_minutes == 90


def test_a_revision_from_a_later_date_shows_as_planned(login, account_manager, org, rule):
    body = edit(
        login(account_manager), org, rule, treatment="billable", effective_from=day(org, 14)
    ).content.decode()
    assert "since 2025-01-01" in body  # still in force today
    assert f"from {day(org, 14).isoformat()}: Troubleshooting — billable" in body


def test_a_second_edit_on_the_same_day_is_a_form_error_and_saves_nothing(
    login, account_manager, org, rule
):
    browser = login(account_manager)
    edit(browser, org, rule, expected_minutes="90")
    response = edit(browser, org, rule, expected_minutes="120")
    body = response.content.decode()
    assert 'data-testid="scope-rule-form"' in body
    assert "work may already be judged by it: choose a later date" in body
    assert [r.expected_minutes for r in revisions(rule)] == [60, 90]


def test_excluded_work_without_a_rate_is_a_form_error_on_treatment(login, account_manager, org):
    unpriced = ContractRevisionFactory(
        contract__client__organization=org, hourly_rate=Decimal("0")
    ).contract
    rule = ScopeRuleFactory(contract=unpriced, treatment=Treatment.BILLABLE)
    body = edit(login(account_manager), org, rule, treatment="excluded").content.decode()
    assert 'data-testid="scope-rule-form"' in body and "falls back to billable" in body
    assert len(revisions(rule)) == 1


def test_the_full_page_shows_since_when_and_every_revision_of_a_rule(login, developer, org, rule):
    ScopeRuleFactory(
        contract=rule.contract,
        request_type=rule.request_type,
        effective_from=datetime.date(2025, 6, 1),
        treatment=Treatment.BILLABLE,
        rate_override=Decimal("99.00"),
        explanation="Billed from June.",
    )
    page = (
        login(developer).get(url("client_detail", org, pk=rule.contract.client_id)).content.decode()
    )
    assert "since 2025-06-01" in page
    assert "<summary>History (2 revisions)</summary>" in page
    for text in ("2025-01-01", "Included", "1:00", "Billable", "EUR 99.00", "Billed from June."):
        assert text in page, text
    assert "Withdraw" not in page  # a developer changes nothing


def test_the_page_shows_the_reask_factor_and_the_rate_for_work_outside_any_contract(
    login, developer, org, contract
):
    page = login(developer).get(url("client_detail", org, pk=contract.client_id)).content.decode()
    assert "the expected time, then each ×3 more" in page
    assert "Work outside any contract is billed at EUR 150.00/h." in page


# --- ending a rule --------------------------------------------------------------------------
@pytest.mark.parametrize("role,allowed", WRITERS.items())
def test_ending_a_rule_is_for_admins_and_account_managers(login, members, org, rule, role, allowed):
    response = login(members[role]).post(
        url("scope_rule_end", org, pk=rule.pk), {"effective_from": day(org, 5)}, headers=HTMX
    )
    assert response.status_code == (200 if allowed else 403)
    assert [r.removed for r in revisions(rule)] == ([False, True] if allowed else [False])


def test_ending_a_rule_gives_the_rules_section_back_with_the_end_planned(
    login, account_manager, org, rule
):
    response = login(account_manager).post(
        url("scope_rule_end", org, pk=rule.pk), {"effective_from": day(org, 5)}, headers=HTMX
    )
    body = response.content.decode()
    assert f'id="contract-{rule.contract_id}-rules"' in body and "<html" not in body
    assert f"ends {day(org, 5).isoformat()}" in body


def test_a_rule_ended_today_leaves_the_rules_and_is_listed_as_ended(
    login, account_manager, org, rule
):
    browser = login(account_manager)
    browser.post(url("scope_rule_end", org, pk=rule.pk), {}, headers=HTMX)
    page = browser.get(url("client_detail", org, pk=rule.contract.client_id)).content.decode()
    assert 'data-testid="scope-rule"' not in page
    assert f"Troubleshooting: ended {day(org, 0).isoformat()}" in page


def test_the_end_form_is_inline_for_htmx_and_a_page_without_javascript(
    login, account_manager, org, rule
):
    browser = login(account_manager)
    inline = browser.get(url("scope_rule_end", org, pk=rule.pk), headers=HTMX).content.decode()
    assert 'data-testid="scope-rule-end-form"' in inline and "<html" not in inline
    page = browser.get(url("scope_rule_end", org, pk=rule.pk)).content.decode()
    assert "<html" in page and "End the rule" in page
    response = browser.post(url("scope_rule_end", org, pk=rule.pk), {})
    assert response.status_code == 302 and f"#contract-{rule.contract_id}" in response["Location"]


def test_a_planned_revision_is_withdrawn_from_the_history(login, account_manager, org, rule):
    planned = ScopeRuleFactory(
        contract=rule.contract, request_type=rule.request_type, effective_from=day(org, 9)
    )
    browser = login(account_manager)
    page = browser.get(url("client_detail", org, pk=rule.contract.client_id)).content.decode()
    assert url("scope_rule_end", org, pk=planned.pk) in page and "Withdraw" in page
    browser.post(url("scope_rule_end", org, pk=planned.pk), {}, headers=HTMX)
    assert [r.pk for r in revisions(rule)] == [rule.pk]


def test_ending_a_rule_in_the_past_is_a_form_error(login, account_manager, org, rule):
    body = (
        login(account_manager)
        .post(
            url("scope_rule_end", org, pk=rule.pk), {"effective_from": day(org, -2)}, headers=HTMX
        )
        .content.decode()
    )
    assert 'data-testid="scope-rule-end-form"' in body and "errorlist" in body
    assert len(revisions(rule)) == 1


def test_a_rule_of_another_organization_cannot_be_ended(login, admin_member, org, other_org):
    foreign = ScopeRuleFactory(contract__client__organization=other_org)
    response = login(admin_member).post(url("scope_rule_end", org, pk=foreign.pk), {}, headers=HTMX)
    assert response.status_code == 404
    assert len(revisions(foreign)) == 1


def test_a_new_rule_can_start_from_a_chosen_date(login, account_manager, org, contract):
    reset = RequestTypeFactory(organization=org, name="Password reset")
    login(account_manager).post(
        url("scope_rule_create", org, pk=contract.pk),
        {"request_type": reset.pk, "treatment": "included", "effective_from": day(org, 3)},
        headers=HTMX,
    )
    with scopes_disabled():
        assert ScopeRule.objects.get(request_type=reset).effective_from == day(org, 3)
