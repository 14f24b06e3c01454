"""The OpenAPI schema tells the truth: real objects fetched through the API
validate against the components the schema gives for them (undecided enums
and unknown emails are null, not ""), and every operation documents the
errors it can answer in the one error format."""

import copy

import jsonschema
import pytest
from django_scopes import scopes_disabled
from drf_spectacular.generators import SchemaGenerator

from billing.models import ReviewItem, ScopeCheck
from msops.tenancy.models import Role
from tests.factories import MembershipFactory, TicketFactory, token_for
from tests.isolation import build_world

WRITES = {"post", "put", "patch", "delete"}


@pytest.fixture(scope="module")
def schema():
    return SchemaGenerator().get_schema(request=None, public=True)


def _json_schema(node):
    """OpenAPI 3.0's ``nullable`` in JSON Schema terms."""
    if isinstance(node, list):
        return [_json_schema(item) for item in node]
    if not isinstance(node, dict):
        return node
    node = {key: _json_schema(value) for key, value in node.items()}
    if node.pop("nullable", False):
        return {"anyOf": [node, {"type": "null"}]}
    return node


def validator(schema: dict, response_schema: dict) -> jsonschema.Draft4Validator:
    root = {**copy.deepcopy(response_schema), "components": _json_schema(schema["components"])}
    return jsonschema.Draft4Validator(
        _json_schema(root), format_checker=jsonschema.Draft4Validator.FORMAT_CHECKER
    )


def _get_operations(schema):
    for path, operations in schema["paths"].items():
        if "get" in operations:
            yield path, operations["get"]


@pytest.fixture
def world(db):
    organization = MembershipFactory(role=Role.ADMIN).organization
    world = build_world(organization, "a")
    with scopes_disabled():
        # Values not decided or not known yet, beside the world's decided ones.
        world["no_email"] = MembershipFactory(organization=organization, user__email="")
        world["undecided"] = TicketFactory(organization=organization, classification="")
        world["decided"] = TicketFactory(organization=organization, classification="billable")
        item = world["review_item"]
        item.pk, item.kind, item.flag, item.flag_kind = (
            None,
            ReviewItem.Kind.UNDECIDED_TIME,
            None,
            "",
        )
        item.subject_key = "ticket:undecided"
        item.save()
        ScopeCheck.objects.filter(pk=world["scope_check"].pk).update(client_email="")
    world["client"] = _api(world["membership"])
    return world


def _api(membership):
    from rest_framework.test import APIClient

    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token_for(membership)}")
    return client


def test_every_object_read_through_the_api_validates_against_its_schema(schema, world):
    client = world["client"]
    checked, lies = 0, []
    first_ids: dict[str, int] = {}
    for path, operation in sorted(_get_operations(schema), key=lambda item: "{" in item[0]):
        url = path
        if "{id}" in path:
            collection = path.split("{id}")[0]
            if collection not in first_ids:
                continue  # nothing of this kind in the world to read
            url = path.replace("{id}", str(first_ids[collection]))
        response = client.get(url)
        assert response.status_code == 200, (url, response.content[:300])
        body = response.json()
        documented = operation["responses"]["200"]["content"]["application/json"]["schema"]
        errors = sorted(
            validator(schema, documented).iter_errors(body), key=lambda e: list(e.absolute_path)
        )
        lies += [(url, list(e.absolute_path), e.message) for e in errors[:3]]
        if "{" not in path and body.get("results"):
            first_ids[path] = body["results"][0]["id"]
        checked += 1
    assert not lies, lies
    assert checked >= 40


def _row(client, url, pk):
    return client.get(f"{url}{pk}/").json()


def test_undecided_enums_and_unknown_emails_are_null(world):
    client = world["client"]
    assert _row(client, "/api/v1/tickets/", world["undecided"].pk)["classification"] is None
    assert _row(client, "/api/v1/tickets/", world["decided"].pk)["classification"] == "billable"
    assert _row(client, "/api/v1/memberships/", world["no_email"].pk)["email"] is None
    assert _row(client, "/api/v1/scope-checks/", world["scope_check"].pk)["client_email"] is None
    items = client.get("/api/v1/review-items/").json()["results"]
    assert {item["kind"]: item["flag_kind"] for item in items}["undecided_time"] is None
    entry = _row(client, "/api/v1/time-entries/", world["time_entry"].pk)
    assert all(portion["waits_on"] != "" for portion in entry["portions"])


