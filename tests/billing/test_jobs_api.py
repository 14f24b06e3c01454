"""Jobs API: flags (every member reads; account managers, admins and finance
resolve), review queues and items (account managers, admins and finance read
and work them; admins rebuild). Filters, the role matrix, foreign ids and a
fixed number of queries per list."""

import pytest
from django.urls import reverse
from django_scopes import scopes_disabled

from billing.models import ExceptionFlag, ReviewItem, ReviewQueue
from msops.tenancy.models import Role
from tests.billing.jobs_data import (
    current_queue,
    flags_with_variety,
    items_with_variety,
    past_queue,
)
from tests.factories import ClientFactory

REVIEWERS = {Role.ACCOUNT_MANAGER, Role.ADMIN, Role.FINANCE}
ROLES = [Role.DEVELOPER, Role.ACCOUNT_MANAGER, Role.FINANCE, Role.ADMIN]
# A token lookup and its last-used stamp are 2 of every call; a list is then
# its count and its page (tests/tickets/test_query_budgets.py).
API_LIST_BUDGET = 4
SIZES = [2, 50]


def api_url(name, **kwargs):
    return reverse(f"api:{name}", kwargs=kwargs or None)


def fresh(obj):
    with scopes_disabled():
        obj.refresh_from_db()
    return obj


# --- flags ----------------------------------------------------------------------------
@pytest.mark.parametrize("role", ROLES)
def test_every_role_reads_flags(api, org, members, role, account_manager):
    flag = flags_with_variety(org, 1, owner=account_manager)[0]
    response = api(members[role]).get(api_url("flag-list"))
    assert response.status_code == 200
    (row,) = response.json()["results"]
    assert row["id"] == flag.pk and row["kind"] == "over_expected"
    assert row["kind_display"] == "Ticket over its expected time"
    assert row["subject_key"] == f"ticket:{flag.ticket_id}" and row["period_key"] == "-"
    assert row["ticket"] == flag.ticket_id and row["ticket_number"] == flag.ticket.number
    assert row["client"] == flag.client_id and row["client_name"] == flag.client.name
    assert row["owner"] == account_manager.pk and row["status"] == "open"
    assert row["owner_name"] == account_manager.user.username
    assert row["resolved_at"] is None and row["resolved_by"] is None
    detail = api(members[role]).get(api_url("flag-detail", pk=flag.pk))
    assert detail.status_code == 200 and detail.json() == row


def test_flags_filter_by_kind_status_client_owner_and_ticket(api, org, account_manager):
    mine = flags_with_variety(org, 2, owner=account_manager)
    sla = flags_with_variety(org, 1, kind=ExceptionFlag.Kind.SLA_RESOLUTION_AT_RISK)[0]
    with scopes_disabled():
        ExceptionFlag.objects.filter(pk=mine[1].pk).update(status="resolved")
    client = api(account_manager)

    def ids(**params):
        return {row["id"] for row in client.get(api_url("flag-list"), params).json()["results"]}

    assert ids() == {mine[0].pk, mine[1].pk, sla.pk}
    assert ids(kind="sla_resolution_risk") == {sla.pk}
    assert ids(kind=["sla_resolution_risk", "over_expected"]) == {mine[0].pk, mine[1].pk, sla.pk}
    assert ids(status="open") == {mine[0].pk, sla.pk}
    assert ids(status="resolved") == {mine[1].pk}
    assert ids(owner=account_manager.pk) == {mine[0].pk, mine[1].pk}
    assert ids(client=sla.client_id) == {sla.pk}
    assert ids(ticket=mine[0].ticket_id) == {mine[0].pk}
    assert client.get(api_url("flag-list"), {"kind": "nonsense"}).status_code == 400


def test_a_foreign_id_in_a_flag_filter_is_a_400_on_the_filter(api, org, other_org, account_manager):
    flags_with_variety(org, 2)
    with scopes_disabled():
        foreign = ClientFactory(organization=other_org)
    response = api(account_manager).get(api_url("flag-list"), {"client": foreign.pk})
    assert response.status_code == 400 and "client" in str(response.json())
    assert str(foreign.pk) not in str(response.json())


def test_resolving_a_flag_without_a_note_is_a_400_on_the_note(api, org, account_manager):
    flag = flags_with_variety(org, 1)[0]
    response = api(account_manager).post(api_url("flag-resolve", pk=flag.pk), {"note": ""})
    assert response.status_code == 400 and "note" in response.json()["fields"]
    assert fresh(flag).status == "open"


