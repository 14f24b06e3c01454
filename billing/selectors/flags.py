"""Reads of exception flags and the choices their page filters by."""

from django.db.models import CharField, QuerySet, Value
from django.db.models.functions import Cast, Concat

from clients.models import Client
from msops.tenancy.models import Membership, Organization
from tickets.models import TimeEntry

from ..models import ExceptionFlag


def flag_list(
    *,
    organization: Organization,
    kind: str | None = None,
    status: str | None = None,
    client: Client | int | None = None,
    owner: Membership | int | None = None,
    ticket: int | None = None,
    person: Membership | int | None = None,
) -> QuerySet[ExceptionFlag]:
    """Flags, newest first, with what a row shows (ticket, client, contract,
    owner and resolver)."""
    queryset = (
        ExceptionFlag.objects.filter(organization=organization)
        .select_related("ticket", "client", "contract", "owner__user", "resolved_by__user")
        .order_by("-created_at", "-pk")
    )
    if kind:
        queryset = queryset.filter(kind=kind)
    if status:
        queryset = queryset.filter(status=status)
    if client:
        queryset = queryset.filter(client=client)
    if owner:
        queryset = queryset.filter(owner=owner)
    if ticket:
        queryset = queryset.filter(ticket=ticket)
    if person:  # flags about one person's time entries (late entries: ``entry:<id>``)
        entries = TimeEntry.objects.filter(organization=organization, person=person)
        keys = entries.annotate(key=Concat(Value("entry:"), Cast("pk", CharField())))
        queryset = queryset.filter(subject_key__in=keys.values("key"))
    return queryset


def flag_get(*, organization: Organization, pk: int) -> ExceptionFlag | None:
    return flag_list(organization=organization).filter(pk=pk).first()


def flag_client_choices(*, organization: Organization) -> QuerySet[Client]:
    return Client.objects.filter(organization=organization).order_by("name", "pk")


def member_choices(*, organization: Organization) -> QuerySet[Membership]:
    """Everyone of the organization (filters by owner)."""
    return (
        Membership.objects.filter(organization=organization)
        .select_related("user")
        .order_by("user__username")
    )
