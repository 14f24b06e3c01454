"""The weekly ambiguity review: built in each organization's own week, it
holds exactly what is unresolved, each item with a reason and an owner;
building twice changes nothing; the hourly beat builds each organization's
queue when its week starts, across DST changes; digests go once per
recipient and period."""

import datetime
from unittest import mock

import pytest
from django.core import mail
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone
from django_scopes import scopes_disabled

from billing.models import DigestSent, ExceptionFlag, ReviewItem, ReviewQueue, ScopeCheck
from billing.selectors.review import review_item_list, review_queue_due
from billing.services import ScopeCheckRequest, decision_record, time_entry_log
from billing.services.digests import digests_send
from billing.services.review import (
    flag_resolve,
    review_item_reassign,
    review_item_resolve,
    review_queue_build,
)
from billing.tasks import digests_send_all, review_queues_build_due
from clients.models import Client
from msops.tenancy.models import Organization, Role
from msops.tenancy.scoping import activate_organization
from msops.timezones import organization_week_start
from tests.factories import (
    ClientFactory,
    MembershipFactory,
    OrganizationFactory,
    RequestTypeFactory,
    TicketFactory,
)
from tickets.services import organization_today

Kind = ReviewItem.Kind
UTC = datetime.UTC


def utc(*args) -> datetime.datetime:
    return datetime.datetime(*args, tzinfo=UTC)


def decide(ticket, actor, classification, **kwargs):
    ticket.refresh_from_db()
    return decision_record(
        ticket=ticket, actor=actor, classification=classification, version=ticket.version, **kwargs
    )


def log(ticket, person, minutes):
    return time_entry_log(
        ticket=ticket,
        person=person,
        work_date=organization_today(ticket.organization),
        minutes=minutes,
    ).entry


def items(queue=None) -> set[tuple[str, str]]:
    rows = ReviewItem.objects.all() if queue is None else ReviewItem.objects.filter(queue=queue)
    return set(rows.values_list("kind", "subject_key"))


# --- the week -------------------------------------------------------------------------
@pytest.mark.parametrize(
    "zone,week_start,now,expected",
    [
        # Amsterdam, Monday: Sunday 23:30 local is still last week; Monday 00:30 is this one.
        ("Europe/Amsterdam", 0, utc(2026, 11, 22, 22, 30), datetime.date(2026, 11, 16)),
        ("Europe/Amsterdam", 0, utc(2026, 11, 22, 23, 30), datetime.date(2026, 11, 23)),
        # New York, Sunday: 23:59 on Saturday local (04:59 UTC) vs Sunday 00:00 (05:00 UTC).
        ("America/New_York", 6, utc(2026, 11, 22, 4, 59), datetime.date(2026, 11, 15)),
        ("America/New_York", 6, utc(2026, 11, 22, 5, 0), datetime.date(2026, 11, 22)),
        # Tokyo, Saturday: already Saturday there while it is Friday in UTC.
        ("Asia/Tokyo", 5, utc(2026, 11, 20, 14, 59), datetime.date(2026, 11, 14)),
        ("Asia/Tokyo", 5, utc(2026, 11, 20, 15, 0), datetime.date(2026, 11, 21)),
        # DST: Amsterdam springs forward on Sunday 29 March 2026; Monday 30 March
        # starts at 22:00 UTC, not 23:00 as the week before.
        ("Europe/Amsterdam", 0, utc(2026, 3, 22, 22, 59), datetime.date(2026, 3, 16)),
        ("Europe/Amsterdam", 0, utc(2026, 3, 22, 23, 0), datetime.date(2026, 3, 23)),
        ("Europe/Amsterdam", 0, utc(2026, 3, 29, 21, 59), datetime.date(2026, 3, 23)),
        ("Europe/Amsterdam", 0, utc(2026, 3, 29, 22, 0), datetime.date(2026, 3, 30)),
        # ... and falls back on Sunday 25 October: Monday 26 October starts at 23:00 UTC.
        ("Europe/Amsterdam", 0, utc(2026, 10, 25, 22, 59), datetime.date(2026, 10, 19)),
        ("Europe/Amsterdam", 0, utc(2026, 10, 25, 23, 0), datetime.date(2026, 10, 26)),
    ],
)
def test_the_week_starts_in_the_organizations_timezone_and_week_start(
    zone, week_start, now, expected
):
    organization = Organization(timezone=zone, week_start=week_start)
    assert organization_week_start(organization, now) == expected


