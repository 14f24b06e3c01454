"""transitions/ — what the next person needs when an account changes hands
(see ../shared/DESIGN.md): recurring work with its named owner and known
exceptions, the occurrences the beat job opened tickets for, and risks.

A recurring task names a request type, not a billing treatment: its tickets
are judged by the scope rule in force for that request type on the day they
open, like any other ticket.
"""

from django.db import models

from clients.models import Client, RequestType
from msops.tenancy.models import Membership, TenantModel
from tickets.models import Ticket


class RecurringTask(TenantModel):
    """Work that comes back on a cadence: the beat job opens a ticket for each
    due occurrence, assigned to the task's owner."""

    class Cadence(models.TextChoices):
        WEEKLY = "weekly", "Weekly"
        MONTHLY = "monthly", "Monthly"
        QUARTERLY = "quarterly", "Quarterly"

    client = models.ForeignKey(Client, on_delete=models.PROTECT, related_name="recurring_tasks")
    title = models.CharField(max_length=200)
    cadence = models.CharField(max_length=10, choices=Cadence.choices)
    owner = models.ForeignKey(
        Membership,
        on_delete=models.PROTECT,
        related_name="+",
        help_text="The named owner: the tickets of its occurrences are assigned to them.",
    )
    request_type = models.ForeignKey(
        RequestType,
        on_delete=models.PROTECT,
        related_name="+",
        help_text="Its tickets are judged by the scope rule in force for this request type.",
    )
    next_due = models.DateField(help_text="The next occurrence's due date.")
    known_exceptions = models.TextField(
        blank=True, help_text="What is different about this task, in plain words."
    )
    active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["client__name", "title", "pk"]
        indexes = [
            models.Index(
                fields=["organization", "active", "next_due"], name="recurring_task_org_due"
            ),
            models.Index(fields=["organization", "client"], name="recurring_task_org_client"),
        ]

    def __str__(self) -> str:
        return f"{self.client} — {self.title} ({self.get_cadence_display().lower()})"


class RecurringOccurrence(TenantModel):
    """One due date of a recurring task, and the ticket opened for it. The
    unique key makes the beat job open each occurrence once, however often
    or late it runs."""

    recurring_task = models.ForeignKey(
        RecurringTask, on_delete=models.PROTECT, related_name="occurrences"
    )
    due_on = models.DateField()
    ticket = models.ForeignKey(
        Ticket, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-due_on", "-pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "recurring_task", "due_on"],
                name="recurring_occurrence_once",
            )
        ]

    def __str__(self) -> str:
        return f"{self.recurring_task.title} due {self.due_on:%Y-%m-%d}"


class Risk(TenantModel):
    """Something that could go wrong for a client, with a named owner and the
    next thing to do about it."""

    class Severity(models.TextChoices):
        LOW = "low", "Low"
        MEDIUM = "medium", "Medium"
        HIGH = "high", "High"

    class Status(models.TextChoices):
        OPEN = "open", "Open"
        MITIGATED = "mitigated", "Mitigated"
        CLOSED = "closed", "Closed"

    client = models.ForeignKey(Client, on_delete=models.PROTECT, related_name="risks")
    description = models.TextField()
    severity = models.CharField(max_length=10, choices=Severity.choices, default=Severity.MEDIUM)
    owner = models.ForeignKey(Membership, on_delete=models.PROTECT, related_name="+")
    next_action = models.TextField(blank=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.OPEN)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["client__name", "-created_at", "-pk"]
        indexes = [
            models.Index(fields=["organization", "client", "status"], name="risk_org_client"),
            models.Index(fields=["organization", "owner", "status"], name="risk_org_owner"),
        ]

    def __str__(self) -> str:
        return f"{self.client} — {self.description[:60]}"


