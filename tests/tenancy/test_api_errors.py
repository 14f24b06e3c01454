"""Every API error answers in one format: ``{"detail", "code", "fields"}``
(README "API errors"), whatever raised it and whether or not it reached DRF."""

from unittest import mock

import pytest
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404
from django.test import RequestFactory
from rest_framework import exceptions, status
from rest_framework.test import APIClient
from rest_framework.throttling import UserRateThrottle

from msops.tenancy.api.exceptions import exception_handler, page_not_found, server_error
from msops.tenancy.models import Role

TICKETS = "/api/v1/tickets/"


def handled(exc):
    return exception_handler(exc, {})


def assert_error(response, status_code: int, code: str) -> dict:
    assert response.status_code == status_code, response.content
    assert response["Content-Type"].startswith("application/json")
    body = response.json()
    assert set(body) >= {"detail", "code", "fields"}
    assert body["code"] == code and isinstance(body["detail"], str) and body["detail"]
    return body


# --- over HTTP --------------------------------------------------------------------------
def test_invalid_input_is_a_400_with_each_fields_messages(api, developer):
    body = assert_error(api(developer).post(TICKETS, {"title": ""}), 400, "invalid")
    assert body["detail"] == "Invalid input."
    assert body["fields"]["title"] == ["This field may not be blank."]
    assert body["fields"]["client"] == ["This field is required."]


def test_nested_input_errors_keep_their_shape(api, admin_member, org):
    from tests.factories import ClientFactory

    client = ClientFactory(organization=org)
    payload = {
        "client": client.pk,
        "name": "Support",
        "kind": "block",
        "starts_on": "2025-01-01",
        "terms": {"included_minutes": "lots"},
    }
    response = api(admin_member).post("/api/v1/contracts/", payload, format="json")
    fields = assert_error(response, 400, "invalid")["fields"]
    assert isinstance(fields["terms"], dict) and isinstance(
        fields["terms"]["included_minutes"], list
    )


def test_a_body_that_is_not_json_is_a_parse_error(api, developer):
    response = api(developer).post(TICKETS, "{not json", content_type="application/json")
    assert assert_error(response, 400, "parse_error")["fields"] == {}


def test_no_token_is_a_401_not_authenticated(db):
    response = APIClient().get("/api/v1/organization/")
    assert_error(response, 401, "not_authenticated")
    assert response["WWW-Authenticate"] == "Bearer"


def test_a_wrong_token_is_a_401_authentication_failed(db):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION="Bearer msops_nothing_here")
    assert_error(client.get("/api/v1/memberships/"), 401, "authentication_failed")


def test_a_role_that_may_not_is_a_403_permission_denied(api, members):
    response = api(members[Role.FINANCE]).post(TICKETS, {"title": "x"})
    assert_error(response, 403, "permission_denied")


def test_another_organizations_object_is_a_404_not_found(api, developer, stranger):
    assert_error(api(developer).get(f"/api/v1/memberships/{stranger.pk}/"), 404, "not_found")


def test_a_page_past_the_end_is_a_404_not_found(api, developer):
    assert_error(api(developer).get("/api/v1/memberships/?page=99"), 404, "not_found")


def test_an_unknown_api_url_is_a_json_404(api, developer):
    body = assert_error(api(developer).get("/api/v1/no-such-thing/"), 404, "not_found")
    assert body == {"detail": "Not found.", "code": "not_found", "fields": {}}
    assert_error(APIClient().post("/api/v1/tickets/1/nothing/", {}), 404, "not_found")


def test_an_unknown_page_outside_the_api_is_still_an_html_404(client, db):
    response = client.get("/no-such-page/")
    assert response.status_code == 404
    assert response["Content-Type"].startswith("text/html")


def test_a_method_the_route_does_not_take_is_a_405(api, developer):
    assert_error(api(developer).delete("/api/v1/organization/"), 405, "method_not_allowed")


def test_an_unacceptable_media_type_is_a_406(api, developer):
    response = api(developer).get(TICKETS, HTTP_ACCEPT="application/xml")
    assert_error(response, 406, "not_acceptable")