# --- what the queue holds -----------------------------------------------------------------
@pytest.fixture
def world(scoped, org, terms, open_ticket, developer, account_manager, admin_member):
    """One of each thing the review looks for, and its resolved twin."""
    now = timezone.now()
    other_manager = MembershipFactory(
        organization=org, role=Role.ACCOUNT_MANAGER, user__username="am2"
    )
    w = {"now": now, "other_manager": other_manager}
    # Unclear decision, and a clear one.
    w["unclear"] = open_ticket(title="Unclear")
    log(w["unclear"], developer, 20)
    decide(w["unclear"], developer, "unclear", reason="Bug or change?")
    w["clear"] = open_ticket(title="Clear")
    log(w["clear"], developer, 20)
    decide(w["clear"], developer, "included")
    # Scope checks: one waiting 49 h (stale at 48 h), one waiting 47 h.
    w["stale"], w["fresh"] = [], []
    for key, hours in (("stale", 49), ("fresh", 47)):
        ticket = open_ticket("feature", title=f"Feature {key}")
        decide(
            ticket,
            developer,
            "needs_approval",
            reason="New report",
            scope_check=ScopeCheckRequest(estimate_minutes=120),
        )
        check = ScopeCheck.objects.get(ticket=ticket)
        ScopeCheck.objects.filter(pk=check.pk).update(
            created_at=now - datetime.timedelta(hours=hours)
        )
        w[key] = check
    # Undecided time.
    w["undecided"] = open_ticket(title="Undecided")
    log(w["undecided"], developer, 45)
    # Flags: open, resolved, and kinds the review covers otherwise.
    client = terms["client"]
    w["open_flag"] = ExceptionFlag.objects.create(
        organization=org,
        kind=ExceptionFlag.Kind.OVER_EXPECTED,
        subject_key=f"ticket:{w['clear'].pk}",
        ticket=w["clear"],
        client=client,
        detail="Logged 90 min; expected about 60 min",
    )
    w["owned_flag"] = ExceptionFlag.objects.create(
        organization=org,
        kind=ExceptionFlag.Kind.CONTRACT_80,
        subject_key=f"contract:{terms['contract'].pk}",
        period_key="2026-11",
        contract=terms["contract"],
        client=client,
        owner=other_manager,
        detail="Included hours at 80 %",
    )
    ExceptionFlag.objects.create(
        organization=org,
        kind=ExceptionFlag.Kind.SLA_RESPONSE_BREACHED,
        subject_key=f"ticket:{w['unclear'].pk}",
        ticket=w["unclear"],
        client=client,
        status=ExceptionFlag.Status.RESOLVED,
    )
    ExceptionFlag.objects.create(
        organization=org,
        kind=ExceptionFlag.Kind.NO_DECISION,
        subject_key=f"ticket:{w['undecided'].pk}",
        ticket=w["undecided"],
        client=client,
    )
    # A client leaning on the catch-all type (2 of 4 tickets in 30 days) and
    # one using it rarely (1 of 5).
    other = RequestTypeFactory(organization=org, name="Other", is_catch_all=True)
    regular = terms["rules"]["troubleshooting"].request_type
    w["leaning"] = ClientFactory(organization=org, name="Leaning", account_manager=account_manager)
    w["rarely"] = ClientFactory(organization=org, name="Rarely", account_manager=account_manager)
    numbers = iter(range(1000, 1100))  # clear of the numbers the service gives
    for c, catch_all, total in ((w["leaning"], 2, 4), (w["rarely"], 1, 5)):
        for i in range(total):
            TicketFactory(
                organization=org,
                client=c,
                request_type=other if i < catch_all else regular,
                number=next(numbers),
            )
    TicketFactory(  # old catch-all work does not count
        organization=org,
        client=w["rarely"],
        request_type=other,
        opened_at=now - datetime.timedelta(days=40),
        number=next(numbers),
    )
    # Billing notes: missing on an active client, not on an ended one.
    w["no_notes"] = ClientFactory(
        organization=org, name="No notes", billing_notes="  ", account_manager=other_manager
    )
    ClientFactory(organization=org, name="Ended", billing_notes="", status=Client.Status.ENDED)
    return w


