"""django-filter under django-scopes.

Building a filterset class inspects ``Model._default_manager.all().query``
(no row is read). With a ScopedManager that raises outside a scope, so class
creation, which happens at import and schema time, runs with scopes off.
Filtering itself always runs on the request's already-scoped queryset.

One answer on every list: a related id (``TenantIdFilter``) that is unknown,
another organization's or not a whole number is a 400 on the parameter.
``ordering`` and ``search`` exist (and are documented) only on views that
declare ``ordering_fields`` / ``search_fields``."""

import datetime

import django_filters
from django.core.exceptions import ValidationError
from django.db import models
from django_filters.fields import IsoDateTimeField, ModelChoiceField
from django_filters.rest_framework import DjangoFilterBackend
from django_scopes import scopes_disabled
from rest_framework.exceptions import ValidationError as InvalidInput
from rest_framework.filters import OrderingFilter, SearchFilter

BOOLEANS = frozenset({"true", "false"})  # as the schema says (a boolean)


class TenantFilterSet(django_filters.FilterSet):
    """A list's filters, strict about what they are given: a parameter that
    is present must carry a value (``?work_date_to=`` is a 400, not "no
    filter"; free text may be empty), and a boolean is ``true`` or ``false`` (``?unassigned=null`` is
    a 400, not "either") — each as its schema says."""

    @classmethod
    def get_filters(cls):
        with scopes_disabled():
            return super().get_filters()

    def is_valid(self):
        valid = super().is_valid()
        if not self.is_bound:
            return valid
        for name, message in self._strict_errors().items():
            self.form.add_error(name, ValidationError(message, code="invalid"))
            valid = False
        return valid

    def _strict_errors(self) -> dict[str, str]:
        errors = {}
        for name, field in self.form.fields.items():
            widget = field.widget
            suffixes = getattr(widget, "suffixes", None)
            keys = [widget.suffixed(name, suffix) for suffix in suffixes] if suffixes else [name]
            values = [value for key in keys for value in self.data.getlist(key)]
            text = type(self.filters.get(name)) is django_filters.CharFilter  # "" is text
            if not text and any(not value.strip() for value in values):
                errors[name] = "Give a value, or leave the parameter out."
            elif isinstance(self.filters.get(name), django_filters.BooleanFilter) and any(
                value not in BOOLEANS for value in values
            ):
                errors[name] = "Give true or false."
        return errors


class TenantFilterBackend(DjangoFilterBackend):
    """A list's filters (its documented query parameters). A route of one
    object (``/tickets/5/``, ``/tickets/5/out-of-scope/``) documents none and
    ignores them, so a stray ``?client=`` never turns its 404 into a 400."""

    filterset_base = TenantFilterSet

    def filter_queryset(self, request, queryset, view):
        if getattr(view, "detail", False):
            return queryset
        # A declared filterset (not one django-filter makes per request from
        # ``filterset_fields``) given none of its parameters: every filter would
        # pass the rows through, so it is not built (a deep copy of its filters
        # and a form per request).
        declared = getattr(view, "filterset_class", None)
        if declared is not None and not (request.query_params.keys() & filter_parameters(declared)):
            return queryset
        return super().filter_queryset(request, queryset, view)


_PARAMETERS: dict[type, frozenset[str]] = {}


def filter_parameters(filterset_class) -> frozenset[str]:
    """The query parameters a declared filterset reads (a range filter's two
    names), worked out once per class."""
    names = _PARAMETERS.get(filterset_class)
    if names is None:
        found = set()
        for name, declared in filterset_class.base_filters.items():
            # Not ``declared.field``: that would build (and keep) the class's
            # form field outside any request.
            widget = declared.extra.get("widget") or declared.field_class.widget
            if isinstance(widget, type):
                widget = widget()
            suffixes = getattr(widget, "suffixes", None)
            if suffixes:
                found.update(widget.suffixed(name, suffix) for suffix in suffixes)
            else:
                found.add(name)
        names = _PARAMETERS[filterset_class] = frozenset(found)
    return names


class UtcIsoDateTimeField(IsoDateTimeField):
    """An ISO 8601 moment with any offset Python accepts (up to ±23:59),
    handed to the database in UTC: PostgreSQL refuses offsets past ±15:59."""

    def to_python(self, value):
        moment = super().to_python(value)
        if moment is not None and moment.tzinfo is not None:
            moment = moment.astimezone(datetime.UTC)
        return moment


