"""Isolation-test data for clients (merged by tests/isolation.py)."""

from tests.isolation_types import Route, collection, obj  # noqa: F401

ROUTES: dict[str, Route] = {}


def build(organization, tag: str, world: dict) -> dict:
    """Create one of each clients tenant object for ``organization``; put ``tag``
    in their visible text. ``world`` holds what earlier builders made."""
    return {}