def flags_key(flag: ExceptionFlag) -> str:
    """The subject of the item standing for the client's open flags of a kind."""
    return f"flags:{flag.client_id}:{flag.kind}"


def expected_items(w) -> set[tuple[str, str]]:
    return {
        (Kind.UNCLEAR_DECISION, f"ticket:{w['unclear'].pk}"),
        (Kind.STALE_SCOPE_CHECK, f"check:{w['stale'].pk}"),
        (Kind.OPEN_FLAG, flags_key(w["open_flag"])),
        (Kind.OPEN_FLAG, flags_key(w["owned_flag"])),
        (Kind.UNDECIDED_TIME, f"ticket:{w['undecided'].pk}"),
        (Kind.CATCH_ALL_USE, f"client:{w['leaning'].pk}"),
        (Kind.MISSING_BILLING_NOTES, f"client:{w['no_notes'].pk}"),
    }


def test_the_queue_holds_exactly_what_is_unresolved(world, org):
    result = review_queue_build(organization=org, now=world["now"])
    assert result.queue.week_start == organization_week_start(org, world["now"])
    assert items(result.queue) == expected_items(world)
    assert result.created == len(expected_items(world))


def test_each_item_has_a_reason_and_the_clients_account_manager_as_owner(
    world, org, account_manager, developer
):
    queue = review_queue_build(organization=org, now=world["now"]).queue
    by_subject = {i.subject_key: i for i in ReviewItem.objects.filter(queue=queue)}
    unclear = by_subject[f"ticket:{world['unclear'].pk}"]
    assert unclear.reason == f"#{world['unclear'].number} decided unclear: Bug or change?"
    assert unclear.owner == account_manager and unclear.ticket == world["unclear"]
    assert (
        "45 min logged without a decision" in by_subject[f"ticket:{world['undecided'].pk}"].reason
    )
    assert "waiting since" in by_subject[f"check:{world['stale'].pk}"].reason
    assert "2 of 4 tickets" in by_subject[f"client:{world['leaning'].pk}"].reason
    open_flag = by_subject[flags_key(world["open_flag"])]
    assert open_flag.reason == "Ticket over its expected time: Logged 90 min; expected about 60 min"
    assert open_flag.flag == world["open_flag"] and open_flag.ticket == world["clear"]
    assert by_subject[flags_key(world["owned_flag"])].reason.startswith("Contract hours at 80 %")
    # The flag's own owner, else the client's account manager.
    assert by_subject[flags_key(world["owned_flag"])].owner == world["other_manager"]
    assert by_subject[flags_key(world["open_flag"])].owner == account_manager
    assert by_subject[f"client:{world['no_notes'].pk}"].owner == world["other_manager"]
    assert all(i.status == ReviewItem.Status.OPEN for i in by_subject.values())


def test_building_twice_changes_nothing(world, org):
    first = review_queue_build(organization=org, now=world["now"])
    rows = list(ReviewItem.objects.order_by("pk").values())
    second = review_queue_build(organization=org, now=world["now"] + datetime.timedelta(hours=1))
    assert second.queue.pk == first.queue.pk and second.created == 0
    assert list(ReviewItem.objects.order_by("pk").values()) == rows
    assert ReviewQueue.objects.count() == 1


def test_resolved_items_stay_resolved_when_rebuilt(world, org, account_manager):
    queue = review_queue_build(organization=org, now=world["now"]).queue
    item = ReviewItem.objects.get(queue=queue, kind=Kind.UNCLEAR_DECISION)
    review_item_resolve(item=item, actor=account_manager, note="Client confirmed it's a bug")
    review_queue_build(organization=org, now=world["now"])
    item.refresh_from_db()
    assert item.status == ReviewItem.Status.RESOLVED
    assert item.resolved_by == account_manager and item.note == "Client confirmed it's a bug"
    assert ReviewItem.objects.filter(kind=Kind.UNCLEAR_DECISION).count() == 1


