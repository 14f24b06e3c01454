"""Registers the decisions API viewsets (called by billing/api/routes.py)."""


def register(router) -> None:
    pass
