"""A recurring occurrence not done by its due date raises an exception flag.

Like billing's flag rules (billing/flags/), one set-based ``INSERT … SELECT …
ON CONFLICT DO NOTHING`` over the organization's occurrences: the unique
constraint (organization, kind, subject, period) makes a re-run, or two runs
at once, raise each flag once. The flag lives in billing (flags are billing's
record of what people miss); the rule lives here, beside the occurrences it
reads, because billing may not import transitions.
"""

import datetime

from django.utils import timezone

from billing.flags.sql import FLAG_COLUMNS, execute
from billing.models import ExceptionFlag
from clients.models import Client
from msops.sql import concat, sql_list, table
from msops.tenancy.models import Organization
from msops.timezones import organization_today
from tickets.models import Ticket

from .models import RecurringOccurrence, RecurringTask


def recurring_overdue_flags(
    *, organization: Organization, now: datetime.datetime | None = None
) -> int:
    """Flag every occurrence whose ticket is still open once its due date
    has passed: due before the organization's today (the due day itself is
    still in time). Subject ``occurrence:<id>``, owned by the client's account
    manager like the other flags. Returns how many flags were raised."""
    now = now or timezone.now()
    today = organization_today(organization, now=now)
    occurrence, task, ticket, client, flag = (
        table(RecurringOccurrence), table(RecurringTask), table(Ticket), table(Client),
        table(ExceptionFlag),
    )  # fmt: skip
    key = concat("'occurrence:'", "o.id")
    detail = concat("rt.title", "', due '", "o.due_on", "', still open'")
    sql = (
        f"INSERT INTO {flag} ({FLAG_COLUMNS})"  # noqa: S608 (table names and constants only)
        f" SELECT o.organization_id, '{ExceptionFlag.Kind.RECURRING_OVERDUE}',"
        f" {key}, '-', t.id, t.contract_id, t.client_id,"
        f" SUBSTR({detail}, 1, 300), 'open', c.account_manager_id, %s, ''"
        f" FROM {occurrence} o JOIN {task} rt ON rt.id = o.recurring_task_id"
        f" JOIN {ticket} t ON t.id = o.ticket_id JOIN {client} c ON c.id = t.client_id"
        " WHERE o.organization_id = %s AND o.due_on < %s"
        f" AND t.status IN ({sql_list(Ticket.OPEN_STATUSES)})"
        " ON CONFLICT (organization_id, kind, subject_key, period_key) DO NOTHING"
    )
    return execute(sql, [now, organization.pk, today])
