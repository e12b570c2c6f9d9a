"""A tenant's Cal.com connection, the mappings between AskPro and Cal.com, and the sync state.

Lives in each tenant schema. Credentials are encrypted at rest (askpro.crypto). The sync state
(``BookingSync``) and drift records (``DriftRecord``) are written by the two-way sync.
"""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

from appointments.models import history_user  # API-key callers are not users
from askpro.crypto import EncryptedTextField


class TimeStamped(models.Model):
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        abstract = True


class ConflictStrategy(models.TextChoices):
    PLATFORM_WINS = "platform_wins", _("AskPro wins")
    CALCOM_WINS = "calcom_wins", _("Cal.com wins")


class CalcomConnection(TimeStamped):
    """The one Cal.com account of this tenant (at most one row per schema)."""

    singleton = models.BooleanField(default=True, editable=False)
    is_active = models.BooleanField(_("active"), default=True, help_text=_("Inactive: no pushes, webhooks are stored and ignored."))
    api_url = models.URLField(
        _("API URL"), blank=True,
        help_text=_("Leave empty for https://api.cal.com (CALCOM_API_URL). The local sandbox for development."),
    )
    api_key = EncryptedTextField(_("API key"), blank=True, help_text=_("cal_live_… or cal_… (test); stored encrypted."))
    webhook_secret = EncryptedTextField(
        _("webhook secret"), blank=True,
        help_text=_("The secret set on the Cal.com webhook; signs X-Cal-Signature-256. Stored encrypted."),
    )
    team_id = models.PositiveIntegerField(_("team id"), null=True, blank=True, help_text=_("Cal.com team for team event types."))
    organizer_email = models.EmailField(
        _("organizer email"), blank=True,
        help_text=_("Owner email sent as rescheduledBy so reschedules of confirmation-required events stay accepted."),
    )
    conflict_strategy = models.CharField(
        _("drift strategy"), max_length=20, choices=ConflictStrategy.choices, default=ConflictStrategy.PLATFORM_WINS,
    )
    last_webhook_at = models.DateTimeField(_("last webhook"), null=True, blank=True)
    last_ping_at = models.DateTimeField(_("last ping"), null=True, blank=True)
    last_reconciled_at = models.DateTimeField(
        _("last reconciliation"), null=True, blank=True,
        help_text=_("Bookings updated after this time are compared on the next drift run."),
    )
    history = HistoricalRecords(
        excluded_fields=["last_webhook_at", "last_ping_at", "last_reconciled_at"], get_user=history_user,
    )

    class Meta:
        verbose_name = _("Cal.com connection")
        verbose_name_plural = _("Cal.com connection")
        constraints = [
            models.UniqueConstraint(fields=["singleton"], name="calcom_connection_singleton"),
            models.CheckConstraint(condition=models.Q(singleton=True), name="calcom_connection_singleton_true"),
        ]

    def __str__(self) -> str:
        return str(_("Cal.com connection"))

    @property
    def is_configured(self) -> bool:
        return bool(self.is_active and self.api_key)


class EventTypeMapping(TimeStamped):
    """An AskPro service bookable as a Cal.com event type."""

    service = models.OneToOneField(
        "appointments.Service", verbose_name=_("service"), on_delete=models.CASCADE, related_name="calcom_mapping",
    )
    event_type_id = models.PositiveIntegerField(_("Cal.com event type id"), unique=True)
    slug = models.SlugField(_("Cal.com slug"), max_length=200, blank=True)
    is_team_event = models.BooleanField(_("team event type"), default=False)
    length_minutes = models.PositiveIntegerField(_("length (minutes)"), null=True, blank=True)
    last_pushed_at = models.DateTimeField(_("last pushed"), null=True, blank=True)
    history = HistoricalRecords(get_user=history_user)

    class Meta:
        verbose_name = _("event type mapping")
        verbose_name_plural = _("event type mappings")
        ordering = ["service__name"]

    def __str__(self) -> str:
        return f"{self.service} ↔ {self.event_type_id}"


class StaffMapping(TimeStamped):
    """An AskPro staff member and their Cal.com user (host)."""

    staff = models.OneToOneField(
        "appointments.Staff", verbose_name=_("staff member"), on_delete=models.CASCADE, related_name="calcom_mapping",
    )
    calcom_user_id = models.PositiveIntegerField(_("Cal.com user id"), unique=True)
    username = models.CharField(_("Cal.com username"), max_length=200, blank=True)
    email = models.EmailField(_("Cal.com email"), blank=True)
    history = HistoricalRecords(get_user=history_user)

    class Meta:
        verbose_name = _("staff mapping")
        verbose_name_plural = _("staff mappings")
        ordering = ["staff__name"]

    def __str__(self) -> str:
        return f"{self.staff} ↔ {self.calcom_user_id}"


class SyncState(models.TextChoices):
    PENDING = "pending", _("Push pending")
    SYNCED = "synced", _("Synced")
    FAILED = "failed", _("Push failed (retrying)")
    DRIFT = "drift", _("Drift detected")
    RESOLVED = "resolved", _("Drift resolved")
    MANUAL_REVIEW = "manual_review", _("Manual review")
    CONFLICT = "conflict", _("Conflict (slot taken)")


