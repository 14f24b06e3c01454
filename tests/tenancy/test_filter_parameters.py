"""A list builds its filterset only when a request names one of its
parameters (msops/tenancy/api/filters.py). That shortcut is safe only if the
names it knows are every parameter the filters read: checked here against
each list's documented parameters."""

import django_filters
import pytest
from drf_spectacular.generators import SchemaGenerator

from msops.api_urls import router
from msops.tenancy.api import filters as filters_module
from msops.tenancy.api.filters import filter_parameters
from tickets.models import TimeEntry

NOT_FILTERS = {"page", "page_size", "ordering", "search", "q"}
READ_BY_THE_VIEW = {"contract-usage": {"month"}}
FILTERED = [
    (prefix, viewset)
    for prefix, viewset, _ in router.registry
    if getattr(viewset, "filterset_class", None) is not None
]


@pytest.fixture(scope="module")
def schema():
    return SchemaGenerator().get_schema(request=None, public=True)


def test_the_lists_with_filters_are_many():
    assert len(FILTERED) >= 8


@pytest.mark.parametrize(("prefix", "viewset"), FILTERED, ids=[p for p, _ in FILTERED])
def test_every_documented_filter_is_a_parameter_the_shortcut_knows(schema, prefix, viewset):
    operation = schema["paths"][f"/api/v1/{prefix}/"]["get"]
    documented = {
        parameter["name"]
        for parameter in operation.get("parameters", [])
        if parameter["in"] == "query" and parameter["name"] not in NOT_FILTERS
    }
    known = filter_parameters(viewset.filterset_class)
    assert documented, prefix
    assert documented - READ_BY_THE_VIEW.get(prefix, set()) <= known
    assert known <= documented | NOT_FILTERS


def test_a_range_filter_counts_both_of_its_names():
    class Ranged(django_filters.FilterSet):
        worked = django_filters.DateFromToRangeFilter(field_name="work_date")
        minutes = django_filters.RangeFilter()
        client = django_filters.NumberFilter()

        class Meta:
            model = TimeEntry
            fields = []

    assert filter_parameters(Ranged) == {
        "worked_after",
        "worked_before",
        "minutes_min",
        "minutes_max",
        "client",
    }


def test_a_filterset_made_per_request_is_not_remembered(api, admin_member):
    """Lists with ``filterset_fields`` get a new filterset class on every
    request from django-filter: remembering those would grow without end."""
    client = api(admin_member)
    before = len(filters_module._PARAMETERS)
    for _ in range(3):
        assert client.get("/api/v1/memberships/").status_code == 200
        assert client.get("/api/v1/memberships/", {"role": "admin"}).status_code == 200
    assert len(filters_module._PARAMETERS) == before
