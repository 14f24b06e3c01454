"""Insights API: the figures of the insights page
(:mod:`billing.selectors.insights`), every series at once or one of them.

    GET /api/v1/insights/?from=2026-01&to=2026-12
    GET /api/v1/insights/<series>/?from=…&to=…   (the series' name as ``{id}``)

Account managers get their own clients' figures, finance and admins every
client's; developers 403. ``from``/``to`` are months (YYYY-MM, both
included; default the last 12 months): a bad one is a 400 naming the field.
Money as decimal strings per currency, time in minutes, shares in % (one
decimal)."""

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import serializers, viewsets
from rest_framework.exceptions import ValidationError
from rest_framework.response import Response

from msops.calendar import add_months
from msops.tenancy.api.mixins import TenantViewSetMixin
from msops.tenancy.roles import MONEY_READERS
from msops.timezones import organization_today

from ..models import ExceptionFlag
from ..selectors.insights import LEAKAGE_COMPONENTS, QUESTION_KINDS
from ..views.insights import TABLE_NAMES, insights_for, parse_range
from .timers import OneObjectSchema

MONTH_PATTERN = r"^(\d{4}-\d{2})?$"  # empty: the default
RANGE = [
    OpenApiParameter(
        "from", OpenApiTypes.STR, pattern=MONTH_PATTERN,
        description="The first month, YYYY-MM (default: 11 months before `to`).",
    ),
    OpenApiParameter(
        "to", OpenApiTypes.STR, pattern=MONTH_PATTERN,
        description="The last month, YYYY-MM, included (default: this month). At most 36 months.",
    ),
]  # fmt: skip
BAD_REQUEST = OpenApiResponse(description="A field is invalid (field messages in the body).")
NOT_ALLOWED = OpenApiResponse(description="Your role in this organization may not do this.")
MONEY = {"max_digits": 16, "decimal_places": 2}
SHARE = {"max_digits": 5, "decimal_places": 1, "allow_null": True}


class LeakageSerializer(serializers.Serializer):
    month = serializers.CharField(help_text="YYYY-MM: the month of the work date.")
    currency = serializers.CharField()
    written_off = serializers.DecimalField(**MONEY)
    absorbed = serializers.DecimalField(**MONEY, help_text="Absorbed past thresholds.")
    excluded = serializers.DecimalField(**MONEY, help_text="Excluded work not billed.")
    total = serializers.DecimalField(**MONEY)
    written_off_minutes = serializers.IntegerField()
    absorbed_minutes = serializers.IntegerField()
    excluded_minutes = serializers.IntegerField()
    unpriced_minutes = serializers.IntegerField(help_text="Minutes without a rate to price.")


class AllowanceSerializer(serializers.Serializer):
    client = serializers.IntegerField()
    client_name = serializers.CharField()
    allowance_minutes = serializers.IntegerField()
    used_minutes = serializers.IntegerField()
    percent = serializers.IntegerField(allow_null=True, help_text="Floored.")


class QuestionSerializer(serializers.Serializer):
    id = serializers.IntegerField(help_text="The client's or request type's id.")
    name = serializers.CharField()
    unclear = serializers.IntegerField()
    overrides = serializers.IntegerField()
    rejected = serializers.IntegerField()
    review_items = serializers.IntegerField()
    total = serializers.IntegerField()


class CatchAllSerializer(serializers.Serializer):
    client = serializers.IntegerField()
    client_name = serializers.CharField()
    minutes = serializers.IntegerField()
    catch_all_minutes = serializers.IntegerField()
    share = serializers.DecimalField(**SHARE)
    flags = serializers.IntegerField()


class LateEntrySerializer(serializers.Serializer):
    person = serializers.IntegerField(help_text="The membership's id.")
    person_name = serializers.CharField()
    entries = serializers.IntegerField()
    late = serializers.IntegerField()
    share = serializers.DecimalField(**SHARE)


class ConcentrationSerializer(serializers.Serializer):
    client = serializers.IntegerField()
    client_name = serializers.CharField()
    minutes = serializers.IntegerField()
    person = serializers.IntegerField()
    person_name = serializers.CharField()
    person_minutes = serializers.IntegerField()
    share = serializers.DecimalField(**SHARE)
    brief_stale = serializers.BooleanField(allow_null=True)


