"""What the ticket services share: who works tickets, the organization's
today, and field checks that return messages instead of raising."""

from msops.tenancy.models import Role
from msops.timezones import organization_today  # noqa: F401 - re-exported by tickets.services

# Who may open and change tickets and log time, on every interface. Finance
# reads the work but does not do it.
TICKET_WRITERS = frozenset({Role.DEVELOPER, Role.ACCOUNT_MANAGER, Role.ADMIN})


def belongs(obj, organization_id: int) -> bool:
    return obj is not None and obj.organization_id == organization_id


def check_choice(errors: dict, field: str, value, choices, label: str) -> None:
    if value not in choices:
        errors[field] = f"“{value}” is not a {label}."


def check_assignee(errors: dict, assignee, organization_id: int) -> None:
    if assignee is None:
        return
    if not belongs(assignee, organization_id):
        errors["assignee"] = "Choose a member of this organization."
    elif assignee.role not in TICKET_WRITERS:
        errors["assignee"] = "Assign the ticket to someone who works tickets (not finance)."
    elif assignee.deactivated_at is not None:
        errors["assignee"] = "This member is deactivated: assign the ticket to someone active."
