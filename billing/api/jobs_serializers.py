"""Serializers of the jobs API: exception flags, review queues and items."""

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from msops.display import member_name
from msops.limits import NOTE_MAX, LimitedCharField
from msops.tenancy.api.fields import BlankAsNullChoiceField
from msops.tenancy.api.mixins import TenantPrimaryKeyRelatedField
from msops.tenancy.models import Membership

from ..models import ExceptionFlag, ReviewItem, ReviewQueue


def _open_resolved(enum_id: str):
    """A read-only ``open``/``resolved`` field. Its enum gets an id of its own,
    so the schema names it after its component (FlagStatusEnum,
    ReviewItemStatusEnum) beside the other models' ``status`` enums."""

    @extend_schema_field(
        {"type": "string", "enum": ["open", "resolved"], "x-spec-enum-id": enum_id}
    )
    class StatusField(serializers.CharField):
        def __init__(self, **kwargs):
            super().__init__(read_only=True, **kwargs)

    return StatusField


FlagStatusField = _open_resolved("flag-status")
ReviewItemStatusField = _open_resolved("review-item-status")


class FlagSerializer(serializers.ModelSerializer):
    kind_display = serializers.CharField(source="get_kind_display", read_only=True)
    status = FlagStatusField()
    ticket_number = serializers.IntegerField(
        source="ticket.number", read_only=True, allow_null=True, default=None
    )
    client_name = serializers.CharField(
        source="client.name", read_only=True, allow_null=True, default=None
    )
    owner_name = serializers.SerializerMethodField()
    resolved_by_name = serializers.SerializerMethodField()

    class Meta:
        model = ExceptionFlag
        fields = [
            "id",
            "kind",
            "kind_display",
            "subject_key",
            "period_key",
            "ticket",
            "ticket_number",
            "contract",
            "client",
            "client_name",
            "detail",
            "status",
            "owner",
            "owner_name",
            "created_at",
            "resolved_at",
            "resolved_by",
            "resolved_by_name",
            "resolution_note",
        ]
        read_only_fields = fields

    def get_owner_name(self, flag) -> str | None:
        return member_name(flag.owner)

    def get_resolved_by_name(self, flag) -> str | None:
        return member_name(flag.resolved_by)


class ResolveSerializer(serializers.Serializer):
    note = LimitedCharField(
        limit=NOTE_MAX,
        what="Notes",
        required=False,
        allow_blank=True,
        default="",
        help_text="How it was settled.",
    )


class FlagResolveSerializer(serializers.Serializer):
    note = LimitedCharField(
        limit=NOTE_MAX,
        what="Notes",
        help_text="How it was settled: what the next person reads.",
    )


class ReviewQueueSerializer(serializers.ModelSerializer):
    total_items = serializers.IntegerField(read_only=True)
    open_items = serializers.IntegerField(read_only=True)

    class Meta:
        model = ReviewQueue
        fields = ["id", "week_start", "built_at", "total_items", "open_items"]
        read_only_fields = fields


class ReviewItemSerializer(serializers.ModelSerializer):
    kind_display = serializers.CharField(source="get_kind_display", read_only=True)
    status = ReviewItemStatusField()
    week_start = serializers.DateField(source="queue.week_start", read_only=True)
    ticket_number = serializers.IntegerField(
        source="ticket.number", read_only=True, allow_null=True, default=None
    )
    client_name = serializers.CharField(
        source="client.name", read_only=True, allow_null=True, default=None
    )
    owner_name = serializers.SerializerMethodField()
    resolved_by_name = serializers.SerializerMethodField()
    flag_kind = BlankAsNullChoiceField(
        choices=ExceptionFlag.Kind.choices,
        read_only=True,
        help_text="For open flags: the kind of flag (null for other items). One item stands"
        " for the client's open flags of this kind, up to and including ``flag``.",
    )
    flags_left = serializers.IntegerField(
        read_only=True,
        help_text="For open flags: how many of the flags the item counts are still open"
        " (resolving the item resolves them).",
    )

    class Meta:
        model = ReviewItem
        fields = [
            "id",
            "queue",
            "week_start",
            "kind",
            "kind_display",
            "subject_key",
            "reason",
            "ticket",
            "ticket_number",
            "client",
            "client_name",
            "flag",
            "flag_kind",
            "flags_left",
            "scope_check",
            "status",
            "owner",
            "owner_name",
            "resolved_at",
            "resolved_by",
            "resolved_by_name",
            "note",
        ]
        read_only_fields = fields

    def get_owner_name(self, item) -> str | None:
        return member_name(item.owner)

    def get_resolved_by_name(self, item) -> str | None:
        return member_name(item.resolved_by)


class ReassignSerializer(serializers.Serializer):
    owner = TenantPrimaryKeyRelatedField(
        queryset=Membership.objects,
        help_text="The member who owns the item from now on (account manager, admin or finance).",
    )
