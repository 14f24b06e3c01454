"""Base pieces every tenant API uses: the organization comes from the token
(``request.organization``), never from the payload."""

from typing import Any

from django.db import models
from rest_framework import serializers, viewsets


class TenantViewSetMixin:
    """Declare ``queryset = Model.objects.none()`` for the schema and
    implement ``get_tenant_queryset(organization)`` (usually a selector)."""

    def get_queryset(self):
        organization = getattr(self.request, "organization", None)
        if organization is None:  # schema generation, or no token
            return super().get_queryset()
        return self.get_tenant_queryset(self.request.organization)

    def get_tenant_queryset(self, organization):
        model = self.queryset.model
        return model.objects.filter(organization=organization)

    def get_serializer_context(self):
        context = super().get_serializer_context()
        context["organization"] = getattr(self.request, "organization", None)
        context["membership"] = getattr(self.request, "membership", None)
        return context


class ReadOnlyTenantViewSet(TenantViewSetMixin, viewsets.ReadOnlyModelViewSet):
    """List and read within the organization; changes are actions."""


class ServiceModelViewSet(TenantViewSetMixin, viewsets.ModelViewSet):
    """A ModelViewSet whose writes call services. Subclasses implement
    ``create_object``, ``update_object`` and ``delete_object`` (or leave
    DELETE out of ``http_method_names``)."""

    def create_object(self, data: dict[str, Any]) -> models.Model:
        raise NotImplementedError

    def update_object(self, instance: models.Model, data: dict[str, Any]) -> models.Model:
        raise NotImplementedError

    def delete_object(self, instance: models.Model) -> None:
        raise NotImplementedError

    @property
    def organization(self):
        return self.request.organization

    def _reload(self, instance: models.Model) -> models.Model:
        """The written row as the list shows it (joins and annotations)."""
        return self.get_queryset().get(pk=instance.pk)

    def perform_create(self, serializer) -> None:
        serializer.instance = self._reload(self.create_object(dict(serializer.validated_data)))

    def perform_update(self, serializer) -> None:
        instance = self.update_object(serializer.instance, dict(serializer.validated_data))
        serializer.instance = self._reload(instance)

    def perform_destroy(self, instance) -> None:
        self.delete_object(instance)


class TenantPrimaryKeyRelatedField(serializers.PrimaryKeyRelatedField):
    """A related id limited to the request's organization: a foreign id is a
    400 ("object does not exist"), never a silent cross-tenant link."""

    def to_internal_value(self, data):
        # An id is a whole number (or its digits as text): 107.7, 1e400 (JSON
        # infinity) and true are refused on the field, never rounded or looked up.
        if isinstance(data, bool | float) or (isinstance(data, str) and not data.strip().isdigit()):
            self.fail("incorrect_type", data_type=type(data).__name__)
        return super().to_internal_value(data)

    def get_queryset(self):
        organization = self.context.get("organization")
        queryset = super().get_queryset()
        if organization is None:
            return queryset.none()
        return queryset.filter(organization=organization)
