"""Every API error, in one format (README "API errors"; the schema documents
it in :mod:`msops.tenancy.api.schema`)::

    {"detail": "What went wrong, for a person.",
     "code": "what_went_wrong_for_a_program",
     "fields": {"field": ["message", ...], ...}}

``fields`` is always there: the messages of each field the error is about,
nested objects keeping their shape; empty when it is about no field. An
error may add members of its own (a stale version's 409 adds ``current``).
DRF's exceptions keep their status and code; ``exception_handler`` also
answers a service's Django ValidationError (400, or 409 for a locked period
or a stale version), the database refusing a locked period (409) and any
other exception (500); the Django handlers at the end answer /api/ paths that
never reach a view (an unknown URL) in the same format."""

import logging
from functools import partial

from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import DatabaseError, connection, transaction
from django.http import Http404, JsonResponse
from django.views import defaults
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.settings import api_settings
from rest_framework.views import exception_handler as drf_exception_handler

from msops.errors import IN_USE, REFUSED
from msops.sql import refused_by_locked_period

logger = logging.getLogger("msops.api")
# Error codes that mean "this billing period is locked": the API answers 409.
LOCKED_CODES = frozenset({"period_locked", "locked"})
# Error codes that mean "someone changed it since you read it" (a stale version): 409.
CONFLICT_CODES = frozenset({"conflict"})
# "It is referred to by work or records" (a delete refused): 409 in_use.
IN_USE_CODES = frozenset({IN_USE})
# A delete its object's state does not allow ("only the last band can go"), or a
# service's refusal coded ``refused`` (msops/errors.py): 409 refused.
INVALID_INPUT = "Invalid input."
SERVER_ERROR = "Something went wrong on our side; it has been logged."
API_PREFIX = "/api/"


def set_rollback(context: dict) -> None:
    """Undo the request's writes: a tenant request runs in one transaction,
    the innermost one by the time an error is answered (OrganizationMiddleware).
    DRF's own ``set_rollback`` acts only under ATOMIC_REQUESTS."""
    request = context.get("request")
    in_tenant = getattr(getattr(request, "_request", request), "organization", None) is not None
    if in_tenant and connection.in_atomic_block:
        transaction.set_rollback(True)


def error_body(*, detail: str, code: str, fields: dict | None = None, **extra) -> dict:
    return {"detail": str(detail), "code": code, "fields": fields or {}, **extra}


def _codes(exc: DjangoValidationError) -> set[str]:
    if hasattr(exc, "error_dict"):
        return {e.code for errors in exc.error_dict.values() for e in errors}
    return {e.code for e in exc.error_list}


def _django_fields(exc: DjangoValidationError) -> dict:
    if hasattr(exc, "error_dict"):
        return {
            (api_settings.NON_FIELD_ERRORS_KEY if field == "__all__" else field): messages
            for field, messages in exc.message_dict.items()
        }
    return {api_settings.NON_FIELD_ERRORS_KEY: exc.messages}


def _messages(value):
    """A field's messages as a list; a nested object's keep their shape."""
    if isinstance(value, dict):
        return {key: _messages(inner) for key, inner in value.items()}
    if isinstance(value, list):
        return [inner if isinstance(inner, str) else _messages(inner) for inner in value]
    return [value]


def _fields(detail) -> dict:
    """DRF's field messages with their shape; a bare list is about the input as a whole."""
    if isinstance(detail, dict):
        return _messages(detail)
    return {api_settings.NON_FIELD_ERRORS_KEY: _messages(detail)}


def _first(detail):
    """The first message of a (possibly nested) DRF error detail."""
    if isinstance(detail, dict):
        detail = next(iter(detail.values()), None)
    if isinstance(detail, list):
        detail = detail[0] if detail else None
    if isinstance(detail, dict | list):
        return _first(detail)
    return detail


