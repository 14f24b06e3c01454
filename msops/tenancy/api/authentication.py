from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import authentication, exceptions


class MembershipTokenAuthentication(authentication.BaseAuthentication):
    """``Authorization: Bearer <token>``. The token was resolved (and the
    organization's scope entered) by OrganizationMiddleware; here we only
    answer DRF's question of who the user is."""

    keyword = "Bearer"

    def authenticate(self, request):
        header = request.headers.get("Authorization", "")
        if not header:
            return None
        token = getattr(request._request, "api_token", None)
        if token is None:
            raise exceptions.AuthenticationFailed("Invalid, expired or revoked API token.")
        return (token.membership.user, token)

    def authenticate_header(self, request) -> str:
        return self.keyword


class MembershipTokenScheme(OpenApiAuthenticationExtension):
    target_class = "msops.tenancy.api.authentication.MembershipTokenAuthentication"
    name = "tokenAuth"

    def get_security_definition(self, auto_schema):
        return {
            "type": "http",
            "scheme": "bearer",
            "description": "An API token created on the organization's “API tokens” page.",
        }
