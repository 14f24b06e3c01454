"""The contract usage API: the figures of the one pricing module, per contract."""

from billing.pricing import client_usage
from msops.tenancy.scoping import activate_organization
from msops.timezones import organization_today
from tests.billing.helpers import decide, log

URL = "/api/v1/contract-usage/"


def test_usage_lists_each_running_contract_with_the_pricing_figures(
    api, org, developer, terms, open_ticket
):
    with activate_organization(org):
        ticket = open_ticket()
        log(ticket, developer, 40)
        decide(ticket, developer, "included")
        log(ticket, developer, 15)  # decided forward: included too
        today = organization_today(org)
        usage = client_usage(client=terms["client"], on=today)[terms["contract"].pk]
    month = f"{today:%Y-%m}"
    response = api(developer).get(URL, {"month": month, "client": terms["client"].pk})
    assert response.status_code == 200
    row = {r["id"]: r for r in response.json()["results"]}[terms["contract"].pk]
    assert row["used_minutes"] == 55 == usage.used
    assert row["allowance_minutes"] == usage.allowance and usage.allowance > 0
    assert row["left_minutes"] == usage.allowance - 55
    assert row["period_start"] == f"{today:%Y-%m}-01"
    detail = api(developer).get(f"{URL}{terms['contract'].pk}/", {"month": month})
    assert detail.status_code == 200 and detail.json()["used_minutes"] == 55


def test_a_bad_month_is_a_400_with_the_field(api, developer):
    response = api(developer).get(URL, {"month": "November"})
    assert response.status_code == 400
    assert "month" in response.json()