class InsightsSerializer(serializers.Serializer):
    """Every series (one series' URL answers only its own key)."""

    from_month = serializers.CharField(help_text="YYYY-MM")
    to_month = serializers.CharField(help_text="YYYY-MM, included.")
    leakage = LeakageSerializer(many=True, required=False)
    allowance = AllowanceSerializer(many=True, required=False)
    questions_by_client = QuestionSerializer(many=True, required=False)
    questions_by_type = QuestionSerializer(many=True, required=False)
    catch_all = CatchAllSerializer(many=True, required=False)
    late_entries = LateEntrySerializer(many=True, required=False)
    concentration = ConcentrationSerializer(many=True, required=False)


def _data(report) -> dict:
    leakage = []
    for row in report.leakage:
        item = {"month": f"{row.month:%Y-%m}", "currency": row.currency, "total": row.total}
        for key, _ in LEAKAGE_COMPONENTS:
            item[key] = row.cells[key].amount
            item[f"{key}_minutes"] = row.cells[key].minutes
        item["unpriced_minutes"] = sum(c.unpriced_minutes for c in row.cells.values())
        leakage.append(item)

    def questions(rows):
        return [
            {"id": r.key, "name": r.name, "total": r.total}
            | {k: r.counts[k] for k, _ in QUESTION_KINDS}
            for r in rows
        ]

    return {
        "from_month": f"{report.start:%Y-%m}",
        "to_month": f"{add_months(report.end, -1):%Y-%m}",
        "leakage": leakage,
        "allowance": [
            {"client": r.client_id, "client_name": r.client,
             "allowance_minutes": r.allowance_minutes, "used_minutes": r.used_minutes,
             "percent": r.percent}
            for r in report.allowance
        ],
        "questions_by_client": questions(report.questions_by_client),
        "questions_by_type": questions(report.questions_by_type),
        "catch_all": [
            {"client": r.client_id, "client_name": r.client, "minutes": r.minutes,
             "catch_all_minutes": r.catch_all_minutes, "share": r.share, "flags": r.flags}
            for r in report.catch_all
        ],
        "late_entries": [
            {"person": r.person_id, "person_name": r.person, "entries": r.entries,
             "late": r.late, "share": r.share}
            for r in report.late_entries
        ],
        "concentration": [
            {"client": r.client_id, "client_name": r.client, "minutes": r.minutes,
             "person": r.person_id, "person_name": r.person,
             "person_minutes": r.person_minutes, "share": r.share,
             "brief_stale": r.brief_stale}
            for r in report.concentration
        ],
    }  # fmt: skip


class InsightsViewSet(TenantViewSetMixin, viewsets.GenericViewSet):
    """Leakage, allowance use, billing questions, catch-all use, late entries
    and concentration of context over a range of months."""

    queryset = ExceptionFlag.objects.none()  # no model: the schema needs one
    serializer_class = InsightsSerializer
    schema = OneObjectSchema()  # the collection answers one object, not a list
    read_roles = MONEY_READERS
    filter_backends: list = []
    pagination_class = None

    def _report(self, only: str | None = None):
        request = self.request
        start, end, errors = parse_range(
            request.query_params, organization_today(request.organization)
        )
        if errors:
            raise ValidationError(errors)
        return insights_for(membership=request.membership, start=start, end=end, only=only)

    @extend_schema(
        operation_id="insights_all",
        parameters=[
            *RANGE,
            OpenApiParameter(
                "series",
                OpenApiTypes.STR,
                enum=[*TABLE_NAMES],
                description="One series only (computed alone); default: every series.",
            ),
        ],
        responses={200: InsightsSerializer, 400: BAD_REQUEST, 403: NOT_ALLOWED},
    )
    def list(self, request, *args, **kwargs):
        series = request.query_params.get("series")
        if series is not None and series not in TABLE_NAMES:
            raise ValidationError(
                {"series": [f"Not a series: choose one of {', '.join(TABLE_NAMES)}."]}
            )
        data = _data(self._report(only=series))
        if series is not None:
            data = {k: v for k, v in data.items() if k in {"from_month", "to_month", series}}
        return Response(InsightsSerializer(data).data)
