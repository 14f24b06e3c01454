"""Reads of the tenancy core. Memberships are looked up across organizations
only here, to find which tenants a user may enter (through the row-security
bypass, :func:`msops.tenancy.rls.bypass`)."""

from django.contrib.auth.models import AbstractBaseUser
from django.db.models import QuerySet
from django_scopes import scopes_disabled

from . import rls
from .models import ApiToken, Membership, Organization


def membership_for(*, user: AbstractBaseUser, organization: Organization) -> Membership | None:
    """The user's live membership of ``organization``: read inside it (the
    middleware has activated it), so row security already limits the read to
    it. A deactivated membership is none: the person is treated as a stranger."""
    if not user.is_authenticated:
        return None
    return (
        Membership.objects.select_related("organization", "user")
        .filter(user=user, organization=organization, deactivated_at__isnull=True)
        .first()
    )


def membership_list_for_user(*, user: AbstractBaseUser) -> list[Membership]:
    """Every organization the user belongs to (deactivated memberships
    aside), for the landing page and switcher."""
    if not user.is_authenticated:
        return []
    with scopes_disabled(), rls.bypass():
        return list(
            Membership.objects.select_related("organization")
            .filter(user=user, deactivated_at__isnull=True)
            .order_by("organization__name")
        )


def organization_by_slug(*, slug: str) -> Organization | None:
    return Organization.objects.filter(slug=slug).first()


def membership_list(
    *, organization: Organization, include_deactivated: bool = False
) -> QuerySet[Membership]:
    """The organization's members, for pickers and lists: deactivated ones
    only when asked for (the API's member list shows them with the date)."""
    queryset = Membership.objects.filter(organization=organization)
    if not include_deactivated:
        queryset = queryset.filter(deactivated_at__isnull=True)
    return queryset.select_related("user").order_by("user__username")


def api_token_list(*, membership: Membership) -> QuerySet[ApiToken]:
    return ApiToken.objects.filter(
        organization=membership.organization_id, membership=membership
    ).order_by("-created_at")
