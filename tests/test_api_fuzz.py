"""The API answers as its schema says, under fuzzing (issue 11, item 5).

Schemathesis reads the live schema (/api/schema/) and calls the Django app in
process (WSGI) with every check it has on. Two passes:

- organization A's admin fuzzes every operation with A's real ids in paths,
  bodies and filters (the coverage phase's boundary cases, the fuzzing phase's
  random ones, positive and negative);
- each organization's admin calls every operation that names an object with
  the *other* organization's ids: the answer is a documented 404 (or the 400 a
  missing object would get for the request's own bad query or body).

In both, the other organization's canary text never appears in an answer.
Each request runs in a savepoint that is rolled back, so every case sees the
same seeded world and a request that breaks the database transaction cannot
spoil the cases after it. Generation is deterministic (fixed seed,
derandomized, no example database): a failure here fails the same way again.

Every check is on. One is tuned, not turned off: ``positive_data_acceptance``
also accepts 400, because the schema cannot say which ids exist or which
business rules hold (a contract's dates inside an open period, a tier's
minimum below its maximum...), so schema-valid input is often, and rightly,
refused with a 400 naming the field. The check still fails schema-valid input
answered with anything else (405, 406, 415, 422, 5xx...). The stateful phase
is off: every case runs against the same rolled-back world, so there is
nothing to chain, and it would cost most of the time budget; the three checks
that only act there (use_after_free, ensure_resource_availability,
object_level_authorization) are on but idle — the second pass and the
isolation walk (tests/test_tenant_isolation.py) cover cross-tenant reads.
"""

import logging
from collections import Counter
from contextlib import contextmanager

import pytest
import schemathesis
from django.core.cache import cache
from django.core.signals import request_finished, request_started
from django.db import close_old_connections, transaction
from django.test import Client, override_settings
from schemathesis.core.parameters import ParameterLocation
from schemathesis.core.transport import response_content_type

from msops.wsgi import application
from tests.fuzz_world import ID_FIELDS, FuzzOrganization, seed_two_organizations

SEED = 11
SCHEMA_PATH = "/api/schema/"
# Random cases per operation in the fuzzing phase, per generation mode. The
# coverage phase adds its own deterministic boundary cases on top.
MAX_EXAMPLES = 5
CROSS_MAX_EXAMPLES = 2
# The coverage phase walks every field's boundaries and wrong types. To stay
# within the time budget it sends: JSON bodies (the only media type the API
# takes and documents), nothing for PUT where PATCH takes the same fields, and at most
# COVERAGE_PER_PARAMETER_MUTATION cases of one kind for one path, query or
# header parameter (its five wrong types all reach the server as text).
COVERAGE_MEDIA_TYPES = {None, "application/json"}
COVERAGE_PER_PARAMETER_MUTATION = 2


@pytest.fixture(scope="module")
def _seeded(django_db_setup, django_db_blocker):
    """One seeded world for the whole module, in a transaction rolled back at
    its end; each test's own transaction (``db``) nests inside it."""
    with (
        django_db_blocker.unblock(),
        override_settings(PASSWORD_HASHERS=["django.contrib.auth.hashers.MD5PasswordHasher"]),
        transaction.atomic(),
    ):
        a, b = seed_two_organizations()
        for caller in (a, b):
            # A token's first use is recorded once; do it here, not in every case.
            Client().get("/api/v1/organization/", headers=caller.authorization)
        with _same_connection_for_every_request():
            raw = schemathesis.openapi.from_wsgi(SCHEMA_PATH, application).raw_schema
        yield a, b, raw
        transaction.set_rollback(True)


@pytest.fixture
def orgs(_seeded, db) -> tuple[FuzzOrganization, FuzzOrganization]:
    a, b, _ = _seeded
    return a, b


@pytest.fixture
def live_schema(_seeded, db) -> dict:
    return _seeded[2]


@pytest.fixture(autouse=True)
def _quiet_4xx_logging(caplog):
    """Thousands of 4xx answers are the point; keep server errors in the report."""
    caplog.set_level(logging.ERROR, logger="django.request")


@pytest.fixture(autouse=True)
def _pytest_9_node_id(request):
    """Schemathesis' lazy schema (4.32) renames the running test through
    ``node._nodeid``, which pytest 9.2 no longer has; give it one."""
    if not hasattr(request.node, "_nodeid"):
        request.node._nodeid = request.node.nodeid


@contextmanager
def _same_connection_for_every_request():
    """Django closes "old" connections around each WSGI request, which inside
    the test's transaction would end it (Django's test client does the same)."""
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    try:
        yield
    finally:
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)


@pytest.fixture
def wsgi_app(_seeded):
    with _same_connection_for_every_request():
        yield application


