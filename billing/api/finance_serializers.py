"""Serializers of the finance API: billing periods, their drafts and lines,
the exceptions that block a period, adjustments and draft runs."""

from django.urls import NoReverseMatch, reverse
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from clients.models import Contract
from msops.calendar import parse_month
from msops.display import member_name
from msops.limits import NOTE_MAX, LimitedCharField
from msops.tenancy.api.mixins import TenantPrimaryKeyRelatedField
from msops.tenancy.api.schema import ErrorSerializer
from msops.tenancy.models import Membership
from tickets.models import Classification, Ticket

from ..exports import EXPORT_CHOICES, SOURCE_KEYS, sources_of
from ..models import (
    Adjustment,
    BillingPeriod,
    DraftRun,
    ExceptionFlag,
    InvoiceDraft,
    InvoiceLine,
    PeriodEvent,
)
from ..pricing import Action, BlockerKind
from .finance_filters import MONTH_HELP

# The page that explains one line in words (built by the finance pages).
EXPLAIN_URL_NAME = "billing:finance_line"


def _enum(enum_id: str, choices):
    """A read-only choice field whose enum has a name of its own in the schema
    (``status`` and ``kind`` mean different things on different models)."""

    @extend_schema_field(
        {"type": "string", "enum": [value for value, _ in choices], "x-spec-enum-id": enum_id}
    )
    class EnumField(serializers.CharField):
        def __init__(self, **kwargs):
            super().__init__(read_only=True, **kwargs)

    return EnumField


PeriodStatusField = _enum("billing-period-status", BillingPeriod.Status.choices)
LineKindField = _enum("invoice-line-kind", InvoiceLine.Kind.choices)
DraftRunStatusField = _enum("draft-run-status", DraftRun.Status.choices)
PeriodEventActionField = _enum("period-event-action", PeriodEvent.Action.choices)
BlockerKindField = _enum("blocker-kind", BlockerKind.choices)


@extend_schema_field({"type": "string", "pattern": r"^\d{4}-\d{2}(-\d{2})?$", "example": "2026-11"})
class MonthField(serializers.Field):
    """A month in and out as ``2026-11`` (input may be any day of it)."""

    default_error_messages = {"invalid": MONTH_HELP}

    def to_internal_value(self, data):
        month = parse_month(data)
        if month is None:
            self.fail("invalid")
        return month

    def to_representation(self, value):
        return f"{value:%Y-%m}"


@extend_schema_field({"type": "string", "nullable": True})
class MemberName(serializers.Field):
    """The name of the member in the object's ``attribute`` (null: nobody)."""

    def __init__(self, attribute: str, **kwargs):
        self.attribute = attribute
        super().__init__(source="*", read_only=True, **kwargs)

    def to_representation(self, value):
        return member_name(getattr(value, self.attribute))


# --- periods ----------------------------------------------------------------------------
class DraftTotalSerializer(serializers.ModelSerializer):
    class Meta:
        model = InvoiceDraft
        fields = ["id", "currency", "total", "cost", "computed_at"]
        read_only_fields = fields


class PeriodEventSerializer(serializers.ModelSerializer):
    action = PeriodEventActionField()
    actor_name = MemberName("actor")

    class Meta:
        model = PeriodEvent
        fields = ["id", "action", "actor", "actor_name", "at", "note"]
        read_only_fields = fields


class BillingPeriodSerializer(serializers.ModelSerializer):
    """A period with its drafts' totals and its history."""

    month = MonthField(read_only=True)
    status = PeriodStatusField()
    status_display = serializers.CharField(source="get_status_display", read_only=True)
    client_name = serializers.CharField(source="client.name", read_only=True)
    review_started_by_name = MemberName("review_started_by")
    locked_by_name = MemberName("locked_by")
    exported_by_name = MemberName("exported_by")
    drafts = DraftTotalSerializer(many=True, read_only=True)
    blocking_exceptions = serializers.SerializerMethodField()
    events = PeriodEventSerializer(many=True, read_only=True)

    class Meta:
        model = BillingPeriod
        fields = [
            "id",
            "client",
            "client_name",
            "month",
            "status",
            "status_display",
            "version",
            "review_started_at",
            "review_started_by",
            "review_started_by_name",
            "locked_at",
            "locked_by",
            "locked_by_name",
            "exported_at",
            "exported_by",
            "exported_by_name",
            "drafts",
            "blocking_exceptions",
            "events",
        ]
        read_only_fields = fields

    def get_blocking_exceptions(self, period) -> int | None:
        """How many exceptions block the period (0 once locked). Computed
        live on a period's own answers; null in lists."""
        blockers = self.context.get("blockers")
        return None if blockers is None else len(blockers)