@pytest.mark.parametrize("role", ROLES)
def test_who_may_resolve_a_flag(api, org, members, role):
    flag = flags_with_variety(org, 1)[0]
    response = api(members[role]).post(
        api_url("flag-resolve", pk=flag.pk), {"note": "Billed as agreed"}
    )
    if role in REVIEWERS:
        assert response.status_code == 200
        body = response.json()
        assert body["status"] == "resolved" and body["resolution_note"] == "Billed as agreed"
        assert body["resolved_by"] == members[role].pk and body["resolved_at"]
        assert fresh(flag).status == "resolved"
    else:
        assert response.status_code == 403
        assert fresh(flag).status == "open"


def test_resolving_twice_or_with_a_too_long_note_is_a_400(api, org, finance):
    flag = flags_with_variety(org, 1)[0]
    client = api(finance)
    too_long = client.post(api_url("flag-resolve", pk=flag.pk), {"note": "x" * 2001})
    assert too_long.status_code == 400 and "note" in too_long.json()["fields"]
    assert fresh(flag).status == "open"
    assert client.post(api_url("flag-resolve", pk=flag.pk), {}).status_code == 400  # no note
    assert client.post(api_url("flag-resolve", pk=flag.pk), {"note": "ok"}).status_code == 200
    again = client.post(api_url("flag-resolve", pk=flag.pk), {"note": "again"})
    assert again.status_code == 400
    assert "already resolved" in str(again.json())


def test_flags_are_read_only(api, org, admin_member):
    flag = flags_with_variety(org, 1)[0]
    client = api(admin_member)
    assert client.post(api_url("flag-list"), {}).status_code == 405
    assert (
        client.patch(api_url("flag-detail", pk=flag.pk), {"status": "resolved"}).status_code == 405
    )
    assert client.delete(api_url("flag-detail", pk=flag.pk)).status_code == 405
    assert fresh(flag).status == "open"


# --- review queues ----------------------------------------------------------------------
@pytest.mark.parametrize("role", ROLES)
def test_reviewers_read_queues_with_what_is_left(api, org, members, role):
    queue = current_queue(org)
    items = items_with_variety(org, queue, 3)
    with scopes_disabled():
        ReviewItem.objects.filter(pk=items[0].pk).update(status="resolved")
    old = past_queue(org)
    response = api(members[role]).get(api_url("review-queue-list"))
    if role not in REVIEWERS:
        assert response.status_code == 403
        return
    assert response.status_code == 200
    rows = response.json()["results"]
    assert [r["id"] for r in rows] == [queue.pk, old.pk]  # newest week first
    assert rows[0]["week_start"] == f"{queue.week_start:%Y-%m-%d}"
    assert (rows[0]["total_items"], rows[0]["open_items"]) == (3, 2)
    assert (rows[1]["total_items"], rows[1]["open_items"]) == (0, 0)
    detail = api(members[role]).get(api_url("review-queue-detail", pk=queue.pk)).json()
    assert detail == rows[0]
    by_week = api(members[role]).get(
        api_url("review-queue-list"), {"week_start": f"{old.week_start:%Y-%m-%d}"}
    )
    assert [r["id"] for r in by_week.json()["results"]] == [old.pk]


@pytest.mark.parametrize("role", ROLES)
def test_only_admins_rebuild_the_current_week(api, org, members, role):
    with scopes_disabled():
        ClientFactory(organization=org, billing_notes="")
    response = api(members[role]).post(api_url("review-queue-rebuild"))
    with scopes_disabled():
        queues = list(ReviewQueue.objects.filter(organization=org))
    if role != Role.ADMIN:
        assert response.status_code == 403 and queues == []
        return
    assert response.status_code == 200
    body = response.json()
    assert body["created"] == 1
    assert body["queue"]["id"] == queues[0].pk and body["queue"]["open_items"] == 1
    again = api(members[role]).post(api_url("review-queue-rebuild")).json()
    assert again["created"] == 0 and again["queue"]["id"] == queues[0].pk


def test_rebuild_is_post_only(api, admin_member):
    assert api(admin_member).get(api_url("review-queue-rebuild")).status_code == 405


# --- review items -----------------------------------------------------------------------
@pytest.mark.parametrize("role", ROLES)
def test_reviewers_read_items(api, org, members, role, account_manager):
    queue = current_queue(org)
    item = items_with_variety(org, queue, 1, owner=account_manager)[0]
    response = api(members[role]).get(api_url("review-item-list"))
    if role not in REVIEWERS:
        assert response.status_code == 403
        assert api(members[role]).get(api_url("review-item-detail", pk=item.pk)).status_code == 403
        return
    (row,) = response.json()["results"]
    assert row["id"] == item.pk and row["queue"] == queue.pk
    assert row["week_start"] == f"{queue.week_start:%Y-%m-%d}"
    assert row["kind"] == item.kind and row["reason"] == item.reason
    assert row["ticket"] == item.ticket_id and row["ticket_number"] == item.ticket.number
    assert row["owner"] == account_manager.pk and row["status"] == "open"


