from rest_framework import viewsets
from rest_framework.generics import RetrieveAPIView

from ..models import Membership
from ..selectors import membership_list
from .mixins import TenantViewSetMixin
from .serializers import MembershipSerializer, OrganizationSerializer


class OrganizationView(RetrieveAPIView):
    """The organization of the token."""

    serializer_class = OrganizationSerializer

    def get_object(self):
        return self.request.organization


class MembershipViewSet(TenantViewSetMixin, viewsets.ReadOnlyModelViewSet):
    """Members of the token's organization and their roles."""

    queryset = Membership.objects.none()
    serializer_class = MembershipSerializer
    filterset_fields = ["role"]
    search_fields = ["user__username", "user__email"]
    ordering_fields = ["user__username", "created_at"]

    def get_tenant_queryset(self, organization):
        return membership_list(organization=organization)
