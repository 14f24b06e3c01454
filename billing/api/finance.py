"""Finance API: billing periods (review, lock, unlock, export), the
exceptions that block them and what finance does about each (the drafts,
lines, adjustments and draft runs are in ``finance_records``).

Finance and admins act (only an admin unlocks); account managers read their
own clients' periods, drafts, lines and adjustments; developers have no
access. The organization always comes from the token; every write goes
through ``billing.services``. A locked period refuses changes with a 409; a
stale ``version`` is a 409 with the period as it is now."""

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import transaction
from django.db.models import Prefetch
from django.http import HttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.decorators import action
from rest_framework.exceptions import APIException, ErrorDetail
from rest_framework.renderers import BaseRenderer, JSONRenderer
from rest_framework.response import Response

from msops.display import member_name
from msops.tenancy.api.mixins import ReadOnlyTenantViewSet
from msops.tenancy.models import Membership
from msops.tenancy.roles import ADMINS, FINANCE
from msops.tenancy.roles import MONEY_READERS as READERS
from tickets.api.conflicts import TicketVersionConflict
from tickets.api.serializers import TicketSerializer
from tickets.selectors import ticket_list
from tickets.services import TicketConflict

from ..exports import export_file
from ..models import BillingPeriod, InvoiceDraft, PeriodEvent
from ..selectors.finance_pages import money_reach
from ..services.finance_actions import (
    exception_classify,
    exception_resolve_flag,
    exception_write_off,
)
from ..services.periods import (
    PeriodLocked,
    period_lock,
    period_mark_exported,
    period_review,
    period_start_review,
    period_unlock,
    send_back,
)
from .finance_filters import (
    BillingPeriodFilter,
)
from .finance_serializers import (
    BillingPeriodSerializer,
    BlockerSerializer,
    ExceptionActionResultSerializer,
    ExceptionClassifySerializer,
    ExceptionListSerializer,
    ExceptionResolveFlagSerializer,
    ExceptionSendBackSerializer,
    ExceptionWriteOffSerializer,
    ExportSerializer,
    PeriodConflictSerializer,
    UnlockSerializer,
    VersionSerializer,
)

BAD_REQUEST = OpenApiResponse(description="A field is invalid (field messages in the body).")
NOT_ALLOWED = OpenApiResponse(description="Your role in this organization may not do this.")
LOCKED = OpenApiResponse(
    description="The period is locked (or exported): nothing in it can change."
)
STALE = OpenApiResponse(
    PeriodConflictSerializer,
    description="Stale version: nothing was saved; ``current`` is the period as it is now.",
)


class PeriodVersionConflict(APIException):
    """409: the period changed since the client read it; the body carries it now."""

    status_code = status.HTTP_409_CONFLICT
    default_detail = (
        "Someone changed this period since you read it; nothing was saved. "
        "Here it is now: apply your change to this version."
    )
    default_code = "conflict"

    def __init__(self, current: dict):
        super().__init__()
        self.detail = {
            "detail": ErrorDetail(self.default_detail, code=self.default_code),
            "current": current,
        }


class CSVRenderer(BaseRenderer):
    """Lets a client ask for ``text/csv``; the CSV itself is written by
    :mod:`billing.exports` (errors are still JSON)."""

    media_type = "text/csv"
    format = "csv"
    charset = "utf-8"

    def render(self, data, accepted_media_type=None, renderer_context=None):
        if isinstance(data, str):
            return data.encode(self.charset)
        return JSONRenderer().render(data)


