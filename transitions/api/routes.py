"""Registers the transitions API viewsets on the v1 router (msops/api_urls.py)."""

from . import handoffs, signals, views
from . import review_pack as review_pack_api


def register(router) -> None:
    router.register("recurring-tasks", views.RecurringTaskViewSet, basename="recurring-task")
    router.register(
        "recurring-occurrences",
        views.RecurringOccurrenceViewSet,
        basename="recurring-occurrence",
    )
    router.register("risks", views.RiskViewSet, basename="risk")
    router.register("client-briefs", views.ClientBriefViewSet, basename="client-brief")
    router.register("handoffs", handoffs.HandoffViewSet, basename="handoff")
    router.register("handoff-items", handoffs.HandoffItemViewSet, basename="handoff-item")
    # Signals for preparing transitions (transitions/api/signals.py): read-only lists.
    router.register(
        "undocumented-context",
        signals.UndocumentedContextViewSet,
        basename="undocumented-context",
    )
    router.register(
        "transition-health", signals.TransitionHealthViewSet, basename="transition-health"
    )
    # Review packs (transitions/api/review_pack.py).
    router.register("review-packs", review_pack_api.ReviewPackViewSet, basename="review-pack")
