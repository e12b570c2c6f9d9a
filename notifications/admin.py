"""Tenant admin: templates with live preview, configurations, contact preferences, settings,
and the delivery queue with retry/cancel actions and a 30-day analytics panel."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect, JsonResponse
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext_lazy as _
from simple_history.admin import SimpleHistoryAdmin
from unfold.admin import ModelAdmin
from unfold.decorators import action

from appointments.access import BranchScopedAdminMixin
from askpro.admin_sites import tenant_admin_site
from askpro.errors import DomainError
from notifications import queries, services
from notifications.defaults import default_template
from notifications.events import EVENTS, Channel
from notifications.events import event_choices as events_choices
from notifications.models import (
    LANGUAGE_CHOICES,
    CustomerContactPreference,
    NotificationConfiguration,
    NotificationDelivery,
    NotificationSettings,
    NotificationTemplate,
)
from notifications.placeholders import template_problems
from notifications.rendering import PLACEHOLDERS, render


def preview(subject: str, body: str, language: str, event: str = "") -> dict[str, Any]:
    values = queries.sample_values(language)
    rendered_subject, rendered_body = render(subject, values), render(body, values)
    return {
        "subject": rendered_subject.text,
        "body": rendered_body.text,
        "unknown": sorted(set(rendered_subject.unknown + rendered_body.unknown)),
        "missing": sorted(set(rendered_subject.missing + rendered_body.missing)),
        # What the save would refuse, in German (also for placeholders this event never fills).
        "problems": template_problems(event, f"{subject}\n{body}"),
    }


class ResetToDefaultForm(forms.Form):
    """The confirmation of "reset to default" (nothing to fill in)."""

    def __init__(self, data: Any = None, *args: Any, request: HttpRequest | None = None, object_id: Any = None,
                 **kwargs: Any) -> None:
        # A POST is the confirmation, even with an empty body (unfold binds only a non-empty one).
        if data is None and request is not None and request.method == "POST":
            data = {}
        super().__init__(data, *args, **kwargs)


@admin.register(NotificationTemplate, site=tenant_admin_site)
class NotificationTemplateAdmin(SimpleHistoryAdmin, ModelAdmin):
    """The list shows every (event, channel, language) with the text in use: the built-in
    default until the tenant saves its own copy (first edit), which "reset" deletes again."""

    list_display = ("__str__", "event", "channel", "language", "is_active", "updated_at")
    list_filter = ("event", "channel", "language", "is_active")
    search_fields = ("name", "subject", "body")
    readonly_fields = ("placeholder_help", "saved_preview")
    fieldsets = (
        (None, {"fields": ("event", "channel", "language", "name", "is_active")}),
        (_("Text"), {"fields": ("subject", "body", "placeholder_help")}),
        (_("Preview with sample data"), {"fields": ("saved_preview",)}),
    )
    change_form_after_template = "notifications/admin/template_live_preview.html"
    actions_detail = ["reset_to_default"]

    def get_urls(self) -> list:
        return [
            path("preview/", self.admin_site.admin_view(self.preview_view), name="notifications_notificationtemplate_preview"),
        ] + super().get_urls()

    def preview_view(self, request: HttpRequest) -> HttpResponse:
        """Render the posted (unsaved) text with sample data; nothing is stored."""
        if not self.has_view_permission(request):
            return JsonResponse({"error": "forbidden"}, status=403)
        data = request.POST if request.method == "POST" else request.GET
        language = data.get("language") or "de"
        if language not in ("de", "en"):
            language = "de"
        return JsonResponse(preview(data.get("subject", ""), data.get("body", ""), language, data.get("event", "")))

    def changelist_view(self, request: HttpRequest, extra_context: dict[str, Any] | None = None) -> HttpResponse:
        """Every text the tenant's customers and admins can receive, default or own."""
        if not self.has_view_or_change_permission(request):
            raise PermissionDenied
        chosen = {name: request.GET.get(name, "") for name in ("event", "channel", "language")}
        labels: dict[str, dict[str, Any]] = {"event": dict(events_choices()), "channel": dict(Channel.CHOICES),
                                             "language": dict(LANGUAGE_CHOICES)}
        rows = queries.template_overview(**chosen)
        entries = [
            {"row": row, "event": labels["event"][row.event], "channel": labels["channel"][row.channel],
             "language": labels["language"][row.language]}
            for row in rows
        ]
        context = {
            **self.admin_site.each_context(request),
            "title": _("Notification templates"),
            "opts": self.model._meta,
            "entries": entries,
            "filters": [
                ("event", _("event"), events_choices(), chosen["event"]),
                ("channel", _("channel"), Channel.CHOICES, chosen["channel"]),
                ("language", _("language"), LANGUAGE_CHOICES, chosen["language"]),
            ],
            "customised_count": sum(row.customised for row in rows),
            "can_edit": self.has_add_permission(request),
            "can_reset": self.has_delete_permission(request),
            **(extra_context or {}),
        }
        return TemplateResponse(request, "notifications/admin/template_overview.html", context)

    def add_view(self, request: HttpRequest, form_url: str = "", extra_context: dict[str, Any] | None = None) -> HttpResponse:
        # Opening a default the tenant already copied opens the copy: one own text per key.
        key = {name: request.GET.get(name) for name in ("event", "channel", "language")}
        if request.method == "GET" and all(key.values()):
            own = NotificationTemplate.objects.filter(is_active=True, **key).first()
            if own is not None:
                return HttpResponseRedirect(reverse("admin:notifications_notificationtemplate_change", args=[own.pk]))
        return super().add_view(request, form_url, extra_context)

    def get_changeform_initial_data(self, request: HttpRequest) -> dict[str, Any]:
        # "Add" starts from the built-in text of the chosen event/channel/language.
        initial = super().get_changeform_initial_data(request)
        event, channel = request.GET.get("event"), request.GET.get("channel")
        if event in EVENTS and channel in Channel.ALL:
            builtin = default_template(event, channel, request.GET.get("language", "de"))
            initial.setdefault("subject", builtin.subject)
            initial.setdefault("body", builtin.body)
            initial.setdefault("name", "")
        return initial

    @action(description=_("Reset to default"), url_path="reset", permissions=["delete"],
            dialog={"title": _("Reset to default"),
                    "description": _("Deletes this business's own text; customers get the built-in default text again."),
                    "form_class": ResetToDefaultForm, "form_submit_text": _("Reset to default")})
    def reset_to_default(self, request: HttpRequest, form: ResetToDefaultForm, object_id: Any) -> HttpResponse:
        try:
            event, channel, language = services.reset_template(int(object_id))
        except DomainError as exc:
            messages.error(request, str(exc.message))
        else:
            messages.success(request, _("%(event)s · %(channel)s · %(language)s uses the default text again.") % {
                "event": dict(events_choices())[event], "channel": dict(Channel.CHOICES)[channel],
                "language": dict(LANGUAGE_CHOICES)[language],
            })
        return HttpResponseRedirect(reverse("admin:notifications_notificationtemplate_changelist"))

    @admin.display(description=_("Placeholders"))
    def placeholder_help(self, obj: NotificationTemplate | None) -> str:
        return format_html_join(
            "", "<div><code>{{{{{}}}}}</code> – {}</div>", ((name, label) for name, label in PLACEHOLDERS.items())
        )

    @admin.display(description=_("Preview"))
    def saved_preview(self, obj: NotificationTemplate | None) -> str:
        if obj is None or not obj.pk:
            return "—"
        result = preview(obj.subject, obj.body, obj.language, obj.event)
        problems = ""
        if result["problems"] or result["missing"]:
            problems = format_html('<p class="text-red-600">{}: {}</p>', _("Problems"),
                                   " ".join(result["problems"]) or ", ".join(result["missing"]))
        return format_html(
            '<div class="border rounded p-3"><strong>{}</strong><pre style="white-space:pre-wrap">{}</pre>{}</div>',
            result["subject"], result["body"], problems,
        )


