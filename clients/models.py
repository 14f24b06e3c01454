"""clients/ — who we serve and on what terms.

A client has contracts; a contract's commercial terms change over time and are
kept as effective-dated revisions, so any work date answers "which terms were
in force". Scope rules say, per contract and request type, what the work is.
"""

from decimal import Decimal

from django.core.validators import MinValueValidator
from django.db import models
from django.db.models import F, Q
from django.utils import timezone

from msops.tenancy.models import Membership, TenantModel

MONEY = {"max_digits": 12, "decimal_places": 2}
ZERO = Decimal("0.00")


class Treatment(models.TextChoices):
    INCLUDED = "included", "Included"
    BILLABLE = "billable", "Billable"
    NEEDS_APPROVAL = "needs_approval", "Needs approval"
    EXCLUDED = "excluded", "Excluded"


class Priority(models.TextChoices):
    LOW = "low", "Low"
    NORMAL = "normal", "Normal"
    HIGH = "high", "High"
    URGENT = "urgent", "Urgent"


class Client(TenantModel):
    class Status(models.TextChoices):
        ONBOARDING = "onboarding", "Onboarding"
        ACTIVE = "active", "Active"
        OFFBOARDING = "offboarding", "Offboarding"
        ENDED = "ended", "Ended"

    name = models.CharField(max_length=200)
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.ACTIVE)
    account_manager = models.ForeignKey(
        Membership, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    billing_notes = models.TextField(
        blank=True, help_text="Client-specific billing notes shown beside the work on every ticket."
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(fields=["organization", "name"], name="client_unique_name")
        ]
        indexes = [models.Index(fields=["organization", "status"], name="client_org_status")]

    def __str__(self) -> str:
        return self.name


class Contract(TenantModel):
    """The support agreement. Terms that change live in ContractRevision."""

    class Kind(models.TextChoices):
        RETAINER = "retainer", "Retainer"
        BLOCK = "block", "Block of hours"
        TIME_AND_MATERIALS = "time_and_materials", "Time and materials"
        FIXED_FEE = "fixed_fee", "Fixed fee"
        PER_UNIT = "per_unit", "Per unit"

    class Period(models.TextChoices):
        MONTHLY = "monthly", "Monthly"
        QUARTERLY = "quarterly", "Quarterly"
        ANNUAL = "annual", "Annual"

    class ReviewCadence(models.TextChoices):
        MONTHLY = "monthly", "Monthly"
        QUARTERLY = "quarterly", "Quarterly"
        SEMIANNUAL = "semiannual", "Every six months"
        ANNUAL = "annual", "Annual"

    client = models.ForeignKey(Client, on_delete=models.PROTECT, related_name="contracts")
    name = models.CharField(max_length=200)
    kind = models.CharField(max_length=20, choices=Kind.choices)
    period = models.CharField(max_length=10, choices=Period.choices, default=Period.MONTHLY)
    starts_on = models.DateField()
    ends_on = models.DateField(null=True, blank=True)
    currency = models.CharField(max_length=3)
    exclusions = models.TextField(
        blank=True, help_text="What the contract does not cover, in plain words."
    )
    notice_days = models.PositiveIntegerField(default=30)
    offboarding_fee = models.DecimalField(
        **MONEY, default=ZERO, validators=[MinValueValidator(ZERO)]
    )

    class TierMode(models.TextChoices):
        GRADUATED = "graduated", "Graduated: each band's units at the band's price"
        VOLUME = "volume", "Volume: every unit at the price of the band the count falls in"

    review_cadence = models.CharField(
        max_length=12, choices=ReviewCadence.choices, default=ReviewCadence.QUARTERLY
    )
    tier_mode = models.CharField(
        max_length=10,
        choices=TierMode.choices,
        default=TierMode.GRADUATED,
        help_text="Per-unit contracts: how the month's unit count is priced by the bands.",
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["client__name", "-starts_on"]
        constraints = [
            models.CheckConstraint(
                condition=Q(ends_on__isnull=True) | Q(ends_on__gt=F("starts_on")),
                name="contract_ends_after_start",
            ),
        ]
        indexes = [
            models.Index(fields=["organization", "client", "starts_on"], name="contract_org_client")
        ]

    def __str__(self) -> str:
        return f"{self.client} — {self.name}"


class ContractRevision(TenantModel):
    """The commercial terms of a contract from ``effective_from`` on."""

    contract = models.ForeignKey(Contract, on_delete=models.PROTECT, related_name="revisions")
    effective_from = models.DateField()
    fee = models.DecimalField(**MONEY, default=ZERO, validators=[MinValueValidator(ZERO)])
    included_minutes = models.PositiveIntegerField(
        default=0, help_text="Retainer: minutes included per period. Block: minutes prepaid."
    )
    hourly_rate = models.DecimalField(
        **MONEY,
        default=ZERO,
        validators=[MinValueValidator(ZERO)],
        help_text="Time-and-materials rate: billable and excluded work falls back to it.",
    )
    overage_rate = models.DecimalField(
        **MONEY, null=True, blank=True, validators=[MinValueValidator(ZERO)]
    )
    rounding_increment_minutes = models.PositiveSmallIntegerField(default=15)
    minimum_charge_minutes = models.PositiveSmallIntegerField(default=0)
    reask_factor = models.PositiveSmallIntegerField(
        default=2,
        validators=[MinValueValidator(2)],
        help_text="A ticket asks again each time its logged time passes the expected time"
        " × this factor again (2: at 1×, 2×, 4×, 8× …).",
    )
    block_expiry_months = models.PositiveSmallIntegerField(
        null=True,
        blank=True,
        validators=[MinValueValidator(1)],
        help_text="Block of hours: a top-up's unused minutes expire this many months after it"
        " was added (empty: they never expire).",
    )
    note = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["contract", "-effective_from"]
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "contract", "effective_from"],
                name="contract_revision_unique_date",
            ),
            models.CheckConstraint(
                condition=Q(rounding_increment_minutes__gte=1)
                & Q(rounding_increment_minutes__lte=60),
                name="contract_revision_rounding_1_60",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.contract} from {self.effective_from}"


