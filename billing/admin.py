"""Billing in both admins.

Platform admin (public host): everything, ledger read-only, invoice actions.
Tenant admin (tenant hosts): the tenant's OWN account, transactions, top-ups and invoices only
(every queryset is filtered on ``request.tenant``), plus the top-up page.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import FileResponse, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext_lazy as _
from simple_history.admin import SimpleHistoryAdmin
from unfold.admin import ModelAdmin, TabularInline
from unfold.decorators import action, display

from askpro import hooks
from askpro.admin_dialogs import Dialog, DialogForm, Done, Notice, dialog_action
from askpro.admin_sites import platform_admin_site, tenant_admin_site
from askpro.display import euros
from askpro.errors import DomainError
from askpro.exports import ExportAdminMixin
from billing import invoicing, ledger, pdf, queries, services, stripe_gateway, tasks
from billing.events import InvoiceIssued
from billing.models import (
    BillingAccount,
    BillingRun,
    BonusTier,
    CommissionRecord,
    Invoice,
    InvoiceHold,
    InvoiceLine,
    MonthlyCostReport,
    PlatformCost,
    PricingPlan,
    Reseller,
    StripeInvoice,
    Topup,
    Transaction,
    UsageRecord,
)
from billing.money import Period, format_eur


def _actor(request: HttpRequest) -> str:
    tenant = getattr(request, "tenant", None)
    return f"{request.user.get_username()}@{getattr(tenant, 'schema_name', 'public')}"


class ReadOnlyMixin:
    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


def _open_holds(account: BillingAccount) -> str:
    """What keeps the account's invoices from being issued, one line per held period."""
    holds = account.invoice_holds.filter(released_at=None).order_by("period")
    if not holds:
        return "–"
    return format_html_join("", "<p>{}: {}</p>", ((f"{hold.period:%m/%Y}", hold.explanation) for hold in holds))


def _pdf_response(invoice: Invoice) -> FileResponse:
    if not invoice.pdf:
        pdf.store_invoice_pdf(invoice)
    return FileResponse(invoice.pdf.open("rb"), as_attachment=True, filename=f"{invoice.number}.pdf", content_type="application/pdf")


# --- platform admin -------------------------------------------------------------------------


@admin.register(PricingPlan, site=platform_admin_site)
class PricingPlanAdmin(SimpleHistoryAdmin, ModelAdmin):
    list_display = ("name", "price_per_minute_cents", "billing_increment", "monthly_base_fee_cents", "included_minutes", "booking_fee_cents", "is_default", "active_from", "active_to")
    list_filter = ("billing_increment", "is_default")
    search_fields = ("name",)


@admin.register(BonusTier, site=platform_admin_site)
class BonusTierAdmin(SimpleHistoryAdmin, ModelAdmin):
    list_display = ("name", "min_topup_cents", "kind", "percentage", "fixed_cents", "is_active")
    list_filter = ("kind", "is_active")
    search_fields = ("name",)


@admin.register(Reseller, site=platform_admin_site)
class ResellerAdmin(SimpleHistoryAdmin, ModelAdmin):
    list_display = ("name", "commission_rate", "email", "payout_iban", "is_active")
    list_filter = ("is_active",)
    search_fields = ("name", "email")