def test_an_unsupported_body_type_is_a_415(api, developer):
    response = api(developer).post(TICKETS, "<a/>", content_type="application/xml")
    assert_error(response, 415, "unsupported_media_type")


def test_too_many_requests_is_a_429_that_says_when_to_retry(api, developer):
    client = api(developer)
    with mock.patch.object(UserRateThrottle, "THROTTLE_RATES", {"user": "1/min"}):
        client.get("/api/v1/organization/")
        response = client.get("/api/v1/organization/")
    assert_error(response, 429, "throttled")
    assert int(response["Retry-After"]) > 0


# --- the handler, for what is hard to provoke over HTTP ---------------------------------
@pytest.mark.parametrize(
    "exc,status_code,code",
    [
        (Http404("No Ticket matches the given query."), 404, "not_found"),
        (DjangoPermissionDenied(), 403, "permission_denied"),
        (exceptions.Throttled(wait=7), 429, "throttled"),
        (exceptions.NotAcceptable(), 406, "not_acceptable"),
    ],
)
def test_drf_and_django_exceptions_keep_their_status_and_code(exc, status_code, code):
    response = handled(exc)
    assert response.status_code == status_code
    assert response.data["code"] == code and response.data["fields"] == {}


def test_a_throttled_answer_keeps_its_retry_after_header():
    assert handled(exceptions.Throttled(wait=7))["Retry-After"] == "7"


def test_an_exception_with_its_own_status_and_code_passes_through():
    class KeyReused(exceptions.APIException):
        status_code = status.HTTP_422_UNPROCESSABLE_ENTITY
        default_detail = "This Idempotency-Key was used for a different request."
        default_code = "idempotency_key_reused"

    response = handled(KeyReused())
    assert response.status_code == 422
    assert response.data == {
        "detail": "This Idempotency-Key was used for a different request.",
        "code": "idempotency_key_reused",
        "fields": {},
    }


def test_an_error_about_the_whole_input_is_under_non_field_errors():
    response = handled(exceptions.ValidationError("Pick either a or b."))
    assert response.status_code == 400
    assert response.data["fields"] == {"non_field_errors": ["Pick either a or b."]}


def test_a_field_message_given_as_text_is_still_a_list():
    response = handled(exceptions.ValidationError({"month": "Give the month as YYYY-MM."}))
    assert response.data["fields"] == {"month": ["Give the month as YYYY-MM."]}


def test_a_services_validation_error_is_a_400_with_its_fields():
    error = DjangoValidationError({"__all__": ["Not now."], "minutes": ["Too many."]})
    response = handled(error)
    assert response.status_code == 400
    assert response.data == {
        "detail": "Invalid input.",
        "code": "invalid",
        "fields": {"non_field_errors": ["Not now."], "minutes": ["Too many."]},
    }


@pytest.mark.parametrize(
    "raised,code",
    [("locked", "period_locked"), ("period_locked", "period_locked"), ("conflict", "conflict")],
)
def test_a_locked_period_or_a_stale_version_is_a_409_with_its_code(raised, code):
    error = DjangoValidationError(
        {"work_date": DjangoValidationError("May is locked.", code=raised)}
    )
    response = handled(error)
    assert response.status_code == 409
    assert response.data == {
        "detail": "May is locked.",
        "code": code,
        "fields": {"work_date": ["May is locked."]},
    }


def test_a_stale_version_keeps_the_current_object_beside_the_error():
    from tickets.api.conflicts import TicketVersionConflict

    response = handled(TicketVersionConflict({"id": 3, "version": 4}))
    assert response.status_code == 409
    assert response.data["code"] == "conflict" and response.data["fields"] == {}
    assert response.data["current"] == {"id": 3, "version": 4}


def test_djangos_error_views_answer_json_on_api_paths_and_html_elsewhere(rf: RequestFactory):
    api_404 = page_not_found(rf.get("/api/v1/nope/"), Http404())
    assert api_404.status_code == 404 and api_404["Content-Type"] == "application/json"
    api_500 = server_error(rf.get("/api/v1/tickets/"))
    assert api_500.status_code == 500 and b'"code": "server_error"' in api_500.content
    page_500 = server_error(rf.get("/o/acme/"))
    assert page_500.status_code == 500 and page_500["Content-Type"].startswith("text/html")