def test_a_rebuild_settles_what_was_resolved_elsewhere_and_adds_what_is_new(
    world, org, developer, open_ticket
):
    queue = review_queue_build(organization=org, now=world["now"]).queue
    decide(world["unclear"], developer, "included", reason="It was a bug after all")
    ExceptionFlag.objects.filter(pk=world["open_flag"].pk).update(
        status=ExceptionFlag.Status.RESOLVED
    )
    Client.objects.filter(pk=world["no_notes"].pk).update(billing_notes="Quarterly invoice")
    newly_unclear = open_ticket(title="New")
    decide(newly_unclear, developer, "unclear", reason="Which contract?")
    result = review_queue_build(organization=org, now=world["now"])
    open_items = set(
        ReviewItem.objects.filter(queue=queue, status="open").values_list("kind", "subject_key")
    )
    settled = {
        (Kind.UNCLEAR_DECISION, f"ticket:{world['unclear'].pk}"),
        (Kind.OPEN_FLAG, flags_key(world["open_flag"])),
        (Kind.MISSING_BILLING_NOTES, f"client:{world['no_notes'].pk}"),
    }
    assert result.created == 1
    assert open_items == (expected_items(world) - settled) | {
        (Kind.UNCLEAR_DECISION, f"ticket:{newly_unclear.pk}")
    }
    for kind, subject in settled:
        item = ReviewItem.objects.get(queue=queue, kind=kind, subject_key=subject)
        assert item.status == "resolved" and item.resolved_by is None
        assert "settled elsewhere" in item.note


def test_each_organization_reviews_only_its_own(world, org, other_org, stranger):
    with activate_organization(other_org):
        ClientFactory(organization=other_org, billing_notes="")
        theirs = review_queue_build(organization=other_org, now=world["now"]).queue
        assert {k for k, _ in items(theirs)} == {Kind.MISSING_BILLING_NOTES}
    ours = review_queue_build(organization=org, now=world["now"]).queue
    assert items(ours) == expected_items(world)


# --- working the queue ------------------------------------------------------------------
def test_resolving_an_item_records_who_when_and_why(world, org, finance):
    queue = review_queue_build(organization=org, now=world["now"]).queue
    item = ReviewItem.objects.get(queue=queue, kind=Kind.STALE_SCOPE_CHECK)
    resolved = review_item_resolve(item=item, actor=finance, note=" Chased the client ")
    assert resolved.status == ReviewItem.Status.RESOLVED and resolved.resolved_by == finance
    assert resolved.resolved_at is not None and resolved.note == "Chased the client"
    with pytest.raises(ValidationError):
        review_item_resolve(item=item, actor=finance)


def test_resolving_an_open_flag_item_resolves_the_flag(world, org, account_manager):
    queue = review_queue_build(organization=org, now=world["now"]).queue
    item = ReviewItem.objects.get(queue=queue, subject_key=flags_key(world["open_flag"]))
    review_item_resolve(item=item, actor=account_manager, note="Billed the extra hour")
    flag = ExceptionFlag.objects.get(pk=world["open_flag"].pk)
    assert flag.status == ExceptionFlag.Status.RESOLVED
    assert flag.resolved_by == account_manager and flag.resolution_note == "Billed the extra hour"


def _more_over_expected(world, org, *keys):
    return [
        ExceptionFlag.objects.create(
            organization=org,
            kind=ExceptionFlag.Kind.OVER_EXPECTED,
            subject_key=f"ticket:{world[key].pk}",
            ticket=world[key],
            client=world[key].client,
            detail=f"Over on {key}",
        )
        for key in keys
    ]


def _group_item(queue, flag) -> ReviewItem:
    return review_item_list(organization=queue.organization, queue=queue).get(
        subject_key=flags_key(flag)
    )


