"""Reads of exception flags and the choices their page filters by."""

from django.db.models import QuerySet

from clients.models import Client
from msops.tenancy.models import Membership, Organization

from ..models import ExceptionFlag


def flag_list(
    *,
    organization: Organization,
    kind: str | None = None,
    status: str | None = None,
    client: Client | int | None = None,
    owner: Membership | int | None = None,
    ticket: int | None = None,
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