def _config(
    *,
    caller: FuzzOrganization,
    path_ids_of: FuzzOrganization,
    paths: dict,
    mode: str,
    max_examples: int,
    coverage: bool,
) -> schemathesis.Config:
    """Fuzz as ``caller`` (its admin's token), with ``path_ids_of``'s real
    objects in paths and ``caller``'s real ids offered to id fields."""
    parameters: dict = {}
    for field in ID_FIELDS:
        parameters[f"body.{field}"] = {"dictionary": field, "probability": 0.9}
        parameters[f"query.{field}"] = {"dictionary": field, "probability": 0.9}
    operations = []
    for path in paths:
        values = path_ids_of.path_parameters(path)
        if values:
            operations.append(
                {
                    "include-path": path,
                    "parameters": {f"path.{name}": value for name, value in values.items()},
                }
            )
    return schemathesis.Config.from_dict(
        {
            "seed": SEED,
            "suppress-health-check": ["too_slow", "filter_too_much", "data_too_large"],
            "dictionaries": {
                field: {"values": caller.ids(model) or [0]} for field, model in ID_FIELDS.items()
            },
            "parameters": parameters,
            "operations": operations,
            "generation": {
                "mode": mode,
                "max-examples": max_examples,
                "deterministic": True,
                "database": "none",
            },
            "phases": {
                "examples": {"enabled": coverage},
                "coverage": {"enabled": coverage},
                "fuzzing": {"enabled": True},
                "stateful": {"enabled": False},
            },
            "checks": {
                "positive_data_acceptance": {
                    "expected-statuses": ["2xx", "3xx", "400", "401", "403", "404", "409", "429"]
                }
            },
            "auth": {"openapi": {"tokenAuth": {"bearer": caller.token}}},
        }
    )


def _schema(raw: dict, app, config: schemathesis.Config):
    schema = schemathesis.openapi.from_dict(raw, config=config)
    schema.app = app
    return schema


@contextmanager
def _rolled_back():
    """One request's writes, undone afterwards. The throttle's counters live
    in the cache: cleared, so thousands of calls never meet a 429 (its own
    tests cover it); DRF reads the rates once at import, so a settings
    override would not reach them."""
    savepoint = transaction.savepoint()
    cache.clear()
    try:
        yield
    finally:
        transaction.savepoint_rollback(savepoint)


def _never_shows(canary: str):
    def other_organization_never_shown(ctx, response, case):
        assert canary not in response.text, (
            f"the answer shows the other organization's data ({canary!r})"
        )

    return other_organization_never_shown


def _refused_like_a_missing_object(ctx, response, case):
    """404; or a 400 on the request's own query or body fields, which a
    missing object gets too (the input is refused before any lookup)."""
    if response.status_code == 400 and "json" in (response_content_type(response) or ""):
        fields = (response.json() or {}).get("fields") or {}
        sent = set(case.query or {}) | set(case.body if isinstance(case.body, dict) else {})
        if fields and set(fields) <= sent:
            return
    assert response.status_code == 404, (
        f"another organization's object answered {response.status_code}, not 404"
    )


# --- Pass 1: A fuzzes everything with its own ids --------------------------


@pytest.fixture
def schema_as_a(orgs, wsgi_app, live_schema):
    a, _ = orgs
    config = _config(
        caller=a,
        path_ids_of=a,
        paths=live_schema["paths"],
        mode="all",
        max_examples=MAX_EXAMPLES,
        coverage=True,
    )
    return _schema(live_schema, wsgi_app, config)


as_a = schemathesis.pytest.from_fixture("schema_as_a")


def _coverage_case_is_sent(case, sent: Counter) -> bool:
    if case.meta is None or case.meta.phase.name.value != "coverage":
        return True
    if case.media_type not in COVERAGE_MEDIA_TYPES:
        return False
    if case.method == "PUT" and "patch" in case.operation.schema.raw_schema["paths"][case.path]:
        return False
    data = case.meta.phase.data
    if data.parameter_location in (None, ParameterLocation.BODY):
        return True
    key = (case.operation.label, case.meta.generation.mode, data.description)
    sent[key] += 1
    return sent[key] <= COVERAGE_PER_PARAMETER_MUTATION


@pytest.fixture
def coverage_sent() -> Counter:
    return Counter()


@as_a.parametrize()
def test_every_operation_answers_as_its_schema_says(case, orgs, coverage_sent):
    _, b = orgs
    if not _coverage_case_is_sent(case, coverage_sent):
        return
    with _rolled_back():
        case.call_and_validate(additional_checks=[_never_shows(b.canary)])


# --- Pass 2: each organization tries the other's objects -------------------


@pytest.fixture(params=["A with B's ids", "B with A's ids"])
def caller_and_owner(request, orgs) -> tuple[FuzzOrganization, FuzzOrganization]:
    a, b = orgs
    return (a, b) if request.param.startswith("A") else (b, a)


@pytest.fixture
def schema_across(caller_and_owner, wsgi_app, live_schema):
    caller, owner = caller_and_owner
    config = _config(
        caller=caller,
        path_ids_of=owner,
        paths=live_schema["paths"],
        mode="positive",
        max_examples=CROSS_MAX_EXAMPLES,
        coverage=False,
    )
    return _schema(live_schema, wsgi_app, config)


across = schemathesis.pytest.from_fixture("schema_across").include(path_regex=r"\{")


@across.parametrize()
def test_another_organizations_objects_answer_a_documented_404(case, caller_and_owner):
    _, owner = caller_and_owner
    with _rolled_back():
        case.call_and_validate(
            additional_checks=[_refused_like_a_missing_object, _never_shows(owner.canary)]
        )


def test_every_path_parameter_is_filled_with_a_real_object(orgs, live_schema):
    """Otherwise the fuzzer only ever meets 404s there (classify the route
    in tests/isolation.py and give its object a world builder)."""
    a, b = orgs
    unfilled = sorted(
        path
        for path in live_schema["paths"]
        if "{" in path and (not a.path_parameters(path) or not b.path_parameters(path))
    )
    assert not unfilled, f"no real object for the path parameters of {unfilled}"
