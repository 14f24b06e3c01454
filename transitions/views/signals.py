"""Two read-only pages for preparing transitions before they happen
(transitions/signals.py computes both):

- undocumented context per person, for account managers and admins only —
  it is about people, so the people it names and finance do not read it;
- transition health per client, which finance may read too.

Another role in the organization gets a 403; no organization, a 404."""

from django.http import HttpRequest, HttpResponse
from django.views.decorators.http import require_GET

from msops.htmx import render_local
from msops.tenancy.roles import require_role

from ..signals import (
    CONTEXT_READERS,
    EXAMPLES,
    HEALTH_READERS,
    MOST_OF_THE_TIME,
    ONE_PERSON,
    WINDOW_DAYS,
    transition_health,
    undocumented_context,
)


@require_GET
def undocumented_context_view(request: HttpRequest, org: str) -> HttpResponse:
    require_role(request, *CONTEXT_READERS)
    report = undocumented_context(organization=request.organization)
    context = {
        "report": report,
        "window_days": WINDOW_DAYS,
        "examples": EXAMPLES,
        "most_of_the_time": MOST_OF_THE_TIME,
    }
    return render_local(request, "transitions/undocumented_context.html", context)


@require_GET
def transition_health_view(request: HttpRequest, org: str) -> HttpResponse:
    require_role(request, *HEALTH_READERS)
    report = transition_health(organization=request.organization)
    context = {"report": report, "window_days": WINDOW_DAYS, "one_person": ONE_PERSON}
    return render_local(request, "transitions/transition_health.html", context)
