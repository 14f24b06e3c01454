"""Service-level report API: ``GET /api/v1/sla-report/?client=&contract=&period=``,
the figures of tickets.sla_report and the (capped) breaches. Account managers,
finance and admins read it; developers get a 403, as on the page. A client or
contract of another organization is a 400 naming the field ("object does not
exist"), as every related id in the API."""

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.exceptions import ValidationError
from rest_framework.generics import GenericAPIView
from rest_framework.response import Response

from clients.models import Client, Contract
from msops.tenancy.api.mixins import TenantPrimaryKeyRelatedField
from msops.tenancy.roles import MONEY_READERS

from ..sla_report import BREACHES_SHOWN, sla_report, sla_report_period

PERIOD_HELP = (
    "A year (2026), a quarter (2026-Q3) or a month (2026-11), years 1900–9998; default: this"
    " month in the practice's timezone."
)


BAD_REQUEST = OpenApiResponse(description="A field is invalid (field messages in the body).")
NOT_ALLOWED = OpenApiResponse(description="Your role in this organization may not do this.")


class SLAReportQuerySerializer(serializers.Serializer):
    client = TenantPrimaryKeyRelatedField(queryset=Client.objects, required=False, allow_null=True)
    contract = TenantPrimaryKeyRelatedField(
        queryset=Contract.objects, required=False, allow_null=True
    )
    period = serializers.CharField(required=False, allow_blank=True, max_length=20)

    def validate_period(self, value):
        period = sla_report_period(value, organization=self.context["organization"])
        if period is None:
            raise serializers.ValidationError(PERIOD_HELP)
        return period

    def validate(self, attrs):
        attrs.setdefault("period", sla_report_period("", organization=self.context["organization"]))
        client, contract = attrs.get("client"), attrs.get("contract")
        if client is not None and contract is not None and contract.client_id != client.pk:
            raise serializers.ValidationError(
                {"contract": ["This contract is not one of the client's."]}
            )
        return attrs


class SLABreachSerializer(serializers.Serializer):
    ticket = serializers.IntegerField(source="ticket_id", help_text="The ticket's id.")
    number = serializers.IntegerField()
    title = serializers.CharField()
    kind = serializers.ChoiceField(choices=["response", "resolution"])
    due = serializers.DateTimeField()
    done_at = serializers.DateTimeField(
        allow_null=True, help_text="Empty: not done by the end of the period."
    )
    minutes_late = serializers.IntegerField(
        help_text="Wall-clock minutes past the due (up to the end of the period when not done)."
    )


def _pct(**kwargs):
    return serializers.DecimalField(
        max_digits=12, decimal_places=1, allow_null=True, coerce_to_string=True, **kwargs
    )


def _minutes(help_text: str):
    return serializers.IntegerField(allow_null=True, help_text=help_text)


class SLAReportSerializer(serializers.Serializer):
    start = serializers.DateField()
    end = serializers.DateField(help_text="The day after the period.")
    client = serializers.IntegerField(allow_null=True)
    contract = serializers.IntegerField(allow_null=True)
    opened = serializers.IntegerField()
    closed = serializers.IntegerField(help_text="Resolved in the period.")
    response_total = serializers.IntegerField(
        help_text="First responses in the period on tickets with a first-response due."
    )
    response_met = serializers.IntegerField()
    response_pct = _pct()
    resolution_total = serializers.IntegerField(
        help_text="Resolutions in the period on tickets with a resolution due."
    )
    resolution_met = serializers.IntegerField()
    resolution_pct = _pct()
    response_median = _minutes("SLA-clock minutes to the first response, median.")
    response_p90 = _minutes("SLA-clock minutes to the first response, 90th percentile.")
    resolution_median = _minutes("SLA-clock minutes to resolution, median.")
    resolution_p90 = _minutes("SLA-clock minutes to resolution, 90th percentile.")
    reopened = serializers.IntegerField()
    reopen_rate = _pct(help_text="Reopened as a % of resolved.")
    backlog = serializers.IntegerField(help_text="Open at the end of the period.")
    backlog_median_age_days = serializers.DecimalField(
        max_digits=8, decimal_places=1, allow_null=True
    )
    backlog_oldest_days = serializers.DecimalField(max_digits=8, decimal_places=1, allow_null=True)
    pauses_minutes = serializers.IntegerField(
        help_text="SLA-clock minutes of the pauses that ended in the period."
    )
    breach_count = serializers.IntegerField(help_text="Every breach; `breaches` holds the first.")
    breaches = SLABreachSerializer(many=True, help_text=f"At most {BREACHES_SHOWN}.")


class SLAReportView(GenericAPIView):
    """The SLA and KPI figures of a contract, a client or the whole practice
    over a period, and its breaches."""

    serializer_class = SLAReportSerializer
    read_roles = MONEY_READERS
    pagination_class = None
    filter_backends = []

    @extend_schema(
        parameters=[
            OpenApiParameter("client", OpenApiTypes.INT, description="A client's id."),
            OpenApiParameter(
                "contract", OpenApiTypes.INT, description="A contract's id (of the client)."
            ),
            OpenApiParameter("period", OpenApiTypes.STR, description=PERIOD_HELP),
        ],
        responses={200: SLAReportSerializer, 400: BAD_REQUEST, 403: NOT_ALLOWED},
    )
    def get(self, request, *args, **kwargs):
        organization = request.organization
        query = SLAReportQuerySerializer(
            data={key: value for key, value in request.query_params.items() if value != ""},
            context={"organization": organization},
        )
        if not query.is_valid():
            raise ValidationError(query.errors)
        data = query.validated_data
        start, end = data["period"]
        client, contract = data.get("client"), data.get("contract")
        report = sla_report(
            organization=organization, start=start, end=end, client=client, contract=contract
        )
        body = {
            **{f.name: getattr(report, f.name) for f in report.__dataclass_fields__.values()},
            "client": client.pk if client else None,
            "contract": contract.pk if contract else None,
        }
        return Response(SLAReportSerializer(body).data)
