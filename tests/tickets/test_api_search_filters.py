"""Query parameters that tell the truth, on every list of the API.

- ``search`` is documented only where the view searches (``search_fields``,
  or the tickets list's own ``search``); ``ordering`` only where the view
  declares ``ordering_fields``.
- A filter by a related id answers one way on every list: an unknown id,
  another organization's id and a value that is not a whole number are all a
  400 on that parameter, and another organization's id reads exactly like an
  unknown one.
"""

import re

import pytest
from django.urls import resolve
from django_filters.utils import get_model_field
from django_scopes import scopes_disabled
from drf_spectacular.generators import SchemaGenerator
from rest_framework.settings import api_settings

from msops.tenancy.api.filters import (
    LIST_FILTER_BACKENDS,
    DeclaredSearchFilter,
    TenantFilterBackend,
    TenantIdFilter,
)
from tests.factories import OrganizationFactory, TicketFactory
from tests.isolation import build_world

NOT_IDS = ["abc", "1.5", "1e400", "-3", "0x1F", "٣", "99999999999999999999999", "true"]


def _schema() -> dict:
    return SchemaGenerator().get_schema(request=None, public=True)


def _list_operations() -> list[tuple[str, dict, type]]:
    """(path, GET operation, view class) of every list in the schema."""
    lists = []
    for path, operations in _schema()["paths"].items():
        if "{" in path or "get" not in operations:
            continue
        match = resolve(path)
        if getattr(match.func, "actions", {}).get("get") != "list":
            continue
        lists.append((path, operations["get"], match.func.cls))
    return lists


LISTS = _list_operations()


def _filterset_class(view_class):
    view = view_class()
    return TenantFilterBackend().get_filterset_class(view, view_class.queryset)


def _id_filters(view_class) -> dict[str, TenantIdFilter]:
    filterset = _filterset_class(view_class)
    if filterset is None:
        return {}
    return {
        name: flt for name, flt in filterset.base_filters.items() if isinstance(flt, TenantIdFilter)
    }


def _params(operation) -> set[str]:
    return {p["name"] for p in operation.get("parameters", []) if p["in"] == "query"}


def test_the_walk_finds_the_lists():
    paths = {path for path, *_ in LISTS}
    assert {"/api/v1/tickets/", "/api/v1/time-entries/", "/api/v1/flags/"} <= paths
    assert len(LISTS) >= 25


def test_the_default_backends_neither_search_nor_order_by_undeclared_fields():
    assert list(api_settings.DEFAULT_FILTER_BACKENDS) == LIST_FILTER_BACKENDS


@pytest.mark.parametrize("path,operation,view_class", LISTS, ids=[p for p, *_ in LISTS])
def test_search_is_documented_only_where_the_list_searches(path, operation, view_class):
    searches = bool(getattr(view_class, "search_fields", None)) and DeclaredSearchFilter in (
        view_class.filter_backends
    )
    filterset = _filterset_class(view_class)
    searches_itself = filterset is not None and "search" in filterset.base_filters
    assert ("search" in _params(operation)) == (searches or searches_itself)
    if getattr(view_class, "search_fields", None):
        assert searches, f"{path} declares search_fields without the search backend"


@pytest.mark.parametrize("path,operation,view_class", LISTS, ids=[p for p, *_ in LISTS])
def test_ordering_is_documented_only_where_ordering_fields_are_declared(
    path, operation, view_class
):
    declared = getattr(view_class, "ordering_fields", None)
    assert ("ordering" in _params(operation)) == bool(declared)
    if declared:
        ordering = next(p for p in operation["parameters"] if p["name"] == "ordering")
        assert all(field in ordering["description"] for field in declared)


def _relation_or_id(model, field_name: str) -> bool:
    if field_name.endswith("_id"):
        return True
    field = get_model_field(model, field_name)
    return field is not None and field.is_relation


@pytest.mark.parametrize("path,operation,view_class", LISTS, ids=[p for p, *_ in LISTS])
def test_every_filter_by_a_related_id_is_a_tenant_id_filter(path, operation, view_class):
    filterset = _filterset_class(view_class)
    if filterset is None:
        return
    model = filterset._meta.model
    loose = [
        name
        for name, flt in filterset.base_filters.items()
        if not isinstance(flt, TenantIdFilter)
        and flt.lookup_expr == "exact"
        and not flt.method
        and _relation_or_id(model, flt.field_name)
    ]
    assert not loose, f"{path}: make these TenantIdFilter: {loose}"
    for name in _id_filters(view_class):
        schema = next(p for p in operation["parameters"] if p["name"] == name)["schema"]
        assert schema["type"] == "integer", (path, name)


# --- the walk: every id filter of every list ------------------------------------------------
def _row_of(model, organization):
    with scopes_disabled():
        return model.objects.filter(organization=organization).order_by("pk").first()