@admin.register(BillingAccount, site=platform_admin_site)
class BillingAccountAdmin(SimpleHistoryAdmin, ModelAdmin):
    list_display = ("tenant", "balance", "plan", "reseller", "credit_limit_cents", "calls_accepted", "auto_topup_enabled", "country", "invoices_on_hold")
    list_filter = ("plan", "reseller", "auto_topup_enabled", "reject_calls_when_exhausted", "country", "low_balance_notified")
    search_fields = ("tenant__name", "tenant__slug", "company_name", "vat_id", "stripe_customer_id")
    readonly_fields = ("balance_cents", "low_balance_notified", "stripe_subscription_id", "stripe_subscription_status", "created_at", "updated_at", "calls_accepted", "invoices_on_hold")
    autocomplete_fields = ("tenant",)

    @display(description=_("balance"))
    def balance(self, obj: BillingAccount) -> str:
        return format_eur(obj.balance_cents)

    @display(description=_("invoices on hold"))
    def invoices_on_hold(self, obj: BillingAccount) -> str:
        return _open_holds(obj)

    @display(description=_("calls accepted"))
    def calls_accepted(self, obj: BillingAccount) -> str:
        accepted, reason = services.can_accept_calls(obj.tenant)
        answer = _("yes") if accepted else _("no")  # outside the f-string so makemessages finds it
        return str(answer) if accepted and not reason else f"{answer}: {reason}"

    def save_model(self, request: HttpRequest, obj: BillingAccount, form: Any, change: bool) -> None:
        super().save_model(request, obj, form, change)
        ledger.sync_voice_block(obj)  # a new credit limit or setting applies to the next call


@admin.register(Transaction, site=platform_admin_site)
class TransactionAdmin(ExportAdminMixin, ReadOnlyMixin, ModelAdmin):
    export_fields = ("created_at", "account", "kind", "amount_cents", "balance_after_cents", "description",
                     "reference_type", "reference_id")
    list_display = ("created_at", "account", "kind", "amount_cents", "balance_after_cents", "reference_type", "reference_id", "actor")
    list_filter = ("kind", "reference_type", "created_at")
    search_fields = ("account__tenant__name", "reference_id", "idempotency_key", "description", "actor")
    date_hierarchy = "created_at"


@admin.register(UsageRecord, site=platform_admin_site)
class UsageRecordAdmin(ReadOnlyMixin, ModelAdmin):
    list_display = ("ended_at", "account", "call_id", "duration_seconds", "billed_seconds", "included_seconds", "net_cents", "amount_cents")
    list_filter = ("period",)
    search_fields = ("call_id", "account__tenant__name")


@admin.register(PlatformCost, site=platform_admin_site)
class PlatformCostAdmin(ReadOnlyMixin, ModelAdmin):
    list_display = ("occurred_at", "account", "service_type", "reference", "cost_cents", "billed", "exchange_rate",
                    "quantity")
    list_filter = ("service_type", "period", "original_currency")
    search_fields = ("reference", "account__tenant__name")

    @admin.display(description=_("billed as"))
    def billed(self, obj: PlatformCost) -> str:
        if obj.original_cost_cents is None:
            return "–"
        return euros(obj.original_cost_cents, currency=obj.original_currency)


@admin.register(MonthlyCostReport, site=platform_admin_site)
class MonthlyCostReportAdmin(ReadOnlyMixin, ModelAdmin):
    list_display = ("period", "account", "call_count", "revenue_net_cents", "total_cost_cents", "margin_cents")
    list_filter = ("period",)
    search_fields = ("account__tenant__name",)


@admin.register(Topup, site=platform_admin_site)
class TopupAdmin(ReadOnlyMixin, ModelAdmin):
    list_display = ("created_at", "account", "amount_cents", "bonus_cents", "status", "method", "source", "failure_reason", "refunded_cents")
    list_filter = ("status", "method", "source")
    search_fields = ("account__tenant__name", "stripe_payment_intent_id", "stripe_checkout_session_id", "stripe_charge_id")


class InvoiceLineInline(TabularInline):
    model = InvoiceLine
    extra = 0
    can_delete = False
    fields = ("position", "description", "quantity", "unit", "unit_price_cents", "net_cents")
    readonly_fields = fields

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class InvoicePdfMixin:
    def get_urls(self) -> list:
        urls = super().get_urls()  # type: ignore[misc]
        meta = self.model._meta  # type: ignore[attr-defined]
        return [
            path("<int:pk>/pdf/", self.admin_site.admin_view(self.download_pdf), name=f"{meta.app_label}_{meta.model_name}_pdf"),  # type: ignore[attr-defined]
        ] + urls

    def download_pdf(self, request: HttpRequest, pk: int) -> FileResponse:
        if not self.has_view_permission(request):  # type: ignore[attr-defined]
            raise PermissionDenied
        invoice = get_object_or_404(self.get_queryset(request).exclude(number=None), pk=pk)  # type: ignore[attr-defined]
        return _pdf_response(invoice)

    @display(description=_("PDF"))
    def pdf_link(self, obj: Invoice) -> str:
        if not obj.number:
            return "-"
        return format_html('<a href="{}">{}</a>', reverse("admin:billing_invoice_pdf", args=[obj.pk]), obj.number + ".pdf")


