"""Billing pages: jobs (included by billing/urls.py)."""

from django.urls import path  # noqa: F401

urlpatterns: list = []
