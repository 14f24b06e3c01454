"""The API's JSON renderer (orjson) writes the bytes DRF's renderer writes."""

import datetime
import uuid
from decimal import Decimal

import pytest
from django.utils.translation import gettext_lazy
from rest_framework import renderers
from rest_framework.utils.serializer_helpers import ReturnDict, ReturnList

from msops.tenancy.api.renderers import JSONRenderer

PAYLOADS = [
    {"count": 2, "next": None, "previous": "http://x/?page=1", "results": []},
    ReturnDict(
        {
            "title": 'Ünïcode “quotes”, \u2028 and \u2029, "escaped" \\ </script>',
            "amount": Decimal("120.50"),
            "when": datetime.datetime(2026, 3, 29, 1, 30, 15, 250, tzinfo=datetime.UTC),
            "day": datetime.date(2026, 12, 7),
            "id": uuid.UUID("12345678-1234-5678-1234-567812345678"),
            "error": gettext_lazy("This field is required."),
            "nested": ReturnList([{"a": 1, "b": [True, False, None, 1.5]}], serializer=None),
            7: "a number as key",
        },
        serializer=None,
    ),
    [],
    "plain",
]


@pytest.mark.parametrize("payload", PAYLOADS)
def test_the_bytes_are_drfs(payload):
    assert JSONRenderer().render(payload) == renderers.JSONRenderer().render(payload)


def test_an_indented_answer_is_left_to_drf():
    payload = {"a": [1, 2]}
    indented = JSONRenderer().render(payload, "application/json; indent=2")
    assert indented == renderers.JSONRenderer().render(payload, "application/json; indent=2")
    assert b"\n" in indented


def test_the_api_answers_through_it(api, developer):
    response = api(developer).get("/api/v1/tickets/")
    assert isinstance(response.accepted_renderer, JSONRenderer)