class VersionSerializer(serializers.Serializer):
    version = serializers.IntegerField(
        required=False,
        min_value=1,
        help_text="The period's version as you read it: a stale version is a 409.",
    )


class UnlockSerializer(VersionSerializer):
    reason = LimitedCharField(
        limit=NOTE_MAX,
        what="Reasons",
        help_text="Why the period is unlocked (recorded on its history).",
    )


class ExportSerializer(serializers.Serializer):
    format = serializers.ChoiceField(choices=EXPORT_CHOICES)
    account_code = serializers.CharField(
        required=False, default="200", max_length=20, help_text="Xero: the sales account code."
    )
    tax_type = serializers.CharField(
        required=False,
        default="",
        allow_blank=True,
        max_length=60,
        help_text="Xero tax type / QuickBooks tax code of every line.",
    )
    due_days = serializers.IntegerField(required=False, default=30, min_value=0, max_value=365)


class PeriodConflictSerializer(ErrorSerializer):
    """A stale version (409, ``conflict``): the error and the period as it is now."""

    current = BillingPeriodSerializer()


# --- exceptions -------------------------------------------------------------------------
class BlockerSerializer(serializers.Serializer):
    """One exception that blocks the period from locking."""

    key = serializers.CharField(help_text="Stable id of the exception.")
    kind = BlockerKindField()
    label = serializers.CharField()
    detail = serializers.CharField()
    ticket = serializers.IntegerField(source="ticket_id", allow_null=True)
    ticket_number = serializers.IntegerField(allow_null=True)
    ticket_title = serializers.CharField()
    minutes = serializers.IntegerField()
    owner = serializers.IntegerField(
        source="owner_id", allow_null=True, help_text="The member the question goes back to."
    )
    owner_name = serializers.SerializerMethodField()
    flag = serializers.IntegerField(source="flag_id", allow_null=True)
    scope_check = serializers.IntegerField(source="scope_check_id", allow_null=True)
    contract = serializers.IntegerField(source="contract_id", allow_null=True)
    portions = serializers.ListField(source="portion_ids", child=serializers.IntegerField())
    actions = serializers.ListField(
        child=serializers.ChoiceField(choices=Action.choices),
        help_text="What finance can do about it here (fix_terms: on the contract).",
    )

    def get_owner_name(self, blocker) -> str | None:
        return self.context.get("owner_names", {}).get(blocker.owner_id)


class ExceptionListSerializer(serializers.Serializer):
    count = serializers.IntegerField()
    results = BlockerSerializer(many=True)


class ExceptionActionResultSerializer(serializers.Serializer):
    action = serializers.CharField(help_text="classify, write_off, send_back or resolve_flag.")
    object_id = serializers.IntegerField(
        help_text="The decision, review item or flag the action made or settled."
    )
    exceptions = ExceptionListSerializer(help_text="What still blocks the period.")


class ExceptionClassifySerializer(serializers.Serializer):
    ticket = TenantPrimaryKeyRelatedField(queryset=Ticket.objects)
    classification = serializers.ChoiceField(
        choices=Classification.choices, help_text="Finance classifies as included or billable."
    )
    reason = LimitedCharField(
        limit=NOTE_MAX, what="Reasons", required=False, allow_blank=True, default=""
    )


class ExceptionWriteOffSerializer(serializers.Serializer):
    ticket = TenantPrimaryKeyRelatedField(queryset=Ticket.objects)
    reason = LimitedCharField(limit=NOTE_MAX, what="Reasons")


class ExceptionSendBackSerializer(serializers.Serializer):
    to = TenantPrimaryKeyRelatedField(
        queryset=Membership.objects, help_text="The member to send the question to."
    )
    note = LimitedCharField(limit=NOTE_MAX, what="Notes")
    ticket = TenantPrimaryKeyRelatedField(
        queryset=Ticket.objects, required=False, allow_null=True, default=None
    )
    key = serializers.CharField(
        required=False,
        allow_blank=True,
        default="",
        max_length=50,
        help_text="The exception's key: sending the same one back again updates its item.",
    )


class ExceptionResolveFlagSerializer(serializers.Serializer):
    flag = TenantPrimaryKeyRelatedField(queryset=ExceptionFlag.objects)
    note = LimitedCharField(limit=NOTE_MAX, what="Notes")


