"""Counts shown in the navigation inside an organization."""

from django.http import HttpRequest
from django.utils.functional import SimpleLazyObject


def nav_counts(request: HttpRequest) -> dict:
    """``{"nav_counts": {"flags": n, "scope_checks": n, "review": n}}`` inside
    an organization, ``{}`` elsewhere.

    Computed lazily (one query of three counts, only if a template shows
    them) and once per request, however many templates render."""
    organization = getattr(request, "organization", None)
    membership = getattr(request, "membership", None)
    if organization is None or membership is None:
        return {}
    counts = getattr(request, "_nav_counts", None)
    if counts is None:
        from .selectors.navigation import nav_counts as select_counts

        counts = SimpleLazyObject(lambda: select_counts(membership=membership))
        request._nav_counts = counts
    return {"nav_counts": counts}


def running_timer(request: HttpRequest) -> dict:
    """``{"running_timer": <Timer or None>}`` for a person who logs time inside
    an organization (templates/billing/partials/running-timer.html), ``{}``
    elsewhere and for finance.

    Lazy: one query (the timer with its ticket), only if a template shows it,
    and once per request."""
    organization = getattr(request, "organization", None)
    membership = getattr(request, "membership", None)
    if organization is None or membership is None:
        return {}
    from tickets.services import TICKET_WRITERS

    if membership.role not in TICKET_WRITERS:
        return {}
    return {"running_timer": SimpleLazyObject(lambda: person_timer(request))}


def person_timer(request: HttpRequest):
    """The person's running timer (or None), read once per request: the menu's
    indicator and the ticket page's timer box share the read."""
    if not hasattr(request, "_running_timer"):
        from .selectors.timers import timer_running

        request._running_timer = timer_running(
            organization=request.organization, person=request.membership
        )
    return request._running_timer
