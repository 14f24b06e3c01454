"""Tickets API: tickets and time entries (read/write through the services),
billing moments (read). The organization always comes from the token."""

from django.db.models import Prefetch
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    extend_schema_view,
)
from rest_framework import status, viewsets
from rest_framework.exceptions import APIException, PermissionDenied
from rest_framework.response import Response

from billing.selectors.time_entries import portion_list
from billing.services import time_entry_correct, time_entry_log, time_entry_remove
from msops.tenancy.api.mixins import ReadOnlyTenantViewSet, TenantViewSetMixin
from msops.tenancy.api.pagination import Pagination
from msops.tenancy.api.plain import PlainReader
from msops.tenancy.roles import MANAGERS

from ..models import BillingMoment, Ticket, TimeEntry
from ..selectors import billing_moment_list, ticket_list, ticket_pause_list, time_entry_list
from ..services import (
    TICKET_WRITERS,
    TicketConflict,
    ticket_delete,
    ticket_open,
    ticket_update,
)
from ..services.time_entries import IdempotencyKeyReused
from .conflicts import CONFLICT_RESPONSE, TicketVersionConflict
from .filters import BillingMomentFilter, TicketFilter, TimeEntryFilter
from .serializers import (
    BillingMomentSerializer,
    TicketSerializer,
    TimeEntryCreateSerializer,
    TimeEntrySerializer,
    TimeEntryUpdateSerializer,
)

IDEMPOTENCY_HEADER = "Idempotency-Key"
TICKET_READER = PlainReader(TicketSerializer, pauses="ticket")


class IdempotencyKeyReusedError(APIException):
    """422: the ``Idempotency-Key`` already logged an entry from a different
    request body; nothing new was saved."""

    status_code = status.HTTP_422_UNPROCESSABLE_ENTITY
    default_detail = IdempotencyKeyReused.MESSAGE
    default_code = "idempotency_key_reused"


