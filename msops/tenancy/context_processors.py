from django.http import HttpRequest

from .selectors import membership_list_for_user


def tenancy(request: HttpRequest) -> dict:
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    return {
        "organization": getattr(request, "organization", None),
        "membership": getattr(request, "membership", None),
        "my_memberships": membership_list_for_user(user=user),
    }
