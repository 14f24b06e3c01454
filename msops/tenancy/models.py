"""Tenancy core: organizations (tenants), memberships with roles, API tokens.

Every tenant-owned model inherits :class:`TenantModel`: a direct
``organization`` foreign key and a django-scopes manager, so a query made
outside an organization's scope raises instead of returning every tenant's rows.
"""

import zoneinfo
from decimal import Decimal

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MinValueValidator
from django.db import models
from django.utils import timezone
from django_scopes import ScopedManager


def validate_timezone(value: str) -> None:
    if value not in zoneinfo.available_timezones():
        raise ValidationError(f"“{value}” is not a known time zone.")


class Organization(models.Model):
    """A managed-services practice: the tenant."""

    class WeekStart(models.IntegerChoices):
        MONDAY = 0, "Monday"
        SUNDAY = 6, "Sunday"
        SATURDAY = 5, "Saturday"

    name = models.CharField(max_length=200)
    slug = models.SlugField(max_length=60, unique=True)
    timezone = models.CharField(max_length=64, default="UTC", validators=[validate_timezone])
    currency = models.CharField(max_length=3, default="USD")
    week_start = models.PositiveSmallIntegerField(
        choices=WeekStart.choices, default=WeekStart.MONDAY
    )
    # Default thresholds; contracts and rules may override them later.
    contract_warning_percent = models.PositiveSmallIntegerField(default=80)
    late_entry_days = models.PositiveSmallIntegerField(
        default=3, help_text="Time entered more than this many days after the work is flagged."
    )
    recurring_ticket_count = models.PositiveSmallIntegerField(
        default=3,
        help_text="The Nth ticket of one request type for a client within 30 days is a billing moment.",
    )
    scope_check_stale_hours = models.PositiveSmallIntegerField(default=48)
    default_hourly_rate = models.DecimalField(
        max_digits=12,
        decimal_places=2,
        default=Decimal("150.00"),
        validators=[MinValueValidator(Decimal("0"))],
        help_text="Time-and-materials rate for work on a date no contract covers.",
    )
    finance_digest_days = models.PositiveSmallIntegerField(
        default=3,
        help_text="Finance hears what still blocks the month's invoices this many days before"
        " the month ends.",
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    @property
    def tzinfo(self) -> zoneinfo.ZoneInfo:
        return zoneinfo.ZoneInfo(self.timezone)


class TenantModel(models.Model):
    """Base of every tenant-owned model."""

    organization = models.ForeignKey(Organization, on_delete=models.PROTECT, related_name="+")

    objects = ScopedManager(organization="organization")

    class Meta:
        abstract = True


class Role(models.TextChoices):
    DEVELOPER = "developer", "Developer"
    ACCOUNT_MANAGER = "account_manager", "Account manager"
    FINANCE = "finance", "Finance"
    ADMIN = "admin", "Admin"


class Membership(TenantModel):
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships"
    )
    organization = models.ForeignKey(
        Organization, on_delete=models.PROTECT, related_name="memberships"
    )
    role = models.CharField(max_length=20, choices=Role.choices, default=Role.DEVELOPER)
    cost_rate = models.DecimalField(
        max_digits=12,
        decimal_places=2,
        null=True,
        blank=True,
        help_text="Internal cost per hour, snapshotted onto time entries.",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    deactivated_at = models.DateTimeField(
        null=True,
        blank=True,
        help_text="Set: the person may no longer use the organization (their pages are 404,"
        " their API tokens revoked). Changed only by msops.tenancy.team.",
    )

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["organization", "user"], name="membership_unique_pair")
        ]
        ordering = ["organization", "user__username"]

    def __str__(self) -> str:
        return f"{self.user} in {self.organization} ({self.get_role_display()})"


