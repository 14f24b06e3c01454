"""The contract usage API: the figures of the one pricing module, per
contract. It is money (billable so far): finance and admins read every
client's contracts, account managers their own clients', developers none."""

import pytest

from billing.pricing import client_usage
from clients.models import Contract
from msops.tenancy.models import Role
from msops.tenancy.scoping import activate_organization
from msops.timezones import organization_today
from tests.billing.finance_helpers import contract_of
from tests.billing.helpers import decide, log
from tests.factories import ClientFactory, MembershipFactory

URL = "/api/v1/contract-usage/"


def test_usage_lists_each_running_contract_with_the_pricing_figures(
    api, org, developer, account_manager, terms, open_ticket
):
    with activate_organization(org):
        ticket = open_ticket()
        log(ticket, developer, 40)
        decide(ticket, developer, "included")
        log(ticket, developer, 15)  # decided forward: included too
        today = organization_today(org)
        usage = client_usage(client=terms["client"], on=today)[terms["contract"].pk]
    month = f"{today:%Y-%m}"
    response = api(account_manager).get(URL, {"month": month, "client": terms["client"].pk})
    assert response.status_code == 200
    row = {r["id"]: r for r in response.json()["results"]}[terms["contract"].pk]
    assert row["used_minutes"] == 55 == usage.used
    assert row["allowance_minutes"] == usage.allowance and usage.allowance > 0
    assert row["left_minutes"] == usage.allowance - 55
    assert row["period_start"] == f"{today:%Y-%m}-01"
    detail = api(account_manager).get(f"{URL}{terms['contract'].pk}/", {"month": month})
    assert detail.status_code == 200 and detail.json()["used_minutes"] == 55


@pytest.fixture
def someone_elses_contract(org):
    other = MembershipFactory(organization=org, role=Role.ACCOUNT_MANAGER)
    client = ClientFactory(organization=org, name="Globex", account_manager=other)
    return contract_of(org, Contract.Kind.TIME_AND_MATERIALS, client=client)


def test_a_developer_reads_no_usage_it_is_money(api, developer, terms):
    assert api(developer).get(URL).status_code == 403
    assert api(developer).get(f"{URL}{terms['contract'].pk}/").status_code == 403


def test_an_account_manager_reads_only_their_own_clients_contracts(
    api, account_manager, terms, someone_elses_contract
):
    client = api(account_manager)
    ids = {row["id"] for row in client.get(URL).json()["results"]}
    assert ids == {terms["contract"].pk}
    assert client.get(f"{URL}{someone_elses_contract.pk}/").status_code == 404


@pytest.mark.parametrize("role", [Role.FINANCE, Role.ADMIN])
def test_finance_and_admins_read_every_clients_contracts(
    api, members, role, terms, someone_elses_contract
):
    ids = {row["id"] for row in api(members[role]).get(URL).json()["results"]}
    assert ids == {terms["contract"].pk, someone_elses_contract.pk}


@pytest.mark.parametrize("month", ["November", "2026-13", "9999-12", "1899-12", "0000-01"])
def test_a_bad_month_is_a_400_with_the_field(api, finance, month):
    response = api(finance).get(URL, {"month": month})
    assert response.status_code == 400
    assert "month" in response.json()["fields"]


def test_the_last_month_a_month_may_be_in_is_priced(api, finance, terms):
    response = api(finance).get(URL, {"month": "9998-12"})
    assert response.status_code == 200
    (row,) = response.json()["results"]
    assert (row["period_start"], row["period_end"]) == ("9998-12-01", "9999-01-01")
