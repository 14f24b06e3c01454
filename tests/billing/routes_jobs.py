"""Isolation-test route classification for billing jobs pages and API."""

from tests.isolation_types import Route, collection, exempt, obj  # noqa: F401

ROUTES: dict[str, Route] = {}
