"""Shapes of the transitions API. Serializers check shape and that related
ids belong to the token's organization; the services check the domain's rules."""

from rest_framework import serializers

from clients.models import Client, RequestType
from msops.display import member_name
from msops.tenancy.api.mixins import TenantPrimaryKeyRelatedField
from msops.tenancy.models import Membership
from msops.timezones import organization_today

from ..briefs import client_brief_is_stale
from ..models import ClientBrief, RecurringOccurrence, RecurringTask, Risk


class RecurringTaskSerializer(serializers.ModelSerializer):
    client = TenantPrimaryKeyRelatedField(
        queryset=Client.objects, help_text="Set on creation; a recurring task stays with it."
    )
    client_name = serializers.CharField(source="client.name", read_only=True)
    owner = TenantPrimaryKeyRelatedField(
        queryset=Membership.objects,
        help_text="The named owner, who works tickets: each occurrence's ticket is theirs.",
    )
    owner_name = serializers.SerializerMethodField()
    request_type = TenantPrimaryKeyRelatedField(
        queryset=RequestType.objects,
        help_text="Its tickets are judged by the scope rule in force for this request type.",
    )
    request_type_name = serializers.CharField(source="request_type.name", read_only=True)

    class Meta:
        model = RecurringTask
        fields = [
            "id",
            "client",
            "client_name",
            "title",
            "cadence",
            "owner",
            "owner_name",
            "request_type",
            "request_type_name",
            "next_due",
            "known_exceptions",
            "active",
            "created_at",
        ]
        read_only_fields = ["id", "created_at"]
        extra_kwargs = {
            "next_due": {
                "help_text": "The next occurrence's due date: today or later when set. The "
                "beat job opens its ticket on that day and moves it on by the cadence."
            },
        }

    def get_owner_name(self, obj: RecurringTask) -> str:
        return member_name(obj.owner) or ""


class RecurringOccurrenceSerializer(serializers.ModelSerializer):
    recurring_task_title = serializers.CharField(source="recurring_task.title", read_only=True)
    ticket_number = serializers.IntegerField(
        source="ticket.number", read_only=True, allow_null=True, default=None
    )

    class Meta:
        model = RecurringOccurrence
        fields = [
            "id",
            "recurring_task",
            "recurring_task_title",
            "due_on",
            "ticket",
            "ticket_number",
            "created_at",
        ]
        read_only_fields = fields


class RiskSerializer(serializers.ModelSerializer):
    client = TenantPrimaryKeyRelatedField(
        queryset=Client.objects, help_text="Set on creation; a risk stays with it."
    )
    client_name = serializers.CharField(source="client.name", read_only=True)
    owner = TenantPrimaryKeyRelatedField(queryset=Membership.objects)
    owner_name = serializers.SerializerMethodField()

    class Meta:
        model = Risk
        fields = [
            "id",
            "client",
            "client_name",
            "description",
            "severity",
            "owner",
            "owner_name",
            "next_action",
            "status",
            "created_at",
            "updated_at",
        ]
        read_only_fields = ["id", "created_at", "updated_at"]
        extra_kwargs = {
            "next_action": {"help_text": "What happens next; required while the risk is open."},
        }

    def get_owner_name(self, obj: Risk) -> str:
        return member_name(obj.owner) or ""


class ClientBriefSerializer(serializers.ModelSerializer):
    """A client's brief: the summary is written by admins and account managers
    (writing it is reviewing it); ``stale``: never reviewed, or not for more
    than 30 days."""

    client_name = serializers.CharField(source="client.name", read_only=True)
    reviewed_by = serializers.PrimaryKeyRelatedField(read_only=True, allow_null=True)
    reviewed_by_name = serializers.SerializerMethodField()
    stale = serializers.SerializerMethodField()

    class Meta:
        model = ClientBrief
        fields = [
            "id",
            "client",
            "client_name",
            "summary",
            "reviewed_by",
            "reviewed_by_name",
            "reviewed_at",
            "stale",
            "updated_at",
        ]
        read_only_fields = ["id", "client", "reviewed_by", "reviewed_at", "updated_at"]
        extra_kwargs = {
            "summary": {
                "help_text": "Current state, environment, preferences and escalation rules; "
                "not empty. Saving it records you as its reviewer.",
            },
        }

    def get_reviewed_by_name(self, obj: ClientBrief) -> str | None:
        return member_name(obj.reviewed_by)

    def get_stale(self, obj: ClientBrief) -> bool:
        return client_brief_is_stale(brief=obj, today=organization_today(obj.organization))
