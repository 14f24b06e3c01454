from rest_framework import serializers

from ..models import Membership, Organization
from .fields import BlankAsNullEmailField


class OrganizationSerializer(serializers.ModelSerializer):
    class Meta:
        model = Organization
        fields = [
            "id",
            "name",
            "slug",
            "timezone",
            "currency",
            "week_start",
            "contract_warning_percent",
            "late_entry_days",
            "recurring_ticket_count",
            "scope_check_stale_hours",
            "default_hourly_rate",
        ]
        read_only_fields = fields


class MembershipSerializer(serializers.ModelSerializer):
    username = serializers.CharField(source="user.username", read_only=True)
    email = BlankAsNullEmailField(
        source="user.email", read_only=True, help_text="null: the member has no email address."
    )

    class Meta:
        model = Membership
        fields = ["id", "username", "email", "role", "created_at", "deactivated_at"]
        read_only_fields = fields
