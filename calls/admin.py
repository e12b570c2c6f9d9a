"""Tenant admin of the voice-agent domain: calls, callback requests, voice settings, and the
customer pages (with their calls, appointments, notes and journey), which need the calls."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.db import connection
from django.db.models import Q, QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext_lazy as _
from unfold.admin import ModelAdmin, TabularInline
from unfold.decorators import action, display
from unfold.forms import BaseDialogForm

from appointments import customers as customer_services
from appointments import journey
from appointments.admin import CustomerStatsInline, report_error
from appointments.models import (
    Appointment,
    Branch,
    Customer,
    CustomerBookingStats,
    CustomerJourneyTransition,
    CustomerNote,
    Service,
    Staff,
)
from askpro.admin_sites import tenant_admin_site
from askpro.display import euros
from askpro.errors import DomainError
from askpro.exports import ExportAdminMixin
from calls import services
from calls.models import Call, CallbackRequest, FunctionCallResult, VoiceSettings
from privacy.admin import CustomerPrivacyActions


def _phone_search(queryset: QuerySet[Any], term: str, *fields: str) -> QuerySet[Any] | None:
    """Rows matching a phone number typed in any notation, or None if ``term`` is no number."""
    number = customer_services.normalize_phone(term)
    if number is None or sum(ch.isdigit() for ch in term) < 6:
        return None
    condition = Q()
    for field in fields:
        condition |= Q(**{field: number})
    return queryset.filter(condition)


def _actor(request: HttpRequest) -> str:
    return f"user:{request.user.pk}"


# --- customers ------------------------------------------------------------------------------


class CustomerForm(forms.ModelForm):
    class Meta:
        model = Customer
        fields = ("name", "phone", "other_phones", "email", "language", "source", "gdpr_consent", "marketing_consent", "sms_opt_out")

    def clean_phone(self) -> str:
        raw = self.cleaned_data.get("phone") or ""
        if not raw:
            return ""
        number = customer_services.normalize_phone(raw)
        if number is None:
            raise forms.ValidationError(_("Enter a valid phone number, e.g. 0151 12345678 or +49 151 12345678."))
        return number

    def clean_other_phones(self) -> list[str]:
        numbers = []
        for raw in self.cleaned_data.get("other_phones") or []:
            number = customer_services.normalize_phone(raw)
            if number is None:
                raise forms.ValidationError(_("%(value)s is not a valid phone number.") % {"value": raw})
            if number not in numbers:
                numbers.append(number)
        return numbers

    def clean(self) -> dict[str, Any]:
        # One number, one customer: the admin's save runs in one transaction, so the lock taken
        # here holds until the customer is stored (appointments.customers is the identity service).
        cleaned = super().clean() or {}
        numbers = [n for n in [cleaned.get("phone") or "", *(cleaned.get("other_phones") or [])] if n]
        if connection.in_atomic_block:
            customer_services.lock_phone_numbers(numbers)
        for number, owner in customer_services.numbers_taken(numbers, exclude_pk=self.instance.pk).items():
            self.add_error(
                "phone" if number == cleaned.get("phone") else "other_phones",
                _("%(number)s already belongs to %(customer)s.") % {"number": number, "customer": owner},
            )
        return cleaned


class CustomerNoteInline(TabularInline):
    model = CustomerNote
    extra = 0
    fields = ("type", "subject", "content", "is_pinned", "visibility", "created_by", "created_at")
    readonly_fields = ("created_by", "created_at")


class AppointmentInline(TabularInline):
    model = Appointment
    extra = 0
    fields = ("starts_at", "service", "staff", "branch", "status", "source")
    readonly_fields = fields
    show_change_link = True
    can_delete = False

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class CallInline(TabularInline):
    model = Call
    fk_name = "customer"
    extra = 0
    fields = ("call_id", "started_at", "direction", "status", "user_sentiment", "appointment_made", "is_reviewed")
    readonly_fields = fields
    show_change_link = True
    can_delete = False

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class JourneyTransitionInline(TabularInline):
    model = CustomerJourneyTransition
    extra = 0
    fields = ("created_at", "from_status", "to_status", "reason", "actor")
    readonly_fields = fields
    can_delete = False

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class JourneyForm(BaseDialogForm):
    status = forms.ChoiceField(label=_("New journey status"), choices=Customer.Journey.choices)
    reason = forms.CharField(label=_("Reason"), max_length=255,
                             help_text=_("Recorded in the journey history. The status then stays until reset."))


@admin.register(Customer, site=tenant_admin_site)
class CustomerAdmin(CustomerPrivacyActions, ExportAdminMixin, ModelAdmin):
    export_fields = ("name", "phone", "email", "journey_status", "source", "language", "gdpr_consent",
                     "marketing_consent", "sms_opt_out", "created_at")
    export_logged = True  # personal data: every export is recorded (appointments.DataExport)
    form = CustomerForm
    list_display = ("__str__", "phone", "email", "journey_status", "source", "gdpr_consent", "created_at")
    list_filter = ("journey_status", "source", "language", "gdpr_consent", "marketing_consent", "sms_opt_out")
    search_fields = ("name", "email", "phone")
    search_help_text = _("Name, email or a phone number in any notation (0151 …, +49 151 …, 0049 …).")
    readonly_fields = ("journey_status", "journey_manual", "journey_changed_at", "gdpr_consent_at", "marketing_consent_at", "sms_opt_out_at", "created_at", "updated_at")
    fieldsets = (
        (None, {"fields": ("name", "phone", "other_phones", "email", "language", "source")}),
        (_("Journey"), {"fields": ("journey_status", "journey_manual", "journey_changed_at")}),
        (_("Consent"), {"fields": (("gdpr_consent", "gdpr_consent_at"), ("marketing_consent", "marketing_consent_at"), ("sms_opt_out", "sms_opt_out_at"))}),
        (_("Record"), {"fields": ("created_at", "updated_at")}),
    )
    inlines = [CustomerNoteInline, AppointmentInline, CallInline, JourneyTransitionInline]

    def get_inlines(self, request: HttpRequest, obj: Customer | None) -> list[Any]:
        # Booking statistics exist once the customer has booked; they are read-only.
        inlines = list(super().get_inlines(request, obj))
        if obj is not None and CustomerBookingStats.objects.filter(customer=obj).exists():
            inlines.append(CustomerStatsInline)
        return inlines
    actions = ["recompute_journey", "send_campaign"]
    actions_detail = ["change_journey", "resume_journey", "privacy_export", "privacy_erase"]

    def get_urls(self) -> list[Any]:
        return self.privacy_urls() + super().get_urls()

    @action(description=_("Derive the journey status from the history"))
    def recompute_journey(self, request: HttpRequest, queryset: QuerySet[Customer]) -> None:
        changed = 0
        for customer_id, before in queryset.values_list("pk", "journey_status"):
            changed += journey.recompute(customer_id, actor=_actor(request)) != before
        messages.success(request, _("%(count)d customers moved.") % {"count": changed})

    @action(description=_("Change journey status"), url_path="journey", permissions=["change"],
            dialog={"title": _("Change journey status"),
                    "description": _("Sets the status by hand; it no longer follows the appointments until you "
                                     "reset it to automatic."),
                    "form_class": JourneyForm, "form_submit_text": _("Change status")})
    def change_journey(self, request: HttpRequest, form: JourneyForm, object_id: Any) -> HttpResponse:
        try:
            journey.set_manually(int(object_id), form.cleaned_data["status"], reason=form.cleaned_data["reason"],
                                 actor=_actor(request))
        except DomainError as exc:
            report_error(request, exc)
        else:
            messages.success(request, _("Journey status changed to %(status)s.") % {
                "status": Customer.Journey(form.cleaned_data["status"]).label})
        return HttpResponseRedirect(reverse("admin:appointments_customer_change", args=[object_id]))

    @action(description=_("Journey automatic again"), url_path="journey-automatic", permissions=["change"])
    def resume_journey(self, request: HttpRequest, object_id: Any) -> HttpResponse:
        status = journey.resume_automatic(int(object_id), actor=_actor(request))
        messages.success(request, _("The journey status follows the history again: %(status)s.") % {
            "status": Customer.Journey(status).label})
        return HttpResponseRedirect(reverse("admin:appointments_customer_change", args=[object_id]))

    def get_search_results(self, request: HttpRequest, queryset: QuerySet[Customer], search_term: str) -> tuple[QuerySet[Customer], bool]:
        number = customer_services.normalize_phone(search_term)
        if number is not None and sum(ch.isdigit() for ch in search_term) >= 6:
            return queryset.filter(Q(phone=number) | Q(other_phones__contains=[number])), False
        return super().get_search_results(request, queryset, search_term)

    def save_model(self, request: HttpRequest, obj: Customer, form: Any, change: bool) -> None:
        # Consent dates follow their flags.
        now = timezone.now()
        for flag in ("gdpr_consent", "marketing_consent", "sms_opt_out"):
            if flag in form.changed_data or (not change and getattr(obj, flag)):
                setattr(obj, f"{flag}_at", now)
        super().save_model(request, obj, form, change)

    def save_formset(self, request: HttpRequest, form: Any, formset: Any, change: bool) -> None:
        for note in formset.save(commit=False):
            # The admin only lets authenticated staff in; the check narrows out AnonymousUser.
            if isinstance(note, CustomerNote) and note.created_by_id is None and request.user.is_authenticated:
                note.created_by = request.user
            note.save()
        for deleted in formset.deleted_objects:
            deleted.delete()
        formset.save_m2m()


@admin.register(CustomerNote, site=tenant_admin_site)
class CustomerNoteAdmin(ModelAdmin):
    list_display = ("__str__", "customer", "type", "visibility", "is_pinned", "created_at")
    list_filter = ("type", "visibility", "is_pinned")
    search_fields = ("subject", "content", "customer__name", "customer__phone")
    raw_id_fields = ("customer",)
    readonly_fields = ("created_by", "created_at", "updated_at")

    def save_model(self, request: HttpRequest, obj: CustomerNote, form: Any, change: bool) -> None:
        if obj.created_by_id is None and request.user.is_authenticated:
            obj.created_by = request.user
        super().save_model(request, obj, form, change)


@admin.register(CustomerJourneyTransition, site=tenant_admin_site)
class CustomerJourneyTransitionAdmin(ModelAdmin):
    list_display = ("customer", "from_status", "to_status", "reason", "actor", "created_at")
    list_filter = ("to_status", "from_status")
    search_fields = ("customer__name", "customer__phone", "reason", "actor")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


# --- calls ----------------------------------------------------------------------------------


class LinkCustomerForm(BaseDialogForm):
    customer = forms.ModelChoiceField(Customer.objects.order_by("name"), label=_("Customer"))


class BookFromCallForm(BaseDialogForm):
    service = forms.ModelChoiceField(Service.objects.filter(is_active=True), label=_("Service"))
    starts_at = forms.DateTimeField(label=_("Start"), help_text=_("Local time, e.g. 2025-10-06 15:00"))
    staff = forms.ModelChoiceField(Staff.objects.filter(is_active=True), label=_("Staff member"), required=False,
                                   help_text=_("Empty: any qualified staff member who is free."))
    branch = forms.ModelChoiceField(Branch.objects.filter(is_active=True), label=_("Branch"), required=False)
    notes = forms.CharField(label=_("Notes"), required=False, widget=forms.Textarea(attrs={"rows": 2}))


@admin.register(Call, site=tenant_admin_site)
class CallAdmin(ExportAdminMixin, ModelAdmin):
    export_fields = ("call_id", "started_at", "direction", "from_number", "customer", "duration_ms", "status",
                     "user_sentiment", "disconnection_reason", "appointment_made", "cost_cents", "summary")
    list_display = ("call_id", "started_at", "direction", "from_number", "customer_link", "duration", "status",
                    "user_sentiment", "appointment_made", "cost", "is_reviewed")
    list_filter = ("status", "direction", "user_sentiment", "call_successful", "appointment_made", "is_reviewed", "disconnection_reason")
    search_fields = ("call_id", "from_number", "to_number", "customer__name", "summary")
    search_help_text = _("Call id, name, summary or a phone number in any notation.")
    date_hierarchy = "started_at"
    list_select_related = ("customer",)
    actions = ["mark_reviewed"]
    actions_detail = ["create_appointment", "link_customer"]
    fieldsets = (
        (None, {"fields": ("call_id", "status", "direction", "from_number", "to_number", "customer_link", "appointment_link",
                           "started_at", "ended_at", "duration", "disconnection_reason",
                           "transfer_destination", "is_reviewed", "reviewed_at", "reviewed_by")}),
        (_("Analysis"), {"fields": ("summary", "user_sentiment", "call_successful", "in_voicemail", "appointment_made", "custom_analysis_data")}),
        (_("Transcript"), {"fields": ("transcript_view", "recording", "public_log_url")}),
        (_("Cost"), {"fields": ("cost", "cost_breakdown", "usage_emitted_at")}),
        (_("Agent"), {"fields": ("agent_id", "agent_version", "agent_name", "call_type", "metadata", "dynamic_variables",
                                 "collected_dynamic_variables", "transfers", "latency")}),
        (_("Events"), {"fields": ("started_event_at", "ended_event_at", "analyzed_event_at", "created_at", "updated_at")}),
    )

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        return [f for fieldset in self.fieldsets for f in fieldset[1]["fields"]]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # calls come from Retell

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False  # evidence of what was said; a customer's erasure removes it with the customer

    def changeform_view(self, request: HttpRequest, object_id: str | None = None, form_url: str = "",
                        extra_context: dict[str, Any] | None = None) -> HttpResponse:
        # Every field is read-only: no "Sichern" buttons (the actions above change what may change).
        extra_context = {**(extra_context or {}), "show_save": False, "show_save_and_continue": False,
                         "show_save_and_add_another": False}
        return super().changeform_view(request, object_id, form_url, extra_context)

    def get_search_results(self, request: HttpRequest, queryset: QuerySet[Call], search_term: str) -> tuple[QuerySet[Call], bool]:
        by_phone = _phone_search(queryset, search_term, "from_number", "to_number")
        if by_phone is not None:
            return by_phone, False
        return super().get_search_results(request, queryset, search_term)

    @display(description=_("duration"))
    def duration(self, obj: Call) -> str:
        seconds = obj.duration_seconds
        return f"{seconds // 60}:{seconds % 60:02d}" if obj.duration_ms is not None else "–"

    @display(description=_("Retell cost"))
    def cost(self, obj: Call) -> str:
        return euros(obj.cost_cents, currency=obj.cost_currency)

    @display(description=_("customer"))
    def customer_link(self, obj: Call) -> str:
        if obj.customer_id is None:
            return "–"
        url = reverse("admin:appointments_customer_change", args=[obj.customer_id])
        return format_html('<a href="{}">{}</a>', url, obj.customer)

    @display(description=_("appointment"))
    def appointment_link(self, obj: Call) -> str:
        if obj.appointment_id is None:
            return "–"
        try:
            url = reverse("admin:appointments_appointment_change", args=[obj.appointment_id])
        except NoReverseMatch:
            return str(obj.appointment)
        return format_html('<a href="{}">{}</a>', url, obj.appointment)

    @action(description=_("Link to a customer"), url_path="link-customer", permissions=["change"],
            dialog={"title": _("Link this call to a customer"),
                    "description": _("Replaces the customer the system matched by phone number, if any."),
                    "form_class": LinkCustomerForm, "form_submit_text": _("Link")})
    def link_customer(self, request: HttpRequest, form: LinkCustomerForm, object_id: Any) -> HttpResponse:
        call = services.assign_customer(int(object_id), form.cleaned_data["customer"].pk)
        messages.success(request, _("Call linked to %(customer)s.") % {"customer": call.customer})
        return HttpResponseRedirect(reverse("admin:calls_call_change", args=[object_id]))

    def has_book_from_call_permission(self, request: HttpRequest, object_id: Any = None) -> bool:
        return bool(request.user.has_perm("appointments.add_appointment"))

    @action(
        description=_("Create appointment from call"), url_path="create-appointment",
        permissions=["book_from_call"],
        dialog={"title": _("Create appointment from this call"),
                "description": _("Books for the caller (a caller without a customer record becomes a lead) through "
                                 "the booking service: working hours and other bookings are checked. The "
                                 "appointment is linked to this call."),
                "form_class": BookFromCallForm, "form_submit_text": _("Book")},
    )
    def create_appointment(self, request: HttpRequest, form: BookFromCallForm, object_id: Any) -> HttpResponse:
        data = form.cleaned_data
        try:
            appointment = services.book_from_call(
                int(object_id), service_id=data["service"].pk, starts_at=data["starts_at"],
                staff_id=data["staff"].pk if data.get("staff") else None,
                branch_id=data["branch"].pk if data.get("branch") else None,
                notes=data.get("notes", ""), actor=f"admin:{request.user.pk}",
            )
        except DomainError as exc:
            report_error(request, exc)
        else:
            messages.success(request, _("Appointment booked for %(time)s.") % {
                "time": timezone.localtime(appointment.starts_at).strftime("%d.%m.%Y %H:%M")})
        return HttpResponseRedirect(reverse("admin:calls_call_change", args=[object_id]))

    @display(description=_("recording"))
    def recording(self, obj: Call) -> str:
        # Retell's recording links expire (10 min to 24 h): the player shows while the link is given.
        if not obj.recording_url:
            return "–"
        return format_html('<audio controls preload="none" src="{}"></audio>', obj.recording_url)

    @display(description=_("transcript"))
    def transcript_view(self, obj: Call) -> str:
        labels = {"agent": _("Agent"), "user": _("Caller"), "transfer_target": _("Transfer")}
        turns = [t for t in obj.transcript_object if isinstance(t, dict) and t.get("content")]
        if not turns:
            return format_html("<pre style='white-space:pre-wrap'>{}</pre>", obj.transcript or "–")
        return format_html_join(
            "", "<p><strong>{}:</strong> {}</p>",
            ((labels.get(str(t.get("role")), t.get("role")), t["content"]) for t in turns),
        )

    @action(description=_("Mark as reviewed"))
    def mark_reviewed(self, request: HttpRequest, queryset: QuerySet[Call]) -> None:
        count = sum(services.mark_reviewed(call.pk, user=request.user) for call in queryset)
        messages.success(request, _("%(count)d calls marked as reviewed.") % {"count": count})


@admin.register(CallbackRequest, site=tenant_admin_site)
class CallbackRequestAdmin(ModelAdmin):
    list_display = ("__str__", "phone", "reason", "priority", "status", "due_at", "escalation_count", "assigned_to")
    list_filter = ("status", "priority", "reason")
    search_fields = ("name", "phone", "details", "customer__name")
    raw_id_fields = ("call", "customer")
    readonly_fields = ("escalated_at", "escalation_count", "handled_at", "handled_by", "created_at", "updated_at")
    actions = ["mark_done"]

    def get_search_results(self, request: HttpRequest, queryset: QuerySet[CallbackRequest], search_term: str) -> tuple[QuerySet[CallbackRequest], bool]:
        by_phone = _phone_search(queryset, search_term, "phone")
        if by_phone is not None:
            return by_phone, False
        return super().get_search_results(request, queryset, search_term)

    @action(description=_("Mark as done"))
    def mark_done(self, request: HttpRequest, queryset: QuerySet[CallbackRequest]) -> None:
        count = sum(services.complete_callback(callback.pk, user=request.user) for callback in queryset)
        messages.success(request, _("%(count)d callbacks closed.") % {"count": count})


class VoiceSettingsForm(forms.ModelForm):
    retell_api_key = forms.CharField(
        label=_("Retell API key"), required=False, widget=forms.PasswordInput(render_value=False),
        help_text=_("Leave empty to keep the stored key."),
    )

    class Meta:
        model = VoiceSettings
        fields = ("spoken_company_name", "retell_api_key", "daypart_hours")

    def clean_retell_api_key(self) -> str:
        value = self.cleaned_data.get("retell_api_key") or ""
        return value or (self.instance.retell_api_key if self.instance.pk else "")


@admin.register(VoiceSettings, site=tenant_admin_site)
class VoiceSettingsAdmin(ModelAdmin):
    form = VoiceSettingsForm
    list_display = ("__str__", "spoken_company_name", "has_key", "updated_at")

    @display(description=_("own Retell key"), boolean=True)
    def has_key(self, obj: VoiceSettings) -> bool:
        return bool(obj.retell_api_key)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return not VoiceSettings.objects.exists() and super().has_add_permission(request)


@admin.register(FunctionCallResult, site=tenant_admin_site)
class FunctionCallResultAdmin(ModelAdmin):
    list_display = ("function", "call_id", "created_at")
    list_filter = ("function",)
    search_fields = ("call_id",)
    readonly_fields = ("call_id", "function", "args_hash", "response", "created_at")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False
