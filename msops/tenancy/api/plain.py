"""A ModelSerializer's output, read from ``values()`` rows.

A list endpoint that serializes model instances spends most of its time in
Django building the instances and in DRF walking every field of every row
(``to_representation``, ``get_attribute``, a ``ReturnDict`` per row): for a
page of 50 tickets about ten times the SQL. :class:`PlainReader` reads the
same columns with ``values()`` and formats each one the way the
serializer's field would, so the list answers exactly what the serializer
answers (``tests/tickets/test_plain_reader.py`` compares the two, row by row),
and the serializer stays the one description of the output, the input rules
and the OpenAPI schema.

It handles what list serializers here are made of: model fields, related
ids, values through a relation (``source="client.name"``) and a nested
``many=True`` serializer of a reverse foreign key (read with one more
query for the whole page). Any other field is refused when the reader is
first used, so a serializer change that the reader cannot follow fails its
comparison test (and the endpoint with a 500), never with different output.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from django.conf import settings
from django.db.models import QuerySet
from django.utils import timezone
from rest_framework import fields as drf_fields
from rest_framework import relations, serializers
from rest_framework.settings import api_settings

Format = Callable[[Any], Any]


def _same(value):
    return value


def _date(value):
    return value.isoformat()


class _DateTime:
    """DRF's ISO 8601 output of a datetime: in the field's timezone (the
    current one unless the field names one), ``Z`` for UTC. The current
    timezone is looked up once per page (:meth:`bound`), not per value."""

    def __init__(self, field: drf_fields.DateTimeField):
        self.zone = getattr(field, "timezone", None)

    def bound(self, current) -> Format:
        zone = self.zone or current

        def format_datetime(value):
            text = value.astimezone(zone).isoformat()
            return text[:-6] + "Z" if text.endswith("+00:00") else text

        return format_datetime


def _choice(field: drf_fields.ChoiceField) -> Format:
    lookup = field.choice_strings_to_values

    def format_choice(value):
        return value if value == "" else lookup.get(str(value), value)

    return format_choice


# Fields whose to_representation only converts to the type the database
# already gives (str, int, bool): the value goes out as read.
AS_READ = (
    drf_fields.CharField,
    drf_fields.IntegerField,
    drf_fields.BooleanField,
    relations.PrimaryKeyRelatedField,  # values("client") is the id
)


def _formatter(field: drf_fields.Field) -> Format:
    kind = type(field)
    if isinstance(field, drf_fields.DateTimeField):
        output = getattr(field, "format", api_settings.DATETIME_FORMAT)
        if not settings.USE_TZ or output is None or output.lower() != drf_fields.ISO_8601:
            return field.to_representation
        return _DateTime(field)
    if isinstance(field, drf_fields.DateField):
        output = getattr(field, "format", api_settings.DATE_FORMAT)
        if output is not None and output.lower() == drf_fields.ISO_8601:
            return _date
        return field.to_representation
    if isinstance(field, drf_fields.ChoiceField):
        if kind.to_representation is drf_fields.ChoiceField.to_representation:
            return _choice(field)
        return field.to_representation  # e.g. BlankAsNullChoiceField
    big = drf_fields.BigIntegerField
    if kind is big and not getattr(field, "coerce_to_string", api_settings.COERCE_BIGINT_TO_STRING):
        return _same
    for base in AS_READ:
        if isinstance(field, base) and kind.to_representation is base.to_representation:
            return _same
    if isinstance(field, drf_fields.DecimalField | drf_fields.FloatField | drf_fields.UUIDField):
        return field.to_representation
    raise TypeError(
        f"PlainReader cannot read {kind.__name__} {field.field_name!r}; "
        "give it a formatter or keep the serializer for this endpoint."
    )


class PlainReader:
    """Reads ``serializer_class``'s output from ``values()`` rows.

    ``nested`` names the ``many=True`` fields and, for each, the foreign key
    of the nested model that points back to the row; :meth:`rows` is given
    the queryset to read them from (the organization's, ordered)."""

    def __init__(self, serializer_class: type[serializers.Serializer], **nested: str):
        self.serializer_class = serializer_class
        self.nested = nested
        self._built = None

    def _build(self):
        if self._built is None:
            serializer = self.serializer_class()
            columns, plan, children = ["pk"], [], {}
            for name, field in serializer.fields.items():
                if getattr(field, "write_only", False):
                    continue
                if isinstance(field, serializers.ListSerializer):
                    children[name] = (self.nested[name], PlainReader(type(field.child)))
                    plan.append((name, None, None))
                    continue
                if isinstance(field, serializers.BaseSerializer):
                    raise TypeError(f"PlainReader cannot read the nested serializer {name!r}.")
                column = "__".join(field.source_attrs)
                if column not in columns:
                    columns.append(column)
                plan.append((name, column, _formatter(field)))
            self._built = (columns, plan, children)
        return self._built

    @property
    def columns(self) -> list[str]:
        return self._build()[0]

    def values(self, queryset: QuerySet) -> QuerySet:
        """The queryset as the rows :meth:`rows` reads (joins it needs only)."""
        return queryset.select_related(None).prefetch_related(None).values(*self.columns)

    def rows(self, rows: Iterable[dict], **nested_querysets: QuerySet) -> list[dict]:
        """The serializer's output for each row; a nested list is read, for
        the whole page in one query, from ``nested_querysets[name]``."""
        _, plan, children = self._build()
        current = timezone.get_current_timezone()
        plan = [
            (name, column, fmt.bound(current) if isinstance(fmt, _DateTime) else fmt)
            for name, column, fmt in plan
        ]
        rows = list(rows)
        nested_rows = {}
        for name, (link, reader) in children.items():
            queryset = nested_querysets[name]
            by_parent: dict[Any, list[dict]] = {}
            if rows:
                found = (
                    queryset.filter(**{f"{link}__in": [row["pk"] for row in rows]})
                    .select_related(None)
                    .values(*reader.columns, link)
                )
                for child in found:
                    by_parent.setdefault(child.pop(link), []).append(child)
            nested_rows[name] = (reader, by_parent)
        out = []
        for row in rows:
            item = {}
            for name, column, formatter in plan:
                if column is None:
                    reader, by_parent = nested_rows[name]
                    item[name] = reader.rows(by_parent.get(row["pk"], ()))
                    continue
                value = row[column]
                item[name] = None if value is None else formatter(value)
            out.append(item)
        return out
