"""Jobs API: exception flags (every member reads; account managers, admins
and finance resolve), the weekly review queues and their items (account
managers, admins and finance read and work them; admins rebuild the current
week). The organization always comes from the token."""

from drf_spectacular.utils import OpenApiResponse, extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.decorators import action
from rest_framework.response import Response

from msops.tenancy.api.mixins import ReadOnlyTenantViewSet
from msops.tenancy.roles import ADMINS

from ..models import ExceptionFlag, ReviewItem, ReviewQueue
from ..selectors.flags import flag_get, flag_list
from ..selectors.review import (
    REVIEWERS,
    review_item_get,
    review_item_list,
    review_queue_get,
    review_queue_list,
)
from ..services.review import (
    flag_resolve,
    review_item_reassign,
    review_item_resolve,
    review_queue_build,
)
from .filters_jobs import FlagFilter, ReviewItemFilter, ReviewQueueFilter
from .jobs_serializers import (
    FlagResolveSerializer,
    FlagSerializer,
    ReassignSerializer,
    ResolveSerializer,
    ReviewItemSerializer,
    ReviewQueueSerializer,
)

ALREADY_RESOLVED = OpenApiResponse(description="Already resolved, or a field is invalid.")


class FlagViewSet(ReadOnlyTenantViewSet):
    """Exception flags: what the checks caught (one per kind × subject ×
    period). Every member reads them; account managers, admins and finance
    resolve them with a note."""

    queryset = ExceptionFlag.objects.none()
    serializer_class = FlagSerializer
    filterset_class = FlagFilter
    ordering_fields = ["created_at", "resolved_at", "kind"]
    action_roles = {"resolve": REVIEWERS}

    def get_tenant_queryset(self, organization):
        return flag_list(organization=organization)

    @extend_schema(
        request=FlagResolveSerializer, responses={200: FlagSerializer, 400: ALREADY_RESOLVED}
    )
    @action(detail=True, methods=["post"])
    def resolve(self, request, pk=None):
        """Resolve the flag with a note; open review items about it are resolved too."""
        flag = self.get_object()
        serializer = FlagResolveSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        flag_resolve(flag=flag, actor=request.membership, note=serializer.validated_data["note"])
        fresh = flag_get(organization=request.organization, pk=flag.pk)
        return Response(FlagSerializer(fresh, context=self.get_serializer_context()).data)


REBUILT = inline_serializer(
    "ReviewQueueRebuilt",
    fields={"queue": ReviewQueueSerializer(), "created": serializers.IntegerField()},
)


class ReviewQueueViewSet(ReadOnlyTenantViewSet):
    """Weekly ambiguity review queues, newest week first, with how many items
    are left. Built by the beat at the start of the organization's own week;
    admins can rebuild the current week on demand."""

    queryset = ReviewQueue.objects.none()
    serializer_class = ReviewQueueSerializer
    filterset_class = ReviewQueueFilter
    ordering_fields = ["week_start", "built_at"]
    read_roles = REVIEWERS
    action_roles = {"rebuild": ADMINS}

    def get_tenant_queryset(self, organization):
        return review_queue_list(organization=organization)

    @extend_schema(request=None, responses={200: REBUILT})
    @action(detail=False, methods=["post"])
    def rebuild(self, request):
        """Build (or top up) the current week's queue now. Items already
        resolved stay resolved; open items settled elsewhere are resolved."""
        result = review_queue_build(organization=request.organization)
        queue = review_queue_get(organization=request.organization, pk=result.queue.pk)
        data = {
            "queue": ReviewQueueSerializer(queue, context=self.get_serializer_context()).data,
            "created": result.created,
        }
        return Response(data, status=status.HTTP_200_OK)


class ReviewItemViewSet(ReadOnlyTenantViewSet):
    """Items of the weekly review: each with a reason and an owner (the
    client's account manager unless reassigned). Account managers, admins and
    finance read, resolve and reassign them."""

    queryset = ReviewItem.objects.none()
    serializer_class = ReviewItemSerializer
    filterset_class = ReviewItemFilter
    ordering_fields = ["kind", "id"]
    read_roles = REVIEWERS
    action_roles = {"resolve": REVIEWERS, "reassign": REVIEWERS}

    def get_tenant_queryset(self, organization):
        return review_item_list(organization=organization)

    def _output(self, item: ReviewItem) -> dict:
        fresh = review_item_get(organization=self.request.organization, pk=item.pk)
        return ReviewItemSerializer(fresh, context=self.get_serializer_context()).data

    @extend_schema(
        request=ResolveSerializer, responses={200: ReviewItemSerializer, 400: ALREADY_RESOLVED}
    )
    @action(detail=True, methods=["post"])
    def resolve(self, request, pk=None):
        """Resolve the item with a note (an item about open flags resolves the flags it counts)."""
        item = self.get_object()
        serializer = ResolveSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        review_item_resolve(
            item=item, actor=request.membership, note=serializer.validated_data["note"]
        )
        return Response(self._output(item))

    @extend_schema(
        request=ReassignSerializer, responses={200: ReviewItemSerializer, 400: ALREADY_RESOLVED}
    )
    @action(detail=True, methods=["post"])
    def reassign(self, request, pk=None):
        """Give the item to another member (an id of this organization)."""
        item = self.get_object()
        serializer = ReassignSerializer(data=request.data, context=self.get_serializer_context())
        serializer.is_valid(raise_exception=True)
        review_item_reassign(
            item=item, actor=request.membership, owner=serializer.validated_data["owner"]
        )
        return Response(self._output(item))
