from django.apps import AppConfig


class BillingConfig(AppConfig):
    name = "billing"

    def ready(self) -> None:
        from msops import period_guard

        from .services.periods import ensure_open

        # Lower layers ask billing whether a client's month is locked.
        period_guard.register(ensure_open)
