"""The rows of time entries: logging, correcting and deleting them, with the
ticket's ``logged_minutes`` kept in the same transaction, so no page sums
entries. Billing owns every write of a time entry
(``billing.services.time_entries``): it calls these for the row and derives
the entry's billing meaning in the same transaction. Nothing else calls them."""

import datetime
import hashlib
import json
from typing import NamedTuple

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone

from msops.limits import DATE_REASON_MAX, TIME_ENTRY_NOTES_MAX, check_length
from msops.tenancy.models import Membership, Organization

from ..models import IdempotencyKey, Ticket, TimeEntry
from ..selectors import ticket_rule
from ._common import belongs, organization_today

MAX_MINUTES_PER_ENTRY = 24 * 60
LOCKED_MESSAGE = "This entry is locked: its billing period is closed."


class LoggedTime(NamedTuple):
    """What :func:`time_entry_create` did: ``replayed`` is True when the
    idempotency key had already logged this entry and nothing new was saved."""

    entry: TimeEntry
    replayed: bool


def _check_minutes(errors: dict, minutes) -> None:
    if isinstance(minutes, bool) or not isinstance(minutes, int):
        errors["minutes"] = "Enter whole minutes, e.g. 45 or 1:30."
    elif minutes < 1:
        errors["minutes"] = "Log at least 1 minute."
    elif minutes > MAX_MINUTES_PER_ENTRY:
        errors["minutes"] = "One entry can be at most 24 hours (1440 minutes)."


def _check_work_date(errors: dict, work_date, organization: Organization) -> None:
    if not isinstance(work_date, datetime.date) or isinstance(work_date, datetime.datetime):
        errors["work_date"] = "Enter the date the work was done."
        return
    today = organization_today(organization)
    if work_date > today:
        errors["work_date"] = (
            f"Time can't be logged for a future date (today is {today:%Y-%m-%d} "
            f"in {organization.timezone})."
        )


def _check_text(errors: dict, *, notes, date_reason) -> None:
    if notes is not None and not isinstance(notes, str):
        errors["notes"] = "Write the notes in words."
    else:
        check_length(
            errors, "notes", (notes or "").strip(), limit=TIME_ENTRY_NOTES_MAX, what="Notes"
        )
    if date_reason is not None and not isinstance(date_reason, str):
        errors["date_reason"] = "Write the reason in words."
    else:
        check_length(
            errors,
            "date_reason",
            (date_reason or "").strip(),
            limit=DATE_REASON_MAX,
            what="Reasons",
        )


def validate_time(
    *, organization: Organization, work_date, minutes, notes: str = "", date_reason: str = ""
) -> None:
    """The rules for logged time (1..1440 whole minutes, not in the future in
    the organization's timezone, notes and the date's reason within their
    lengths), for forms that want them before saving."""
    errors: dict[str, str] = {}
    _check_minutes(errors, minutes)
    _check_work_date(errors, work_date, organization)
    _check_text(errors, notes=notes, date_reason=date_reason)
    if errors:
        raise ValidationError(errors)


def _rate_on(ticket: Ticket, work_date: datetime.date):
    return ticket_rule(ticket=ticket, on=work_date).rate


def _clean_key(errors: dict, idempotency_key) -> str | None:
    if idempotency_key is None:
        return None
    key = str(idempotency_key).strip()
    if not key:
        return None
    if len(key) > 100:
        errors["idempotency_key"] = "An idempotency key has at most 100 characters."
    return key


class IdempotencyKeyReused(ValidationError):
    """The key already logged an entry from a different request (another
    ticket, person, work date, minutes or notes), or logged an entry that has
    since been removed: nothing new is saved."""

    MESSAGE = (
        "This idempotency key already logged other time (a different ticket, person, work "
        "date, minutes or notes). A key stands for one request: send a new key for new time."
    )
    REMOVED = (
        "This idempotency key logged time that has since been removed. A key stands for one "
        "request: send a new key to log the time again."
    )

    def __init__(self, message: str = MESSAGE):
        self.message_text = message
        super().__init__(
            {"idempotency_key": ValidationError(message, code="idempotency_key_reused")}
        )


def time_entry_fingerprint(
    *, ticket_id: int, person_id: int, work_date: datetime.date, minutes: int, notes: str
) -> str:
    """What a keyed request asked to log, as the sha256 of its canonical JSON:
    a retry with the same key must ask for the same thing."""
    canonical = json.dumps(
        {
            "ticket": ticket_id,
            "person": person_id,
            "work_date": work_date.isoformat(),
            "minutes": minutes,
            "notes": (notes or "").strip(),
        },
        sort_keys=True,
        separators=(",", ":"),
    )
    return hashlib.sha256(canonical.encode()).hexdigest()


def _replay(*, kept: IdempotencyKey, fingerprint: str) -> LoggedTime:
    """The entry this key logged, if it was logged from the same request."""
    entry = kept.time_entry
    if entry is None:
        raise IdempotencyKeyReused(IdempotencyKeyReused.REMOVED)
    # Keys kept before fingerprints were: compare what the entry holds now.
    original = kept.fingerprint or time_entry_fingerprint(
        ticket_id=entry.ticket_id,
        person_id=entry.person_id,
        work_date=entry.work_date,
        minutes=entry.minutes,
        notes=entry.notes,
    )
    if original != fingerprint:
        raise IdempotencyKeyReused()
    return LoggedTime(entry=entry, replayed=True)


