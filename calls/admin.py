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

from appointments import crm, journey, merge
from appointments import customers as customer_services
from appointments.access import scope_appointments
from appointments.admin import CustomerStatsInline, report_error
from appointments.models import (
    Appointment,
    Branch,
    Customer,
    CustomerBookingStats,
    CustomerJourneyTransition,
    CustomerNote,
    LoyaltyTier,
    Service,
    Staff,
)
from askpro.admin_dialogs import Dialog, DialogForm, Done, LocalDateTimeInput, dialog_action
from askpro.admin_sites import tenant_admin_site
from askpro.display import euros, local_datetime
from askpro.errors import DomainError
from askpro.exports import ExportAdminMixin
from calls import services
from calls.models import Call, CallbackRequest, FunctionCallResult, VoiceSettings
from notifications.events import Channel
from notifications.services import send_customer_message
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


def _note_choices(request: HttpRequest, db_field: Any, kwargs: dict[str, Any]) -> None:
    """Offer only the note types and visibilities the user's role may read (crm.may_write_note)."""
    if db_field.name == "type":
        allowed = [value for value in CustomerNote.Type.values
                   if crm.may_write_note(request.user, type=value, visibility=CustomerNote.Visibility.ALL)]
        kwargs["choices"] = [(v, label) for v, label in CustomerNote.Type.choices if v in allowed]
    elif db_field.name == "visibility":
        allowed = [value for value in CustomerNote.Visibility.values
                   if crm.may_write_note(request.user, type=CustomerNote.Type.GENERAL, visibility=value)]
        kwargs["choices"] = [(v, label) for v, label in CustomerNote.Visibility.choices if v in allowed]


class CustomerNoteInline(TabularInline):
    model = CustomerNote
    extra = 0
    fields = ("is_pinned", "type", "subject", "content", "visibility", "created_by", "created_at")
    readonly_fields = ("created_by", "created_at")

    def get_queryset(self, request: HttpRequest) -> QuerySet[CustomerNote]:
        # Only the notes the role may read (a medical note never reaches the front desk), pinned first.
        return (super().get_queryset(request).filter(crm.visible_notes_filter(request.user))
                .order_by("-is_pinned", "-created_at", "-id"))

    def formfield_for_choice_field(self, db_field: Any, request: HttpRequest, **kwargs: Any) -> Any:
        _note_choices(request, db_field, kwargs)
        return super().formfield_for_choice_field(db_field, request, **kwargs)


class AppointmentInline(TabularInline):
    model = Appointment
    extra = 0
    fields = ("starts_at", "service", "staff", "branch", "status", "source")
    readonly_fields = fields
    show_change_link = True
    can_delete = False

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def get_queryset(self, request: HttpRequest) -> QuerySet[Appointment]:
        # A login limited to branches sees only those branches' appointments in the history.
        return scope_appointments(super().get_queryset(request), request.user)


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


class JourneyForm(DialogForm):
    status = forms.ChoiceField(label=_("New journey status"), choices=Customer.Journey.choices)
    reason = forms.CharField(label=_("Reason"), max_length=255,
                             help_text=_("Recorded in the journey history. The status then stays until the history really changes "
                                         "(a completion, no-show, cancellation or long inactivity) or until reset."))


JOURNEY_DIALOG = Dialog(
    title=_("Change journey status"), form_class=JourneyForm, submit_label=_("Change status"),
    description=_("Sets the status by hand; it no longer follows the appointments until you reset it to automatic."),
)


class MessageForm(DialogForm):
    channel = forms.ChoiceField(label=_("Channel"), choices=[(Channel.SMS, _("SMS")), (Channel.EMAIL, _("Email"))],
                                initial=Channel.SMS)
    text = forms.CharField(label=_("Text"), max_length=1000, widget=forms.Textarea(attrs={"rows": 4}))


MESSAGE_DIALOG = Dialog(
    title=_("Send SMS / email"), form_class=MessageForm, submit_label=_("Send"),
    description=_("Sent only if the customer agreed to messages and did not opt out of the channel; the message "
                  "appears under Notifications."),
)


