from django.urls import reverse

from msops.tenancy.models import Role
from tests.factories import MembershipFactory


def _staff_admin(org):
    membership = MembershipFactory(organization=org, role=Role.ADMIN, user__username="staffer")
    user = membership.user
    user.is_staff = True
    user.save()
    from django.contrib.auth.models import Permission

    user.user_permissions.set(Permission.objects.filter(content_type__app_label="tenancy"))
    return membership


def test_a_staff_admin_sees_only_their_organizations_rows(client, org, other_org, stranger):
    admin = _staff_admin(org)
    client.force_login(admin.user)
    page = client.get(reverse("admin:tenancy_membership_changelist")).content.decode()
    assert admin.user.username in page
    assert stranger.user.username not in page
    orgs = client.get(reverse("admin:tenancy_organization_changelist")).content.decode()
    assert org.name in orgs and other_org.name not in orgs


def test_a_staff_admin_cannot_open_a_foreign_row(client, org, stranger):
    admin = _staff_admin(org)
    client.force_login(admin.user)
    url = reverse("admin:tenancy_membership_change", args=[stranger.pk])
    response = client.get(url)
    assert response.status_code == 302  # Django admin: missing object → redirect with a message
    assert stranger.user.username not in client.get(response["Location"]).content.decode()


def test_a_superuser_sees_every_organization(admin_client, org, other_org, stranger, developer):
    page = admin_client.get(reverse("admin:tenancy_membership_changelist")).content.decode()
    assert stranger.user.username in page and developer.user.username in page


def test_a_staff_admin_sets_the_default_hourly_rate_of_their_organization(client, org):
    admin = _staff_admin(org)
    client.force_login(admin.user)
    url = reverse("admin:tenancy_organization_change", args=[org.pk])
    assert 'name="default_hourly_rate"' in client.get(url).content.decode()
    response = client.post(
        url,
        {
            "name": org.name,
            "slug": org.slug,
            "timezone": org.timezone,
            "currency": org.currency,
            "week_start": org.week_start,
            "contract_warning_percent": org.contract_warning_percent,
            "late_entry_days": org.late_entry_days,
            "recurring_ticket_count": org.recurring_ticket_count,
            "scope_check_stale_hours": org.scope_check_stale_hours,
            "default_hourly_rate": "175.50",
            "finance_digest_days": 5,
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    org.refresh_from_db()
    assert str(org.default_hourly_rate) == "175.50" and org.finance_digest_days == 5
