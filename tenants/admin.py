from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _
from django_tenants.admin import TenantAdminMixin
from unfold.admin import ModelAdmin, TabularInline
from unfold.decorators import action, display

from askpro.admin_sites import platform_admin_site
from tenants import services
from tenants.models import Domain, PhoneNumber, Tenant, VoiceAgent


def _label(db_field: Any, request: HttpRequest, formfield: Any) -> Any:
    # django-tenants' fields carry no translatable verbose names ("Schema name", "Is primary").
    if formfield is not None and db_field.name in FIELD_LABELS:
        formfield.label = FIELD_LABELS[db_field.name]
    return formfield


FIELD_LABELS = {"schema_name": _("database schema"), "is_primary": _("primary domain"), "domain": _("domain"),
                "tenant": _("tenant")}


class DomainInline(TabularInline):
    model = Domain
    extra = 0
    fields = ("domain", "is_primary")

    def formfield_for_dbfield(self, db_field: Any, request: HttpRequest, **kwargs: Any) -> Any:
        return _label(db_field, request, super().formfield_for_dbfield(db_field, request, **kwargs))


@admin.register(Tenant, site=platform_admin_site)
class TenantAdmin(TenantAdminMixin, ModelAdmin):
    list_display = ("name", "slug", "schema", "state", "locale", "time_zone", "created_at")
    list_filter = ("status", "locale", "is_template")
    search_fields = ("name", "slug", "schema_name", "domains__domain")
    readonly_fields = ("schema", "slug", "is_template", "created_at", "updated_at")
    fields = ("name", "slug", "schema", "status", "suspended_reason", "locale", "time_zone", "is_template", "created_at", "updated_at")

    @display(description=_("database schema"), ordering="schema_name")
    def schema(self, obj: Tenant) -> str:
        return obj.schema_name

    @display(description=_("status"), ordering="status",
             label={"template": "info", "active": "success", "suspended": "danger"})
    def state(self, obj: Tenant) -> tuple[str, str]:
        # The template schema is no business: it is never "Aktiv".
        if obj.is_template:
            return "template", str(_("Template (no business)"))
        return obj.status, str(obj.get_status_display())
    inlines = [DomainInline]
    actions = ["suspend", "reactivate"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        # Creation clones a schema and creates an admin login: use `manage.py tenant_create`.
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Tenant | None = None) -> bool:
        return False

    def get_queryset(self, request: HttpRequest) -> QuerySet[Tenant]:
        return super().get_queryset(request).exclude(schema_name="public")

    @action(description=_("Suspend selected tenants"))
    def suspend(self, request: HttpRequest, queryset: QuerySet[Tenant]) -> None:
        for tenant in queryset.filter(is_template=False):
            services.set_tenant_status(tenant, Tenant.Status.SUSPENDED, reason="suspended in admin")
        messages.success(request, _("Tenants suspended."))

    @action(description=_("Reactivate selected tenants"))
    def reactivate(self, request: HttpRequest, queryset: QuerySet[Tenant]) -> None:
        for tenant in queryset:
            services.set_tenant_status(tenant, Tenant.Status.ACTIVE)
        messages.success(request, _("Tenants reactivated."))


@admin.register(Domain, site=platform_admin_site)
class DomainAdmin(ModelAdmin):
    list_display = ("domain", "tenant", "primary")
    search_fields = ("domain", "tenant__name")
    autocomplete_fields = ("tenant",)

    @display(description=_("primary domain"), boolean=True, ordering="is_primary")
    def primary(self, obj: Domain) -> bool:
        return bool(obj.is_primary)

    def formfield_for_dbfield(self, db_field: Any, request: HttpRequest, **kwargs: Any) -> Any:
        return _label(db_field, request, super().formfield_for_dbfield(db_field, request, **kwargs))


@admin.register(PhoneNumber, site=platform_admin_site)
class PhoneNumberAdmin(ModelAdmin):
    list_display = ("number", "tenant", "label", "inbound_agent_id", "is_active")
    list_filter = ("is_active", "tenant")
    search_fields = ("number", "label", "tenant__name")
    autocomplete_fields = ("tenant",)


@admin.register(VoiceAgent, site=platform_admin_site)
class VoiceAgentAdmin(ModelAdmin):
    list_display = ("agent_id", "name", "tenant", "is_active")
    list_filter = ("is_active", "tenant")
    search_fields = ("agent_id", "name", "tenant__name")
    autocomplete_fields = ("tenant",)
