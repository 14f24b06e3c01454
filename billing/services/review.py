"""The weekly ambiguity review: only what is unresolved, each item with a
reason and an owner (the client's account manager unless set).

Built set-based (one INSERT … SELECT … ON CONFLICT DO NOTHING per kind) into
the queue of the organization's current week, in its own timezone and week
start. Building twice changes nothing; items already resolved stay resolved.
Resolving items and flags, and giving an item to someone else, are here too;
the reads (queues, items, who works the review) are in
billing/selectors/review.py.
"""

import datetime
import itertools
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection, transaction
from django.db.models import Exists, OuterRef
from django.utils import timezone

from clients.models import Client, RequestType
from msops.display import local_date_sql
from msops.sql import adapt, concat, sql_list, table, text_constant
from msops.tenancy.models import Membership, Organization
from msops.timezones import organization_week_start
from tickets.models import Classification, Ticket, TimeEntry

from ..models import (
    BillingDecision,
    EntryPortion,
    ExceptionFlag,
    ReviewItem,
    ReviewQueue,
    ScopeCheck,
)
from ..selectors.review import REVIEWERS, review_item_flags

CATCH_ALL_SHARE = 25  # % of a client's tickets in 30 days under catch-all types
CATCH_ALL_MIN_TICKETS = 4
# Flags the review shows as kinds of their own (time without a decision, catch-all use).
FLAGS_REVIEWED_ELSEWHERE = (ExceptionFlag.Kind.NO_DECISION, ExceptionFlag.Kind.CATCH_ALL)


@dataclass(frozen=True)
class BuildResult:
    queue: ReviewQueue
    created: int


ITEM_COLUMNS = (
    "organization_id, queue_id, kind, subject_key, ticket_id, client_id, flag_id, scope_check_id,"
    " reason, owner_id, status, note, flag_kind"
)


