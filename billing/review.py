"""The weekly ambiguity review: only what is unresolved, each item with a
reason and an owner (the client's account manager unless set).

Built set-based (one INSERT … SELECT … ON CONFLICT DO NOTHING per kind) into
the queue of the organization's current week, in its own timezone and week
start. Building twice changes nothing; items already resolved stay resolved.
"""

import datetime
from dataclasses import dataclass

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection, transaction
from django.utils import timezone

from clients.models import Client, RequestType
from msops.tenancy.models import Membership, Organization, Role
from tickets.models import Ticket, TimeEntry

from .flags import _adapt, _concat, _t
from .models import BillingDecision, ExceptionFlag, ReviewItem, ReviewQueue, ScopeCheck

CATCH_ALL_SHARE = 25  # % of a client's tickets in 30 days under catch-all types
CATCH_ALL_MIN_TICKETS = 4
REVIEWERS = frozenset({Role.ACCOUNT_MANAGER, Role.ADMIN, Role.FINANCE})


def week_start_for(
    organization: Organization, now: datetime.datetime | None = None
) -> datetime.date:
    """The first day of the organization's current week, in its timezone."""
    local = timezone.localtime(now or timezone.now(), organization.tzinfo).date()
    return local - datetime.timedelta(days=(local.weekday() - organization.week_start) % 7)


@dataclass(frozen=True)
class BuildResult:
    queue: ReviewQueue
    created: int


ITEM_COLUMNS = (
    "organization_id, queue_id, kind, subject_key, ticket_id, client_id, flag_id, scope_check_id,"
    " reason, owner_id, status, note"
)


def _statements(organization: Organization, queue: ReviewQueue, now: datetime.datetime):
    item = _t(ReviewItem)
    ticket, client, flag, check, entry, rtype, decision = (
        _t(Ticket), _t(Client), _t(ExceptionFlag), _t(ScopeCheck), _t(TimeEntry),
        _t(RequestType), _t(BillingDecision),
    )  # fmt: skip
    head = f"INSERT INTO {item} ({ITEM_COLUMNS}) SELECT %s, %s, "
    tail = " ON CONFLICT (organization_id, queue_id, kind, subject_key) DO NOTHING"
    org, qid = organization.pk, queue.pk
    stale_before = now - datetime.timedelta(hours=organization.scope_check_stale_hours)
    since = now - datetime.timedelta(days=30)
    latest_reason = (
        f"COALESCE((SELECT d.reason FROM {decision} d WHERE d.ticket_id = t.id"
        " ORDER BY d.decided_at DESC, d.id DESC LIMIT 1), '')"
    )
    ticket_key = _concat("'ticket:'", "t.id")
    client_key = _concat("'client:'", "c.id")
    check_key = _concat("'check:'", "s.id")
    flag_key = _concat("'flag:'", "f.id")
    unclear = _concat("'#'", "t.number", "' decided unclear: '", latest_reason)
    waiting = _concat(
        "'Scope check on #'", "t.number", "' waiting since '", "CAST(s.created_at AS DATE)"
    )
    undecided = _concat("'#'", "t.number", "': '", "u.minutes", "' min logged without a decision'")
    catch_all = _concat(
        "u.catch_all", "' of '", "u.total", "' tickets in 30 days under a catch-all type'"
    )
    no_notes = _concat("c.name", "' has no billing notes for the people doing the work'")
    yield (
        head + f"'{ReviewItem.Kind.UNCLEAR_DECISION}', {ticket_key}, t.id, t.client_id,"
        f" NULL, NULL, {unclear},"
        " c.account_manager_id, 'open', ''"
        f" FROM {ticket} t JOIN {client} c ON c.id = t.client_id"
        " WHERE t.organization_id = %s AND t.classification = 'unclear'" + tail,
        [org, qid, org],
    )
    yield (
        head + f"'{ReviewItem.Kind.STALE_SCOPE_CHECK}', {check_key}, s.ticket_id, t.client_id,"
        f" NULL, s.id, {waiting},"
        " COALESCE(s.account_manager_id, c.account_manager_id), 'open', ''"
        f" FROM {check} s JOIN {ticket} t ON t.id = s.ticket_id JOIN {client} c ON c.id = t.client_id"
        " WHERE s.organization_id = %s AND s.status IN ('pending', 'awaiting_client') AND s.created_at < %s"
        + tail,
        [org, qid, org, stale_before],
    )
    yield (
        head + f"'{ReviewItem.Kind.OPEN_FLAG}', {flag_key}, f.ticket_id, f.client_id,"
        " f.id, NULL, f.detail, COALESCE(f.owner_id, c.account_manager_id), 'open', ''"
        f" FROM {flag} f LEFT JOIN {client} c ON c.id = f.client_id"
        " WHERE f.organization_id = %s AND f.status = 'open'"
        " AND f.kind NOT IN ('no_decision', 'catch_all')" + tail,
        [org, qid, org],
    )
    yield (
        head + f"'{ReviewItem.Kind.UNDECIDED_TIME}', {ticket_key}, t.id, t.client_id,"
        f" NULL, NULL, {undecided},"
        " c.account_manager_id, 'open', ''"
        f" FROM (SELECT e.ticket_id, SUM(e.minutes) AS minutes FROM {entry} e"
        "  WHERE e.organization_id = %s AND e.billing_status = 'undecided' AND NOT e.locked"
        "  GROUP BY e.ticket_id) u"
        f" JOIN {ticket} t ON t.id = u.ticket_id JOIN {client} c ON c.id = t.client_id"
        " WHERE t.organization_id = %s" + tail,
        [org, qid, org, org],
    )
    yield (
        head + f"'{ReviewItem.Kind.CATCH_ALL_USE}', {client_key}, NULL, c.id,"
        f" NULL, NULL, {catch_all},"
        " c.account_manager_id, 'open', ''"
        f" FROM (SELECT t.client_id, COUNT(*) AS total,"
        "  SUM(CASE WHEN rt.is_catch_all THEN 1 ELSE 0 END) AS catch_all"
        f"  FROM {ticket} t JOIN {rtype} rt ON rt.id = t.request_type_id"
        "  WHERE t.organization_id = %s AND t.opened_at >= %s GROUP BY t.client_id) u"
        f" JOIN {client} c ON c.id = u.client_id"
        " WHERE u.total >= %s AND u.catch_all * 100 >= u.total * %s" + tail,
        [org, qid, org, since, CATCH_ALL_MIN_TICKETS, CATCH_ALL_SHARE],
    )
    yield (
        head + f"'{ReviewItem.Kind.MISSING_BILLING_NOTES}', {client_key}, NULL, c.id,"
        f" NULL, NULL, {no_notes},"
        " c.account_manager_id, 'open', ''"
        f" FROM {client} c WHERE c.organization_id = %s AND c.status IN ('onboarding', 'active')"
        " AND TRIM(c.billing_notes) = ''" + tail,
        [org, qid, org],
    )


