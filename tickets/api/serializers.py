"""Tickets API serializers. Input serializers only parse and check that
related ids belong to the token's organization; the services apply the rules."""

from rest_framework import serializers

from billing.models import EntryPortion
from clients.models import Client, RequestType
from msops.limits import (
    DATE_REASON_MAX,
    DESCRIPTION_MAX,
    TIME_ENTRY_NOTES_MAX,
    TITLE_MAX,
    LimitedCharField,
)
from msops.tenancy.api.fields import BlankAsNullChoiceField
from msops.tenancy.api.mixins import TenantPrimaryKeyRelatedField
from msops.tenancy.api.schema import ErrorSerializer
from msops.tenancy.models import Membership

from ..models import BillingMoment, Classification, Ticket, TicketPause, TimeEntry
from ..services import MAX_MINUTES_PER_ENTRY
from ..services.tickets import RESOLUTION_NOTE_MAX


class TicketPauseSerializer(serializers.ModelSerializer):
    """A stretch in which the ticket's SLA clock stood still (it waited on the
    client): ``ended_at`` is null while it lasts; ``business_minutes`` is the
    SLA-clock time it held, set when it ends."""

    class Meta:
        model = TicketPause
        fields = ["id", "started_at", "ended_at", "reason", "business_minutes"]
        read_only_fields = fields


class TicketSerializer(serializers.ModelSerializer):
    """A ticket. Opening (POST) needs client, request type and title; the
    number, contract and SLA dues are set by the service. Changing (PUT/PATCH)
    needs the ``version`` you read — a stale one is a 409 with the current
    ticket — and may touch title, description, status, priority, phase,
    assignee, request type and resolution note (a corrected request type asks
    the ticket's billing question again); client, source and opening time stay
    as opened. Moving a resolved or closed ticket back to an open status counts
    in ``reopen_count`` and sets ``last_reopened_at``."""

    FIXED_AFTER_OPENING = ("client", "source", "opened_at")
    SET_AFTER_OPENING = ("status", "phase")

    title = LimitedCharField(limit=TITLE_MAX, what="Titles")
    description = LimitedCharField(
        limit=DESCRIPTION_MAX, what="Descriptions", required=False, allow_blank=True
    )
    client = TenantPrimaryKeyRelatedField(queryset=Client.objects)
    client_name = serializers.CharField(source="client.name", read_only=True)
    request_type = TenantPrimaryKeyRelatedField(queryset=RequestType.objects)
    request_type_name = serializers.CharField(source="request_type.name", read_only=True)
    assignee = TenantPrimaryKeyRelatedField(
        queryset=Membership.objects, required=False, allow_null=True
    )
    opened_at = serializers.DateTimeField(
        required=False, help_text="When the request came in, if earlier than now (imports)."
    )
    version = serializers.IntegerField(
        min_value=1,
        required=False,
        help_text="Required when changing a ticket: the version you read.",
    )
    classification = BlankAsNullChoiceField(
        choices=Classification.choices,
        read_only=True,
        help_text="The latest billing decision's classification (null: not decided yet).",
    )
    resolution_note = LimitedCharField(
        limit=RESOLUTION_NOTE_MAX,
        what="Resolution notes",
        required=False,
        allow_blank=True,
        help_text="What was done, for the next person: written when resolving. "
        "Set it after opening.",
    )
    pauses = TicketPauseSerializer(
        many=True,
        read_only=True,
        help_text="When the SLA clock stood still (waiting on the client), oldest first.",
    )

    class Meta:
        model = Ticket
        fields = [
            "id",
            "number",
            "title",
            "description",
            "client",
            "client_name",
            "contract",
            "request_type",
            "request_type_name",
            "priority",
            "status",
            "phase",
            "source",
            "assignee",
            "opened_by",
            "opened_at",
            "first_response_due",
            "resolution_due",
            "first_responded_at",
            "resolved_at",
            "sla_calendar",
            "first_response_risk_at",
            "resolution_risk_at",
            "response_minutes",
            "resolution_minutes",
            "pauses",
            "resolution_note",
            "reopen_count",
            "last_reopened_at",
            "classification",
            "logged_minutes",
            "version",
            "updated_at",
        ]
        read_only_fields = [
            "id",
            "number",
            "contract",
            "opened_by",
            "first_response_due",
            "resolution_due",
            "first_responded_at",
            "resolved_at",
            "sla_calendar",
            "first_response_risk_at",
            "resolution_risk_at",
            "response_minutes",
            "resolution_minutes",
            "reopen_count",
            "last_reopened_at",
            "classification",
            "logged_minutes",
            "updated_at",
        ]

    def validate(self, attrs):
        errors = {}
        if self.instance is None:
            for field in self.SET_AFTER_OPENING:
                default = Ticket._meta.get_field(field).default
                if attrs.pop(field, default) != default:
                    errors[field] = f"A ticket opens as “{default}”; change it after opening."
            if attrs.pop("resolution_note", ""):
                errors["resolution_note"] = (
                    "A ticket opens unresolved: write the resolution note when resolving it."
                )
            attrs.pop("version", None)
        else:
            if "version" not in attrs:
                errors["version"] = "Send the version of the ticket you read."
            for field in self.FIXED_AFTER_OPENING:
                if field in attrs and attrs[field] != getattr(self.instance, field):
                    errors[field] = "This can't be changed after the ticket is opened."
                attrs.pop(field, None)
        if errors:
            raise serializers.ValidationError(errors)
        return attrs


