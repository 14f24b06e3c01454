from django.apps import AppConfig


class TenancyConfig(AppConfig):
    name = "msops.tenancy"
    label = "tenancy"
    verbose_name = "Tenancy"
