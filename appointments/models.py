"""The booking domain: who books (Customer), where (Branch), with whom (Staff), what (Service),
and the booking itself (Appointment). Lives in each tenant's schema."""

from __future__ import annotations

import zoneinfo

from django.conf import settings
from django.contrib.postgres.constraints import ExclusionConstraint
from django.contrib.postgres.fields import (
    ArrayField,
    BigIntegerRangeField,
    DateTimeRangeField,
    RangeOperators,
)
from django.contrib.postgres.indexes import GinIndex
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

from appointments.public_holidays import NO_HOLIDAYS, STATES
from askpro.display import local_datetime
from tenants.models import validate_time_zone

# Statuses whose time no longer blocks the calendar (the exclusion constraint ignores them).
RELEASED_STATUSES = ("cancelled", "no_show")


def history_user(instance: object = None, request: object = None, **kwargs: object) -> object:
    """The logged-in user for history rows; API-key callers are not users (their actor is
    recorded in the change reason instead)."""
    from django.contrib.auth.models import AbstractBaseUser

    user = getattr(request, "user", None)
    return user if isinstance(user, AbstractBaseUser) and user.pk else None


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
    holiday_region = models.CharField(
        _("public holidays"), max_length=8, blank=True, default="",
        choices=[("", _("Automatic (from the postal code, else Berlin)")), *STATES,
                 (NO_HOLIDAYS, _("No public holidays"))],
        help_text=_("The state whose public holidays close this branch."),
    )
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        verbose_name = _("branch")
        verbose_name_plural = _("branches")
        ordering = ["name"]
        # Object permission (django-guardian): the login works in this branch; see appointments/access.py.
        permissions = [("work_in_branch", _("works in this branch"))]

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

    history = HistoricalRecords(get_user=history_user)

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

    history = HistoricalRecords(get_user=history_user)

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
    journey_manual = models.BooleanField(
        _("journey set by hand"), default=False,
        help_text=_("Set by hand with a reason; it stays until the history really changes or it is reset."),
    )
    journey_manual_baseline = models.CharField(
        _("derived status when set by hand"), max_length=20, choices=Journey.choices, blank=True, editable=False,
        help_text=_("The status the history gave when it was set by hand: a different one ends the manual status."),
    )
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
    series = models.ForeignKey(
        "RecurringSeries", verbose_name=_("recurring series"), null=True, blank=True,
        on_delete=models.SET_NULL, related_name="appointments",
    )
    reschedule_count = models.PositiveIntegerField(_("reschedules"), default=0)
    cancelled_at = models.DateTimeField(_("cancelled at"), null=True, blank=True)

    history = HistoricalRecords(excluded_fields=["updated_at"], get_user=history_user)

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
        # In the branch's zone, as every page shows it (breadcrumbs, messages, linked records).
        return f"{self.service} · {self.customer} · {local_datetime(self.starts_at, self.branch.tzinfo)}"

    @property
    def blocks_calendar(self) -> bool:
        return self.status not in RELEASED_STATUSES


class ServiceSegment(models.Model):
    """One step of a composite service (wash, colour, processing gap, dry), booked back to back."""

    service = models.ForeignKey(Service, verbose_name=_("service"), on_delete=models.CASCADE, related_name="segments")
    position = models.PositiveSmallIntegerField(_("position"), default=0)
    name = models.CharField(_("name"), max_length=200)
    duration_minutes = models.PositiveIntegerField(_("duration (minutes)"))
    gap_after_minutes = models.PositiveIntegerField(
        _("gap after (minutes)"), default=0,
        help_text=_("Waiting time after this step (e.g. colour processing); the staff member is free meanwhile."),
    )
    qualification = models.ForeignKey(
        Service, verbose_name=_("performed by staff of"), null=True, blank=True,
        on_delete=models.PROTECT, related_name="+",
        help_text=_("Staff who perform this service may do this step. Empty: staff of the composite service."),
    )

    class Meta:
        verbose_name = _("service segment")
        verbose_name_plural = _("service segments")
        ordering = ["service", "position", "id"]
        constraints = [
            models.CheckConstraint(condition=models.Q(duration_minutes__gt=0), name="segment_duration_positive"),
        ]

    def __str__(self) -> str:
        return f"{self.service} · {self.position}. {self.name}"


