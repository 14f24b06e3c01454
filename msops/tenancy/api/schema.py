"""The API's error answers in the OpenAPI schema, in one place.

Every error has one shape (:mod:`msops.tenancy.api.exceptions` writes it):
``{"detail": str, "code": str, "fields": {field: [messages]}}``. ``AutoSchema``
documents, on every operation, the errors it can answer, so a generated
client knows them without reading the code:

- 400 where the operation takes input (a body, query or header parameters);
- 401 and 403 wherever a token is needed (every operation);
- 404 where the path names an object, and on paginated lists (a page past
  the end);
- 409 on every write: a locked billing period or a stale version;
- 422 where an ``Idempotency-Key`` header is accepted (the key was used for
  a different request);
- 429 everywhere (throttling is global), with ``Retry-After``.

A status a view documents itself (``@extend_schema(responses=...)``) keeps
its description; when it has no body there, it gets the error body.
"""

from drf_spectacular import openapi
from drf_spectacular.utils import OpenApiResponse, extend_schema_field
from rest_framework import serializers

ERROR_CODES = {
    "invalid": "400: a field or the input is invalid (see ``fields``)",
    "parse_error": "400: the body is not valid JSON (or not the declared media type)",
    "not_authenticated": "401: no API token",
    "authentication_failed": "401: an invalid, expired or revoked API token",
    "permission_denied": "403: your role in this organization may not do this",
    "not_found": "404: no such object in your organization, or a page past the end",
    "method_not_allowed": "405",
    "not_acceptable": "406",
    "unsupported_media_type": "415",
    "conflict": "409: a stale version; nothing was saved",
    "period_locked": "409: the billing period is locked; nothing was saved",
    "in_use": "409: work or records refer to it, so it can't be deleted; end it instead",
    "refused": "409: the object's state does not allow deleting it (see ``detail``)",
    "idempotency_key_reused": "422: the Idempotency-Key was used for a different request",
    "throttled": "429: too many requests; retry after ``Retry-After`` seconds",
    "server_error": "500: a bug on our side; it has been logged",
}

# One field's messages: a list of strings; a nested object's messages keep its
# shape (an object of fields, or a list with one object per item).
FIELD_MESSAGES_SCHEMA = {
    "type": "object",
    "additionalProperties": {
        "anyOf": [
            {"type": "array", "items": {"anyOf": [{"type": "string"}, {"type": "object"}]}},
            {"type": "object"},
        ]
    },
}


@extend_schema_field(FIELD_MESSAGES_SCHEMA)
class FieldMessagesField(serializers.DictField):
    pass


class ErrorSerializer(serializers.Serializer):
    """Every API error, whatever its status."""

    detail = serializers.CharField(help_text="What went wrong, in words for a person.")
    code = serializers.CharField(
        help_text="What went wrong, for a program: "
        + "; ".join(f"``{code}`` ({meaning})" for code, meaning in ERROR_CODES.items())
        + "."
    )

    def get_fields(self):
        # ``fields`` is a Serializer attribute, so the member is added here.
        fields = super().get_fields()
        fields["fields"] = FieldMessagesField(
            help_text="The messages of each field the error is about; empty when it is "
            "not about particular fields. Errors about the input as a whole are under "
            "``non_field_errors``."
        )
        return fields


class ValidationErrorSerializer(ErrorSerializer):
    """Invalid input (400): ``code`` is ``invalid`` (``parse_error`` for a body
    that can't be read), ``detail`` a short summary, and ``fields`` the
    messages of each field — nested objects and lists keep their shape."""


WRITE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
IDEMPOTENCY_HEADER = "idempotency-key"
RETRY_AFTER = {
    "Retry-After": {
        "schema": {"type": "integer"},
        "description": "Seconds to wait before trying again.",
    }
}


class AutoSchema(openapi.AutoSchema):
    def get_operation(self, path, path_regex, path_prefix, method, registry):
        operation = super().get_operation(path, path_regex, path_prefix, method, registry)
        if operation is None:
            return None
        responses = operation["responses"]
        for status, error in self._errors(operation).items():
            documented = responses.get(status)
            if documented is None:
                responses[status] = self._get_response_for_code(error, status)
            elif "content" not in documented:
                description = documented.get("description") or error.description
                body = OpenApiResponse(error.response, description=description)
                responses[status] = {**documented, **self._get_response_for_code(body, status)}
            if status == "429":
                responses[status].setdefault("headers", {}).update(RETRY_AFTER)
        operation["responses"] = dict(sorted(responses.items()))
        return operation

    def _errors(self, operation: dict) -> dict[str, OpenApiResponse]:
        parameters = operation.get("parameters", [])
        inputs = {parameter["in"] for parameter in parameters}
        headers = {p["name"].lower() for p in parameters if p["in"] == "header"}
        queries = {p["name"] for p in parameters if p["in"] == "query"}
        errors: dict[str, OpenApiResponse] = {}
        if "requestBody" in operation or inputs - {"path"}:
            errors["400"] = OpenApiResponse(
                ValidationErrorSerializer,
                description="Invalid input: the messages of each field are in ``fields``.",
            )
        if operation.get("security"):
            errors["401"] = OpenApiResponse(
                ErrorSerializer,
                description="No API token, or an invalid, expired or revoked one.",
            )
            errors["403"] = OpenApiResponse(
                ErrorSerializer, description="Your role in this organization may not do this."
            )
        if "path" in inputs or "page" in queries:
            errors["404"] = OpenApiResponse(
                ErrorSerializer,
                description="Not found in your organization (or a page past the end).",
            )
        if self.method in WRITE_METHODS:
            errors["409"] = OpenApiResponse(
                ErrorSerializer,
                description="Refused, nothing saved: the billing period is locked "
                "(``period_locked``), the version you sent is stale (``conflict``), or "
                "(deleting) work or records refer to it (``in_use``), or its state does not "
                "allow it (``refused``).",
            )
        if IDEMPOTENCY_HEADER in headers:
            errors["422"] = OpenApiResponse(
                ErrorSerializer,
                description="This Idempotency-Key was already used for a different request, "
                "or what it created was removed since (``idempotency_key_reused``); nothing "
                "was saved.",
            )
        errors["429"] = OpenApiResponse(
            ErrorSerializer, description="Too many requests: retry after ``Retry-After`` seconds."
        )
        return errors
