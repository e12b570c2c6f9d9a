"""The webhook inbox: every delivery from Stripe, Retell and Cal.com, stored before it is processed.

Lives in the public schema. One row per provider event key: a repeated delivery increments
``duplicates`` and is never processed twice.
"""

from __future__ import annotations

import json
from typing import Any

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class WebhookEvent(models.Model):
    class Provider(models.TextChoices):
        STRIPE = "stripe", "Stripe"
        RETELL = "retell", "Retell"
        CALCOM = "calcom", "Cal.com"

    class Status(models.TextChoices):
        RECEIVED = "received", _("Received")
        PROCESSING = "processing", _("Processing")
        PROCESSED = "processed", _("Processed")
        FAILED = "failed", _("Failed")
        IGNORED = "ignored", _("Ignored")
        MALFORMED = "malformed", _("Malformed")

    PENDING_STATUSES = (Status.RECEIVED, Status.PROCESSING)
    # malformed: a handler found required fields missing; the same body can never succeed, so it
    # is kept for inspection and never retried.
    FINAL_STATUSES = (Status.PROCESSED, Status.IGNORED, Status.MALFORMED)

    provider = models.CharField(_("provider"), max_length=20, choices=Provider.choices)
    event_key = models.CharField(
        _("event key"), max_length=255,
        help_text=_("The provider's idempotency key (Stripe event id, Retell event + call id, hash of the Cal.com body)."),
    )
    event_type = models.CharField(_("event type"), max_length=100, blank=True)
    tenant = models.ForeignKey(
        "tenants.Tenant", verbose_name=_("tenant"), null=True, blank=True,
        on_delete=models.SET_NULL, related_name="webhook_events",
    )
    raw_body = models.BinaryField(_("raw body"), help_text=_("Exactly the bytes received; signatures were checked over these."))
    payload = models.JSONField(_("payload"), null=True, blank=True, help_text=_("Parsed JSON; empty when the body was malformed."))
    headers = models.JSONField(_("headers"), default=dict, blank=True)
    source_ip = models.GenericIPAddressField(_("source IP"), null=True, blank=True)
    queue = models.CharField(_("queue"), max_length=40, default="webhooks")
    status = models.CharField(_("status"), max_length=20, choices=Status.choices, default=Status.RECEIVED)
    attempts = models.PositiveIntegerField(_("attempts"), default=0)
    duplicates = models.PositiveIntegerField(
        _("duplicates prevented"), default=0, help_text=_("Repeated deliveries acknowledged without processing."),
    )
    last_error = models.TextField(_("last error"), blank=True)
    next_attempt_at = models.DateTimeField(_("next attempt"), null=True, blank=True)
    received_at = models.DateTimeField(_("received"), default=timezone.now)
    queued_at = models.DateTimeField(
        _("queued"), null=True, blank=True,
        help_text=_("When a worker task was last published for it; empty until the dispatcher or sweeper queues it."),
    )
    processing_started_at = models.DateTimeField(_("processing started"), null=True, blank=True)
    processed_at = models.DateTimeField(_("finished"), null=True, blank=True)
    processing_ms = models.PositiveIntegerField(_("processing time (ms)"), null=True, blank=True)
    correlation_id = models.CharField(_("correlation id"), max_length=64, blank=True)

    class Meta:
        verbose_name = _("webhook event")
        verbose_name_plural = _("webhook events")
        ordering = ["-received_at"]
        constraints = [
            models.UniqueConstraint(fields=["provider", "event_key"], name="webhook_provider_event_key_uniq"),
        ]
        indexes = [
            models.Index(fields=["status", "next_attempt_at"], name="webhook_status_next_idx"),
            models.Index(fields=["provider", "status"], name="webhook_provider_status_idx"),
            models.Index(fields=["received_at"], name="webhook_received_idx"),
            # what the dispatcher claims: stored, never queued (small, whatever the table's size)
            models.Index(
                fields=["id"], name="webhook_undispatched_idx",
                condition=models.Q(status="received", queued_at__isnull=True),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.provider} {self.event_type or '?'} #{self.pk}"

    @property
    def body_text(self) -> str:
        return bytes(self.raw_body).decode("utf-8", errors="replace")

    @property
    def pretty_payload(self) -> str:
        if self.payload is None:
            return self.body_text
        return json.dumps(self.payload, indent=2, ensure_ascii=False, sort_keys=True)

    def header(self, name: str, default: Any = None) -> Any:
        return self.headers.get(name.lower(), default)


class OutboxEffect(models.Model):
    """An effect a committed change owes another domain or a worker (see ``askpro.outbox``).

    Written in the same transaction as the change, from any schema (``public`` is on every
    tenant's search path); ``schema_name`` says where the handler runs. One row per ``key``:
    the handler is idempotent by it, and a row is done at most once.
    """

    class Status(models.TextChoices):
        PENDING = "pending", _("Pending")
        DONE = "done", _("Done")
        FAILED = "failed", _("Failed")

    handler = models.CharField(_("handler"), max_length=200)
    key = models.CharField(_("idempotency key"), max_length=255, unique=True)
    schema_name = models.CharField(_("schema"), max_length=63)
    payload = models.JSONField(_("payload"), default=dict, blank=True)
    queue = models.CharField(_("queue"), max_length=40, default="default")
    status = models.CharField(_("status"), max_length=20, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveIntegerField(_("attempts"), default=0)
    last_error = models.TextField(_("last error"), blank=True)
    created_at = models.DateTimeField(_("created"), default=timezone.now)
    deadline_at = models.DateTimeField(_("deadline"), help_text=_("Reported by the health check when not done by then."))
    queued_at = models.DateTimeField(
        _("queued"), null=True, blank=True,
        help_text=_("When a worker task was last published (or is due) for it; empty until the dispatcher claims it."),
    )
    next_attempt_at = models.DateTimeField(_("next attempt"), null=True, blank=True)
    done_at = models.DateTimeField(_("done"), null=True, blank=True)

    class Meta:
        verbose_name = _("outbox effect")
        verbose_name_plural = _("outbox effects")
        ordering = ["-created_at"]
        indexes = [
            models.Index(fields=["status", "deadline_at"], name="outbox_status_deadline_idx"),
            # what the dispatcher claims: pending, never queued
            models.Index(
                fields=["id"], name="outbox_undispatched_idx",
                condition=models.Q(status="pending", queued_at__isnull=True),
            ),
            # what the sweeper scans: pending rows by their last queue time
            models.Index(fields=["queued_at"], name="outbox_pending_queued_idx", condition=models.Q(status="pending")),
        ]

    def __str__(self) -> str:
        return f"{self.handler} {self.key}"
