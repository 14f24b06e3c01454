"""Billing's writes, split by subdomain. Every decision, scope-check
transition and time entry write with billing meaning goes through here —
pages, API, admin, commands and tasks alike:

- ``decisions`` — decisions that apply forward, reclassification;
- ``after_the_fact`` — work already done becomes a ticket, its time and its decision;
- ``time_entries`` — log, correct, move and remove time, with the meaning of each minute;
- ``scope_checks`` — approve, reject, ask the client, the client's answer;
- ``client_link`` — the client's signed, single-use link;
- ``moments`` — out of scope and change request, raised by hand.
- ``timers`` — a person's running timer on a ticket; stopping logs its time.
"""

from tickets.services import LoggedTime, TicketConflict, moment_raise

from ._common import APPROVERS, DECIDERS, flags_check_soon, portion_status
from .after_the_fact import NO_APPROVAL_AFTER_THE_FACT, work_log_after_the_fact
from .client_link import (
    CLIENT_LINK_SALT,
    ClientLinkError,
    link_organization_id,
    scope_check_client_link,
    scope_check_from_link,
)
from .decisions import ScopeCheckRequest, decision_record, decision_rule, entries_reclassify
from .moments import ticket_mark_change_request, ticket_mark_out_of_scope
from .scope_checks import (
    scope_check_approve,
    scope_check_ask_client,
    scope_check_client_answer,
    scope_check_reject,
)
from .time_entries import (
    check_work_date,
    time_entry_correct,
    time_entry_log,
    time_entry_remove,
)
from .timers import (
    MAX_TIMER_MINUTES,
    TimerStarted,
    timer_discard,
    timer_start,
    timer_stop,
    timesheet_cell_set,
)

__all__ = [
    "APPROVERS",
    "CLIENT_LINK_SALT",
    "DECIDERS",
    "MAX_TIMER_MINUTES",
    "NO_APPROVAL_AFTER_THE_FACT",
    "ClientLinkError",
    "LoggedTime",
    "ScopeCheckRequest",
    "TicketConflict",
    "TimerStarted",
    "check_work_date",
    "decision_record",
    "decision_rule",
    "entries_reclassify",
    "flags_check_soon",
    "link_organization_id",
    "moment_raise",
    "portion_status",
    "scope_check_approve",
    "scope_check_ask_client",
    "scope_check_client_answer",
    "scope_check_client_link",
    "scope_check_from_link",
    "scope_check_reject",
    "ticket_mark_change_request",
    "ticket_mark_out_of_scope",
    "time_entry_correct",
    "time_entry_log",
    "time_entry_remove",
    "timer_discard",
    "timer_start",
    "timer_stop",
    "timesheet_cell_set",
    "work_log_after_the_fact",
]
