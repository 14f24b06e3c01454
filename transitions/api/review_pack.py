"""The review pack API: list and read the packs (the frozen figures in
``data``), prepare one now for a contract (replacing the period's pack),
and download its PDF (``Accept: application/pdf`` for the file itself; JSON
with the bytes in base64 by default, like every other GET). Finance and admins reach every client's packs, an
account manager those of the clients they manage (the money rule); developers
have no access (403). Preparing goes through
:func:`transitions.review_pack.review_pack_prepare`, like the page."""

import base64

import django_filters
from django.http import HttpResponse
from django.utils.text import slugify
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.decorators import action
from rest_framework.exceptions import NotFound, PermissionDenied
from rest_framework.renderers import BaseRenderer, JSONRenderer
from rest_framework.response import Response

from billing.selectors.finance_pages import money_reach
from clients.models import Client, Contract
from msops.display import member_name
from msops.tenancy.api.filters import TenantFilterSet, TenantIdFilter
from msops.tenancy.api.mixins import ReadOnlyTenantViewSet, TenantPrimaryKeyRelatedField
from msops.tenancy.roles import MONEY_READERS

from ..models import ReviewPack
from ..review_pack import review_pack_list, review_pack_pdf_bytes, review_pack_prepare

BAD_REQUEST = OpenApiResponse(description="A field is invalid (field messages in the body).")
NOT_ALLOWED = OpenApiResponse(
    description="Your role may not read review packs, or the client is not one you manage."
)


class PDFRenderer(BaseRenderer):
    """Lets a client ask for ``application/pdf``; errors are still JSON."""

    media_type = "application/pdf"
    format = "pdf"
    charset = None
    render_style = "binary"

    def render(self, data, accepted_media_type=None, renderer_context=None):
        if isinstance(data, bytes):
            return data
        return JSONRenderer().render(data)


class ReviewPackFilter(TenantFilterSet):
    client = TenantIdFilter(Client)
    contract = TenantIdFilter(Contract)
    review_after = django_filters.DateFilter(field_name="review_on", lookup_expr="gte")
    review_before = django_filters.DateFilter(field_name="review_on", lookup_expr="lte")

    class Meta:
        model = ReviewPack
        fields = ["client", "contract"]


class ReviewPackSerializer(serializers.ModelSerializer):
    client_name = serializers.CharField(source="client.name", read_only=True)
    contract_name = serializers.CharField(source="contract.name", read_only=True)
    has_pdf = serializers.BooleanField(read_only=True)
    generated_by_name = serializers.SerializerMethodField(
        help_text="Who prepared it; empty: the daily job."
    )

    class Meta:
        model = ReviewPack
        fields = [
            "id", "client", "client_name", "contract", "contract_name", "period_start",
            "period_end", "review_on", "generated_at", "generated_by", "generated_by_name",
            "has_pdf",
        ]  # fmt: skip
        read_only_fields = fields
        extra_kwargs = {"period_end": {"help_text": "The day after the period."}}

    def get_generated_by_name(self, obj: ReviewPack) -> str | None:
        return member_name(obj.generated_by) if obj.generated_by_id else None


class ReviewPackDetailSerializer(ReviewPackSerializer):
    data = serializers.JSONField(
        read_only=True,
        help_text="The frozen figures: months (minutes against the allowance), scope_changes"
        " (approved, declined), request_types, recurring_issues, sla, terms (renewal_on,"
        " notice_by). Dates as ISO strings, decimals as strings.",
    )

    class Meta(ReviewPackSerializer.Meta):
        fields = [*ReviewPackSerializer.Meta.fields, "data"]
        read_only_fields = fields


class ReviewPackPrepareSerializer(serializers.Serializer):
    contract = TenantPrimaryKeyRelatedField(
        queryset=Contract.objects, help_text="The contract whose review pack to prepare."
    )
    client = TenantPrimaryKeyRelatedField(
        queryset=Client.objects,
        required=False,
        help_text="Optional: the contract's client, checked against the contract.",
    )
    on = serializers.DateField(
        required=False,
        allow_null=True,
        help_text="Any day of the review period wanted (default: the next review's period).",
    )

    def validate(self, attrs):
        client = attrs.get("client")
        if client is not None and attrs["contract"].client_id != client.pk:
            raise serializers.ValidationError({"client": "The contract is not this client's."})
        return attrs