def _unknown_id(model) -> int:
    with scopes_disabled():
        last = model.objects.order_by("-pk").values_list("pk", flat=True).first() or 0
    return last + 100_000


@pytest.mark.django_db
def test_every_id_filter_on_every_list_answers_the_same_way(org, api, admin_member):
    other = OrganizationFactory(name="Other practice", slug="other-practice")
    build_world(org, "ours")
    build_world(other, "theirs")
    client = api(admin_member)
    walked, wrong = 0, []
    for path, _operation, view_class in LISTS:
        for name, flt in _id_filters(view_class).items():
            walked += 1
            mine, theirs = _row_of(flt.target, org), _row_of(flt.target, other)
            if mine is None or theirs is None:
                wrong.append(f"{path}?{name}: no {flt.target.__name__} in a world to try")
                continue
            own = client.get(path, {name: mine.pk})
            if own.status_code != 200:
                wrong.append(f"{path}?{name}=<own id>: {own.status_code}")
            unknown = client.get(path, {name: _unknown_id(flt.target)})
            foreign = client.get(path, {name: theirs.pk})
            for label, response in (("unknown", unknown), ("foreign", foreign)):
                if response.status_code != 400 or name not in str(response.json()):
                    wrong.append(f"{path}?{name}=<{label} id>: {response.status_code}")
            if foreign.status_code == 400 and foreign.json() != unknown.json():
                wrong.append(f"{path}?{name}: a foreign id reads unlike an unknown one")
            if str(theirs.pk) in foreign.content.decode():
                wrong.append(f"{path}?{name}: the answer repeats the foreign id")
            for value in NOT_IDS:
                response = client.get(path, {name: value})
                if response.status_code != 400 or name not in str(response.json()):
                    wrong.append(f"{path}?{name}={value}: {response.status_code}")
    assert walked >= 40
    assert not wrong, "\n".join(wrong)


# --- the tickets list searches with ``search`` ------------------------------------------------
TICKETS = "/api/v1/tickets/"


@pytest.fixture
def three_tickets(org, terms, stranger):
    for number, title in ((1, "Printer offline"), (2, "VPN drops"), (42, "Mailbox full")):
        TicketFactory(organization=org, client=terms.client, number=number, title=title)
    TicketFactory(organization=stranger.organization, number=3, title="Printer of theirs")


def _titles(client, query: dict) -> list[str]:
    response = client.get(TICKETS, query)
    assert response.status_code == 200, response.json()
    return sorted(row["title"] for row in response.json()["results"])


@pytest.mark.parametrize(
    "search,titles",
    [
        ("printer", ["Printer offline"]),
        ("#42", ["Mailbox full"]),
        ("2", ["VPN drops"]),
        ("", ["Mailbox full", "Printer offline", "VPN drops"]),
        ("nothing like it", []),
    ],
)
def test_the_tickets_list_searches_titles_and_numbers(
    api, developer, three_tickets, search, titles
):
    assert _titles(api(developer), {"search": search}) == titles


def test_q_still_searches_as_a_deprecated_alias(api, developer, three_tickets):
    client = api(developer)
    assert _titles(client, {"q": "#42"}) == _titles(client, {"search": "#42"}) == ["Mailbox full"]
    parameters = _schema()["paths"][TICKETS]["get"]["parameters"]
    q = next(p for p in parameters if p["name"] == "q")
    assert q.get("deprecated") is True
    search = next(p for p in parameters if p["name"] == "search")
    assert not search.get("deprecated") and re.search("title", search["description"], re.I)


def test_search_on_a_list_that_does_not_search_is_not_offered(api, developer):
    parameters = _schema()["paths"]["/api/v1/time-entries/"]["get"]["parameters"]
    assert "search" not in {p["name"] for p in parameters}


def test_the_clients_list_searches_by_name(api, developer, org):
    from tests.factories import ClientFactory

    ClientFactory(organization=org, name="Acme Dental")
    ClientFactory(organization=org, name="Bolt Logistics")
    response = api(developer).get("/api/v1/clients/", {"search": "dental"})
    assert [row["name"] for row in response.json()["results"]] == ["Acme Dental"]


def test_a_route_of_one_object_ignores_list_filters(api, developer, org, terms, other_org):
    from tests.factories import ClientFactory

    ticket = TicketFactory(organization=org, client=terms.client, title="Printer")
    with scopes_disabled():
        theirs = ClientFactory(organization=other_org)
    client = api(developer)
    for query in ({"client": theirs.pk}, {"client": "abc"}, {"status": "closed"}):
        response = client.get(f"{TICKETS}{ticket.pk}/", query)
        assert response.status_code == 200 and response.json()["title"] == "Printer", query
