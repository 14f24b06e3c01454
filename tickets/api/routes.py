"""Registers the tickets API viewsets on the v1 router (msops/api_urls.py)."""

from .views import BillingMomentViewSet, TicketViewSet, TimeEntryViewSet


def register(router) -> None:
    router.register("tickets", TicketViewSet, basename="ticket")
    router.register("time-entries", TimeEntryViewSet, basename="time-entry")
    router.register("billing-moments", BillingMomentViewSet, basename="billing-moment")
