import logging

from django.conf import settings
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import DatabaseError
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler
from rest_framework.views import set_rollback

from msops.sql import refused_by_locked_period

logger = logging.getLogger("msops.api")
# Error codes that mean "this billing period is locked": the API answers 409.
LOCKED_CODES = frozenset({"period_locked", "locked"})
# Error codes that mean "someone changed it since you read it" (a stale version): 409.
CONFLICT_CODES = frozenset({"conflict"})


def _codes(exc: DjangoValidationError) -> set[str]:
    if hasattr(exc, "error_dict"):
        return {e.code for errors in exc.error_dict.values() for e in errors}
    return {e.code for e in exc.error_list}


def exception_handler(exc, context):
    """DRF's handler, plus: a Django ValidationError raised by a service is a
    400 with the same field messages a form would show (409 when it says a
    billing period is locked, or that a version is stale); the database
    refusing a locked period is a 409."""
    if isinstance(exc, DatabaseError) and refused_by_locked_period(exc):
        return Response({"detail": str(exc.__cause__).split("\n")[0]}, status.HTTP_409_CONFLICT)
    if isinstance(exc, DjangoValidationError):
        if hasattr(exc, "error_dict"):
            detail = {
                ("non_field_errors" if field == "__all__" else field): messages
                for field, messages in exc.message_dict.items()
            }
        else:
            detail = {"non_field_errors": exc.messages}
        if _codes(exc) & (LOCKED_CODES | CONFLICT_CODES):
            return Response(detail, status=status.HTTP_409_CONFLICT)
        exc = exceptions.ValidationError(detail)
    response = drf_exception_handler(exc, context)
    if response is None and not settings.DEBUG:
        # Anything else is a bug: logged with its traceback, answered in JSON
        # (a client of the API never gets an HTML page), its writes undone.
        logger.error("API error", exc_info=exc)
        set_rollback()
        return Response(
            {"detail": "Something went wrong on our side; it has been logged.",
             "code": "server_error"},
            status=status.HTTP_500_INTERNAL_SERVER_ERROR,
        )  # fmt: skip
    return response
