"""Writes of the work: opening and changing tickets, logging time.

Every change with a rule goes through here — pages, API, admin and commands
alike. Each service validates, writes inside one transaction and records the
billing moment it creates; nothing is half-saved.
"""

from ._common import TICKET_WRITERS, organization_today
from .tickets import (
    TicketConflict,
    moment_raise,
    ticket_delete,
    ticket_open,
    ticket_update,
    validate_ticket_opening,
)
from .time_entries import (
    LOCKED_MESSAGE,
    MAX_MINUTES_PER_ENTRY,
    LoggedTime,
    time_entry_create,
    time_entry_delete,
    time_entry_update,
    validate_time,
)

__all__ = [
    "LOCKED_MESSAGE",
    "MAX_MINUTES_PER_ENTRY",
    "TICKET_WRITERS",
    "LoggedTime",
    "TicketConflict",
    "moment_raise",
    "organization_today",
    "ticket_delete",
    "ticket_open",
    "ticket_update",
    "time_entry_create",
    "time_entry_delete",
    "time_entry_update",
    "validate_ticket_opening",
    "validate_time",
]
