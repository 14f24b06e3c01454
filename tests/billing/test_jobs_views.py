"""The flags page and the weekly review pages: filters, htmx partials,
resolve and reassign in place, rebuild by admins, who may do what, the
navigation counts, and a fixed number of queries whatever the rows."""

import pytest
from django.test import RequestFactory
from django.urls import reverse
from django_scopes import scopes_disabled

from billing.context_processors import nav_counts
from billing.models import ExceptionFlag, ReviewItem, ReviewQueue, ScopeCheck
from msops.tenancy.models import Role
from msops.tenancy.scoping import activate_organization
from tests.billing.jobs_data import (
    current_queue,
    flags_with_variety,
    items_with_variety,
    past_queue,
)
from tests.factories import ClientFactory, MembershipFactory, TicketFactory

HTMX = {"HX-Request": "true"}
# Session, user, membership and the organization switcher are 4 of every page
# (tests/tickets/test_query_budgets.py). Measured: the flags page 9, the
# review page 11; the budget leaves room for the 3 navigation counts
# (billing.context_processors.nav_counts) once the navigation shows them.
FLAG_PAGE_BUDGET = 12
REVIEW_PAGE_BUDGET = 14
SIZES = [2, 50]


def url(name, org, **kwargs):
    return reverse(f"billing:{name}", kwargs={"org": org.slug, **kwargs})


def rows(response, testid="flag-row") -> int:
    return response.content.decode().count(f'data-testid="{testid}"')


def fresh(obj):
    with scopes_disabled():
        obj.refresh_from_db()
    return obj


# --- flags page -----------------------------------------------------------------------------
def test_the_flags_page_lists_open_flags_with_what_they_are_about(
    login, org, developer, account_manager
):
    flag = flags_with_variety(org, 1, owner=account_manager)[0]
    with scopes_disabled():
        resolved = flags_with_variety(org, 1)[0]
        ExceptionFlag.objects.filter(pk=resolved.pk).update(status="resolved")
    response = login(developer).get(url("flag_list", org))
    assert response.status_code == 200
    body = response.content.decode()
    assert rows(response) == 1
    assert "Ticket over its expected time" in body and flag.detail in body
    assert f"#{flag.ticket.number}" in body and flag.client.name in body
    assert account_manager.user.username in body
    assert 'name="note"' not in body  # developers read, they don't resolve


@pytest.mark.parametrize(
    "params,expected",
    [
        ({}, {"mine-1", "mine-2", "other"}),
        ({"status": "resolved"}, {"resolved"}),
        ({"status": "all"}, {"mine-1", "mine-2", "other", "resolved"}),
        ({"kind": "sla_response_breach"}, {"other"}),
        ({"owner": "me"}, {"mine-1", "mine-2"}),
    ],
)
def test_the_flags_page_filters(login, org, account_manager, params, expected):
    mine = flags_with_variety(org, 2, owner=account_manager)
    other = flags_with_variety(org, 1, kind=ExceptionFlag.Kind.SLA_RESPONSE_BREACHED)[0]
    resolved = flags_with_variety(org, 1)[0]
    with scopes_disabled():
        ExceptionFlag.objects.filter(pk=resolved.pk).update(status="resolved")
    names = {mine[0].pk: "mine-1", mine[1].pk: "mine-2", other.pk: "other", resolved.pk: "resolved"}
    response = login(account_manager).get(url("flag_list", org), params)
    body = response.content.decode()
    shown = {name for pk, name in names.items() if f'id="flag-{pk}"' in body}
    assert shown == expected


def test_the_flags_page_filters_by_client_and_owner(login, org, account_manager):
    flags = flags_with_variety(org, 3)
    response = login(account_manager).get(url("flag_list", org), {"client": flags[1].client_id})
    body = response.content.decode()
    assert f'id="flag-{flags[1].pk}"' in body
    assert f'id="flag-{flags[0].pk}"' not in body and f'id="flag-{flags[2].pk}"' not in body
    response = login(account_manager).get(url("flag_list", org), {"owner": flags[2].owner_id})
    assert rows(response) == 1 and f'id="flag-{flags[2].pk}"' in response.content.decode()


def test_foreign_or_bad_filter_values_are_ignored(login, org, other_org, account_manager):
    flags_with_variety(org, 2)
    with scopes_disabled():
        foreign_client = ClientFactory(organization=other_org)
    response = login(account_manager).get(
        url("flag_list", org),
        {"client": foreign_client.pk, "kind": "nonsense", "status": "x", "owner": "abc"},
    )
    assert response.status_code == 200 and rows(response) == 2


