from rest_framework import mixins, serializers, viewsets
from rest_framework.decorators import action
from rest_framework.generics import RetrieveAPIView

from ..audit import auth_event_list
from ..models import AuthEvent, Membership
from ..roles import ADMINS
from ..selectors import membership_list
from . import team as team_api
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
        # Deactivated members too: their ``deactivated_at`` says so, and an
        # admin reactivates them here.
        return membership_list(organization=organization, include_deactivated=True)

    # Team management (admins; msops/tenancy/api/team.py): role, deactivate, reactivate.
    action_roles = team_api.MEMBER_ACTION_ROLES

    @team_api.MEMBER_ROLE_SCHEMA
    @action(detail=True, methods=["post"])
    def role(self, request, pk=None):
        return team_api.answer_role(self, request)

    @team_api.MEMBER_DEACTIVATE_SCHEMA
    @action(detail=True, methods=["post"])
    def deactivate(self, request, pk=None):
        return team_api.answer_deactivate(self, request)

    @team_api.MEMBER_REACTIVATE_SCHEMA
    @action(detail=True, methods=["post"])
    def reactivate(self, request, pk=None):
        return team_api.answer_reactivate(self, request)


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
