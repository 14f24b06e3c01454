"""Writes of transitions/: recurring tasks, the beat job that opens their
occurrences' tickets, and risks.

Every service takes the organization explicitly (or an object that carries
it), reports every problem at once as a ``ValidationError`` keyed by field,
and writes in ``transaction.atomic``: a refused write leaves nothing behind.
"""

import datetime
import logging
from collections.abc import Mapping
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction

from clients.models import Client, RequestType
from msops.calendar import add_months
from msops.tenancy.models import Membership, Organization
from msops.timezones import organization_today
from tickets.models import Ticket
from tickets.services import TICKET_WRITERS, ticket_open

from .models import RecurringOccurrence, RecurringTask, Risk

logger = logging.getLogger(__name__)

Errors = dict[str, list[str]]
TITLE_MAX = 200
RECURRING_TASK_FIELDS = (
    "title",
    "cadence",
    "owner",
    "request_type",
    "next_due",
    "known_exceptions",
    "active",
)
RISK_FIELDS = ("description", "severity", "owner", "next_action", "status")


def _add(errors: Errors, field: str, message: str) -> None:
    errors.setdefault(field, []).append(message)


def _belongs(obj, organization_id: int) -> bool:
    return obj is not None and getattr(obj, "organization_id", None) == organization_id


def _assign(instance, data: Mapping[str, Any], allowed: tuple[str, ...]) -> None:
    unknown = sorted(set(data) - set(allowed))
    if unknown:
        raise ValidationError({field: "This field cannot be changed here." for field in unknown})
    for field, value in data.items():
        setattr(instance, field, value)


def _check_choice(errors: Errors, field: str, value, choices, label: str) -> None:
    if value not in choices:
        _add(errors, field, f"“{value}” is not a {label}.")


def _check_client(errors: Errors, client, organization_id: int, *, for_new_work: bool) -> None:
    if not _belongs(client, organization_id):
        _add(errors, "client", "Choose a client of this organization.")
    elif for_new_work and client.status == Client.Status.ENDED:
        _add(errors, "client", "This client has ended; no new work is planned for it.")


def _raise(errors: Errors) -> None:
    if errors:
        raise ValidationError(errors)


# --- recurring tasks ---------------------------------------------------------
def next_due_after(*, cadence: str, due_on: datetime.date) -> datetime.date:
    """The due date after ``due_on`` for ``cadence``: a week, a month or a
    quarter later (a month's 31st → the shorter month's last day)."""
    if cadence == RecurringTask.Cadence.WEEKLY:
        return due_on + datetime.timedelta(days=7)
    if cadence == RecurringTask.Cadence.MONTHLY:
        return add_months(due_on, 1)
    if cadence == RecurringTask.Cadence.QUARTERLY:
        return add_months(due_on, 3)
    raise ValueError(f"unknown cadence {cadence!r}")


def _recurring_task_errors(
    task: RecurringTask, *, stored: RecurringTask | None, today: datetime.date
) -> Errors:
    """Every problem of ``task`` as it would be saved; ``stored`` is the row
    before the change (None: a new task)."""
    org_id = task.organization_id
    errors: Errors = {}
    task.title = (task.title or "").strip() if isinstance(task.title, str) else task.title
    if not isinstance(task.title, str) or not task.title:
        _add(errors, "title", "Give the recurring task a short title.")
    elif len(task.title) > TITLE_MAX:
        _add(errors, "title", f"Keep the title within {TITLE_MAX} characters.")
    _check_choice(errors, "cadence", task.cadence, RecurringTask.Cadence.values, "cadence")
    if stored is None:
        _check_client(errors, task.client, org_id, for_new_work=True)
    elif task.client_id != stored.client_id:
        _add(errors, "client", "A recurring task stays with its client: create a new one.")
    if not isinstance(task.owner, Membership) or not _belongs(task.owner, org_id):
        _add(errors, "owner", "Choose a member of this organization.")
    elif task.owner.role not in TICKET_WRITERS and (
        stored is None or task.owner_id != stored.owner_id
    ):
        _add(
            errors,
            "owner",
            "Its tickets are assigned to the owner: choose someone who "
            "works tickets (not finance).",
        )
    request_type = task.request_type
    if not isinstance(request_type, RequestType) or not _belongs(request_type, org_id):
        _add(errors, "request_type", "Choose a request type of this organization.")
    elif not request_type.is_active and (
        stored is None or task.request_type_id != stored.request_type_id
    ):
        _add(errors, "request_type", "This request type is no longer in use.")
    next_due = task.next_due
    if not isinstance(next_due, datetime.date) or isinstance(next_due, datetime.datetime):
        _add(errors, "next_due", "Give the next due date as a date (YYYY-MM-DD).")
    else:
        moved = stored is None or next_due != stored.next_due
        restarted = stored is not None and task.active and not stored.active
        if (moved or restarted) and task.active and next_due < today:
            _add(
                errors,
                "next_due",
                f"The next occurrence is due today ({today:%Y-%m-%d}) or later: "
                "past occurrences are not opened after the fact.",
            )
    if not isinstance(task.known_exceptions, str):
        _add(errors, "known_exceptions", "Describe the exceptions in words.")
    if not isinstance(task.active, bool):
        _add(errors, "active", "Give true or false.")
    return errors


