"""A member of one organization can reach nothing of another.

Routes come from the URL resolver and the OpenAPI schema; each must be
classified in tests/isolation.py. For every tenant route, organization A's
member tries B's objects with every method, with and without htmx: the answer
is 404 or 405 (or, for A's own collections, a 200 with A's data only), B's
canary text never appears, B's rows are unchanged afterwards, and no row of A
ends up pointing at a row of B. Writes carry a payload full of B's ids.

The walk runs twice, once per wall: with django-scopes alone (as the suite's
owner connection, which row security does not bind), and with django-scopes
turned off, as the application's database role, so that PostgreSQL row-level
security alone must hold.
"""

import re
from pathlib import Path
from urllib.parse import urlencode

import pytest
from django.apps import apps
from django.conf import settings
from django.db import connection
from django.urls import URLPattern, URLResolver, get_resolver, resolve, reverse
from django_scopes import ScopeError, scopes_disabled
from drf_spectacular.generators import SchemaGenerator
from rest_framework.test import APIClient

from msops.tenancy import rls, scoping
from msops.tenancy.models import Role, TenantModel
from msops.tenancy.services import api_token_create
from tests.factories import MembershipFactory, OrganizationFactory, token_for
from tests.isolation import CANARY, EXEMPT_NAMESPACES, ROUTES, build_world
from tests.isolation_types import Route

METHODS = ["get", "post", "put", "patch", "delete"]
ROOT = Path(__file__).resolve().parent.parent


def _walk(patterns, namespace=None, prefix=""):
    """(name, route) of every URL pattern; an unnamed one yields (None, route)."""
    for pattern in patterns:
        if isinstance(pattern, URLResolver):
            ns = pattern.namespace
            full_ns = f"{namespace}:{ns}" if namespace and ns else (ns or namespace)
            yield from _walk(pattern.url_patterns, full_ns, prefix + str(pattern.pattern))
        elif isinstance(pattern, URLPattern):
            if not pattern.name:
                yield (
                    (f"{namespace}:" if namespace else "") + "<unnamed>",
                    prefix + str(pattern.pattern),
                )
                continue
            name = f"{namespace}:{pattern.name}" if namespace else pattern.name
            yield name, prefix + str(pattern.pattern)


def unnamed_routes() -> list[str]:
    return sorted(
        route
        for name, route in _walk(get_resolver().url_patterns)
        if name.endswith("<unnamed>") and name.split(":")[0] not in EXEMPT_NAMESPACES
    )


def named_routes() -> dict[str, str]:
    routes = {}
    for name, route in _walk(get_resolver().url_patterns):
        if name.split(":")[0] in EXEMPT_NAMESPACES or name.endswith("<unnamed>"):
            continue
        routes.setdefault(name, route)
    return routes


def api_schema_routes() -> set[str]:
    """The URL name behind every path of the OpenAPI schema."""
    schema = SchemaGenerator().get_schema(request=None, public=True)
    names = set()
    for path in schema["paths"]:
        concrete = re.sub(r"\{[^}]+\}", "1", path)
        names.add(resolve(concrete).view_name)
    return names


def tenant_models() -> list[type]:
    return [
        model
        for model in apps.get_models()
        if issubclass(model, TenantModel)
        or any(f.name == "organization" for f in model._meta.fields)
    ]


def snapshot(organization) -> dict:
    with scopes_disabled(), rls.bypass():
        return {
            model._meta.label: list(
                model.objects.filter(organization=organization).order_by("pk").values()
            )
            for model in tenant_models()
        }


def test_every_named_route_is_classified():
    unclassified = sorted(set(named_routes()) - set(ROUTES))
    assert not unclassified, f"classify these routes in tests/isolation.py: {unclassified}"


def test_every_api_route_in_the_schema_is_classified():
    unclassified = sorted(api_schema_routes() - set(ROUTES))
    assert not unclassified, f"classify these API routes in tests/isolation.py: {unclassified}"


def test_every_url_pattern_has_a_name():
    """An unnamed pattern could not be classified, so the walk would miss it."""
    assert unnamed_routes() == []


def test_no_stale_classifications():
    stale = sorted(set(ROUTES) - set(named_routes()))
    assert not stale, f"these classified routes no longer exist: {stale}"


@pytest.fixture
def two_worlds(db):
    org_a = OrganizationFactory(name="Alpha Practice", slug="alpha")
    org_b = OrganizationFactory(name=f"Beta Practice {CANARY}", slug="beta")
    world_a = build_world(org_a, "alpha")
    world_b = build_world(org_b, CANARY)
    member_a = MembershipFactory(organization=org_a, role=Role.ADMIN, user__username="alice")
    return org_a, org_b, world_a, world_b, member_a


