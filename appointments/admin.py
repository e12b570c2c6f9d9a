"""Tenant admin of the booking domain. Every booking change goes through appointments.services;
this module only parses forms, calls a service and reports the outcome."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.widgets import FilteredSelectMultiple
from django.contrib.auth.models import User
from django.db.models import QuerySet
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy
from simple_history.admin import SimpleHistoryAdmin
from unfold.admin import ModelAdmin, StackedInline, TabularInline
from unfold.decorators import action, display

from appointments import services
from appointments.access import (
    BranchScopedAdminMixin,
    assign_branches,
    assigned_branches,
    is_branch_scoped,
    visible_branches,
)
from appointments.api_keys import create_api_key, revoke_api_key, rotate_api_key
from appointments.models import (
    RELEASED_STATUSES,
    ApiKey,
    Appointment,
    AppointmentModification,
    AppointmentSegment,
    AvailabilityOverride,
    Branch,
    CrmSettings,
    CustomerBookingStats,
    CustomerMerge,
    DataExport,
    PolicyConfiguration,
    RecurringSeries,
    Service,
    ServiceSegment,
    Staff,
    WorkingHour,
)
from askpro.admin_dialogs import Dialog, DialogForm, Done, LocalDateTimeInput, Notice, dialog_action
from askpro.admin_sites import UserAdmin, tenant_admin_site
from askpro.display import euros, local_datetime
from askpro.errors import DomainError
from askpro.exports import ExportAdminMixin


def actor(request: HttpRequest) -> str:
    return f"admin:{request.user.pk}"


def report_error(request: HttpRequest, exc: DomainError) -> None:
    alternatives = exc.details.get("alternatives") if isinstance(exc.details, dict) else None
    text = str(exc.message)
    if alternatives:
        times = ", ".join(
            timezone.localtime(datetime.fromisoformat(a["starts_at"])).strftime("%d.%m. %H:%M")
            for a in alternatives
        )
        label = _("Next free times")  # outside the f-string so makemessages finds it
        text = f"{text} {label}: {times}"
    messages.error(request, text)


# --- branches, staff, services ----------------------------------------------------------------


class BranchOverrideInline(TabularInline):
    model = AvailabilityOverride
    fk_name = "branch"
    extra = 0
    fields = ("kind", "date_from", "date_until", "start_time", "end_time", "reason")
    verbose_name_plural = _("closures of the branch")

    def get_queryset(self, request: HttpRequest) -> QuerySet[AvailabilityOverride]:
        return super().get_queryset(request).filter(staff__isnull=True)


@admin.register(Branch, site=tenant_admin_site)
class BranchAdmin(ModelAdmin):
    list_display = ("name", "city", "phone", "time_zone", "holiday_region", "is_active")
    list_filter = ("is_active", "city", "time_zone", "holiday_region")
    search_fields = ("name", "city", "street", "phone")
    inlines = [BranchOverrideInline]


class WorkingHourInline(TabularInline):
    model = WorkingHour
    extra = 0
    fields = ("branch", "weekday", "start_time", "end_time", "break_start", "break_end")


class StaffOverrideInline(TabularInline):
    model = AvailabilityOverride
    fk_name = "staff"
    extra = 0
    fields = ("kind", "branch", "date_from", "date_until", "start_time", "end_time", "reason")
    verbose_name_plural = _("vacations, absences and extra hours")


@admin.register(Staff, site=tenant_admin_site)
class StaffAdmin(SimpleHistoryAdmin, ModelAdmin):
    list_display = ("name", "email", "phone", "is_active")
    list_filter = ("is_active", "branches", "services")
    search_fields = ("name", "email", "phone")
    filter_horizontal = ("branches", "services")
    inlines = [WorkingHourInline, StaffOverrideInline]


class ServiceSegmentInline(TabularInline):
    model = ServiceSegment
    fk_name = "service"
    extra = 0
    fields = ("position", "name", "duration_minutes", "gap_after_minutes", "qualification")
    ordering_field = "position"


@admin.register(Service, site=tenant_admin_site)
class ServiceAdmin(SimpleHistoryAdmin, ModelAdmin):
    list_display = ("name", "category", "duration_minutes", "price_display", "slot_interval_minutes", "is_active")
    list_filter = ("is_active", "category")
    search_fields = ("name", "category", "description")
    inlines = [ServiceSegmentInline]
    fieldsets = (
        (None, {"fields": ("name", "category", "description", "is_active")}),
        (_("Duration and price"), {"fields": ("duration_minutes", "price_cents", "currency")}),
        (_("Booking rules"), {"fields": (
            "buffer_before_minutes", "buffer_after_minutes", "min_notice_minutes", "max_advance_days",
            "slot_interval_minutes")}),
    )

    @display(description=_("price"), ordering="price_cents")
    def price_display(self, obj: Service) -> str:
        return euros(obj.price_cents, currency=obj.currency)


@admin.register(AvailabilityOverride, site=tenant_admin_site)
class AvailabilityOverrideAdmin(ModelAdmin):
    list_display = ("date_from", "date_until", "kind", "staff", "branch", "start_time", "end_time", "reason")
    list_filter = ("kind", "branch", "staff")
    search_fields = ("reason", "staff__name", "branch__name")
    date_hierarchy = "date_from"


# --- customers and policies ---------------------------------------------------------------------


class CustomerStatsInline(StackedInline):
    model = CustomerBookingStats
    can_delete = False
    extra = 0
    readonly_fields = ("reschedule_count", "cancellation_count", "violation_count", "fees_cents",
                       "last_modification_at")
    fields = readonly_fields  # the customer value (score, loyalty, revenue) has its own section on the page

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(DataExport, site=tenant_admin_site)
class DataExportAdmin(ModelAdmin):
    """Who exported customer data, when, how many rows (data protection); written by askpro.exports."""

    list_display = ("created_at", "user", "model", "rows", "file_format", "filters")
    list_filter = ("model", "file_format")
    search_fields = ("user",)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


# The Customer admin lives in calls/admin.py: it shows calls beside appointments and uses
# CustomerStatsInline from here.


@admin.register(PolicyConfiguration, site=tenant_admin_site)
class PolicyConfigurationAdmin(SimpleHistoryAdmin, ModelAdmin):
    list_display = ("policy_type", "scope_label", "min_hours_notice", "fee_cents", "violation_action", "is_active")
    list_filter = ("policy_type", "violation_action", "is_active", "branch", "service", "staff")
    search_fields = ("branch__name", "service__name", "staff__name")
    fieldsets = (
        (None, {
            "fields": ("policy_type", "is_active", "violation_action"),
            "description": _("Leave branch, service and staff empty for the company-wide policy. The most "
                             "specific active policy applies: staff, then service, then branch, then company."),
        }),
        (_("Applies to"), {"fields": ("branch", "service", "staff")}),
        (_("Rules"), {"fields": ("min_hours_notice", "fee_cents", "currency", "max_reschedules_per_booking",
                                 "max_free_cancellations_per_month", "min_series_length", "max_series_length")}),
    )


# --- appointments ---------------------------------------------------------------------------


class SegmentInline(TabularInline):
    model = AppointmentSegment
    extra = 0
    can_delete = False
    fields = ("position", "name", "staff", "starts_at", "ends_at", "blocked_from", "blocked_until", "status")
    readonly_fields = fields

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class ModificationInline(TabularInline):
    model = AppointmentModification
    extra = 0
    can_delete = False
    fields = ("created_at", "kind", "actor", "reason", "previous_starts_at", "new_starts_at", "policy_violated",
              "violation_action", "fee_cents")
    readonly_fields = fields

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class AppointmentBookingForm(forms.ModelForm):
    staff = forms.ModelChoiceField(Staff.objects.filter(is_active=True), required=False, label=_("Staff member"),
                                   help_text=_("Empty: any qualified staff member who is free."))
    branch = forms.ModelChoiceField(Branch.objects.filter(is_active=True), required=False, label=_("Branch"))

    class Meta:
        model = Appointment
        fields = ("customer", "service", "staff", "branch", "starts_at", "status", "notes")


class CancelForm(DialogForm):
    reason = forms.CharField(label=_("Reason"), max_length=500, required=True)


class RescheduleForm(DialogForm):
    new_starts_at = forms.DateTimeField(label=_("New start"), widget=LocalDateTimeInput(),
                                        help_text=_("Local time of the branch."))
    reason = forms.CharField(label=_("Reason"), max_length=500, required=False)


def _branch_zone(model_admin: Any, request: HttpRequest, object_id: Any) -> Any:
    appointment = Appointment.objects.select_related("branch").filter(pk=object_id).first()
    return appointment.branch.tzinfo if appointment else None


def _reschedule_initial(model_admin: Any, request: HttpRequest, object_id: Any) -> dict[str, Any]:
    appointment = Appointment.objects.filter(pk=object_id).first()
    return {"new_starts_at": timezone.localtime(appointment.starts_at)} if appointment else {}


VIOLATION_LABELS = {
    "min_hours_notice": _("less notice than the policy asks"),
    "max_free_cancellations_per_month": _("more cancellations this month than are free"),
    "max_reschedules_per_booking": _("moved more often than allowed"),
}


def violations_text(violations: Any) -> str:
    return ", ".join(str(VIOLATION_LABELS.get(v, v)) for v in violations)


def cancellation_notice(model_admin: Any, request: HttpRequest, object_id: Any) -> Notice:
    """The policy's verdict before the cancel is confirmed: free, a fee in euros, or too late."""
    try:
        decision = services.preview_cancellation(int(object_id))
    except DomainError as exc:
        return Notice(str(exc.message), tone="danger", blocks=True)
    rules = violations_text(decision.violations)
    if not decision.violated:
        return Notice(str(_("Free cancellation: the policy is kept, no fee.")))
    if decision.blocks:
        return Notice(str(_("Too late: the policy no longer allows a cancellation (%(rules)s).") % {"rules": rules}),
                      tone="danger", blocks=True)
    if decision.fee_cents:
        return Notice(str(_("A cancellation fee of %(fee)s applies (%(rules)s).")
                          % {"fee": euros(decision.fee_cents), "rules": rules}), tone="warning")
    return Notice(str(_("Allowed without a fee, but recorded as a policy violation (%(rules)s).") % {"rules": rules}),
                  tone="warning")


