"""Notifications in a tenant's schema: settings, templates, configurations, contact
preferences and the delivery queue."""

from __future__ import annotations

import datetime as dt

from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

from appointments.models import Appointment, Branch, Customer, Service, Staff
from askpro.crypto import EncryptedTextField
from notifications import events
from notifications.events import Channel
from notifications.placeholders import template_problems

LANGUAGE_CHOICES = [("de", _("German")), ("en", _("English"))]


class NotificationSettings(models.Model):
    """One row per tenant: business contact, quiet hours, and the tenant's own provider
    credentials (empty = use the platform's from the environment)."""

    business_email = models.EmailField(
        _("business email"), blank=True,
        help_text=_("Where business notifications (balance, invoices, callbacks) go. Empty: every admin login's email."),
    )
    business_phone = models.CharField(_("business mobile"), max_length=32, blank=True, help_text=_("E.164, for SMS/WhatsApp business notifications."))
    business_telegram_chat_id = models.CharField(_("business Telegram chat id"), max_length=64, blank=True)
    quiet_hours_enabled = models.BooleanField(_("quiet hours"), default=True, help_text=_("Hold non-urgent SMS and WhatsApp messages at night."))
    quiet_hours_start = models.TimeField(_("quiet hours start"), default=dt.time(21, 0))
    quiet_hours_end = models.TimeField(_("quiet hours end"), default=dt.time(8, 0))
    email_from = models.EmailField(_("sender address"), blank=True, help_text=_("Empty: the platform's DEFAULT_FROM_EMAIL."))
    twilio_account_sid = models.CharField(_("Twilio account SID"), max_length=64, blank=True)
    twilio_auth_token = EncryptedTextField(_("Twilio auth token"), blank=True)
    twilio_from_number = models.CharField(_("Twilio SMS sender"), max_length=32, blank=True, help_text=_("E.164 number of the tenant's own Twilio account."))
    twilio_whatsapp_from = models.CharField(_("Twilio WhatsApp sender"), max_length=32, blank=True)
    telegram_bot_token = EncryptedTextField(_("Telegram bot token"), blank=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)
    history = HistoricalRecords(excluded_fields=["twilio_auth_token", "telegram_bot_token"])

    class Meta:
        verbose_name = _("notification settings")
        verbose_name_plural = _("notification settings")

    def __str__(self) -> str:
        return str(_("Notification settings"))

    @classmethod
    def current(cls) -> NotificationSettings:
        settings, _created = cls.objects.get_or_create(pk=1)
        return settings


class NotificationTemplate(models.Model):
    """A tenant's own text for one event, channel and language (overrides the built-in one)."""

    event = models.CharField(_("event"), max_length=40, choices=events.event_choices())
    channel = models.CharField(_("channel"), max_length=20, choices=Channel.CHOICES)
    language = models.CharField(_("language"), max_length=5, choices=LANGUAGE_CHOICES, default="de")
    name = models.CharField(_("name"), max_length=200, blank=True)
    subject = models.CharField(_("subject"), max_length=255, blank=True, help_text=_("Email only. Placeholders allowed."))
    body = models.TextField(_("text"), help_text=_("Placeholders like {{customer_name}}; {{branch_address|}} marks an optional value."))
    is_active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("notification template")
        verbose_name_plural = _("notification templates")
        ordering = ["event", "channel", "language"]
        constraints = [
            models.UniqueConstraint(
                fields=["event", "channel", "language"], condition=Q(is_active=True),
                name="notif_template_one_active",
                violation_error_message=_("This business already has its own text for this event, channel and language."),
            ),
        ]

    def __str__(self) -> str:
        return self.name or f"{self.get_event_display()} · {self.get_channel_display()} · {self.language}"

    def clean(self) -> None:
        # The renderer leaves unknown or unfilled placeholders literal and holds the message:
        # refuse them here, where the person writing the text can still fix it.
        errors = {
            name: " ".join(problems)
            for name in ("subject", "body")
            if (problems := template_problems(self.event, getattr(self, name)))
        }
        if errors:
            raise ValidationError(errors)