def test_a_clients_open_flags_of_one_kind_are_one_item(world, org, account_manager):
    """The review shows one line per client and kind of flag, not one per
    flag: a week of a busy client is a handful of items, not hundreds."""
    more = _more_over_expected(world, org, "unclear", "undecided")
    queue = review_queue_build(organization=org, now=world["now"]).queue
    assert items(queue) == expected_items(world)
    item = _group_item(queue, world["open_flag"])
    assert item.reason == "Ticket over its expected time: 3 open flags"
    assert item.flag == more[-1] and item.flag_kind == ExceptionFlag.Kind.OVER_EXPECTED
    assert item.ticket is None  # the flags are about three tickets
    assert item.client == world["open_flag"].client and item.owner == account_manager
    assert item.flags_left == 3


def test_resolving_a_flags_item_resolves_the_flags_it_counts_and_not_later_ones(
    world, org, finance
):
    world["elsewhere"] = TicketFactory(organization=org, client=world["leaning"], number=2000)
    (elsewhere,) = _more_over_expected(world, org, "elsewhere")  # another client's
    more = _more_over_expected(world, org, "unclear")
    queue = review_queue_build(organization=org, now=world["now"]).queue
    (later,) = _more_over_expected(world, org, "undecided")  # raised after the build
    review_item_resolve(item=_group_item(queue, later), actor=finance, note="Billed as extra")
    counted = ExceptionFlag.objects.filter(pk__in=[world["open_flag"].pk, more[0].pk])
    assert {(f.status, f.resolved_by, f.resolution_note) for f in counted} == {
        ("resolved", finance, "Billed as extra")
    }
    later.refresh_from_db()
    elsewhere.refresh_from_db()
    owned = ExceptionFlag.objects.get(pk=world["owned_flag"].pk)  # another kind
    assert later.status == elsewhere.status == owned.status == ExceptionFlag.Status.OPEN
    # The next rebuild brings the later flag back into the week's review.
    review_queue_build(organization=org, now=world["now"])
    item = _group_item(queue, later)
    assert item.status == ReviewItem.Status.OPEN and item.resolved_by is None and item.note == ""
    assert item.flag == later and item.flags_left == 1
    assert item.reason == "Ticket over its expected time: Over on undecided"


def test_resolving_the_flags_one_by_one_settles_the_item_with_the_last(world, org, account_manager):
    (more,) = _more_over_expected(world, org, "unclear")
    queue = review_queue_build(organization=org, now=world["now"]).queue
    flag_resolve(flag=world["open_flag"], actor=account_manager, note="Fine")
    item = _group_item(queue, more)
    assert item.status == ReviewItem.Status.OPEN and item.flags_left == 1
    flag_resolve(flag=more, actor=account_manager, note="Also fine")
    item = _group_item(queue, more)
    assert item.status == ReviewItem.Status.RESOLVED and item.flags_left == 0
    assert item.resolved_by == account_manager and item.note == "Also fine"


def test_a_rebuild_counts_the_flags_raised_since_in_the_same_item(world, org):
    queue = review_queue_build(organization=org, now=world["now"]).queue
    before = _group_item(queue, world["open_flag"])
    more = _more_over_expected(world, org, "unclear", "undecided")
    result = review_queue_build(organization=org, now=world["now"])
    after = _group_item(queue, world["open_flag"])
    assert result.created == 0 and after.pk == before.pk
    assert after.flag == more[-1] and after.flags_left == 3
    assert after.reason == "Ticket over its expected time: 3 open flags"


def test_reassigning_gives_the_item_to_another_reviewer(
    world, org, admin_member, finance, developer, stranger
):
    queue = review_queue_build(organization=org, now=world["now"]).queue
    item = ReviewItem.objects.get(queue=queue, kind=Kind.UNCLEAR_DECISION)
    assert review_item_reassign(item=item, actor=admin_member, owner=finance).owner == finance
    item.refresh_from_db()
    assert item.owner == finance
    with pytest.raises(ValidationError):  # developers do not work the review
        review_item_reassign(item=item, actor=admin_member, owner=developer)
    with pytest.raises(ValidationError):  # nor do other organizations' members
        review_item_reassign(item=item, actor=admin_member, owner=stranger)
    item.refresh_from_db()
    assert item.owner == finance