class TicketConflictSerializer(ErrorSerializer):
    """A stale version (409, ``conflict``): the error and the ticket as it is now."""

    current = TicketSerializer()


class EntryPortionSerializer(serializers.ModelSerializer):
    """Minutes of an entry with one meaning, and where it came from: the
    decision (null: still waiting, see ``waits_on``), and the contract, terms
    and scope rule revision in force on the work date (null contract: no
    contract covers it)."""

    waits_on = BlankAsNullChoiceField(
        choices=[(value, label) for value, label in EntryPortion.WaitsOn.choices if value],
        read_only=True,
        help_text="What the minutes wait on before they have a meaning (null: nothing).",
    )

    class Meta:
        model = EntryPortion
        fields = [
            "minutes",
            "status",
            "decision",
            "waits_on",
            "contract",
            "contract_revision",
            "scope_rule",
            "treatment",
        ]
        read_only_fields = fields


class TimeEntrySerializer(serializers.ModelSerializer):
    """A time entry. ``billing_status`` summarises its ``portions``: their
    status when they agree, else what part still waits, else ``split``."""

    ticket_number = serializers.IntegerField(source="ticket.number", read_only=True)
    person_username = serializers.CharField(source="person.user.username", read_only=True)
    portions = EntryPortionSerializer(many=True, read_only=True)

    class Meta:
        model = TimeEntry
        fields = [
            "id",
            "ticket",
            "ticket_number",
            "person",
            "person_username",
            "work_date",
            "minutes",
            "notes",
            "date_reason",
            "entered_at",
            "billing_status",
            "portions",
            "rate",
            "cost_rate",
            "locked",
        ]
        read_only_fields = fields


DATE_REASON_HELP = (
    "Why the work date is before the ticket was opened, or on a day no contract of the client "
    "covers (logged after the fact, outside the contract). Kept on the entry."
)


class TimeEntryCreateSerializer(serializers.Serializer):
    """Log time. ``person`` defaults to the token's member; send an
    ``Idempotency-Key`` header so a retried request never logs twice."""

    ticket = TenantPrimaryKeyRelatedField(queryset=Ticket.objects)
    person = TenantPrimaryKeyRelatedField(queryset=Membership.objects, required=False)
    work_date = serializers.DateField(
        help_text="A date before the ticket was opened, or one no contract of the client "
        "covers, needs a `date_reason`."
    )
    minutes = serializers.IntegerField(min_value=1, max_value=MAX_MINUTES_PER_ENTRY)
    notes = LimitedCharField(
        limit=TIME_ENTRY_NOTES_MAX, what="Notes", required=False, allow_blank=True, default=""
    )
    date_reason = LimitedCharField(
        limit=DATE_REASON_MAX,
        what="Reasons",
        required=False,
        allow_blank=True,
        default="",
        help_text=DATE_REASON_HELP,
    )


class TimeEntryUpdateSerializer(serializers.Serializer):
    """Correct an entry: only what is sent changes."""

    work_date = serializers.DateField(
        required=False,
        help_text="Moving to a date before the ticket was opened, or one no contract of the "
        "client covers, needs a `date_reason` (or the one the entry keeps).",
    )
    minutes = serializers.IntegerField(min_value=1, max_value=MAX_MINUTES_PER_ENTRY, required=False)
    notes = LimitedCharField(
        limit=TIME_ENTRY_NOTES_MAX, what="Notes", required=False, allow_blank=True
    )
    date_reason = LimitedCharField(
        limit=DATE_REASON_MAX,
        what="Reasons",
        required=False,
        allow_blank=True,
        help_text=DATE_REASON_HELP,
    )


class BillingMomentSerializer(serializers.ModelSerializer):
    ticket_number = serializers.IntegerField(source="ticket.number", read_only=True)

    class Meta:
        model = BillingMoment
        fields = [
            "id",
            "ticket",
            "ticket_number",
            "kind",
            "status",
            "detail",
            "raised_by",
            "created_at",
            "decided_at",
        ]
        read_only_fields = fields
