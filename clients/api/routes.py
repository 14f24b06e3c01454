"""Registers the clients API viewsets on the v1 router (msops/api_urls.py)."""

from . import views


def register(router) -> None:
    router.register("clients", views.ClientViewSet, basename="client")
    router.register("contracts", views.ContractViewSet, basename="contract")
    router.register(
        "contract-revisions", views.ContractRevisionViewSet, basename="contract-revision"
    )
    router.register("request-types", views.RequestTypeViewSet, basename="request-type")
    router.register("scope-rules", views.ScopeRuleViewSet, basename="scope-rule")
    router.register("sla-targets", views.SLATargetViewSet, basename="sla-target")
    router.register("sla-calendars", views.SLACalendarViewSet, basename="sla-calendar")
    router.register("pricing-tiers", views.PricingTierViewSet, basename="pricing-tier")
    router.register("unit-counts", views.UnitCountViewSet, basename="unit-count")
    router.register("block-top-ups", views.BlockTopUpViewSet, basename="block-top-up")