# --- periods ----------------------------------------------------------------------------
class BillingPeriodViewSet(ReadOnlyTenantViewSet):
    """Billing periods, newest month first: a client's month from open to in
    review, locked and exported, with its drafts' totals and its history. A
    period's own answer adds how many exceptions block it; ``exceptions/``
    lists them with what finance can do about each."""

    queryset = BillingPeriod.objects.none()
    serializer_class = BillingPeriodSerializer
    filterset_class = BillingPeriodFilter
    ordering_fields = ["month", "status", "client__name"]
    read_roles = READERS
    action_roles = {
        "start_review": FINANCE,
        "lock": FINANCE,
        "unlock": ADMINS,
        "export": FINANCE,
        "exceptions": READERS,
        "exception_classify": FINANCE,
        "exception_write_off": FINANCE,
        "exception_send_back": FINANCE,
        "exception_resolve_flag": FINANCE,
    }

    def get_tenant_queryset(self, organization):
        return self._periods(organization)

    def _periods(self, organization):
        drafts = InvoiceDraft.objects.filter(organization=organization).order_by("currency")
        events = PeriodEvent.objects.filter(organization=organization).select_related("actor__user")
        queryset = (
            BillingPeriod.objects.filter(organization=organization)
            .select_related(
                "client__organization",
                "review_started_by__user",
                "locked_by__user",
                "exported_by__user",
            )
            .prefetch_related(
                Prefetch("drafts", queryset=drafts), Prefetch("events", queryset=events)
            )
        )
        return money_reach(membership=self.request.membership).clients_of(queryset, "client")

    def _fresh(self, pk: int) -> BillingPeriod:
        return self._periods(self.request.organization).get(pk=pk)

    def _blockers(self, period: BillingPeriod) -> list:
        if period.is_closed:
            return []
        return period_review(period=period)[1]

    def _exceptions(self, period: BillingPeriod) -> dict:
        blockers = self._blockers(period)
        owner_ids = {b.owner_id for b in blockers if b.owner_id}
        owners = Membership.objects.filter(
            organization=self.request.organization, pk__in=owner_ids
        ).select_related("user")
        context = {
            **self.get_serializer_context(),
            "owner_names": {m.pk: member_name(m) for m in owners},
        }
        return {
            "count": len(blockers),
            "results": BlockerSerializer(blockers, many=True, context=context).data,
        }

    def _detail(self, pk: int) -> dict:
        """The period as it is now, with what blocks it (after a change)."""
        period = self._fresh(pk)
        context = {**self.get_serializer_context(), "blockers": self._blockers(period)}
        return BillingPeriodSerializer(period, context=context).data

    @extend_schema(responses={200: BillingPeriodSerializer})
    def retrieve(self, request, *args, **kwargs):
        period = self.get_object()
        context = {**self.get_serializer_context(), "blockers": self._blockers(period)}
        return Response(BillingPeriodSerializer(period, context=context).data)

    def _conflict(self, period: BillingPeriod) -> PeriodVersionConflict:
        current = self._fresh(period.pk)
        return PeriodVersionConflict(
            BillingPeriodSerializer(current, context=self.get_serializer_context()).data
        )

    def _transition(self, request, service, serializer_class) -> Response:
        period = self.get_object()
        serializer = serializer_class(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        version = data.pop("version", None)
        try:
            service(period=period, actor=request.membership, version=version, **data)
        except DjangoValidationError as exc:
            if version is not None and "version" in getattr(exc, "error_dict", {}):
                raise self._conflict(period) from None
            raise
        return Response(self._detail(period.pk))

    @extend_schema(
        request=VersionSerializer,
        responses={
            200: BillingPeriodSerializer,
            400: BAD_REQUEST,
            403: NOT_ALLOWED,
            409: STALE,
        },
    )
    @action(detail=True, methods=["post"], url_path="start-review", url_name="start-review")
    def start_review(self, request, pk=None):
        """Start the review of an open period: its draft is computed and saved."""
        return self._transition(request, period_start_review, VersionSerializer)

    @extend_schema(
        request=VersionSerializer,
        responses={
            200: BillingPeriodSerializer,
            400: OpenApiResponse(description="Exceptions still block the month (``status``)."),
            403: NOT_ALLOWED,
            409: OpenApiResponse(description="Already locked, or a stale version."),
        },
    )
    @action(detail=True, methods=["post"])
    def lock(self, request, pk=None):
        """Lock the month: refused (400) while exceptions block it. The draft
        is computed one last time and frozen with the month's time."""
        return self._transition(request, period_lock, VersionSerializer)

    @extend_schema(
        request=UnlockSerializer,
        responses={
            200: BillingPeriodSerializer,
            400: BAD_REQUEST,
            403: NOT_ALLOWED,
            409: STALE,
        },
    )
    @action(detail=True, methods=["post"])
    def unlock(self, request, pk=None):
        """Reopen a locked month for review (admins only), with a reason."""
        return self._transition(request, period_unlock, UnlockSerializer)

    @extend_schema(
        request=ExportSerializer,
        responses={
            (200, "text/csv"): OpenApiResponse(
                OpenApiTypes.STR,
                description="xero, quickbooks: one row per invoice line; entries: one row "
                "per portion of the month's time and invoice line it is on.",
            ),
            (200, "application/json"): OpenApiResponse(
                OpenApiTypes.OBJECT,
                description="json: the period, its client, status, drafts with totals, "
                "lines with every field and their sources.",
            ),
            400: OpenApiResponse(description="Not locked yet, or a field is invalid."),
            403: NOT_ALLOWED,
        },
    )
    @action(detail=True, methods=["post"], renderer_classes=[JSONRenderer, CSVRenderer])
    def export(self, request, pk=None):
        """Export a locked period, and record the export (who, when)."""
        period = self.get_object()
        serializer = ExportSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        options = {key: data[key] for key in ("account_code", "tax_type", "due_days")}
        with transaction.atomic():
            period = period_mark_exported(period=period, actor=request.membership)
            text, content_type, filename = export_file(period, data["format"], **options)
        return HttpResponse(
            text,
            content_type=content_type,
            headers={"Content-Disposition": f'attachment; filename="{filename}"'},
        )

    @extend_schema(responses={200: ExceptionListSerializer})
    @action(detail=True, methods=["get"])
    def exceptions(self, request, pk=None):
        """What blocks the period from locking (none once locked): each with
        its ticket, minutes, the member the question goes back to, what
        finance can do about it here and a stable key."""
        return Response(self._exceptions(self.get_object()))

    def _acted(self, period, action_name: str, obj) -> Response:
        fresh = self._fresh(period.pk)
        body = {"action": action_name, "object_id": obj.pk, "exceptions": self._exceptions(fresh)}
        return Response(body)

    def _ticket_conflict(self, conflict: TicketConflict) -> TicketVersionConflict:
        current = ticket_list(organization=self.request.organization).get(pk=conflict.current.pk)
        return TicketVersionConflict(
            TicketSerializer(current, context=self.get_serializer_context()).data
        )

    def _exception_action(self, request, serializer_class):
        period = self.get_object()
        serializer = serializer_class(data=request.data, context=self.get_serializer_context())
        serializer.is_valid(raise_exception=True)
        return period, serializer.validated_data

    ACTION_RESPONSES = {
        200: ExceptionActionResultSerializer,
        400: BAD_REQUEST,
        403: NOT_ALLOWED,
        409: LOCKED,
    }

    @extend_schema(request=ExceptionClassifySerializer, responses=ACTION_RESPONSES)
    @action(
        detail=True,
        methods=["post"],
        url_path="exceptions/classify",
        url_name="exception-classify",
    )
    def exception_classify(self, request, pk=None):
        """Give a ticket's waiting (or unclear) time of the month a clear
        meaning: included or billable, with a reason."""
        period, data = self._exception_action(request, ExceptionClassifySerializer)
        try:
            decision = exception_classify(period=period, actor=request.membership, **data)
        except TicketConflict as conflict:
            raise self._ticket_conflict(conflict) from None
        return self._acted(period, "classify", decision)

    @extend_schema(request=ExceptionWriteOffSerializer, responses=ACTION_RESPONSES)
    @action(
        detail=True,
        methods=["post"],
        url_path="exceptions/write-off",
        url_name="exception-write-off",
    )
    def exception_write_off(self, request, pk=None):
        """Write a ticket's waiting (or unclear) time off, with a reason."""
        period, data = self._exception_action(request, ExceptionWriteOffSerializer)
        try:
            decision = exception_write_off(period=period, actor=request.membership, **data)
        except TicketConflict as conflict:
            raise self._ticket_conflict(conflict) from None
        return self._acted(period, "write_off", decision)

    @extend_schema(request=ExceptionSendBackSerializer, responses=ACTION_RESPONSES)
    @action(
        detail=True,
        methods=["post"],
        url_path="exceptions/send-back",
        url_name="exception-send-back",
    )
    def exception_send_back(self, request, pk=None):
        """Send the question back to a member with a note: it appears in
        their review queue. Sending the same ``key`` again updates it."""
        period, data = self._exception_action(request, ExceptionSendBackSerializer)
        if period.is_closed:  # nothing to ask about a month that can no longer change
            raise PeriodLocked(period.client, period.month, "status")
        item = send_back(
            period=period,
            actor=request.membership,
            to=data["to"],
            note=data["note"],
            ticket=data["ticket"],
            subject=data["key"],
        )
        return self._acted(period, "send_back", item)

    @extend_schema(request=ExceptionResolveFlagSerializer, responses=ACTION_RESPONSES)
    @action(
        detail=True,
        methods=["post"],
        url_path="exceptions/resolve-flag",
        url_name="exception-resolve-flag",
    )
    def exception_resolve_flag(self, request, pk=None):
        """Accept what a flag pointed at (e.g. bill work outside any contract
        at the default rate), with a note."""
        period, data = self._exception_action(request, ExceptionResolveFlagSerializer)
        flag = exception_resolve_flag(period=period, actor=request.membership, **data)
        return self._acted(period, "resolve_flag", flag)
