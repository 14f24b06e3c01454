"""Serializers of the decisions API. Input serializers only parse and check
that related ids belong to the token's organization (a foreign id is a 400 on
its field); the rules live in billing/services.py."""

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from clients.models import Client, RequestType
from msops.display import member_name
from msops.limits import NOTE_MAX, TITLE_MAX, LimitedCharField
from msops.tenancy.api.fields import (
    BlankAsNullCharField,
    BlankAsNullChoiceField,
    BlankAsNullEmailField,
)
from msops.tenancy.api.mixins import TenantPrimaryKeyRelatedField
from tickets.api.serializers import TicketSerializer
from tickets.models import BillingMoment, Classification, Ticket, TimeEntry
from tickets.services import MAX_MINUTES_PER_ENTRY

from ..models import BillingDecision, DecisionLogEntry, ScopeCheck

TEXT_MAX = NOTE_MAX


@extend_schema_field(
    {
        "type": "string",
        "enum": Classification.values,
        "x-spec-enum-id": "suggested-classification",
        "description": "What the rule suggested when the decision was made.",
    }
)
class SuggestedClassificationField(serializers.CharField):
    """The rule's suggestion: the same values as ``classification``, under an
    enum name of its own in the schema."""

    def __init__(self, **kwargs):
        super().__init__(read_only=True, **kwargs)


# --- decisions --------------------------------------------------------------------
class DecisionSerializer(serializers.ModelSerializer):
    """A billing decision: what the work is, who decided, when, why, and the
    rule and contract terms in force at the time. Append-only."""

    ticket_number = serializers.IntegerField(source="ticket.number", read_only=True)
    decided_by_name = serializers.SerializerMethodField()
    moment_kind = serializers.CharField(
        source="moment.kind", read_only=True, allow_null=True, default=None
    )
    suggested_classification = SuggestedClassificationField()

    class Meta:
        model = BillingDecision
        fields = [
            "id",
            "ticket",
            "ticket_number",
            "moment",
            "moment_kind",
            "classification",
            "suggested_classification",
            "overrides_rule",
            "reason",
            "decided_by",
            "decided_by_name",
            "decided_at",
            "scope_rule",
            "contract_revision",
            "treatment",
            "rule_in_words",
            "written_off",
            "reclassification",
            "scope_check",
            "rule_on",
            "entries_rederived",
        ]
        read_only_fields = fields

    def get_decided_by_name(self, decision: BillingDecision) -> str | None:
        return member_name(decision.decided_by)


class DecisionCreateSerializer(serializers.Serializer):
    """Decide what a ticket's work is. Send the ticket's ``version`` as you
    read it: a stale one is a 409 with the ticket as it is now. Going against
    the rule's suggestion, ``unclear``, a write-off or a client exception need
    a ``reason``; ``needs_approval`` needs ``estimate_minutes`` (and opens a
    scope check for the client's account manager)."""

    ticket = TenantPrimaryKeyRelatedField(queryset=Ticket.objects)
    classification = serializers.ChoiceField(choices=Classification.choices)
    version = serializers.IntegerField(min_value=1)
    reason = LimitedCharField(
        limit=NOTE_MAX,
        what="Reasons",
        required=False,
        allow_blank=True,
        default="",
    )
    moment = TenantPrimaryKeyRelatedField(
        queryset=BillingMoment.objects,
        required=False,
        allow_null=True,
        help_text="The billing moment this answers (default: the ticket's oldest open one).",
    )
    write_off = serializers.BooleanField(required=False, default=False)
    client_exception = serializers.BooleanField(required=False, default=False)
    estimate_minutes = serializers.IntegerField(
        required=False,
        allow_null=True,
        min_value=1,
        max_value=100_000,
        help_text="needs_approval: the extra time to approve, in minutes.",
    )
    client_explanation = LimitedCharField(
        limit=NOTE_MAX,
        what="Explanations",
        required=False,
        allow_blank=True,
        default="",
        help_text="needs_approval: the change and its cost in plain words, for the client.",
    )
    bill_as = serializers.ChoiceField(
        choices=ScopeCheck.BillAs.choices,
        required=False,
        default=ScopeCheck.BillAs.ACTUAL,
        help_text="needs_approval: how you propose the approved work is billed — the actual"
        " time, or the estimate (charged once). The account manager decides when approving.",
    )


class ReclassifySerializer(serializers.Serializer):
    """Change the meaning earlier work already has: every minute of the named
    time ``entries`` (of this ticket) takes the new classification, with a
    ``reason`` (recorded in the decision log). Later work is not affected."""

    ticket = TenantPrimaryKeyRelatedField(queryset=Ticket.objects)
    version = serializers.IntegerField(min_value=1)
    entries = serializers.ListField(
        child=TenantPrimaryKeyRelatedField(queryset=TimeEntry.objects),
        min_length=1,
        max_length=500,
    )
    classification = serializers.ChoiceField(
        choices=Classification.choices,
        help_text="Included, billable or unclear (work already done can't wait for approval).",
    )
    reason = LimitedCharField(limit=NOTE_MAX, what="Reasons")
    write_off = serializers.BooleanField(required=False, default=False)


