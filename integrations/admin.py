"""Platform admin: the webhook inbox (filters, payload view, retry)."""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import reverse
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _
from unfold.admin import ModelAdmin
from unfold.decorators import action, display

from askpro.admin_sites import platform_admin_site
from integrations.models import WebhookEvent
from integrations.services import retry_failed_events


@admin.register(WebhookEvent, site=platform_admin_site)
class WebhookEventAdmin(ModelAdmin):
    list_display = ("id", "provider", "event_type", "tenant", "status_badge", "attempts", "duplicates",
                    "received_at", "processing_ms")
    list_filter = ("provider", "status", "queue", ("tenant", admin.RelatedOnlyFieldListFilter), "received_at")
    search_fields = ("event_key", "event_type", "correlation_id", "last_error")
    date_hierarchy = "received_at"
    list_per_page = 50
    actions = ["retry_selected"]
    actions_detail = ["retry_detail"]
    readonly_fields = ("provider", "event_key", "event_type", "tenant", "status", "attempts", "duplicates", "queue",
                       "received_at", "processing_started_at", "processed_at", "processing_ms", "next_attempt_at",
                       "correlation_id", "source_ip", "headers", "last_error_block", "payload_block")
    fieldsets = (
        (None, {"fields": ("provider", "event_type", "event_key", "tenant", "status", "queue")}),
        (_("Processing"), {"fields": ("attempts", "duplicates", "received_at", "processing_started_at",
                                      "processed_at", "processing_ms", "next_attempt_at", "last_error_block")}),
        (_("Delivery"), {"fields": ("correlation_id", "source_ip", "headers", "payload_block")}),
    )

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False  # the inbox is evidence: read-only, changed only by the processor and retry

    @display(description=_("status"), label={
        "received": "info", "processing": "warning", "processed": "success", "failed": "danger", "ignored": "info", "malformed": "danger",
    })
    def status_badge(self, obj: WebhookEvent) -> tuple[str, str]:
        return obj.status, str(obj.get_status_display())

    @display(description=_("payload"))
    def payload_block(self, obj: WebhookEvent) -> str:
        return format_html('<pre style="white-space: pre-wrap; max-height: 40rem; overflow: auto">{}</pre>', obj.pretty_payload)

    @display(description=_("last error"))
    def last_error_block(self, obj: WebhookEvent) -> str:
        return format_html('<pre style="white-space: pre-wrap">{}</pre>', obj.last_error or "-")

    def _retry(self, request: HttpRequest, event_ids: list[int]) -> int:
        # Ids first: after the retry the events are no longer "failed", so a queryset filtered on
        # the status would count them away (the old "-1 Ereignis(se) übersprungen").
        retried = sum(len(retry_failed_events(event_id=event_id)) for event_id in event_ids)
        skipped = len(event_ids) - retried
        if retried:
            self.message_user(request, _("%(n)s event(s) queued for another attempt.") % {"n": retried},
                              messages.SUCCESS)
        if skipped:
            self.message_user(request, _("%(n)s event(s) skipped: only failed events are retried.") % {"n": skipped},
                              messages.WARNING)
        return retried

    def has_retry_permission(self, request: HttpRequest, object_id: Any = None) -> bool:
        return bool(request.user.has_perm("integrations.change_webhookevent"))

    @action(description=_("Retry failed events"), permissions=["retry"])
    def retry_selected(self, request: HttpRequest, queryset: QuerySet[WebhookEvent]) -> None:
        self._retry(request, list(queryset.values_list("id", flat=True)))

    @action(description=_("Retry this event"), url_path="retry", permissions=["retry"])
    def retry_detail(self, request: HttpRequest, object_id: Any) -> HttpResponse:
        self._retry(request, [int(object_id)])
        return HttpResponseRedirect(reverse("admin:integrations_webhookevent_change", args=[object_id]))