@extend_schema_view(
    list=extend_schema(
        parameters=[
            OpenApiParameter(
                "q",
                OpenApiTypes.STR,
                deprecated=True,
                description="Deprecated: the same as ``search``.",
            )
        ]
    )
)
class TicketViewSet(TenantViewSetMixin, viewsets.ModelViewSet):
    """Tickets of the token's organization. Opening allocates the number,
    resolves the contract and its SLA dues; changes need the ``version`` you
    read (409 otherwise). Finance reads; only managers delete, and only
    tickets without time logged."""

    queryset = Ticket.objects.none()
    serializer_class = TicketSerializer
    filterset_class = TicketFilter
    ordering_fields = [
        "number",
        "title",
        "opened_at",
        "updated_at",
        "resolution_due",
        "logged_minutes",
        "priority_rank",
        "status_rank",
    ]
    write_roles = TICKET_WRITERS
    action_roles = {"destroy": MANAGERS}
    pagination_class = Pagination  # list() gives it the queryset to count

    def get_tenant_queryset(self, organization):
        return ticket_list(organization=organization).prefetch_related(
            Prefetch("pauses", queryset=ticket_pause_list(organization=organization))
        )

    def list(self, request, *args, **kwargs):
        """The page read as plain rows (msops/tenancy/api/plain.py): the same
        output as TicketSerializer, in 3 queries (count, page, pauses)."""
        filtered = self.filter_queryset(self.get_queryset())
        queryset = TICKET_READER.values(filtered)
        pauses = ticket_pause_list(organization=request.organization)
        if self.paginator is None:
            return Response(TICKET_READER.rows(queryset, pauses=pauses))
        # Counted before the client's and request type's names are joined in,
        # and without the list's annotations.
        page = self.paginator.paginate_queryset(
            queryset, request, view=self, count_queryset=filtered.values("pk")
        )
        if page is None:
            return Response(TICKET_READER.rows(queryset, pauses=pauses))
        return self.get_paginated_response(TICKET_READER.rows(page, pauses=pauses))

    def _output(self, ticket: Ticket) -> dict:
        fresh = self.get_tenant_queryset(self.request.organization).get(pk=ticket.pk)
        return TicketSerializer(fresh, context=self.get_serializer_context()).data

    def create(self, request, *args, **kwargs):
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        ticket = ticket_open(
            organization=request.organization,
            opened_by=request.membership,
            **serializer.validated_data,
        )
        return Response(self._output(ticket), status=status.HTTP_201_CREATED)

    @extend_schema(responses={200: TicketSerializer, 409: CONFLICT_RESPONSE})
    def update(self, request, *args, **kwargs):
        ticket = self.get_object()
        # PUT and PATCH alike: only what is sent changes; ``version`` is required.
        serializer = self.get_serializer(ticket, data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        changes = dict(serializer.validated_data)
        version = changes.pop("version")
        try:
            ticket = ticket_update(
                ticket=ticket, actor=request.membership, version=version, **changes
            )
        except TicketConflict as conflict:
            raise TicketVersionConflict(
                TicketSerializer(conflict.current, context=self.get_serializer_context()).data
            ) from None
        return Response(self._output(ticket))

    @extend_schema(responses={200: TicketSerializer, 409: CONFLICT_RESPONSE})
    def partial_update(self, request, *args, **kwargs):
        return self.update(request, *args, **kwargs)

    def perform_destroy(self, instance):
        ticket_delete(ticket=instance)


def _require_own_entry(request, entry: TimeEntry) -> None:
    if request.membership.role not in MANAGERS and entry.person_id != request.membership.pk:
        raise PermissionDenied("You may change only your own time entries.")


class TimeEntryViewSet(TenantViewSetMixin, viewsets.ModelViewSet):
    """Time entries of the token's organization. Logging snapshots the rate
    in force on the work date; locked entries (closed billing period) refuse
    changes. Developers log and change their own time; account managers and
    admins anyone's; finance reads."""

    queryset = TimeEntry.objects.none()
    serializer_class = TimeEntrySerializer
    filterset_class = TimeEntryFilter
    ordering_fields = ["work_date", "entered_at", "minutes"]
    write_roles = TICKET_WRITERS

    def get_tenant_queryset(self, organization):
        return time_entry_list(organization=organization).prefetch_related(
            Prefetch("portions", queryset=portion_list(organization=organization))
        )

    def _output(self, entry: TimeEntry) -> dict:
        fresh = self.get_tenant_queryset(self.request.organization).get(pk=entry.pk)
        return TimeEntrySerializer(fresh, context=self.get_serializer_context()).data

    @extend_schema(
        request=TimeEntryCreateSerializer,
        parameters=[
            OpenApiParameter(
                name=IDEMPOTENCY_HEADER,
                type={"type": "string", "maxLength": 100},
                location=OpenApiParameter.HEADER,
                required=False,
                description=(
                    "A unique key per entry (e.g. a UUID, at most 100 characters). Keys are "
                    "scoped to the membership the time is logged for (another member may use "
                    "the same key for their own entry) and kept for good (so at least 24 "
                    "hours), whatever becomes of the entry. Repeating the request with the "
                    "same key and the same body returns the entry it logged (200, header "
                    "`Idempotent-Replayed: true`), even if the entry was corrected since, "
                    "instead of logging the time twice. The same key with a different body "
                    "(ticket, person, work date, minutes or notes), or after its entry was "
                    "removed, is a 422 with code `idempotency_key_reused`, and nothing is "
                    "saved."
                ),
            ),
            OpenApiParameter(
                name="Idempotent-Replayed",
                type=OpenApiTypes.STR,
                location=OpenApiParameter.HEADER,
                enum=["true"],
                response=[200],
                description="Present on a replay: this key had already logged the entry.",
            ),
        ],
        responses={
            201: OpenApiResponse(TimeEntrySerializer, description="Logged."),
            200: OpenApiResponse(
                TimeEntrySerializer, description="Replayed: this key had already logged it."
            ),
        },
    )
    def create(self, request, *args, **kwargs):
        serializer = TimeEntryCreateSerializer(
            data=request.data, context=self.get_serializer_context()
        )
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        person = data.get("person") or request.membership
        if person.pk != request.membership.pk and request.membership.role not in MANAGERS:
            raise PermissionDenied("You may log time only for yourself.")
        try:
            logged = time_entry_log(
                ticket=data["ticket"],
                person=person,
                work_date=data["work_date"],
                minutes=data["minutes"],
                notes=data.get("notes", ""),
                idempotency_key=request.headers.get(IDEMPOTENCY_HEADER),
                date_reason=data.get("date_reason", ""),
            )
        except IdempotencyKeyReused as reused:
            raise IdempotencyKeyReusedError(reused.message_text) from None
        if logged.replayed:
            return Response(
                self._output(logged.entry),
                status=status.HTTP_200_OK,
                headers={"Idempotent-Replayed": "true"},
            )
        return Response(self._output(logged.entry), status=status.HTTP_201_CREATED)

    @extend_schema(request=TimeEntryUpdateSerializer, responses={200: TimeEntrySerializer})
    def update(self, request, *args, **kwargs):
        entry = self.get_object()
        _require_own_entry(request, entry)
        serializer = TimeEntryUpdateSerializer(
            data=request.data, context=self.get_serializer_context()
        )
        serializer.is_valid(raise_exception=True)
        entry = time_entry_correct(entry=entry, **serializer.validated_data)
        return Response(self._output(entry))

    @extend_schema(request=TimeEntryUpdateSerializer, responses={200: TimeEntrySerializer})
    def partial_update(self, request, *args, **kwargs):
        return self.update(request, *args, **kwargs)

    def perform_destroy(self, instance):
        _require_own_entry(self.request, instance)
        time_entry_remove(entry=instance)


class BillingMomentViewSet(ReadOnlyTenantViewSet):
    """Billing moments: events that prompt a billing decision, open until
    decided. Read-only here; they are raised by the services."""

    queryset = BillingMoment.objects.none()
    serializer_class = BillingMomentSerializer
    filterset_class = BillingMomentFilter
    ordering_fields = ["created_at", "decided_at"]

    def get_tenant_queryset(self, organization):
        return billing_moment_list(organization=organization)
