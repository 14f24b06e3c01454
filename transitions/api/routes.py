"""Registers the transitions API viewsets on the v1 router (msops/api_urls.py)."""

from . import views


def register(router) -> None:
    router.register("recurring-tasks", views.RecurringTaskViewSet, basename="recurring-task")
    router.register(
        "recurring-occurrences",
        views.RecurringOccurrenceViewSet,
        basename="recurring-occurrence",
    )
    router.register("risks", views.RiskViewSet, basename="risk")
    router.register("client-briefs", views.ClientBriefViewSet, basename="client-brief")
