"""Django admin for finance: periods, events, drafts, lines, adjustments and
draft runs are read-only and limited to the staff member's organizations;
starting a review and locking go through the services."""

import pytest
from django.urls import reverse
from django_scopes import scopes_disabled

from billing.models import BillingPeriod, PeriodEvent
from tests.billing.exports_data import month_of_work, undecided_work
from tests.billing.test_jobs_admin import _staff, _world

MODELS = {
    "billingperiod": "billing_period",
    "periodevent": "period_event",
    "invoicedraft": "invoice_draft",
    "invoiceline": "invoice_line",
    "adjustment": "adjustment",
    "draftrun": "draft_run",
}


@pytest.mark.parametrize("model", MODELS)
def test_a_staff_admin_sees_only_their_organizations_finance_rows(client, org, other_org, model):
    _world(org, "own-rows")
    _world(other_org, "FOREIGN-rows")
    client.force_login(_staff(org).user)
    page = client.get(reverse(f"admin:billing_{model}_changelist"))
    assert page.status_code == 200
    text = page.content.decode()
    assert "FOREIGN" not in text and "Stranger Practice" not in text
    assert client.get(reverse(f"admin:billing_{model}_add")).status_code == 403


@pytest.mark.parametrize("model,key", MODELS.items())
def test_a_finance_row_opens_read_only_and_cannot_be_deleted(client, org, model, key):
    world = _world(org, "own")
    client.force_login(_staff(org).user)
    change = reverse(f"admin:billing_{model}_change", args=[world[key].pk])
    page = client.get(change)
    assert page.status_code == 200
    assert 'name="_save"' not in page.content.decode()
    assert client.post(change, {}).status_code == 403
    delete = reverse(f"admin:billing_{model}_delete", args=[world[key].pk])
    assert client.post(delete, {"post": "yes"}).status_code == 403


def test_locking_in_the_admin_goes_through_the_service(client, org, developer):
    ready = month_of_work(org, developer, name="Ready")
    blocked = month_of_work(org, developer, name="Blocked")
    undecided_work(org, blocked.client, blocked.contract, developer)
    staff = _staff(org)
    client.force_login(staff.user)
    response = client.post(
        reverse("admin:billing_billingperiod_changelist"),
        {"action": "lock", "_selected_action": [ready.period.pk, blocked.period.pk]},
        follow=True,
    )
    text = response.content.decode()
    assert "1 period locked." in text and "1 exception still blocks this month" in text
    with scopes_disabled():
        assert BillingPeriod.objects.get(pk=ready.period.pk).status == "locked"
        assert BillingPeriod.objects.get(pk=blocked.period.pk).status == "open"
        event = PeriodEvent.objects.get(period=ready.period, action="locked")
    assert event.actor == staff
