"""Isolation-test data for transitions (merged by tests/isolation.py)."""

import datetime

from tests.isolation_types import Route, collection, obj
from transitions.models import (
    ClientBrief,
    Handoff,
    HandoffClient,
    HandoffItem,
    ItemKind,
    RecurringOccurrence,
    RecurringTask,
    ReviewPack,
    Risk,
)

ROUTES: dict[str, Route] = {
    "api:recurring-task-list": collection(),
    "api:recurring-task-detail": obj(pk="recurring_task"),
    "api:recurring-occurrence-list": collection(),
    "api:recurring-occurrence-detail": obj(pk="recurring_occurrence"),
    "api:risk-list": collection(),
    "api:risk-detail": obj(pk="risk"),
    "api:client-brief-list": collection(),
    "api:client-brief-detail": obj(pk="client_brief"),
    "api:client-brief-reviewed": obj(pk="client_brief"),
    "transitions:client_brief": obj(pk="client"),
    "transitions:client_brief_edit": obj(pk="client"),
    "transitions:client_brief_reviewed": obj(pk="client"),
    "transitions:work_list": collection(),
    "transitions:recurring_task_create": collection(),
    "transitions:recurring_task_edit": obj(pk="recurring_task"),
    "transitions:recurring_task_deactivate": obj(pk="recurring_task"),
    "transitions:risk_create": collection(),
    "transitions:risk_edit": obj(pk="risk"),
    "transitions:risk_close": obj(pk="risk"),
    # Signals (transitions/views/signals.py, transitions/api/signals.py).
    "transitions:undocumented_context": collection(),
    "transitions:transition_health": collection(),
    "api:undocumented-context-list": collection(),
    "api:transition-health-list": collection(),
    # Handoffs.
    "api:handoff-list": collection(),
    "api:handoff-detail": obj(pk="handoff"),
    "api:handoff-assign-all": obj(pk="handoff"),
    "api:handoff-acknowledge": obj(pk="handoff"),
    "api:handoff-relist": obj(pk="handoff"),
    "api:handoff-complete": obj(pk="handoff"),
    "api:handoff-cancel": obj(pk="handoff"),
    "api:handoff-document": obj(pk="handoff"),
    "api:handoff-item-list": collection(),
    "api:handoff-item-detail": obj(pk="handoff_item"),
    "transitions:handoff_list": collection(),
    "transitions:handoff_create": collection(),
    "transitions:handoff_detail": obj(pk="handoff"),
    "transitions:handoff_item_assign": obj(pk="handoff", item="handoff_item"),
    "transitions:handoff_assign_all": obj(pk="handoff"),
    "transitions:handoff_acknowledge": obj(pk="handoff"),
    "transitions:handoff_relist": obj(pk="handoff"),
    "transitions:handoff_complete": obj(pk="handoff"),
    "transitions:handoff_cancel": obj(pk="handoff"),
    "transitions:handoff_document": obj(pk="handoff"),
    "transitions:handoff_markdown": obj(pk="handoff"),
    # Review packs (transitions/views/review_pack.py, transitions/api/review_pack.py).
    "transitions:review_packs": collection(),
    "transitions:review_pack_detail": obj(pk="review_pack"),
    "transitions:review_pack_pdf": obj(pk="review_pack"),
    "transitions:review_pack_prepare": obj(pk="client"),
    "api:review-pack-list": collection(),
    "api:review-pack-detail": obj(pk="review_pack"),
    "api:review-pack-pdf": obj(pk="review_pack"),
    "api:review-pack-prepare": collection(),
}


def review_pack_data(tag: str, world: dict) -> dict:
    """The smallest figures the pack page renders, with ``tag`` in them."""
    return {
        "version": 1,
        "client": {"id": world["client"].pk, "name": f"{world['client'].name}"},
        "contract": {
            "id": world["contract"].pk,
            "name": f"Contract {tag}",
            "kind": "retainer",
            "currency": "EUR",
        },
        "period": {
            "start": "2026-08-01",
            "end": "2026-11-01",
            "last_day": "2026-10-31",
            "review_on": "2026-11-01",
        },
        "months": [],
        "totals": {},
        "block": None,
        "scope_changes": {"approved": [], "declined": []},
        "request_types": [{"name": f"Patching {tag}", "tickets": 3, "minutes": 90}],
        "recurring_issues": [],
        "recurring_min_tickets": 3,
        "sla": {"breaches": []},
        "terms": {"renewal_on": "2026-12-31", "notice_by": "2026-12-01", "notice_days": 30},
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
    client_brief = ClientBrief.objects.create(
        organization=organization,
        client=world["client"],
        summary=f"Escalate to the CTO {tag}",
        reviewed_by=world["membership"],
        reviewed_at=datetime.datetime(2026, 11, 1, tzinfo=datetime.UTC),
    )
    # A completed handoff, so its document routes answer for its own organization.
    handoff = Handoff.objects.create(
        organization=organization,
        person=world["membership"],
        note=f"Leaving {tag}",
        started_by=world["membership"],
        status=Handoff.Status.COMPLETED,
        completed_by=world["membership"],
        completed_at=datetime.datetime(2026, 11, 2, tzinfo=datetime.UTC),
    )
    HandoffClient.objects.create(organization=organization, handoff=handoff, client=world["client"])
    handoff_item = HandoffItem.objects.create(
        organization=organization,
        handoff=handoff,
        kind=ItemKind.RISK,
        object_id=risk.pk,
        client=world["client"],
        label=f"Backups never tested {tag}",
        new_owner=world["membership"],
        status=HandoffItem.Status.TRANSFERRED,
    )
    # A review pack with its figures and a (stand-in) PDF, so its PDF routes answer.
    review_pack = ReviewPack.objects.create(
        organization=organization,
        client=world["client"],
        contract=world["contract"],
        period_start=datetime.date(2026, 8, 1),
        period_end=datetime.date(2026, 11, 1),
        review_on=datetime.date(2026, 11, 1),
        data=review_pack_data(tag, world),
        pdf=b"%PDF-1.4 stand-in " + tag.encode(),
        generated_at=datetime.datetime(2026, 10, 25, tzinfo=datetime.UTC),
        generated_by=world["membership"],
    )
    return {
        "review_pack": review_pack,
        "handoff": handoff,
        "handoff_item": handoff_item,
        "client_brief": client_brief,
        "recurring_task": recurring_task,
        "recurring_occurrence": occurrence,
        "risk": risk,
    }
