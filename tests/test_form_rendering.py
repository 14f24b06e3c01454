"""msops.form_rendering.WidgetRenderer writes widgets in Python: every byte
must be what Django's templates write, for every widget shape and for every
form of the project, bound and unbound."""

import datetime
import importlib
import inspect
from decimal import Decimal

import pytest
from django import forms
from django.forms.renderers import DjangoTemplates
from django.utils.safestring import mark_safe
from django.utils.translation import gettext_lazy

from msops.form_rendering import WidgetRenderer
from msops.tenancy.models import Membership
from msops.tenancy.scoping import activate_organization
from tests.factories import ClientFactory, MembershipFactory, RequestTypeFactory

ODD = "A & B <b>\"quoted\"</b> 'single'"
ATTRS = {"class": "wide", "required": True, "disabled": False, "data-n": 0, "title": ODD}
CHOICES = [
    ("", "---------"),
    (1, ODD),
    (2, mark_safe("<i>safe</i>")),
    ("Group", [("g1", gettext_lazy("Lazy label")), ("g2", 12345)]),
    (Decimal("1.50"), datetime.date(2026, 12, 7)),
]
WIDGETS = [
    (forms.TextInput(attrs=ATTRS), [None, "", ODD, mark_safe("<safe>"), 0, Decimal("10.5")]),
    (forms.NumberInput(attrs={"min": 1, "step": "any"}), [None, 3, Decimal("2.25")]),
    (forms.EmailInput(), [None, "a@b.example"]),
    (forms.URLInput(), ["https://x.example/?a=1&b=2"]),
    (forms.PasswordInput(render_value=True), ["secret<"]),
    (forms.PasswordInput(), ["not shown"]),
    (forms.HiddenInput(), [None, 7, 'v"alue', "3fa85f64-5717-4562-b3fc-2c963f66afa6"]),
    (forms.DateInput(), [None, datetime.date(2026, 12, 7), "2026-13-01"]),
    (forms.DateInput(attrs={"type": "date"}), [datetime.date(2026, 1, 2)]),
    (forms.DateTimeInput(), [datetime.datetime(2026, 12, 7, 9, 30)]),
    (forms.TimeInput(), [datetime.time(17, 30)]),
    (forms.CheckboxInput(attrs={"role": "switch"}), [None, True, False, "on", ""]),
    (forms.Textarea(attrs={"rows": 3, "maxlength": 200}), [None, "", "Line\nTwo & <three>"]),
    (forms.Select(choices=CHOICES, attrs=ATTRS), [None, "", 1, "2", "g1", Decimal("1.50")]),
    (forms.NullBooleanSelect(), [None, True, False, "unknown"]),
    (forms.SelectMultiple(choices=CHOICES), [[], [1, "g2"]]),
    (forms.RadioSelect(choices=CHOICES[:3]), [1]),
    (forms.CheckboxSelectMultiple(choices=CHOICES[:3]), [[1, 2]]),
    (forms.SplitDateTimeWidget(), [datetime.datetime(2026, 12, 7, 9, 30)]),
]
CASES = [(widget, value) for widget, values in WIDGETS for value in values]


@pytest.mark.parametrize(("widget", "value"), CASES, ids=[str(i) for i in range(len(CASES))])
def test_a_widget_is_written_as_djangos_template_writes_it(widget, value):
    attrs = {"id": "id_field", "aria-describedby": "help"}
    fast = widget.render("field", value, attrs=attrs, renderer=WidgetRenderer())
    slow = widget.render("field", value, attrs=attrs, renderer=DjangoTemplates())
    assert fast == slow


def project_forms():
    found = []
    for module_name in (
        "tickets.forms",
        "billing.forms",
        "clients.forms",
        "transitions.forms",
        "msops.tenancy.forms",
    ):
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError:
            continue
        for _, form_class in inspect.getmembers(module, inspect.isclass):
            if issubclass(form_class, forms.BaseForm) and form_class.__module__ == module_name:
                found.append(form_class)
    return found


def arguments(form_class, org) -> dict | None:
    """What a form's constructor needs, from a small world; None if it asks
    for something else."""
    known = {
        "organization": org,
        "account_managers": Membership.objects.filter(organization=org),
        "request_types": list(org.requesttype_set.all()) if hasattr(org, "requesttype_set") else [],
        "check": None,
        "entries": (),
        "risk": None,
        "keep_assignee": None,
    }
    wanted = {}
    for name, parameter in inspect.signature(form_class.__init__).parameters.items():
        if parameter.kind is not parameter.KEYWORD_ONLY:
            continue
        if name in known:
            wanted[name] = known[name]
        elif parameter.default is parameter.empty:
            return None
    return wanted


@pytest.mark.django_db
def test_every_form_of_the_project_is_written_as_djangos_templates_write_it(org):
    MembershipFactory(organization=org)
    ClientFactory(organization=org, name=ODD)
    RequestTypeFactory(organization=org, name="Onboarding & <setup>")
    compared = 0
    with activate_organization(org):
        for form_class in project_forms():
            kwargs = arguments(form_class, org)
            if kwargs is None:
                continue
            for data in (None, {name: "x<&>" for name in form_class.base_fields}):
                fast = form_class(data, **kwargs)
                fast.renderer = WidgetRenderer()
                slow = form_class(data, **kwargs)
                slow.renderer = DjangoTemplates()
                assert str(fast) == str(slow), form_class.__name__
                for name in fast.fields:
                    assert str(fast[name]) == str(slow[name]), (form_class.__name__, name)
            compared += 1
    assert compared >= 20


def test_the_project_renders_forms_with_it():
    from django.forms.renderers import get_default_renderer

    assert isinstance(get_default_renderer(), WidgetRenderer)


@pytest.mark.parametrize(
    "errors",
    [
        [],
        ["Give a value."],
        ['A & B <b>"quoted"</b>', mark_safe("<i>safe</i>")],
    ],
)
@pytest.mark.parametrize("field_id", [None, "id_title"])
@pytest.mark.parametrize("error_class", [None, "nonfield"])
def test_a_list_of_errors_is_written_as_djangos_template_writes_it(errors, field_id, error_class):
    from django.core.exceptions import ValidationError
    from django.forms.utils import ErrorList

    def written(renderer):
        listed = ErrorList(
            [ValidationError(message) for message in errors],
            error_class=error_class,
            renderer=renderer,
            field_id=field_id,
        )
        return str(listed), listed.as_ul()

    assert written(WidgetRenderer()) == written(DjangoTemplates())
