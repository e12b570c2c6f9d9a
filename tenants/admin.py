from __future__ import annotations

from typing import Any

from django import forms
from django.conf import settings
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.translation import gettext_lazy as _
from django_tenants.admin import TenantAdminMixin
from unfold.admin import ModelAdmin, TabularInline
from unfold.decorators import action, display

from askpro.admin_sites import platform_admin_site
from askpro.errors import DomainError
from tenants import services
from tenants.models import Domain, PhoneNumber, Tenant, TenantCreation, VoiceAgent


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

    def has_delete_permission(self, request: HttpRequest, obj: Tenant | None = None) -> bool:
        return False

    def add_view(self, request: HttpRequest, form_url: str = "", extra_context: dict[str, Any] | None = None) -> HttpResponse:
        """"Create a tenant": the form validates now; a worker runs ``create_tenant`` (as
        ``manage.py tenant_create`` does) and the job's page shows how far it got."""
        if not self.has_add_permission(request):
            raise PermissionDenied
        form = TenantCreationForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            data = form.cleaned_data
            try:
                job = services.request_tenant_creation(
                    name=data["name"], slug=data["slug"], domain=data["domain"] or None,
                    admin_email=data["admin_email"], admin_password=data["admin_password"],
                    locale=data["locale"], time_zone=data["time_zone"], requested_by=request.user.get_username(),
                )
            except DomainError as exc:
                form.add_domain_error(exc)
            else:
                messages.success(request, _("The tenant %(name)s is being created.") % {"name": job.name})
                return HttpResponseRedirect(reverse("admin:tenants_tenantcreation_change", args=[job.pk]))
        context = {
            **self.admin_site.each_context(request), "title": _("Create tenant"), "form": form,
            "opts": self.model._meta, "base_domain": settings.BASE_DOMAIN,
        }
        return TemplateResponse(request, "tenants/admin/tenant_create.html", context)

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


class TenantCreationForm(forms.Form):
    name = forms.CharField(label=_("Business name"), max_length=200)
    slug = forms.CharField(label=_("Short name (slug)"), max_length=50,
                           help_text=_("Lower-case letters, digits and hyphens, e.g. salon-schmidt."))
    domain = forms.CharField(label=_("Domain"), max_length=253, required=False,
                             help_text=_("Empty: <slug>.<base domain>."))
    admin_email = forms.EmailField(label=_("Owner email"), required=False,
                                   help_text=_("Creates the owner's admin login."))
    admin_password = forms.CharField(label=_("Owner password"), required=False, widget=forms.PasswordInput,
                                     help_text=_("Empty: a password is generated and shown once."))
    locale = forms.ChoiceField(label=_("Language"), choices=Tenant.Locale.choices, initial="de")
    time_zone = forms.CharField(label=_("Time zone"), max_length=64, initial="Europe/Berlin")

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if self.errors:
            return data
        try:
            services.validate_new_tenant(name=data["name"], slug=data["slug"], domain=data["domain"] or None,
                                         time_zone=data["time_zone"], locale=data["locale"], pending=True)
        except DomainError as exc:
            self.add_domain_error(exc)
        return data

    def add_domain_error(self, exc: DomainError) -> None:
        """A refused tenant as errors on the fields it names (else on the form)."""
        fields = exc.details.get("fields") if isinstance(exc.details, dict) else None
        if not fields:
            self.add_error(None, str(exc.message))
            return
        for name, message in fields.items():
            self.add_error(name if name in self.fields else None, str(message))


@admin.register(TenantCreation, site=platform_admin_site)
class TenantCreationAdmin(ModelAdmin):
    """The jobs of "create tenant": a read-only page per job that refreshes until it is done."""

    list_display = ("name", "slug", "domain", "progress_state", "tenant", "requested_by", "created_at", "finished_at")
    list_filter = ("state",)
    search_fields = ("name", "slug", "domain")
    fields = ("name", "slug", "domain", "admin_email", "locale", "time_zone", "state", "error",
              "tenant", "admin_username", "requested_by", "created_at", "finished_at")
    readonly_fields = fields
    change_form_before_template = "tenants/admin/tenant_creation_progress.html"

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # requests come from the tenant list's "create tenant" form

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    @display(description=_("state"), ordering="state", label={
        "queued": "info", "schema": "warning", "owner": "warning", "done": "success", "failed": "danger"})
    def progress_state(self, obj: TenantCreation) -> tuple[str, str]:
        return obj.state, str(obj.get_state_display())

    def change_view(self, request: HttpRequest, object_id: str, form_url: str = "",
                    extra_context: dict[str, Any] | None = None) -> HttpResponse:
        job = self.get_object(request, object_id)
        extra: dict[str, Any] = {}
        if job is not None:
            steps = [TenantCreation.State.QUEUED, TenantCreation.State.SCHEMA, TenantCreation.State.OWNER,
                     TenantCreation.State.DONE]
            reached = steps.index(job.state) if job.state in steps else -1
            extra["creation"] = {
                "job": job,
                "steps": [(step.label, index < reached or job.state == TenantCreation.State.DONE, index == reached)
                          for index, step in enumerate(steps)],
                "password": services.reveal_owner_password(job.pk) if job.state == TenantCreation.State.DONE else "",
                "admin_url": f"http://{job.domain}{_port_suffix()}/admin/" if job.tenant_id else "",
            }
        return super().change_view(request, object_id, form_url, {**extra, **(extra_context or {})})


def _port_suffix() -> str:
    from urllib.parse import urlparse

    port = urlparse(settings.PUBLIC_URL).port
    return f":{port}" if port else ""