# --- drafts and lines -------------------------------------------------------------------
class InvoiceDraftSerializer(serializers.ModelSerializer):
    client = serializers.IntegerField(source="period.client_id", read_only=True)
    month = MonthField(source="period.month", read_only=True)
    line_count = serializers.IntegerField(read_only=True)

    class Meta:
        model = InvoiceDraft
        fields = [
            "id",
            "period",
            "client",
            "month",
            "currency",
            "total",
            "cost",
            "computed_at",
            "line_count",
        ]
        read_only_fields = fields


@extend_schema_field(
    {
        "type": "object",
        "properties": {
            **{key: {"type": "array", "items": {"type": "integer"}} for key in SOURCE_KEYS},
            "portion_minutes": {
                "type": "object",
                "additionalProperties": {"type": "integer"},
                "description": "Portion id → its minutes on this line, for each portion only"
                " part of which is on it (included up to the allowance, the rest overage).",
            },
        },
        "required": [*SOURCE_KEYS, "portion_minutes"],
    }
)
class SourcesField(serializers.Field):
    """Every kind of source, with the ids behind the line (empty: none), as
    the JSON export writes them."""

    def __init__(self, **kwargs):
        super().__init__(source="*", read_only=True, **kwargs)

    def to_representation(self, line):
        return sources_of(line)


class InvoiceLineSerializer(serializers.ModelSerializer):
    kind = LineKindField()
    kind_display = serializers.CharField(source="get_kind_display", read_only=True)
    ticket_number = serializers.IntegerField(
        source="ticket.number", read_only=True, allow_null=True, default=None
    )
    contract_name = serializers.CharField(
        source="contract.name", read_only=True, allow_null=True, default=None
    )
    sources = SourcesField()
    explain = serializers.SerializerMethodField()

    class Meta:
        model = InvoiceLine
        fields = [
            "id",
            "draft",
            "period",
            "position",
            "kind",
            "kind_display",
            "description",
            "contract",
            "contract_name",
            "ticket",
            "ticket_number",
            "scope_check",
            "minutes",
            "billed_minutes",
            "quantity",
            "unit",
            "unit_price",
            "amount",
            "currency",
            "computation",
            "sources",
            "explain",
        ]
        read_only_fields = fields

    def get_explain(self, line) -> str | None:
        """The page that explains the line in words (null until it exists)."""
        organization = self.context.get("organization")
        request = self.context.get("request")
        if organization is None:
            return None
        try:
            path = reverse(EXPLAIN_URL_NAME, kwargs={"org": organization.slug, "pk": line.pk})
        except NoReverseMatch:
            return None
        return request.build_absolute_uri(path) if request is not None else path


# --- adjustments and runs ---------------------------------------------------------------
class AdjustmentSerializer(serializers.ModelSerializer):
    month = MonthField(source="period.month", read_only=True)
    corrects_month = MonthField(source="corrects.month", read_only=True, allow_null=True)
    client_name = serializers.CharField(source="client.name", read_only=True)
    created_by_name = MemberName("created_by")

    class Meta:
        model = Adjustment
        fields = [
            "id",
            "client",
            "client_name",
            "period",
            "month",
            "corrects",
            "corrects_month",
            "contract",
            "currency",
            "description",
            "amount",
            "reason",
            "created_by",
            "created_by_name",
            "created_at",
        ]
        read_only_fields = fields


class AdjustmentCreateSerializer(serializers.Serializer):
    """A correction to a locked period, billed in the client's next open one."""

    corrects = TenantPrimaryKeyRelatedField(
        queryset=BillingPeriod.objects, help_text="The locked period it corrects."
    )
    description = serializers.CharField(max_length=200)
    amount = serializers.DecimalField(
        max_digits=12, decimal_places=2, help_text="Negative for a credit, e.g. -120.00."
    )
    reason = LimitedCharField(limit=NOTE_MAX, what="Reasons")
    contract = TenantPrimaryKeyRelatedField(
        queryset=Contract.objects, required=False, allow_null=True, default=None
    )


class DraftRunSerializer(serializers.ModelSerializer):
    month = MonthField(read_only=True)
    status = DraftRunStatusField()
    percent = serializers.IntegerField(read_only=True)
    started_by_name = MemberName("started_by")

    class Meta:
        model = DraftRun
        fields = [
            "id",
            "month",
            "status",
            "total",
            "done",
            "percent",
            "started_by",
            "started_by_name",
            "created_at",
            "finished_at",
            "error",
        ]
        read_only_fields = fields


class DraftRunCreateSerializer(serializers.Serializer):
    month = MonthField(help_text="The month whose drafts to compute, e.g. 2026-11.")