def review_queue_build(
    *, organization: Organization, now: datetime.datetime | None = None
) -> BuildResult:
    """Build (or top up) the organization's queue for its current week."""
    now = now or timezone.now()
    week = week_start_for(organization, now)
    with transaction.atomic():
        queue, _ = ReviewQueue.objects.get_or_create(organization=organization, week_start=week)
        created = 0
        with connection.cursor() as cursor:
            for sql, params in _statements(organization, queue, now):
                cursor.execute(sql, [_adapt(p) for p in params])
                created += max(cursor.rowcount, 0)
        ReviewQueue.objects.filter(pk=queue.pk).update(built_at=now)
    queue.refresh_from_db()
    return BuildResult(queue=queue, created=created)


def review_queue_due(*, organization: Organization, now: datetime.datetime | None = None) -> bool:
    """Whether the organization's current week has no queue yet."""
    week = week_start_for(organization, now)
    return not ReviewQueue.objects.filter(organization=organization, week_start=week).exists()


def _require_reviewer(actor: Membership, organization_id: int) -> None:
    if actor is None or actor.organization_id != organization_id:
        raise ValidationError({"actor": "Only a member of this organization can do this."})
    if actor.role not in REVIEWERS:
        raise PermissionDenied("Your role in this organization may not work the review.")


@transaction.atomic
def review_item_resolve(*, item: ReviewItem, actor: Membership, note: str = "") -> ReviewItem:
    _require_reviewer(actor, item.organization_id)
    current = ReviewItem.objects.select_for_update().get(
        organization=item.organization_id, pk=item.pk
    )
    if current.status == ReviewItem.Status.RESOLVED:
        raise ValidationError("This item is already resolved.")
    current.status = ReviewItem.Status.RESOLVED
    current.resolved_at = timezone.now()
    current.resolved_by = actor
    current.note = (note or "").strip()
    current.save(update_fields=["status", "resolved_at", "resolved_by", "note"])
    return current


@transaction.atomic
def review_item_reassign(*, item: ReviewItem, actor: Membership, owner: Membership) -> ReviewItem:
    _require_reviewer(actor, item.organization_id)
    if owner is None or owner.organization_id != item.organization_id:
        raise ValidationError({"owner": "Choose a member of this organization."})
    ReviewItem.objects.filter(organization=item.organization_id, pk=item.pk).update(owner=owner)
    item.owner = owner
    return item


@transaction.atomic
def flag_resolve(*, flag: ExceptionFlag, actor: Membership, note: str = "") -> ExceptionFlag:
    """Resolve a flag with who, when and a note."""
    if actor is None or actor.organization_id != flag.organization_id:
        raise ValidationError({"actor": "Only a member of this organization can do this."})
    current = ExceptionFlag.objects.select_for_update().get(
        organization=flag.organization_id, pk=flag.pk
    )
    if current.status == ExceptionFlag.Status.RESOLVED:
        raise ValidationError("This flag is already resolved.")
    current.status = ExceptionFlag.Status.RESOLVED
    current.resolved_at = timezone.now()
    current.resolved_by = actor
    current.resolution_note = (note or "").strip()
    current.save(update_fields=["status", "resolved_at", "resolved_by", "resolution_note"])
    return current
