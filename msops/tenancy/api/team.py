"""Team management over the API, for admins: invitations (list, read, send,
send again, revoke) and the membership actions (change the role, deactivate,
reactivate) that :class:`msops.tenancy.api.views.MembershipViewSet` answers
with :func:`answer_role`, :func:`answer_deactivate` and :func:`answer_reactivate`. Every write goes through
:mod:`msops.tenancy.team`, so the API refuses exactly what the team page
refuses: the last active admin is kept (409 ``refused``)."""

from collections.abc import Callable

import django_filters
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, serializers, viewsets
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from .. import team
from ..models import Invitation, Membership, Role
from ..roles import ADMINS
from .filters import TenantFilterSet
from .mixins import TenantViewSetMixin
from .serializers import MembershipSerializer

# MembershipViewSet's actions: admins only (everyone may read the members).
MEMBER_ACTION_ROLES = {"role": ADMINS, "deactivate": ADMINS, "reactivate": ADMINS}


class TeamMemberSerializer(MembershipSerializer):
    """A member as the team page shows them: with name, status and last sign-in."""

    name = serializers.SerializerMethodField()
    last_sign_in = serializers.DateTimeField(
        source="user.last_login", read_only=True, allow_null=True
    )

    class Meta(MembershipSerializer.Meta):
        fields = [*MembershipSerializer.Meta.fields, "name", "deactivated_at", "last_sign_in"]
        read_only_fields = fields
        extra_kwargs = {
            "deactivated_at": {
                "help_text": "null while active; set: the member can no longer use the"
                " organization and their API tokens are revoked."
            }
        }

    def get_name(self, obj: Membership) -> str:
        return team.member_name(obj)


class RoleChangeSerializer(serializers.Serializer):
    role = serializers.ChoiceField(choices=Role.choices)


def _member_answer(view: viewsets.GenericViewSet, request: Request, write: Callable) -> Response:
    """Find the addressed member (404 before any input is read), run
    ``write(membership=..., by=..., request=...)``, answer the member as they are now."""
    member = view.get_object()
    member = write(membership=member, by=request.membership, request=request)
    member = team.team_member_list(organization=request.organization).get(pk=member.pk)
    return Response(TeamMemberSerializer(member, context=view.get_serializer_context()).data)


def answer_role(view: viewsets.GenericViewSet, request: Request) -> Response:
    def write(**kwargs):
        serializer = RoleChangeSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        return team.member_role_change(role=serializer.validated_data["role"], **kwargs)

    return _member_answer(view, request, write)


def answer_deactivate(view: viewsets.GenericViewSet, request: Request) -> Response:
    return _member_answer(view, request, team.member_deactivate)


def answer_reactivate(view: viewsets.GenericViewSet, request: Request) -> Response:
    return _member_answer(view, request, team.member_reactivate)


MEMBER_ROLE_SCHEMA = extend_schema(
    request=RoleChangeSerializer,
    responses=TeamMemberSerializer,
    description="Change the member's role (admins). Demoting the organization's last"
    " active admin is refused (409 ``refused``).",
)
MEMBER_DEACTIVATE_SCHEMA = extend_schema(
    request=None,
    responses=TeamMemberSerializer,
    description="Deactivate the member (admins): their pages answer 404 and their API tokens"
    " are revoked at once (a request with one is a 401). When none of their memberships is"
    " active any more, their account is switched off too. Deactivating the last active"
    " admin is refused (409 ``refused``). Deactivating a deactivated member changes nothing.",
)
MEMBER_REACTIVATE_SCHEMA = extend_schema(
    request=None,
    responses=TeamMemberSerializer,
    description="Reactivate the member (admins). Their old API tokens stay revoked.",
)


# --- invitations -------------------------------------------------------------------------
class InvitationSerializer(serializers.ModelSerializer):
    status = serializers.ChoiceField(
        choices=Invitation.Status.choices,
        read_only=True,
        help_text="pending: the link works; expired: send it again or revoke it; accepted;"
        " revoked.",
    )

    class Meta:
        model = Invitation
        fields = [
            "id",
            "email",
            "name",
            "role",
            "status",
            "invited_by",
            "created_at",
            "sent_at",
            "expires_at",
            "accepted_at",
            "revoked_at",
            "accepted_membership",
        ]
        read_only_fields = [f for f in fields if f not in {"email", "name", "role"}]
        extra_kwargs = {
            "email": {"help_text": "Where the link is sent. Not someone already a member."},
            "role": {"help_text": "The role they get when they accept."},
        }


class InvitationFilter(TenantFilterSet):
    status = django_filters.ChoiceFilter(
        choices=Invitation.Status.choices, method="filter_status", help_text="As ``status``."
    )

    class Meta:
        model = Invitation
        fields = ["role", "status"]

    def filter_status(self, queryset, name, value):
        return queryset.filter(Invitation.status_filter(value))


class InvitationViewSet(
    TenantViewSetMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    viewsets.GenericViewSet,
):
    """Invitations to join the organization, newest first (admins). Creating
    one emails a signed link that works once, for 7 days: the invitee chooses
    a username and password, or signs in with the account their email
    already has. An email that is already a member, or already has a pending
    invitation, is a 400 on ``email``. Sending again replaces the link (the
    older one stops working) and gives it another 7 days; revoking stops it.
    Neither is possible once accepted (409 ``refused``)."""

    queryset = Invitation.objects.none()
    serializer_class = InvitationSerializer
    filterset_class = InvitationFilter
    ordering_fields = ["created_at", "expires_at"]
    read_roles = ADMINS
    write_roles = ADMINS

    def get_tenant_queryset(self, organization):
        return team.invitation_list(organization=organization)

    def perform_create(self, serializer) -> None:
        data = serializer.validated_data
        invitation = team.invitation_create(
            organization=self.request.organization,
            email=data["email"],
            name=data.get("name", ""),
            role=data.get("role", Role.DEVELOPER),
            invited_by=self.request.membership,
            link_url=team.invitation_link_url(self.request),
            request=self.request,
        )
        serializer.instance = self.get_queryset().get(pk=invitation.pk)

    def _answer(self, invitation: Invitation) -> Response:
        invitation = self.get_queryset().get(pk=invitation.pk)
        return Response(
            InvitationSerializer(invitation, context=self.get_serializer_context()).data
        )

    @extend_schema(request=None, responses=InvitationSerializer)
    @action(detail=True, methods=["post"])
    def resend(self, request, pk=None):
        """Send a new link, valid for another 7 days; the older link stops working."""
        invitation = team.invitation_resend(
            invitation=self.get_object(),
            by=request.membership,
            link_url=team.invitation_link_url(request),
            request=request,
        )
        return self._answer(invitation)

    @extend_schema(request=None, responses=InvitationSerializer)
    @action(detail=True, methods=["post"])
    def revoke(self, request, pk=None):
        """Withdraw the invitation: its link stops working. Revoking twice changes nothing."""
        invitation = team.invitation_revoke(
            invitation=self.get_object(), by=request.membership, request=request
        )
        return self._answer(invitation)
