"""Tenant admin of data protection: deletion requests with their deadline, the retention policy,
the audit log (read-only), and the customer page's actions (export, erasure, campaign), which
``calls.admin.CustomerAdmin`` mixes in through ``CustomerPrivacyActions``."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.core import signing
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from unfold.admin import ModelAdmin
from unfold.decorators import action, display
from unfold.forms import BaseDialogForm

from appointments.models import Customer
from askpro.admin_sites import tenant_admin_site
from askpro.errors import DomainError
from notifications.events import Channel
from privacy import services
from privacy.models import DeletionRequest, PrivacyAuditEntry, RetentionPolicy

# Export and erasure need this permission (admins and managers, tenants/roles.py).
PRIVACY_PERMISSION = "privacy.add_privacyauditentry"
CAMPAIGN_PERMISSION = "notifications.add_notificationdelivery"
EXPORT_SALT = "privacy.export"
EXPORT_LINK_SECONDS = 600


def _actor(request: HttpRequest) -> str:
    return f"user:{request.user.pk}"


def _go(request: HttpRequest, url: str) -> HttpResponse:
    """Leave a dialog: htmx (the admin's dialogs) navigates the whole page, a plain POST redirects."""
    if request.headers.get("HX-Request"):
        response = HttpResponse(status=200)
        response["HX-Redirect"] = url
        return response
    return HttpResponseRedirect(url)


def _require(request: HttpRequest, permission: str) -> None:
    if not request.user.has_perm(permission):
        raise PermissionDenied


class ExportForm(BaseDialogForm):
    reason = forms.CharField(label=_("Reason"), max_length=500,
                             help_text=_("E.g. the customer's request of 01.12. by e-mail; kept in the data protection log."))
    file_format = forms.ChoiceField(label=_("Format"), choices=[("pdf", _("PDF (readable)")), ("json", _("JSON (machine-readable)"))])


class ErasureForm(BaseDialogForm):
    reason = forms.CharField(label=_("Reason"), max_length=500,
                             help_text=_("E.g. the deletion request of 01.12.; kept in the data protection log."))
    confirm = forms.BooleanField(
        label=_("I understand that name, numbers, e-mail, notes, transcripts and message texts of this customer are "
                "erased for good. Invoices and statistics stay."), required=True)


class CampaignForm(forms.Form):
    channel = forms.ChoiceField(label=_("Channel"), choices=[(Channel.EMAIL, _("Email")), (Channel.SMS, _("SMS"))])
    subject = forms.CharField(label=_("Subject"), max_length=200, required=False, help_text=_("Email only."))
    message = forms.CharField(label=_("Text"), widget=forms.Textarea(attrs={"rows": 5}), max_length=1000)


class CustomerPrivacyActions:
    """Data protection on the customer page: Art. 15 export, Art. 17 erasure, and a marketing
    campaign to the selected customers. Mixed into the customer admin."""

    admin_site: Any
    message_user: Any

    def has_privacy_data_permission(self, request: HttpRequest, object_id: Any = None) -> bool:
        # A method, not the dotted permission: unfold's system check would query the database.
        return bool(request.user.has_perm(PRIVACY_PERMISSION))

    def privacy_urls(self) -> list[Any]:
        return [path("privacy-export/<str:token>/", self.admin_site.admin_view(self.privacy_download),
                     name="appointments_customer_privacy_download")]

    @action(description=_("Data export (Art. 15)"), url_path="privacy-export", permissions=["privacy_data"],
            dialog={"title": _("Data export for the customer (Art. 15/20 GDPR)"),
                    "description": _("Everything stored about this customer, as a readable PDF or as JSON. "
                                     "The export is recorded in the data protection log."),
                    "form_class": ExportForm, "form_submit_text": _("Download")})
    def privacy_export(self, request: HttpRequest, form: ExportForm, object_id: Any) -> HttpResponse:
        token = signing.dumps({"customer": int(object_id), "reason": form.cleaned_data["reason"],
                               "format": form.cleaned_data["file_format"], "user": request.user.pk}, salt=EXPORT_SALT)
        return _go(request, reverse("admin:appointments_customer_privacy_download", args=[token],
                                    current_app=self.admin_site.name))

    def privacy_download(self, request: HttpRequest, token: str) -> HttpResponse:
        _require(request, PRIVACY_PERMISSION)
        try:
            order = signing.loads(token, salt=EXPORT_SALT, max_age=EXPORT_LINK_SECONDS)
        except signing.BadSignature:
            messages.error(request, str(_("The export link has expired. Please start the export again.")))
            return HttpResponseRedirect(reverse("admin:appointments_customer_changelist", current_app=self.admin_site.name))
        if order["user"] != request.user.pk:
            raise PermissionDenied
        from privacy.pdf import render_export_pdf
        from tenants.models import Tenant

        tenant = Tenant.objects.get(schema_name=request.tenant.schema_name)  # type: ignore[attr-defined]
        data = services.export_customer(order["customer"], actor=_actor(request), reason=order["reason"])
        name = f"auskunft-kunde-{order['customer']}"
        if order["format"] == "json":
            response = HttpResponse(services.export_json(data), content_type="application/json; charset=utf-8")
            response["Content-Disposition"] = f'attachment; filename="{name}.json"'
        else:
            response = HttpResponse(render_export_pdf(data, business=tenant.name, tz=tenant.tzinfo),
                                    content_type="application/pdf")
            response["Content-Disposition"] = f'attachment; filename="{name}.pdf"'
        return response

    @action(description=_("Erase personal data (Art. 17)"), url_path="privacy-erase", permissions=["privacy_data"],
            dialog={"title": _("Erase this customer's personal data"),
                    "description": _("Anonymises the customer everywhere: name, numbers, e-mail, notes, call "
                                     "transcripts and recordings, message texts; upcoming appointments are cancelled "
                                     "without a message (also in Cal.com). Invoices and the ledger are kept "
                                     "(§147 AO), as are counts for statistics. This cannot be undone."),
                    "form_class": ErasureForm, "form_submit_text": _("Erase for good")})
    def privacy_erase(self, request: HttpRequest, form: ErasureForm, object_id: Any) -> HttpResponse:
        try:
            services.erase_customer(int(object_id), actor=_actor(request), reason=form.cleaned_data["reason"])
        except DomainError as exc:
            messages.error(request, str(exc.message))
        else:
            messages.success(request, str(_("The customer's personal data has been erased.")))
        return _go(request, reverse("admin:appointments_customer_change", args=[object_id],
                                    current_app=self.admin_site.name))

    def has_send_campaign_permission(self, request: HttpRequest) -> bool:
        return bool(request.user.has_perm(CAMPAIGN_PERMISSION))

    @action(description=_("Send marketing message"), permissions=["send_campaign"])
    def send_campaign(self, request: HttpRequest, queryset: QuerySet[Customer]) -> HttpResponse | None:
        from notifications.services import send_campaign

        form = CampaignForm(request.POST if "apply" in request.POST else None)
        if form.is_bound and form.is_valid():
            report = send_campaign(
                list(queryset.values_list("pk", flat=True)),
                campaign=timezone.now().strftime("%Y%m%d%H%M%S") + f"-{request.user.pk}",
                channel=form.cleaned_data["channel"], subject=form.cleaned_data["subject"],
                message=form.cleaned_data["message"],
            )
            messages.success(request, _("%(count)d message(s) queued.") % {"count": len(report.queued)})
            if report.skipped:
                names = dict(queryset.filter(pk__in=report.skipped).values_list("pk", "name"))
                from notifications.models import NotificationDelivery

                reasons = dict(NotificationDelivery.SkipReason.choices)
                skipped = "; ".join(f"{names.get(pk) or f'#{pk}'}: {reasons.get(code, code)}"
                                    for pk, code in report.skipped.items())
                messages.warning(request, _("%(count)d customer(s) skipped: %(list)s") % {
                    "count": len(report.skipped), "list": skipped})
            return None
        context = {
            **self.admin_site.each_context(request), "title": _("Send marketing message"), "form": form,
            "customers": queryset, "opts": Customer._meta,
            "action_checkbox_name": ACTION_CHECKBOX_NAME,
        }
        return TemplateResponse(request, "admin/privacy/campaign.html", context)


# --- the privacy pages ------------------------------------------------------------------------


class RejectForm(BaseDialogForm):
    reason = forms.CharField(label=_("Reason"), max_length=500, help_text=_("Kept in the data protection log."))


class DeletionRequestForm(forms.ModelForm):
    class Meta:
        model = DeletionRequest
        fields = ("customer", "received_at", "reason")


@admin.register(DeletionRequest, site=tenant_admin_site)
class DeletionRequestAdmin(ModelAdmin):
    form = DeletionRequestForm
    list_display = ("__str__", "received_at", "due_at", "days_left", "status", "handled_at")
    list_filter = ("status",)
    autocomplete_fields = ("customer",)
    actions_detail = ["erase_now", "reject"]

    def get_fields(self, request: HttpRequest, obj: DeletionRequest | None = None) -> Any:
        if obj is None:
            return ("customer", "received_at", "reason")
        return ("customer", "received_at", "due_at", "status", "reason", "handled_at", "handled_by", "last_reminded_on")

    def get_readonly_fields(self, request: HttpRequest, obj: DeletionRequest | None = None) -> Any:
        return () if obj is None else self.get_fields(request, obj)

    def get_changeform_initial_data(self, request: HttpRequest) -> dict[str, Any]:
        return {"received_at": timezone.now(), **super().get_changeform_initial_data(request)}

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_privacy_data_permission(self, request: HttpRequest, object_id: Any = None) -> bool:
        return bool(request.user.has_perm(PRIVACY_PERMISSION))

    @display(description=_("days left"))
    def days_left(self, obj: DeletionRequest) -> str:
        if obj.status != DeletionRequest.Status.OPEN:
            return "–"
        days = (timezone.localdate(obj.due_at) - timezone.localdate()).days
        return str(_("overdue by %(days)d days") % {"days": -days}) if days < 0 else str(days)

    def save_model(self, request: HttpRequest, obj: DeletionRequest, form: Any, change: bool) -> None:
        if change:
            return  # handled through the actions only
        created = services.request_deletion(obj.customer_id, actor=_actor(request), reason=obj.reason,
                                            received_at=obj.received_at)
        obj.pk, obj.due_at, obj.status = created.pk, created.due_at, created.status

    @action(description=_("Erase now"), url_path="erase", permissions=["privacy_data"],
            dialog={"title": _("Erase this customer's personal data"),
                    "description": _("Invoices and statistics stay; everything personal is erased for good."),
                    "form_class": ErasureForm, "form_submit_text": _("Erase for good")})
    def erase_now(self, request: HttpRequest, form: ErasureForm, object_id: Any) -> HttpResponse:
        request_row = DeletionRequest.objects.get(pk=object_id)
        try:
            services.erase_customer(request_row.customer_id, actor=_actor(request), reason=form.cleaned_data["reason"])
        except DomainError as exc:
            messages.error(request, str(exc.message))
        else:
            messages.success(request, str(_("The customer's personal data has been erased.")))
        return _go(request, reverse("admin:privacy_deletionrequest_change", args=[object_id],
                                    current_app=self.admin_site.name))

    @action(description=_("Reject"), url_path="reject", permissions=["change"],
            dialog={"title": _("Reject deletion request"), "description": _("E.g. when a legal duty to keep the data applies."),
                    "form_class": RejectForm, "form_submit_text": _("Reject")})
    def reject(self, request: HttpRequest, form: RejectForm, object_id: Any) -> HttpResponse:
        try:
            services.reject_deletion_request(int(object_id), actor=_actor(request), reason=form.cleaned_data["reason"])
        except DomainError as exc:
            messages.error(request, str(exc.message))
        return _go(request, reverse("admin:privacy_deletionrequest_change", args=[object_id],
                                    current_app=self.admin_site.name))


@admin.register(RetentionPolicy, site=tenant_admin_site)
class RetentionPolicyAdmin(ModelAdmin):
    list_display = ("__str__", "transcript_days", "recording_days", "notification_days", "inactive_customer_years", "updated_at")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return super().has_add_permission(request) and not RetentionPolicy.objects.exists()

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(PrivacyAuditEntry, site=tenant_admin_site)
class PrivacyAuditEntryAdmin(ModelAdmin):
    list_display = ("created_at", "action", "actor", "customer_ref", "reason")
    list_filter = ("action",)
    search_fields = ("customer_ref", "actor", "reason")
    readonly_fields = ("created_at", "action", "actor", "customer_ref", "reason", "counts")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