def test_items_filter_by_queue_kind_status_and_owner(api, org, account_manager):
    queue, old = current_queue(org), past_queue(org)
    mine = items_with_variety(org, queue, 2, owner=account_manager)
    others = items_with_variety(org, queue, 2)
    past = items_with_variety(org, old, 1)
    with scopes_disabled():
        ReviewItem.objects.filter(pk=others[1].pk).update(status="resolved")
    client = api(account_manager)

    def ids(**params):
        answer = client.get(api_url("review-item-list"), params).json()["results"]
        return {row["id"] for row in answer}

    assert ids(queue=queue.pk) == {i.pk for i in mine + others}
    assert ids(queue=old.pk) == {past[0].pk}
    assert ids(owner=account_manager.pk) == {i.pk for i in mine}
    assert ids(status="resolved") == {others[1].pk}
    assert ids(queue=queue.pk, kind=mine[0].kind) == {mine[0].pk, others[0].pk}


def test_an_item_about_flags_says_which_and_how_many_are_left(api, org, finance):
    queue = current_queue(org)
    item = items_with_variety(org, queue, 1, kinds=[ReviewItem.Kind.OPEN_FLAG])[0]
    client = api(finance)
    row = client.get(api_url("review-item-detail", pk=item.pk)).json()
    assert row["flag"] == item.flag_id and row["flag_kind"] == "over_expected"
    assert row["flags_left"] == 2
    answer = client.post(api_url("review-item-resolve", pk=item.pk), {"note": "Billed"})
    assert answer.status_code == 200
    assert answer.json()["status"] == "resolved" and answer.json()["flags_left"] == 0


@pytest.mark.parametrize("role", ROLES)
def test_who_may_resolve_and_reassign_items(api, org, members, role):
    queue = current_queue(org)
    first, second = items_with_variety(org, queue, 2)
    client = api(members[role])
    resolved = client.post(api_url("review-item-resolve", pk=first.pk), {"note": "Settled"})
    reassigned = client.post(
        api_url("review-item-reassign", pk=second.pk), {"owner": members[Role.FINANCE].pk}
    )
    if role in REVIEWERS:
        assert resolved.status_code == 200 and reassigned.status_code == 200
        assert resolved.json()["status"] == "resolved" and resolved.json()["note"] == "Settled"
        assert resolved.json()["resolved_by"] == members[role].pk
        assert reassigned.json()["owner"] == members[Role.FINANCE].pk
        assert fresh(second).owner == members[Role.FINANCE]
    else:
        assert resolved.status_code == 403 and reassigned.status_code == 403
        assert fresh(first).status == "open"
        assert fresh(second).owner != members[Role.FINANCE]


def test_reassigning_to_a_foreign_member_is_a_400_not_a_link(api, org, account_manager, stranger):
    item = items_with_variety(org, current_queue(org), 1)[0]
    before = item.owner_id
    response = api(account_manager).post(
        api_url("review-item-reassign", pk=item.pk), {"owner": stranger.pk}
    )
    assert response.status_code == 400 and "owner" in response.json()["fields"]
    assert fresh(item).owner_id == before


@pytest.mark.parametrize("owner", ["developer", "missing", "nonsense"])
def test_reassigning_needs_a_member_who_works_the_review(
    api, org, account_manager, developer, owner
):
    item = items_with_variety(org, current_queue(org), 1)[0]
    data = {"developer": {"owner": developer.pk}, "missing": {}, "nonsense": {"owner": "x"}}[owner]
    response = api(account_manager).post(api_url("review-item-reassign", pk=item.pk), data)
    assert response.status_code == 400 and "owner" in response.json()["fields"]


def test_resolving_an_item_twice_is_a_400(api, org, finance):
    item = items_with_variety(org, current_queue(org), 1)[0]
    client = api(finance)
    assert client.post(api_url("review-item-resolve", pk=item.pk)).status_code == 200
    assert client.post(api_url("review-item-resolve", pk=item.pk)).status_code == 400


# --- query budgets ------------------------------------------------------------------------
@pytest.mark.parametrize("size", SIZES)
def test_list_endpoints_have_a_fixed_query_budget(
    api, org, admin_member, size, django_assert_max_num_queries
):
    flags_with_variety(org, size)
    queue = current_queue(org)
    items_with_variety(org, queue, size)
    for weeks in range(1, size + 1):
        items_with_variety(org, past_queue(org, weeks), 1)
    client = api(admin_member)
    for name in ("flag-list", "review-queue-list", "review-item-list"):
        with django_assert_max_num_queries(API_LIST_BUDGET):
            response = client.get(api_url(name), {"page_size": 100})
        assert response.status_code == 200
        assert len(response.json()["results"]) >= size
