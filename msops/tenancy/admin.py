"""Admin for the tenancy core, and the base every tenant model's admin uses:
a staff member who is not a superuser sees only their organizations' rows."""

from django.contrib import admin
from django_scopes import scopes_disabled

from .models import ApiToken, AuthEvent, Invitation, Membership, Organization


def admin_organization_ids(request) -> list[int] | None:
    """Organizations a staff user may administer; None means all (superuser)."""
    if request.user.is_superuser:
        return None
    with scopes_disabled():
        return list(
            Membership.objects.filter(user=request.user, role="admin").values_list(
                "organization_id", flat=True
            )
        )


def _rendered(response):
    """Render a TemplateResponse while scopes are still off: forms and inlines
    query when they render."""
    if hasattr(response, "render") and not getattr(response, "is_rendered", True):
        response.render()
    return response


class TenantAdmin(admin.ModelAdmin):
    """Admin outside a request scope: rows are filtered explicitly to the
    organizations the staff member administers."""

    def get_queryset(self, request):
        with scopes_disabled():
            queryset = self.model.objects.all()
            ids = admin_organization_ids(request)
            return queryset if ids is None else queryset.filter(organization_id__in=ids)

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        with scopes_disabled():
            field = super().formfield_for_foreignkey(db_field, request, **kwargs)
            ids = admin_organization_ids(request)
            if ids is not None and field is not None:
                model = db_field.related_model
                if model is Organization:
                    field.queryset = field.queryset.filter(pk__in=ids)
                elif hasattr(model, "organization_id") or any(
                    f.name == "organization" for f in model._meta.fields
                ):
                    field.queryset = field.queryset.filter(organization_id__in=ids)
            return field

    def changeform_view(self, request, *args, **kwargs):
        with scopes_disabled():
            return _rendered(super().changeform_view(request, *args, **kwargs))

    def changelist_view(self, request, *args, **kwargs):
        with scopes_disabled():
            return _rendered(super().changelist_view(request, *args, **kwargs))

    def delete_view(self, request, *args, **kwargs):
        with scopes_disabled():
            return _rendered(super().delete_view(request, *args, **kwargs))

    def history_view(self, request, *args, **kwargs):
        with scopes_disabled():
            return _rendered(super().history_view(request, *args, **kwargs))


@admin.register(Organization)
class OrganizationAdmin(admin.ModelAdmin):
    list_display = ["name", "slug", "timezone", "currency", "default_hourly_rate"]
    search_fields = ["name", "slug"]
    prepopulated_fields = {"slug": ["name"]}

    def get_queryset(self, request):
        queryset = super().get_queryset(request)
        ids = admin_organization_ids(request)
        return queryset if ids is None else queryset.filter(pk__in=ids)


@admin.register(Membership)
class MembershipAdmin(TenantAdmin):
    list_display = ["user", "organization", "role"]
    list_filter = ["role"]
    search_fields = ["user__username", "organization__name"]
    autocomplete_fields = ["user"]


@admin.register(ApiToken)
class ApiTokenAdmin(TenantAdmin):
    list_display = ["name", "prefix", "membership", "created_at", "expires_at", "revoked_at"]
    readonly_fields = ["prefix", "token_hash", "created_at", "last_used_at"]
    search_fields = ["name", "prefix"]


@admin.register(AuthEvent)
class AuthEventAdmin(TenantAdmin):
    """Read only: the audit log is written by msops.tenancy.audit alone. A staff
    member who is not a superuser sees their organizations' token events; the
    session events (no organization) show to superusers."""

    list_display = ["at", "kind", "username", "ip_address", "organization"]
    list_filter = ["kind"]
    search_fields = ["username", "ip_address"]
    readonly_fields = [f.name for f in AuthEvent._meta.fields]

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


@admin.register(Invitation)
class InvitationAdmin(TenantAdmin):
    """Read only: invitations are sent, resent, revoked and accepted through
    msops.tenancy.team (the team page and the API), never edited here."""

    list_display = ["email", "role", "organization", "created_at", "expires_at", "accepted_at"]
    list_filter = ["role"]
    search_fields = ["email", "name"]
    readonly_fields = [f.name for f in Invitation._meta.fields if f.name != "nonce"]

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False
