"""tickets/ — the work: tickets, time entries and billing moments."""

from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils import timezone

from clients.models import MONEY, Client, Contract, Priority, RequestType, SLACalendar
from msops.limits import (
    DATE_REASON_MAX,
    DESCRIPTION_MAX,
    RESOLUTION_NOTE_MAX,
    TIME_ENTRY_NOTES_MAX,
    TITLE_MAX,
    LengthLimit,
)
from msops.tenancy.models import Membership, TenantModel


class Classification(models.TextChoices):
    """What a billing decision says the work is."""

    INCLUDED = "included", "Included"
    BILLABLE = "billable", "Billable"
    NEEDS_APPROVAL = "needs_approval", "Needs approval"
    UNCLEAR = "unclear", "Unclear"


class Ticket(TenantModel):
    class Status(models.TextChoices):
        NEW = "new", "New"
        IN_PROGRESS = "in_progress", "In progress"
        WAITING = "waiting", "Waiting on client"
        RESOLVED = "resolved", "Resolved"
        CLOSED = "closed", "Closed"

    OPEN_STATUSES = (Status.NEW, Status.IN_PROGRESS, Status.WAITING)

    class Phase(models.TextChoices):
        INVESTIGATION = "investigation", "Investigation"
        IMPLEMENTATION = "implementation", "Implementation"

    class Source(models.TextChoices):
        PORTAL = "portal", "Portal"
        EMAIL = "email", "Email"
        PHONE = "phone", "Phone"
        CHAT = "chat", "Chat"
        DIRECT_MESSAGE = "direct_message", "Direct message"
        INTERNAL = "internal", "Internal"

    number = models.PositiveIntegerField(editable=False)
    title = models.CharField(max_length=TITLE_MAX)
    description = models.TextField(
        blank=True, validators=[LengthLimit(DESCRIPTION_MAX, "Descriptions")]
    )
    client = models.ForeignKey(Client, on_delete=models.PROTECT, related_name="tickets")
    contract = models.ForeignKey(
        Contract, on_delete=models.PROTECT, null=True, blank=True, related_name="tickets"
    )
    request_type = models.ForeignKey(RequestType, on_delete=models.PROTECT, related_name="tickets")
    priority = models.CharField(max_length=10, choices=Priority.choices, default=Priority.NORMAL)
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.NEW)
    phase = models.CharField(max_length=15, choices=Phase.choices, default=Phase.INVESTIGATION)
    source = models.CharField(max_length=15, choices=Source.choices, default=Source.PORTAL)
    assignee = models.ForeignKey(
        Membership, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    opened_by = models.ForeignKey(
        Membership, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    opened_at = models.DateTimeField(default=timezone.now)
    first_response_due = models.DateTimeField(null=True, blank=True)
    resolution_due = models.DateTimeField(null=True, blank=True)
    first_responded_at = models.DateTimeField(null=True, blank=True)
    resolved_at = models.DateTimeField(null=True, blank=True)
    sla_calendar = models.ForeignKey(
        SLACalendar,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        help_text="The business hours the ticket's SLA runs in (the contract's calendar "
        "version when it was opened); empty: round the clock.",
    )
    first_response_risk_at = models.DateTimeField(
        null=True, blank=True, help_text="When the first response target turns at risk."
    )
    resolution_risk_at = models.DateTimeField(
        null=True, blank=True, help_text="When the resolution target turns at risk."
    )
    response_minutes = models.PositiveIntegerField(
        null=True,
        blank=True,
        help_text="SLA clock minutes (business hours, pauses excluded) to the first response.",
    )
    resolution_minutes = models.PositiveIntegerField(
        null=True,
        blank=True,
        help_text="SLA clock minutes (business hours, pauses excluded) to the latest resolution.",
    )
    resolution_note = models.TextField(
        blank=True,
        validators=[LengthLimit(RESOLUTION_NOTE_MAX, "Resolution notes")],
        help_text="What was done, for the next person: written when resolving.",
    )
    reopen_count = models.PositiveIntegerField(
        default=0, help_text="How often the ticket went from resolved or closed back to open."
    )
    last_reopened_at = models.DateTimeField(null=True, blank=True)
    classification = models.CharField(
        max_length=15,
        choices=Classification.choices,
        blank=True,
        help_text="The latest billing decision's classification (empty: not decided yet).",
    )
    logged_minutes = models.PositiveIntegerField(
        default=0, help_text="Sum of the ticket's time entries, kept by the time-entry service."
    )
    version = models.PositiveIntegerField(default=1, help_text="Optimistic lock.")
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-opened_at"]
        constraints = [
            models.UniqueConstraint(fields=["organization", "number"], name="ticket_unique_number"),
        ]
        indexes = [
            models.Index(fields=["organization", "status", "-opened_at"], name="ticket_org_status"),
            models.Index(fields=["organization", "client", "-opened_at"], name="ticket_org_client"),
            models.Index(fields=["organization", "assignee", "status"], name="ticket_org_assignee"),
            models.Index(
                fields=["organization", "client", "request_type", "opened_at"],
                name="ticket_org_client_type",
            ),
            models.Index(fields=["organization", "-opened_at"], name="ticket_org_opened"),
        ]

    def __str__(self) -> str:
        return f"#{self.number} {self.title}"

    @property
    def is_open(self) -> bool:
        return self.status in self.OPEN_STATUSES


class TimeEntry(TenantModel):
    class BillingStatus(models.TextChoices):
        UNDECIDED = "undecided", "No decision yet"
        INCLUDED = "included", "Included"
        BILLABLE = "billable", "Billable"
        PENDING_APPROVAL = "pending_approval", "Waiting for approval"
        UNCLEAR = "unclear", "Unclear"
        NON_BILLABLE = "non_billable", "Written off"
        SPLIT = "split", "Split: more than one meaning (see its portions)"

    ticket = models.ForeignKey(Ticket, on_delete=models.PROTECT, related_name="time_entries")
    person = models.ForeignKey(Membership, on_delete=models.PROTECT, related_name="+")
    work_date = models.DateField()
    minutes = models.PositiveIntegerField(
        validators=[MinValueValidator(1), MaxValueValidator(1440)]
    )
    notes = models.TextField(blank=True, validators=[LengthLimit(TIME_ENTRY_NOTES_MAX, "Notes")])
    # A default in the database too: rows written by raw SQL (seed_scale) get "".
    date_reason = models.CharField(
        max_length=DATE_REASON_MAX,
        blank=True,
        default="",
        db_default="",
        help_text="Why the work date is before the ticket was opened or on a day no contract"
        " covers (logged after the fact, outside the contract).",
    )
    entered_at = models.DateTimeField(default=timezone.now)
    billing_status = models.CharField(
        max_length=20, choices=BillingStatus.choices, default=BillingStatus.UNDECIDED
    )
    rate = models.DecimalField(**MONEY, null=True, blank=True, help_text="Billing rate snapshot.")
    cost_rate = models.DecimalField(**MONEY, null=True, blank=True, help_text="Cost rate snapshot.")
    locked = models.BooleanField(default=False)

    class Meta:
        ordering = ["-work_date", "-entered_at"]
        verbose_name_plural = "time entries"
        constraints = [
            models.CheckConstraint(
                condition=Q(minutes__gte=1) & Q(minutes__lte=1440), name="time_entry_minutes_1_1440"
            ),
        ]
        indexes = [
            models.Index(
                fields=["organization", "ticket", "work_date"], name="time_entry_org_ticket"
            ),
            models.Index(fields=["organization", "work_date"], name="time_entry_org_date"),
            models.Index(
                fields=["organization", "person", "work_date"], name="time_entry_org_person"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.minutes} min on {self.work_date} ({self.ticket})"


class IdempotencyKey(TenantModel):
    """An ``Idempotency-Key`` that logged time: one per person (a membership)
    and key, kept whatever becomes of the entry (a retry after the entry was
    removed is refused, not logged again)."""

    person = models.ForeignKey(Membership, on_delete=models.CASCADE, related_name="+")
    key = models.CharField(max_length=100)
    fingerprint = models.CharField(
        max_length=64,
        blank=True,
        help_text="sha256 of what the keyed request asked to log (empty for keys kept before).",
    )
    time_entry = models.ForeignKey(
        TimeEntry, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "person", "key"], name="idempotency_key_once"
            )
        ]

    def __str__(self) -> str:
        return self.key


class BillingMoment(TenantModel):
    """An event that creates billing meaning and prompts a decision."""

    class Kind(models.TextChoices):
        TICKET_OPENED = "ticket_opened", "Ticket opened under a request type"
        OUT_OF_SCOPE = "out_of_scope", "Flagged as outside normal support"
        CHANGE_REQUEST = "change_request", "Client asked for a change, not a fix"
        PHASE_CHANGE = "phase_change", "Moved from investigation to implementation"
        RECURRING_ISSUE = "recurring_issue", "Recurring issue becoming remediation"
        EXPECTED_TIME_PASSED = "expected_time_passed", "Logged time passed the expected time"
        APPROVAL_THRESHOLD_PASSED = (
            "approval_threshold",
            "Logged time passed the approval threshold",
        )
        ESTIMATE_PASSED = "estimate_passed", "Logged time passed the approved estimate"
        REQUEST_TYPE_CHANGED = "request_type_changed", "Request type corrected"

    class Status(models.TextChoices):
        OPEN = "open", "Open"
        DECIDED = "decided", "Decided"

    ticket = models.ForeignKey(Ticket, on_delete=models.PROTECT, related_name="billing_moments")
    kind = models.CharField(max_length=25, choices=Kind.choices)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.OPEN)
    detail = models.CharField(max_length=300, blank=True)
    threshold_minutes = models.PositiveIntegerField(
        null=True,
        blank=True,
        help_text="Threshold moments: the logged minutes passed (the ticket asks again at each"
        " next level).",
    )
    raised_by = models.ForeignKey(
        Membership, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    decided_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "ticket", "kind"],
                condition=Q(status="open"),
                name="billing_moment_one_open_per_kind",
            ),
        ]
        indexes = [
            models.Index(
                fields=["organization", "status", "-created_at"], name="moment_org_status"
            ),
            models.Index(fields=["organization", "ticket"], name="moment_org_ticket"),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} on {self.ticket}"


