"""Pages outside any organization: the client's signed approval link (no
login; the organization comes from the signed token)."""

from django.urls import path

from .views import decisions

app_name = "public"

urlpatterns: list = [
    path(
        "scope-checks/<str:token>/",
        decisions.client_scope_check,
        name="client_scope_check",
    ),
]