@transaction.atomic
def recurring_task_create(
    *,
    organization: Organization,
    client: Client,
    title: str,
    cadence: str,
    owner: Membership,
    request_type: RequestType,
    next_due: datetime.date,
    known_exceptions: str = "",
    active: bool = True,
) -> RecurringTask:
    task = RecurringTask(
        organization=organization,
        client=client,
        title=title,
        cadence=cadence,
        owner=owner,
        request_type=request_type,
        next_due=next_due,
        known_exceptions=known_exceptions,
        active=active,
    )
    today = organization_today(organization)
    _raise(_recurring_task_errors(task, stored=None, today=today))
    task.save()
    return task


@transaction.atomic
def recurring_task_update(
    *, recurring_task: RecurringTask, data: Mapping[str, Any]
) -> RecurringTask:
    """Change title, cadence, owner, request type, next due date, known
    exceptions or whether it is active. The client stays."""
    data = dict(data)
    if "client" in data and getattr(data["client"], "pk", data["client"]) == (
        recurring_task.client_id
    ):
        data.pop("client")
    stored = RecurringTask.objects.select_for_update().get(
        organization=recurring_task.organization_id, pk=recurring_task.pk
    )
    if "client" in data:
        raise ValidationError(
            {"client": "A recurring task stays with its client: create a new one."}
        )
    _assign(recurring_task, data, RECURRING_TASK_FIELDS)
    today = organization_today(recurring_task.organization)
    _raise(_recurring_task_errors(recurring_task, stored=stored, today=today))
    recurring_task.save()
    return recurring_task


def recurring_task_deactivate(*, recurring_task: RecurringTask) -> RecurringTask:
    """Stop opening tickets for it; its past occurrences stay."""
    return recurring_task_update(recurring_task=recurring_task, data={"active": False})


def _occurrence_ticket_title(task: RecurringTask, due_on: datetime.date) -> str:
    suffix = f" — due {due_on:%Y-%m-%d}"
    return task.title[: TITLE_MAX - len(suffix)].rstrip() + suffix


def _occurrence_ticket_description(task: RecurringTask) -> str:
    lines = [f"Recurring {task.get_cadence_display().lower()} task: {task.title}."]
    if task.known_exceptions.strip():
        lines.append(f"Known exceptions: {task.known_exceptions.strip()}")
    return "\n\n".join(lines)