def _body(exc: exceptions.APIException) -> dict:
    detail = exc.detail
    if isinstance(exc, exceptions.ValidationError) and exc.status_code == 400:
        return error_body(detail=INVALID_INPUT, code="invalid", fields=_fields(detail))
    if isinstance(detail, dict) and "detail" in detail:
        # A message and members of its own (a stale version's ``current``).
        extra = {key: value for key, value in detail.items() if key != "detail"}
        message = detail["detail"]
        code = getattr(message, "code", None) or exc.default_code
        return error_body(detail=message, code=code, **extra)
    if isinstance(detail, dict | list):
        message = _first(detail)
        code = getattr(message, "code", None) or exc.default_code
        return error_body(detail=message or exc.default_detail, code=code, fields=_fields(detail))
    return error_body(detail=detail, code=getattr(detail, "code", None) or exc.default_code)


def _method(context: dict) -> str:
    request = context.get("request")
    return getattr(request, "method", "") or ""


def _refusal(exc: DjangoValidationError, context: dict) -> Response | None:
    """409 for a service's ValidationError that says the period is locked or
    the version is stale; None for any other."""
    codes = _codes(exc)
    if codes & LOCKED_CODES:
        code = "period_locked"
    elif codes & CONFLICT_CODES:
        code = "conflict"
    elif codes & IN_USE_CODES:
        code = IN_USE
    elif REFUSED in codes:
        code = REFUSED
    elif _method(context) == "DELETE" and not set(_django_fields(exc)) - {
        api_settings.NON_FIELD_ERRORS_KEY
    }:
        # A delete takes no input: refused, it is about the object's state.
        code = REFUSED
    else:
        return None
    set_rollback(context)
    body = error_body(detail=exc.messages[0], code=code, fields=_django_fields(exc))
    return Response(body, status=status.HTTP_409_CONFLICT)


def exception_handler(exc, context):
    """DRF's handler in our one format, plus: a Django ValidationError raised
    by a service is a 400 with the same field messages a form would show (409
    when it says a billing period is locked, or that a version is stale); the
    database refusing a locked period is a 409; anything else a JSON 500."""
    if isinstance(exc, DatabaseError) and refused_by_locked_period(exc):
        set_rollback(context)
        message = str(exc.__cause__).split("\n")[0]
        body = error_body(detail=message, code="period_locked")
        return Response(body, status=status.HTTP_409_CONFLICT)
    if isinstance(exc, DjangoValidationError):
        refusal = _refusal(exc, context)
        if refusal is not None:
            return refusal
        exc = exceptions.ValidationError(_django_fields(exc))
    elif isinstance(exc, Http404):
        exc = exceptions.NotFound(*exc.args)
    elif isinstance(exc, PermissionDenied):
        exc = exceptions.PermissionDenied(*exc.args)
    response = drf_exception_handler(exc, context)
    if response is not None:
        set_rollback(context)  # an error answer saves nothing
    if response is None:
        if settings.DEBUG:
            return None  # the developer's traceback page
        # Anything else is a bug: logged with its traceback, answered in JSON
        # (a client of the API never gets an HTML page), its writes undone.
        logger.error("API error", exc_info=exc)
        set_rollback(context)
        body = error_body(detail=SERVER_ERROR, code="server_error")
        return Response(body, status=status.HTTP_500_INTERNAL_SERVER_ERROR)
    response.data = _body(exc)
    return response


# --- Django's error views (msops/urls.py): JSON on /api/ paths ---------------------------
def _api_or_page(request, page, *, status_code: int, detail: str, code: str):
    if request.path.startswith(API_PREFIX):
        return JsonResponse(error_body(detail=detail, code=code), status=status_code)
    return page()


def bad_request(request, exception, template_name="400.html"):
    page = partial(defaults.bad_request, request, exception, template_name)
    return _api_or_page(request, page, status_code=400, detail="Bad request.", code="invalid")


def permission_denied(request, exception, template_name="403.html"):
    page = partial(defaults.permission_denied, request, exception, template_name)
    detail = str(exceptions.PermissionDenied.default_detail)
    return _api_or_page(request, page, status_code=403, detail=detail, code="permission_denied")


def page_not_found(request, exception, template_name="404.html"):
    page = partial(defaults.page_not_found, request, exception, template_name)
    detail = str(exceptions.NotFound.default_detail)
    return _api_or_page(request, page, status_code=404, detail=detail, code="not_found")


def server_error(request, template_name="500.html"):
    page = partial(defaults.server_error, request, template_name)
    return _api_or_page(request, page, status_code=500, detail=SERVER_ERROR, code="server_error")
