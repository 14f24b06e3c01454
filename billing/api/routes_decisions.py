"""Registers the decisions API viewsets (called by billing/api/routes.py)."""

from . import decisions


def register(router) -> None:
    router.register("decisions", decisions.DecisionViewSet, basename="billing-decision")
    router.register("scope-checks", decisions.ScopeCheckViewSet, basename="scope-check")
    router.register(
        "decision-log", decisions.DecisionLogEntryViewSet, basename="decision-log-entry"
    )
    router.register(
        "work-after-the-fact",
        decisions.WorkAfterTheFactViewSet,
        basename="work-after-the-fact",
    )