@admin.register(NotificationConfiguration, site=tenant_admin_site)
class NotificationConfigurationAdmin(SimpleHistoryAdmin, ModelAdmin):
    list_display = ("event", "scope", "target", "enabled", "channel", "fallback_channel", "retry_count", "retry_delay_minutes", "template")
    list_filter = ("scope", "event", "channel", "enabled")
    search_fields = ("branch__name", "service__name", "staff__name")
    autocomplete_fields = ()
    fieldsets = (
        (_("Where it applies"), {"fields": ("event", "scope", "branch", "service", "staff"),
                                 "description": _("Staff member > service > branch > company; empty fields inherit.")}),
        (_("Preferences (any level)"), {"fields": ("channel", "template")}),
        (_("Business rules (not at staff level)"), {"fields": ("enabled", "fallback_channel", "retry_count", "retry_delay_minutes")}),
    )

    @admin.display(description=_("applies to"))
    def target(self, obj: NotificationConfiguration) -> str:
        return str(obj.branch or obj.service or obj.staff or _("whole company"))


@admin.register(CustomerContactPreference, site=tenant_admin_site)
class CustomerContactPreferenceAdmin(SimpleHistoryAdmin, ModelAdmin):
    list_display = ("customer", "preferred_channel", "customer_marketing_consent", "customer_sms_opt_out",
                    "whatsapp_opt_out", "email_opt_out", "updated_at")
    list_filter = ("preferred_channel", "customer__marketing_consent", "customer__sms_opt_out", "whatsapp_opt_out",
                   "email_opt_out")
    search_fields = ("customer__name", "customer__phone", "customer__email")
    list_select_related = ("customer",)

    # Consent and the SMS opt-out belong to the customer (edited on the customer's page).
    @admin.display(description=_("marketing consent"), boolean=True, ordering="customer__marketing_consent")
    def customer_marketing_consent(self, obj: CustomerContactPreference) -> bool:
        return obj.customer.marketing_consent

    @admin.display(description=_("no SMS"), boolean=True, ordering="customer__sms_opt_out")
    def customer_sms_opt_out(self, obj: CustomerContactPreference) -> bool:
        return obj.customer.sms_opt_out


