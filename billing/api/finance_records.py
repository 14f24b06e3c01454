"""Finance API, the records: saved drafts and their lines with their
sources, adjustments to locked periods, and the job that computes a month's
drafts. Finance and admins create adjustments and start runs; account
managers read their own clients' drafts, lines and adjustments; developers
have no access."""

from django.db.models import Count
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, status
from rest_framework.response import Response

from msops.tenancy.api.mixins import ReadOnlyTenantViewSet
from msops.tenancy.roles import FINANCE
from msops.tenancy.roles import MONEY_READERS as READERS

from ..models import Adjustment, DraftRun, InvoiceDraft, InvoiceLine
from ..selectors.finance_pages import money_reach
from ..services.periods import adjustment_create, draft_run_start
from .finance import BAD_REQUEST, LOCKED, NOT_ALLOWED
from .finance_filters import AdjustmentFilter, DraftRunFilter, InvoiceDraftFilter, InvoiceLineFilter
from .finance_serializers import (
    AdjustmentCreateSerializer,
    AdjustmentSerializer,
    DraftRunCreateSerializer,
    DraftRunSerializer,
    InvoiceDraftSerializer,
    InvoiceLineSerializer,
)


# --- drafts and lines -------------------------------------------------------------------
class InvoiceDraftViewSet(ReadOnlyTenantViewSet):
    """Saved drafts: a period's charges in one currency, with their total,
    the members' cost and when they were computed."""

    queryset = InvoiceDraft.objects.none()
    serializer_class = InvoiceDraftSerializer
    filterset_class = InvoiceDraftFilter
    ordering_fields = ["computed_at", "total"]
    read_roles = READERS

    def get_tenant_queryset(self, organization):
        queryset = (
            InvoiceDraft.objects.filter(organization=organization)
            .select_related("period")
            .annotate(line_count=Count("lines"))
            .order_by("-period__month", "period__client__name", "currency")
        )
        reach = money_reach(membership=self.request.membership)
        return reach.clients_of(queryset, "period__client")


class InvoiceLineViewSet(ReadOnlyTenantViewSet):
    """Lines of the saved drafts, in order: what each charges, how the amount
    came (``computation``), the ids behind it (``sources``: entries,
    portions, decisions, scope checks, terms, rules, unit counts, tiers,
    top-ups, adjustments) and the page that explains it (``explain``)."""

    queryset = InvoiceLine.objects.none()
    serializer_class = InvoiceLineSerializer
    filterset_class = InvoiceLineFilter
    ordering_fields = ["position", "amount"]
    read_roles = READERS

    def get_tenant_queryset(self, organization):
        queryset = (
            InvoiceLine.objects.filter(organization=organization)
            .select_related("ticket", "contract")
            .order_by("-period__month", "period_id", "draft_id", "position")
        )
        reach = money_reach(membership=self.request.membership)
        return reach.clients_of(queryset, "period__client")


# --- adjustments and draft runs ---------------------------------------------------------
class AdjustmentViewSet(mixins.CreateModelMixin, ReadOnlyTenantViewSet):
    """Corrections to locked periods: each a line of its own, with a reason,
    billed in the client's next open period; the locked original stays."""

    queryset = Adjustment.objects.none()
    serializer_class = AdjustmentSerializer
    filterset_class = AdjustmentFilter
    ordering_fields = ["created_at", "amount"]
    read_roles = READERS
    write_roles = FINANCE

    def get_tenant_queryset(self, organization):
        queryset = (
            Adjustment.objects.filter(organization=organization)
            .select_related("client", "period", "corrects", "created_by__user")
            .order_by("-created_at", "-pk")
        )
        reach = money_reach(membership=self.request.membership)
        return reach.clients_of(queryset, "client")

    @extend_schema(
        request=AdjustmentCreateSerializer,
        responses={201: AdjustmentSerializer, 400: BAD_REQUEST, 403: NOT_ALLOWED, 409: LOCKED},
    )
    def create(self, request, *args, **kwargs):
        serializer = AdjustmentCreateSerializer(
            data=request.data, context=self.get_serializer_context()
        )
        serializer.is_valid(raise_exception=True)
        adjustment = adjustment_create(actor=request.membership, **serializer.validated_data)
        fresh = self.get_tenant_queryset(request.organization).get(pk=adjustment.pk)
        body = AdjustmentSerializer(fresh, context=self.get_serializer_context()).data
        return Response(body, status=status.HTTP_201_CREATED)


class DraftRunViewSet(mixins.CreateModelMixin, ReadOnlyTenantViewSet):
    """The job that computes every client's draft for a month. POST starts it
    (a run already going for the month is returned instead); GET polls its
    progress (``done`` of ``total`` clients, ``percent``)."""

    queryset = DraftRun.objects.none()
    serializer_class = DraftRunSerializer
    filterset_class = DraftRunFilter
    ordering_fields = ["created_at", "month"]
    read_roles = READERS
    write_roles = FINANCE

    def get_tenant_queryset(self, organization):
        return (
            DraftRun.objects.filter(organization=organization)
            .select_related("started_by__user")
            .order_by("-created_at", "-pk")
        )

    @extend_schema(
        request=DraftRunCreateSerializer,
        responses={202: DraftRunSerializer, 400: BAD_REQUEST, 403: NOT_ALLOWED},
    )
    def create(self, request, *args, **kwargs):
        serializer = DraftRunCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        run = draft_run_start(
            organization=request.organization,
            month=serializer.validated_data["month"],
            actor=request.membership,
        )
        fresh = self.get_tenant_queryset(request.organization).get(pk=run.pk)
        body = DraftRunSerializer(fresh, context=self.get_serializer_context()).data
        return Response(body, status=status.HTTP_202_ACCEPTED)
