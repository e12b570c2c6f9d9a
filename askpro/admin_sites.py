"""Two admin sites with one theme: the platform admin (public host) and the tenant admin.

Apps register their models with ``platform_admin_site`` or ``tenant_admin_site`` in admin.py.
Each site is served by its own URLconf, so both keep Django's ``admin`` namespace.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib.auth.admin import GroupAdmin as BaseGroupAdmin
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin
from django.contrib.auth.models import Group, User
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _
from unfold.admin import ModelAdmin
from unfold.forms import AdminPasswordChangeForm, UserChangeForm, UserCreationForm
from unfold.sites import UnfoldAdminSite

from askpro.admin_display import with_euros


class AskProAdminSite(UnfoldAdminSite):
    """Every registered admin (and its inlines) shows money as euros: see askpro.admin_display."""

    def register(self, model_or_iterable: Any, admin_class: Any = None, **options: Any) -> None:
        super().register(model_or_iterable, with_euros(admin_class or ModelAdmin), **options)


class PlatformAdminSite(AskProAdminSite):
    site_header = _("AskPro Platform")
    site_title = _("AskPro Platform")
    index_title = _("Platform operations")


class TenantAdminSite(AskProAdminSite):
    site_header = _("AskPro")
    site_title = _("AskPro")
    index_title = _("Your business")

    def each_context(self, request: HttpRequest) -> dict[str, Any]:
        context = super().each_context(request)
        tenant = getattr(request, "tenant", None)
        if tenant is not None:
            context["site_header"] = tenant.name
        return context


platform_admin_site = PlatformAdminSite(name="admin")
tenant_admin_site = TenantAdminSite(name="admin")


def environment_label(request: HttpRequest) -> list[str] | None:
    if settings.ENVIRONMENT == "production":
        return None
    return [str(_("Development")), "warning"]


class UserAdmin(BaseUserAdmin, ModelAdmin):
    form = UserChangeForm
    add_form = UserCreationForm
    change_password_form = AdminPasswordChangeForm
    list_display = ("username", "email", "first_name", "last_name", "is_active", "is_staff")


class GroupAdmin(BaseGroupAdmin, ModelAdmin):
    pass


for _site in (platform_admin_site, tenant_admin_site):
    _site.register(User, UserAdmin)
    _site.register(Group, GroupAdmin)
