"""Decisions API: billing decisions (every member reads; developers, account
managers and admins decide), scope checks (every member reads; account
managers and admins approve, reject or ask the client), the decision log
(read), work logged after the fact and the ticket's own billing moments
(outside normal support, a change the client asked for). The organization
always comes from the token; every write goes through billing/services.py."""

from django.urls import reverse
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from msops.tenancy.api.mixins import ReadOnlyTenantViewSet, TenantViewSetMixin
from tickets.api.conflicts import CONFLICT_RESPONSE, TicketVersionConflict
from tickets.api.serializers import BillingMomentSerializer, TicketSerializer
from tickets.models import Classification, Ticket
from tickets.selectors import billing_moment_list, ticket_list

from ..models import BillingDecision, DecisionLogEntry, ScopeCheck
from ..selectors.decisions import decision_get, decision_list, decision_log_list
from ..selectors.scope_checks import scope_check_get, scope_check_list
from ..services import (
    APPROVERS,
    DECIDERS,
    ScopeCheckRequest,
    TicketConflict,
    decision_record,
    entries_reclassify,
    scope_check_approve,
    scope_check_ask_client,
    scope_check_reject,
    ticket_mark_change_request,
    ticket_mark_out_of_scope,
    work_log_after_the_fact,
)
from .decisions_filters import DecisionFilter, DecisionLogEntryFilter, ScopeCheckFilter
from .decisions_serializers import (
    DecisionCreateSerializer,
    DecisionLogEntrySerializer,
    DecisionSerializer,
    ReclassifySerializer,
    ScopeCheckApproveSerializer,
    ScopeCheckAskClientSerializer,
    ScopeCheckRejectSerializer,
    ScopeCheckSerializer,
    WorkAfterTheFactResultSerializer,
    WorkAfterTheFactSerializer,
)
from .moments_serializers import TicketMomentSerializer

BAD_REQUEST = OpenApiResponse(description="A field is invalid (field messages in the body).")
NOT_ALLOWED = OpenApiResponse(description="Your role in this organization may not do this.")
ALREADY_SETTLED = OpenApiResponse(
    description="The scope check is no longer waiting for this, or a field is invalid."
)
NO_SUCH_TICKET = OpenApiResponse(description="No such ticket in your organization.")
BILLING_LOCKED = OpenApiResponse(
    description="``bill_as`` can't change: some of the check's work is in a locked period."
)


class DecisionViewSet(mixins.CreateModelMixin, ReadOnlyTenantViewSet):
    """Billing decisions, newest first: what a ticket's work is, who decided,
    when, why, and the rule and contract terms applied. Append-only: a new
    decision supersedes the ticket's classification. Developers, account
    managers and admins decide; finance reads."""

    queryset = BillingDecision.objects.none()
    serializer_class = DecisionSerializer
    filterset_class = DecisionFilter
    ordering_fields = ["decided_at"]
    write_roles = DECIDERS
    action_roles = {"reclassify": DECIDERS}

    def get_tenant_queryset(self, organization):
        return decision_list(organization=organization)

    def _created(self, decision: BillingDecision) -> Response:
        fresh = decision_get(organization=self.request.organization, pk=decision.pk)
        body = DecisionSerializer(fresh, context=self.get_serializer_context()).data
        return Response(body, status=status.HTTP_201_CREATED)

    def _conflict(self, conflict: TicketConflict):
        current = ticket_list(organization=self.request.organization).get(pk=conflict.current.pk)
        return TicketVersionConflict(
            TicketSerializer(current, context=self.get_serializer_context()).data
        )

    @extend_schema(
        request=ReclassifySerializer,
        responses={
            201: DecisionSerializer,
            400: BAD_REQUEST,
            403: NOT_ALLOWED,
            409: CONFLICT_RESPONSE,
        },
    )
    @action(detail=False, methods=["post"])
    def reclassify(self, request):
        """Reclassify named earlier entries of a ticket, with a reason: the
        one way to change meaning an earlier decision gave."""
        serializer = ReclassifySerializer(data=request.data, context=self.get_serializer_context())
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        try:
            decision = entries_reclassify(
                ticket=data["ticket"],
                actor=request.membership,
                entries=data["entries"],
                classification=data["classification"],
                reason=data["reason"],
                version=data["version"],
                write_off=data["write_off"],
            )
        except TicketConflict as conflict:
            raise self._conflict(conflict) from None
        return self._created(decision)

    @extend_schema(
        request=DecisionCreateSerializer,
        responses={
            201: DecisionSerializer,
            400: BAD_REQUEST,
            403: NOT_ALLOWED,
            409: CONFLICT_RESPONSE,
        },
    )
    def create(self, request, *args, **kwargs):
        """Decide. ``needs_approval`` opens a scope check for the client's
        account manager; a stale ``version`` is a 409 with the ticket now."""
        serializer = DecisionCreateSerializer(
            data=request.data, context=self.get_serializer_context()
        )
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        scope_check = None
        if data["classification"] == Classification.NEEDS_APPROVAL:
            scope_check = ScopeCheckRequest(
                estimate_minutes=data.get("estimate_minutes") or 0,
                client_explanation=data.get("client_explanation", ""),
                bill_as=data.get("bill_as", ScopeCheck.BillAs.ACTUAL),
            )
        try:
            decision = decision_record(
                ticket=data["ticket"],
                actor=request.membership,
                classification=data["classification"],
                version=data["version"],
                reason=data.get("reason", ""),
                moment=data.get("moment"),
                write_off=data.get("write_off", False),
                client_exception=data.get("client_exception", False),
                scope_check=scope_check,
            )
        except TicketConflict as conflict:
            raise self._conflict(conflict) from None
        return self._created(decision)