class NoteForm(DialogForm):
    subject = forms.CharField(label=_("Subject"), max_length=200, required=False)
    content = forms.CharField(label=_("Note"), widget=forms.Textarea(attrs={"rows": 4}))
    type = forms.ChoiceField(label=_("type"), choices=CustomerNote.Type.choices, initial=CustomerNote.Type.GENERAL,
                             required=False)
    visibility = forms.ChoiceField(label=_("visibility"), choices=CustomerNote.Visibility.choices,
                                   initial=CustomerNote.Visibility.STAFF, required=False)
    pinned = forms.BooleanField(label=_("Pin to the top"), required=False)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for name in ("type", "visibility"):  # only what the role may read (crm.may_write_note)
            field = self.fields[name]
            offered: dict[str, Any] = {}
            _note_choices(self.request, CustomerNote._meta.get_field(name), offered)
            field.choices = offered["choices"]  # type: ignore[attr-defined]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        data["type"] = data.get("type") or CustomerNote.Type.GENERAL  # left out: the usual kind of note
        data["visibility"] = data.get("visibility") or CustomerNote.Visibility.STAFF
        if not crm.may_write_note(
                self.request.user, type=data["type"], visibility=data["visibility"]):
            self.add_error("visibility", _("Your role may not write a note of this type and visibility."))
        return data


NOTE_DIALOG = Dialog(title=_("Add note"), form_class=NoteForm, submit_label=_("Add note"))
class LoyaltyTierFilter(admin.SimpleListFilter):
    title = _("loyalty tier")
    parameter_name = "tier"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, Any]]:
        return list(LoyaltyTier.choices)

    def queryset(self, request: HttpRequest, queryset: QuerySet[Customer]) -> QuerySet[Customer]:
        value = self.value()
        if value == LoyaltyTier.BRONZE:  # customers without figures yet are bronze too
            return queryset.filter(Q(booking_stats__loyalty_tier=value) | Q(booking_stats__isnull=True))
        return queryset.filter(booking_stats__loyalty_tier=value) if value in LoyaltyTier.values else queryset


SCORE_RANGES = {"0-99": (0, 99), "100-249": (100, 249), "250-499": (250, 499), "500-1000": (500, 1000)}


class ScoreRangeFilter(admin.SimpleListFilter):
    title = _("engagement score")
    parameter_name = "score"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, Any]]:
        return [(key, key.replace("-", "–")) for key in SCORE_RANGES]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Customer]) -> QuerySet[Customer]:
        bounds = SCORE_RANGES.get(self.value() or "")
        if bounds is None:
            return queryset
        within = Q(booking_stats__engagement_score__range=bounds)
        return queryset.filter(within | Q(booking_stats__isnull=True) if bounds[0] == 0 else within)


class DuplicateFilter(admin.SimpleListFilter):
    title = _("possible duplicates")
    parameter_name = "duplicates"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, Any]]:
        return [("yes", _("Possible duplicates"))]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Customer]) -> QuerySet[Customer]:
        if self.value() != "yes":
            return queryset
        return queryset.filter(pk__in=merge.customers_with_duplicates())


def _customer_export_resources(request: HttpRequest, names: tuple[str, ...]) -> list[Any]:
    """The customer export with a notes column holding only the notes the exporting role may read."""
    from import_export import fields as export_fields

    from askpro.admin_display import upper_first
    from askpro.exports import resource_for

    base = resource_for(Customer, names)
    role = crm.role_of(request.user)

    def dehydrate_notes(self: Any, customer: Customer) -> str:
        return "\n".join(f"[{note.get_type_display()}] {note.subject + ': ' if note.subject else ''}{note.content}"
                         for note in crm.notes_visible_to(role, customer))

    def dehydrate_value(field: str) -> Any:
        def read(self: Any, customer: Customer) -> Any:
            stats = getattr(customer, "booking_stats", None)
            value = getattr(stats, field, None) if stats is not None else None
            if field == "loyalty_tier":
                return LoyaltyTier(value or LoyaltyTier.BRONZE).label
            if field.endswith("_cents"):
                return euros(value or 0)
            return value or 0
        return read

    extra = {"engagement_score": _("engagement score"), "loyalty_points": _("loyalty points"),
             "loyalty_tier": _("loyalty tier"), "total_revenue_cents": _("total revenue"),
             "average_booking_value_cents": _("average booking value")}
    attrs: dict[str, Any] = {"notes": export_fields.Field(column_name=str(_("Notes")), readonly=True),
                             "dehydrate_notes": dehydrate_notes}
    for field, label in extra.items():
        attrs[field] = export_fields.Field(column_name=upper_first(label), readonly=True)
        attrs[f"dehydrate_{field}"] = dehydrate_value(field)
    meta = type("Meta", (base.Meta,), {"fields": (*names, *extra, "notes"),
                                       "export_order": (*names, *extra, "notes")})
    return [type("CustomerExportResource", (base,), {**attrs, "Meta": meta})]