class WorkingHour(models.Model):
    """A recurring weekly working window of a staff member at a branch, with an optional break."""

    class Weekday(models.IntegerChoices):
        MONDAY = 0, _("Monday")
        TUESDAY = 1, _("Tuesday")
        WEDNESDAY = 2, _("Wednesday")
        THURSDAY = 3, _("Thursday")
        FRIDAY = 4, _("Friday")
        SATURDAY = 5, _("Saturday")
        SUNDAY = 6, _("Sunday")

    staff = models.ForeignKey(Staff, verbose_name=_("staff member"), on_delete=models.CASCADE, related_name="working_hours")
    branch = models.ForeignKey(Branch, verbose_name=_("branch"), on_delete=models.CASCADE, related_name="working_hours")
    weekday = models.PositiveSmallIntegerField(_("weekday"), choices=Weekday.choices)
    start_time = models.TimeField(_("start"), help_text=_("Local time of the branch."))
    end_time = models.TimeField(_("end"))
    break_start = models.TimeField(_("break start"), null=True, blank=True)
    break_end = models.TimeField(_("break end"), null=True, blank=True)

    class Meta:
        verbose_name = _("working hours")
        verbose_name_plural = _("working hours")
        ordering = ["staff", "weekday", "start_time"]
        constraints = [
            models.CheckConstraint(condition=models.Q(end_time__gt=models.F("start_time")), name="workinghour_end_after_start"),
            models.CheckConstraint(
                condition=(models.Q(break_start__isnull=True, break_end__isnull=True))
                | models.Q(
                    break_start__gte=models.F("start_time"),
                    break_end__gt=models.F("break_start"),
                    break_end__lte=models.F("end_time"),
                ),
                name="workinghour_break_inside",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.staff} · {self.get_weekday_display()} {self.start_time:%H:%M}-{self.end_time:%H:%M}"


class AvailabilityOverride(models.Model):
    """A date-specific exception: a closed day or vacation (blocks) or extra hours (adds)."""

    class Kind(models.TextChoices):
        CLOSED = "closed", _("Closed")
        VACATION = "vacation", _("Vacation / absence")
        EXTRA_HOURS = "extra_hours", _("Extra hours")

    branch = models.ForeignKey(
        Branch, verbose_name=_("branch"), null=True, blank=True, on_delete=models.CASCADE, related_name="overrides",
        help_text=_("Without a staff member: applies to everyone at this branch."),
    )
    staff = models.ForeignKey(
        Staff, verbose_name=_("staff member"), null=True, blank=True, on_delete=models.CASCADE, related_name="overrides",
        help_text=_("Without a branch: applies at every branch of this staff member."),
    )
    kind = models.CharField(_("kind"), max_length=20, choices=Kind.choices)
    date_from = models.DateField(_("from"))
    date_until = models.DateField(_("until (inclusive)"))
    start_time = models.TimeField(_("start"), null=True, blank=True, help_text=_("Empty: the whole day."))
    end_time = models.TimeField(_("end"), null=True, blank=True)
    reason = models.CharField(_("reason"), max_length=200, blank=True)

    class Meta:
        verbose_name = _("availability override")
        verbose_name_plural = _("availability overrides")
        ordering = ["date_from"]
        indexes = [models.Index(fields=["date_from", "date_until"], name="override_dates_idx")]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(branch__isnull=False) | models.Q(staff__isnull=False), name="override_has_target"
            ),
            models.CheckConstraint(condition=models.Q(date_until__gte=models.F("date_from")), name="override_dates_ordered"),
            models.CheckConstraint(
                condition=models.Q(start_time__isnull=True, end_time__isnull=True)
                | models.Q(start_time__isnull=False, end_time__isnull=False, end_time__gt=models.F("start_time")),
                name="override_times_paired",
            ),
            models.CheckConstraint(
                condition=~models.Q(kind="extra_hours")
                | models.Q(staff__isnull=False, branch__isnull=False, start_time__isnull=False),
                name="override_extra_hours_complete",
            ),
        ]

    def __str__(self) -> str:
        target = self.staff or self.branch
        return f"{target} · {self.get_kind_display()} {self.date_from}"