def _selects(organization: Organization, queue: ReviewQueue, now: datetime.datetime):
    """(kind, SELECT of the items of that kind that are unresolved now, params).
    Each SELECT gives the columns of ITEM_COLUMNS, its subject key named
    ``subject_key``."""
    ticket, client, flag, check, entry, rtype, decision, portion = (
        table(Ticket), table(Client), table(ExceptionFlag), table(ScopeCheck), table(TimeEntry),
        table(RequestType), table(BillingDecision), table(EntryPortion),
    )  # fmt: skip
    org, qid = organization.pk, queue.pk
    none = "CAST(NULL AS BIGINT)"  # typed, so a CTE over the SELECT keeps the column types
    stale_before = now - datetime.timedelta(hours=organization.scope_check_stale_hours)
    since = now - datetime.timedelta(days=30)
    latest_reason = (
        f"COALESCE((SELECT d.reason FROM {decision} d WHERE d.ticket_id = t.id"
        " ORDER BY d.decided_at DESC, d.id DESC LIMIT 1), '')"
    )
    ticket_key = concat("'ticket:'", "t.id")
    client_key = concat("'client:'", "c.id")
    check_key = concat("'check:'", "s.id")
    group_key = concat("'flags:'", "COALESCE(CAST(g.client_id AS TEXT), '-')", "':'", "g.kind")
    unclear = concat("'#'", "t.number", "' decided unclear: '", latest_reason)
    # The day it was asked, in the organization's timezone, on both databases.
    asked_on, asked_on_params = local_date_sql("s.created_at", organization)
    waiting = concat("'Scope check on #'", "t.number", "' waiting since '", asked_on)
    undecided = concat("'#'", "t.number", "': '", "u.minutes", "' min logged without a decision'")
    catch_all = concat(
        "u.catch_all", "' of '", "u.total", "' tickets in 30 days under a catch-all type'"
    )
    no_notes = concat("c.name", "' has no billing notes for the people doing the work'")
    labels = " ".join(
        f"WHEN '{value}' THEN '{text_constant(label)}'"
        for value, label in ExceptionFlag.Kind.choices
    )
    # One flag: what it is and its detail; several: what they are and how many.
    group_reason = (
        f"CASE g.kind {labels} ELSE g.kind END || CASE"
        " WHEN g.n > 1 THEN ': ' || CAST(g.n AS TEXT) || ' open flags'"
        " WHEN g.detail = '' THEN '' ELSE ': ' || g.detail END"
    )
    yield (
        ReviewItem.Kind.UNCLEAR_DECISION,
        f"SELECT %s, %s, '{ReviewItem.Kind.UNCLEAR_DECISION}', {ticket_key} AS subject_key, t.id, t.client_id,"
        f" {none}, {none}, {unclear},"
        " c.account_manager_id, 'open', '', ''"
        f" FROM {ticket} t JOIN {client} c ON c.id = t.client_id"
        f" WHERE t.organization_id = %s AND t.classification = '{Classification.UNCLEAR}'",
        [org, qid, org],
    )
    yield (
        ReviewItem.Kind.STALE_SCOPE_CHECK,
        f"SELECT %s, %s, '{ReviewItem.Kind.STALE_SCOPE_CHECK}', {check_key} AS subject_key, s.ticket_id, t.client_id,"
        f" {none}, s.id, {waiting},"
        " COALESCE(s.account_manager_id, c.account_manager_id), 'open', '', ''"
        f" FROM {check} s JOIN {ticket} t ON t.id = s.ticket_id JOIN {client} c ON c.id = t.client_id"
        f" WHERE s.organization_id = %s AND s.status IN ({sql_list(ScopeCheck.OPEN_STATUSES)})"
        " AND s.created_at < %s",
        [org, qid, *asked_on_params, org, stale_before],
    )
    yield (
        ReviewItem.Kind.OPEN_FLAG,
        f"SELECT %s, %s, '{ReviewItem.Kind.OPEN_FLAG}', {group_key} AS subject_key,"
        " CASE WHEN g.first_ticket = g.last_ticket THEN g.first_ticket END, g.client_id,"
        f" g.last_id, {none}, SUBSTR({group_reason}, 1, 300),"
        # The flags' owner when they all have the same one, else the account manager.
        " CASE WHEN g.owned = g.n AND g.first_owner = g.last_owner THEN g.first_owner"
        " ELSE c.account_manager_id END,"
        " 'open', '', g.kind"
        " FROM (SELECT f.client_id, f.kind, COUNT(*) AS n, MAX(f.id) AS last_id,"
        "  MIN(f.ticket_id) AS first_ticket, MAX(f.ticket_id) AS last_ticket, MIN(f.detail) AS detail,"
        "  COUNT(f.owner_id) AS owned, MIN(f.owner_id) AS first_owner, MAX(f.owner_id) AS last_owner"
        f"  FROM {flag} f WHERE f.organization_id = %s AND f.status = 'open'"
        f"  AND f.kind NOT IN ({', '.join(repr(str(k)) for k in FLAGS_REVIEWED_ELSEWHERE)})"
        "  GROUP BY f.client_id, f.kind) g"
        f" LEFT JOIN {client} c ON c.id = g.client_id",
        [org, qid, org],
    )
    yield (
        ReviewItem.Kind.UNDECIDED_TIME,
        f"SELECT %s, %s, '{ReviewItem.Kind.UNDECIDED_TIME}', {ticket_key} AS subject_key, t.id, t.client_id,"
        f" {none}, {none}, {undecided},"
        " c.account_manager_id, 'open', '', ''"
        # The minutes still waiting for a decision (an entry past a threshold
        # has some that wait and some that don't).
        f" FROM (SELECT p.ticket_id, SUM(p.minutes) AS minutes FROM {portion} p"
        f"  JOIN {entry} e ON e.id = p.entry_id"
        f"  WHERE p.organization_id = %s AND p.status = '{TimeEntry.BillingStatus.UNDECIDED}'"
        "  AND NOT e.locked"
        "  GROUP BY p.ticket_id) u"
        f" JOIN {ticket} t ON t.id = u.ticket_id JOIN {client} c ON c.id = t.client_id"
        " WHERE t.organization_id = %s",
        [org, qid, org, org],
    )
    yield (
        ReviewItem.Kind.CATCH_ALL_USE,
        f"SELECT %s, %s, '{ReviewItem.Kind.CATCH_ALL_USE}', {client_key} AS subject_key, {none}, c.id,"
        f" {none}, {none}, {catch_all},"
        " c.account_manager_id, 'open', '', ''"
        f" FROM (SELECT t.client_id, COUNT(*) AS total,"
        "  SUM(CASE WHEN rt.is_catch_all THEN 1 ELSE 0 END) AS catch_all"
        f"  FROM {ticket} t JOIN {rtype} rt ON rt.id = t.request_type_id"
        "  WHERE t.organization_id = %s AND t.opened_at >= %s GROUP BY t.client_id) u"
        f" JOIN {client} c ON c.id = u.client_id"
        " WHERE u.total >= %s AND u.catch_all * 100 >= u.total * %s",
        [org, qid, org, since, CATCH_ALL_MIN_TICKETS, CATCH_ALL_SHARE],
    )
    yield (
        ReviewItem.Kind.MISSING_BILLING_NOTES,
        f"SELECT %s, %s, '{ReviewItem.Kind.MISSING_BILLING_NOTES}', {client_key} AS subject_key, {none}, c.id,"
        f" {none}, {none}, {no_notes},"
        " c.account_manager_id, 'open', '', ''"
        f" FROM {client} c WHERE c.organization_id = %s"
        f" AND c.status IN ({sql_list((Client.Status.ONBOARDING, Client.Status.ACTIVE))})"
        " AND TRIM(c.billing_notes) = ''",
        [org, qid, org],
    )