def test_the_second_world_has_a_row_of_every_tenant_model(two_worlds):
    _, org_b, *_ = two_worlds
    empty = [label for label, rows in snapshot(org_b).items() if not rows]
    assert not empty, f"add these models to a world builder in tests/isolation.py: {empty}"


def _url(name: str, route: Route, org_slug: str, world: dict) -> str:
    # ``number`` addresses a ticket by its number in the practice; every other
    # kwarg by id.
    kwargs = {
        key: getattr(world[world_key], "number" if key == "number" else "pk")
        for key, world_key in route.objects.items()
    }
    if "<slug:org>" in named_routes()[name]:
        kwargs["org"] = org_slug
    return reverse(name, kwargs=kwargs)


def _clients(member_a, name):
    if name.startswith("api:"):
        api_client = APIClient()
        api_client.credentials(HTTP_AUTHORIZATION=f"Bearer {token_for(member_a)}")
        return api_client
    from django.test import Client

    browser = Client()
    browser.force_login(member_a.user)
    return browser


TENANT_ROUTES = sorted(name for name, route in ROUTES.items() if route.kind != "exempt")


WALLS = ["scopes", "row_security"]


@pytest.fixture(params=WALLS)
def wall(request, monkeypatch):
    """Which wall stands. "row_security": django-scopes is turned off (an
    activated organization filters nothing) and the test's connection takes
    the application's database role, so row-level security alone holds."""
    if request.param == "scopes":
        yield request.param
        return
    if connection.vendor != "postgresql":
        pytest.skip("row-level security is PostgreSQL's")
    monkeypatch.setattr(scoping, "scope", lambda **kwargs: scopes_disabled())
    with connection.cursor() as cursor:
        cursor.execute(f'SET ROLE "{settings.DATABASE_APP_ROLE}"')
    yield request.param
    with connection.cursor() as cursor:
        cursor.execute("RESET ROLE")


def _payload(world_b: dict) -> dict:
    """A write as a real client would send it, with every id pointing at B."""
    ids = {key: value.pk for key, value in world_b.items() if hasattr(value, "pk")}
    member = ids["membership"]
    return {
        **ids,
        **dict.fromkeys(
            ["person", "assignee", "account_manager", "owner", "reassign_to", "user"], member
        ),
        "entry": ids["time_entry"],
        "entries": [ids["time_entry"]],
        "check": ids["scope_check"],
        "title": "walk",
        "name": "walk",
        "description": "walk",
        "notes": "walk",
        "note": "walk",
        "reason": "walk",
        "minutes": 30,
        "estimate_minutes": 60,
        "work_date": "2026-11-02",
        "month": "2026-11",
        "classification": "billable",
        "priority": "normal",
        "quantity": 3,
        "amount": "10.00",
    }


def cross_links(organization) -> list[str]:
    """Rows of ``organization`` that point at another organization's row."""
    found = []
    with scopes_disabled(), rls.bypass():
        for model in tenant_models():
            for field in model._meta.fields:
                target = field.related_model
                if not field.is_relation or target is None or field.name == "organization":
                    continue
                if not any(f.name == "organization" for f in target._meta.fields):
                    continue
                rows = (
                    model.objects.filter(organization=organization)
                    .exclude(**{f"{field.name}__isnull": True})
                    .exclude(**{f"{field.name}__organization": organization})
                )
                if rows.exists():
                    found.append(f"{model._meta.label}.{field.name}")
    return found


def _send(client, method: str, url: str, payload: dict, headers: dict):
    if method == "get":
        return client.get(url, headers=headers)
    if url.startswith("/api/"):
        return getattr(client, method)(
            url, data=payload, content_type="application/json", headers=headers
        )
    if method == "post":
        return client.post(url, data=payload, headers=headers)  # a form post
    return getattr(client, method)(url, headers=headers)


