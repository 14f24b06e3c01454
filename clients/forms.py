"""Forms of the clients pages. They check shape only; the services check the
rules, and their errors are put back on the form by
:func:`msops.forms.add_service_errors`."""

import datetime
from collections.abc import Iterable

from django import forms

from msops.forms import MemberChoiceField
from msops.limits import NOTE_MAX, LimitedTextField
from msops.tenancy.models import Membership
from tickets.forms import MinutesField

from .models import BlockTopUp, Client, RequestType, ScopeRule, Treatment


def _max(model, field: str) -> int:
    return model._meta.get_field(field).max_length


class ClientForm(forms.Form):
    name = LimitedTextField(limit=_max(Client, "name"), what="Names")
    status = forms.ChoiceField(choices=Client.Status.choices, initial=Client.Status.ONBOARDING)
    account_manager = MemberChoiceField(
        queryset=Membership.objects.none(), required=False, empty_label="No one yet"
    )
    billing_notes = LimitedTextField(
        limit=NOTE_MAX,
        what="Billing notes",
        required=False,
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text="Shown beside the work on every ticket of this client.",
    )

    def __init__(self, *args, account_managers, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["account_manager"].queryset = account_managers

    @classmethod
    def initial_for(cls, client: Client) -> dict:
        return {
            "name": client.name,
            "status": client.status,
            "account_manager": client.account_manager_id,
            "billing_notes": client.billing_notes,
        }


class ScopeRuleForm(forms.Form):
    """A scope rule's terms; ``request_types`` adds the request type choice
    (when adding a rule)."""

    request_type = forms.TypedChoiceField(coerce=int, required=False)
    treatment = forms.ChoiceField(choices=Treatment.choices)
    expected_minutes = forms.IntegerField(
        required=False, min_value=1, help_text="Empty: the request type's expected time."
    )
    approval_threshold_minutes = forms.IntegerField(
        required=False, min_value=1, help_text="Past this much time the work needs approval."
    )
    rate_override = forms.DecimalField(required=False, min_value=0, max_digits=12, decimal_places=2)
    explanation = LimitedTextField(
        limit=_max(ScopeRule, "explanation"),
        what="Explanations",
        required=False,
        help_text="The one line a developer sees.",
    )
    effective_from = forms.DateField(
        required=False,
        label="Effective from",
        widget=forms.DateInput(attrs={"type": "date"}),
        help_text="Work dated from this day on is judged by this revision; "
        "earlier work keeps the revision it had. Empty: today.",
    )

    def __init__(self, *args, request_types: Iterable[RequestType] | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        if request_types is None:
            del self.fields["request_type"]
            self._request_types = {}
        else:
            # Choices from request types already loaded for the page: no query.
            self._request_types = {rt.pk: rt for rt in request_types}
            field = self.fields["request_type"]
            field.required = True
            field.choices = [("", "Choose a request type")] + [
                (rt.pk, rt.name) for rt in self._request_types.values()
            ]

    def clean_request_type(self) -> RequestType | None:
        value = self.cleaned_data.get("request_type")
        return self._request_types.get(value) if value not in (None, "") else None

    @staticmethod
    def initial_for(rule, *, effective_from: datetime.date | None = None) -> dict:
        return {
            "treatment": rule.treatment,
            "expected_minutes": rule.expected_minutes,
            "approval_threshold_minutes": rule.approval_threshold_minutes,
            "rate_override": rule.rate_override,
            "explanation": rule.explanation,
            "effective_from": effective_from,
        }


class ScopeRuleEndForm(forms.Form):
    """End a rule from a date (or withdraw a revision not in force yet)."""

    effective_from = forms.DateField(
        required=False,
        label="No rule from",
        widget=forms.DateInput(attrs={"type": "date"}),
        help_text="From this day the request type's default applies. Empty: today.",
    )


class RequestTypeForm(forms.Form):
    name = LimitedTextField(limit=_max(RequestType, "name"), what="Names")
    default_treatment = forms.ChoiceField(
        choices=Treatment.choices, initial=Treatment.INCLUDED, label="Default billing"
    )
    expected_minutes = forms.IntegerField(min_value=1, initial=60, label="Expected minutes")
    is_catch_all = forms.BooleanField(
        required=False, label="Catch-all (“other”, “general”): its overuse is measured"
    )


class BlockTopUpForm(forms.Form):
    """Prepaid time added to a block of hours. The rules (a day in the
    contract's run, one minute or more, a price of zero or more) are the
    service's, so its messages are the ones shown."""

    added_on = forms.DateField(
        label="Added on",
        widget=forms.DateInput(attrs={"type": "date"}),
        help_text="Charged in this month; its expiry follows the terms in force that day.",
    )
    minutes = MinutesField(label="Time", help_text="Hours:minutes (20:00) or minutes (1200).")
    price = forms.DecimalField(max_digits=12, decimal_places=2)
    note = LimitedTextField(limit=_max(BlockTopUp, "note"), what="Notes", required=False)


SLA_WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")


def _day_field(day: str) -> forms.CharField:
    return forms.CharField(
        required=False,
        max_length=200,
        label=day.capitalize(),
        help_text="HH:MM-HH:MM, several separated by commas; empty: closed.",
    )


class SLACalendarForm(forms.Form):
    """A new version of a contract's business hours: the open hours of each
    weekday, the timezone, the country whose public holidays are closed and
    extra closed days. The service checks the rules (times, overlaps, some
    open time, a known zone and country) and names the field it refuses."""

    monday = _day_field("monday")
    tuesday = _day_field("tuesday")
    wednesday = _day_field("wednesday")
    thursday = _day_field("thursday")
    friday = _day_field("friday")
    saturday = _day_field("saturday")
    sunday = _day_field("sunday")
    time_zone = forms.CharField(
        required=False,
        max_length=64,
        label="Timezone",
        help_text="IANA name such as Europe/London; empty: the practice's timezone.",
    )
    holiday_country = forms.CharField(
        required=False,
        max_length=8,
        label="Public holidays of",
        help_text="Country code such as GB; empty: no public holidays.",
    )
    holiday_subdivision = forms.CharField(
        required=False, max_length=16, label="Region", help_text="Such as ENG; empty: national."
    )
    closed_days = forms.CharField(
        required=False,
        max_length=5000,
        label="Extra closed days",
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text="Dates as YYYY-MM-DD, separated by commas or lines.",
    )

    def _clean_day(self, day: str) -> list[list[str]]:
        text = (self.cleaned_data.get(day) or "").strip()
        intervals = []
        for part in filter(None, (p.strip() for p in text.replace(";", ",").split(","))):
            bounds = [b.strip() for b in part.replace("–", "-").split("-")]
            if len(bounds) != 2 or not all(bounds):
                raise forms.ValidationError(f"Write “{part[:20]}” as HH:MM-HH:MM.")
            intervals.append(bounds)
        return intervals

    def clean_closed_days(self) -> list[str]:
        text = self.cleaned_data.get("closed_days") or ""
        return [d.strip() for d in text.replace(",", "\n").splitlines() if d.strip()]

    def clean(self):
        cleaned = super().clean()
        for day in SLA_WEEKDAYS:
            if day in self.errors:
                continue
            try:
                cleaned[day] = self._clean_day(day)
            except forms.ValidationError as error:
                self.add_error(day, error)
        return cleaned

    def calendar_data(self) -> dict:
        """The service's ``data`` from the cleaned form."""
        cleaned = self.cleaned_data
        return {
            "hours": [cleaned[day] for day in SLA_WEEKDAYS],
            "time_zone": cleaned["time_zone"],
            "holiday_country": cleaned["holiday_country"],
            "holiday_subdivision": cleaned["holiday_subdivision"],
            "closed_days": cleaned["closed_days"],
        }

    @staticmethod
    def initial_for(calendar) -> dict:
        """The form filled from a calendar version (or Monday to Friday 09:00–17:00)."""
        if calendar is None:
            hours = [[["09:00", "17:00"]]] * 5 + [[], []]
            return {
                day: ", ".join(f"{s}-{e}" for s, e in intervals)
                for day, intervals in zip(SLA_WEEKDAYS, hours, strict=True)
            }
        initial = {
            day: ", ".join(f"{s}-{e}" for s, e in intervals)
            for day, intervals in zip(SLA_WEEKDAYS, calendar.hours, strict=False)
        }
        initial.update(
            time_zone=calendar.time_zone,
            holiday_country=calendar.holiday_country,
            holiday_subdivision=calendar.holiday_subdivision,
            closed_days="\n".join(calendar.closed_days or []),
        )
        return initial