def test_the_schema_marks_those_fields_nullable_with_their_enum(schema):
    components = schema["components"]["schemas"]
    for component, field in [
        ("Ticket", "classification"),
        ("ReviewItem", "flag_kind"),
        ("EntryPortion", "waits_on"),
    ]:
        prop = components[component]["properties"][field]
        assert prop.get("nullable") is True, (component, field)
        refs = {choice["$ref"].rsplit("/", 1)[1] for choice in prop["oneOf"]}
        assert "NullEnum" in refs and "BlankEnum" not in refs and len(refs) == 2
    for component, field in [("Membership", "email"), ("ScopeCheck", "client_email")]:
        prop = components[component]["properties"][field]
        assert prop["format"] == "email" and prop["nullable"] is True


def test_a_null_is_accepted_where_a_blank_was(world):
    client = world["client"]
    check = world["scope_check"]
    blank = client.post(f"/api/v1/scope-checks/{check.pk}/ask-client/", {"client_email": ""})
    null = client.post(
        f"/api/v1/scope-checks/{check.pk}/ask-client/", {"client_email": None}, format="json"
    )
    assert blank.status_code == null.status_code == 400
    assert null.json()["fields"] == blank.json()["fields"]
    assert "client_email" in null.json()["fields"]


# --- errors in the schema ----------------------------------------------------------------
def _operations(schema):
    for path, operations in schema["paths"].items():
        for method, operation in operations.items():
            yield path, method, operation


def _error_ref(response) -> str:
    return response["content"]["application/json"]["schema"]["$ref"].rsplit("/", 1)[1]


def test_the_error_components_describe_the_one_format(schema):
    components = schema["components"]["schemas"]
    for name in ("Error", "ValidationError"):
        assert set(components[name]["required"]) == {"detail", "code", "fields"}


def test_every_operation_documents_the_errors_it_can_answer(schema):
    missing = []
    for path, method, operation in _operations(schema):
        responses = operation["responses"]
        parameters = operation.get("parameters", [])
        expected = {"401", "403", "429"}
        if "requestBody" in operation or any(p["in"] != "path" for p in parameters):
            expected.add("400")
        if "{" in path:
            expected.add("404")
        if method in WRITES:
            expected.add("409")
        for status in sorted(expected - set(responses)):
            missing.append((method, path, status))
        for status in expected:
            if status in responses:
                assert "content" in responses[status], (method, path, status)
        assert "Retry-After" in responses["429"]["headers"], (method, path)
    assert not missing, missing


def test_lists_document_the_404_of_a_page_past_the_end(schema):
    listing = schema["paths"]["/api/v1/tickets/"]["get"]
    assert _error_ref(listing["responses"]["404"]) == "Error"
    assert _error_ref(listing["responses"]["400"]) == "ValidationError"


def test_logging_time_documents_the_422_of_a_reused_idempotency_key(schema):
    create = schema["paths"]["/api/v1/time-entries/"]["post"]
    assert _error_ref(create["responses"]["422"]) == "Error"
    assert "422" not in schema["paths"]["/api/v1/tickets/"]["post"]["responses"]


def test_a_view_documented_status_keeps_its_description_and_gets_the_error_body(schema):
    lock = schema["paths"]["/api/v1/periods/{id}/lock/"]["post"]["responses"]
    assert lock["400"]["description"].startswith("Exceptions still block the month")
    assert _error_ref(lock["400"]) == "ValidationError"
    stale = schema["paths"]["/api/v1/tickets/{id}/"]["put"]["responses"]["409"]
    assert _error_ref(stale) == "TicketConflict"


def test_a_null_is_stored_as_the_blank_a_write_took_before():
    from billing.api.decisions_serializers import WorkAfterTheFactSerializer

    field = WorkAfterTheFactSerializer().fields["classification"]
    assert field.run_validation(None) == field.run_validation("") == ""
    assert field.run_validation("billable") == "billable"
