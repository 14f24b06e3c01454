from django.apps import AppConfig
from django.db.models.signals import post_migrate


class TenancyConfig(AppConfig):
    name = "msops.tenancy"
    label = "tenancy"
    verbose_name = "Tenancy"

    def ready(self) -> None:
        from .rls import install_after_migrate

        # Roles, grants and the row-level security policies, after every migrate.
        post_migrate.connect(install_after_migrate, dispatch_uid="msops_rls_install")

        from .api.fields import text_fields_take_only_text

        # The API's text fields refuse numbers and booleans (their schema says string).
        text_fields_take_only_text()

        from .audit import connect_receivers

        # Sign-ins, failed sign-ins, lockouts and sign-outs land in the audit log.
        connect_receivers()