CANCEL_DIALOG = Dialog(
    title=_("Cancel appointment"), form_class=CancelForm, submit_label=_("Cancel appointment"), danger=True,
    description=_("The cancellation policy is checked; a violation is recorded, charged or refused as the policy says."),
    notice=cancellation_notice, zone=_branch_zone,
)
RESCHEDULE_DIALOG = Dialog(
    title=_("Reschedule appointment"), form_class=RescheduleForm, submit_label=_("Move appointment"),
    description=_("The new time is checked against working hours and other bookings; the reschedule policy applies."),
    alternatives_field="new_starts_at", initial=_reschedule_initial, zone=_branch_zone,
)


@admin.register(Appointment, site=tenant_admin_site)
class AppointmentAdmin(BranchScopedAdminMixin, ExportAdminMixin, SimpleHistoryAdmin, ModelAdmin):
    export_fields = ("starts_at", "ends_at", "customer", "service", "staff", "branch", "status", "source",
                     "price_cents", "notes")
    list_display = ("starts_at", "customer", "service", "staff", "branch", "status", "source", "price_cents")
    list_filter = ("status", "source", "branch", "staff", "service", ("starts_at", admin.DateFieldListFilter))
    search_fields = ("customer__name", "customer__phone", "customer__email", "external_ref", "notes")
    date_hierarchy = "starts_at"
    list_select_related = ("customer", "service", "staff", "branch")
    autocomplete_fields = ("customer",)
    actions = ["confirm", "start", "complete", "mark_no_show", "cancel_selected", "send_reminder"]
    actions_detail = ["cancel_detail", "reschedule_detail"]
    readonly_fields = ("customer", "service", "staff", "branch", "starts_at", "ends_at", "status", "source",
                       "price_cents", "currency", "series", "version", "reschedule_count", "cancelled_at",
                       "created_at", "updated_at")
    fields = readonly_fields[:7] + ("notes", "external_ref") + readonly_fields[7:]
    list_before_template = "appointments/calendar_link.html"
    # A day of a branch fits on one page; rendering cost grows per row (unfold builds the column
    # headers again for every row), so 50 rather than Django's 100 keeps the list quick.
    list_per_page = 50

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        allowed = super().has_change_permission(request, obj)
        if allowed and obj is not None and not isinstance(obj, Appointment):
            # unfold checks a detail action (cancel, reschedule) with the object id: 403 for another branch
            return self.get_queryset(request).filter(pk=obj).exists()
        return bool(allowed)

    def _in_scope(self, request: HttpRequest, object_id: Any) -> None:
        if not self.get_queryset(request).filter(pk=object_id).exists():
            raise Http404

    def history_view(self, request: HttpRequest, object_id: str, extra_context: Any = None) -> HttpResponse:
        self._in_scope(request, object_id)  # simple_history would fall back to the history rows
        return super().history_view(request, object_id, extra_context)

    def history_form_view(self, request: HttpRequest, object_id: str, version_id: str,
                          extra_context: Any = None) -> HttpResponse:
        self._in_scope(request, object_id)
        return super().history_form_view(request, object_id, version_id, extra_context)

    def get_urls(self) -> list[Any]:
        from django.urls import path

        from appointments import calendar_views as cv

        def api(view: Any) -> Any:
            return view  # the JSON views check login, role and CSRF themselves

        calendar = [
            path("calendar/", self.admin_site.admin_view(lambda request: cv.calendar_page(request, self)),
                 name="appointments_appointment_calendar"),
            path("calendar/api/feed/", api(cv.feed), name="appointments_calendar_feed"),
            path("calendar/api/changes/", api(cv.changes), name="appointments_calendar_changes"),
            path("calendar/api/customers/", api(cv.customer_search), name="appointments_calendar_customers"),
            path("calendar/api/book/", api(cv.book), name="appointments_calendar_book"),
            path("calendar/api/appointments/<int:pk>/", api(cv.detail), name="appointments_calendar_detail"),
            path("calendar/api/appointments/<int:pk>/move/", api(cv.move), name="appointments_calendar_move"),
            path("calendar/api/appointments/<int:pk>/status/", api(cv.change_status),
                 name="appointments_calendar_status"),
            path("calendar/api/appointments/<int:pk>/remind/", api(cv.send_reminder),
                 name="appointments_calendar_remind"),
        ]
        return calendar + super().get_urls()

    def get_form(self, request: HttpRequest, obj: Any = None, change: bool = False, **kwargs: Any) -> Any:
        if obj is None:
            kwargs["form"] = AppointmentBookingForm
            kwargs["fields"] = AppointmentBookingForm.Meta.fields
        form = super().get_form(request, obj, change, **kwargs)
        if obj is None and is_branch_scoped(request.user):
            branches = visible_branches(request.user).filter(is_active=True)

            class BranchScopedBookingForm(form):  # type: ignore[misc, valid-type]
                def __init__(self, *args: Any, **kw: Any) -> None:
                    super().__init__(*args, **kw)
                    self.fields["branch"].queryset = branches
                    self.fields["branch"].required = True

            return BranchScopedBookingForm
        return form

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        return self.readonly_fields if obj else ()

    def get_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        return self.fields if obj else AppointmentBookingForm.Meta.fields

    def get_inlines(self, request: HttpRequest, obj: Any = None) -> Any:
        return [SegmentInline, ModificationInline, *self.inlines] if obj else []  # + inlines other apps add

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False  # appointments are cancelled, never deleted

    def add_view(self, request: HttpRequest, form_url: str = "", extra_context: Any = None) -> HttpResponse:
        try:
            return super().add_view(request, form_url, extra_context)
        except DomainError as exc:
            report_error(request, exc)
            return HttpResponseRedirect(request.get_full_path())

    def save_model(self, request: HttpRequest, obj: Appointment, form: Any, change: bool) -> None:
        if change:
            obj.version += 1
            obj.save(update_fields=["notes", "external_ref", "version", "updated_at"])
            return
        data = form.cleaned_data
        booked = services.book_appointment(
            customer_id=data["customer"].pk, service_id=data["service"].pk, starts_at=data["starts_at"],
            staff_id=data["staff"].pk if data.get("staff") else None,
            branch_id=data["branch"].pk if data.get("branch") else None,
            status=data["status"], notes=data.get("notes", ""), source="admin", actor=actor(request),
        )
        obj.pk, obj.staff, obj.branch, obj.ends_at = booked.pk, booked.staff, booked.branch, booked.ends_at

    def _report_refused(self, request: HttpRequest, refused: list[tuple[int, DomainError]]) -> None:
        if not refused:
            return
        shown = {a.pk: str(a) for a in Appointment.objects.filter(pk__in=[pk for pk, _exc in refused])
                 .select_related("service", "customer", "branch")}
        reasons = "; ".join(f"{shown.get(pk, pk)}: {exc.message}" for pk, exc in refused)
        messages.error(request, _("%(count)s appointment(s) refused: %(reasons)s") % {
            "count": len(refused), "reasons": reasons})

    def _transition(self, request: HttpRequest, queryset: QuerySet[Appointment], to_status: str) -> None:
        outcome = services.transition_appointments(list(queryset.values_list("pk", flat=True)), to_status=to_status,
                                                   source="admin", actor=actor(request))
        if outcome.done:
            messages.success(request, _("%(count)s appointment(s) set to “%(status)s”.") % {
                "count": len(outcome.done), "status": Appointment.Status(to_status).label})
        self._report_refused(request, outcome.refused)

    @action(description=_("Confirm"))
    def confirm(self, request: HttpRequest, queryset: QuerySet[Appointment]) -> None:
        self._transition(request, queryset, Appointment.Status.CONFIRMED)

    @action(description=_("Start (in progress)"))
    def start(self, request: HttpRequest, queryset: QuerySet[Appointment]) -> None:
        self._transition(request, queryset, Appointment.Status.IN_PROGRESS)

    @action(description=_("Complete"))
    def complete(self, request: HttpRequest, queryset: QuerySet[Appointment]) -> None:
        self._transition(request, queryset, Appointment.Status.COMPLETED)

    @action(description=_("Mark as no-show"))
    def mark_no_show(self, request: HttpRequest, queryset: QuerySet[Appointment]) -> None:
        self._transition(request, queryset, Appointment.Status.NO_SHOW)

    @action(description=_("Cancel (with the cancellation policy)"), permissions=["change"])
    def cancel_selected(self, request: HttpRequest, queryset: QuerySet[Appointment]) -> None:
        outcome = services.cancel_appointments(
            list(queryset.order_by("starts_at").values_list("pk", flat=True)), source="admin", actor=actor(request),
            reason=str(_("Cancelled in bulk in the admin")),
        )
        if outcome.done:
            text = _("%(count)s appointment(s) cancelled.") % {"count": len(outcome.done)}
            if outcome.with_fee:
                text = f"{text} " + _("%(count)s of them with a cancellation fee, together %(fees)s.") % {
                    "count": outcome.with_fee, "fees": euros(outcome.fees_cents)}
            messages.success(request, text)
        self._report_refused(request, outcome.refused)

    @action(description=_("Send reminder now"), permissions=["change"])
    def send_reminder(self, request: HttpRequest, queryset: QuerySet[Appointment]) -> None:
        from notifications import events as notification_events
        from notifications.services import notify_appointment_event

        upcoming = queryset.filter(starts_at__gt=timezone.now()).exclude(status__in=RELEASED_STATUSES)
        queued = sum(len(notify_appointment_event(notification_events.REMINDER_24H, appointment_id))
                     for appointment_id in upcoming.values_list("pk", flat=True))
        skipped = queryset.count() - queued
        if queued:
            messages.success(request, _("%(count)s reminder(s) queued.") % {"count": queued})
        if skipped:
            messages.warning(request, _("%(count)s appointment(s) skipped: past, cancelled or already reminded.")
                             % {"count": skipped})

    @dialog_action(description=_("Cancel"), url_path="cancel", permissions=["change"], dialog=CANCEL_DIALOG)
    def cancel_detail(self, request: HttpRequest, form: CancelForm, object_id: Any) -> Done:
        result = services.cancel_appointment(appointment_id=int(object_id), reason=form.cleaned_data["reason"],
                                             source="admin", actor=actor(request))
        if result.policy.violated:
            return Done(str(_("Cancelled, in violation of the policy (%(rules)s). Fee: %(fee)s.")
                            % {"rules": violations_text(result.policy.violations),
                               "fee": euros(result.policy.fee_cents)}), level=messages.WARNING)
        return Done(str(_("Appointment cancelled.")))

    @dialog_action(description=pgettext_lazy("admin action", "Reschedule"), url_path="reschedule",
                   permissions=["change"], dialog=RESCHEDULE_DIALOG)
    def reschedule_detail(self, request: HttpRequest, form: RescheduleForm, object_id: Any) -> Done:
        result = services.reschedule_appointment(
            appointment_id=int(object_id), new_starts_at=form.cleaned_data["new_starts_at"],
            reason=form.cleaned_data["reason"], source="admin", actor=actor(request),
        )
        moved = result.appointment
        text = _("Moved to %(time)s.") % {"time": local_datetime(moved.starts_at, moved.branch.tzinfo)}
        if result.policy.violated:
            return Done(f"{text} {_('Policy violated')}: {violations_text(result.policy.violations)}",
                        level=messages.WARNING)
        return Done(str(text))


