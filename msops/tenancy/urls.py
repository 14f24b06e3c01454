from django.urls import path

from . import views

app_name = "tenancy"

urlpatterns = [
    path("", views.organization_home, name="organization_home"),
    path("tokens/", views.api_token_list_view, name="api_token_list"),
    path("tokens/<int:pk>/revoke/", views.api_token_revoke_view, name="api_token_revoke"),
    path("audit/", views.auth_event_list_view, name="auth_event_list"),
]
