from django.urls import path

from . import views
from .team_views import (
    team_invitation_resend_view,
    team_invitation_revoke_view,
    team_member_deactivate_view,
    team_member_reactivate_view,
    team_member_role_view,
    team_view,
)

app_name = "tenancy"

urlpatterns = [
    path("", views.organization_home, name="organization_home"),
    path("tokens/", views.api_token_list_view, name="api_token_list"),
    path("tokens/<int:pk>/revoke/", views.api_token_revoke_view, name="api_token_revoke"),
    path("audit/", views.auth_event_list_view, name="auth_event_list"),
    # Team management (admins): msops/tenancy/team_views.py
    path("team/", team_view, name="team"),
    path("team/members/<int:pk>/role/", team_member_role_view, name="team_member_role"),
    path(
        "team/members/<int:pk>/deactivate/",
        team_member_deactivate_view,
        name="team_member_deactivate",
    ),
    path(
        "team/members/<int:pk>/reactivate/",
        team_member_reactivate_view,
        name="team_member_reactivate",
    ),
    path(
        "team/invitations/<int:pk>/resend/",
        team_invitation_resend_view,
        name="team_invitation_resend",
    ),
    path(
        "team/invitations/<int:pk>/revoke/",
        team_invitation_revoke_view,
        name="team_invitation_revoke",
    ),
]