def test_the_flags_page_paginates_and_keeps_its_filters(login, org, account_manager):
    flags_with_variety(org, 51, owner=account_manager)
    client = login(account_manager)
    first = client.get(url("flag_list", org), {"owner": account_manager.pk})
    assert rows(first) == 50
    body = first.content.decode()
    assert "Page 1 of 2" in body and f"owner={account_manager.pk}" in body
    second = client.get(url("flag_list", org), {"owner": account_manager.pk, "page": 2})
    assert rows(second) == 1


def test_htmx_filtering_gets_only_the_table(login, org, account_manager):
    flags_with_variety(org, 2)
    response = login(account_manager).get(url("flag_list", org), {"status": "open"}, headers=HTMX)
    body = response.content.decode()
    assert body.lstrip().startswith('<section id="flag-table"')
    assert "<html" not in body and rows(response) == 2


def test_resolving_inline_returns_the_resolved_row(login, org, account_manager):
    flag = flags_with_variety(org, 1)[0]
    response = login(account_manager).post(
        url("flag_resolve", org, pk=flag.pk), {"note": "Client agreed to pay"}, headers=HTMX
    )
    assert response.status_code == 200
    body = response.content.decode()
    assert body.lstrip().startswith(f'<tr id="flag-{flag.pk}"')
    assert 'data-testid="flag-resolved"' in body and "Client agreed to pay" in body
    flag = fresh(flag)
    assert flag.status == "resolved" and flag.resolved_by == account_manager
    assert flag.resolution_note == "Client agreed to pay"


def test_resolving_without_htmx_goes_back_to_the_page(login, org, finance):
    flag = flags_with_variety(org, 1)[0]
    client = login(finance)
    response = client.post(url("flag_resolve", org, pk=flag.pk), {"note": "ok"})
    assert response.status_code == 302 and response.url == url("flag_list", org)
    assert fresh(flag).status == "resolved"
    page = client.get(response.url)
    assert "Flag resolved" in page.content.decode()


def test_resolving_twice_shows_why_in_the_row(login, org, account_manager):
    flag = flags_with_variety(org, 1)[0]
    client = login(account_manager)
    client.post(url("flag_resolve", org, pk=flag.pk), {"note": "first"}, headers=HTMX)
    response = client.post(url("flag_resolve", org, pk=flag.pk), {"note": "again"}, headers=HTMX)
    assert response.status_code == 200 and "already resolved" in response.content.decode()
    assert fresh(flag).resolution_note == "first"


def test_resolving_without_a_note_is_refused_in_the_row(login, org, account_manager):
    flag = flags_with_variety(org, 1)[0]
    response = login(account_manager).post(
        url("flag_resolve", org, pk=flag.pk), {"note": "  "}, headers=HTMX
    )
    assert response.status_code == 200
    assert "Say what was done about it" in response.content.decode()
    assert fresh(flag).status == "open"


def test_developers_cannot_resolve_flags(login, org, developer):
    flag = flags_with_variety(org, 1)[0]
    response = login(developer).post(url("flag_resolve", org, pk=flag.pk), {"note": "x"})
    assert response.status_code == 403
    assert fresh(flag).status == "open"


def test_resolve_is_post_only(login, org, account_manager):
    flag = flags_with_variety(org, 1)[0]
    assert login(account_manager).get(url("flag_resolve", org, pk=flag.pk)).status_code == 405


# --- review page ---------------------------------------------------------------------------
@pytest.mark.parametrize(
    "role,status",
    [(Role.DEVELOPER, 403), (Role.ACCOUNT_MANAGER, 200), (Role.FINANCE, 200), (Role.ADMIN, 200)],
)
def test_the_review_is_for_account_managers_admins_and_finance(login, org, members, role, status):
    queue = current_queue(org)
    assert login(members[role]).get(url("review_current", org)).status_code == status
    assert login(members[role]).get(url("review_detail", org, pk=queue.pk)).status_code == status


def test_before_the_week_is_built_the_page_says_so(login, org, account_manager, admin_member):
    response = login(account_manager).get(url("review_current", org))
    body = response.content.decode()
    assert 'data-testid="review-not-built"' in body
    assert 'data-testid="review-rebuild"' not in body
    admin_body = login(admin_member).get(url("review_current", org)).content.decode()
    assert "Build this week's review now" in admin_body


