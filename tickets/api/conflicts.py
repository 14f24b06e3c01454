"""The 409 a stale ticket version answers, and its schema: used by every
API that changes a ticket with optimistic locking (tickets, billing)."""

from drf_spectacular.utils import OpenApiResponse
from rest_framework import status
from rest_framework.exceptions import APIException, ErrorDetail

from .serializers import TicketConflictSerializer


class TicketVersionConflict(APIException):
    """409: the ticket changed since the client read it. The body carries the
    ticket as it is now, so the client can show it and retry."""

    status_code = status.HTTP_409_CONFLICT
    default_detail = (
        "The ticket was changed by someone else since you read it; nothing was saved. "
        "Here it is now: apply your change to this version."
    )
    default_code = "conflict"

    def __init__(self, current: dict):
        super().__init__()
        # Set after __init__ so the ticket's numbers stay numbers in the body.
        self.detail = {
            "detail": ErrorDetail(self.default_detail, code=self.default_code),
            "current": current,
        }


CONFLICT_RESPONSE = OpenApiResponse(
    TicketConflictSerializer,
    description="Stale version: nothing was saved; ``current`` is the ticket as it is now.",
)
