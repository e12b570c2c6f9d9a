"""Phone calls handled by the Retell voice agent, callbacks the agent promised, and the stored
answers of booking function calls (idempotency). Lives in each tenant's schema."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from askpro.crypto import EncryptedTextField


class VoiceSettings(models.Model):
    """Per-tenant voice-agent settings (one row per tenant schema)."""

    retell_api_key = EncryptedTextField(
        _("Retell API key"), blank=True,
        help_text=_('The key with the "webhook" badge in the Retell dashboard. Empty: the platform key is used.'),
    )
    spoken_company_name = models.CharField(
        _("spoken company name"), max_length=200, blank=True,
        help_text=_("How the agent says the business name. Empty: the account name."),
    )
    daypart_hours = models.JSONField(
        _("parts of the day"), default=dict, blank=True,
        help_text=_('What a caller\'s "vormittags", "abends" etc. mean here, e.g. {"vormittags": "09:00-12:00", '
                    '"nach der arbeit": "17:30-20:00"}. Not listed: the defaults.'),
    )
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        verbose_name = _("voice settings")
        verbose_name_plural = _("voice settings")

    def __str__(self) -> str:
        return str(_("Voice settings"))

    def clean(self) -> None:
        from django.core.exceptions import ValidationError

        from calls.german_when import parse_daypart_hours

        try:
            parse_daypart_hours(self.daypart_hours)
        except ValueError as exc:
            raise ValidationError({"daypart_hours": _("Invalid part of the day: %(error)s") % {"error": exc}}) from exc


class Call(models.Model):
    """One Retell call (``call_id``), built from webhooks and function calls in any order."""

    class Direction(models.TextChoices):
        INBOUND = "inbound", _("Inbound")
        OUTBOUND = "outbound", _("Outbound")
        WEB = "web", _("Web call")

    class Status(models.TextChoices):
        REGISTERED = "registered", _("Registered")
        ONGOING = "ongoing", _("Ongoing")
        ENDED = "ended", _("Ended")
        NOT_CONNECTED = "not_connected", _("Not connected")
        ERROR = "error", _("Error")

    class Sentiment(models.TextChoices):
        POSITIVE = "Positive", _("Positive")
        NEUTRAL = "Neutral", _("Neutral")
        NEGATIVE = "Negative", _("Negative")
        UNKNOWN = "Unknown", _("Unknown")

    class CallType(models.TextChoices):
        PHONE = "phone_call", _("Phone call")
        WEB = "web_call", _("Web call")

    # Retell's reasons (shared/reference/retell.md); labels only: any other value is still stored.
    DISCONNECTION_REASONS = [
        ("user_hangup", _("Caller hung up")),
        ("agent_hangup", _("Agent ended the call")),
        ("user_requested_dnc", _("Caller asked not to be called")),
        ("user_requested_callback", _("Caller asked for a callback")),
        ("call_transfer", _("Transferred")),
        ("voicemail_reached", _("Voicemail reached")),
        ("ivr_reached", _("Phone menu reached")),
        ("inactivity", _("Inactivity")),
        ("max_duration_reached", _("Maximum duration reached")),
        ("concurrency_limit_reached", _("Too many simultaneous calls")),
        ("no_concurrency_fallback", _("Too many simultaneous calls")),
        ("no_valid_payment", _("No valid payment at Retell")),
        ("credit_exhausted", _("Retell credit exhausted")),
        ("budget_reached", _("Budget reached")),
        ("scam_detected", _("Fraud detected")),
        ("dial_busy", _("Line busy")),
        ("dial_failed", _("Dialling failed")),
        ("dial_no_answer", _("No answer")),
        ("invalid_destination", _("Invalid number")),
        ("telephony_provider_permission_denied", _("Telephone provider refused")),
        ("telephony_provider_unavailable", _("Telephone provider unavailable")),
        ("sip_routing_error", _("SIP routing error")),
        ("marked_as_spam", _("Marked as spam")),
        ("network_blocked", _("Network blocked")),
        ("user_declined", _("Caller declined")),
        ("error_llm_websocket_open", _("Technical error (language model)")),
        ("error_llm_websocket_lost_connection", _("Technical error (language model)")),
        ("error_llm_websocket_runtime", _("Technical error (language model)")),
        ("error_llm_websocket_corrupt_payload", _("Technical error (language model)")),
        ("error_no_audio_received", _("No audio received")),
        ("error_asr", _("Technical error (speech recognition)")),
        ("error_retell", _("Technical error (Retell)")),
        ("error_unknown", _("Unknown error")),
        ("error_user_not_joined", _("Caller did not join")),
        ("registered_call_timeout", _("Call never started")),
        ("transfer_bridged", _("Transfer connected")),
        ("transfer_cancelled", _("Transfer cancelled")),
        ("manual_stopped", _("Stopped by hand")),
        ("call_take_over", _("Taken over by a person")),
    ]

    call_id = models.CharField(_("Retell call id"), max_length=100, unique=True)
    agent_id = models.CharField(_("agent id"), max_length=100, blank=True)
    agent_version = models.IntegerField(_("agent version"), null=True, blank=True)
    agent_name = models.CharField(_("agent name"), max_length=200, blank=True)
    call_type = models.CharField(_("call type"), max_length=20, choices=CallType.choices, blank=True)
    direction = models.CharField(_("direction"), max_length=10, choices=Direction.choices, blank=True)
    from_number = models.CharField(_("from"), max_length=40, blank=True, db_index=True)
    to_number = models.CharField(_("to"), max_length=40, blank=True)
    status = models.CharField(_("status"), max_length=20, choices=Status.choices, default=Status.REGISTERED)
    started_at = models.DateTimeField(_("started"), null=True, blank=True, db_index=True)
    ended_at = models.DateTimeField(_("ended"), null=True, blank=True)
    duration_ms = models.PositiveIntegerField(_("duration (ms)"), null=True, blank=True)
    disconnection_reason = models.CharField(
        _("disconnection reason"), max_length=80, blank=True, choices=DISCONNECTION_REASONS,
        help_text=_("Retell's reason, stored as given (the list grows)."),
    )
    transfer_destination = models.CharField(_("transferred to"), max_length=200, blank=True)
    transcript = models.TextField(_("transcript"), blank=True)
    transcript_object = models.JSONField(_("transcript (structured)"), default=list, blank=True)
    transcript_with_tool_calls = models.JSONField(_("transcript with tool calls"), default=list, blank=True)
    recording_url = models.URLField(_("recording URL"), max_length=1000, blank=True, help_text=_("Expires (10 min to 24 h) depending on the Retell storage setting."))
    public_log_url = models.URLField(_("public log URL"), max_length=1000, blank=True)
    summary = models.TextField(_("summary"), blank=True)
    user_sentiment = models.CharField(_("sentiment"), max_length=20, choices=Sentiment.choices, blank=True)
    call_successful = models.BooleanField(_("successful"), null=True, blank=True)
    in_voicemail = models.BooleanField(_("voicemail"), null=True, blank=True)
    custom_analysis_data = models.JSONField(_("custom analysis"), default=dict, blank=True)
    cost_cents = models.PositiveIntegerField(_("Retell cost (cents)"), null=True, blank=True, help_text=_("combined_cost, rounded to whole cents."))
    cost_currency = models.CharField(_("currency"), max_length=3, default="USD")
    cost_breakdown = models.JSONField(_("cost breakdown"), default=dict, blank=True)
    latency = models.JSONField(_("latency"), default=dict, blank=True)
    metadata = models.JSONField(_("metadata"), default=dict, blank=True)
    dynamic_variables = models.JSONField(_("dynamic variables"), default=dict, blank=True)
    collected_dynamic_variables = models.JSONField(_("collected variables"), default=dict, blank=True)
    transfers = models.JSONField(_("transfers"), default=list, blank=True)
    appointment_made = models.BooleanField(_("appointment made"), default=False)
    appointment = models.ForeignKey(
        "appointments.Appointment", verbose_name=_("appointment"), null=True, blank=True,
        on_delete=models.SET_NULL, related_name="calls",
    )
    customer = models.ForeignKey(
        "appointments.Customer", verbose_name=_("customer"), null=True, blank=True,
        on_delete=models.SET_NULL, related_name="calls",
    )
    started_event_at = models.DateTimeField(_("call_started received"), null=True, blank=True)
    ended_event_at = models.DateTimeField(_("call_ended received"), null=True, blank=True)
    analyzed_event_at = models.DateTimeField(_("call_analyzed received"), null=True, blank=True)
    usage_emitted_at = models.DateTimeField(
        _("usage reported"), null=True, blank=True,
        help_text=_("When the billable usage of this call was handed to billing (exactly once)."),
    )
    is_reviewed = models.BooleanField(_("reviewed"), default=False)
    reviewed_at = models.DateTimeField(_("reviewed at"), null=True, blank=True)
    reviewed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("reviewed by"), null=True, blank=True,
        on_delete=models.SET_NULL, related_name="+",
    )
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        verbose_name = _("call")
        verbose_name_plural = _("calls")
        ordering = ["-started_at", "-id"]
        indexes = [models.Index(fields=["customer", "started_at"], name="call_customer_start_idx")]

    def __str__(self) -> str:
        return self.call_id

    @property
    def duration_seconds(self) -> int:
        return round((self.duration_ms or 0) / 1000)


class CallbackRequest(models.Model):
    """A promise to call someone back when the agent could not help; escalates when overdue."""

    class Priority(models.TextChoices):
        LOW = "low", _("Low")
        NORMAL = "normal", _("Normal")
        HIGH = "high", _("High")
        URGENT = "urgent", _("Urgent")

    class Status(models.TextChoices):
        OPEN = "open", _("Open")
        IN_PROGRESS = "in_progress", _("In progress")
        DONE = "done", _("Done")
        CANCELLED = "cancelled", _("Cancelled")

    class Reason(models.TextChoices):
        NO_SLOT = "no_slot", _("No suitable time")
        WANTS_PERSON = "wants_person", _("Asked for a person")
        QUESTION = "question", _("Question the agent could not answer")
        COMPLAINT = "complaint", _("Complaint")
        TECHNICAL = "technical", _("Technical problem")
        OTHER = "other", _("Other")

    call = models.ForeignKey(Call, verbose_name=_("call"), null=True, blank=True, on_delete=models.SET_NULL, related_name="callback_requests")
    customer = models.ForeignKey(
        "appointments.Customer", verbose_name=_("customer"), null=True, blank=True,
        on_delete=models.SET_NULL, related_name="callback_requests",
    )
    phone = models.CharField(_("phone"), max_length=32, help_text=_("E.164"))
    name = models.CharField(_("name"), max_length=200, blank=True)
    reason = models.CharField(_("reason"), max_length=20, choices=Reason.choices, default=Reason.OTHER)
    details = models.TextField(_("details"), blank=True)
    priority = models.CharField(_("priority"), max_length=10, choices=Priority.choices, default=Priority.NORMAL)
    status = models.CharField(_("status"), max_length=20, choices=Status.choices, default=Status.OPEN, db_index=True)
    due_at = models.DateTimeField(_("due"), help_text=_("Call back before this time; later it escalates."))
    escalated_at = models.DateTimeField(_("escalated"), null=True, blank=True)
    escalation_count = models.PositiveSmallIntegerField(_("escalations"), default=0)
    assigned_to = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("assigned to"), null=True, blank=True,
        on_delete=models.SET_NULL, related_name="+",
    )
    handled_at = models.DateTimeField(_("handled"), null=True, blank=True)
    handled_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("handled by"), null=True, blank=True,
        on_delete=models.SET_NULL, related_name="+",
    )
    outcome = models.TextField(_("outcome"), blank=True)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        verbose_name = _("callback request")
        verbose_name_plural = _("callback requests")
        ordering = ["status", "due_at"]
        indexes = [models.Index(fields=["status", "due_at"], name="callback_status_due_idx")]
        constraints = [
            # One open callback per call: a repeated request from the agent returns the first.
            models.UniqueConstraint(
                fields=["call"], condition=models.Q(status__in=["open", "in_progress"]),
                name="callback_one_open_per_call",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name or self.phone} ({self.get_priority_display()})"


class FunctionCallResult(models.Model):
    """The stored answer of a write function call, keyed by call and arguments (idempotency)."""

    call_id = models.CharField(_("call id"), max_length=100)
    function = models.CharField(_("function"), max_length=64)
    args_hash = models.CharField(_("arguments hash"), max_length=64)
    response = models.JSONField(_("response"))
    created_at = models.DateTimeField(_("created"), auto_now_add=True)

    class Meta:
        verbose_name = _("function call result")
        verbose_name_plural = _("function call results")
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(fields=["call_id", "function", "args_hash"], name="function_call_result_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.function} · {self.call_id}"
