"""Clients: who we serve, their status, account manager and billing notes."""

from collections.abc import Mapping
from typing import Any

from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.db import transaction

from msops.limits import NOTE_MAX, too_long
from msops.tenancy.models import Membership, Organization
from msops.tenancy.roles import MANAGERS

from ..models import Client, Contract
from .base import (
    Errors,
    add_error,
    assign,
    delete,
    same_organization,
    save,
    validate,
)

CLIENT_FIELDS = ("name", "status", "account_manager", "billing_notes")


# --- clients ----------------------------------------------------------------
def _client_rules(client: Client, errors: Errors) -> None:
    organization = client.organization_id
    if "name" not in errors:
        client.name = (client.name or "").strip()
        if not client.name:
            add_error(errors, "name", "Give the client a name.")
        elif (
            Client.objects.filter(organization=organization, name__iexact=client.name)
            .exclude(pk=client.pk)
            .exists()
        ):
            add_error(errors, "name", f"There is already a client called “{client.name}”.")
    if "billing_notes" not in errors:
        message = too_long(client.billing_notes, limit=NOTE_MAX, what="Billing notes")
        if message:
            add_error(errors, "billing_notes", message)
    manager = client.account_manager
    if (
        "account_manager" not in errors
        and manager is not None
        and same_organization(errors, organization, "account_manager", manager)
        and manager.role not in MANAGERS
    ):
        add_error(
            errors, "account_manager", "The account manager must be an account manager or admin."
        )


@transaction.atomic
def client_create(
    *,
    organization: Organization,
    name: str,
    status: str = Client.Status.ACTIVE,
    account_manager: Membership | None = None,
    billing_notes: str = "",
) -> Client:
    client = Client(
        organization=organization,
        name=name,
        status=status,
        account_manager=account_manager,
        billing_notes=billing_notes,
    )
    validate(client, rules=_client_rules)
    return save(client)


@transaction.atomic
def client_update(*, client: Client, data: Mapping[str, Any]) -> Client:
    """Change name, status, account manager or billing notes."""
    assign(client, data, CLIENT_FIELDS)
    validate(client, rules=_client_rules)
    return save(client)


@transaction.atomic
def client_delete(*, client: Client) -> None:
    if Contract.objects.filter(organization=client.organization_id, client=client).exists():
        raise ValidationError(
            {NON_FIELD_ERRORS: ["This client has contracts. Set its status to ended instead."]}
        )
    delete(client, in_use="This client has work recorded. Set its status to ended instead.")
