"""The handoff API: start a handoff, name each line's new owner, take what
is given to you, complete (or cancel), and read the handoff document as
Markdown. Every write goes through :mod:`transitions.handoffs`, so the API
refuses exactly what the pages refuse."""

from django.core.exceptions import ValidationError
from django.db.models import Prefetch
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import NotFound
from rest_framework.response import Response

from clients.models import Client
from msops.display import member_name
from msops.tenancy.api.mixins import TenantPrimaryKeyRelatedField, TenantViewSetMixin
from msops.tenancy.models import Membership
from msops.tenancy.roles import ALL_ROLES, MANAGERS

from .. import handoffs
from ..models import Handoff, HandoffItem


# --- shapes -----------------------------------------------------------------------
class HandoffItemSerializer(serializers.ModelSerializer):
    client_name = serializers.SerializerMethodField()
    new_owner = TenantPrimaryKeyRelatedField(
        queryset=Membership.objects,
        allow_null=False,
        help_text="Who takes the item over; their role must be one that may own this kind.",
    )
    new_owner_name = serializers.SerializerMethodField()

    class Meta:
        model = HandoffItem
        fields = [
            "id",
            "handoff",
            "kind",
            "object_id",
            "client",
            "client_name",
            "label",
            "status",
            "new_owner",
            "new_owner_name",
            "assigned_at",
            "acknowledged_at",
            "transferred_at",
        ]
        read_only_fields = [f for f in fields if f != "new_owner"]

    def get_client_name(self, obj: HandoffItem) -> str | None:
        return obj.client.name if obj.client_id else None

    def get_new_owner_name(self, obj: HandoffItem) -> str | None:
        return member_name(obj.new_owner) if obj.new_owner_id else None


class HandoffSerializer(serializers.ModelSerializer):
    person = TenantPrimaryKeyRelatedField(
        queryset=Membership.objects, help_text="Whose open items are handed over."
    )
    person_name = serializers.SerializerMethodField()
    clients = TenantPrimaryKeyRelatedField(
        queryset=Client.objects,
        source="covered_clients",
        many=True,
        required=False,
        help_text="The clients covered; leave empty with `all_clients: true` for every client.",
    )
    item_count = serializers.IntegerField(read_only=True)
    unowned_count = serializers.IntegerField(
        read_only=True, help_text="Lines still without a new owner."
    )
    unacknowledged_count = serializers.IntegerField(
        read_only=True, help_text="Lines whose new owner has not taken them yet."
    )

    class Meta:
        model = Handoff
        fields = [
            "id",
            "person",
            "person_name",
            "all_clients",
            "clients",
            "note",
            "status",
            "started_by",
            "started_at",
            "completed_by",
            "completed_at",
            "item_count",
            "unowned_count",
            "unacknowledged_count",
        ]
        read_only_fields = [
            "id",
            "status",
            "started_by",
            "started_at",
            "completed_by",
            "completed_at",
        ]

    def get_person_name(self, obj: Handoff) -> str:
        return member_name(obj.person) or ""


class HandoffDetailSerializer(HandoffSerializer):
    items = HandoffItemSerializer(many=True, read_only=True)

    class Meta(HandoffSerializer.Meta):
        fields = [*HandoffSerializer.Meta.fields, "items"]


class AssignAllSerializer(serializers.Serializer):
    new_owner = TenantPrimaryKeyRelatedField(queryset=Membership.objects)


DocumentSerializer = inline_serializer(
    "HandoffDocument", fields={"markdown": serializers.CharField()}
)
AssignAllResultSerializer = inline_serializer(
    "HandoffAssignAllResult",
    fields={
        "assigned": serializers.IntegerField(),
        "skipped": serializers.ListField(child=serializers.CharField()),
    },
)
CountSerializer = inline_serializer("HandoffCount", fields={"count": serializers.IntegerField()})