@admin.register(Invoice, site=platform_admin_site)
class InvoiceAdmin(ExportAdminMixin, InvoicePdfMixin, SimpleHistoryAdmin, ModelAdmin):
    export_fields = ("number", "account", "period", "status", "net_cents", "vat_cents", "gross_cents",
                     "amount_due_cents", "due_date")
    list_display = ("number", "account", "period", "status", "net_cents", "vat_cents", "gross_cents", "amount_due_cents", "due_date", "pdf_link")
    list_filter = ("status", "reverse_charge", "period")
    search_fields = ("number", "account__tenant__name", "buyer")
    inlines = [InvoiceLineInline]
    actions = ["send_invoices", "mark_paid", "void"]
    readonly_fields = [f.name for f in Invoice._meta.fields] + ["pdf_link"]

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    @action(description=_("Send selected invoices to the tenant"))
    def send_invoices(self, request: HttpRequest, queryset: QuerySet[Invoice]) -> None:
        for invoice in queryset.exclude(number=None):
            hooks.emit(InvoiceIssued(
                tenant_id=invoice.account.tenant_id, invoice_id=invoice.pk, number=str(invoice.number),
                gross_cents=invoice.gross_cents, amount_due_cents=invoice.amount_due_cents, resend=True,
            ))
            Invoice.objects.filter(pk=invoice.pk).update(sent_at=timezone.now())
        messages.success(request, _("Invoices queued for sending."))

    @action(description=_("Mark selected invoices paid (bank transfer)"))
    def mark_paid(self, request: HttpRequest, queryset: QuerySet[Invoice]) -> None:
        for invoice in queryset:
            try:
                invoicing.mark_invoice_paid(invoice, actor=_actor(request))
            except DomainError as exc:
                messages.error(request, f"{invoice}: {exc.message}")
        messages.success(request, _("Done."))

    @action(description=_("Void selected invoices (Storno)"))
    def void(self, request: HttpRequest, queryset: QuerySet[Invoice]) -> None:
        for invoice in queryset:
            invoicing.void_invoice(invoice, actor=_actor(request))
        messages.success(request, _("Invoices voided."))


@admin.register(StripeInvoice, site=platform_admin_site)
class StripeInvoiceAdmin(ReadOnlyMixin, ModelAdmin):
    list_display = ("stripe_id", "number", "account", "status", "amount_due_cents", "amount_paid_cents", "attempt_count", "updated_at")
    list_filter = ("status",)
    search_fields = ("stripe_id", "number")


class BillingRunForm(forms.Form):
    period = forms.CharField(label=_("Period"), max_length=7, help_text=_("Month in the form YYYY-MM; only a month that has ended."))

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["period"].initial = str(Period.of(timezone.now(), timezone.get_current_timezone()).previous)

    def clean_period(self) -> Period:
        try:
            period = Period.parse(self.cleaned_data["period"])
        except DomainError as exc:
            raise forms.ValidationError(str(exc.message), code=exc.code) from exc
        return period  # a month not yet ended is refused by the run itself (PERIOD_NOT_FINISHED)