@admin.register(RecurringSeries, site=tenant_admin_site)
class RecurringSeriesAdmin(BranchScopedAdminMixin, ModelAdmin):
    list_display = ("first_starts_at", "customer", "service", "staff", "frequency", "count", "until", "created_by")
    list_filter = ("frequency", "branch", "staff", "source")
    search_fields = ("customer__name", "customer__phone")
    readonly_fields = ("customer", "service", "staff", "branch", "frequency", "first_starts_at", "count", "until",
                       "source", "created_by", "conflicts", "created_at")
    fields = readonly_fields

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False


@admin.register(AppointmentModification, site=tenant_admin_site)
class AppointmentModificationAdmin(BranchScopedAdminMixin, ModelAdmin):
    branch_scope_field = "appointment__branch"

    list_display = ("created_at", "kind", "appointment", "customer", "actor", "policy_violated", "fee_cents")
    list_filter = ("kind", "policy_violated", "violation_action", "source", ("created_at", admin.DateFieldListFilter))
    search_fields = ("customer__name", "customer__phone", "reason", "actor")
    date_hierarchy = "created_at"

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


# --- API keys -------------------------------------------------------------------------------


class ApiKeyForm(forms.ModelForm):
    class Meta:
        model = ApiKey
        fields = ("name", "expires_at")