# --- views --------------------------------------------------------------------------
class HandoffViewSet(
    TenantViewSetMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    viewsets.GenericViewSet,
):
    """Handoffs. Account managers and admins start them (listing every open
    item the person owns as a line), give lines new owners, list again,
    complete and cancel. Everyone else sees the handoffs they hand over or
    receive lines of (only the lines given to them, unless the items are
    their own), and takes (acknowledges) the lines given to them. Completing
    is refused (409 ``refused``) while the person picked up work since the
    list was made (``relist``), or any line has no new owner, is not
    acknowledged or names someone who may no longer own it; it then
    reassigns every item through its own service."""

    queryset = Handoff.objects.none()
    serializer_class = HandoffSerializer
    ordering_fields = ["started_at", "completed_at"]
    write_roles = MANAGERS
    action_roles = {"acknowledge": ALL_ROLES}

    def get_tenant_queryset(self, organization):
        queryset = handoffs.handoff_list(
            organization=organization, viewer=self.request.membership
        ).prefetch_related("client_links__client")
        if self.action != "list":
            lines = handoffs.handoff_item_list(
                organization=organization, viewer=self.request.membership
            )
            queryset = queryset.prefetch_related(Prefetch("items", queryset=lines))
        return queryset

    def get_serializer_class(self):
        if self.action == "retrieve":
            return HandoffDetailSerializer
        return super().get_serializer_class()

    def _detail(self, pk: int) -> Response:
        handoff = self.get_queryset().get(pk=pk)
        return Response(
            HandoffDetailSerializer(handoff, context=self.get_serializer_context()).data
        )

    @extend_schema(responses={201: HandoffDetailSerializer})
    def create(self, request, *args, **kwargs):
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        handoff = handoffs.handoff_start(
            organization=request.organization,
            person=data["person"],
            by=request.membership,
            clients=data.get("covered_clients", []),
            all_clients=data.get("all_clients", False),
            note=data.get("note", ""),
        )
        response = self._detail(handoff.pk)
        response.status_code = status.HTTP_201_CREATED
        return response

    @extend_schema(request=AssignAllSerializer, responses=AssignAllResultSerializer)
    @action(detail=True, methods=["post"], url_path="assign-all")
    def assign_all(self, request, pk=None):
        """Give every line without a new owner to one person (where their role
        may own it; the others are listed in ``skipped``)."""
        handoff = self.get_object()
        serializer = AssignAllSerializer(data=request.data, context=self.get_serializer_context())
        serializer.is_valid(raise_exception=True)
        result = handoffs.handoff_assign_all(
            handoff=handoff, new_owner=serializer.validated_data["new_owner"], by=request.membership
        )
        return Response({"assigned": result.assigned, "skipped": result.skipped})

    @extend_schema(request=None, responses=CountSerializer)
    @action(detail=True, methods=["post"])
    def acknowledge(self, request, pk=None):
        """Take every line given to you (the count taken)."""
        count = handoffs.handoff_acknowledge(handoff=self.get_object(), by=request.membership)
        return Response({"count": count})

    @extend_schema(request=None, responses=CountSerializer)
    @action(detail=True, methods=["post"])
    def relist(self, request, pk=None):
        """List again: add what the person picked up since (the count added),
        set aside what is no longer theirs or no longer open."""
        count = handoffs.handoff_relist(handoff=self.get_object(), by=request.membership)
        return Response({"count": count})

    @extend_schema(request=None, responses=HandoffDetailSerializer)
    @action(detail=True, methods=["post"])
    def complete(self, request, pk=None):
        handoff = handoffs.handoff_complete(handoff=self.get_object(), by=request.membership)
        return self._detail(handoff.pk)

    @extend_schema(request=None, responses=HandoffDetailSerializer)
    @action(detail=True, methods=["post"])
    def cancel(self, request, pk=None):
        handoff = handoffs.handoff_cancel(handoff=self.get_object(), by=request.membership)
        return self._detail(handoff.pk)

    @extend_schema(responses=DocumentSerializer)
    @action(detail=True, methods=["get"])
    def document(self, request, pk=None):
        """The handoff document as Markdown: per client its brief, the items
        handed over with their new owners, and its recent decisions. Made
        once the handoff is completed (404 before)."""
        handoff = self.get_object()
        if handoff.status != Handoff.Status.COMPLETED:
            raise NotFound("The document is made when the handoff completes.")
        document = handoffs.handoff_document(handoff=handoff, viewer=request.membership)
        return Response({"markdown": handoffs.handoff_markdown(document=document)})


class HandoffItemViewSet(
    TenantViewSetMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.UpdateModelMixin,
    viewsets.GenericViewSet,
):
    """The lines of handoffs. Account managers and admins name a line's new
    owner (``PATCH {"new_owner": id}``); giving it to someone else undoes the
    earlier receiver's acknowledgement. Account managers and admins see every
    line; others the lines given to them and those of their own handoff."""

    queryset = HandoffItem.objects.none()
    serializer_class = HandoffItemSerializer
    filterset_class = None
    write_roles = MANAGERS
    http_method_names = ["get", "patch", "head", "options"]

    def get_tenant_queryset(self, organization):
        return handoffs.handoff_item_list(organization=organization, viewer=self.request.membership)

    def perform_update(self, serializer) -> None:
        if "new_owner" not in serializer.validated_data:
            raise ValidationError({"new_owner": "Name the line's new owner."})
        handoffs.handoff_assign(
            item=serializer.instance,
            new_owner=serializer.validated_data["new_owner"],
            by=self.request.membership,
        )
        serializer.instance = self.get_queryset().get(pk=serializer.instance.pk)
