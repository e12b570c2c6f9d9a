"""The booking domain: who books (Customer), where (Branch), with whom (Staff), what (Service),
and the booking itself (Appointment). Lives in each tenant's schema."""

from __future__ import annotations

import zoneinfo

from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.contrib.postgres.indexes import GinIndex
from django.db import models
from django.utils.translation import gettext_lazy as _

from tenants.models import validate_time_zone


class TimeStamped(models.Model):
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        abstract = True


class Branch(TimeStamped):
    name = models.CharField(_("name"), max_length=200)
    street = models.CharField(_("street"), max_length=200, blank=True)
    postal_code = models.CharField(_("postal code"), max_length=20, blank=True)
    city = models.CharField(_("city"), max_length=100, blank=True)
    phone = models.CharField(_("phone"), max_length=32, blank=True, help_text=_("E.164, e.g. +493012345678"))
    email = models.EmailField(_("email"), blank=True)
    time_zone = models.CharField(_("time zone"), max_length=64, default="Europe/Berlin", validators=[validate_time_zone])
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        verbose_name = _("branch")
        verbose_name_plural = _("branches")
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    @property
    def tzinfo(self) -> zoneinfo.ZoneInfo:
        return zoneinfo.ZoneInfo(self.time_zone)

    @property
    def address(self) -> str:
        return ", ".join(part for part in [self.street, f"{self.postal_code} {self.city}".strip()] if part)


class Service(TimeStamped):
    name = models.CharField(_("name"), max_length=200)
    category = models.CharField(_("category"), max_length=100, blank=True)
    description = models.TextField(_("description"), blank=True)
    duration_minutes = models.PositiveIntegerField(_("duration (minutes)"), default=30)
    price_cents = models.PositiveIntegerField(_("price (cents)"), default=0)
    currency = models.CharField(_("currency"), max_length=3, default="EUR")
    buffer_before_minutes = models.PositiveIntegerField(_("buffer before (minutes)"), default=0)
    buffer_after_minutes = models.PositiveIntegerField(_("buffer after (minutes)"), default=0)
    min_notice_minutes = models.PositiveIntegerField(_("minimum booking notice (minutes)"), default=60)
    max_advance_days = models.PositiveIntegerField(_("maximum days in advance"), default=90)
    slot_interval_minutes = models.PositiveIntegerField(_("slot interval (minutes)"), default=15)
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        verbose_name = _("service")
        verbose_name_plural = _("services")
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Staff(TimeStamped):
    name = models.CharField(_("name"), max_length=200)
    email = models.EmailField(_("email"), blank=True)
    phone = models.CharField(_("phone"), max_length=32, blank=True)
    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, verbose_name=_("login"), null=True, blank=True,
        on_delete=models.SET_NULL, related_name="staff_profile",
    )
    branches = models.ManyToManyField(Branch, verbose_name=_("branches"), related_name="staff", blank=True)
    services = models.ManyToManyField(Service, verbose_name=_("services"), related_name="staff", blank=True)
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        verbose_name = _("staff member")
        verbose_name_plural = _("staff")
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Customer(TimeStamped):
    """The one customer model: who books, how we reach them, where they are in their journey.

    Phone numbers are stored in E.164 (``appointments.customers.normalize_phone``); a lookup by
    any known number is one indexed query over ``phone`` (btree) and ``other_phones`` (GIN).
    Change ``journey_status`` only through ``appointments.customers.change_journey_status``.
    """

    class Language(models.TextChoices):
        DE = "de", _("German")
        EN = "en", _("English")

    class Source(models.TextChoices):
        PHONE = "phone", _("Phone (voice agent)")
        ADMIN = "admin", _("Admin")
        ONLINE = "online", _("Online booking")
        CALCOM = "calcom", _("Cal.com")
        WALK_IN = "walk_in", _("Walk-in")
        IMPORT = "import", _("Import")
        OTHER = "other", _("Other")

    class Journey(models.TextChoices):
        LEAD = "lead", _("Lead (first contact, no appointment yet)")
        PROSPECT = "prospect", _("Prospect (appointment planned)")
        CUSTOMER = "customer", _("Customer (first appointment completed)")
        REGULAR = "regular", _("Regular (3+ appointments completed)")
        VIP = "vip", _("VIP")
        AT_RISK = "at_risk", _("At risk (no activity for 90+ days)")
        CHURNED = "churned", _("Churned")

    name = models.CharField(_("name"), max_length=200, blank=True)
    phone = models.CharField(_("phone"), max_length=32, blank=True, db_index=True, help_text=_("E.164, e.g. +4915112345678"))
    other_phones = ArrayField(
        models.CharField(max_length=32), verbose_name=_("other phone numbers"), default=list, blank=True,
        help_text=_("Further numbers the customer calls from, E.164."),
    )
    email = models.EmailField(_("email"), blank=True)
    language = models.CharField(_("language"), max_length=5, choices=Language.choices, default=Language.DE)
    source = models.CharField(_("source"), max_length=20, choices=Source.choices, default=Source.ADMIN)
    journey_status = models.CharField(
        _("journey status"), max_length=20, choices=Journey.choices, default=Journey.LEAD, db_index=True,
    )
    journey_changed_at = models.DateTimeField(_("journey status changed"), null=True, blank=True)
    gdpr_consent = models.BooleanField(_("GDPR consent"), default=False, help_text=_("Consent to storing and processing personal data."))
    gdpr_consent_at = models.DateTimeField(_("GDPR consent given"), null=True, blank=True)
    marketing_consent = models.BooleanField(_("marketing consent"), default=False)
    marketing_consent_at = models.DateTimeField(_("marketing consent changed"), null=True, blank=True)
    sms_opt_out = models.BooleanField(_("no SMS"), default=False, help_text=_("The customer asked not to receive text messages."))
    sms_opt_out_at = models.DateTimeField(_("SMS opt-out date"), null=True, blank=True)

    class Meta:
        verbose_name = _("customer")
        verbose_name_plural = _("customers")
        ordering = ["name"]
        indexes = [GinIndex(fields=["other_phones"], name="customer_other_phones_gin")]

    def __str__(self) -> str:
        return self.name or self.phone or f"#{self.pk}"

    @property
    def phone_numbers(self) -> list[str]:
        return [number for number in [self.phone, *self.other_phones] if number]


