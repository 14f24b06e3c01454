"""Timers and the week timesheet over REST.

- ``/timers/``: the token's member's own timer (there is no other's to
  reach): ``GET`` it (``{"timer": null}`` when none runs), ``POST start/``
  (``ticket``, ``switch``, ``note``), ``POST stop/`` (``notes``) and
  ``POST discard/``. Stopping logs the elapsed minutes, rounded up, on the
  practice's date the timer started (billing.services.timers). Developers,
  account managers and admins; finance does not log time (403).
- ``/timesheet/``: a person's week as a grid (``week=2026-W49``,
  ``person=<membership id>``): the days, a row per ticket with minutes per
  day, totals per day and per billing meaning. Everyone reads their own;
  account managers, admins and finance anyone's; a developer asking for
  someone else's gets a 403.
"""

from django.core.exceptions import PermissionDenied
from django.db.models import Prefetch
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from msops.display import member_name
from msops.tenancy.api.mixins import TenantPrimaryKeyRelatedField, TenantViewSetMixin
from msops.tenancy.api.schema import AutoSchema
from msops.tenancy.models import Membership
from msops.tenancy.roles import ALL_ROLES, FINANCE, MANAGERS
from tickets.api.serializers import TimeEntrySerializer
from tickets.models import Ticket, TimeEntry, Timer
from tickets.selectors import time_entry_list
from tickets.services import TICKET_WRITERS

from ..selectors.time_entries import portion_list
from ..selectors.timers import timer_running
from ..selectors.timesheet import Timesheet, timesheet, week_parse
from ..services import timer_discard, timer_start, timer_stop
from ..services.timers import NOTE_MAX_LENGTH

# Who may read another person's timesheet.
READS_OTHERS = MANAGERS | FINANCE
NOT_ALLOWED = OpenApiResponse(
    description="Your role may not do this (finance does not log time; a developer reads "
    "only their own timesheet)."
)
REFUSED = OpenApiResponse(
    description="Refused, nothing saved (``refused``): start — your timer runs on another "
    "ticket (``detail`` names it; send ``switch``); stop — no timer runs, or it ran more than "
    "12 hours (discard it and log the time by hand). ``period_locked``: the work date's "
    "billing period is locked."
)


# --- serializers -------------------------------------------------------------------------
class TimerSerializer(serializers.ModelSerializer):
    """A running timer. ``elapsed_seconds`` is counted when answered."""

    ticket_number = serializers.IntegerField(source="ticket.number", read_only=True)
    ticket_title = serializers.CharField(source="ticket.title", read_only=True)
    elapsed_seconds = serializers.IntegerField(read_only=True)

    class Meta:
        model = Timer
        fields = [
            "id",
            "ticket",
            "ticket_number",
            "ticket_title",
            "person",
            "started_at",
            "note",
            "elapsed_seconds",
        ]
        read_only_fields = fields


class RunningTimerSerializer(serializers.Serializer):
    timer = TimerSerializer(allow_null=True, help_text="Your running timer; null when none runs.")


class TimerStartSerializer(serializers.Serializer):
    ticket = TenantPrimaryKeyRelatedField(queryset=Ticket.objects)
    switch = serializers.BooleanField(
        default=False,
        help_text="If your timer runs on another ticket: stop it (logging its time) and start "
        "this one. Without it, that is a 409.",
    )
    note = serializers.CharField(
        required=False, allow_blank=True, default="", max_length=NOTE_MAX_LENGTH
    )


class TimerStartedSerializer(serializers.Serializer):
    timer = TimerSerializer()
    stopped = TimeEntrySerializer(
        allow_null=True,
        help_text="With ``switch``: the time entry stopping the previous timer logged.",
    )


class TimerStopSerializer(serializers.Serializer):
    notes = serializers.CharField(
        required=False,
        allow_blank=True,
        default="",
        help_text="The logged entry's notes (default: the timer's note).",
    )


class TimerStoppedSerializer(serializers.Serializer):
    time_entry = TimeEntrySerializer(help_text="What stopping logged.")


class TimerDiscardedSerializer(serializers.Serializer):
    discarded = TimerSerializer(
        allow_null=True, help_text="The timer thrown away; null when none was running."
    )


class TimesheetQuerySerializer(serializers.Serializer):
    week = serializers.CharField(
        required=False,
        allow_blank=True,
        help_text="The ISO week, e.g. 2026-W49: the practice's week holding its Monday "
        "(default: this week).",
    )
    person = TenantPrimaryKeyRelatedField(
        queryset=Membership.objects,
        required=False,
        help_text="Whose timesheet (default: yours). Account managers, admins and finance.",
    )

    def validate_week(self, value: str):
        week = week_parse(self.context["organization"], value)
        if week is None:
            raise serializers.ValidationError("Give the week as YYYY-Www, e.g. 2026-W49.")
        return week


class TimesheetRowSerializer(serializers.Serializer):
    ticket = serializers.IntegerField()
    ticket_number = serializers.IntegerField()
    ticket_title = serializers.CharField()
    minutes = serializers.ListField(
        child=serializers.IntegerField(), help_text="Minutes per day, in the order of ``days``."
    )
    total = serializers.IntegerField()


class TimesheetStatusSerializer(serializers.Serializer):
    status = serializers.CharField(help_text="included, billable, waiting or excluded.")
    label = serializers.CharField()
    minutes = serializers.ListField(child=serializers.IntegerField())
    total = serializers.IntegerField()