def test_developers_do_not_work_the_review(world, org, developer, account_manager):
    queue = review_queue_build(organization=org, now=world["now"]).queue
    item = ReviewItem.objects.filter(queue=queue).first()
    with pytest.raises(PermissionDenied):
        review_item_resolve(item=item, actor=developer)
    with pytest.raises(PermissionDenied):
        review_item_reassign(item=item, actor=developer, owner=account_manager)


# --- the beat ----------------------------------------------------------------------------
def _tick_hourly(start: datetime.datetime, hours: int) -> dict:
    """Run the hourly beat task at each hour from ``start`` (the clock frozen
    there); return {(organization slug, week start): the hour it was built}."""
    built: dict = {}
    for hour in range(hours):
        now = start + datetime.timedelta(hours=hour)
        with mock.patch("django.utils.timezone.now", return_value=now):
            review_queues_build_due.apply()
        with scopes_disabled():
            for key in ReviewQueue.objects.values_list("organization__slug", "week_start"):
                built.setdefault(key, now)
    return built


@pytest.fixture
def practices(db):
    return [
        OrganizationFactory(slug="ams", timezone="Europe/Amsterdam", week_start=0),
        OrganizationFactory(slug="nyc", timezone="America/New_York", week_start=6),
        OrganizationFactory(slug="tyo", timezone="Asia/Tokyo", week_start=0),
    ]


def test_the_beat_builds_each_queue_when_its_own_week_starts_across_spring_dst(practices):
    """Amsterdam moves to summer time on Sunday 29 March 2026 (New York did
    on 8 March): each practice's new week is built within the hour it starts."""
    built = _tick_hourly(utc(2026, 3, 28, 12), hours=48)
    assert built[("tyo", datetime.date(2026, 3, 30))] == utc(2026, 3, 29, 15)  # 00:00 JST
    assert built[("ams", datetime.date(2026, 3, 30))] == utc(2026, 3, 29, 22)  # 00:00 CEST
    assert built[("nyc", datetime.date(2026, 3, 29))] == utc(2026, 3, 29, 4)  # Sunday 00:00 EDT
    # Before the new week, each had exactly the week it was in.
    assert built[("ams", datetime.date(2026, 3, 23))] == utc(2026, 3, 28, 12)
    assert built[("nyc", datetime.date(2026, 3, 22))] == utc(2026, 3, 28, 12)
    assert len(built) == 6


def test_the_beat_builds_each_queue_when_its_own_week_starts_across_autumn_dst(practices):
    """Amsterdam falls back on Sunday 25 October 2026, New York on 1 November."""
    built = _tick_hourly(utc(2026, 10, 25, 0), hours=24)
    assert built[("nyc", datetime.date(2026, 10, 25))] == utc(2026, 10, 25, 4)  # 00:00 EDT
    assert built[("tyo", datetime.date(2026, 10, 26))] == utc(2026, 10, 25, 15)  # 00:00 JST
    assert built[("ams", datetime.date(2026, 10, 26))] == utc(2026, 10, 25, 23)  # 00:00 CET
    built = _tick_hourly(utc(2026, 11, 7, 20), hours=12)
    assert built[("nyc", datetime.date(2026, 11, 8))] == utc(2026, 11, 8, 5)  # 00:00 EST


def test_a_queue_is_due_once_per_week(org):
    now = utc(2026, 11, 18, 12)
    with activate_organization(org):
        assert review_queue_due(organization=org, now=now)
        review_queue_build(organization=org, now=now)
        assert not review_queue_due(organization=org, now=now)
        assert not review_queue_due(organization=org, now=now + datetime.timedelta(days=2))
        assert review_queue_due(organization=org, now=now + datetime.timedelta(days=6))


