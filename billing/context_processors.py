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