def _kept(*, organization_id: int, person: Membership, key: str) -> IdempotencyKey | None:
    return (
        IdempotencyKey.objects.select_related("time_entry")
        .filter(organization=organization_id, person=person, key=key)
        .first()
    )


def time_entry_create(
    *,
    ticket: Ticket,
    person: Membership,
    work_date: datetime.date,
    minutes: int,
    notes: str = "",
    idempotency_key: str | None = None,
    entered_at: datetime.datetime | None = None,
    date_reason: str = "",
) -> LoggedTime:
    """Log ``minutes`` of ``person``'s work on ``work_date``; ``date_reason``
    is kept with it (why the date needs one: billing's rule).

    The billing rate in force on the work date and the person's cost rate are
    snapshotted; billing derives the billing status.

    An ``idempotency_key`` is scoped to the person (a membership) and kept
    (:class:`IdempotencyKey`) whatever becomes of the entry. Repeating the
    same request with the same key returns that entry (``replayed=True``),
    even after the entry was corrected; the same key with a different
    request, or after the entry was removed, raises
    :class:`IdempotencyKeyReused`."""
    org_id = ticket.organization_id
    errors: dict[str, str] = {}
    if not belongs(person, org_id):
        errors["person"] = "Choose a member of this organization."
    _check_minutes(errors, minutes)
    _check_work_date(errors, work_date, ticket.organization)
    _check_text(errors, notes=notes, date_reason=date_reason)
    key = _clean_key(errors, idempotency_key)
    if errors:
        raise ValidationError(errors)
    fingerprint = ""
    if key is not None:
        fingerprint = time_entry_fingerprint(
            ticket_id=ticket.pk,
            person_id=person.pk,
            work_date=work_date,
            minutes=minutes,
            notes=notes,
        )

    with transaction.atomic():
        kept = _kept(organization_id=org_id, person=person, key=key) if key is not None else None
        if kept is not None:
            return _replay(kept=kept, fingerprint=fingerprint)
        try:
            with transaction.atomic():
                locked = (
                    Ticket.objects.select_for_update(of=("self",))
                    .select_related("client", "request_type", "contract")
                    .get(organization=org_id, pk=ticket.pk)
                )
                entry = TimeEntry.objects.create(
                    organization_id=org_id,
                    ticket=locked,
                    person=person,
                    work_date=work_date,
                    minutes=minutes,
                    notes=(notes or "").strip(),
                    date_reason=(date_reason or "").strip(),
                    entered_at=entered_at or timezone.now(),
                    rate=_rate_on(locked, work_date),
                    cost_rate=person.cost_rate,
                )
                if key is not None:
                    IdempotencyKey.objects.create(
                        organization_id=org_id,
                        person=person,
                        key=key,
                        fingerprint=fingerprint,
                        time_entry=entry,
                    )
                Ticket.objects.filter(organization=org_id, pk=ticket.pk).update(
                    logged_minutes=F("logged_minutes") + minutes
                )
        except IntegrityError:
            if key is None:
                raise
            # A concurrent request with the same key won the race.
            kept = _kept(organization_id=org_id, person=person, key=key)
            if kept is None:
                raise
            return _replay(kept=kept, fingerprint=fingerprint)
    ticket.logged_minutes = locked.logged_minutes + minutes
    return LoggedTime(entry=entry, replayed=False)


def _lock_entry(entry: TimeEntry) -> TimeEntry:
    current = (
        TimeEntry.objects.select_for_update(of=("self",))
        .select_related("ticket__client", "ticket__request_type", "ticket__contract")
        .get(organization=entry.organization_id, pk=entry.pk)
    )
    if current.locked:
        raise ValidationError(LOCKED_MESSAGE, code="locked")
    return current


@transaction.atomic
def time_entry_update(
    *,
    entry: TimeEntry,
    work_date: datetime.date | None = None,
    minutes: int | None = None,
    notes: str | None = None,
    date_reason: str | None = None,
) -> TimeEntry:
    """Correct an entry's date, minutes, notes or the date's reason
    (``None``, or a blank reason: unchanged). A new work date takes the rate in force on that
    date. Locked entries refuse."""
    current = _lock_entry(entry)
    errors: dict[str, str] = {}
    if minutes is not None:
        _check_minutes(errors, minutes)
    if work_date is not None:
        _check_work_date(errors, work_date, current.ticket.organization)
    _check_text(errors, notes=notes, date_reason=date_reason)
    if errors:
        raise ValidationError(errors)
    update_fields = []
    if minutes is not None and minutes != current.minutes:
        Ticket.objects.filter(organization=current.organization_id, pk=current.ticket_id).update(
            logged_minutes=F("logged_minutes") + (minutes - current.minutes)
        )
        current.minutes = minutes
        update_fields.append("minutes")
    if work_date is not None and work_date != current.work_date:
        current.work_date = work_date
        current.rate = _rate_on(current.ticket, work_date)
        update_fields += ["work_date", "rate"]
    if notes is not None:
        current.notes = notes.strip()
        update_fields.append("notes")
    if date_reason is not None and date_reason.strip():
        current.date_reason = date_reason.strip()
        update_fields.append("date_reason")
    if update_fields:
        current.save(update_fields=update_fields)
    return current


@transaction.atomic
def time_entry_delete(*, entry: TimeEntry) -> None:
    """Remove an entry logged by mistake; locked entries refuse."""
    current = _lock_entry(entry)
    Ticket.objects.filter(organization=current.organization_id, pk=current.ticket_id).update(
        logged_minutes=F("logged_minutes") - current.minutes
    )
    current.delete()