# What a review source yields: (kind, SELECT giving the ITEM_COLUMNS with the
# subject key named ``subject_key``, its parameters), like ``_selects``.
ReviewSelect = tuple[str, str, list]
ReviewSource = Callable[[Organization, ReviewQueue, datetime.datetime], Iterable[ReviewSelect]]

# Kinds of item built by the layers above billing (billing may not import
# them): each registers its source once, from its AppConfig.ready(). The build
# runs them after billing's own, one kind at a time, the same way.
REVIEW_SOURCES: list[ReviewSource] = []


def register_review_source(source: ReviewSource) -> ReviewSource:
    """Add ``source`` to what every build of the weekly review reads (once,
    however often it is registered). Returns it, so it can be a decorator."""
    if source not in REVIEW_SOURCES:
        REVIEW_SOURCES.append(source)
    return source


SETTLED_NOTE = "No longer open when the queue was rebuilt: settled elsewhere."


def review_queue_build(
    *, organization: Organization, now: datetime.datetime | None = None
) -> BuildResult:
    """Build (or top up) the organization's queue for its current week.

    Adds what is unresolved now and, on a rebuild, marks resolved the open
    items whose subject was settled elsewhere since (a flag resolved on the
    flags page, a scope check answered, a decision made), so the queue holds
    exactly what is still unresolved. Items people resolved stay resolved."""
    now = now or timezone.now()
    week = organization_week_start(organization, now)
    with transaction.atomic():
        queue, fresh = ReviewQueue.objects.get_or_create(organization=organization, week_start=week)
        created = 0
        with connection.cursor() as cursor:
            sources = [_selects, *REVIEW_SOURCES]
            selects = itertools.chain.from_iterable(
                source(organization, queue, now) for source in sources
            )
            for kind, select, params in selects:
                for sql, sql_params in _build_statements(
                    organization, queue, now, kind, select, params, rebuild=not fresh
                ):
                    cursor.execute(sql, [adapt(p) for p in sql_params])
                created += max(cursor.rowcount, 0)  # the last statement inserts
        ReviewQueue.objects.filter(pk=queue.pk).update(built_at=now)
    queue.refresh_from_db()
    return BuildResult(queue=queue, created=created)


def _build_statements(organization, queue, now, kind, select, params, *, rebuild: bool):
    """The statements that bring one kind of the queue up to date. A fresh
    queue only inserts. A rebuild also settles the open items whose subject
    is no longer unresolved and, for open flags, brings each client's item up
    to its latest flags (reopening it when flags were raised since it was
    resolved). On PostgreSQL in one statement, which reads what is unresolved
    once and inserts only subjects the queue lacks."""
    item = table(ReviewItem)
    insert = (
        f"INSERT INTO {item} ({ITEM_COLUMNS}) {{select}}"
        " ON CONFLICT (organization_id, queue_id, kind, subject_key) DO NOTHING"
    )
    if not rebuild:
        return [(insert.format(select=select), params)]
    settle = (
        f"UPDATE {item} SET status = 'resolved', resolved_at = %s, note = %s"
        " WHERE organization_id = %s AND queue_id = %s AND kind = %s AND status = 'open'"
        " AND subject_key NOT IN (SELECT q.subject_key FROM ({select}) q)"
    )
    settle_params = [now, SETTLED_NOTE, organization.pk, queue.pk, kind]
    refresh = (
        f"UPDATE {item} SET flag_id = cur.flag_id, reason = cur.reason, ticket_id = cur.ticket_id,"
        f" note = CASE WHEN {item}.status = 'open' THEN {item}.note ELSE '' END,"
        " status = 'open', resolved_at = NULL, resolved_by_id = NULL"
        f" FROM cur WHERE {item}.organization_id = %s AND {item}.queue_id = %s"
        f" AND {item}.kind = %s AND {item}.subject_key = cur.subject_key"
        f" AND (({item}.status = 'open'"
        f"  AND ({item}.flag_id <> cur.flag_id OR {item}.reason <> cur.reason))"
        f" OR ({item}.status = 'resolved' AND cur.flag_id > {item}.flag_id))"
    )
    refresh_params = [organization.pk, queue.pk, kind]
    refreshes = kind == ReviewItem.Kind.OPEN_FLAG
    cur = f"cur ({ITEM_COLUMNS}) AS {{materialized}} ({select})"
    if connection.vendor != "postgresql":
        statements = [(settle.format(select=select), [*settle_params, *params])]
        if refreshes:
            with_cur = f"WITH {cur.format(materialized='')} {refresh}"
            statements.append((with_cur, [*params, *refresh_params]))
        return [*statements, (insert.format(select=select), params)]
    ctes = [
        cur.format(materialized="MATERIALIZED"),
        f"settled AS ({settle.format(select='SELECT * FROM cur')} RETURNING 1)",
    ]
    cte_params = [*params, *settle_params]
    if refreshes:
        ctes.append(f"refreshed AS ({refresh} RETURNING 1)")
        cte_params += refresh_params
    both = (
        f"WITH {', '.join(ctes)}"
        f" INSERT INTO {item} ({ITEM_COLUMNS}) SELECT * FROM cur"
        f" WHERE NOT EXISTS (SELECT 1 FROM {item} i WHERE i.organization_id = %s"
        " AND i.queue_id = %s AND i.kind = %s AND i.subject_key = cur.subject_key)"
        " ON CONFLICT (organization_id, queue_id, kind, subject_key) DO NOTHING"
    )
    return [(both, [*cte_params, organization.pk, queue.pk, kind])]


