"""REST API v1: every app registers its viewsets on this one router."""

from django.urls import include, path
from rest_framework.routers import DefaultRouter

from billing.api import routes as billing_routes
from clients.api import routes as clients_routes
from msops.tenancy.api.team import InvitationViewSet
from msops.tenancy.api.views import AuthEventViewSet, MembershipViewSet, OrganizationView
from tickets.api import routes as tickets_routes
from tickets.api.sla import SLAReportView
from transitions.api import routes as transitions_routes

router = DefaultRouter()
router.include_root_view = False
router.register("memberships", MembershipViewSet, basename="membership")
router.register("auth-events", AuthEventViewSet, basename="auth-event")
router.register("invitations", InvitationViewSet, basename="invitation")
clients_routes.register(router)
tickets_routes.register(router)
billing_routes.register(router)
transitions_routes.register(router)

urlpatterns = [
    path("organization/", OrganizationView.as_view(), name="organization-detail"),
    path("sla-report/", SLAReportView.as_view(), name="sla-report"),
    path("", include(router.urls)),
]
