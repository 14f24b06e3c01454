"""billing/ — decisions and money.

A BillingDecision is append-only: the ticket's classification is its latest
decision. Scope checks route what a developer cannot decide alone; the
decision log keeps the unusual calls; exception flags and the weekly review
catch what people miss.
"""

import pgtrigger
from django.db import models
from django.db.models import Q
from django.utils import timezone

from clients.models import Client, Contract, ContractRevision, ScopeRule, Treatment
from msops.tenancy.models import Membership, TenantModel
from tickets.models import BillingMoment, Classification, Ticket, TimeEntry


class BillingDecision(TenantModel):
    """What the work on a ticket is, decided by a person with the rule in front
    of them. Never updated or deleted.

    A decision applies forward: it gives meaning to the ticket's work that was
    waiting for one when it was made (no decision yet, or past a threshold) and
    to the work logged after it, until the next decision. It never changes the
    meaning an earlier decision gave, except a *reclassification*, which names
    the earlier entries it re-labels and says why."""

    ticket = models.ForeignKey(Ticket, on_delete=models.PROTECT, related_name="decisions")
    moment = models.ForeignKey(
        BillingMoment, on_delete=models.PROTECT, null=True, blank=True, related_name="decisions"
    )
    classification = models.CharField(max_length=15, choices=Classification.choices)
    suggested_classification = models.CharField(
        max_length=15, choices=Classification.choices, help_text="What the rule suggested."
    )
    reason = models.TextField(blank=True)
    decided_by = models.ForeignKey(Membership, on_delete=models.PROTECT, related_name="+")
    decided_at = models.DateTimeField(default=timezone.now)
    scope_rule = models.ForeignKey(
        ScopeRule, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    contract_revision = models.ForeignKey(
        ContractRevision, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    treatment = models.CharField(
        max_length=20, blank=True, help_text="The rule's treatment when the decision was made."
    )
    rule_in_words = models.CharField(max_length=300, blank=True)
    overrides_rule = models.BooleanField(default=False)
    written_off = models.BooleanField(
        default=False, help_text="Excluded work written off instead of billed at the T&M rate."
    )
    reclassification = models.BooleanField(
        default=False,
        help_text="Re-labels named earlier entries (with a reason); work after it is not affected.",
    )
    scope_check = models.ForeignKey(
        "ScopeCheck",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="answers",
        help_text="The scope check this decision answers (approved, rejected, client's answer).",
    )
    rule_on = models.DateField(
        null=True, blank=True, help_text="The work date whose rule the decision was made under."
    )
    entries_rederived = models.PositiveIntegerField(
        default=0, help_text="Minutes of waiting work this decision gave meaning to when made."
    )

    class Meta:
        ordering = ["-decided_at", "-pk"]
        indexes = [
            models.Index(
                fields=["organization", "ticket", "-decided_at"], name="decision_org_ticket"
            ),
            models.Index(fields=["organization", "classification"], name="decision_org_class"),
        ]

    def __str__(self) -> str:
        return f"{self.ticket}: {self.get_classification_display()}"


class EntryPortion(TenantModel):
    """Minutes of one time entry with one billing meaning, and where the
    meaning came from: the decision (none: still waiting) and the contract,
    terms and scope rule revision in force on the work date. An entry that
    crosses a threshold carries two portions (e.g. 60 included + 30 past the
    expected time); the portions of an entry always add up to its minutes."""

    class WaitsOn(models.TextChoices):
        NOTHING = "", "—"
        DECISION = "decision", "A first decision"
        EXPECTED_TIME = "expected_time", "A decision: past the expected time"
        APPROVAL = "approval", "Approval: past the approval threshold"
        ESTIMATE = "estimate", "A decision: past the approved estimate"

    entry = models.ForeignKey(TimeEntry, on_delete=models.CASCADE, related_name="portions")
    ticket = models.ForeignKey(Ticket, on_delete=models.PROTECT, related_name="+")
    position = models.PositiveSmallIntegerField(default=0, help_text="Order within the entry.")
    minutes = models.PositiveIntegerField()
    work_date = models.DateField()
    status = models.CharField(max_length=20, choices=TimeEntry.BillingStatus.choices)
    decision = models.ForeignKey(
        BillingDecision, on_delete=models.PROTECT, null=True, blank=True, related_name="portions"
    )
    waits_on = models.CharField(max_length=15, choices=WaitsOn.choices, blank=True)
    contract = models.ForeignKey(
        Contract,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        help_text="The contract in force on the work date (empty: no contract covers it).",
    )
    contract_revision = models.ForeignKey(
        ContractRevision, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    scope_rule = models.ForeignKey(
        ScopeRule, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    treatment = models.CharField(
        max_length=20, choices=Treatment.choices, help_text="The rule's treatment on the work date."
    )

    class Meta:
        ordering = ["entry", "position"]
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "entry", "position"], name="entry_portion_position"
            ),
            models.CheckConstraint(condition=Q(minutes__gte=1), name="entry_portion_minutes"),
        ]
        indexes = [
            models.Index(fields=["organization", "ticket", "status"], name="portion_org_ticket"),
            models.Index(
                fields=["organization", "contract", "work_date"], name="portion_org_contract"
            ),
            models.Index(fields=["organization", "decision"], name="portion_org_decision"),
            models.Index(fields=["organization", "status", "work_date"], name="portion_org_status"),
            models.Index(fields=["organization", "work_date"], name="portion_org_date"),
        ]

    def __str__(self) -> str:
        return f"{self.minutes} min {self.get_status_display().lower()} of {self.entry_id}"


class ScopeCheck(TenantModel):
    """A request for an account manager's (and maybe the client's) approval
    before extra time is spent."""

    class Status(models.TextChoices):
        PENDING = "pending", "Waiting for the account manager"
        APPROVED = "approved", "Approved"
        REJECTED = "rejected", "Rejected"
        AWAITING_CLIENT = "awaiting_client", "Waiting for the client"
        CLIENT_APPROVED = "client_approved", "Approved by the client"
        CLIENT_DECLINED = "client_declined", "Declined by the client"

    OPEN_STATUSES = (Status.PENDING, Status.AWAITING_CLIENT)
    APPROVED_STATUSES = (Status.APPROVED, Status.CLIENT_APPROVED)

    ticket = models.ForeignKey(Ticket, on_delete=models.PROTECT, related_name="scope_checks")
    decision = models.ForeignKey(
        BillingDecision,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="scope_checks",
    )
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.PENDING)
    requested_by = models.ForeignKey(Membership, on_delete=models.PROTECT, related_name="+")
    account_manager = models.ForeignKey(
        Membership, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    estimate_minutes = models.PositiveIntegerField()
    reason = models.TextField(help_text="Why the work needs approval.")
    client_explanation = models.TextField(
        help_text="The change and its cost in plain words, as the client will read it."
    )
    created_at = models.DateTimeField(default=timezone.now)
    decided_at = models.DateTimeField(null=True, blank=True)
    decided_by = models.ForeignKey(
        Membership, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    decision_note = models.TextField(blank=True)
    # Asking the client: a signed link that works once.
    client_email = models.EmailField(blank=True)
    client_link_nonce = models.CharField(max_length=32, blank=True)
    client_link_expires_at = models.DateTimeField(null=True, blank=True)
    client_asked_at = models.DateTimeField(null=True, blank=True)
    client_answered_at = models.DateTimeField(null=True, blank=True)
    client_answer_name = models.CharField(max_length=200, blank=True)
    client_answer_ip = models.GenericIPAddressField(null=True, blank=True)
    client_answer_channel = models.CharField(max_length=20, blank=True)

    class BillAs(models.TextChoices):
        ACTUAL = "actual", "The actual time, at the rate"
        ESTIMATE = "estimate", "The approved estimate, whatever the time"

    bill_as = models.CharField(
        max_length=10,
        choices=BillAs.choices,
        default=BillAs.ACTUAL,
        help_text="How the approved work is charged: its own invoice line either way.",
    )
    version = models.PositiveIntegerField(default=1)
    rate = models.DecimalField(
        max_digits=12,
        decimal_places=2,
        null=True,
        blank=True,
        help_text="The hourly rate in force when approval was asked (what the estimate costs).",
    )
    currency = models.CharField(max_length=3, blank=True)
    estimate_amount = models.DecimalField(
        max_digits=14,
        decimal_places=2,
        null=True,
        blank=True,
        help_text="The estimate at that rate, half-up to the cent.",
    )

    class Meta:
        ordering = ["created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "ticket"],
                condition=Q(status__in=["pending", "awaiting_client"]),
                name="scope_check_one_open_per_ticket",
            ),
        ]
        indexes = [
            models.Index(
                fields=["organization", "status", "created_at"], name="scope_check_org_status"
            ),
            models.Index(
                fields=["organization", "account_manager", "status"], name="scope_check_org_am"
            ),
        ]

    def __str__(self) -> str:
        return f"Scope check on {self.ticket} ({self.get_status_display()})"

    @property
    def is_open(self) -> bool:
        return self.status in self.OPEN_STATUSES


class DecisionLogEntry(TenantModel):
    """A short record of an unusual scope call, written by the service that
    made it. The transition layer reads it."""

    class Kind(models.TextChoices):
        RULE_OVERRIDDEN = "rule_overridden", "Rule overridden"
        WRITE_OFF = "write_off", "Write-off"
        RECLASSIFIED = "reclassified", "Earlier work reclassified"
        CLIENT_EXCEPTION = "client_exception", "Client exception"
        SCOPE_CHECK_REJECTED = "scope_check_rejected", "Scope check rejected"
        CLIENT_DECLINED = "client_declined", "Client declined a change"

    kind = models.CharField(max_length=25, choices=Kind.choices)
    client = models.ForeignKey(Client, on_delete=models.PROTECT, related_name="+")
    ticket = models.ForeignKey(Ticket, on_delete=models.PROTECT, related_name="+")
    decision = models.ForeignKey(
        BillingDecision, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    scope_check = models.ForeignKey(
        ScopeCheck, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    actor = models.ForeignKey(
        Membership, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    summary = models.CharField(max_length=300)
    reason = models.TextField(blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at", "-pk"]
        verbose_name_plural = "decision log entries"
        indexes = [
            models.Index(
                fields=["organization", "client", "-created_at"], name="decision_log_org_client"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()}: {self.summary}"


class ExceptionFlag(TenantModel):
    """A detected problem. One flag per kind × subject × period."""

    class Kind(models.TextChoices):
        OVER_EXPECTED = "over_expected", "Ticket over its expected time"
        OVER_APPROVAL = "over_approval", "Over the approval threshold without approval"
        CONTRACT_80 = "contract_80", "Contract hours at 80 %"
        CONTRACT_100 = "contract_100", "Contract hours at 100 %"
        SLA_RESPONSE_AT_RISK = "sla_response_risk", "First response at risk"
        SLA_RESPONSE_BREACHED = "sla_response_breach", "First response breached"
        SLA_RESOLUTION_AT_RISK = "sla_resolution_risk", "Resolution at risk"
        SLA_RESOLUTION_BREACHED = "sla_resolution_breach", "Resolution breached"
        NO_DECISION = "no_decision", "Time logged without a decision"
        LATE_ENTRY = "late_entry", "Time entered long after the work"
        CATCH_ALL = "catch_all", "Work under a catch-all request type"
        OUTSIDE_CONTRACT = "outside_contract", "Work outside any contract"
        RECURRING_OVERDUE = "recurring_overdue", "Recurring task not done by its due date"

    class Status(models.TextChoices):
        OPEN = "open", "Open"
        RESOLVED = "resolved", "Resolved"

    kind = models.CharField(max_length=25, choices=Kind.choices)
    subject_key = models.CharField(max_length=60, help_text="e.g. ticket:12, contract:3, entry:40")
    period_key = models.CharField(max_length=20, default="-", help_text="e.g. 2026-11, or - ")
    ticket = models.ForeignKey(
        Ticket, on_delete=models.PROTECT, null=True, blank=True, related_name="flags"
    )
    contract = models.ForeignKey(
        Contract, on_delete=models.PROTECT, null=True, blank=True, related_name="flags"
    )
    client = models.ForeignKey(
        Client, on_delete=models.PROTECT, null=True, blank=True, related_name="flags"
    )
    detail = models.CharField(max_length=300, blank=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.OPEN)
    owner = models.ForeignKey(
        Membership, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    resolved_at = models.DateTimeField(null=True, blank=True)
    resolved_by = models.ForeignKey(
        Membership, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    resolution_note = models.TextField(blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "kind", "subject_key", "period_key"],
                name="exception_flag_once",
            ),
        ]
        indexes = [
            models.Index(fields=["organization", "status", "kind"], name="flag_org_status_kind"),
            models.Index(fields=["organization", "client", "status"], name="flag_org_client"),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} ({self.subject_key}, {self.period_key})"


class ReviewQueue(TenantModel):
    """The weekly ambiguity review of a practice, in its own week."""

    week_start = models.DateField()
    built_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-week_start"]
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "week_start"], name="review_queue_week"
            ),
        ]

    def __str__(self) -> str:
        return f"Review for the week of {self.week_start}"


class ReviewItem(TenantModel):
    class Kind(models.TextChoices):
        UNCLEAR_DECISION = "unclear_decision", "Unclear decision"
        STALE_SCOPE_CHECK = "stale_scope_check", "Scope check pending too long"
        OPEN_FLAG = "open_flag", "Open exception flags"
        UNDECIDED_TIME = "undecided_time", "Time without a decision"
        CATCH_ALL_USE = "catch_all_use", "Heavy use of catch-all request types"
        MISSING_BILLING_NOTES = "missing_billing_notes", "Client without billing notes"
        SENT_BACK = "sent_back", "Sent back by finance"
        STALE_BRIEF = "stale_brief", "Client brief not reviewed in 30 days"
        ORPHANED_ITEM = "orphaned_item", "Open item without an owner"

    class Status(models.TextChoices):
        OPEN = "open", "Open"
        RESOLVED = "resolved", "Resolved"

    queue = models.ForeignKey(ReviewQueue, on_delete=models.CASCADE, related_name="items")
    kind = models.CharField(max_length=25, choices=Kind.choices)
    subject_key = models.CharField(max_length=60)
    ticket = models.ForeignKey(
        Ticket, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    client = models.ForeignKey(
        Client, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    flag = models.ForeignKey(
        ExceptionFlag,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        help_text="For open flags: the latest flag the item counts.",
    )
    flag_kind = models.CharField(
        max_length=25,
        choices=ExceptionFlag.Kind.choices,
        blank=True,
        help_text="For open flags: the kind of flag. One item stands for the client's open"
        " flags of this kind, up to and including `flag`.",
    )
    scope_check = models.ForeignKey(
        ScopeCheck, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    reason = models.CharField(max_length=300)
    owner = models.ForeignKey(
        Membership, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.OPEN)
    resolved_at = models.DateTimeField(null=True, blank=True)
    resolved_by = models.ForeignKey(
        Membership, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    note = models.TextField(blank=True)

    class Meta:
        ordering = ["queue", "kind", "pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "queue", "kind", "subject_key"], name="review_item_once"
            ),
        ]
        indexes = [
            models.Index(fields=["organization", "queue", "status"], name="review_item_org_queue")
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()}: {self.reason}"


class DigestSent(TenantModel):
    """One digest per recipient, kind and period: a job that re-runs never
    sends it twice."""

    class Kind(models.TextChoices):
        ACCOUNT_MANAGER = "account_manager", "Account manager digest"
        FINANCE = "finance", "Finance digest"

    membership = models.ForeignKey(Membership, on_delete=models.CASCADE, related_name="+")
    kind = models.CharField(max_length=20, choices=Kind.choices)
    period_key = models.CharField(max_length=20)
    sent_at = models.DateTimeField(default=timezone.now)
    summary = models.CharField(max_length=300, blank=True)

    class Meta:
        ordering = ["-sent_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "membership", "kind", "period_key"], name="digest_once"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.period_key} to {self.membership}"


# --- finance: periods, drafts, lines ------------------------------------------------
class BillingPeriod(TenantModel):
    """One client's month of invoicing: open → in review → locked → exported.
    Quarterly and annual contracts bill their fee in the month their period
    starts; their allowance spans the contract period."""

    class Status(models.TextChoices):
        OPEN = "open", "Open"
        IN_REVIEW = "in_review", "In review"
        LOCKED = "locked", "Locked"
        EXPORTED = "exported", "Exported"

    CLOSED_STATUSES = (Status.LOCKED, Status.EXPORTED)

    client = models.ForeignKey(Client, on_delete=models.PROTECT, related_name="billing_periods")
    month = models.DateField(help_text="The first day of the month.")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.OPEN)
    review_started_at = models.DateTimeField(null=True, blank=True)
    review_started_by = models.ForeignKey(
        Membership, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    locked_at = models.DateTimeField(null=True, blank=True)
    locked_by = models.ForeignKey(
        Membership, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    exported_at = models.DateTimeField(null=True, blank=True)
    exported_by = models.ForeignKey(
        Membership, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    version = models.PositiveIntegerField(default=1)

    class Meta:
        ordering = ["-month", "client__name"]
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "client", "month"], name="billing_period_unique_month"
            ),
            models.CheckConstraint(condition=Q(month__day=1), name="billing_period_first_of_month"),
        ]
        indexes = [
            models.Index(fields=["organization", "month", "status"], name="period_org_month"),
        ]

    def __str__(self) -> str:
        return f"{self.client} {self.month:%Y-%m} ({self.get_status_display()})"

    @property
    def is_closed(self) -> bool:
        return self.status in self.CLOSED_STATUSES


class PeriodEvent(TenantModel):
    """Who moved a period and when (append-only: the database refuses edits)."""

    class Action(models.TextChoices):
        REVIEW_STARTED = "review_started", "Review started"
        LOCKED = "locked", "Locked"
        UNLOCKED = "unlocked", "Unlocked"
        EXPORTED = "exported", "Exported"
        DRAFT_COMPUTED = "draft_computed", "Draft computed"

    period = models.ForeignKey(BillingPeriod, on_delete=models.PROTECT, related_name="events")
    action = models.CharField(max_length=20, choices=Action.choices)
    actor = models.ForeignKey(
        Membership, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    at = models.DateTimeField(default=timezone.now)
    note = models.TextField(blank=True)

    class Meta:
        ordering = ["period", "at", "pk"]
        triggers = [
            pgtrigger.Protect(
                name="period_event_append_only",
                operation=pgtrigger.Update | pgtrigger.Delete,
            )
        ]

    def __str__(self) -> str:
        return f"{self.get_action_display()} {self.period} at {self.at:%Y-%m-%d %H:%M}"


class InvoiceDraft(TenantModel):
    """A period's charges in one currency, computed by ``billing.pricing``.
    Recomputed while the period is open or in review; frozen once locked."""

    period = models.ForeignKey(BillingPeriod, on_delete=models.PROTECT, related_name="drafts")
    currency = models.CharField(max_length=3)
    total = models.DecimalField(max_digits=14, decimal_places=2, default=0)
    cost = models.DecimalField(
        max_digits=14,
        decimal_places=2,
        default=0,
        help_text="The period's logged time at the members' cost rates (organization currency).",
    )
    computed_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["period", "currency"]
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "period", "currency"], name="invoice_draft_currency"
            )
        ]

    def __str__(self) -> str:
        return f"Draft {self.period} {self.currency} {self.total}"


class InvoiceLine(TenantModel):
    """One line of a draft and what produced it. ``sources`` lists the ids
    behind it: ``portions`` (entry portions), ``entries``, ``decisions``,
    ``scope_checks``, ``revisions`` (contract terms), ``rules`` (scope rule
    revisions), ``unit_counts``, ``tiers``, ``top_ups``, ``adjustments``; and
    ``portion_minutes``, ``{"<portion id>": minutes}``, for each portion only
    part of which is on this line (a portion that crosses a retainer's
    allowance or a block's balance: its included minutes on one line, the
    rest on an overage line). A portion not named there is on the line whole."""

    class Kind(models.TextChoices):
        FEE = "fee", "Fee"
        INCLUDED = "included", "Included work"
        OVERAGE = "overage", "Overage"
        TIME = "time", "Billable time"
        BLOCK_TOP_UP = "block_top_up", "Block top-up"
        BLOCK_DRAWDOWN = "block_drawdown", "Drawn from the block"
        UNITS = "units", "Units"
        CHANGE = "change", "Approved change"
        WRITE_OFF = "write_off", "Written off"
        ADJUSTMENT = "adjustment", "Adjustment"

    class Unit(models.TextChoices):
        HOURS = "hours", "hours"
        UNITS = "units", "units"
        EACH = "each", "each"

    draft = models.ForeignKey(InvoiceDraft, on_delete=models.CASCADE, related_name="lines")
    period = models.ForeignKey(BillingPeriod, on_delete=models.PROTECT, related_name="+")
    position = models.PositiveIntegerField()
    kind = models.CharField(max_length=15, choices=Kind.choices)
    description = models.CharField(max_length=300)
    contract = models.ForeignKey(
        Contract, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    ticket = models.ForeignKey(
        Ticket, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    scope_check = models.ForeignKey(
        "ScopeCheck", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    minutes = models.PositiveIntegerField(default=0, help_text="Time logged behind the line.")
    billed_minutes = models.PositiveIntegerField(
        default=0, help_text="Time charged after rounding and minimum charges."
    )
    quantity = models.DecimalField(max_digits=14, decimal_places=4, default=0)
    unit = models.CharField(max_length=5, choices=Unit.choices, default=Unit.EACH)
    unit_price = models.DecimalField(max_digits=14, decimal_places=4, default=0)
    amount = models.DecimalField(max_digits=14, decimal_places=2, default=0)
    currency = models.CharField(max_length=3)
    computation = models.CharField(max_length=300, blank=True, help_text="How the amount came.")
    sources = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["draft", "position"]
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "draft", "position"], name="invoice_line_position"
            )
        ]
        indexes = [models.Index(fields=["organization", "period"], name="invoice_line_org_period")]

    def __str__(self) -> str:
        return f"{self.description}: {self.amount} {self.currency}"


class Adjustment(TenantModel):
    """A correction after a lock: a line of its own, with a reason, in the
    client's next open period. The locked original stays as it was."""

    client = models.ForeignKey(Client, on_delete=models.PROTECT, related_name="+")
    period = models.ForeignKey(
        BillingPeriod,
        on_delete=models.PROTECT,
        related_name="adjustments",
        help_text="The open period the adjustment is billed in.",
    )
    corrects = models.ForeignKey(
        BillingPeriod,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        help_text="The locked period it corrects.",
    )
    contract = models.ForeignKey(
        Contract, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    currency = models.CharField(max_length=3)
    description = models.CharField(max_length=200)
    amount = models.DecimalField(max_digits=12, decimal_places=2)
    reason = models.TextField()
    created_by = models.ForeignKey(Membership, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["period", "created_at", "pk"]

    def __str__(self) -> str:
        return f"Adjustment {self.amount} {self.currency} to {self.period}"


class DraftRun(TenantModel):
    """A Celery job computing every client's draft for a month: its progress."""

    class Status(models.TextChoices):
        QUEUED = "queued", "Queued"
        RUNNING = "running", "Running"
        DONE = "done", "Done"
        FAILED = "failed", "Failed"

    month = models.DateField()
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.QUEUED)
    total = models.PositiveIntegerField(default=0)
    done = models.PositiveIntegerField(default=0)
    started_by = models.ForeignKey(
        Membership, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    finished_at = models.DateTimeField(null=True, blank=True)
    error = models.CharField(max_length=300, blank=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [
            models.Index(fields=["organization", "month", "-created_at"], name="run_org_month")
        ]

    def __str__(self) -> str:
        return f"Drafts for {self.month:%Y-%m}: {self.done}/{self.total} ({self.status})"

    @property
    def percent(self) -> int:
        if self.status == self.Status.DONE:
            return 100
        return 0 if not self.total else min(100, self.done * 100 // self.total)


class ClientViewLink(TenantModel):
    """A signed, expiring link for one client contact to read the client's
    figures without an account: allowance, work covered, billable and
    waiting, open scope checks, SLA results. Revoking it ends it for good
    (the nonce in the token must match a link that is neither revoked nor
    expired)."""

    client = models.ForeignKey(Client, on_delete=models.PROTECT, related_name="+")
    contact_name = models.CharField(max_length=200)
    contact_email = models.EmailField()
    nonce = models.CharField(max_length=32)
    expires_at = models.DateTimeField()
    revoked_at = models.DateTimeField(null=True, blank=True)
    revoked_by = models.ForeignKey(
        Membership, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    created_by = models.ForeignKey(Membership, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)
    last_viewed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        indexes = [
            models.Index(
                fields=["organization", "client", "-created_at"], name="client_view_org_client"
            )
        ]

    def __str__(self) -> str:
        return f"Client view for {self.contact_name} ({self.client_id})"

    def is_active(self, now=None) -> bool:
        now = now or timezone.now()
        return self.revoked_at is None and self.expires_at > now


class ClientViewEvent(TenantModel):
    """One view of a client view link (append-only: the database refuses edits)."""

    link = models.ForeignKey(ClientViewLink, on_delete=models.PROTECT, related_name="events")
    viewed_at = models.DateTimeField(default=timezone.now)
    ip = models.GenericIPAddressField(null=True, blank=True)
    user_agent = models.CharField(max_length=300, blank=True)

    class Meta:
        ordering = ["-viewed_at", "-pk"]
        indexes = [
            models.Index(
                fields=["organization", "link", "-viewed_at"], name="client_view_event_link"
            )
        ]
        triggers = [
            pgtrigger.Protect(
                name="client_view_event_append_only",
                operation=pgtrigger.Update | pgtrigger.Delete,
            )
        ]

    def __str__(self) -> str:
        return f"View of {self.link_id} at {self.viewed_at:%Y-%m-%d %H:%M}"
