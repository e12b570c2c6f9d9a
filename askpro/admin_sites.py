"""Two admin sites with one theme: the platform admin (public host) and the tenant admin.

Apps register their models with ``platform_admin_site`` or ``tenant_admin_site`` in admin.py.
Each site is served by its own URLconf, so both keep Django's ``admin`` namespace.
"""

from __future__ import annotations

from typing import Any

import segno
from axes.models import AccessAttempt
from django.conf import settings
from django.contrib import admin, messages
from django.contrib.auth.admin import GroupAdmin as BaseGroupAdmin
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin
from django.contrib.auth.models import Group, User
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.urls import URLPattern, path
from django.utils.safestring import mark_safe
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext
from django_otp import login as otp_login
from django_otp.plugins.otp_totp.models import TOTPDevice
from unfold.admin import ModelAdmin
from unfold.forms import AdminPasswordChangeForm, UserChangeForm, UserCreationForm
from unfold.sites import UnfoldAdminSite

from askpro import admin_auth
from askpro.admin_display import with_euros


class SecuredAdminSite(UnfoldAdminSite):
    """Lockout-aware login with a second factor, and a page to set up TOTP and recovery codes."""

    platform = False

    def has_permission(self, request: HttpRequest) -> bool:
        if not super().has_permission(request):
            return False
        if admin_auth.is_verified(request.user):
            return True
        # A login that needs a second factor counts only once it presented one in this session.
        return not admin_auth.requires_second_factor(request.user, platform=self.platform)

    def get_urls(self) -> list[Any]:
        urls: list[URLPattern] = [
            path("two-factor/", self.admin_view(self.two_factor_view), name="two_factor"),
        ]
        return urls + super().get_urls()

    def two_factor_view(self, request: HttpRequest) -> HttpResponse:
        """Set up (or replace) the authenticator app; shows fresh recovery codes once."""
        user = request.user
        context: dict[str, Any] = {**self.each_context(request), "title": _("Two-factor authentication")}
        if request.method == "POST" and request.POST.get("action") == "recovery_codes":
            if admin_auth.has_second_factor(user):
                context["recovery_codes"] = admin_auth.replace_recovery_codes(user)
        elif request.method == "POST":
            confirmed = admin_auth.confirm_totp_enrollment(user, request.POST.get("otp_token", ""))
            if confirmed is not None:
                device, codes = confirmed
                otp_login(request, device)
                messages.success(request, _("Two-factor authentication is on."))
                context["recovery_codes"] = codes
            else:
                context["error"] = _("The authentication code is not valid.")
        context["active"] = admin_auth.has_second_factor(user)
        if "recovery_codes" not in context:
            enrollment = admin_auth.start_totp_enrollment(user)
            context["secret"] = enrollment.secret
            context["qr_svg"] = mark_safe(segno.make(enrollment.config_url).svg_inline(scale=4))  # noqa: S308
        return TemplateResponse(request, "admin/two_factor.html", context)


class AskProAdminSite(SecuredAdminSite):
    """Every registered admin (and its inlines) shows money as euros: see askpro.admin_display."""

    def register(self, model_or_iterable: Any, admin_class: Any = None, **options: Any) -> None:
        super().register(model_or_iterable, with_euros(admin_class or ModelAdmin), **options)


class PlatformAdminSite(AskProAdminSite):
    site_header = _("AskPro Platform")
    site_title = _("AskPro Platform")
    index_title = _("Platform operations")
    login_form = admin_auth.PlatformLoginForm
    platform = True


class TenantAdminSite(AskProAdminSite):
    site_header = _("AskPro")
    site_title = _("AskPro")
    index_title = _("Your business")
    login_form = admin_auth.AdminLoginForm

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


class AccessAttemptAdmin(ModelAdmin):
    """Failed logins of this host; unlocking removes the records (django-axes)."""

    list_display = ("username", "ip_address", "failures_since_start", "attempt_time")
    search_fields = ("username", "ip_address")
    ordering = ("-attempt_time",)
    readonly_fields = ("username", "ip_address", "user_agent", "failures_since_start", "attempt_time", "path_info")
    fields = readonly_fields
    actions = ("unlock",)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    @admin.action(description=_("Unlock the selected logins"), permissions=["delete"])
    def unlock(self, request: HttpRequest, queryset: QuerySet[AccessAttempt]) -> None:
        count = 0
        for attempt in queryset:
            count += admin_auth.unlock_login(username=attempt.username, ip_address=attempt.ip_address)
        self.message_user(
            request, ngettext("%(count)d record removed.", "%(count)d records removed.", count) % {"count": count}
        )


class TOTPDeviceAdmin(ModelAdmin):
    """Who uses an authenticator app; deleting a device turns the second factor off (lost phone)."""

    list_display = ("user", "name", "confirmed", "last_used_at")
    list_filter = ("confirmed",)
    search_fields = ("user__username",)
    fields = ("user", "name", "confirmed", "last_used_at")
    readonly_fields = fields

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


for _site in (platform_admin_site, tenant_admin_site):
    _site.register(AccessAttempt, AccessAttemptAdmin)
    _site.register(TOTPDevice, TOTPDeviceAdmin)