class ScopeCheckViewSet(ReadOnlyTenantViewSet):
    """Scope checks, oldest first: work waiting for a yes before more time is
    spent, and the outcome. Every member reads them; account managers and
    admins approve, reject (with a note) or ask the client (a signed link that
    works once)."""

    queryset = ScopeCheck.objects.none()
    serializer_class = ScopeCheckSerializer
    filterset_class = ScopeCheckFilter
    ordering_fields = ["created_at", "decided_at"]
    action_roles = {"approve": APPROVERS, "reject": APPROVERS, "ask_client": APPROVERS}

    def get_tenant_queryset(self, organization):
        return scope_check_list(organization=organization)

    def _output(self, check: ScopeCheck) -> Response:
        fresh = scope_check_get(organization=self.request.organization, pk=check.pk)
        return Response(ScopeCheckSerializer(fresh, context=self.get_serializer_context()).data)

    @extend_schema(
        request=ScopeCheckApproveSerializer,
        responses={
            200: ScopeCheckSerializer,
            400: ALREADY_SETTLED,
            403: NOT_ALLOWED,
            409: BILLING_LOCKED,
        },
    )
    @action(detail=True, methods=["post"])
    def approve(self, request, pk=None):
        """Approve: the work is billable extra work, billed at the actual time
        or at the estimate (``bill_as``). Changing how it is billed is a 409
        while any of the check's work is in a locked period."""
        check = self.get_object()
        serializer = ScopeCheckApproveSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        check = scope_check_approve(
            check=check,
            actor=request.membership,
            note=serializer.validated_data["note"],
            bill_as=serializer.validated_data.get("bill_as"),
        )
        return self._output(check)

    @extend_schema(
        request=ScopeCheckRejectSerializer,
        responses={200: ScopeCheckSerializer, 400: ALREADY_SETTLED, 403: NOT_ALLOWED},
    )
    @action(detail=True, methods=["post"])
    def reject(self, request, pk=None):
        """Reject with a note: no extra billable work; time already spent is
        included, and the call goes to the decision log."""
        check = self.get_object()
        serializer = ScopeCheckRejectSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        check = scope_check_reject(
            check=check, actor=request.membership, note=serializer.validated_data["note"]
        )
        return self._output(check)

    @extend_schema(
        request=ScopeCheckAskClientSerializer,
        responses={
            200: ScopeCheckSerializer,
            400: ALREADY_SETTLED,
            403: NOT_ALLOWED,
            409: BILLING_LOCKED,
        },
    )
    @action(detail=True, methods=["post"], url_path="ask-client", url_name="ask-client")
    def ask_client(self, request, pk=None):
        """Email the client a signed link (valid 7 days, works once) to approve
        or decline the change with their name."""
        check = self.get_object()
        serializer = ScopeCheckAskClientSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)

        def link_url(token: str) -> str:
            return request.build_absolute_uri(
                reverse("public:client_scope_check", kwargs={"token": token})
            )

        check = scope_check_ask_client(
            check=check,
            actor=request.membership,
            client_email=serializer.validated_data["client_email"],
            client_explanation=serializer.validated_data["client_explanation"],
            bill_as=serializer.validated_data.get("bill_as"),
            link_url=link_url,
        )
        return self._output(check)


