"""django-filter under django-scopes.

Building a filterset class inspects ``Model._default_manager.all().query``
(no row is read). With a ScopedManager that raises outside a scope, so class
creation, which happens at import and schema time, runs with scopes off.
Filtering itself always runs on the request's already-scoped queryset."""

import datetime

import django_filters
from django_filters.fields import IsoDateTimeField
from django_filters.rest_framework import DjangoFilterBackend
from django_scopes import scopes_disabled


class TenantFilterSet(django_filters.FilterSet):
    @classmethod
    def get_filters(cls):
        with scopes_disabled():
            return super().get_filters()


class TenantFilterBackend(DjangoFilterBackend):
    filterset_base = TenantFilterSet


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