@admin.register(ApiKey, site=tenant_admin_site)
class ApiKeyAdmin(ModelAdmin):
    form = ApiKeyForm
    list_display = ("name", "prefix", "created_at", "expires_at", "revoked_at", "last_used_at", "created_by")
    list_filter = (("revoked_at", admin.EmptyFieldListFilter),)
    search_fields = ("name", "prefix")
    readonly_fields = ("prefix", "created_at", "created_by", "revoked_at", "last_used_at")
    actions = ["revoke", "rotate"]

    def save_model(self, request: HttpRequest, obj: ApiKey, form: Any, change: bool) -> None:
        if change:
            obj.save(update_fields=["name", "expires_at"])
            return
        key, raw = create_api_key(name=obj.name, actor=actor(request), expires_at=obj.expires_at)
        obj.pk, obj.prefix = key.pk, key.prefix
        messages.warning(request, _("New API key (shown only now, store it safely): %(key)s") % {"key": raw})

    @action(description=_("Revoke"))
    def revoke(self, request: HttpRequest, queryset: QuerySet[ApiKey]) -> None:
        for key in queryset:
            revoke_api_key(key_id=key.pk)
        messages.success(request, _("Keys revoked."))

    @action(description=_("Rotate (revoke and issue a new key)"))
    def rotate(self, request: HttpRequest, queryset: QuerySet[ApiKey]) -> None:
        for key in queryset.filter(revoked_at__isnull=True):
            new, raw = rotate_api_key(key_id=key.pk, actor=actor(request))
            messages.warning(request, _("%(name)s: new key (shown only now): %(key)s") % {"name": new.name, "key": raw})


