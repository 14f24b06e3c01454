from django.apps import AppConfig


class TransitionsConfig(AppConfig):
    name = "transitions"

    def ready(self) -> None:
        # Billing builds the weekly review and may not import transitions: the
        # stale briefs and orphaned items join the build as a registered source.
        from billing.services.review import register_review_source

        from .review import transition_review_selects

        register_review_source(transition_review_selects)