class TsTzRange(models.Func):
    function = "TSTZRANGE"
    output_field = DateTimeRangeField()


class Int8Range(models.Func):
    function = "INT8RANGE"
    output_field = BigIntegerRangeField()


class AppointmentSegment(models.Model):
    """The calendar time one staff member spends on an appointment. Every appointment has at least
    one; the exclusion constraint over these rows is what makes double booking impossible."""

    appointment = models.ForeignKey(Appointment, verbose_name=_("appointment"), on_delete=models.CASCADE, related_name="segments")
    position = models.PositiveSmallIntegerField(_("position"), default=0)
    name = models.CharField(_("name"), max_length=200, blank=True)
    service = models.ForeignKey(Service, verbose_name=_("service"), on_delete=models.PROTECT, related_name="+")
    staff = models.ForeignKey(Staff, verbose_name=_("staff member"), on_delete=models.PROTECT, related_name="segments")
    starts_at = models.DateTimeField(_("starts at"))
    ends_at = models.DateTimeField(_("ends at"))
    blocked_from = models.DateTimeField(_("blocked from"), help_text=_("Start including the buffer before."))
    blocked_until = models.DateTimeField(_("blocked until"), help_text=_("End including the buffer after."))
    # A copy of the appointment's status (kept in step by a database trigger): an exclusion
    # constraint can only look at its own row.
    status = models.CharField(_("status"), max_length=20, choices=Appointment.Status.choices)

    class Meta:
        verbose_name = _("appointment segment")
        verbose_name_plural = _("appointment segments")
        ordering = ["appointment", "position"]
        indexes = [models.Index(fields=["staff", "blocked_from"], name="segment_staff_block_idx")]
        constraints = [
            models.CheckConstraint(condition=models.Q(ends_at__gt=models.F("starts_at")), name="segment_ends_after_start"),
            models.CheckConstraint(
                condition=models.Q(blocked_from__lte=models.F("starts_at"), blocked_until__gte=models.F("ends_at")),
                name="segment_block_covers_time",
            ),
            ExclusionConstraint(
                name="no_double_booking",
                expressions=[
                    (Int8Range(models.F("staff"), models.F("staff"), models.Value("[]")), RangeOperators.OVERLAPS),
                    (TsTzRange(models.F("blocked_from"), models.F("blocked_until")), RangeOperators.OVERLAPS),
                ],
                condition=~models.Q(status__in=RELEASED_STATUSES),
            ),
        ]

    def __str__(self) -> str:
        zone = self.appointment.branch.tzinfo
        return f"{self.appointment_id}/{self.position} {self.staff} {local_datetime(self.starts_at, zone)}"


class RecurringSeries(TimeStamped):
    """A rule that booked several appointments (every week, every other week, monthly)."""

    class Frequency(models.TextChoices):
        WEEKLY = "weekly", _("Weekly")
        BIWEEKLY = "biweekly", _("Every two weeks")
        MONTHLY = "monthly", _("Monthly")

    customer = models.ForeignKey(Customer, verbose_name=_("customer"), on_delete=models.PROTECT, related_name="series")
    service = models.ForeignKey(Service, verbose_name=_("service"), on_delete=models.PROTECT, related_name="series")
    staff = models.ForeignKey(Staff, verbose_name=_("staff member"), on_delete=models.PROTECT, related_name="series")
    branch = models.ForeignKey(Branch, verbose_name=_("branch"), on_delete=models.PROTECT, related_name="series")
    frequency = models.CharField(_("frequency"), max_length=20, choices=Frequency.choices)
    first_starts_at = models.DateTimeField(_("first appointment"))
    count = models.PositiveIntegerField(_("number of appointments"), null=True, blank=True)
    until = models.DateField(_("until"), null=True, blank=True)
    source = models.CharField(_("source"), max_length=20, choices=Appointment.Source.choices)
    created_by = models.CharField(_("created by"), max_length=200, blank=True)
    conflicts = models.JSONField(_("conflicts"), default=list, blank=True, help_text=_("Occurrences that could not be booked."))

    class Meta:
        verbose_name = _("recurring series")
        verbose_name_plural = _("recurring series")
        ordering = ["-first_starts_at"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(count__isnull=False) | models.Q(until__isnull=False), name="series_has_end"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.service} · {self.customer} · {self.get_frequency_display()}"


