"""Shapes of the clients API. Serializers check shape and that related ids
belong to the token's organization; the services check the domain's rules."""

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from msops.tenancy.api.mixins import TenantPrimaryKeyRelatedField
from msops.tenancy.models import Membership

from ..models import (
    BlockTopUp,
    Client,
    Contract,
    ContractRevision,
    PricingTier,
    RequestType,
    ScopeRule,
    SLACalendar,
    SLATarget,
    UnitCount,
)
from ..selectors import scope_rule_in_plain_words
from ..services import TERM_FIELDS


class ClientSerializer(serializers.ModelSerializer):
    account_manager = TenantPrimaryKeyRelatedField(
        queryset=Membership.objects, allow_null=True, required=False
    )
    account_manager_name = serializers.SerializerMethodField()
    contract_count = serializers.IntegerField(read_only=True)
    contract_in_force = serializers.CharField(
        source="contract_in_force_name",
        read_only=True,
        allow_null=True,
        help_text="Name of the contract in force today, if any.",
    )

    class Meta:
        model = Client
        fields = [
            "id",
            "name",
            "status",
            "account_manager",
            "account_manager_name",
            "billing_notes",
            "contract_count",
            "contract_in_force",
            "created_at",
        ]
        read_only_fields = ["id", "created_at"]

    def get_account_manager_name(self, obj: Client) -> str | None:
        manager = obj.account_manager
        if manager is None:
            return None
        return manager.user.get_full_name() or manager.user.get_username()


class ContractTermsSerializer(serializers.ModelSerializer):
    """The commercial terms of a contract revision; any term left out keeps
    its default (first terms) or the value in force (new terms)."""

    class Meta:
        model = ContractRevision
        fields = list(TERM_FIELDS)
        extra_kwargs = {name: {"required": False} for name in TERM_FIELDS}


class ContractRevisionSerializer(serializers.ModelSerializer):
    contract = TenantPrimaryKeyRelatedField(queryset=Contract.objects)

    class Meta:
        model = ContractRevision
        fields = ["id", "contract", "effective_from", *TERM_FIELDS, "created_at"]
        read_only_fields = ["id", "created_at"]
        extra_kwargs = {name: {"required": False} for name in TERM_FIELDS}


class NestedContractRevisionSerializer(serializers.ModelSerializer):
    class Meta:
        model = ContractRevision
        fields = ["id", "effective_from", *TERM_FIELDS, "created_at"]
        read_only_fields = fields


class ContractSerializer(serializers.ModelSerializer):
    client = TenantPrimaryKeyRelatedField(queryset=Client.objects)
    currency = serializers.CharField(
        max_length=3,
        required=False,
        help_text="Three-letter code; defaults to the organization's currency.",
    )
    terms = ContractTermsSerializer(
        write_only=True,
        required=False,
        help_text="The first terms, in force from the start (create only).",
    )
    revisions = NestedContractRevisionSerializer(many=True, read_only=True)

    class Meta:
        model = Contract
        fields = [
            "id",
            "client",
            "name",
            "kind",
            "period",
            "starts_on",
            "ends_on",
            "currency",
            "exclusions",
            "notice_days",
            "offboarding_fee",
            "review_cadence",
            "tier_mode",
            "terms",
            "revisions",
            "created_at",
        ]
        read_only_fields = ["id", "created_at"]


class RequestTypeSerializer(serializers.ModelSerializer):
    class Meta:
        model = RequestType
        fields = [
            "id",
            "name",
            "default_treatment",
            "expected_minutes",
            "is_catch_all",
            "is_active",
        ]
        read_only_fields = ["id"]


