"""REST API v1: every app registers its viewsets on this one router."""

from django.urls import include, path
from rest_framework.routers import DefaultRouter

from msops.tenancy.api.views import MembershipViewSet, OrganizationView

router = DefaultRouter()
router.include_root_view = False
router.register("memberships", MembershipViewSet, basename="membership")

urlpatterns = [
    path("organization/", OrganizationView.as_view(), name="organization-detail"),
    path("", include(router.urls)),
]