def test_the_review_groups_items_by_kind_with_reason_owner_and_links(
    login, org, account_manager, finance
):
    queue = current_queue(org)
    mine = items_with_variety(org, queue, 2, owner=account_manager)
    others = items_with_variety(org, queue, 1, kinds=[ReviewItem.Kind.MISSING_BILLING_NOTES])
    with scopes_disabled():
        done = items_with_variety(org, queue, 1)[0]
        ReviewItem.objects.filter(pk=done.pk).update(status="resolved")
    response = login(finance).get(url("review_current", org))
    body = response.content.decode()
    assert rows(response, "review-item") == 3
    for heading in ("Unclear decision", "Time without a decision", "Client without billing notes"):
        assert f"<h2>{heading}</h2>" in body
    assert mine[0].reason in body and others[0].reason in body and done.reason not in body
    ticket_url = reverse(
        "tickets:ticket_detail", kwargs={"org": org.slug, "number": mine[0].ticket.number}
    )
    client_url = reverse("clients:client_detail", kwargs={"org": org.slug, "pk": mine[0].client_id})
    assert ticket_url in body and client_url in body
    assert account_manager.user.username in body
    # What is left: 3 of 4, none of them finance's own.
    assert 'data-testid="review-left">3<' in body and 'data-testid="review-mine">0<' in body


def test_the_review_filters_by_owner_kind_and_status(login, org, account_manager):
    queue = current_queue(org)
    mine = items_with_variety(org, queue, 2, owner=account_manager)
    items_with_variety(org, queue, 3)
    client = login(account_manager)
    only_mine = client.get(url("review_current", org), {"owner": "me"})
    assert rows(only_mine, "review-item") == 2
    assert 'data-testid="review-mine">2<' in only_mine.content.decode()
    kind = client.get(url("review_current", org), {"kind": mine[1].kind})
    assert rows(kind, "review-item") == 2  # mine[1] and one of the three others
    assert all(
        f'data-kind="{mine[1].kind}"' in line
        for line in kind.content.decode().splitlines()
        if 'data-testid="review-item"' in line
    )
    resolved = client.get(url("review_current", org), {"status": "resolved"})
    assert rows(resolved, "review-item") == 0
    assert 'data-testid="review-empty"' in resolved.content.decode()


def test_htmx_gets_the_items_or_the_counts(login, org, account_manager):
    queue = current_queue(org)
    items_with_variety(org, queue, 2)
    client = login(account_manager)
    items = client.get(url("review_current", org), {"owner": ""}, headers=HTMX).content.decode()
    assert items.lstrip().startswith('<section id="review-items"') and "<html" not in items
    counts = client.get(
        url("review_detail", org, pk=queue.pk), {"part": "counts"}, headers=HTMX
    ).content.decode()
    assert counts.lstrip().startswith('<section id="review-counts"')


def test_htmx_before_the_week_is_built_gets_an_empty_list(login, org, account_manager):
    response = login(account_manager).get(
        url("review_current", org), {"part": "counts"}, headers=HTMX
    )
    assert response.status_code == 200
    assert 'data-testid="review-empty"' in response.content.decode()


def test_a_past_week_has_its_own_page(login, org, account_manager):
    old = past_queue(org)
    items_with_variety(org, old, 1)
    current_queue(org)
    client = login(account_manager)
    response = client.get(url("review_detail", org, pk=old.pk))
    body = response.content.decode()
    assert rows(response, "review-item") == 1
    assert f"week of {old.week_start:%A %-d %B %Y}" in body
    current = client.get(url("review_current", org)).content.decode()
    assert url("review_detail", org, pk=old.pk) in current  # the list of weeks


def test_resolving_an_item_in_place(login, org, account_manager):
    queue = current_queue(org)
    item = items_with_variety(org, queue, 1)[0]
    response = login(account_manager).post(
        url("review_item_resolve", org, pk=item.pk), {"note": "Agreed: billable"}, headers=HTMX
    )
    assert response.status_code == 200
    assert response["HX-Trigger"] == "review-changed"  # the counts refresh themselves
    body = response.content.decode()
    assert body.lstrip().startswith(f'<tr id="review-item-{item.pk}"')
    assert 'data-testid="review-item-resolved"' in body and "Agreed: billable" in body
    item = fresh(item)
    assert item.status == "resolved" and item.resolved_by == account_manager


