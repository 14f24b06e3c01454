"""Viewsets of the transitions API. Querysets come from the selectors
(already filtered by the token's organization and joined for the
serializer); every write goes through a service, whose ValidationError the
project's exception handler answers as 400 with field messages.

Recurring tasks and risks are not deleted: a task is deactivated
(``active: false``) and a risk closed (``status: closed``), so what the next
person needs to know stays on record."""

from drf_spectacular.utils import extend_schema
from rest_framework import mixins, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from msops.tenancy.api.filters import SEARCHABLE_FILTER_BACKENDS
from msops.tenancy.api.mixins import (
    ReadOnlyTenantViewSet,
    ServiceModelViewSet,
    TenantViewSetMixin,
)
from msops.tenancy.roles import MANAGERS

from .. import briefs, selectors, services
from ..models import ClientBrief, RecurringOccurrence, RecurringTask, Risk
from . import filters, serializers


class _ServiceViewSet(ServiceModelViewSet):
    """List, read, create and change through services; no DELETE."""

    http_method_names = ["get", "post", "put", "patch", "head", "options"]


class RecurringTaskViewSet(_ServiceViewSet):
    """Recurring work per client, with its named owner, cadence, next due
    date, request type (its billing treatment is the scope rule in force for
    it) and known exceptions. The beat job opens a ticket for each due
    occurrence, assigned to the owner. Deactivate with ``active: false``.
    Admins and account managers write; everyone reads."""

    queryset = RecurringTask.objects.none()
    serializer_class = serializers.RecurringTaskSerializer
    filterset_class = filters.RecurringTaskFilter
    filter_backends = SEARCHABLE_FILTER_BACKENDS
    search_fields = ["title", "known_exceptions", "client__name"]
    ordering_fields = ["title", "next_due", "created_at"]
    write_roles = MANAGERS

    def get_tenant_queryset(self, organization):
        return selectors.recurring_task_list(organization=organization)

    def create_object(self, data):
        return services.recurring_task_create(organization=self.request.organization, **data)

    def update_object(self, instance, data):
        return services.recurring_task_update(recurring_task=instance, data=data)


class RecurringOccurrenceViewSet(ReadOnlyTenantViewSet):
    """The due dates the beat job opened, each with its ticket. Read-only."""

    queryset = RecurringOccurrence.objects.none()
    serializer_class = serializers.RecurringOccurrenceSerializer
    filterset_class = filters.RecurringOccurrenceFilter
    ordering_fields = ["due_on", "created_at"]

    def get_tenant_queryset(self, organization):
        return selectors.recurring_occurrence_list(organization=organization)


class RiskViewSet(_ServiceViewSet):
    """Risks per client, with severity, named owner, next action (required
    while open) and status. Close with ``status: closed``. Admins and account
    managers write; everyone reads."""

    queryset = Risk.objects.none()
    serializer_class = serializers.RiskSerializer
    filterset_class = filters.RiskFilter
    filter_backends = SEARCHABLE_FILTER_BACKENDS
    search_fields = ["description", "next_action", "client__name"]
    ordering_fields = ["created_at", "updated_at"]
    write_roles = MANAGERS

    def get_tenant_queryset(self, organization):
        return selectors.risk_list(organization=organization)

    def create_object(self, data):
        return services.risk_create(organization=self.request.organization, **data)

    def update_object(self, instance, data):
        return services.risk_update(risk=instance, data=data)


class ClientBriefViewSet(
    TenantViewSetMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.UpdateModelMixin,
    viewsets.GenericViewSet,
):
    """Client briefs: the human-written current state of a client, who last
    reviewed it and when, and whether it is stale (never reviewed, or not for
    more than 30 days). Account managers, admins and finance read every
    brief, developers those of the clients they work for (an open ticket of
    theirs, time in the last 90 days, a recurring task, risk or handoff line
    they own); admins and account managers change the
    summary (which records them as its reviewer) or mark it reviewed. A brief
    is created by writing its client's summary on the brief page."""

    queryset = ClientBrief.objects.none()
    serializer_class = serializers.ClientBriefSerializer
    filterset_class = filters.ClientBriefFilter
    ordering_fields = ["reviewed_at", "updated_at"]
    write_roles = MANAGERS

    def get_tenant_queryset(self, organization):
        queryset = briefs.client_brief_list(organization=organization)
        membership = self.request.membership
        if not selectors.reads_every_brief(membership):
            queryset = queryset.filter(
                client__in=selectors.clients_worked_for(
                    organization=organization, membership=membership
                ).values("pk")
            )
        return queryset

    def perform_update(self, serializer) -> None:
        brief = serializer.instance
        if "summary" in serializer.validated_data:
            briefs.client_brief_update(
                client=brief.client,
                summary=serializer.validated_data["summary"],
                by=self.request.membership,
            )
        serializer.instance = self.get_queryset().get(pk=brief.pk)

    @extend_schema(request=None, responses=serializers.ClientBriefSerializer)
    @action(detail=True, methods=["post"])
    def reviewed(self, request, pk=None):
        """Mark the brief reviewed now by you: it still holds."""
        brief = briefs.client_brief_mark_reviewed(brief=self.get_object(), by=request.membership)
        brief = self.get_queryset().get(pk=brief.pk)
        return Response(self.get_serializer(brief).data)