def _open_due_occurrences(task: RecurringTask, today: datetime.date) -> int:
    """Open every occurrence of ``task`` due by ``today`` not opened yet, and
    move its next due date past today. The task's row is locked, so two runs
    at once take turns; the unique occurrence key makes a second run a no-op."""
    task = (
        RecurringTask.objects.select_for_update(of=("self",))
        .select_related("organization", "client", "owner", "request_type")
        .get(organization=task.organization_id, pk=task.pk)
    )
    opened = 0
    while task.active and task.next_due <= today:
        occurrence, _ = RecurringOccurrence.objects.get_or_create(
            organization=task.organization,
            recurring_task=task,
            due_on=task.next_due,
        )
        if occurrence.ticket_id is None:
            occurrence.ticket = ticket_open(
                organization=task.organization,
                opened_by=None,
                client=task.client,
                request_type=task.request_type,
                title=_occurrence_ticket_title(task, task.next_due),
                description=_occurrence_ticket_description(task),
                source=Ticket.Source.INTERNAL,
                assignee=task.owner,
            )
            occurrence.save(update_fields=["ticket"])
            opened += 1
        task.next_due = next_due_after(cadence=task.cadence, due_on=task.next_due)
    task.save(update_fields=["next_due"])
    return opened


def recurring_tasks_open_due(
    *, organization: Organization, today: datetime.date | None = None
) -> int:
    """The beat job: for every active task due by today (the organization's
    today), open the ticket of each due occurrence once — a late run catches
    up every missed occurrence, one ticket each — and advance its next due
    date. A task whose ticket cannot be opened (its client ended, its request
    type retired, its owner no longer works tickets) is left due and logged;
    the others go on. Returns how many tickets were opened."""
    today = today or organization_today(organization)
    due = RecurringTask.objects.filter(
        organization=organization, active=True, next_due__lte=today
    ).order_by("pk")
    opened = 0
    for task in due:
        try:
            with transaction.atomic():
                opened += _open_due_occurrences(task, today)
        except ValidationError as error:
            logger.warning(
                "recurring task %s of organization %s not opened: %s",
                task.pk,
                organization.pk,
                error.messages,
            )
    return opened


# --- risks --------------------------------------------------------------------
def _risk_errors(risk: Risk, *, stored: Risk | None) -> Errors:
    org_id = risk.organization_id
    errors: Errors = {}
    if stored is None:
        _check_client(errors, risk.client, org_id, for_new_work=False)
    elif risk.client_id != stored.client_id:
        _add(errors, "client", "A risk stays with its client: record a new one.")
    for field in ("description", "next_action"):
        value = getattr(risk, field)
        if not isinstance(value, str):
            _add(errors, field, "Write it in words.")
        else:
            setattr(risk, field, value.strip())
    if isinstance(risk.description, str) and not risk.description:
        _add(errors, "description", "Describe the risk.")
    _check_choice(errors, "severity", risk.severity, Risk.Severity.values, "severity")
    _check_choice(errors, "status", risk.status, Risk.Status.values, "status")
    if not isinstance(risk.owner, Membership) or not _belongs(risk.owner, org_id):
        _add(errors, "owner", "Choose a member of this organization.")
    if (
        risk.status == Risk.Status.OPEN
        and isinstance(risk.next_action, str)
        and not risk.next_action
    ):
        _add(errors, "next_action", "An open risk needs its next action.")
    return errors


@transaction.atomic
def risk_create(
    *,
    organization: Organization,
    client: Client,
    description: str,
    owner: Membership,
    next_action: str = "",
    severity: str = Risk.Severity.MEDIUM,
    status: str = Risk.Status.OPEN,
) -> Risk:
    risk = Risk(
        organization=organization,
        client=client,
        description=description,
        owner=owner,
        next_action=next_action,
        severity=severity,
        status=status,
    )
    _raise(_risk_errors(risk, stored=None))
    risk.save()
    return risk


@transaction.atomic
def risk_update(*, risk: Risk, data: Mapping[str, Any]) -> Risk:
    """Change description, severity, owner, next action or status. The client stays."""
    data = dict(data)
    if "client" in data and getattr(data["client"], "pk", data["client"]) == risk.client_id:
        data.pop("client")
    stored = Risk.objects.select_for_update().get(organization=risk.organization_id, pk=risk.pk)
    if "client" in data:
        raise ValidationError({"client": "A risk stays with its client: record a new one."})
    _assign(risk, data, RISK_FIELDS)
    _raise(_risk_errors(risk, stored=stored))
    risk.save()
    return risk


def risk_close(*, risk: Risk) -> Risk:
    return risk_update(risk=risk, data={"status": Risk.Status.CLOSED})