class Timer(TenantModel):
    """A person's running timer on a ticket, kept on the server so it survives
    a reload or a closed tab. One row per person (a membership): one running
    timer. Stopping it logs the time and removes the row
    (``billing.services.timers``)."""

    person = models.ForeignKey(Membership, on_delete=models.CASCADE, related_name="+")
    ticket = models.ForeignKey(Ticket, on_delete=models.CASCADE, related_name="+")
    started_at = models.DateTimeField(default=timezone.now)
    note = models.CharField(max_length=300, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["organization", "person"], name="timer_one_per_person"),
        ]

    def __str__(self) -> str:
        return f"Timer on {self.ticket} since {self.started_at:%Y-%m-%d %H:%M}"

    @property
    def elapsed_seconds(self) -> int:
        """Whole seconds since it started (0 for a start in the future)."""
        return max(0, int((timezone.now() - self.started_at).total_seconds()))

    @property
    def elapsed_minutes(self) -> int:
        """Whole minutes run so far, as a clock shows them (rounded down)."""
        return self.elapsed_seconds // 60


class TicketPause(TenantModel):
    """A stretch in which the ticket's SLA clock stood still because the
    ticket waited on the client. One open pause (``ended_at`` empty) per
    ticket; ``business_minutes`` is the SLA-clock time it held, set when it ends."""

    ticket = models.ForeignKey(Ticket, on_delete=models.CASCADE, related_name="pauses")
    started_at = models.DateTimeField(default=timezone.now)
    ended_at = models.DateTimeField(null=True, blank=True)
    reason = models.CharField(max_length=200, default="Waiting on client")
    business_minutes = models.PositiveIntegerField(null=True, blank=True)
    started_by = models.ForeignKey(
        Membership, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    ended_by = models.ForeignKey(
        Membership, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    class Meta:
        ordering = ["ticket", "started_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "ticket"],
                condition=Q(ended_at__isnull=True),
                name="ticket_pause_one_open",
            ),
            models.CheckConstraint(
                condition=Q(ended_at__isnull=True) | Q(ended_at__gte=models.F("started_at")),
                name="ticket_pause_ends_after_start",
            ),
        ]
        indexes = [
            models.Index(fields=["organization", "ticket", "started_at"], name="pause_org_ticket")
        ]

    def __str__(self) -> str:
        return f"{self.ticket} paused from {self.started_at:%Y-%m-%d %H:%M}"
