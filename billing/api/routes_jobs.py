"""Registers the jobs API viewsets (called by billing/api/routes.py)."""


def register(router) -> None:
    pass