class TimesheetSerializer(serializers.Serializer):
    """A person's week: ``waiting`` is time without a decision, waiting for
    approval or decided unclear; ``excluded`` is time written off."""

    person = serializers.IntegerField()
    person_name = serializers.CharField()
    week = serializers.CharField(help_text="2026-W49")
    start = serializers.DateField()
    end = serializers.DateField(help_text="The week's last day.")
    days = serializers.ListField(child=serializers.DateField())
    rows = TimesheetRowSerializer(many=True)
    day_totals = serializers.ListField(child=serializers.IntegerField())
    total = serializers.IntegerField()
    by_status = TimesheetStatusSerializer(many=True)


def timesheet_data(sheet: Timesheet) -> dict:
    return {
        "person": sheet.person.pk,
        "person_name": member_name(sheet.person),
        "week": sheet.week.label,
        "start": sheet.week.start,
        "end": sheet.week.end,
        "days": sheet.week.days,
        "rows": [
            {
                "ticket": row.ticket.pk,
                "ticket_number": row.ticket.number,
                "ticket_title": row.ticket.title,
                "minutes": [cell.minutes for cell in row.cells],
                "total": row.total,
            }
            for row in sheet.rows
        ],
        "day_totals": sheet.day_totals,
        "total": sheet.total,
        "by_status": [
            {"status": s.key, "label": s.label, "minutes": s.days, "total": s.total}
            for s in sheet.status_totals
        ],
    }


# --- views -------------------------------------------------------------------------------
class OneObjectSchema(AutoSchema):
    """These collections answer one object to GET (your timer, one week), not
    a list: drf-spectacular would otherwise document ``list`` as an array."""

    def _is_list_view(self, serializer=None) -> bool:
        return False


class TimerViewSet(TenantViewSetMixin, viewsets.GenericViewSet):
    """Your own timer: one at a time, kept on the server."""

    queryset = Timer.objects.none()
    serializer_class = TimerSerializer
    schema = OneObjectSchema()
    read_roles = TICKET_WRITERS
    write_roles = TICKET_WRITERS
    filter_backends: list = []
    pagination_class = None

    def get_tenant_queryset(self, organization):
        return Timer.objects.filter(
            organization=organization, person=self.request.membership
        ).select_related("ticket")

    def _timer(self, timer: Timer | None):
        context = self.get_serializer_context()
        return None if timer is None else TimerSerializer(timer, context=context).data

    def _entry(self, entry: TimeEntry) -> dict:
        organization = self.request.organization
        fresh = (
            time_entry_list(organization=organization)
            .prefetch_related(
                Prefetch("portions", queryset=portion_list(organization=organization))
            )
            .get(pk=entry.pk)
        )
        return TimeEntrySerializer(fresh, context=self.get_serializer_context()).data

    @extend_schema(responses={200: RunningTimerSerializer, 403: NOT_ALLOWED})
    def list(self, request, *args, **kwargs):
        """Your running timer, or ``{"timer": null}``."""
        timer = timer_running(organization=request.organization, person=request.membership)
        return Response({"timer": self._timer(timer)})

    @extend_schema(
        request=TimerStartSerializer,
        responses={
            201: OpenApiResponse(TimerStartedSerializer, description="Started."),
            200: OpenApiResponse(
                TimerStartedSerializer, description="Already running on this ticket: unchanged."
            ),
            403: NOT_ALLOWED,
            409: REFUSED,
        },
    )
    @action(detail=False, methods=["post"])
    def start(self, request):
        """Start your timer on a ticket (``switch``: move it from another)."""
        serializer = TimerStartSerializer(data=request.data, context=self.get_serializer_context())
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        started = timer_start(
            ticket=data["ticket"],
            person=request.membership,
            switch=data["switch"],
            note=data["note"],
        )
        body = {
            "timer": self._timer(started.timer),
            "stopped": None if started.stopped is None else self._entry(started.stopped.entry),
        }
        code = status.HTTP_200_OK if started.already_running else status.HTTP_201_CREATED
        return Response(body, status=code)

    @extend_schema(
        request=TimerStopSerializer,
        responses={200: TimerStoppedSerializer, 403: NOT_ALLOWED, 409: REFUSED},
    )
    @action(detail=False, methods=["post"])
    def stop(self, request):
        """Stop your timer and log its minutes (rounded up) on the day it started."""
        serializer = TimerStopSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        logged = timer_stop(person=request.membership, notes=serializer.validated_data["notes"])
        return Response({"time_entry": self._entry(logged.entry)})

    @extend_schema(request=None, responses={200: TimerDiscardedSerializer, 403: NOT_ALLOWED})
    @action(detail=False, methods=["post"])
    def discard(self, request):
        """Throw your timer away: nothing is logged."""
        return Response({"discarded": self._timer(timer_discard(person=request.membership))})


class TimesheetViewSet(TenantViewSetMixin, viewsets.GenericViewSet):
    """A person's week of logged time as a grid."""

    queryset = TimeEntry.objects.none()
    serializer_class = TimesheetSerializer
    schema = OneObjectSchema()
    read_roles = ALL_ROLES
    filter_backends: list = []
    pagination_class = None

    @extend_schema(
        parameters=[TimesheetQuerySerializer],
        responses={200: TimesheetSerializer, 403: NOT_ALLOWED},
    )
    def list(self, request, *args, **kwargs):
        query = TimesheetQuerySerializer(
            data=request.query_params, context=self.get_serializer_context()
        )
        query.is_valid(raise_exception=True)
        membership = request.membership
        person = query.validated_data.get("person") or membership
        if person.pk != membership.pk and membership.role not in READS_OTHERS:
            raise PermissionDenied("You may read only your own timesheet.")
        week = query.validated_data.get("week") or week_parse(request.organization, None)
        sheet = timesheet(organization=request.organization, person=person, week=week)
        return Response(TimesheetSerializer(timesheet_data(sheet)).data)
