"""Registers the billing API viewsets on the v1 router (msops/api_urls.py)."""

from . import routes_decisions, routes_jobs


def register(router) -> None:
    routes_decisions.register(router)
    routes_jobs.register(router)