class RequestType(TenantModel):
    """The practice's catalogue of kinds of work, each with a billing assumption."""

    name = models.CharField(max_length=100)
    default_treatment = models.CharField(
        max_length=20, choices=Treatment.choices, default=Treatment.INCLUDED
    )
    expected_minutes = models.PositiveIntegerField(default=60)
    is_catch_all = models.BooleanField(
        default=False, help_text="“Other”/“General”: its overuse is measured."
    )
    is_active = models.BooleanField(default=True)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "name"], name="request_type_unique_name"
            )
        ]

    def __str__(self) -> str:
        return self.name


class ScopeRule(TenantModel):
    """Contract × request type → how the work is treated, from ``effective_from``
    on. Each row is one revision: editing a rule adds a revision, so work is
    always judged by the revision in force on its work date. A ``removed``
    revision ends the rule (the request type's default applies again)."""

    contract = models.ForeignKey(Contract, on_delete=models.PROTECT, related_name="scope_rules")
    request_type = models.ForeignKey(RequestType, on_delete=models.PROTECT, related_name="+")
    treatment = models.CharField(max_length=20, choices=Treatment.choices)
    expected_minutes = models.PositiveIntegerField(null=True, blank=True)
    approval_threshold_minutes = models.PositiveIntegerField(
        null=True,
        blank=True,
        help_text="Past this much time the work needs an approved scope check.",
    )
    rate_override = models.DecimalField(
        **MONEY, null=True, blank=True, validators=[MinValueValidator(ZERO)]
    )
    explanation = models.CharField(
        max_length=200, blank=True, help_text="The one line a developer sees beside the work."
    )
    effective_from = models.DateField(help_text="Work dated from this day on is judged by it.")
    removed = models.BooleanField(
        default=False, help_text="This revision ends the rule: no rule from its date on."
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["contract", "request_type__name", "-effective_from"]
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "contract", "request_type", "effective_from"],
                name="scope_rule_revision_unique",
            )
        ]
        indexes = [
            models.Index(
                fields=["organization", "contract", "request_type", "-effective_from"],
                name="scope_rule_in_force",
            )
        ]

    def __str__(self) -> str:
        return f"{self.request_type} — {self.get_treatment_display()}"

    @property
    def effective_expected_minutes(self) -> int:
        return (
            self.expected_minutes
            if self.expected_minutes is not None
            else self.request_type.expected_minutes
        )


class SLATarget(TenantModel):
    contract = models.ForeignKey(Contract, on_delete=models.CASCADE, related_name="sla_targets")
    priority = models.CharField(max_length=10, choices=Priority.choices)
    first_response_minutes = models.PositiveIntegerField(validators=[MinValueValidator(1)])
    resolution_minutes = models.PositiveIntegerField(validators=[MinValueValidator(1)])

    class Meta:
        ordering = ["contract", "priority"]
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "contract", "priority"], name="sla_target_unique"
            ),
            models.CheckConstraint(
                condition=Q(resolution_minutes__gte=F("first_response_minutes")),
                name="sla_resolution_after_response",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_priority_display()}: {self.first_response_minutes}/{self.resolution_minutes} min"


