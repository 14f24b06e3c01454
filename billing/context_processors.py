"""Counts shown in the navigation inside an organization."""

from django.http import HttpRequest


def nav_counts(request: HttpRequest) -> dict:
    return {}
