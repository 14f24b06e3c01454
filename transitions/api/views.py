"""Viewsets of the transitions API. Querysets come from the selectors
(already filtered by the token's organization and joined for the
serializer); every write goes through a service, whose ValidationError the
project's exception handler answers as 400 with field messages.

Recurring tasks and risks are not deleted: a task is deactivated
(``active: false``) and a risk closed (``status: closed``), so what the next
person needs to know stays on record."""

from msops.tenancy.api.filters import SEARCHABLE_FILTER_BACKENDS
from msops.tenancy.api.mixins import ReadOnlyTenantViewSet, ServiceModelViewSet
from msops.tenancy.roles import MANAGERS

from .. import selectors, services
from ..models import RecurringOccurrence, RecurringTask, Risk
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