class PolicyConfiguration(TimeStamped):
    """Rules for cancelling, rescheduling and recurring bookings, set for the whole company or for
    a branch, service or staff member. The most specific one wins: staff, service, branch, company."""

    class PolicyType(models.TextChoices):
        CANCELLATION = "cancellation", _("Cancellation")
        RESCHEDULE = "reschedule", _("Reschedule")
        RECURRING = "recurring", _("Recurring")

    class ViolationAction(models.TextChoices):
        WARN = "warn", _("Warn (allow and record)")
        BLOCK = "block", _("Block")
        CHARGE_FEE = "charge_fee", _("Allow and charge the fee")

    policy_type = models.CharField(_("policy"), max_length=20, choices=PolicyType.choices)
    branch = models.ForeignKey(Branch, verbose_name=_("branch"), null=True, blank=True, on_delete=models.CASCADE, related_name="policies")
    service = models.ForeignKey(Service, verbose_name=_("service"), null=True, blank=True, on_delete=models.CASCADE, related_name="policies")
    staff = models.ForeignKey(Staff, verbose_name=_("staff member"), null=True, blank=True, on_delete=models.CASCADE, related_name="policies")
    min_hours_notice = models.PositiveIntegerField(
        _("minimum notice (hours)"), null=True, blank=True,
        help_text=_("Cancelling or rescheduling later than this before the start violates the policy."),
    )
    fee_cents = models.PositiveIntegerField(_("fee (cents)"), default=0)
    currency = models.CharField(_("currency"), max_length=3, default="EUR")
    max_reschedules_per_booking = models.PositiveIntegerField(_("maximum reschedules per booking"), null=True, blank=True)
    max_free_cancellations_per_month = models.PositiveIntegerField(
        _("free cancellations per month"), null=True, blank=True,
        help_text=_("Per customer; cancellations beyond this number violate the policy."),
    )
    min_series_length = models.PositiveIntegerField(_("minimum series length"), null=True, blank=True)
    max_series_length = models.PositiveIntegerField(_("maximum series length"), null=True, blank=True)
    violation_action = models.CharField(
        _("on violation"), max_length=20, choices=ViolationAction.choices, default=ViolationAction.WARN
    )
    is_active = models.BooleanField(_("active"), default=True)

    history = HistoricalRecords(excluded_fields=["updated_at"], get_user=history_user)

    class Meta:
        verbose_name = _("policy")
        verbose_name_plural = _("policies")
        ordering = ["policy_type", "id"]
        constraints = [
            models.CheckConstraint(
                condition=(
                    models.Q(branch__isnull=True, service__isnull=True)
                    | models.Q(branch__isnull=True, staff__isnull=True)
                    | models.Q(service__isnull=True, staff__isnull=True)
                ),
                name="policy_one_scope",
            ),
            models.UniqueConstraint(
                fields=["policy_type"], condition=models.Q(branch__isnull=True, service__isnull=True, staff__isnull=True),
                name="policy_unique_company",
            ),
            models.UniqueConstraint(fields=["policy_type", "branch"], name="policy_unique_branch"),
            models.UniqueConstraint(fields=["policy_type", "service"], name="policy_unique_service"),
            models.UniqueConstraint(fields=["policy_type", "staff"], name="policy_unique_staff"),
        ]

    def __str__(self) -> str:
        return f"{self.get_policy_type_display()} · {self.scope_label}"

    @property
    def scope_label(self) -> str:
        if self.staff_id:
            return f"{_('staff member')}: {self.staff}"
        if self.service_id:
            return f"{_('service')}: {self.service}"
        if self.branch_id:
            return f"{_('branch')}: {self.branch}"
        return str(_("company"))