class ScopeRuleSerializer(serializers.ModelSerializer):
    """One revision of the rule for contract × request type: in force from
    ``effective_from`` until the rule's next revision (``removed``: the rule
    ends there)."""

    contract = TenantPrimaryKeyRelatedField(queryset=Contract.objects)
    request_type = TenantPrimaryKeyRelatedField(queryset=RequestType.objects)
    request_type_name = serializers.CharField(source="request_type.name", read_only=True)
    in_plain_words = serializers.SerializerMethodField()

    class Meta:
        model = ScopeRule
        fields = [
            "id",
            "contract",
            "request_type",
            "request_type_name",
            "effective_from",
            "removed",
            "treatment",
            "expected_minutes",
            "approval_threshold_minutes",
            "rate_override",
            "explanation",
            "in_plain_words",
            "created_at",
        ]
        read_only_fields = ["id", "removed", "created_at"]
        extra_kwargs = {
            "treatment": {
                "required": False,
                "help_text": "Required for a rule's first revision; a later revision carries "
                "over what it leaves out from the revision in force on its date.",
            },
            "effective_from": {
                "required": False,
                "help_text": "Work dated from this day on is judged by this revision. Default: "
                "today in the organization's timezone (the contract's start if it has not "
                "started). A later revision starts today or later.",
            },
        }

    @extend_schema_field(
        serializers.CharField(help_text="“Troubleshooting — included, about 60 min”")
    )
    def get_in_plain_words(self, obj: ScopeRule) -> str:
        return scope_rule_in_plain_words(scope_rule=obj)


class SLATargetSerializer(serializers.ModelSerializer):
    contract = TenantPrimaryKeyRelatedField(queryset=Contract.objects)

    class Meta:
        model = SLATarget
        fields = ["id", "contract", "priority", "first_response_minutes", "resolution_minutes"]
        read_only_fields = ["id"]


class SLACalendarSerializer(serializers.ModelSerializer):
    """A version of a contract's business hours. POST adds a version effective
    now (versions are never edited); ``in_force`` marks the contract's version
    in force now."""

    contract = TenantPrimaryKeyRelatedField(queryset=Contract.objects)
    hours = serializers.JSONField(
        required=False,
        help_text='Seven days, Monday first, each a list of ["HH:MM", "HH:MM"] open '
        'intervals ("24:00" ends a day). Default: Monday to Friday 09:00-17:00.',
    )
    closed_days = serializers.JSONField(
        required=False, help_text="Extra closed days, a list of ISO dates (YYYY-MM-DD)."
    )
    in_force = serializers.BooleanField(read_only=True)

    class Meta:
        model = SLACalendar
        fields = [
            "id",
            "contract",
            "hours",
            "time_zone",
            "holiday_country",
            "holiday_subdivision",
            "closed_days",
            "effective_from",
            "in_force",
            "created_by",
            "created_at",
        ]
        read_only_fields = ["id", "effective_from", "in_force", "created_by", "created_at"]
        extra_kwargs = {
            "time_zone": {"required": False},
            "holiday_country": {"required": False},
            "holiday_subdivision": {"required": False},
        }


class PricingTierSerializer(serializers.ModelSerializer):
    contract = TenantPrimaryKeyRelatedField(queryset=Contract.objects)

    class Meta:
        model = PricingTier
        fields = ["id", "contract", "min_units", "max_units", "unit_price"]
        read_only_fields = ["id"]


class UnitCountSerializer(serializers.ModelSerializer):
    contract = TenantPrimaryKeyRelatedField(queryset=Contract.objects)

    class Meta:
        model = UnitCount
        fields = ["id", "contract", "month", "units"]
        read_only_fields = ["id"]


class BlockTopUpSerializer(serializers.ModelSerializer):
    """Prepaid minutes added to a block of hours: charged ``price`` in the
    month of ``added_on``; unused minutes can be drawn until ``expires_on``
    (set from the terms in force on ``added_on``; null: never)."""

    contract = TenantPrimaryKeyRelatedField(queryset=Contract.objects)

    class Meta:
        model = BlockTopUp
        fields = [
            "id",
            "contract",
            "added_on",
            "minutes",
            "price",
            "expires_on",
            "note",
            "created_at",
        ]
        read_only_fields = ["id", "expires_on", "created_at"]
        extra_kwargs = {
            # The service's rules and messages, not the model's validators.
            "minutes": {"validators": [], "min_value": None},
            "price": {"validators": [], "min_value": None, "required": True},
        }