class BookingSync(TimeStamped):
    """The link of one AskPro appointment to its Cal.com booking and where the sync stands."""

    appointment = models.OneToOneField(
        "appointments.Appointment", verbose_name=_("appointment"), on_delete=models.CASCADE, related_name="calcom_sync",
    )
    booking_uid = models.CharField(_("Cal.com booking uid"), max_length=100, unique=True, null=True, blank=True)
    booking_id = models.PositiveIntegerField(_("Cal.com booking id"), null=True, blank=True)
    previous_uids = models.JSONField(
        _("superseded uids"), default=list, blank=True,
        help_text=_("Uids replaced by reschedules (Cal.com gives a rescheduled booking a new uid)."),
    )
    state = models.CharField(_("sync state"), max_length=20, choices=SyncState.choices, default=SyncState.PENDING)
    push_attempts = models.PositiveIntegerField(_("push attempts"), default=0)
    last_error = models.TextField(_("last error"), blank=True)
    last_pushed_at = models.DateTimeField(_("last pushed"), null=True, blank=True)
    next_push_at = models.DateTimeField(
        _("next push attempt"), null=True, blank=True,
        help_text=_("When a failed or lost push is tried again (the reconciliation re-queues due pushes)."),
    )
    last_pulled_at = models.DateTimeField(_("last pulled"), null=True, blank=True)
    push_key = models.CharField(
        _("unanswered create"), max_length=64, blank=True,
        help_text=_("Idempotency key (booking metadata askpro_push_key) of a create whose answer never came "
                    "(timeout): Cal.com may have booked it, so the next push looks it up before creating again."),
    )
    push_key_sent_at = models.DateTimeField(_("unanswered create sent"), null=True, blank=True)
    push_key_start = models.DateTimeField(_("unanswered create start"), null=True, blank=True)
    remote_updated_at = models.DateTimeField(
        _("Cal.com updated"), null=True, blank=True,
        help_text=_("Newest Cal.com change applied; older webhooks arriving late are not applied over it."),
    )
    history = HistoricalRecords(get_user=history_user)

    class Meta:
        verbose_name = _("booking sync")
        verbose_name_plural = _("booking syncs")
        ordering = ["-updated_at"]
        indexes = [models.Index(fields=["state"], name="calcom_sync_state_idx")]

    def __str__(self) -> str:
        return f"{self.appointment_id} ↔ {self.booking_uid or '-'} ({self.state})"


class DriftRecord(TimeStamped):
    """One difference found between an appointment and its Cal.com booking, and how it ended."""

    class Field(models.TextChoices):
        TIME = "time", _("Time")
        STATUS = "status", _("Status")
        ATTENDEE = "attendee", _("Attendee")
        MISSING = "missing", _("Missing on one side")

    class State(models.TextChoices):
        DRIFT = "drift", _("Open")
        RESOLVED = "resolved", _("Resolved")
        MANUAL_REVIEW = "manual_review", _("Manual review")

    appointment = models.ForeignKey(
        "appointments.Appointment", verbose_name=_("appointment"), on_delete=models.CASCADE,
        related_name="calcom_drifts", null=True, blank=True,
    )
    booking_uid = models.CharField(_("Cal.com booking uid"), max_length=100, blank=True, db_index=True)
    field = models.CharField(_("field"), max_length=20, choices=Field.choices)
    local_value = models.JSONField(_("AskPro value"), null=True, blank=True)
    remote_value = models.JSONField(_("Cal.com value"), null=True, blank=True)
    state = models.CharField(_("state"), max_length=20, choices=State.choices, default=State.DRIFT)
    strategy = models.CharField(_("resolved by strategy"), max_length=20, choices=ConflictStrategy.choices, blank=True)
    resolved_at = models.DateTimeField(_("resolved"), null=True, blank=True)
    note = models.TextField(_("note"), blank=True)

    class Meta:
        verbose_name = _("drift record")
        verbose_name_plural = _("drift records")
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["state", "created_at"], name="calcom_drift_state_idx")]

    def __str__(self) -> str:
        return f"{self.get_field_display()} · {self.booking_uid} ({self.state})"


class BookingTombstone(TimeStamped):
    """A Cal.com booking that was cancelled before AskPro knew it (BOOKING_CANCELLED arrived first,
    or a cancelled booking was seen without an appointment). Webhooks are unordered and the API may
    not return such a booking, so a later BOOKING_CREATED for the uid is not imported."""

    booking_uid = models.CharField(_("Cal.com booking uid"), max_length=100, unique=True)
    status = models.CharField(_("Cal.com status"), max_length=20)
    reason = models.TextField(_("cancellation reason"), blank=True)
    remote_updated_at = models.DateTimeField(_("Cal.com updated"), null=True, blank=True)

    class Meta:
        verbose_name = _("cancelled-first booking")
        verbose_name_plural = _("cancelled-first bookings")
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.booking_uid} ({self.status})"