class DecisionLogEntryViewSet(ReadOnlyTenantViewSet):
    """The decision log, newest first: unusual scope calls and client
    exceptions (rule overridden, write-off, client exception, scope check
    rejected or declined by the client), each with its reason."""

    queryset = DecisionLogEntry.objects.none()
    serializer_class = DecisionLogEntrySerializer
    filterset_class = DecisionLogEntryFilter
    ordering_fields = ["created_at"]

    def get_tenant_queryset(self, organization):
        return decision_log_list(organization=organization)


class WorkAfterTheFactViewSet(TenantViewSetMixin, viewsets.GenericViewSet):
    """Work already done (a direct message, a phone call) becomes a ticket,
    its time entry and its first decision in one step. Developers, account
    managers and admins."""

    queryset = Ticket.objects.none()
    serializer_class = WorkAfterTheFactSerializer
    write_roles = DECIDERS
    filter_backends: list = []
    pagination_class = None

    @extend_schema(
        request=WorkAfterTheFactSerializer,
        responses={201: WorkAfterTheFactResultSerializer, 400: BAD_REQUEST, 403: NOT_ALLOWED},
    )
    def create(self, request, *args, **kwargs):
        serializer = WorkAfterTheFactSerializer(
            data=request.data, context=self.get_serializer_context()
        )
        serializer.is_valid(raise_exception=True)
        decision = work_log_after_the_fact(
            organization=request.organization, actor=request.membership, **serializer.validated_data
        )
        context = self.get_serializer_context()
        ticket = ticket_list(organization=request.organization).get(pk=decision.ticket_id)
        fresh = decision_get(organization=request.organization, pk=decision.pk)
        body = {
            "ticket": TicketSerializer(ticket, context=context).data,
            "decision": DecisionSerializer(fresh, context=context).data,
        }
        return Response(body, status=status.HTTP_201_CREATED)


MOMENT_RESPONSES = {
    200: OpenApiResponse(
        BillingMomentSerializer,
        description="The ticket's open moment of this kind: raised now, or the one already "
        "open (one open moment per kind; a note sent then is not kept).",
    ),
    400: BAD_REQUEST,
    403: NOT_ALLOWED,
    404: NO_SUCH_TICKET,
}


class TicketMomentViewSet(TenantViewSetMixin, viewsets.GenericViewSet):
    """The billing moments a person raises on a ticket, as on the ticket page:
    the work is outside normal support, or the client asked for a change
    rather than a fix. Either opens a billing moment for a decision (see
    ``/decisions/``). Developers, account managers and admins."""

    queryset = Ticket.objects.none()
    serializer_class = TicketMomentSerializer
    action_roles = {"out_of_scope": DECIDERS, "change_request": DECIDERS}
    filter_backends: list = []
    pagination_class = None

    def get_tenant_queryset(self, organization):
        return ticket_list(organization=organization)

    def _mark(self, request, service) -> Response:
        ticket = self.get_object()
        serializer = TicketMomentSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        moment = service(
            ticket=ticket, actor=request.membership, note=serializer.validated_data["note"]
        )
        fresh = billing_moment_list(organization=request.organization).get(pk=moment.pk)
        return Response(BillingMomentSerializer(fresh, context=self.get_serializer_context()).data)

    @extend_schema(request=TicketMomentSerializer, responses=MOMENT_RESPONSES)
    @action(detail=True, methods=["post"], url_path="out-of-scope", url_name="out-of-scope")
    def out_of_scope(self, request, pk=None):
        """This is outside normal support: a billing moment to decide what it is."""
        return self._mark(request, ticket_mark_out_of_scope)

    @extend_schema(request=TicketMomentSerializer, responses=MOMENT_RESPONSES)
    @action(detail=True, methods=["post"], url_path="change-request", url_name="change-request")
    def change_request(self, request, pk=None):
        """The client asked for a change rather than a fix: a billing moment to
        decide what it is."""
        return self._mark(request, ticket_mark_change_request)
