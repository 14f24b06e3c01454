"""The transition signals as read-only lists (transitions/signals.py computes
them, the pages show the same): undocumented context per person, for account
managers and admins, and transition health per client, which finance reads
too. Rows are computed, not stored, so they have no detail route; a page of
them is the usual ``count``/``next``/``previous``/``results``."""

from rest_framework import serializers, viewsets

from clients.models import Client
from msops.display import member_name
from msops.tenancy.models import Membership, Role

from ..signals import (
    CONTEXT_READERS,
    EXAMPLES,
    HEALTH_READERS,
    MOST_OF_THE_TIME,
    ONE_PERSON,
    WINDOW_DAYS,
    AtRisk,
    ClientHealth,
    PersonContext,
    transition_health,
    undocumented_context,
)


# --- shapes -----------------------------------------------------------------------
class ClientRefSerializer(serializers.Serializer):
    id = serializers.IntegerField(source="pk", read_only=True)
    name = serializers.CharField(read_only=True)


def _ticket_numbers(examples) -> list[int]:
    return [ticket.number for ticket in examples]


class PersonContextSerializer(serializers.Serializer):
    id = serializers.IntegerField(
        source="person.pk", read_only=True, help_text="The member's id (see /memberships/)."
    )
    name = serializers.SerializerMethodField()
    role = serializers.ChoiceField(source="person.role", choices=Role.choices, read_only=True)
    resolved_without_note = serializers.IntegerField(
        source="resolved_without_note.count",
        read_only=True,
        help_text="Tickets they were assigned that were resolved or closed in the window with"
        " an empty resolution note.",
    )
    resolved_without_note_tickets = serializers.SerializerMethodField(
        help_text=f"Up to {EXAMPLES} of those tickets' numbers, the latest resolved first."
    )
    thin_notes = serializers.IntegerField(
        source="thin_notes.count",
        read_only=True,
        help_text="Their time entries worked in the window whose notes are empty or one word.",
    )
    thin_note_tickets = serializers.SerializerMethodField(
        help_text=f"The numbers of up to {EXAMPLES} tickets of those entries, latest work first."
    )
    late_entries = serializers.IntegerField(
        source="late_entries.count",
        read_only=True,
        help_text="Their time entries worked in the window and entered more than the"
        " organization's ``late_entry_days`` after the work (the late-entry flag's rule).",
    )
    late_entry_tickets = serializers.SerializerMethodField(
        help_text=f"The numbers of up to {EXAMPLES} tickets of those entries, latest work first."
    )
    stale_brief_clients = serializers.IntegerField(
        source="stale_brief_clients.count",
        read_only=True,
        help_text=f"Clients where they logged more than {MOST_OF_THE_TIME} % of the window's"
        " time and whose brief is stale (never reviewed, or not for more than 30 days).",
    )
    stale_brief_client_examples = ClientRefSerializer(
        source="stale_brief_clients.examples",
        many=True,
        read_only=True,
        help_text=f"Up to {EXAMPLES} of those clients, their largest share first.",
    )
    total = serializers.IntegerField(read_only=True, help_text="The four counts added up.")

    def get_name(self, row: PersonContext) -> str:
        return member_name(row.person)

    def get_resolved_without_note_tickets(self, row: PersonContext) -> list[int]:
        return _ticket_numbers(row.resolved_without_note.examples)

    def get_thin_note_tickets(self, row: PersonContext) -> list[int]:
        return _ticket_numbers(row.thin_notes.examples)

    def get_late_entry_tickets(self, row: PersonContext) -> list[int]:
        return _ticket_numbers(row.late_entries.examples)


