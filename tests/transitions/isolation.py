"""Isolation-test data for transitions (merged by tests/isolation.py)."""

import datetime

from tests.isolation_types import Route, collection, obj
from transitions.models import RecurringOccurrence, RecurringTask, Risk

ROUTES: dict[str, Route] = {
    "api:recurring-task-list": collection(),
    "api:recurring-task-detail": obj(pk="recurring_task"),
    "api:recurring-occurrence-list": collection(),
    "api:recurring-occurrence-detail": obj(pk="recurring_occurrence"),
    "api:risk-list": collection(),
    "api:risk-detail": obj(pk="risk"),
}


def build(organization, tag: str, world: dict) -> dict:
    """One of each transitions object for ``organization``, with ``tag`` in
    their text. Uses the client, member, request type and ticket that the
    earlier builders made."""
    recurring_task = RecurringTask.objects.create(
        organization=organization,
        client=world["client"],
        title=f"Patch servers {tag}",
        cadence=RecurringTask.Cadence.MONTHLY,
        owner=world["membership"],
        request_type=world["request_type"],
        next_due=datetime.date(2026, 12, 1),
        known_exceptions=f"Skip the database host {tag}",
    )
    occurrence = RecurringOccurrence.objects.create(
        organization=organization,
        recurring_task=recurring_task,
        due_on=datetime.date(2026, 11, 1),
        ticket=world["ticket"],
    )
    risk = Risk.objects.create(
        organization=organization,
        client=world["client"],
        description=f"Backups never tested {tag}",
        severity=Risk.Severity.HIGH,
        owner=world["membership"],
        next_action=f"Restore drill {tag}",
    )
    return {
        "recurring_task": recurring_task,
        "recurring_occurrence": occurrence,
        "risk": risk,
    }
