"""Pages outside any organization: the client's signed approval link."""

from django.urls import path  # noqa: F401

app_name = "public"

urlpatterns: list = []
