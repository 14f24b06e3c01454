from django.apps import AppConfig


class DemoConfig(AppConfig):
    """Demo and benchmark data (management commands only, no models)."""

    name = "msops.demo"
    label = "demo"
