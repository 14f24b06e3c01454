"""How things read to people, for pages, API payloads and messages alike."""

from msops.tenancy.models import Membership


def member_name(membership: Membership | None) -> str | None:
    """A member as people read them: their full name, else their username."""
    if membership is None:
        return None
    return membership.user.get_full_name() or membership.user.get_username()
