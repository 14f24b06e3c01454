"""The weekly review's items about transitions: stale client briefs and open
items nobody can act on.

Billing builds the review set-based (billing/services/review.py) and may not
import transitions, so this module is a review source: the same
``(kind, SELECT, params)`` triples as billing's own kinds, registered in
``TransitionsConfig.ready()``. The builder inserts, settles and refreshes
them per kind like the others, on PostgreSQL and on SQLite.

- ``stale_brief``: one item per onboarding or active client whose brief is
  missing, never reviewed, or stale by :func:`transitions.briefs.client_brief_is_stale`'s
  rule — reviewed on a day (in the organization's timezone) more than
  ``ClientBrief.STALE_AFTER_DAYS`` before today.
- ``orphaned_item``: one item per open item :mod:`transitions.ownership`
  calls orphaned (review items excepted: they are in the review already). The SQL is compiled from :func:`~transitions.ownership.orphaned_querysets`,
  so what "orphaned" means is written once.
"""

import datetime
from collections.abc import Iterator

from django.contrib.auth import get_user_model
from django.db.models import BigIntegerField, Case, CharField, F, Q, QuerySet, Value, When
from django.db.models.functions import Cast, Concat, Substr

from billing.models import ExceptionFlag, ReviewItem, ReviewQueue
from billing.services.review import ITEM_COLUMNS
from clients.models import Client
from msops.display import local_date_sql
from msops.sql import concat, sql_list, table
from msops.tenancy.models import Membership, Organization
from msops.timezones import organization_today

from .briefs import BRIEFED_CLIENT_STATUSES
from .models import ClientBrief, ItemKind
from .ownership import OwnedKind, orphaned_querysets

REASON_MAX = 300  # ReviewItem.reason

ReviewSelect = tuple[str, str, list]


def transition_review_selects(
    organization: Organization, queue: ReviewQueue, now: datetime.datetime
) -> Iterator[ReviewSelect]:
    """The review source registered with billing's builder."""
    yield stale_brief_select(organization, queue, now)
    yield orphaned_item_select(organization, queue)


# --- stale briefs -----------------------------------------------------------------
def stale_before(organization: Organization, now: datetime.datetime) -> datetime.datetime:
    """The moment a brief must have been reviewed since to be current: the
    start of the organization's day ``STALE_AFTER_DAYS`` before today. A
    review before it fell on a day more than 30 days ago, which is
    ``client_brief_is_stale``'s rule, as a bound the database can compare."""
    today = organization_today(organization, now=now)
    first_current_day = today - datetime.timedelta(days=ClientBrief.STALE_AFTER_DAYS)
    return datetime.datetime.combine(first_current_day, datetime.time.min, organization.tzinfo)


def stale_brief_select(
    organization: Organization, queue: ReviewQueue, now: datetime.datetime
) -> ReviewSelect:
    client, brief, member, user = (
        table(Client), table(ClientBrief), table(Membership), table(get_user_model()),
    )  # fmt: skip
    none = "CAST(NULL AS BIGINT)"
    # The day of the review in the organization's timezone, on both databases.
    reviewed_on, reviewed_on_params = local_date_sql("b.reviewed_at", organization)
    reviewer = "COALESCE(NULLIF(TRIM(u.first_name || ' ' || u.last_name), ''), u.username)"
    missing = concat("c.name", "' has no brief'")
    never = concat("'Brief of '", "c.name", "' never reviewed'")
    last = concat("'Brief of '", "c.name", "' last reviewed '", reviewed_on)
    reason = (
        f"CASE WHEN b.id IS NULL THEN {missing} WHEN b.reviewed_at IS NULL THEN {never}"
        f" ELSE {last} || CASE WHEN u.id IS NULL THEN '' ELSE ' by ' || {reviewer} END END"
    )
    key = concat("'client:'", "c.id")
    kind = ReviewItem.Kind.STALE_BRIEF
    select = (
        f"SELECT %s, %s, '{kind}', {key} AS subject_key,"  # noqa: S608
        f" {none}, c.id, {none}, {none}, SUBSTR({reason}, 1, {REASON_MAX}),"
        " c.account_manager_id, 'open', '', ''"
        f" FROM {client} c LEFT JOIN {brief} b ON b.client_id = c.id"
        f" LEFT JOIN {member} m ON m.id = b.reviewed_by_id"
        f" LEFT JOIN {user} u ON u.id = m.user_id"
        f" WHERE c.organization_id = %s AND c.status IN ({sql_list(BRIEFED_CLIENT_STATUSES)})"
        " AND (b.id IS NULL OR b.reviewed_at IS NULL OR b.reviewed_at < %s)"
    )
    params = [
        organization.pk,
        queue.pk,
        *reviewed_on_params,
        organization.pk,
        stale_before(organization, now),
    ]
    return kind, select, params


# --- orphaned items ---------------------------------------------------------------
# Who the owner of each kind is, in a reason's words.
OWNER_WORDS = {
    ItemKind.CLIENT: "account manager",
    ItemKind.TICKET: "assignee",
    ItemKind.RECURRING_TASK: "owner",
    ItemKind.SCOPE_CHECK: "account manager",
    ItemKind.RISK: "owner",
    ItemKind.FLAG: "owner",
    ItemKind.REVIEW_ITEM: "owner",
}
# The kinds that fall to the client's account manager when they have no owner.
FALLS_TO_ACCOUNT_MANAGER = (ItemKind.SCOPE_CHECK, ItemKind.FLAG)
# The ITEM_COLUMNS, as annotations (names no model field has), in their order.
COLUMNS = [f"item_{i}" for i in range(len(ITEM_COLUMNS.split(",")))]
SUBJECT = COLUMNS[3]