# --- logins limited to branches (django-guardian) ----------------------------------------------


class BranchAccessMixin:
    """The tenant user page's "Branches" field: limits a staff member or receptionist to branches."""

    def get_form(self, request: HttpRequest, obj: Any = None, change: bool = False, **kwargs: Any) -> Any:
        if obj is None:  # the add page stays Django's two-step form
            return super().get_form(request, obj, change=change, **kwargs)  # type: ignore[misc]

        class WithBranches(self.form):  # type: ignore[attr-defined, misc, name-defined]
            work_branches = forms.ModelMultipleChoiceField(
                Branch.objects.order_by("name"), required=False, label=_("Works in branches"),
                widget=FilteredSelectMultiple(_("branches"), is_stacked=False),
                help_text=_("Staff members and receptionists see only the appointments of these branches. "
                            "Empty: all branches. Owners and managers always see all branches."),
            )

            def __init__(self, *args: Any, **kw: Any) -> None:
                super().__init__(*args, **kw)
                if self.instance.pk:
                    self.fields["work_branches"].initial = list(assigned_branches(self.instance))

        return super().get_form(request, obj, change=change, form=WithBranches, **kwargs)  # type: ignore[misc]

    def get_fieldsets(self, request: HttpRequest, obj: Any = None) -> Any:
        fieldsets = list(super().get_fieldsets(request, obj))  # type: ignore[misc]
        if obj is not None:
            fieldsets.append((_("Branch access"), {"fields": ("work_branches",)}))
        return fieldsets

    def save_related(self, request: HttpRequest, form: Any, formsets: Any, change: bool) -> None:
        super().save_related(request, form, formsets, change)  # type: ignore[misc]
        if "work_branches" in form.cleaned_data:
            assign_branches(form.instance, form.cleaned_data["work_branches"])