# --- scope checks -----------------------------------------------------------------
class ScopeCheckSerializer(serializers.ModelSerializer):
    """A request for approval before extra time is spent, and its outcome:
    the account manager's (approved / rejected with a note) or the client's
    (name typed, time, channel)."""

    ticket_number = serializers.IntegerField(source="ticket.number", read_only=True)
    client = serializers.IntegerField(source="ticket.client_id", read_only=True)
    client_name = serializers.CharField(source="ticket.client.name", read_only=True)
    requested_by_name = serializers.SerializerMethodField()
    account_manager_name = serializers.SerializerMethodField()
    decided_by_name = serializers.SerializerMethodField()
    client_email = BlankAsNullEmailField(
        read_only=True, help_text="The client contact asked to approve (null: not asked)."
    )
    ticket_logged_minutes = serializers.IntegerField(
        source="ticket.logged_minutes",
        read_only=True,
        help_text="Time logged on the ticket so far.",
    )
    estimate_amount = serializers.DecimalField(
        max_digits=14,
        decimal_places=2,
        read_only=True,
        allow_null=True,
        help_text="The estimate at ``rate`` (null: no rate applied when approval was asked).",
    )

    class Meta:
        model = ScopeCheck
        fields = [
            "id",
            "ticket",
            "ticket_number",
            "client",
            "client_name",
            "decision",
            "status",
            "estimate_minutes",
            "ticket_logged_minutes",
            "rate",
            "currency",
            "estimate_amount",
            "bill_as",
            "reason",
            "client_explanation",
            "requested_by",
            "requested_by_name",
            "account_manager",
            "account_manager_name",
            "created_at",
            "decided_at",
            "decided_by",
            "decided_by_name",
            "decision_note",
            "client_email",
            "client_asked_at",
            "client_link_expires_at",
            "client_answered_at",
            "client_answer_name",
            "client_answer_channel",
            "version",
        ]
        read_only_fields = fields

    def get_requested_by_name(self, check: ScopeCheck) -> str | None:
        return member_name(check.requested_by)

    def get_account_manager_name(self, check: ScopeCheck) -> str | None:
        return member_name(check.account_manager)

    def get_decided_by_name(self, check: ScopeCheck) -> str | None:
        return member_name(check.decided_by)


BILL_AS_HELP = (
    "How the approved work is billed: ``actual`` (the time spent, at the rate) or ``estimate``"
    " (the estimate, charged once in the month of the first work, whatever the time spent)."
    " Omitted: as the check says (the developer's proposal, else actual). Fixed once approved."
)


class ScopeCheckApproveSerializer(serializers.Serializer):
    note = LimitedCharField(
        limit=NOTE_MAX, what="Notes", required=False, allow_blank=True, default=""
    )
    bill_as = serializers.ChoiceField(
        choices=ScopeCheck.BillAs.choices, required=False, help_text=BILL_AS_HELP
    )


class ScopeCheckRejectSerializer(serializers.Serializer):
    note = LimitedCharField(
        limit=NOTE_MAX,
        what="Notes",
        required=False,
        allow_blank=True,
        default="",
        help_text="Required: why not, for the developer and the next person.",
    )


class ScopeCheckAskClientSerializer(serializers.Serializer):
    client_email = BlankAsNullCharField(
        required=False,
        allow_blank=True,
        default="",
        max_length=254,
        help_text="The client contact who approves or declines.",
    )
    client_explanation = LimitedCharField(
        limit=NOTE_MAX,
        what="Explanations",
        required=False,
        allow_blank=True,
        default="",
        help_text="What the client reads (empty: keep the check's explanation).",
    )
    bill_as = serializers.ChoiceField(
        choices=ScopeCheck.BillAs.choices,
        required=False,
        help_text=BILL_AS_HELP + " The client reads it and approves it.",
    )


# --- decision log -------------------------------------------------------------------
class DecisionLogEntrySerializer(serializers.ModelSerializer):
    ticket_number = serializers.IntegerField(source="ticket.number", read_only=True)
    client_name = serializers.CharField(source="client.name", read_only=True)
    actor_name = serializers.SerializerMethodField()

    class Meta:
        model = DecisionLogEntry
        fields = [
            "id",
            "kind",
            "client",
            "client_name",
            "ticket",
            "ticket_number",
            "decision",
            "scope_check",
            "actor",
            "actor_name",
            "summary",
            "reason",
            "created_at",
        ]
        read_only_fields = fields

    def get_actor_name(self, entry: DecisionLogEntry) -> str | None:
        return member_name(entry.actor)


# --- work after the fact ---------------------------------------------------------------
class WorkAfterTheFactSerializer(serializers.Serializer):
    """Work already done (a direct message, a phone call): the ticket, its time
    entry and its first decision in one step. Without a classification the
    rule's suggestion is taken; going against it or unclear needs a reason."""

    client = TenantPrimaryKeyRelatedField(queryset=Client.objects)
    request_type = TenantPrimaryKeyRelatedField(queryset=RequestType.objects)
    title = LimitedCharField(limit=TITLE_MAX, what="Titles", help_text="What was done.")
    minutes = serializers.IntegerField(min_value=1, max_value=MAX_MINUTES_PER_ENTRY)
    work_date = serializers.DateField()
    source = serializers.ChoiceField(choices=Ticket.Source.choices)
    classification = BlankAsNullChoiceField(
        choices=Classification.choices,
        required=False,
        allow_blank=True,
        default="",
        help_text="Empty or null: the rule's suggestion. Work already done can't wait for"
        " approval.",
    )
    reason = LimitedCharField(
        limit=NOTE_MAX,
        what="Reasons",
        required=False,
        allow_blank=True,
        default="",
    )
    notes = LimitedCharField(
        limit=NOTE_MAX, what="Notes", required=False, allow_blank=True, default=""
    )


class WorkAfterTheFactResultSerializer(serializers.Serializer):
    ticket = TicketSerializer()
    decision = DecisionSerializer()
