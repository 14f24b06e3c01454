"""Answering a page request or its htmx swap from the same view: the page, or
the named partial of the same template (django-template-partials), with times
shown in the organization's timezone."""

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone


def htmx_template(request: HttpRequest, template: str, partial: str) -> str:
    """The page's template, or for an htmx request its named partial."""
    return f"{template}#{partial}" if request.htmx else template


def render_local(
    request: HttpRequest, template: str, context: dict, *, status: int = 200
) -> HttpResponse:
    """Render with times shown in the request's organization's timezone."""
    with timezone.override(request.organization.tzinfo):
        return render(request, template, context, status=status)