class ClientBrief(TenantModel):
    """One page per client for the next person: a short human-written summary
    of the current state (environment, preferences, escalation rules), with
    who last reviewed it and when. Writing it is reviewing it; a brief never
    reviewed, or reviewed more than ``STALE_AFTER_DAYS`` ago, is stale."""

    STALE_AFTER_DAYS = 30

    client = models.OneToOneField(Client, on_delete=models.PROTECT, related_name="brief")
    summary = models.TextField(
        help_text="Current state, environment, preferences and escalation rules, in words."
    )
    reviewed_by = models.ForeignKey(
        Membership, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    reviewed_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["client__name", "pk"]
        indexes = [
            models.Index(fields=["organization", "reviewed_at"], name="client_brief_org_reviewed"),
        ]

    def __str__(self) -> str:
        return f"Brief of {self.client}"


class ItemKind(models.TextChoices):
    """The kinds of open item with a named owner (transitions/ownership.py)."""

    CLIENT = "client", "Client account"
    TICKET = "ticket", "Ticket"
    RECURRING_TASK = "recurring_task", "Recurring task"
    SCOPE_CHECK = "scope_check", "Scope check"
    RISK = "risk", "Risk"
    FLAG = "flag", "Exception flag"
    REVIEW_ITEM = "review_item", "Review item"


class Handoff(TenantModel):
    """Handing what one person owns — for one client, several, or all of
    them — to named colleagues. Every open item becomes a line that needs a
    new owner and the receiver's acknowledgement; completing reassigns each
    through its own service, and only when nothing is left without an owner."""

    class Status(models.TextChoices):
        OPEN = "open", "In progress"
        COMPLETED = "completed", "Completed"
        CANCELLED = "cancelled", "Cancelled"

    person = models.ForeignKey(
        Membership,
        on_delete=models.PROTECT,
        related_name="+",
        help_text="Whose items are handed over (someone leaving an account, or the practice).",
    )
    all_clients = models.BooleanField(
        default=False, help_text="Every client, including items of no client."
    )
    note = models.TextField(blank=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.OPEN)
    started_by = models.ForeignKey(Membership, on_delete=models.PROTECT, related_name="+")
    started_at = models.DateTimeField(auto_now_add=True)
    completed_by = models.ForeignKey(
        Membership, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    completed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-started_at", "-pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "person"],
                condition=models.Q(status="open"),
                name="handoff_one_open_per_person",
            )
        ]
        indexes = [
            models.Index(fields=["organization", "status"], name="handoff_org_status"),
        ]

    def __str__(self) -> str:
        return f"Handoff of {self.person} ({self.get_status_display().lower()})"

    @property
    def covered_clients(self) -> list:
        """The chosen clients (prefetch ``client_links__client`` to read them in one query)."""
        return [link.client for link in self.client_links.all()]


class HandoffClient(TenantModel):
    """A client a handoff covers (none, with ``all_clients``: every client)."""

    handoff = models.ForeignKey(Handoff, on_delete=models.CASCADE, related_name="client_links")
    client = models.ForeignKey(Client, on_delete=models.PROTECT, related_name="+")

    class Meta:
        ordering = ["client__name", "pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "handoff", "client"], name="handoff_client_once"
            )
        ]

    def __str__(self) -> str:
        return f"{self.client} in {self.handoff}"


class HandoffItem(TenantModel):
    """One open item of the handoff's person: the line of the checklist."""

    class Status(models.TextChoices):
        PENDING = "pending", "To hand over"
        TRANSFERRED = "transferred", "Handed over"
        SETTLED = "settled", "Settled before the handoff"

    handoff = models.ForeignKey(Handoff, on_delete=models.CASCADE, related_name="items")
    kind = models.CharField(max_length=20, choices=ItemKind.choices)
    object_id = models.PositiveBigIntegerField()
    client = models.ForeignKey(
        Client, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    label = models.CharField(max_length=300, help_text="What the item was when listed.")
    new_owner = models.ForeignKey(
        Membership, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    assigned_by = models.ForeignKey(
        Membership, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    assigned_at = models.DateTimeField(null=True, blank=True)
    acknowledged_at = models.DateTimeField(
        null=True, blank=True, help_text="When the new owner took it (cleared when it moves)."
    )
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.PENDING)
    transferred_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["handoff", "pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "handoff", "kind", "object_id"], name="handoff_item_once"
            )
        ]
        indexes = [
            models.Index(fields=["organization", "new_owner", "status"], name="handoff_item_owner"),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()}: {self.label}"


class ReviewPack(TenantModel):
    """The figures of a client's contract for one review on the contract's
    cadence (transitions/review_pack.py), frozen when the pack is prepared so
    the page, the API and the PDF show the same numbers the meeting saw.
    Preparing it again replaces it (one pack per contract and period).

    The PDF is kept in the database, not in media storage: the app runs on
    ephemeral containers with no shared disk (12-factor), a pack's PDF is
    small (tens of kilobytes) and is read rarely, and the row and its PDF
    are then written, backed up and isolated (row-level security) together."""

    client = models.ForeignKey(Client, on_delete=models.PROTECT, related_name="review_packs")
    contract = models.ForeignKey(
        "clients.Contract", on_delete=models.PROTECT, related_name="review_packs"
    )
    period_start = models.DateField()
    period_end = models.DateField(help_text="The day after the period.")
    review_on = models.DateField(help_text="The review date the pack is for.")
    data = models.JSONField(
        default=dict, help_text="The frozen figures (dates as ISO strings, decimals as strings)."
    )
    pdf = models.BinaryField(null=True, blank=True, editable=False)
    generated_at = models.DateTimeField()
    generated_by = models.ForeignKey(
        Membership,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        help_text="Who prepared it (empty: the daily job).",
    )

    class Meta:
        ordering = ["-review_on", "client__name", "-pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "contract", "period_start", "period_end"],
                name="review_pack_once_per_period",
            ),
            models.CheckConstraint(
                condition=models.Q(period_end__gt=models.F("period_start")),
                name="review_pack_period_not_empty",
            ),
        ]
        indexes = [
            models.Index(
                fields=["organization", "client", "review_on"], name="review_pack_org_client"
            ),
        ]

    def __str__(self) -> str:
        return f"Review pack of {self.client} for {self.review_on:%Y-%m-%d}"

    @property
    def last_day(self):
        """The period's last day."""
        from datetime import timedelta

        return self.period_end - timedelta(days=1)
