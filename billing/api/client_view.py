"""Client view links API: a client contact's signed, expiring, revocable
link to read the client's figures without an account, and the log of its
views. The link's URL is in the answer to its creation only (it is never
stored). Finance and admins read every client's links, account managers
their own clients'; admins and the client's account manager create and
revoke them; developers have no access."""

from django.urls import reverse
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import mixins, serializers, status
from rest_framework.decorators import action
from rest_framework.response import Response

from clients.models import Client
from msops.tenancy.api.filters import TenantFilterSet, TenantIdFilter
from msops.tenancy.api.mixins import ReadOnlyTenantViewSet, TenantPrimaryKeyRelatedField
from msops.tenancy.models import Role
from msops.tenancy.roles import MONEY_READERS as READERS

from ..models import ClientViewEvent, ClientViewLink
from ..selectors.client_view import client_view_event_list, client_view_link_list
from ..selectors.finance_pages import money_reach
from ..services.client_view import (
    CLIENT_VIEW_DAYS,
    CLIENT_VIEW_MAX_DAYS,
    client_view_link_create,
    client_view_link_revoke,
    client_view_link_works,
    client_view_token,
)

MANAGERS = frozenset({Role.ACCOUNT_MANAGER, Role.ADMIN})
BAD_REQUEST = OpenApiResponse(description="A field is invalid (field messages in the body).")
NOT_ALLOWED = OpenApiResponse(
    description="Only the client's account manager or an admin manages its links."
)


class ClientViewLinkSerializer(serializers.ModelSerializer):
    client_name = serializers.CharField(source="client.name", read_only=True)
    is_active = serializers.SerializerMethodField(
        help_text="Neither revoked nor expired, and the client has not ended."
    )
    view_count = serializers.IntegerField(read_only=True)

    class Meta:
        model = ClientViewLink
        fields = [
            "id", "client", "client_name", "contact_name", "contact_email", "expires_at",
            "revoked_at", "revoked_by", "created_by", "created_at", "last_viewed_at", "view_count",
            "is_active",
        ]  # fmt: skip
        read_only_fields = fields

    def get_is_active(self, link) -> bool:
        return client_view_link_works(link=link)


class ClientViewLinkCreatedSerializer(ClientViewLinkSerializer):
    url = serializers.CharField(
        read_only=True, help_text="The link to send the contact: shown only in this answer."
    )

    class Meta(ClientViewLinkSerializer.Meta):
        fields = [*ClientViewLinkSerializer.Meta.fields, "url"]
        read_only_fields = fields


class ClientViewLinkCreateSerializer(serializers.Serializer):
    client = TenantPrimaryKeyRelatedField(queryset=Client.objects)
    contact_name = serializers.CharField(max_length=200)
    contact_email = serializers.EmailField()
    days = serializers.IntegerField(
        min_value=1,
        max_value=CLIENT_VIEW_MAX_DAYS,
        default=CLIENT_VIEW_DAYS,
        help_text=f"Days until the link expires (default {CLIENT_VIEW_DAYS}).",
    )


class ClientViewEventSerializer(serializers.ModelSerializer):
    class Meta:
        model = ClientViewEvent
        fields = ["id", "link", "viewed_at", "ip", "user_agent"]
        read_only_fields = fields


class ClientViewLinkFilter(TenantFilterSet):
    client = TenantIdFilter(Client)

    class Meta:
        model = ClientViewLink
        fields: list[str] = []


class ClientViewLinkViewSet(mixins.CreateModelMixin, ReadOnlyTenantViewSet):
    """A client's view links, newest first (filter with ``client``)."""

    queryset = ClientViewLink.objects.none()
    serializer_class = ClientViewLinkSerializer
    filterset_class = ClientViewLinkFilter
    ordering_fields = ["created_at", "expires_at", "last_viewed_at"]
    read_roles = READERS
    write_roles = MANAGERS
    action_roles = {"revoke": MANAGERS, "events": READERS}

    def get_tenant_queryset(self, organization):
        links = client_view_link_list(organization=organization, client=None)
        return money_reach(membership=self.request.membership).clients_of(links, "client")

    @extend_schema(
        request=ClientViewLinkCreateSerializer,
        responses={201: ClientViewLinkCreatedSerializer, 400: BAD_REQUEST, 403: NOT_ALLOWED},
    )
    def create(self, request, *args, **kwargs):
        """Create a link for a client contact; the answer carries its URL (only here)."""
        serializer = ClientViewLinkCreateSerializer(
            data=request.data, context=self.get_serializer_context()
        )
        serializer.is_valid(raise_exception=True)
        link = client_view_link_create(actor=request.membership, **serializer.validated_data)
        fresh = self.get_tenant_queryset(request.organization).get(pk=link.pk)
        token = client_view_token(link=link)
        fresh.url = request.build_absolute_uri(
            reverse("public:client_view", kwargs={"token": token})
        )
        body = ClientViewLinkCreatedSerializer(fresh, context=self.get_serializer_context()).data
        return Response(body, status=status.HTTP_201_CREATED)

    @extend_schema(request=None, responses={200: ClientViewLinkSerializer, 403: NOT_ALLOWED})
    @action(detail=True, methods=["post"])
    def revoke(self, request, pk=None):
        """Revoke the link: it stops working at once (revoking twice changes nothing)."""
        link = client_view_link_revoke(link=self.get_object(), actor=request.membership)
        fresh = self.get_tenant_queryset(request.organization).get(pk=link.pk)
        return Response(ClientViewLinkSerializer(fresh, context=self.get_serializer_context()).data)

    @extend_schema(responses={200: ClientViewEventSerializer(many=True)})
    @action(detail=True, methods=["get"], filter_backends=[])
    def events(self, request, pk=None):
        """The link's views, newest first: when, network address, browser."""
        link = self.get_object()
        events = client_view_event_list(organization=request.organization, link=link)
        page = self.paginate_queryset(events)
        if page is not None:
            return self.get_paginated_response(ClientViewEventSerializer(page, many=True).data)
        return Response(ClientViewEventSerializer(events, many=True).data)
