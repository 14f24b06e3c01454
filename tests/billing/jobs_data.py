"""Data for the jobs pages and API tests: flags and review items spread over
distinct tickets, clients and owners, so a missing join shows as one query
per row."""

import datetime
import itertools

from django_scopes import scopes_disabled

from billing.models import ExceptionFlag, ReviewItem, ReviewQueue
from msops.tenancy.models import Role
from msops.timezones import organization_week_start
from tests.factories import ClientFactory, MembershipFactory, TicketFactory

# Ticket numbers clear of what the ticket service hands out.
_numbers = itertools.count(100_000)


@scopes_disabled()
def flags_with_variety(org, rows: int, *, owner=None, kind=ExceptionFlag.Kind.OVER_EXPECTED):
    flags = []
    for i in range(rows):
        manager = owner or MembershipFactory(organization=org, role=Role.ACCOUNT_MANAGER)
        client = ClientFactory(organization=org, account_manager=manager)
        ticket = TicketFactory(organization=org, client=client, number=next(_numbers))
        flags.append(
            ExceptionFlag.objects.create(
                organization=org,
                kind=kind,
                subject_key=f"ticket:{ticket.pk}",
                ticket=ticket,
                client=client,
                owner=manager,
                detail=f"Logged {100 + i} min; expected about 60 min",
            )
        )
    return flags


@scopes_disabled()
def current_queue(org) -> ReviewQueue:
    return ReviewQueue.objects.create(organization=org, week_start=organization_week_start(org))


@scopes_disabled()
def items_with_variety(org, queue, rows: int, *, owner=None, kinds=None):
    kinds = kinds or [ReviewItem.Kind.UNCLEAR_DECISION, ReviewItem.Kind.UNDECIDED_TIME]
    items = []
    for i in range(rows):
        manager = owner or MembershipFactory(organization=org, role=Role.ACCOUNT_MANAGER)
        client = ClientFactory(organization=org, account_manager=manager)
        ticket = TicketFactory(organization=org, client=client, number=next(_numbers))
        kind = kinds[i % len(kinds)]
        about = {"subject_key": f"ticket:{ticket.pk}"}
        if kind == ReviewItem.Kind.OPEN_FLAG:  # two flags of the client, counted as one item
            flags = [_flag(org, ticket, client, manager, f"{n}") for n in ("a", "b")]
            about = {
                "subject_key": f"flags:{client.pk}:{flags[0].kind}",
                "flag": flags[-1],
                "flag_kind": flags[0].kind,
            }
        items.append(
            ReviewItem.objects.create(
                organization=org,
                queue=queue,
                kind=kind,
                ticket=ticket,
                client=client,
                owner=manager,
                reason=f"#{ticket.number} needs a look ({i})",
                **about,
            )
        )
    return items


def _flag(org, ticket, client, owner, period_key) -> ExceptionFlag:
    return ExceptionFlag.objects.create(
        organization=org,
        kind=ExceptionFlag.Kind.OVER_EXPECTED,
        subject_key=f"ticket:{ticket.pk}",
        period_key=period_key,
        ticket=ticket,
        client=client,
        owner=owner,
        detail="Logged 100 min; expected about 60 min",
    )


@scopes_disabled()
def past_queue(org, weeks_ago: int = 1) -> ReviewQueue:
    return ReviewQueue.objects.create(
        organization=org,
        week_start=organization_week_start(org) - datetime.timedelta(weeks=weeks_ago),
    )