@admin.register(NotificationSettings, site=tenant_admin_site)
class NotificationSettingsAdmin(SimpleHistoryAdmin, ModelAdmin):
    list_display = ("__str__", "business_email", "quiet_hours_enabled", "quiet_hours_start", "quiet_hours_end")
    fieldsets = (
        (_("Business contact"), {"fields": ("business_email", "business_phone", "business_telegram_chat_id", "email_from")}),
        (_("Quiet hours"), {"fields": ("quiet_hours_enabled", "quiet_hours_start", "quiet_hours_end")}),
        (_("Own provider accounts (optional)"), {
            "fields": ("twilio_account_sid", "twilio_auth_token", "twilio_from_number", "twilio_whatsapp_from", "telegram_bot_token"),
            "description": _("Leave empty to send through the platform's accounts. Tokens are stored encrypted."),
        }),
    )

    def has_add_permission(self, request: HttpRequest) -> bool:
        return not NotificationSettings.objects.exists() and super().has_add_permission(request)


@admin.register(NotificationDelivery, site=tenant_admin_site)
class NotificationDeliveryAdmin(BranchScopedAdminMixin, ModelAdmin):
    # A login limited to branches sees messages about its branches' appointments and those about none.
    branch_scope_field = "appointment__branch"
    branch_scope_keep_unassigned = True
    list_display = ("created_at", "event", "channel", "recipient", "status", "skip_reason", "attempts", "next_attempt_at", "backend", "is_fallback")
    list_filter = ("status", "channel", "event", "skip_reason", "backend", "urgent", ("created_at", admin.DateFieldListFilter))
    search_fields = ("recipient", "subject", "body", "provider_message_id", "customer__name", "dedupe_key")
    date_hierarchy = "created_at"
    list_before_template = "notifications/admin/delivery_analytics.html"
    actions = ["retry_selected", "cancel_selected"]
    list_select_related = ("customer",)

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        return [field.name for field in self.model._meta.fields]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    @admin.display(boolean=True, description=_("fallback"))
    def is_fallback(self, obj: NotificationDelivery) -> bool:
        return obj.fallback_of_id is not None

    def changelist_view(self, request: HttpRequest, extra_context: dict[str, Any] | None = None) -> HttpResponse:
        extra_context = {**(extra_context or {}), "notification_stats": queries.delivery_stats(30)}
        return super().changelist_view(request, extra_context=extra_context)

    def _apply(self, request: HttpRequest, queryset: QuerySet, operation: Any, done: str) -> None:
        ok, refused = 0, 0
        for delivery_id in queryset.values_list("pk", flat=True):
            try:
                operation(delivery_id)
                ok += 1
            except DomainError:
                refused += 1
        if ok:
            self.message_user(request, done % {"count": ok}, messages.SUCCESS)
        if refused:
            self.message_user(request, _("%(count)s notification(s) were not in a state that allows this.") % {"count": refused}, messages.WARNING)

    @action(description=_("Send again"), permissions=["change"])
    def retry_selected(self, request: HttpRequest, queryset: QuerySet) -> None:
        self._apply(request, queryset, services.retry_delivery, str(_("%(count)s notification(s) queued again.")))

    @action(description=_("Cancel"), permissions=["change"])
    def cancel_selected(self, request: HttpRequest, queryset: QuerySet) -> None:
        self._apply(request, queryset, services.cancel_delivery, str(_("%(count)s notification(s) cancelled.")))