class AppointmentModification(models.Model):
    """An audit row for each reschedule or cancellation, with the policy verdict and fee."""

    class Kind(models.TextChoices):
        RESCHEDULE = "reschedule", _("Reschedule")
        CANCELLATION = "cancellation", _("Cancellation")

    appointment = models.ForeignKey(Appointment, verbose_name=_("appointment"), on_delete=models.CASCADE, related_name="modifications")
    customer = models.ForeignKey(Customer, verbose_name=_("customer"), on_delete=models.CASCADE, related_name="modifications")
    kind = models.CharField(_("kind"), max_length=20, choices=Kind.choices)
    reason = models.CharField(_("reason"), max_length=500, blank=True)
    actor = models.CharField(_("actor"), max_length=200)
    source = models.CharField(_("source"), max_length=20, choices=Appointment.Source.choices)
    previous_starts_at = models.DateTimeField(_("previous start"))
    new_starts_at = models.DateTimeField(_("new start"), null=True, blank=True)
    hours_notice = models.DecimalField(_("notice (hours)"), max_digits=8, decimal_places=2)
    policy = models.ForeignKey(
        PolicyConfiguration, verbose_name=_("policy"), null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    policy_violated = models.BooleanField(_("policy violated"), default=False)
    violation_action = models.CharField(_("action taken"), max_length=20, choices=PolicyConfiguration.ViolationAction.choices, blank=True)
    violations = models.JSONField(_("violated rules"), default=list, blank=True)
    fee_cents = models.PositiveIntegerField(_("fee (cents)"), default=0)
    currency = models.CharField(_("currency"), max_length=3, default="EUR")
    created_at = models.DateTimeField(_("created"), default=timezone.now)

    class Meta:
        verbose_name = _("appointment modification")
        verbose_name_plural = _("appointment modifications")
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["customer", "kind", "created_at"], name="modification_customer_idx")]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} #{self.appointment_id} ({self.actor})"


class LoyaltyTier(models.TextChoices):
    BRONZE = "bronze", _("Bronze")
    SILVER = "silver", _("Silver")
    GOLD = "gold", _("Gold")
    PLATINUM = "platinum", _("Platinum")


class CrmSettings(models.Model):
    """A tenant's CRM thresholds (one row): when the journey moves on, how loyalty is earned."""

    regular_min_completed = models.PositiveSmallIntegerField(
        _("regular from completed appointments"), default=3,
        help_text=_("Completed appointments from which a customer is a regular."))
    vip_min_completed = models.PositiveSmallIntegerField(
        _("VIP from completed appointments"), default=10,
        help_text=_("Completed appointments from which a customer is a VIP (0: only by revenue)."))
    vip_min_revenue_cents = models.PositiveIntegerField(
        _("VIP from revenue (cents)"), default=100_000,
        help_text=_("Revenue of completed appointments from which a customer is a VIP."))
    at_risk_after_days = models.PositiveSmallIntegerField(
        _("at risk after days without activity"), default=90)
    churned_after_days = models.PositiveSmallIntegerField(
        _("churned after days without activity"), default=365)
    points_per_completed_appointment = models.PositiveSmallIntegerField(
        _("loyalty points per completed appointment"), default=10)
    silver_min_points = models.PositiveIntegerField(_("silver from points"), default=100)
    gold_min_points = models.PositiveIntegerField(_("gold from points"), default=300)
    platinum_min_points = models.PositiveIntegerField(_("platinum from points"), default=600)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        verbose_name = _("CRM settings")
        verbose_name_plural = _("CRM settings")

    def __str__(self) -> str:
        return str(_("CRM settings"))