def test_an_item_about_flags_links_to_them_and_resolving_it_resolves_them(
    login, org, account_manager
):
    queue = current_queue(org)
    item = items_with_variety(org, queue, 1, kinds=[ReviewItem.Kind.OPEN_FLAG])[0]
    client = login(account_manager)
    body = client.get(url("review_current", org)).content.decode()
    flags_url = (
        f"{url('flag_list', org)}?status=open&amp;kind=over_expected&amp;client={item.client_id}"
    )
    assert f'<a href="{flags_url}">2 flags still open</a>' in body
    assert "resolving this item resolves them all" in body
    client.post(url("review_item_resolve", org, pk=item.pk), {"note": "Billed"}, headers=HTMX)
    with scopes_disabled():
        flags = ExceptionFlag.objects.filter(client=item.client_id)
        assert [(f.status, f.resolution_note) for f in flags] == [("resolved", "Billed")] * 2


def test_resolving_without_htmx_goes_back_to_the_week(login, org, admin_member):
    queue = current_queue(org)
    item = items_with_variety(org, queue, 1)[0]
    response = login(admin_member).post(url("review_item_resolve", org, pk=item.pk), {})
    assert response.status_code == 302
    assert response.url == url("review_detail", org, pk=queue.pk)
    assert fresh(item).status == "resolved"


def test_reassigning_an_item_in_place(login, org, account_manager, finance):
    queue = current_queue(org)
    item = items_with_variety(org, queue, 1)[0]
    response = login(account_manager).post(
        url("review_item_reassign", org, pk=item.pk), {"owner": finance.pk}, headers=HTMX
    )
    assert response.status_code == 200
    assert fresh(item).owner == finance
    assert finance.user.username in response.content.decode()


@pytest.mark.parametrize("owner", ["developer", "stranger", "nobody", "missing"])
def test_reassigning_to_someone_who_cannot_own_it_is_refused(
    login, org, account_manager, developer, stranger, owner
):
    queue = current_queue(org)
    item = items_with_variety(org, queue, 1)[0]
    before = item.owner_id
    value = {
        "developer": developer.pk,
        "stranger": stranger.pk,
        "nobody": "abc",
        "missing": "",
    }[owner]
    response = login(account_manager).post(
        url("review_item_reassign", org, pk=item.pk), {"owner": value}, headers=HTMX
    )
    assert response.status_code == 200 and 'role="alert"' in response.content.decode()
    assert "HX-Trigger" not in response
    assert fresh(item).owner_id == before


def test_developers_cannot_work_the_review(login, org, developer, account_manager):
    queue = current_queue(org)
    item = items_with_variety(org, queue, 1)[0]
    client = login(developer)
    assert client.post(url("review_item_resolve", org, pk=item.pk)).status_code == 403
    assert (
        client.post(
            url("review_item_reassign", org, pk=item.pk), {"owner": account_manager.pk}
        ).status_code
        == 403
    )
    assert fresh(item).status == "open"


@pytest.mark.parametrize(
    "role,status",
    [(Role.DEVELOPER, 403), (Role.ACCOUNT_MANAGER, 403), (Role.FINANCE, 403), (Role.ADMIN, 302)],
)
def test_only_admins_rebuild_the_week(login, org, members, role, status):
    with scopes_disabled():
        ClientFactory(organization=org, billing_notes="")
    response = login(members[role]).post(url("review_rebuild", org))
    assert response.status_code == status
    with scopes_disabled():
        built = ReviewQueue.objects.filter(organization=org).exists()
    assert built is (status == 302)
    if status == 302:
        assert response.url == url("review_current", org)
        page = login(members[role]).get(response.url).content.decode()
        assert "rebuilt: 1 new items" in page
        assert rows_count(page) == 1


def rows_count(body: str) -> int:
    return body.count('data-testid="review-item"')


def test_rebuild_is_post_only(login, org, admin_member):
    assert login(admin_member).get(url("review_rebuild", org)).status_code == 405