def _text(*parts) -> Concat:
    return Concat(*(Value(p) if isinstance(p, str) else p for p in parts), output_field=CharField())


def _id(expression) -> Cast:
    return Cast(expression, BigIntegerField())


def _client_relation(spec: OwnedKind) -> str:
    """The path from the item to its client ('' for a client itself)."""
    return "" if spec.kind == ItemKind.CLIENT else spec.client_path.removesuffix("_id") + "__"


def _label(spec: OwnedKind):
    """What the item is, as ``ownership``'s labels name it."""
    kind = spec.kind
    if kind == ItemKind.CLIENT:
        return _text("Client ", F("name"))
    if kind == ItemKind.TICKET:
        return _text("Ticket #", Cast("number", CharField()), " ", F("title"))
    if kind == ItemKind.RECURRING_TASK:
        return _text("Recurring task ", F("title"))
    if kind == ItemKind.SCOPE_CHECK:
        return _text("Scope check on #", Cast("ticket__number", CharField()))
    if kind == ItemKind.RISK:
        return _text("Risk: ", Substr("description", 1, 120))
    if kind == ItemKind.FLAG:
        labels = Case(
            *(When(kind=value, then=Value(label)) for value, label in ExceptionFlag.Kind.choices),
            default=F("kind"),
            output_field=CharField(),
        )
        return _text("Flag: ", labels)
    if kind == ItemKind.REVIEW_ITEM:
        return _text("Review item: ", F("reason"))
    return _text(f"{spec.label} #", Cast("pk", CharField()))  # a kind added since


def _why(spec: OwnedKind):
    """Why nobody can act on it: the owner's account was deactivated, or there
    is no owner (and, for what falls to the account manager, no active one)."""
    word = OWNER_WORDS.get(spec.kind, "owner")
    owner_gone = Q(**{f"{spec.owner_field}__user__is_active": False})
    if spec.kind == ItemKind.CLIENT:
        missing = "no account manager"
    elif spec.kind == ItemKind.TICKET:
        missing = "work started with no assignee"
    elif spec.kind in FALLS_TO_ACCOUNT_MANAGER:
        manager = f"{_client_relation(spec)}account_manager"
        return Case(
            When(owner_gone, then=Value(f"{word} deactivated")),
            When(
                Q(**{f"{manager}__isnull": True}),
                then=Value("no owner, and the client has no account manager"),
            ),
            default=Value("no owner, and the client's account manager is deactivated"),
            output_field=CharField(),
        )
    else:
        missing = f"no {word}"
    return Case(
        When(owner_gone, then=Value(f"{word} deactivated")),
        default=Value(missing),
        output_field=CharField(),
    )


def _annotated(spec: OwnedKind, qs: QuerySet, organization: Organization, queue: ReviewQueue):
    """The orphaned items of one kind as review item rows (ITEM_COLUMNS)."""
    client = _client_relation(spec)
    null = _id(Value(None))
    pk = _id(F("pk"))
    ticket = {
        ItemKind.TICKET: pk,
        ItemKind.SCOPE_CHECK: _id(F("ticket")),
        ItemKind.FLAG: _id(F("ticket")),
        ItemKind.REVIEW_ITEM: _id(F("ticket")),
    }.get(spec.kind, null)
    manager = f"{client}account_manager"
    values = [
        _id(Value(organization.pk)),
        _id(Value(queue.pk)),
        Value(ReviewItem.Kind.ORPHANED_ITEM.value),
        _text(f"{spec.kind}:", Cast("pk", CharField())),
        ticket,
        pk if spec.kind == ItemKind.CLIENT else _id(F(client.removesuffix("__"))),
        pk if spec.kind == ItemKind.FLAG else null,
        pk if spec.kind == ItemKind.SCOPE_CHECK else null,
        Substr(_text(_label(spec), ": ", _why(spec)), 1, REASON_MAX),
        # The client's account manager while they are still here; else no one.
        Case(
            When(Q(**{f"{manager}__user__is_active": True}), then=F(manager)),
            default=None,
            output_field=BigIntegerField(),
        ),
        Value("open"),
        Value(""),
        Value(""),
    ]
    return qs.annotate(**dict(zip(COLUMNS, values, strict=True))).order_by().values(*COLUMNS)


def orphaned_item_select(organization: Organization, queue: ReviewQueue) -> ReviewSelect:
    """One SELECT (UNION ALL over the kinds) of every orphaned open item."""
    selects, params = [], []
    for spec, qs in orphaned_querysets(organization=organization):
        if spec.kind == ItemKind.REVIEW_ITEM:
            # Already in the review, where its owner is shown (or missing):
            # a review item about a review item would only repeat it.
            continue
        sql, sql_params = _annotated(spec, qs, organization, queue).query.sql_with_params()
        columns = ", ".join(
            f"o.{name} AS subject_key" if name == SUBJECT else f"o.{name}" for name in COLUMNS
        )
        # WHERE: SQLite reads "FROM x ON CONFLICT" as a join without it.
        selects.append(f"SELECT {columns} FROM ({sql}) o WHERE 1 = 1")  # noqa: S608
        params += sql_params
    return ReviewItem.Kind.ORPHANED_ITEM, " UNION ALL ".join(selects), params