class NotificationConfiguration(models.Model):
    """How one event behaves for the company, a branch, a service or a staff member.

    Empty fields inherit. Resolution: staff -> service -> branch -> company -> built-in; staff
    rows may only set preferences (channel, template), never business rules.
    """

    class Scope(models.TextChoices):
        COMPANY = "company", _("Company")
        BRANCH = "branch", _("Branch")
        SERVICE = "service", _("Service")
        STAFF = "staff", _("Staff member")

    BUSINESS_RULE_FIELDS = ("enabled", "fallback_channel", "retry_count", "retry_delay_minutes")

    scope = models.CharField(_("level"), max_length=10, choices=Scope.choices, default=Scope.COMPANY)
    branch = models.ForeignKey(Branch, verbose_name=_("branch"), null=True, blank=True, on_delete=models.CASCADE, related_name="notification_configurations")
    service = models.ForeignKey(Service, verbose_name=_("service"), null=True, blank=True, on_delete=models.CASCADE, related_name="notification_configurations")
    staff = models.ForeignKey(Staff, verbose_name=_("staff member"), null=True, blank=True, on_delete=models.CASCADE, related_name="notification_configurations")
    event = models.CharField(_("event"), max_length=40, choices=events.event_choices())
    enabled = models.BooleanField(_("enabled"), null=True, blank=True, help_text=_("Empty: inherit. Mandatory events cannot be switched off."))
    channel = models.CharField(_("channel"), max_length=20, choices=Channel.CHOICES, blank=True, help_text=_("Empty: inherit."))
    fallback_channel = models.CharField(_("fallback channel"), max_length=20, choices=Channel.CHOICES, blank=True, help_text=_("Tried when the channel fails for good. Empty: inherit."))
    retry_count = models.PositiveSmallIntegerField(_("retries"), null=True, blank=True, help_text=_("Empty: inherit (3)."))
    retry_delay_minutes = models.PositiveIntegerField(
        _("first retry delay (minutes)"), null=True, blank=True,
        help_text=_("Later retries wait 5 and 15 times as long. Empty: inherit (1, 5, 15 minutes)."),
    )
    template = models.ForeignKey(
        NotificationTemplate, verbose_name=_("template override"), null=True, blank=True,
        on_delete=models.SET_NULL, related_name="configurations",
    )
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("notification configuration")
        verbose_name_plural = _("notification configurations")
        ordering = ["event", "scope"]
        constraints = [
            models.CheckConstraint(
                name="notif_config_scope_target",
                condition=(
                    Q(scope="company", branch__isnull=True, service__isnull=True, staff__isnull=True)
                    | Q(scope="branch", branch__isnull=False, service__isnull=True, staff__isnull=True)
                    | Q(scope="service", branch__isnull=True, service__isnull=False, staff__isnull=True)
                    | Q(scope="staff", branch__isnull=True, service__isnull=True, staff__isnull=False)
                ),
            ),
            models.CheckConstraint(
                name="notif_config_staff_preferences_only",
                condition=~Q(scope="staff") | Q(
                    enabled__isnull=True, fallback_channel="", retry_count__isnull=True,
                    retry_delay_minutes__isnull=True,
                ),
            ),
            models.UniqueConstraint(fields=["event"], condition=Q(scope="company"), name="notif_config_one_company"),
            models.UniqueConstraint(fields=["event", "branch"], condition=Q(scope="branch"), name="notif_config_one_branch"),
            models.UniqueConstraint(fields=["event", "service"], condition=Q(scope="service"), name="notif_config_one_service"),
            models.UniqueConstraint(fields=["event", "staff"], condition=Q(scope="staff"), name="notif_config_one_staff"),
        ]

    def __str__(self) -> str:
        target = self.branch or self.service or self.staff or _("company")
        return f"{self.get_event_display()} · {target}"

    def clean(self) -> None:
        errors: dict[str, str] = {}
        expected = {"company": (), "branch": ("branch",), "service": ("service",), "staff": ("staff",)}[self.scope]
        for name in ("branch", "service", "staff"):
            has = getattr(self, f"{name}_id") is not None
            if has and name not in expected:
                errors[name] = str(_("Leave empty for this level."))
            if not has and name in expected:
                errors[name] = str(_("Required for this level."))
        if self.scope == self.Scope.STAFF:
            for name in self.BUSINESS_RULE_FIELDS:
                if getattr(self, name) not in (None, ""):
                    errors[name] = str(_("A staff member may only choose the channel and template, not business rules."))
        if self.event in events.EVENTS and self.enabled is False and not events.get_event(self.event).can_be_disabled:
            errors["enabled"] = str(_("This event is mandatory and cannot be switched off."))
        if self.template_id and self.template and self.template.event != self.event:
            errors["template"] = str(_("The template belongs to another event."))
        if errors:
            raise ValidationError(errors)


class CustomerContactPreference(models.Model):
    """A customer's channel choice and per-channel opt-outs (WhatsApp, email, Telegram).

    Marketing consent and the SMS opt-out live on the customer (``Customer.marketing_consent``,
    ``Customer.sms_opt_out``), the one record the voice agent, the admin and STOP replies write.
    """

    customer = models.OneToOneField(Customer, verbose_name=_("customer"), on_delete=models.CASCADE, related_name="contact_preference")
    preferred_channel = models.CharField(_("preferred channel"), max_length=20, choices=Channel.CHOICES, blank=True)
    telegram_chat_id = models.CharField(_("Telegram chat id"), max_length=64, blank=True)
    whatsapp_opt_out = models.BooleanField(_("WhatsApp opt-out"), default=False)
    email_opt_out = models.BooleanField(_("email opt-out"), default=False)
    telegram_opt_out = models.BooleanField(_("Telegram opt-out"), default=False)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("contact preference")
        verbose_name_plural = _("contact preferences")

    def __str__(self) -> str:
        return str(self.customer)

    def opted_out(self, channel: str) -> bool:
        """Opted out of ``channel`` (SMS: see ``Customer.sms_opt_out``)."""
        return bool(getattr(self, f"{channel}_opt_out", False))