def default_business_hours() -> list[list[list[str]]]:
    """Monday to Friday, 09:00–17:00: seven days (Monday first), each a list of
    ``["HH:MM", "HH:MM"]`` open intervals (``"24:00"`` ends a day)."""
    return [[["09:00", "17:00"]] for _ in range(5)] + [[], []]


class SLACalendar(TenantModel):
    """The business hours a contract's SLA targets are measured in: a weekly
    calendar in a timezone, the public holidays of a country (``holidays``
    package) and extra closed days. Calendars are versioned, never edited:
    changing a contract's calendar adds a version effective from the change,
    and each ticket keeps the version it was opened under
    (``Ticket.sla_calendar``), so a change affects tickets opened after it."""

    contract = models.ForeignKey(Contract, on_delete=models.CASCADE, related_name="sla_calendars")
    hours = models.JSONField(
        default=default_business_hours,
        help_text='Seven days, Monday first, each a list of ["HH:MM", "HH:MM"] open intervals.',
    )
    time_zone = models.CharField(
        max_length=64, blank=True, help_text="IANA timezone; empty: the practice's timezone."
    )
    holiday_country = models.CharField(
        max_length=8, blank=True, help_text="ISO country code whose public holidays are closed."
    )
    holiday_subdivision = models.CharField(max_length=16, blank=True)
    closed_days = models.JSONField(
        default=list, blank=True, help_text="Extra closed days, as ISO dates (YYYY-MM-DD)."
    )
    effective_from = models.DateTimeField(default=timezone.now)
    created_by = models.ForeignKey(
        Membership, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["contract", "-effective_from"]
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "contract", "effective_from"],
                name="sla_calendar_unique_version",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.contract} — business hours from {self.effective_from:%Y-%m-%d %H:%M}"


class PricingTier(TenantModel):
    """Per-unit contracts: price per unit (endpoint, user) by volume band."""

    contract = models.ForeignKey(Contract, on_delete=models.CASCADE, related_name="pricing_tiers")
    min_units = models.PositiveIntegerField(default=1)
    max_units = models.PositiveIntegerField(null=True, blank=True)
    unit_price = models.DecimalField(**MONEY, validators=[MinValueValidator(ZERO)])

    class Meta:
        ordering = ["contract", "min_units"]
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "contract", "min_units"], name="pricing_tier_unique"
            ),
            models.CheckConstraint(
                condition=Q(max_units__isnull=True) | Q(max_units__gte=F("min_units")),
                name="pricing_tier_band_order",
            ),
        ]

    def __str__(self) -> str:
        upper = self.max_units if self.max_units is not None else "∞"
        return f"{self.min_units}–{upper} units at {self.unit_price}"


class UnitCount(TenantModel):
    """How many units a per-unit contract covered in a month."""

    contract = models.ForeignKey(Contract, on_delete=models.CASCADE, related_name="unit_counts")
    month = models.DateField(help_text="The first day of the month.")
    units = models.PositiveIntegerField()

    class Meta:
        ordering = ["contract", "-month"]
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "contract", "month"], name="unit_count_unique_month"
            )
        ]

    def __str__(self) -> str:
        return f"{self.contract} {self.month:%Y-%m}: {self.units}"


class BlockTopUp(TenantModel):
    """Prepaid minutes added to a block-of-hours contract on a date, at a
    price (charged in the month it is added). Unused minutes carry over until
    ``expires_on`` (set from the terms in force when added; empty: never)."""

    contract = models.ForeignKey(Contract, on_delete=models.PROTECT, related_name="top_ups")
    added_on = models.DateField()
    minutes = models.PositiveIntegerField(validators=[MinValueValidator(1)])
    price = models.DecimalField(**MONEY, default=ZERO, validators=[MinValueValidator(ZERO)])
    expires_on = models.DateField(null=True, blank=True)
    note = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["contract", "added_on", "pk"]
        constraints = [
            models.CheckConstraint(condition=Q(minutes__gte=1), name="block_top_up_minutes"),
            models.CheckConstraint(
                condition=Q(expires_on__isnull=True) | Q(expires_on__gt=F("added_on")),
                name="block_top_up_expires_after_added",
            ),
        ]
        indexes = [
            models.Index(
                fields=["organization", "contract", "added_on"], name="top_up_org_contract"
            )
        ]

    def __str__(self) -> str:
        return f"{self.minutes} min added {self.added_on} to {self.contract}"