@pytest.mark.parametrize("name", TENANT_ROUTES)
def test_a_member_of_a_cannot_reach_b(two_worlds, name, wall):
    org_a, org_b, world_a, world_b, member_a = two_worlds
    route = ROUTES[name]
    with scoping.activate_organization(org_a):  # A's token is A's row
        client = _clients(member_a, name)
    before = snapshot(org_b)
    payload = _payload(world_b)
    targets = []
    if "<slug:org>" in named_routes()[name]:
        # B's URL prefix: not a member, so 404 whatever the object.
        targets.append(("B's organization URL", _url(name, route, org_b.slug, world_b), True))
    if route.kind == "object":
        # A's own URL prefix (or token) with B's object: 404.
        targets.append(("B's object under A", _url(name, route, org_a.slug, world_b), True))
    else:
        # A's own collection: allowed, but nothing of B may show.
        targets.append(("A's collection", _url(name, route, org_a.slug, world_a), False))

    for label, url, must_refuse in targets:
        if not must_refuse:
            response = client.get(url)
            assert response.status_code in (200, 405), (
                f"GET {url} ({label}) answers {response.status_code} to A ({wall})"
            )
        requests = [(method, url) for method in METHODS]
        if not must_refuse:
            # A's list filtered by B's objects.
            requests.append(("get", f"{url}?{urlencode(payload, doseq=True)}"))
        for method, target in requests:
            for htmx in (False, True):
                headers = {"HX-Request": "true"} if htmx else {}
                response = _send(client, method, target, payload, headers)
                where = f"{method.upper()} {target} ({label}{', htmx' if htmx else ''}, {wall})"
                assert response.status_code < 500, where
                if must_refuse:
                    assert response.status_code in (404, 405), f"{where}: {response.status_code}"
                body = response.content.decode(errors="replace")
                assert CANARY not in body, f"{where} leaked B's data"
                assert not _b_ids_listed(url, response, before), f"{where} listed B's rows"
                assert snapshot(org_b) == before, f"{where} changed B's rows"
    assert cross_links(org_a) == [], f"{name} ({wall}): A's rows now point at B's"


def _b_ids_listed(url: str, response, b_rows: dict) -> set:
    """Ids of B's rows in an API list answer. Some serializers show only
    ids, numbers and dates, where the canary cannot show a leak."""
    if not url.startswith("/api/") or response.status_code != 200:
        return set()
    results = (
        response.json().get("results")
        if response.get("Content-Type", "").startswith("application/json")
        else None
    )
    if not isinstance(results, list):
        return set()
    model = resolve(url).func.cls.queryset.model
    b_ids = {row["id"] for row in b_rows.get(model._meta.label, [])}
    return {row.get("id") for row in results if isinstance(row, dict)} & b_ids


@pytest.mark.parametrize("name", sorted(n for n, r in ROUTES.items() if r.kind == "object"))
def test_object_routes_work_for_their_own_organization(two_worlds, name):
    """So that the 404s above mean isolation, not a broken URL."""
    org_a, _, world_a, _, member_a = two_worlds
    # Tokens are revoked by the member who holds them: use one of A's own.
    world_a = {**world_a, "token": api_token_create(membership=member_a, name="mine").token}
    url = _url(name, ROUTES[name], org_a.slug, world_a)
    client = _clients(member_a, name)
    statuses = {client.get(url).status_code, client.post(url, data={}).status_code}
    assert 404 not in statuses, f"{url} answers 404 to GET or POST for its own organization"


@pytest.mark.parametrize("model", tenant_models(), ids=lambda m: m._meta.label)
def test_every_tenant_model_raises_outside_a_scope(db, model):
    with pytest.raises(ScopeError):
        list(model.objects.all())
    with pytest.raises(ScopeError):
        model.objects.count()


@pytest.mark.parametrize("model", tenant_models(), ids=lambda m: m._meta.label)
def test_every_tenant_model_carries_its_own_organization(model):
    field = model._meta.get_field("organization")
    assert field.related_model._meta.label == "tenancy.Organization"
    assert field.remote_field.on_delete.__name__ == "PROTECT"
    assert type(model._default_manager).__qualname__.startswith("ScopedManager.")


ALLOWED_SCOPES_DISABLED = re.compile(
    r"^(msops/tenancy/|tests/|[^/]+/migrations/|.*/management/commands/)"
)


def test_scopes_disabled_appears_only_where_allowed():
    offenders = []
    for path in ROOT.rglob("*.py"):
        rel = path.relative_to(ROOT).as_posix()
        if rel.startswith((".venv/", "var/")):
            continue
        if "scopes_disabled" in path.read_text() and not ALLOWED_SCOPES_DISABLED.match(rel):
            offenders.append(rel)
    assert not offenders, (
        f"scopes_disabled() outside tenancy/migrations/commands/tests: {offenders}"
    )


def test_scope_none_is_never_used():
    offenders = [
        path.relative_to(ROOT).as_posix()
        for path in ROOT.rglob("*.py")
        if not path.relative_to(ROOT).as_posix().startswith((".venv/", "var/", "tests/"))
        and re.search(r"scope\(\s*organization\s*=\s*None", path.read_text())
    ]
    assert not offenders, offenders
