from datetime import timedelta

import pytest
from django.utils import timezone
from django_scopes import ScopeError, get_scope, scopes_disabled

from msops.celery import app
from msops.tenancy.models import ApiToken, Membership
from msops.tenancy.scoping import activate_organization
from msops.tenancy.services import api_token_create
from msops.tenancy.tasks import TenantTask, api_tokens_expire_all, enqueue_for


@app.task(base=TenantTask)
def _who_am_i(organization):
    return {
        "organization": organization.pk,
        "scope": get_scope()["organization"].pk,
        "members": Membership.objects.count(),
    }


def test_a_tenant_task_runs_inside_its_organizations_scope(developer, org, stranger):
    result = _who_am_i.apply(kwargs={"organization_id": org.pk}).get()
    assert result == {"organization": org.pk, "scope": org.pk, "members": 1}


def test_outside_a_task_tenant_queries_raise(db):
    with pytest.raises(ScopeError):
        Membership.objects.count()


def test_activate_organization_refuses_an_unsaved_or_missing_organization():
    with pytest.raises(ValueError), activate_organization(None):
        pass


def test_tasks_are_sent_only_when_the_transaction_commits(
    developer, org, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        enqueue_for(_who_am_i, org)
    assert len(callbacks) == 1


def test_expiry_sweep_revokes_expired_tokens_in_every_organization(developer, stranger):
    with scopes_disabled():
        mine = api_token_create(membership=developer, name="mine").token
        theirs = api_token_create(membership=stranger, name="theirs").token
        live = api_token_create(membership=developer, name="live").token
        ApiToken.objects.filter(pk__in=[mine.pk, theirs.pk]).update(
            expires_at=timezone.now() - timedelta(seconds=1)
        )
    api_tokens_expire_all.apply()
    with scopes_disabled():
        revoked = set(
            ApiToken.objects.filter(revoked_at__isnull=False).values_list("name", flat=True)
        )
        assert ApiToken.objects.get(pk=live.pk).revoked_at is None
    assert revoked == {"mine", "theirs"}
