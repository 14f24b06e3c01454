"""The timer box on the ticket page (templates/billing/partials/timer.html):
start, stop and log, switch, discard. The ticket page includes the partial
with :func:`timer_context`; the timer views (billing/views/timers.py) answer
it after each action. It reads; the services decide."""

from dataclasses import dataclass

from django.http import HttpRequest
from django.utils import timezone

from msops.timezones import organization_date, organization_today
from tickets.models import Ticket, Timer
from tickets.services import TICKET_WRITERS

from .context_processors import person_timer
from .services import MAX_TIMER_MINUTES

PARTIAL = "billing/partials/timer.html"


@dataclass
class TimerBox:
    """What the box shows for one person on one ticket's page."""

    ticket: Ticket
    timer: Timer | None  # the person's running timer, on this ticket or another
    can_use: bool  # the person logs time (finance does not)
    started_today: bool = True
    error: str = ""
    notice: str = ""

    @property
    def here(self) -> bool:
        return self.timer is not None and self.timer.ticket_id == self.ticket.pk

    @property
    def elsewhere(self) -> bool:
        return self.timer is not None and self.timer.ticket_id != self.ticket.pk

    @property
    def over_cap(self) -> bool:
        """Ran more than stopping logs (12 hours): to be discarded and typed in."""
        return self.timer is not None and self.timer.elapsed_seconds > MAX_TIMER_MINUTES * 60


def timer_context(
    request: HttpRequest, ticket: Ticket, *, error: str = "", notice: str = ""
) -> dict:
    """The box's context (``timer_box``, and ``ticket``) for this request's
    person on ``ticket``'s page: one query for those who log time, none for
    the others."""
    membership = request.membership
    can_use = membership.role in TICKET_WRITERS
    timer = person_timer(request) if can_use else None
    started_today = timer is None or organization_date(
        request.organization, timer.started_at
    ) == organization_today(request.organization, now=timezone.now())
    box = TimerBox(
        ticket=ticket,
        timer=timer,
        can_use=can_use,
        started_today=started_today,
        error=error,
        notice=notice,
    )
    return {"ticket": ticket, "timer_box": box}