class ReviewPackPDFSerializer(serializers.Serializer):
    filename = serializers.CharField(read_only=True)
    content_type = serializers.CharField(read_only=True)
    size = serializers.IntegerField(read_only=True, help_text="Bytes.")
    content_base64 = serializers.CharField(read_only=True, help_text="The PDF, base64-encoded.")


class ReviewPackViewSet(ReadOnlyTenantViewSet):
    """Review packs, newest review first: each contract's figures for a
    review on its cadence (hours against the allowance by month, scope
    changes, top request types, recurring issues, SLA results, renewal and
    notice dates), prepared by the daily job a week ahead of the review or on
    demand with ``prepare``. The list leaves out ``data``; one pack has it."""

    queryset = ReviewPack.objects.none()
    serializer_class = ReviewPackSerializer
    filterset_class = ReviewPackFilter
    ordering_fields = ["review_on", "generated_at", "client__name"]
    read_roles = MONEY_READERS
    write_roles = MONEY_READERS

    def get_tenant_queryset(self, organization):
        return review_pack_list(
            organization=organization,
            membership=self.request.membership,
            with_data=self.action in ("retrieve", "prepare"),
        )

    def get_serializer_class(self):
        if self.action == "retrieve":
            return ReviewPackDetailSerializer
        return super().get_serializer_class()

    @extend_schema(
        request=ReviewPackPrepareSerializer,
        responses={201: ReviewPackDetailSerializer, 400: BAD_REQUEST, 403: NOT_ALLOWED},
    )
    @action(detail=False, methods=["post"])
    def prepare(self, request):
        """Prepare the contract's pack now (again: it replaces that period's pack)."""
        serializer = ReviewPackPrepareSerializer(
            data=request.data, context=self.get_serializer_context()
        )
        serializer.is_valid(raise_exception=True)
        contract = serializer.validated_data["contract"]
        if not money_reach(membership=request.membership).allows(contract.client):
            raise PermissionDenied("Only the client's account manager, finance and admins may.")
        pack = review_pack_prepare(
            contract=contract, on=serializer.validated_data.get("on"), actor=request.membership
        )
        pack = self.get_queryset().get(pk=pack.pk)
        return Response(ReviewPackDetailSerializer(pack).data, status=status.HTTP_201_CREATED)

    @extend_schema(
        responses={
            (200, "application/pdf"): OpenApiResponse(
                OpenApiTypes.BINARY,
                description="Ask with ``Accept: application/pdf`` (or ``?format=pdf``): the"
                " PDF itself, as an attachment.",
            ),
            (200, "application/json"): OpenApiResponse(
                ReviewPackPDFSerializer,
                description="By default: the PDF's name and bytes (base64) in JSON.",
            ),
            403: NOT_ALLOWED,
            404: OpenApiResponse(
                description="No such pack, or it has no PDF (WeasyPrint was not available"
                " when it was prepared: print the pack's page instead)."
            ),
        }
    )
    @action(detail=True, methods=["get"], renderer_classes=[JSONRenderer, PDFRenderer])
    def pdf(self, request, pk=None):
        """Download the pack's PDF."""
        pack = self.get_object()
        pdf = review_pack_pdf_bytes(pack=pack)
        if pdf is None:
            raise NotFound(
                "This pack has no PDF: open its page and use the browser's Print → Save as PDF."
            )
        name = slugify(f"review-pack-{pack.client.name}-{pack.review_on:%Y-%m-%d}") or "review-pack"
        filename = f"{name}.pdf"
        if request.accepted_renderer.format == PDFRenderer.format:
            return HttpResponse(
                pdf,
                content_type="application/pdf",
                headers={"Content-Disposition": f'attachment; filename="{filename}"'},
            )
        body = {
            "filename": filename,
            "content_type": "application/pdf",
            "size": len(pdf),
            "content_base64": base64.b64encode(pdf).decode("ascii"),
        }
        return Response(ReviewPackPDFSerializer(body).data)
