"""Registers the tickets API viewsets on the v1 router (msops/api_urls.py)."""


def register(router) -> None:
    pass