class NotificationDelivery(models.Model):
    """One message to one recipient on one channel: the queue and its history."""

    class Status(models.TextChoices):
        PENDING = "pending", _("Pending")
        SENDING = "sending", _("Sending")
        SENT = "sent", _("Sent")
        DELIVERED = "delivered", _("Delivered")
        FAILED = "failed", _("Failed")
        SKIPPED = "skipped", _("Skipped")
        CANCELLED = "cancelled", _("Cancelled")

    class SkipReason(models.TextChoices):
        DISABLED = "disabled", _("Disabled by configuration")
        NO_ADDRESS = "no_address", _("No contact address for this channel")
        NO_CONSENT = "no_consent", _("No marketing consent")
        OPTED_OUT = "opted_out", _("Recipient opted out")
        APPOINTMENT_CHANGED = "appointment_changed", _("Appointment cancelled or moved since")

    event = models.CharField(_("event"), max_length=40, choices=events.event_choices(), db_index=True)
    channel = models.CharField(_("channel"), max_length=20, choices=Channel.CHOICES)
    recipient = models.CharField(_("recipient"), max_length=254, blank=True)
    language = models.CharField(_("language"), max_length=5, default="de")
    customer = models.ForeignKey(Customer, verbose_name=_("customer"), null=True, blank=True, on_delete=models.SET_NULL, related_name="notifications")
    appointment = models.ForeignKey(Appointment, verbose_name=_("appointment"), null=True, blank=True, on_delete=models.SET_NULL, related_name="notifications")
    appointment_starts_at = models.DateTimeField(_("appointment start when queued"), null=True, blank=True)
    dedupe_key = models.CharField(
        _("idempotency key"), max_length=255, unique=True,
        help_text=_("Event, subject, recipient and channel: the same message is never created twice."),
    )
    subject = models.CharField(_("subject"), max_length=255, blank=True)
    body = models.TextField(_("text"), blank=True)
    template_source = models.CharField(_("template"), max_length=40, blank=True, help_text=_("'default' or the template id used."))
    status = models.CharField(_("status"), max_length=20, choices=Status.choices, default=Status.PENDING, db_index=True)
    skip_reason = models.CharField(_("skip reason"), max_length=30, choices=SkipReason.choices, blank=True)
    urgent = models.BooleanField(_("urgent"), default=False)
    attempts = models.PositiveSmallIntegerField(_("attempts"), default=0)
    max_retries = models.PositiveSmallIntegerField(_("retries allowed"), default=3)
    retry_delay_minutes = models.PositiveIntegerField(_("first retry delay (minutes)"), default=1)
    fallback_channel = models.CharField(_("fallback channel"), max_length=20, choices=Channel.CHOICES, blank=True)
    fallback_of = models.ForeignKey("self", verbose_name=_("fallback for"), null=True, blank=True, on_delete=models.SET_NULL, related_name="fallbacks")
    next_attempt_at = models.DateTimeField(_("next attempt"), null=True, blank=True, db_index=True)
    backend = models.CharField(_("backend"), max_length=10, blank=True, help_text=_("'outbox' (recorded only) or 'live'."))
    provider_message_id = models.CharField(_("provider message id"), max_length=100, blank=True, db_index=True)
    provider_status = models.CharField(_("provider status"), max_length=40, blank=True)
    cost_cents = models.PositiveIntegerField(_("cost (cents)"), null=True, blank=True)
    cost_currency = models.CharField(_("cost currency"), max_length=3, blank=True)
    error = models.TextField(_("error"), blank=True)
    sent_at = models.DateTimeField(_("sent"), null=True, blank=True)
    failed_at = models.DateTimeField(_("failed"), null=True, blank=True)
    created_at = models.DateTimeField(_("created"), auto_now_add=True, db_index=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        verbose_name = _("notification")
        verbose_name_plural = _("notification queue")
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["status", "next_attempt_at"], name="notif_delivery_due_idx")]

    def __str__(self) -> str:
        return f"{self.get_event_display()} → {self.recipient or '—'} ({self.get_channel_display()})"

    @property
    def retries_done(self) -> int:
        return max(self.attempts - 1, 0)
