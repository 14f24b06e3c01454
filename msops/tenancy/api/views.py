from rest_framework import mixins, serializers, viewsets
from rest_framework.generics import RetrieveAPIView

from ..audit import auth_event_list
from ..models import AuthEvent, Membership
from ..roles import ADMINS
from ..selectors import membership_list
from .filters import SEARCHABLE_FILTER_BACKENDS
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
    filter_backends = SEARCHABLE_FILTER_BACKENDS
    search_fields = ["user__username", "user__email"]
    ordering_fields = ["user__username", "created_at"]

    def get_tenant_queryset(self, organization):
        return membership_list(organization=organization)


class AuthEventSerializer(serializers.ModelSerializer):
    """One line of the audit log. (Here rather than in serializers.py while
    this list is the only reader.)"""

    class Meta:
        model = AuthEvent
        fields = ["id", "at", "kind", "username", "user", "ip_address", "user_agent", "detail"]
        read_only_fields = fields


class AuthEventViewSet(TenantViewSetMixin, mixins.ListModelMixin, viewsets.GenericViewSet):
    """The audit log, newest first, for admins: sign-ins, failed sign-ins,
    lockouts and sign-outs of the organization's members, and its API tokens
    being created, revoked and used for the first time."""

    queryset = AuthEvent.objects.none()
    serializer_class = AuthEventSerializer
    read_roles = ADMINS
    filterset_fields = ["kind"]

    def get_tenant_queryset(self, organization):
        return auth_event_list(organization=organization)