class TenantUserAdmin(BranchAccessMixin, UserAdmin):
    pass


tenant_admin_site.unregister(User)
tenant_admin_site.register(User, TenantUserAdmin)
@admin.register(CrmSettings, site=tenant_admin_site)
class CrmSettingsAdmin(ModelAdmin):
    """The tenant's CRM thresholds: journey (regular, VIP, at risk, churned) and loyalty tiers."""

    fieldsets = (
        (_("Journey"), {"fields": ("regular_min_completed", "vip_min_completed", "vip_min_revenue_cents",
                                   "at_risk_after_days", "churned_after_days")}),
        (_("Loyalty"), {"fields": ("points_per_completed_appointment", "silver_min_points", "gold_min_points",
                                   "platinum_min_points")}),
    )
    list_display = ("__str__", "regular_min_completed", "vip_min_completed", "at_risk_after_days",
                    "churned_after_days", "points_per_completed_appointment", "updated_at")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return not CrmSettings.objects.exists() and super().has_add_permission(request)

    def save_model(self, request: HttpRequest, obj: CrmSettings, form: Any, change: bool) -> None:
        super().save_model(request, obj, form, change)
        messages.info(request, _("The new thresholds apply from the next change of each customer and the "
                                 "nightly recomputation (or run recompute_customer_values now)."))

    def get_form(self, request: HttpRequest, obj: Any = None, change: bool = False, **kwargs: Any) -> Any:
        form = super().get_form(request, obj, change, **kwargs)

        class Checked(form):  # type: ignore[misc,valid-type]
            def clean(self) -> dict[str, Any]:
                data = super().clean() or {}
                if (data.get("churned_after_days") or 0) <= (data.get("at_risk_after_days") or 0):
                    self.add_error("churned_after_days", _("Must be more days than 'at risk'."))
                tiers = [data.get(f) or 0 for f in ("silver_min_points", "gold_min_points", "platinum_min_points")]
                if not tiers[0] < tiers[1] < tiers[2]:
                    self.add_error("gold_min_points", _("Silver, gold and platinum need rising point thresholds."))
                return data

        return Checked