# --- digests -------------------------------------------------------------------------------
@pytest.fixture
def in_november():
    """The world is built on 18 November 2026, the month the digests are
    sent about (whatever today is)."""
    with mock.patch("django.utils.timezone.now", return_value=utc(2026, 11, 18, 9)):
        yield


@pytest.fixture
def digest_world(in_november, world, org, finance, account_manager, developer):
    # Finance hears from the 16th of November (14 days before the month ends).
    org.finance_digest_days = 14
    org.save(update_fields=["finance_digest_days"])
    finance.user.email = "fin@example.com"
    finance.user.save()
    developer.user.email = "dev@example.com"
    developer.user.save()
    return world


def _send(now, django_capture_on_commit_callbacks, org):
    with (
        mock.patch("django.utils.timezone.now", return_value=now),
        django_capture_on_commit_callbacks(execute=True),
    ):
        return digests_send(organization=org)


def _digests():
    return set(DigestSent.objects.values_list("kind", "period_key", "membership__user__username"))


def test_digests_go_once_per_recipient_and_period(
    digest_world, org, django_capture_on_commit_callbacks
):
    now = utc(2026, 11, 18, 12)
    mail.outbox.clear()
    assert _send(now, django_capture_on_commit_callbacks, org) == 3
    recipients = sorted(address for m in mail.outbox for address in m.to)
    assert recipients == ["am2@example.com", "am@example.com", "fin@example.com"]
    am_mail = next(m for m in mail.outbox if m.to == ["am@example.com"])
    assert "2 scope checks waiting for you, 0 open flags you own" in am_mail.subject
    am2_mail = next(m for m in mail.outbox if m.to == ["am2@example.com"])
    assert "0 scope checks waiting for you, 1 open flags you own" in am2_mail.subject
    # A job that re-runs sends nothing.
    assert _send(now + datetime.timedelta(hours=1), django_capture_on_commit_callbacks, org) == 0
    assert len(mail.outbox) == 3
    assert DigestSent.objects.count() == 3


def test_account_managers_hear_weekly_and_finance_monthly(
    digest_world, org, django_capture_on_commit_callbacks
):
    mail.outbox.clear()
    for now in (utc(2026, 11, 18, 12), utc(2026, 11, 25, 12), utc(2026, 12, 2, 12)):
        _send(now, django_capture_on_commit_callbacks, org)
    assert _digests() == {
        ("account_manager", week, who)
        for week in ("2026-11-16", "2026-11-23", "2026-11-30")
        for who in ("am-ours", "am2")
    } | {("finance", "2026-11", "fin-ours")}  # 2 December is too early for December's
    assert len(mail.outbox) == 7
    finance_mail = next(m for m in mail.outbox if m.to == ["fin@example.com"])
    assert "exceptions block" in finance_mail.subject
    assert "Open the pre-invoice review" in finance_mail.body


def test_finance_hears_days_before_the_month_ends(
    digest_world, org, django_capture_on_commit_callbacks
):
    org.finance_digest_days = 3
    org.save(update_fields=["finance_digest_days"])
    mail.outbox.clear()
    _send(utc(2026, 11, 26, 12), django_capture_on_commit_callbacks, org)
    assert not DigestSent.objects.filter(kind="finance").exists()
    _send(utc(2026, 11, 27, 12), django_capture_on_commit_callbacks, org)
    finance_mail = next(m for m in mail.outbox if m.to == ["fin@example.com"])
    # Client by client, what still blocks: each exception with its detail.
    assert ": " in finance_mail.body and "blocking" in finance_mail.body
    assert "The month closes on 30 November" in finance_mail.body


def test_nothing_pending_means_no_digest(org, account_manager, finance, developer):
    with activate_organization(org):
        assert digests_send(organization=org) == 0
    assert not DigestSent.objects.model._base_manager.exists()


def test_the_beat_sends_digests_per_organization_once(
    digest_world, org, other_org, stranger, django_capture_on_commit_callbacks
):
    mail.outbox.clear()
    for _ in range(2):
        with django_capture_on_commit_callbacks(execute=True):
            digests_send_all.apply()
    assert len(mail.outbox) == 3
    assert not any("dev@example.com" in m.to for m in mail.outbox)