@admin.register(Customer, site=tenant_admin_site)
class CustomerAdmin(CustomerPrivacyActions, ExportAdminMixin, ModelAdmin):
    export_fields = ("name", "phone", "email", "journey_status", "source", "language", "gdpr_consent",
                     "marketing_consent", "sms_opt_out", "created_at")
    export_logged = True  # personal data: every export is recorded (appointments.DataExport)
    form = CustomerForm
    list_display = ("__str__", "phone", "email", "journey_status", "tier", "score", "revenue", "source", "created_at")
    list_filter = ("journey_status", LoyaltyTierFilter, ScoreRangeFilter, DuplicateFilter, "source", "language",
                   "gdpr_consent", "marketing_consent", "sms_opt_out")
    list_select_related = ("booking_stats",)
    search_fields = ("name", "email", "phone")
    search_help_text = _("Name, email or a phone number in any notation (0151 …, +49 151 …, 0049 …).")
    readonly_fields = ("journey_status", "journey_manual", "journey_changed_at", "gdpr_consent_at", "marketing_consent_at", "sms_opt_out_at", "created_at", "updated_at",
                       "score", "tier", "loyalty_points", "revenue", "average_value", "value_counts", "value_computed",
                       "possible_duplicates")
    fieldsets = (
        (None, {"fields": ("name", "phone", "other_phones", "email", "language", "source")}),
        (_("Customer value"), {"fields": (("score", "tier", "loyalty_points"), ("revenue", "average_value"),
                                          "value_counts", "value_computed")}),
        (_("Possible duplicates"), {"fields": ("possible_duplicates",)}),
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
    actions = ["recompute_journey", "merge_selected", "send_campaign"]
    # the daily three as buttons; the rarer ones (journey, data protection) under "More", so the
    # toolbar fits a 1280-pixel laptop screen beside the sidebar
    actions_detail = ["book_appointment", "send_message", "add_note",
                      {"title": _("More"), "icon": "more_horiz",
                       "items": ["change_journey", "resume_journey", "privacy_export", "privacy_erase"]}]

    def get_urls(self) -> list[Any]:
        return self.privacy_urls() + super().get_urls()

    def get_export_resource_classes(self, request: HttpRequest) -> list[Any]:
        return _customer_export_resources(request, tuple(self.export_fields))

    @staticmethod
    def _stats(obj: Customer) -> CustomerBookingStats | None:
        try:
            return obj.booking_stats
        except CustomerBookingStats.DoesNotExist:
            return None

    @display(description=_("engagement score"), ordering="booking_stats__engagement_score")
    def score(self, obj: Customer) -> str:
        stats = self._stats(obj)
        return f"{stats.engagement_score if stats else 0} / {crm.SCORE_MAX}"

    @display(description=_("loyalty tier"), ordering="booking_stats__loyalty_tier")
    def tier(self, obj: Customer) -> str:
        stats = self._stats(obj)
        return str(LoyaltyTier(stats.loyalty_tier if stats else LoyaltyTier.BRONZE).label)

    @display(description=_("loyalty points"))
    def loyalty_points(self, obj: Customer) -> int:
        stats = self._stats(obj)
        return stats.loyalty_points if stats else 0

    @display(description=_("total revenue"), ordering="booking_stats__total_revenue_cents")
    def revenue(self, obj: Customer) -> str:
        stats = self._stats(obj)
        return euros(stats.total_revenue_cents if stats else 0)

    @display(description=_("average booking value"))
    def average_value(self, obj: Customer) -> str:
        stats = self._stats(obj)
        return euros(stats.average_booking_value_cents if stats else 0)

    @display(description=_("appointments"))
    def value_counts(self, obj: Customer) -> str:
        stats = self._stats(obj)
        if stats is None:
            return "–"
        return _("%(total)d in total, %(completed)d completed, %(no_shows)d no-shows, %(cancelled)d cancelled, "
                 "%(calls)d calls") % {"total": stats.appointment_count, "completed": stats.completed_count,
                                       "no_shows": stats.no_show_count, "cancelled": stats.cancelled_count,
                                       "calls": stats.call_count}

    @display(description=_("customer value computed"))
    def value_computed(self, obj: Customer) -> str:
        from askpro.display import local_datetime

        stats = self._stats(obj)
        return local_datetime(stats.value_computed_at, timezone.get_current_timezone()) if stats and stats.value_computed_at else "–"

    @display(description=_("possible duplicates"))
    def possible_duplicates(self, obj: Customer) -> str:
        if obj.pk is None:
            return "–"
        pairs = merge.duplicates_of(obj.pk)
        if not pairs:
            return str(_("none"))
        labels = {"phone": _("same phone number"), "email": _("same email"), "name": _("similar name")}
        others = Customer.objects.in_bulk([p.second_id if p.first_id == obj.pk else p.first_id for p in pairs])
        return format_html_join(
            ", ", '<a href="{}">{}</a> ({})',
            ((reverse("admin:appointments_customer_change", args=[other.pk]), str(other),
              ", ".join(str(labels[r]) for r in pair.reasons))
             for pair in pairs
             if (other := others.get(pair.second_id if pair.first_id == obj.pk else pair.first_id)) is not None))

    def has_merge_permission(self, request: HttpRequest) -> bool:
        return bool(request.user.has_perm("appointments.add_customermerge"))

    @action(description=_("Merge the two selected customers (the older one is kept)"), permissions=["merge"])
    def merge_selected(self, request: HttpRequest, queryset: QuerySet[Customer]) -> HttpResponse | None:
        chosen = list(queryset.order_by("created_at", "pk")[:3])
        if len(chosen) != 2:
            messages.error(request, _("Select exactly two customers to merge."))
            return None
        kept, removed = chosen
        try:
            record = merge.merge_customers(kept.pk, removed.pk, actor=_actor(request))
        except DomainError as exc:
            report_error(request, exc)
            return None
        messages.success(request, _("%(removed)s was merged into %(kept)s: %(moved)s. You can undo it for 30 days.") % {
            "removed": record.removed_name, "kept": record.kept_name, "moved": merge.moved_summary(record)})
        return HttpResponseRedirect(reverse("admin:appointments_customermerge_change", args=[record.pk]))

    @action(description=_("Derive the journey status from the history"))
    def recompute_journey(self, request: HttpRequest, queryset: QuerySet[Customer]) -> None:
        changed = 0
        for customer_id, before in queryset.values_list("pk", "journey_status"):
            changed += journey.recompute(customer_id, actor=_actor(request)) != before
        messages.success(request, _("%(count)d customers moved.") % {"count": changed})

    @dialog_action(description=_("Change journey status"), url_path="journey", permissions=["change"],
                   dialog=JOURNEY_DIALOG)
    def change_journey(self, request: HttpRequest, form: JourneyForm, object_id: Any) -> Done:
        journey.set_manually(int(object_id), form.cleaned_data["status"], reason=form.cleaned_data["reason"],
                             actor=_actor(request))
        return Done(str(_("Journey status changed to %(status)s.") % {
            "status": Customer.Journey(form.cleaned_data["status"]).label}))

    @action(description=_("Book appointment"), url_path="book", permissions=["book"])
    def book_appointment(self, request: HttpRequest, object_id: Any) -> HttpResponse:
        # The booking form, prefilled with this customer: the booking service checks the rest.
        return HttpResponseRedirect(f"{reverse('admin:appointments_appointment_add')}?customer={int(object_id)}")

    def has_book_permission(self, request: HttpRequest, object_id: Any = None) -> bool:
        return bool(request.user.has_perm("appointments.add_appointment"))

    @dialog_action(description=_("Send SMS / email"), url_path="message", permissions=["message"],
                   dialog=MESSAGE_DIALOG)
    def send_message(self, request: HttpRequest, form: MessageForm, object_id: Any) -> Done:
        delivery = send_customer_message(int(object_id), channel=form.cleaned_data["channel"],
                                         text=form.cleaned_data["text"], actor=_actor(request))
        return Done(str(_("%(channel)s to %(recipient)s queued for sending.") % {
            "channel": delivery.get_channel_display(), "recipient": delivery.recipient}))

    def has_message_permission(self, request: HttpRequest, object_id: Any = None) -> bool:
        return bool(request.user.has_perm("appointments.change_customer"))

    @dialog_action(description=_("Add note"), url_path="note", permissions=["note"], dialog=NOTE_DIALOG)
    def add_note(self, request: HttpRequest, form: NoteForm, object_id: Any) -> Done:
        customer_services.add_note(int(object_id), form.cleaned_data["content"],
                                   subject=form.cleaned_data["subject"], type=form.cleaned_data["type"],
                                   visibility=form.cleaned_data["visibility"], pinned=form.cleaned_data["pinned"],
                                   created_by=request.user if request.user.is_authenticated else None)
        return Done(str(_("Note added.")))

    def has_note_permission(self, request: HttpRequest, object_id: Any = None) -> bool:
        return bool(request.user.has_perm("appointments.change_customer"))

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
            if isinstance(note, CustomerNote) and not crm.may_write_note(request.user, type=note.type,
                                                                         visibility=note.visibility):
                continue  # the choices offered never allow it; a forged post is dropped
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
    ordering = ("-is_pinned", "-created_at")

    def get_queryset(self, request: HttpRequest) -> QuerySet[CustomerNote]:
        # A note the role may not read does not exist for it (list, search, detail and history: 404).
        return super().get_queryset(request).filter(crm.visible_notes_filter(request.user))

    def formfield_for_choice_field(self, db_field: Any, request: HttpRequest, **kwargs: Any) -> Any:
        _note_choices(request, db_field, kwargs)
        return super().formfield_for_choice_field(db_field, request, **kwargs)

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


class LinkCustomerForm(DialogForm):
    customer = forms.ModelChoiceField(Customer.objects.order_by("name"), label=_("Customer"))


class BookFromCallForm(DialogForm):
    service = forms.ModelChoiceField(Service.objects.filter(is_active=True), label=_("Service"))
    starts_at = forms.DateTimeField(label=_("Start"), widget=LocalDateTimeInput(), help_text=_("Local time."))
    staff = forms.ModelChoiceField(Staff.objects.filter(is_active=True), label=_("Staff member"), required=False,
                                   help_text=_("Empty: any qualified staff member who is free."))
    branch = forms.ModelChoiceField(Branch.objects.filter(is_active=True), label=_("Branch"), required=False)
    notes = forms.CharField(label=_("Notes"), required=False, widget=forms.Textarea(attrs={"rows": 2}))


LINK_DIALOG = Dialog(
    title=_("Link this call to a customer"), form_class=LinkCustomerForm, submit_label=_("Link"),
    description=_("Replaces the customer the system matched by phone number, if any."),
)
BOOK_FROM_CALL_DIALOG = Dialog(
    title=_("Create appointment from this call"), form_class=BookFromCallForm, submit_label=_("Book"),
    description=_("Books for the caller (a caller without a customer record becomes a lead) through the booking "
                  "service: working hours and other bookings are checked. The appointment is linked to this call."),
    alternatives_field="starts_at",
)


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

    @dialog_action(description=_("Link to a customer"), url_path="link-customer", permissions=["change"],
                   dialog=LINK_DIALOG)
    def link_customer(self, request: HttpRequest, form: LinkCustomerForm, object_id: Any) -> Done:
        call = services.assign_customer(int(object_id), form.cleaned_data["customer"].pk)
        return Done(str(_("Call linked to %(customer)s.") % {"customer": call.customer}))

    def has_book_from_call_permission(self, request: HttpRequest, object_id: Any = None) -> bool:
        return bool(request.user.has_perm("appointments.add_appointment"))

    @dialog_action(description=_("Create appointment from call"), url_path="create-appointment",
                   permissions=["book_from_call"], dialog=BOOK_FROM_CALL_DIALOG)
    def create_appointment(self, request: HttpRequest, form: BookFromCallForm, object_id: Any) -> Done:
        data = form.cleaned_data
        appointment = services.book_from_call(
            int(object_id), service_id=data["service"].pk, starts_at=data["starts_at"],
            staff_id=data["staff"].pk if data.get("staff") else None,
            branch_id=data["branch"].pk if data.get("branch") else None,
            notes=data.get("notes", ""), actor=f"admin:{request.user.pk}",
        )
        return Done(str(_("Appointment booked for %(time)s.") % {
            "time": local_datetime(appointment.starts_at, appointment.branch.tzinfo)}))

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