class Appointment(TimeStamped):
    class Status(models.TextChoices):
        PENDING = "pending", _("Pending")
        CONFIRMED = "confirmed", _("Confirmed")
        IN_PROGRESS = "in_progress", _("In progress")
        COMPLETED = "completed", _("Completed")
        CANCELLED = "cancelled", _("Cancelled")
        NO_SHOW = "no_show", _("No-show")

    class Source(models.TextChoices):
        PHONE = "phone", _("Phone (voice agent)")
        ADMIN = "admin", _("Admin")
        API = "api", _("API")
        CALCOM = "calcom", _("Cal.com")

    customer = models.ForeignKey(Customer, verbose_name=_("customer"), on_delete=models.PROTECT, related_name="appointments")
    service = models.ForeignKey(Service, verbose_name=_("service"), on_delete=models.PROTECT, related_name="appointments")
    staff = models.ForeignKey(Staff, verbose_name=_("staff member"), on_delete=models.PROTECT, related_name="appointments")
    branch = models.ForeignKey(Branch, verbose_name=_("branch"), on_delete=models.PROTECT, related_name="appointments")
    starts_at = models.DateTimeField(_("starts at"))
    ends_at = models.DateTimeField(_("ends at"))
    status = models.CharField(_("status"), max_length=20, choices=Status.choices, default=Status.CONFIRMED)
    source = models.CharField(_("source"), max_length=20, choices=Source.choices, default=Source.ADMIN)
    price_cents = models.PositiveIntegerField(_("price (cents)"), default=0)
    currency = models.CharField(_("currency"), max_length=3, default="EUR")
    notes = models.TextField(_("notes"), blank=True)
    external_ref = models.CharField(_("external booking reference"), max_length=200, blank=True, db_index=True)
    version = models.PositiveIntegerField(_("version"), default=1, help_text=_("Optimistic lock: increases on every change."))

    class Meta:
        verbose_name = _("appointment")
        verbose_name_plural = _("appointments")
        ordering = ["-starts_at"]
        indexes = [
            models.Index(fields=["staff", "starts_at"], name="appt_staff_start_idx"),
            models.Index(fields=["branch", "starts_at"], name="appt_branch_start_idx"),
            models.Index(fields=["customer", "starts_at"], name="appt_customer_start_idx"),
        ]
        constraints = [
            models.CheckConstraint(condition=models.Q(ends_at__gt=models.F("starts_at")), name="appt_ends_after_start"),
        ]

    def __str__(self) -> str:
        return f"{self.service} · {self.customer} · {self.starts_at:%Y-%m-%d %H:%M}"


class CustomerNote(TimeStamped):
    """A note about a customer (complaint, preference, medical hint) with a visibility level."""

    class Type(models.TextChoices):
        GENERAL = "general", _("General")
        COMPLAINT = "complaint", _("Complaint")
        FEEDBACK = "feedback", _("Feedback")
        MEDICAL = "medical", _("Medical")
        CALL = "call", _("From a call")

    class Visibility(models.TextChoices):
        STAFF = "staff", _("Staff")
        MANAGEMENT = "management", _("Management only")
        ALL = "all", _("Everyone")

    customer = models.ForeignKey(Customer, verbose_name=_("customer"), on_delete=models.CASCADE, related_name="customer_notes")
    subject = models.CharField(_("subject"), max_length=200, blank=True)
    content = models.TextField(_("content"))
    type = models.CharField(_("type"), max_length=20, choices=Type.choices, default=Type.GENERAL)
    is_pinned = models.BooleanField(_("pinned"), default=False, help_text=_("Pinned notes are shown first."))
    visibility = models.CharField(_("visibility"), max_length=20, choices=Visibility.choices, default=Visibility.STAFF)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("created by"), null=True, blank=True,
        on_delete=models.SET_NULL, related_name="+",
    )

    class Meta:
        verbose_name = _("customer note")
        verbose_name_plural = _("customer notes")
        ordering = ["-is_pinned", "-created_at"]

    def __str__(self) -> str:
        return self.subject or self.content[:60]


class CustomerJourneyTransition(models.Model):
    """One change of a customer's journey status: the audit trail of the journey."""

    customer = models.ForeignKey(Customer, verbose_name=_("customer"), on_delete=models.CASCADE, related_name="journey_transitions")
    from_status = models.CharField(_("from"), max_length=20, choices=Customer.Journey.choices, blank=True)
    to_status = models.CharField(_("to"), max_length=20, choices=Customer.Journey.choices)
    reason = models.CharField(_("reason"), max_length=255, blank=True)
    actor = models.CharField(_("changed by"), max_length=150, blank=True, help_text=_('Who changed it, e.g. "user:12", "phone:<call id>", "system".'))
    created_at = models.DateTimeField(_("changed at"), auto_now_add=True)

    class Meta:
        verbose_name = _("journey transition")
        verbose_name_plural = _("journey transitions")
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.from_status or '-'} → {self.to_status}"
