"""django-filter under django-scopes.

Building a filterset class inspects ``Model._default_manager.all().query``
(no row is read). With a ScopedManager that raises outside a scope, so class
creation, which happens at import and schema time, runs with scopes off.
Filtering itself always runs on the request's already-scoped queryset."""

import django_filters
from django_filters.rest_framework import DjangoFilterBackend
from django_scopes import scopes_disabled


class TenantFilterSet(django_filters.FilterSet):
    @classmethod
    def get_filters(cls):
        with scopes_disabled():
            return super().get_filters()


class TenantFilterBackend(DjangoFilterBackend):
    filterset_base = TenantFilterSet
