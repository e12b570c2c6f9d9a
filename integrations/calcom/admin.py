"""Tenant admin: the Cal.com connection (credentials write-only), mappings, sync state, drift."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from simple_history.admin import SimpleHistoryAdmin
from unfold.admin import ModelAdmin, TabularInline
from unfold.decorators import display
from unfold.widgets import UnfoldAdminPasswordWidget

from askpro.admin_sites import tenant_admin_site
from askpro.outbox import delay_on_commit
from integrations.calcom.models import (
    BookingSync,
    BookingTombstone,
    CalcomConnection,
    DriftRecord,
    EventTypeMapping,
    StaffMapping,
)


class CalcomConnectionForm(forms.ModelForm):
    """Secrets are write-only: an empty field keeps the stored value."""

    api_url = forms.URLField(label=_("API URL"), required=False, assume_scheme="https",
                             help_text=_("Leave empty for https://api.cal.com. The local sandbox for development."))
    api_key = forms.CharField(label=_("API key"), required=False, widget=UnfoldAdminPasswordWidget(render_value=False),
                              help_text=_("Leave empty to keep the stored key."))
    webhook_secret = forms.CharField(label=_("webhook secret"), required=False,
                                     widget=UnfoldAdminPasswordWidget(render_value=False),
                                     help_text=_("Leave empty to keep the stored secret."))

    class Meta:
        model = CalcomConnection
        fields = ("is_active", "api_url", "api_key", "webhook_secret", "team_id", "organizer_email", "conflict_strategy")

    def clean(self) -> dict[str, Any]:
        super().clean()
        data = self.cleaned_data  # what ModelForm.clean() returns (its stub says it may be None)
        for name in ("api_key", "webhook_secret"):
            if not data.get(name) and self.instance.pk:
                data[name] = getattr(self.instance, name)
        return data


@admin.register(CalcomConnection, site=tenant_admin_site)
class CalcomConnectionAdmin(SimpleHistoryAdmin, ModelAdmin):
    form = CalcomConnectionForm
    list_display = ("__str__", "is_active", "has_api_key", "has_webhook_secret", "team_id", "conflict_strategy",
                    "last_webhook_at", "last_ping_at", "last_reconciled_at")
    readonly_fields = ("last_webhook_at", "last_ping_at", "last_reconciled_at")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return not CalcomConnection.objects.exists() and super().has_add_permission(request)

    @display(description=_("API key set"), boolean=True)
    def has_api_key(self, obj: CalcomConnection) -> bool:
        return bool(obj.api_key)

    @display(description=_("webhook secret set"), boolean=True)
    def has_webhook_secret(self, obj: CalcomConnection) -> bool:
        return bool(obj.webhook_secret)


@admin.register(EventTypeMapping, site=tenant_admin_site)
class EventTypeMappingAdmin(SimpleHistoryAdmin, ModelAdmin):
    list_display = ("service", "event_type_id", "slug", "is_team_event", "length_minutes", "last_pushed_at")
    list_filter = ("is_team_event",)
    search_fields = ("service__name", "slug", "event_type_id")


@admin.register(StaffMapping, site=tenant_admin_site)
class StaffMappingAdmin(SimpleHistoryAdmin, ModelAdmin):
    list_display = ("staff", "calcom_user_id", "username", "email")
    search_fields = ("staff__name", "username", "email")


@admin.register(BookingSync, site=tenant_admin_site)
class BookingSyncAdmin(SimpleHistoryAdmin, ModelAdmin):
    list_display = ("appointment", "booking_uid", "state", "push_attempts", "short_error", "next_push_at",
                    "last_pushed_at", "last_pulled_at")
    list_filter = ("state",)
    search_fields = ("booking_uid", "last_error")
    list_select_related = ("appointment",)
    actions = ["push_now"]
    readonly_fields = ("appointment", "booking_uid", "booking_id", "previous_uids", "state", "push_attempts",
                       "last_error", "next_push_at", "last_pushed_at", "last_pulled_at", "remote_updated_at")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False  # the sync state is written by the sync; "push now" is an action

    @display(description=_("last error"))
    def short_error(self, obj: BookingSync) -> str:
        return obj.last_error[:80]

    @admin.action(description=_("Push to Cal.com again now"))
    def push_now(self, request: HttpRequest, queryset: Any) -> None:
        from integrations.calcom import push
        from integrations.calcom.tasks import push_appointment

        queued = 0
        for appointment_id in queryset.values_list("appointment_id", flat=True):
            if push.request_push(appointment_id) is not None:
                delay_on_commit(push_appointment, appointment_id)
                queued += 1
        self.message_user(request, _("%(count)s push(es) queued.") % {"count": queued})


@admin.register(DriftRecord, site=tenant_admin_site)
class DriftRecordAdmin(ModelAdmin):
    list_display = ("created_at", "appointment", "booking_uid", "field", "state", "strategy", "resolved_at", "note")
    list_filter = ("state", "field", "strategy")
    search_fields = ("booking_uid", "note")
    list_select_related = ("appointment",)
    actions = ["mark_reviewed"]
    readonly_fields = ("appointment", "booking_uid", "field", "local_value", "remote_value", "state", "strategy",
                       "resolved_at")
    fields = readonly_fields + ("note",)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    @admin.action(description=_("Mark as reviewed (resolved by hand)"))
    def mark_reviewed(self, request: HttpRequest, queryset: Any) -> None:
        count = queryset.exclude(state=DriftRecord.State.RESOLVED).update(
            state=DriftRecord.State.RESOLVED, resolved_at=timezone.now())
        self.message_user(request, _("%(count)s record(s) marked as reviewed.") % {"count": count})


class BookingSyncInline(TabularInline):
    """Shown on the appointment page: where its Cal.com sync stands."""

    model = BookingSync
    verbose_name = _("Cal.com sync")
    verbose_name_plural = _("Cal.com sync")
    fields = ("state", "booking_uid", "push_attempts", "last_error", "next_push_at", "last_pushed_at", "last_pulled_at")
    readonly_fields = fields
    extra = 0
    max_num = 0
    can_delete = False

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False  # written by the sync (no "Cal.com-Abgleich hinzufügen" link)


def _show_sync_on_appointments() -> None:
    import appointments.admin  # noqa: F401  (registers the appointment admin first)
    from appointments.models import Appointment

    model_admin = tenant_admin_site.get_model_admin(Appointment)
    if BookingSyncInline not in model_admin.inlines:
        model_admin.inlines = [*model_admin.inlines, BookingSyncInline]


_show_sync_on_appointments()


@admin.register(BookingTombstone, site=tenant_admin_site)
class BookingTombstoneAdmin(ModelAdmin):
    """Read-only evidence: Cal.com bookings cancelled before AskPro knew them (never imported)."""

    list_display = ("booking_uid", "status", "reason", "created_at")
    search_fields = ("booking_uid",)
    readonly_fields = ("booking_uid", "status", "reason", "remote_updated_at", "created_at")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