class CustomerBookingStats(models.Model):
    """Per-customer modification counters, kept current by the services for quick lookups."""

    customer = models.OneToOneField(Customer, verbose_name=_("customer"), on_delete=models.CASCADE, related_name="booking_stats", primary_key=True)
    reschedule_count = models.PositiveIntegerField(_("reschedules"), default=0)
    cancellation_count = models.PositiveIntegerField(_("cancellations"), default=0)
    violation_count = models.PositiveIntegerField(_("policy violations"), default=0)
    fees_cents = models.PositiveIntegerField(_("fees (cents)"), default=0)
    last_modification_at = models.DateTimeField(_("last modification"), null=True, blank=True)
    # Customer value (seed 3.4), kept current by appointments.crm on booking and call events.
    appointment_count = models.PositiveIntegerField(_("appointments"), default=0)
    completed_count = models.PositiveIntegerField(_("completed appointments"), default=0)
    no_show_count = models.PositiveIntegerField(_("no-shows"), default=0)
    cancelled_count = models.PositiveIntegerField(_("cancelled appointments"), default=0)
    call_count = models.PositiveIntegerField(_("calls"), default=0)
    total_revenue_cents = models.PositiveBigIntegerField(_("total revenue (cents)"), default=0)
    average_booking_value_cents = models.PositiveIntegerField(_("average booking value (cents)"), default=0)
    loyalty_points = models.PositiveIntegerField(_("loyalty points"), default=0)
    loyalty_tier = models.CharField(_("loyalty tier"), max_length=10, choices=LoyaltyTier.choices,
                                    default=LoyaltyTier.BRONZE, db_index=True)
    engagement_score = models.PositiveSmallIntegerField(_("engagement score"), default=0, db_index=True)
    last_activity_at = models.DateTimeField(_("last activity"), null=True, blank=True)
    value_computed_at = models.DateTimeField(_("customer value computed"), null=True, blank=True)

    class Meta:
        verbose_name = _("customer booking statistics")
        verbose_name_plural = _("customer booking statistics")

    def __str__(self) -> str:
        return str(self.customer)


class ApiKey(models.Model):
    """A tenant's key for the booking API. Only a hash is stored; the prefix identifies it."""

    name = models.CharField(_("name"), max_length=200, help_text=_("Who uses it, e.g. 'website widget'."))
    prefix = models.CharField(_("prefix"), max_length=16, unique=True, editable=False)
    key_hash = models.CharField(_("key hash"), max_length=64, editable=False)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    created_by = models.CharField(_("created by"), max_length=200, blank=True, editable=False)
    expires_at = models.DateTimeField(_("expires"), null=True, blank=True)
    revoked_at = models.DateTimeField(_("revoked"), null=True, blank=True, editable=False)
    last_used_at = models.DateTimeField(_("last used"), null=True, blank=True, editable=False)

    class Meta:
        verbose_name = _("API key")
        verbose_name_plural = _("API keys")
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"


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


class DataExport(models.Model):
    """One export of an admin list that holds personal data (who, when, how many rows, which filters)."""

    user = models.CharField(_("user"), max_length=150)
    model = models.CharField(_("list"), max_length=100)
    rows = models.PositiveIntegerField(_("rows"))
    file_format = models.CharField(_("format"), max_length=10)
    filters = models.CharField(_("filters"), max_length=1000, blank=True)
    created_at = models.DateTimeField(_("exported at"), auto_now_add=True)

    class Meta:
        verbose_name = _("data export")
        verbose_name_plural = _("data exports")
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.model} · {self.user} · {self.rows}"


class CustomerMerge(models.Model):
    """One merge of a duplicate into the kept customer: who, when, what moved, and a snapshot of
    the removed customer, so that it can be undone (``appointments.crm.undo_merge``)."""

    kept = models.ForeignKey(Customer, verbose_name=_("kept customer"), null=True, on_delete=models.SET_NULL,
                             related_name="merges")
    kept_name = models.CharField(_("kept customer"), max_length=200)
    removed_customer_id = models.PositiveBigIntegerField(_("removed customer id"))
    removed_name = models.CharField(_("removed customer"), max_length=200)
    removed_snapshot = models.JSONField(_("removed customer (snapshot)"), default=dict)
    moved = models.JSONField(_("moved records"), default=dict,
                             help_text=_("Ids of the records moved to the kept customer, per kind."))
    kept_changes = models.JSONField(_("changes to the kept customer"), default=dict)
    merged_by = models.CharField(_("merged by"), max_length=150)
    merged_at = models.DateTimeField(_("merged at"), auto_now_add=True)
    undone_by = models.CharField(_("undone by"), max_length=150, blank=True)
    undone_at = models.DateTimeField(_("undone at"), null=True, blank=True)

    class Meta:
        verbose_name = _("customer merge")
        verbose_name_plural = _("customer merges")
        ordering = ["-merged_at", "-id"]

    def __str__(self) -> str:
        return f"{self.removed_name} → {self.kept_name}"