class ClientHealthSerializer(serializers.Serializer):
    id = serializers.IntegerField(
        source="client.pk", read_only=True, help_text="The client's id (see /clients/)."
    )
    name = serializers.CharField(source="client.name", read_only=True)
    # Text, not an enum: the schema names the client statuses' enum after the client's own
    # component, and a second component using it would make that name ambiguous.
    status = serializers.CharField(
        source="client.status",
        read_only=True,
        help_text="The client's status: onboarding, active or offboarding (ended clients are"
        " not listed).",
    )
    brief = serializers.IntegerField(
        source="brief.pk",
        allow_null=True,
        read_only=True,
        help_text="The client's brief (see /client-briefs/); null: no brief written yet.",
    )
    brief_reviewed_at = serializers.DateTimeField(
        source="brief.reviewed_at", allow_null=True, read_only=True
    )
    brief_reviewed_by = serializers.IntegerField(
        source="brief.reviewed_by_id",
        allow_null=True,
        read_only=True,
        help_text="The member who last reviewed it; null: never reviewed, or a former member.",
    )
    brief_reviewed_by_name = serializers.SerializerMethodField()
    brief_stale = serializers.BooleanField(
        source="stale",
        read_only=True,
        help_text="No brief, never reviewed, or not reviewed for more than 30 days.",
    )
    logged_minutes = serializers.IntegerField(
        read_only=True, help_text=f"Minutes everyone logged in the last {WINDOW_DAYS} days."
    )
    top_person = serializers.IntegerField(
        source="top_person.pk",
        allow_null=True,
        read_only=True,
        help_text="The member who logged the most of those minutes; null: no time logged.",
    )
    top_person_name = serializers.SerializerMethodField()
    top_person_minutes = serializers.IntegerField(source="top_minutes", read_only=True)
    top_share_percent = serializers.DecimalField(
        source="top_share",
        max_digits=4,
        decimal_places=1,
        allow_null=True,
        read_only=True,
        help_text="The top person's share of the minutes in percent, rounded down to one"
        " decimal; null: no time logged.",
    )
    orphaned_items = serializers.IntegerField(
        read_only=True,
        help_text="Open items nobody can act on: no owner (or none standing in), or an owner"
        " whose account was deactivated.",
    )
    open_risks = serializers.IntegerField(
        read_only=True, help_text="Risks not closed (open or mitigated)."
    )
    at_risk = serializers.ListField(
        child=serializers.ChoiceField(choices=AtRisk.CHOICES),
        read_only=True,
        help_text=f"Why the client is at risk: its brief is stale, one person logged"
        f" {ONE_PERSON} % or more of its time, or it has orphaned items. Empty: ready.",
    )

    def get_brief_reviewed_by_name(self, row: ClientHealth) -> str | None:
        return member_name(row.brief.reviewed_by) if row.brief else None

    def get_top_person_name(self, row: ClientHealth) -> str | None:
        return member_name(row.top_person)


# --- endpoints ----------------------------------------------------------------------
class _ReportViewSet(viewsets.GenericViewSet):
    """A read-only list of computed rows, paginated like every list. Its
    ``queryset`` (empty) names the model whose ids the rows carry, as on
    every endpoint; the rows come from :meth:`rows`, for the token's
    organization only."""

    filter_backends: list = []

    def rows(self, organization) -> list:
        raise NotImplementedError

    def list(self, request, *args, **kwargs):
        page = self.paginate_queryset(self.rows(request.organization))
        return self.get_paginated_response(self.get_serializer(page, many=True).data)


class UndocumentedContextViewSet(_ReportViewSet):
    """Undocumented context per person: for each active member who works
    tickets, over the last 90 days (days in the practice's timezone), the
    tickets they resolved without a note, their time entries with empty or
    one-word notes, their time entered long after the work, and the clients
    where they logged most of the time while the brief is stale — each a
    count with example ticket numbers. The most to document first. Account
    managers and admins."""

    queryset = Membership.objects.none()  # a row per member: ``id`` is the membership's
    serializer_class = PersonContextSerializer
    read_roles = CONTEXT_READERS

    def rows(self, organization) -> list:
        return undocumented_context(organization=organization).people


class TransitionHealthViewSet(_ReportViewSet):
    """Transition health per client not ended, by name: the brief's last
    review and whether it is stale, the share of the last 90 days' minutes
    the top person logged, the open items without an owner and the open
    risks, with why the client is at risk. Account managers, admins and
    finance."""

    queryset = Client.objects.none()  # a row per client: ``id`` is the client's
    serializer_class = ClientHealthSerializer
    read_roles = HEALTH_READERS

    def rows(self, organization) -> list:
        return transition_health(organization=organization).clients
