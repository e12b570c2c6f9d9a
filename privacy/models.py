"""Data protection records of a tenant: deletion requests (Art. 17 DSGVO), the retention rules,
and the audit of every export, erasure and retention run. None of them holds personal data:
a customer is referred to by id only, which survives the customer's erasure."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class DeletionRequest(models.Model):
    """A customer's request to erase their data; it must be answered within a month (Art. 12 (3))."""

    class Status(models.TextChoices):
        OPEN = "open", _("Open")
        DONE = "done", _("Erased")
        REJECTED = "rejected", _("Rejected")

    customer = models.ForeignKey(
        "appointments.Customer", verbose_name=_("customer"), on_delete=models.PROTECT, related_name="deletion_requests")
    received_at = models.DateTimeField(_("received"))
    due_at = models.DateTimeField(_("due"), db_index=True, help_text=_("One month after receipt (Art. 12 (3) GDPR)."))
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.OPEN, db_index=True)
    reason = models.CharField(_("reason"), max_length=500, blank=True, help_text=_("How the request came in; no personal data."))
    handled_at = models.DateTimeField(_("handled"), null=True, blank=True)
    handled_by = models.CharField(_("handled by"), max_length=150, blank=True)
    last_reminded_on = models.DateField(_("last reminder"), null=True, blank=True)

    class Meta:
        verbose_name = _("deletion request")
        verbose_name_plural = _("deletion requests")
        ordering = ["status", "due_at"]

    def __str__(self) -> str:
        return _("Deletion request for customer #%(ref)s") % {"ref": self.customer_id}


class RetentionPolicy(models.Model):
    """How long this business keeps personal data; one row per tenant (0 = keep)."""

    transcript_days = models.PositiveIntegerField(
        _("call transcripts (days)"), default=90, help_text=_("Transcripts, summaries and analysis of calls older than this are erased. 0: keep."))
    recording_days = models.PositiveIntegerField(
        _("call recordings (days)"), default=30, help_text=_("Links to call recordings older than this are erased. 0: keep."))
    notification_days = models.PositiveIntegerField(
        _("message contents (days)"), default=180, help_text=_("Texts and addresses of sent messages older than this are erased. 0: keep."))
    inactive_customer_years = models.PositiveIntegerField(
        _("inactive customers (years)"), default=3,
        help_text=_("Customers without an appointment or call for this long are anonymised. 0: keep."))
    updated_at = models.DateTimeField(_("changed"), auto_now=True)

    class Meta:
        verbose_name = _("retention policy")
        verbose_name_plural = _("retention policies")

    def __str__(self) -> str:
        return str(_("Retention policy"))


class PrivacyAuditEntry(models.Model):
    """Who exported, erased or pruned what, when and why; written by privacy.services only."""

    class Action(models.TextChoices):
        EXPORT = "export", _("Export (Art. 15/20)")
        ERASURE = "erasure", _("Erasure (Art. 17)")
        RETENTION = "retention", _("Retention run")
        DELETION_REQUEST = "deletion_request", _("Deletion request")

    action = models.CharField(_("action"), max_length=20, choices=Action.choices, db_index=True)
    actor = models.CharField(_("by"), max_length=150)
    reason = models.CharField(_("reason"), max_length=500, blank=True)
    customer_ref = models.PositiveBigIntegerField(_("customer number"), null=True, blank=True, db_index=True)
    counts = models.JSONField(_("counts"), default=dict, blank=True)
    created_at = models.DateTimeField(_("at"), auto_now_add=True, db_index=True)

    class Meta:
        verbose_name = _("data protection log entry")
        verbose_name_plural = _("data protection log")
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.get_action_display()} · {self.actor}"