class Invitation(TenantModel):
    """An email invited to join the organization with a role. Its link is
    signed and carries a nonce: resending replaces the nonce (older links stop
    working), accepting uses it up. Written only by msops.tenancy.team."""

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        EXPIRED = "expired", "Expired"
        ACCEPTED = "accepted", "Accepted"
        REVOKED = "revoked", "Revoked"

    email = models.EmailField()
    name = models.CharField(max_length=150, blank=True, help_text="Optional: how to greet them.")
    role = models.CharField(max_length=20, choices=Role.choices, default=Role.DEVELOPER)
    invited_by = models.ForeignKey(
        Membership, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    nonce = models.CharField(max_length=32, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    sent_at = models.DateTimeField(default=timezone.now, help_text="Last sent (or resent).")
    expires_at = models.DateTimeField()
    accepted_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    accepted_membership = models.ForeignKey(
        Membership, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    class Meta:
        ordering = ["-created_at", "-pk"]
        indexes = [models.Index(fields=["organization", "email"], name="invitation_org_email")]

    def __str__(self) -> str:
        return f"{self.email} as {self.get_role_display()} ({self.status})"

    @property
    def status(self) -> str:
        """One rule, with :meth:`status_filter` beside it for querysets."""
        if self.accepted_at is not None:
            return self.Status.ACCEPTED
        if self.revoked_at is not None:
            return self.Status.REVOKED
        if self.expires_at <= timezone.now():
            return self.Status.EXPIRED
        return self.Status.PENDING

    def get_status_display(self) -> str:
        return self.Status(self.status).label

    @classmethod
    def status_filter(cls, status: str) -> models.Q:
        """The rows whose :attr:`status` is ``status``, as a filter."""
        now = timezone.now()
        open_ = models.Q(accepted_at__isnull=True, revoked_at__isnull=True)
        return {
            cls.Status.ACCEPTED: models.Q(accepted_at__isnull=False),
            cls.Status.REVOKED: models.Q(accepted_at__isnull=True, revoked_at__isnull=False),
            cls.Status.EXPIRED: open_ & models.Q(expires_at__lte=now),
            cls.Status.PENDING: open_ & models.Q(expires_at__gt=now),
        }[cls.Status(status)]


class ApiToken(TenantModel):
    """A REST credential bound to one membership. Only a hash is stored."""

    membership = models.ForeignKey(Membership, on_delete=models.CASCADE, related_name="tokens")
    name = models.CharField(max_length=100)
    prefix = models.CharField(max_length=12, unique=True)
    token_hash = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField(null=True, blank=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["organization", "membership"])]

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"


class AuthEvent(models.Model):
    """The audit log of sessions, API tokens and the team: who signed in, failed
    to, was locked out or signed out, which tokens were created, revoked or used
    for the first time, who was invited, whose role changed and who was
    deactivated or reactivated, with the address and browser they came from.

    Not a :class:`TenantModel`: a sign-in belongs to no organization (a person
    signs in once for all of theirs), so ``organization`` is null for session
    events and set for token events. The ScopedManager stays as the safety net
    (inside an organization's scope only that organization's token events
    show, never a sign-in); the one reader, :func:`msops.tenancy.audit.auth_event_list`,
    filters explicitly: the organization's token events, and the session
    events of the people who are its members. Rows are written only by
    :func:`msops.tenancy.audit.auth_event_record` and never changed.
    """

    class Kind(models.TextChoices):
        SIGNED_IN = "signed_in", "Signed in"
        SIGN_IN_FAILED = "sign_in_failed", "Sign-in failed"
        LOCKED_OUT = "locked_out", "Sign-in refused: locked out"
        SIGNED_OUT = "signed_out", "Signed out"
        TOKEN_CREATED = "token_created", "API token created"
        TOKEN_REVOKED = "token_revoked", "API token revoked"
        TOKEN_FIRST_USED = "token_first_used", "API token used for the first time"
        INVITATION_SENT = "invitation_sent", "Invitation sent"
        INVITATION_REVOKED = "invitation_revoked", "Invitation revoked"
        INVITATION_ACCEPTED = "invitation_accepted", "Invitation accepted"
        ROLE_CHANGED = "role_changed", "Role changed"
        MEMBER_DEACTIVATED = "member_deactivated", "Member deactivated"
        MEMBER_REACTIVATED = "member_reactivated", "Member reactivated"

    organization = models.ForeignKey(
        Organization, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    username = models.CharField(
        max_length=150, blank=True, help_text="As typed, for a sign-in; kept if the user goes."
    )
    kind = models.CharField(max_length=20, choices=Kind.choices)
    ip_address = models.GenericIPAddressField(null=True, blank=True)
    user_agent = models.CharField(max_length=255, blank=True)
    at = models.DateTimeField(default=timezone.now)
    detail = models.JSONField(default=dict, blank=True)

    objects = ScopedManager(organization="organization")

    class Meta:
        ordering = ["-at", "-pk"]
        indexes = [
            models.Index(fields=["organization", "-at"], name="authevent_org_at"),
            models.Index(fields=["user", "-at"], name="authevent_user_at"),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()}: {self.username or self.user_id} at {self.at:%Y-%m-%d %H:%M}"