# --- navigation counts -------------------------------------------------------------------------
@pytest.fixture
def counted(org, account_manager, finance, admin_member):
    """Two open flags and one open scope check for the account manager, one
    flag for someone else, a resolved flag; the current week's queue with two
    items for the account manager and one for finance; last week's queue."""
    flags_with_variety(org, 2, owner=account_manager)
    flags_with_variety(org, 1)
    with scopes_disabled():
        done = flags_with_variety(org, 1, owner=account_manager)[0]
        ExceptionFlag.objects.filter(pk=done.pk).update(status="resolved")
        for manager in (account_manager, admin_member):
            ticket = TicketFactory(
                organization=org,
                client=ClientFactory(organization=org),
                number=9000 + manager.pk,
            )
            ScopeCheck.objects.create(
                organization=org,
                ticket=ticket,
                requested_by=manager,
                account_manager=manager,
                estimate_minutes=60,
                reason="r",
                client_explanation="e",
            )
    queue = current_queue(org)
    items_with_variety(org, queue, 2, owner=account_manager)
    items_with_variety(org, queue, 1, owner=finance)
    items_with_variety(org, past_queue(org), 3, owner=account_manager)


def _nav(membership) -> dict:
    """The counts as a page inside the member's organization sees them."""
    request = RequestFactory().get("/")
    request.organization = membership.organization
    request.membership = membership
    with activate_organization(membership.organization):
        return dict(nav_counts(request)["nav_counts"])


@pytest.mark.parametrize(
    "role,expected",
    [
        (Role.DEVELOPER, {"flags": 0, "scope_checks": 0, "review": 0}),
        (Role.ACCOUNT_MANAGER, {"flags": 2, "scope_checks": 1, "review": 2}),
        (Role.FINANCE, {"flags": 0, "scope_checks": 0, "review": 3}),
        (Role.ADMIN, {"flags": 3, "scope_checks": 2, "review": 3}),
    ],
)
def test_navigation_counts_what_waits_for_me(
    counted, org, members, role, expected, django_assert_max_num_queries
):
    with django_assert_max_num_queries(3):
        assert _nav(members[role]) == expected


def test_navigation_counts_are_lazy_and_computed_once_per_request(
    counted, org, members, django_assert_num_queries
):
    request = RequestFactory().get("/")
    request.organization = org
    request.membership = members[Role.ADMIN]
    with activate_organization(org):
        with django_assert_num_queries(0):
            context = nav_counts(request)
        with django_assert_num_queries(1):
            assert context["nav_counts"]["flags"] == 3
        with django_assert_num_queries(0):
            assert nav_counts(request)["nav_counts"]["review"] == 3


def test_no_navigation_counts_outside_an_organization(rf):
    request = rf.get("/")
    assert nav_counts(request) == {}
    request.organization = None
    request.membership = None
    assert nav_counts(request) == {}


def test_navigation_counts_never_count_another_organization(org, other_org, stranger):
    flags_with_variety(other_org, 3, owner=stranger)
    assert _nav(stranger)["flags"] == 3
    member = MembershipFactory(organization=org, role=Role.ADMIN)
    assert _nav(member) == {"flags": 0, "scope_checks": 0, "review": 0}


def test_pages_can_show_the_counts(login, org, account_manager, counted):
    """The counts reach the templates (the navigation renders them)."""
    response = login(account_manager).get(url("flag_list", org))
    with activate_organization(org):  # lazy: computed when a template reads them
        counts = dict(response.context["nav_counts"])
    assert counts == {"flags": 2, "scope_checks": 1, "review": 2}


# --- query budgets -----------------------------------------------------------------------------
@pytest.mark.parametrize("size", SIZES)
def test_the_flags_page_has_a_fixed_query_budget(
    login, org, account_manager, size, django_assert_max_num_queries
):
    flags_with_variety(org, size)
    client = login(account_manager)
    with django_assert_max_num_queries(FLAG_PAGE_BUDGET):
        response = client.get(url("flag_list", org))
    assert rows(response) == size
    with django_assert_max_num_queries(FLAG_PAGE_BUDGET):
        client.get(url("flag_list", org), {"status": "all"}, headers=HTMX)


@pytest.mark.parametrize("size", SIZES)
def test_the_review_page_has_a_fixed_query_budget(
    login, org, account_manager, size, django_assert_max_num_queries
):
    queue = current_queue(org)
    items_with_variety(
        org,
        queue,
        size,
        kinds=[ReviewItem.Kind.UNCLEAR_DECISION, ReviewItem.Kind.OPEN_FLAG],
    )
    for weeks in range(1, 4):
        past_queue(org, weeks)
    client = login(account_manager)
    with django_assert_max_num_queries(REVIEW_PAGE_BUDGET):
        response = client.get(url("review_current", org))
    assert rows(response, "review-item") == size
    with django_assert_max_num_queries(REVIEW_PAGE_BUDGET):
        client.get(url("review_detail", org, pk=queue.pk), {"owner": "me"}, headers=HTMX)