@admin.register(BillingRun, site=platform_admin_site)
class BillingRunAdmin(ModelAdmin):
    """Runs are started here ("start billing run", the same service as ``manage.py billing_run``)
    and run in the billing workers; a run's page refreshes until every account is handled."""

    list_display = ("period", "status", "accounts_total", "accounts_done", "invoices_failed", "invoices_created",
                    "invoices_held", "started_at", "finished_at")
    list_filter = ("status",)
    search_fields = ("period",)
    fields = ("period", "status", "accounts_total", "accounts_done", "invoices_failed", "invoices_created",
              "invoices_held", "batches_total", "started_by", "started_at", "finished_at")
    readonly_fields = fields
    change_form_before_template = "billing/admin/billing_run_progress.html"

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def add_view(self, request: HttpRequest, form_url: str = "", extra_context: dict[str, Any] | None = None) -> HttpResponse:
        if not self.has_add_permission(request):
            raise PermissionDenied
        form = BillingRunForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            period = form.cleaned_data["period"]
            try:
                tasks.queue_billing_run(period, started_by=request.user.get_username())
            except DomainError as exc:
                form.add_error("period", str(exc.message))
            else:
                run = BillingRun.objects.get(period=period.first)
                messages.success(request, _("Billing run %(period)s started.") % {"period": f"{period.first:%m/%Y}"})
                return HttpResponseRedirect(reverse("admin:billing_billingrun_change", args=[run.pk]))
        context = {
            **self.admin_site.each_context(request), "title": _("Start billing run"), "form": form,
            "opts": self.model._meta,
        }
        return TemplateResponse(request, "billing/admin/billing_run_start.html", context)

    def change_view(self, request: HttpRequest, object_id: str, form_url: str = "",
                    extra_context: dict[str, Any] | None = None) -> HttpResponse:
        run = self.get_object(request, object_id)
        extra = {"run_progress": queries.run_progress(run)} if run is not None else {}
        return super().change_view(request, object_id, form_url, {**extra, **(extra_context or {})})


@admin.register(InvoiceHold, site=platform_admin_site)
class InvoiceHoldAdmin(ReadOnlyMixin, ModelAdmin):
    list_display = ("period", "account", "reason", "missing_fields", "gross", "created_at", "released_at")
    list_filter = ("reason", "period", ("released_at", admin.EmptyFieldListFilter))
    search_fields = ("account__tenant__name", "account__company_name")
    readonly_fields = ("account", "period", "reason", "missing_fields", "gross", "explanation", "created_at", "updated_at", "released_at")
    fields = readonly_fields

    @display(description=_("missing"))
    def missing_fields(self, obj: InvoiceHold) -> str:
        return ", ".join(obj.missing_labels)

    @display(description=_("invoice amount"))
    def gross(self, obj: InvoiceHold) -> str:
        return format_eur(obj.gross_cents)

    @display(description=_("reason"))
    def explanation(self, obj: InvoiceHold) -> str:
        return obj.explanation


