"""Django admin for billing: every model registered with tenant scoping,
read-only (services and jobs write these rows), the staff member's own
organizations only; flags can be resolved through the service."""

import pytest
from django.apps import apps
from django.contrib import admin
from django.contrib.auth.models import Permission
from django.urls import reverse
from django_scopes import scopes_disabled

from billing.models import ExceptionFlag
from msops.tenancy.admin import TenantAdmin
from msops.tenancy.models import Role
from tests.billing.isolation import build as build_billing
from tests.billing.jobs_data import flags_with_variety
from tests.clients.isolation import build as build_clients
from tests.factories import MembershipFactory
from tests.tickets.isolation import build as build_tickets

MODELS = [
    "billingdecision",
    "scopecheck",
    "decisionlogentry",
    "exceptionflag",
    "reviewqueue",
    "reviewitem",
    "digestsent",
]


def _staff(organization, username="staffer"):
    """A staff user (not a superuser) who administers ``organization``."""
    member = MembershipFactory(organization=organization, role=Role.ADMIN, user__username=username)
    user = member.user
    user.is_staff = True
    user.save()
    user.user_permissions.set(Permission.objects.filter(content_type__app_label="billing"))
    return member


def _world(organization, tag):
    with scopes_disabled():
        world = {
            "membership": MembershipFactory(
                organization=organization, role=Role.ADMIN, user__username=f"owner-{tag}"
            )
        }
        for build in (build_clients, build_tickets, build_billing):
            world.update(build(organization, tag, world))
    return world


def test_every_billing_model_is_registered_with_tenant_scoping():
    for model in apps.get_app_config("billing").get_models():
        assert model in admin.site._registry, model
        assert isinstance(admin.site._registry[model], TenantAdmin), model


@pytest.mark.parametrize("model", MODELS)
def test_a_staff_admin_sees_only_their_organizations_rows_read_only(client, org, other_org, model):
    _world(org, "own-rows")
    _world(other_org, "FOREIGN-rows")
    client.force_login(_staff(org).user)
    page = client.get(reverse(f"admin:billing_{model}_changelist"))
    assert page.status_code == 200
    text = page.content.decode()
    assert "FOREIGN" not in text and "Stranger Practice" not in text
    assert client.get(reverse(f"admin:billing_{model}_add")).status_code == 403


@pytest.mark.parametrize("model", MODELS)
def test_a_row_opens_read_only_and_cannot_be_deleted(client, org, model):
    world = _world(org, "own")
    key = {
        "billingdecision": "decision",
        "scopecheck": "scope_check",
        "decisionlogentry": "decision_log_entry",
        "exceptionflag": "flag",
        "reviewqueue": "review_queue",
        "reviewitem": "review_item",
        "digestsent": "digest",
    }[model]
    client.force_login(_staff(org).user)
    change = reverse(f"admin:billing_{model}_change", args=[world[key].pk])
    page = client.get(change)
    assert page.status_code == 200
    assert 'name="_save"' not in page.content.decode()
    assert client.post(change, {}).status_code == 403
    delete = reverse(f"admin:billing_{model}_delete", args=[world[key].pk])
    assert client.post(delete, {"post": "yes"}).status_code == 403


def test_a_foreign_row_does_not_open(client, org, other_org):
    foreign = _world(other_org, "FOREIGN")
    client.force_login(_staff(org).user)
    response = client.get(reverse("admin:billing_exceptionflag_change", args=[foreign["flag"].pk]))
    assert response.status_code == 302
    assert "FOREIGN" not in client.get(response["Location"]).content.decode()


def test_resolving_flags_in_the_admin_goes_through_the_service(client, org):
    flags = flags_with_variety(org, 2)
    staff = _staff(org)
    client.force_login(staff.user)
    response = client.post(
        reverse("admin:billing_exceptionflag_changelist"),
        {"action": "resolve_flags", "_selected_action": [f.pk for f in flags]},
        follow=True,
    )
    assert "2 flags resolved, 0 skipped" in response.content.decode()
    with scopes_disabled():
        rows = list(ExceptionFlag.objects.filter(pk__in=[f.pk for f in flags]))
    assert all(f.status == "resolved" and f.resolved_by_id == staff.pk for f in rows)
    assert all(f.resolution_note == "Resolved in the admin." for f in rows)