def _require_reviewer(actor: Membership, organization_id: int) -> None:
    if actor is None or actor.organization_id != organization_id:
        raise ValidationError({"actor": "Only a member of this organization can do this."})
    if actor.role not in REVIEWERS:
        raise PermissionDenied("Your role in this organization may not work the review.")


def _mark_resolved(obj, *, actor: Membership, note: str, note_field: str, now) -> None:
    obj.status = "resolved"
    obj.resolved_at = now
    obj.resolved_by = actor
    setattr(obj, note_field, note)
    obj.save(update_fields=["status", "resolved_at", "resolved_by", note_field])


@transaction.atomic
def review_item_resolve(*, item: ReviewItem, actor: Membership, note: str = "") -> ReviewItem:
    """Resolve a review item with who, when and a note. An item about open
    flags resolves the flags it counts too: the review is where they were
    settled (flags raised after the queue was built stay open)."""
    _require_reviewer(actor, item.organization_id)
    current = ReviewItem.objects.select_for_update().get(
        organization=item.organization_id, pk=item.pk
    )
    if current.status == ReviewItem.Status.RESOLVED:
        raise ValidationError("This item is already resolved.")
    now, note = timezone.now(), (note or "").strip()
    _mark_resolved(current, actor=actor, note=note, note_field="note", now=now)
    review_item_flags(current).update(
        status=ExceptionFlag.Status.RESOLVED,
        resolved_at=now,
        resolved_by=actor,
        resolution_note=note,
    )
    return current


@transaction.atomic
def review_item_reassign(*, item: ReviewItem, actor: Membership, owner: Membership) -> ReviewItem:
    """Give an open item to another member who works the review."""
    _require_reviewer(actor, item.organization_id)
    if owner is None or owner.organization_id != item.organization_id:
        raise ValidationError({"owner": "Choose a member of this organization."})
    if owner.role not in REVIEWERS:
        raise ValidationError(
            {"owner": "Choose someone who works the review: an account manager, admin or finance."}
        )
    current = ReviewItem.objects.select_for_update().get(
        organization=item.organization_id, pk=item.pk
    )
    if current.status == ReviewItem.Status.RESOLVED:
        raise ValidationError("This item is already resolved.")
    current.owner = owner
    current.save(update_fields=["owner"])
    return current


@transaction.atomic
def flag_resolve(*, flag: ExceptionFlag, actor: Membership, note: str = "") -> ExceptionFlag:
    """Resolve a flag with who, when and a note (people who work the review:
    account managers, admins, finance). An open review item about the
    client's flags of this kind is resolved once none it counts is open."""
    _require_reviewer(actor, flag.organization_id)
    if not (note or "").strip():
        raise ValidationError(
            {"note": "Say what was done about it: the note is what the next person reads."}
        )
    current = ExceptionFlag.objects.select_for_update().get(
        organization=flag.organization_id, pk=flag.pk
    )
    if current.status == ExceptionFlag.Status.RESOLVED:
        raise ValidationError("This flag is already resolved.")
    now, note = timezone.now(), (note or "").strip()
    _mark_resolved(current, actor=actor, note=note, note_field="resolution_note", now=now)
    # Open review items about the client's flags of this kind that now count none.
    still_open = ExceptionFlag.objects.filter(
        organization=current.organization_id,
        client=current.client_id,
        kind=current.kind,
        status=ExceptionFlag.Status.OPEN,
        pk__lte=OuterRef("flag"),
    )
    ReviewItem.objects.filter(
        organization=current.organization_id,
        kind=ReviewItem.Kind.OPEN_FLAG,
        status=ReviewItem.Status.OPEN,
        client=current.client_id,
        flag_kind=current.kind,
        flag__gte=current.pk,
    ).exclude(Exists(still_open)).update(
        status=ReviewItem.Status.RESOLVED, resolved_at=now, resolved_by=actor, note=note
    )
    return current