@admin.register(CommissionRecord, site=platform_admin_site)
class CommissionRecordAdmin(ReadOnlyMixin, ModelAdmin):
    list_display = ("period", "reseller", "account", "revenue_net_cents", "rate", "commission_cents")
    list_filter = ("reseller", "period")
    search_fields = ("reseller__name", "account__tenant__name")
    actions = ["export_csv"]

    @action(description=_("Export the selected periods as CSV"))
    def export_csv(self, request: HttpRequest, queryset: QuerySet[CommissionRecord]) -> HttpResponse:
        periods = sorted({record.period for record in queryset})
        content = "".join(invoicing.commissions_csv(Period(first)) for first in periods)
        response = HttpResponse(content, content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = 'attachment; filename="commissions.csv"'
        return response


# --- tenant admin: the tenant's own billing only --------------------------------------------


class TenantScoped:
    """Limit every queryset to the requesting tenant's billing account."""

    tenant_lookup = "account__tenant"

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        tenant = getattr(request, "tenant", None)
        qs = super().get_queryset(request)  # type: ignore[misc]
        if tenant is None:
            return qs.none()
        return qs.filter(**{self.tenant_lookup: tenant})


class TopupForm(DialogForm):
    amount = forms.ChoiceField(
        label=_("Amount"), choices=[("1000", "10 €"), ("2500", "25 €"), ("5000", "50 €"), ("10000", "100 €"), ("custom", _("Other amount"))],
        widget=forms.RadioSelect, initial="2500",
    )
    custom_euros = forms.IntegerField(label=_("Other amount (EUR)"), required=False, min_value=1)

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("amount") == "custom":
            if not data.get("custom_euros"):
                raise forms.ValidationError(_("Enter an amount."))
            data["amount_cents"] = int(data["custom_euros"]) * 100
        elif data.get("amount"):
            data["amount_cents"] = int(data["amount"])
        return data


def _topup_notice(model_admin: Any, request: HttpRequest, object_id: Any) -> Notice | None:
    if stripe_gateway.is_configured():
        return Notice(str(_("Bonus credit applies from 100 EUR; see your transactions after the payment.")))
    return Notice(str(_("Online payments are not configured. Please contact support to top up.")), tone="danger",
                  blocks=True)


TOPUP_DIALOG = Dialog(title=_("Top up balance"), form_class=TopupForm, submit_label=_("Continue to payment"),
                      notice=_topup_notice)


class TenantBillingAccountAdmin(TenantScoped, ModelAdmin):
    tenant_lookup = "tenant"
    list_display = ("tenant", "balance", "low_balance_threshold_cents", "credit_limit_cents", "calls_accepted", "invoices_on_hold", "topup_link")
    fields = ("balance", "calls_accepted", "invoices_on_hold", "plan", "low_balance_threshold_cents", "credit_limit_cents", "reject_calls_when_exhausted", "auto_topup_enabled", "auto_topup_threshold_cents", "auto_topup_amount_cents", "company_name", "street", "postal_code", "city", "country", "vat_id", "tax_number", "billing_email")
    readonly_fields = fields

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    @display(description=_("balance"))
    def balance(self, obj: BillingAccount) -> str:
        return format_eur(obj.balance_cents)

    @display(description=_("calls accepted"))
    def calls_accepted(self, obj: BillingAccount) -> str:
        accepted, reason = services.can_accept_calls(obj.tenant)
        answer = _("yes") if accepted else _("no")  # outside the f-string so makemessages finds it
        return str(answer) if accepted and not reason else f"{answer}: {reason}"

    @display(description=_("invoices on hold"))
    def invoices_on_hold(self, obj: BillingAccount) -> str:
        return _open_holds(obj)

    @display(description=_("top up"))
    def topup_link(self, obj: BillingAccount) -> str:
        return format_html('<a href="{}" data-askpro-dialog="topup">{}</a>', reverse("admin:billing_billingaccount_topup"),
                           _("Top up balance"))

    def get_urls(self) -> list:
        return [
            path("topup/<int:pk>/pay/", self.admin_site.admin_view(self.pay_view), name="billing_billingaccount_topup_pay"),
        ] + super().get_urls()

    actions_list = ["topup"]

    def has_topup_permission(self, request: HttpRequest, object_id: Any = None) -> bool:
        return bool(request.user.has_perm("billing.add_topup"))

    def _require_topup_permission(self, request: HttpRequest) -> None:
        if not self.has_topup_permission(request):
            raise PermissionDenied

    @dialog_action(description=_("Top up balance"), url_path="topup", permissions=["topup"], dialog=TOPUP_DIALOG)
    def topup(self, request: HttpRequest, form: TopupForm, object_id: Any = None) -> Done:
        back = request.build_absolute_uri(reverse("admin:billing_topup_changelist"))
        started = services.start_topup(
            request.tenant, amount_cents=form.cleaned_data["amount_cents"], actor=_actor(request),  # type: ignore[attr-defined]
            success_url=back, cancel_url=back,
        )
        return Done(str(_("Top-up of %(amount)s started: please complete the payment.")
                        % {"amount": format_eur(started.topup.amount_cents)}), level=messages.INFO,
                    redirect=started.checkout_url
                    or reverse("admin:billing_billingaccount_topup_pay", args=[started.topup.pk]))

    def pay_view(self, request: HttpRequest, pk: int) -> HttpResponse:
        self._require_topup_permission(request)
        topup = get_object_or_404(Topup.objects.filter(account__tenant=request.tenant), pk=pk)  # type: ignore[attr-defined]
        if request.method == "POST":
            try:
                topup = services.pay_topup_with_test_card(topup)
            except DomainError as exc:
                messages.error(request, str(exc.message))
            else:
                messages.success(request, _("Top-up of %(amount)s completed.") % {"amount": format_eur(topup.amount_cents)})
            return HttpResponseRedirect(reverse("admin:billing_topup_changelist"))
        context = {
            **self.admin_site.each_context(request), "title": _("Pay top-up"), "topup": topup,
            "local": stripe_gateway.is_local(), "opts": self.model._meta,
        }
        return TemplateResponse(request, "billing/admin/topup_pay.html", context)


class TenantTransactionAdmin(ExportAdminMixin, TenantScoped, ReadOnlyMixin, ModelAdmin):
    export_fields = ("created_at", "account", "kind", "amount_cents", "balance_after_cents", "description",
                     "reference_type", "reference_id")
    list_display = ("created_at", "kind", "amount_cents", "balance_after_cents", "description", "actor")
    list_filter = ("kind", "created_at")
    search_fields = ("description", "reference_id")
    exclude = ("idempotency_key",)


class TenantTopupAdmin(TenantScoped, ReadOnlyMixin, ModelAdmin):
    list_display = ("created_at", "amount_cents", "bonus_cents", "status", "failure_reason", "receipt_link")
    list_filter = ("status",)
    search_fields = ("failure_reason",)
    fields = ("amount_cents", "bonus_cents", "status", "failure_reason", "refunded_cents", "created_at", "completed_at")

    def get_urls(self) -> list:
        return [path("<int:pk>/receipt/", self.admin_site.admin_view(self.receipt_view), name="billing_topup_receipt")] + super().get_urls()

    @display(description=_("receipt"))
    def receipt_link(self, obj: Topup) -> str:
        if obj.status != Topup.Status.SUCCEEDED:
            return "-"
        return format_html('<a href="{}">{}</a>', reverse("admin:billing_topup_receipt", args=[obj.pk]), obj.receipt_number)

    def receipt_view(self, request: HttpRequest, pk: int) -> HttpResponse:
        if not self.has_view_permission(request):
            raise PermissionDenied
        topup = get_object_or_404(self.get_queryset(request).filter(status=Topup.Status.SUCCEEDED), pk=pk)
        response = HttpResponse(pdf.render_receipt_pdf(topup), content_type="application/pdf")
        response["Content-Disposition"] = f'attachment; filename="{topup.receipt_number}.pdf"'
        return response


class TenantInvoiceAdmin(ExportAdminMixin, InvoicePdfMixin, TenantScoped, ReadOnlyMixin, ModelAdmin):
    export_fields = ("number", "account", "period", "status", "net_cents", "vat_cents", "gross_cents",
                     "amount_due_cents", "due_date")
    list_display = ("number", "period", "status", "gross_cents", "amount_due_cents", "due_date", "pdf_link")
    list_filter = ("status",)
    search_fields = ("number",)
    fields = ("number", "status", "period", "issue_date", "due_date", "net_cents", "vat_cents", "gross_cents", "prepaid_cents", "amount_due_cents", "pdf_link")
    readonly_fields = fields
    inlines = [InvoiceLineInline]

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        return super().get_queryset(request).exclude(number=None)


tenant_admin_site.register(BillingAccount, TenantBillingAccountAdmin)
tenant_admin_site.register(Transaction, TenantTransactionAdmin)
tenant_admin_site.register(Topup, TenantTopupAdmin)
tenant_admin_site.register(Invoice, TenantInvoiceAdmin)