class UtcIsoDateTimeFilter(django_filters.IsoDateTimeFilter):
    """A datetime filter whose value reaches the database in UTC."""

    field_class = UtcIsoDateTimeField


def organization_rows(model):
    """A filter's choices: the request's organization's rows of ``model``."""

    def queryset(request):
        organization = getattr(request, "organization", None)
        if organization is None:
            return model.objects.none()
        return model.objects.filter(organization=organization)

    return queryset


class TenantIdField(ModelChoiceField):
    """The id of one of the organization's rows. Not a whole number ("abc",
    "1.5", "1e400") is refused as such; an unknown id and another
    organization's id are refused with the same message, so the answer never
    tells whether another organization's row exists."""

    default_error_messages = {"not_an_id": "Give an id: a whole number, e.g. 42."}

    def to_python(self, value):
        if value in self.empty_values:
            return None
        text = str(value).strip()
        if not (text.isascii() and text.isdigit()):
            raise ValidationError(self.error_messages["not_an_id"], code="not_an_id")
        return super().to_python(text)


class TenantIdFilter(django_filters.ModelChoiceFilter):
    """Every list's filter by a related row's id (``?client=42``): a row of
    the token's organization, else 400 on the parameter — the one answer for
    an unknown id, another organization's id and a value that is not an id.
    ``field_name`` defaults to the filter's name; name the path for a
    relation further away (``field_name="period__client"``)."""

    field_class = TenantIdField

    def __init__(self, model: type[models.Model], **kwargs):
        self.target = model
        kwargs.setdefault("queryset", organization_rows(model))
        kwargs.setdefault(
            "help_text",
            f"The id of one of your organization's {model._meta.verbose_name_plural}; "
            "an unknown id is a 400.",
        )
        super().__init__(**kwargs)


class DeclaredOrderingFilter(OrderingFilter):
    """``?ordering=`` by the fields a view declares in ``ordering_fields``,
    and only there: no fallback to the serializer's fields, and no parameter
    in the schema of a view that declares none. Anything else is a 400 on
    ``ordering`` (a list's, like its filters; a route of one object ignores it)."""

    def get_valid_fields(self, queryset, view, context=None):
        if not getattr(view, "ordering_fields", None):
            return []
        return super().get_valid_fields(queryset, view, context or {})

    def filter_queryset(self, request, queryset, view):
        if getattr(view, "detail", False):
            return queryset
        return super().filter_queryset(request, queryset, view)

    def remove_invalid_fields(self, queryset, fields, view, request):
        valid = super().remove_invalid_fields(queryset, fields, view, request)
        if len(valid) != len([field for field in fields if field.strip()]):
            allowed = (
                ", ".join(view.ordering_fields)
                if getattr(view, "ordering_fields", None)
                else "nothing"
            )
            raise InvalidInput({self.ordering_param: [f"Order by {allowed} (- for descending)."]})
        return valid

    def get_schema_operation_parameters(self, view):
        fields = getattr(view, "ordering_fields", None)
        if not fields:
            return []
        parameters = super().get_schema_operation_parameters(view)
        for parameter in parameters:
            parameter["description"] = (
                f"Order by {', '.join(fields)}; prefix - for descending, comma-separate "
                "several. Anything else is a 400."
            )
        return parameters


class DeclaredSearchFilter(SearchFilter):
    """``?search=`` over the view's ``search_fields`` (case-insensitive,
    every word must match), documented with the fields it searches."""

    def get_schema_operation_parameters(self, view):
        fields = getattr(view, "search_fields", None)
        if not fields:
            return []
        parameters = super().get_schema_operation_parameters(view)
        searched = ", ".join(field.replace("__", " ") for field in fields)
        for parameter in parameters:
            parameter["description"] = (
                f"Every word must be contained (case-insensitive) in one of: {searched}."
            )
        return parameters


# The default list backends (settings ``DEFAULT_FILTER_BACKENDS``) and, for a
# view that declares ``search_fields``, the same with search.
LIST_FILTER_BACKENDS = [TenantFilterBackend, DeclaredOrderingFilter]
SEARCHABLE_FILTER_BACKENDS = [*LIST_FILTER_BACKENDS, DeclaredSearchFilter]