@admin.register(CustomerMerge, site=tenant_admin_site)
class CustomerMergeAdmin(ModelAdmin):
    """Merged duplicates (the audit trail); a merge can be undone for 30 days."""

    list_display = ("merged_at", "removed_name", "kept_name", "merged_by", "moved_summary", "undone_at")
    list_filter = ("undone_at",)
    search_fields = ("removed_name", "kept_name", "merged_by")
    readonly_fields = ("merged_at", "merged_by", "kept", "removed_customer_id", "removed_name",
                       "moved_summary", "undone_at", "undone_by", "removed_snapshot", "moved", "kept_changes")
    fields = readonly_fields
    actions_detail = ["undo"]

    @display(description=_("moved"))
    def moved_summary(self, obj: CustomerMerge) -> str:
        from appointments.merge import moved_summary

        return moved_summary(obj)

    @action(description=_("Undo merge"), url_path="undo", permissions=["undo"])
    def undo(self, request: HttpRequest, object_id: Any) -> HttpResponse:
        from appointments import merge

        try:
            restored = merge.undo_merge(int(object_id), actor=f"user:{request.user.pk}")
        except DomainError as exc:
            report_error(request, exc)
        else:
            messages.success(request, _("Merge undone: %(customer)s is back with everything that was moved.") % {
                "customer": restored})
        return HttpResponseRedirect(reverse("admin:appointments_customermerge_change", args=[object_id]))

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False  # an audit record: read-only; the change permission only unlocks "undo"

    def has_undo_permission(self, request: HttpRequest, object_id: Any = None) -> bool:
        from appointments import merge

        if not request.user.has_perm("appointments.change_customermerge"):
            return False
        record = CustomerMerge.objects.filter(pk=object_id).first() if object_id else None
        return record is None or merge.can_undo(record)  # no button once undone or past 30 days
