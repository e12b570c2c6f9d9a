"""Platform money (public schema): prepaid balances, the append-only ledger, pricing, usage,
provider costs, Stripe top-ups, invoices and resellers.

All amounts are integer cents in ``currency`` (EUR). The only code that changes a balance is
``billing.services.post_transaction``; a database trigger refuses UPDATE and DELETE on the
ledger (see migration 0002), so corrections are always new rows.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any, NoReturn

from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

EU_COUNTRIES = frozenset(
    ["AT", "BE", "BG", "CY", "CZ", "DE", "DK", "EE", "ES", "FI", "FR", "GR", "HR", "HU", "IE", "IT", "LT", "LU", "LV", "MT", "NL", "PL", "PT", "RO", "SE", "SI", "SK"]
)


class Reseller(models.Model):
    """A partner who brings tenants and earns a commission on their paid revenue."""

    name = models.CharField(_("name"), max_length=200, unique=True)
    email = models.EmailField(_("email"), blank=True)
    commission_rate = models.DecimalField(
        _("commission rate"), max_digits=5, decimal_places=4, default=Decimal("0.2000"),
        validators=[MinValueValidator(Decimal("0")), MaxValueValidator(Decimal("1"))],
        help_text=_("Share of paid net revenue, e.g. 0.2000 for 20 %."),
    )
    payout_account_holder = models.CharField(_("payout account holder"), max_length=200, blank=True)
    payout_iban = models.CharField(_("payout IBAN"), max_length=34, blank=True)
    payout_bic = models.CharField(_("payout BIC"), max_length=11, blank=True)
    vat_id = models.CharField(_("VAT id"), max_length=20, blank=True)
    is_active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("reseller")
        verbose_name_plural = _("resellers")
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class PricingPlan(models.Model):
    """What a tenant pays: per-minute price (net), increment, base fee, included minutes."""

    class Increment(models.TextChoices):
        PER_SECOND = "per_second", _("Per second")
        PER_STARTED_MINUTE = "per_started_minute", _("Per started minute")

    name = models.CharField(_("name"), max_length=100, unique=True)
    price_per_minute_cents = models.PositiveIntegerField(
        _("price per minute (cents, net)"), help_text=_("Net price of one call minute in cents.")
    )
    billing_increment = models.CharField(
        _("billing increment"), max_length=20, choices=Increment.choices, default=Increment.PER_SECOND
    )
    monthly_base_fee_cents = models.PositiveIntegerField(_("monthly base fee (cents, net)"), default=0)
    included_minutes = models.PositiveIntegerField(
        _("included minutes"), default=0, help_text=_("Free call minutes per calendar month.")
    )
    booking_fee_cents = models.PositiveIntegerField(
        _("fee per phone booking (cents, net)"), default=0,
        help_text=_("Charged at the monthly run for each appointment booked by the voice agent."),
    )
    currency = models.CharField(_("currency"), max_length=3, default="EUR")
    active_from = models.DateField(_("active from"), null=True, blank=True)
    active_to = models.DateField(_("active to"), null=True, blank=True)
    is_default = models.BooleanField(
        _("default plan"), default=False, help_text=_("Assigned to new billing accounts.")
    )
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("pricing plan")
        verbose_name_plural = _("pricing plans")
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(fields=["is_default"], condition=Q(is_default=True), name="billing_one_default_plan"),
        ]

    def __str__(self) -> str:
        return self.name


class BonusTier(models.Model):
    """Extra credit for larger top-ups (e.g. 100/500/1000 EUR -> 5/10/15 %)."""

    class Kind(models.TextChoices):
        PERCENTAGE = "percentage", _("Percentage")
        FIXED = "fixed", _("Fixed amount")

    name = models.CharField(_("name"), max_length=100)
    min_topup_cents = models.PositiveIntegerField(_("minimum top-up (cents)"))
    kind = models.CharField(_("bonus type"), max_length=20, choices=Kind.choices, default=Kind.PERCENTAGE)
    percentage = models.DecimalField(
        _("bonus percentage"), max_digits=5, decimal_places=2, default=Decimal("0"),
        validators=[MinValueValidator(Decimal("0")), MaxValueValidator(Decimal("100"))],
    )
    fixed_cents = models.PositiveIntegerField(_("fixed bonus (cents)"), default=0)
    is_active = models.BooleanField(_("active"), default=True)
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("bonus tier")
        verbose_name_plural = _("bonus tiers")
        ordering = ["min_topup_cents"]

    def __str__(self) -> str:
        return self.name


def _today() -> date:
    return timezone.localdate()


class BillingAccount(models.Model):
    """A tenant's prepaid balance, billing address, tax data and Stripe links."""

    tenant = models.OneToOneField(
        "tenants.Tenant", verbose_name=_("tenant"), on_delete=models.PROTECT, related_name="billing_account"
    )
    currency = models.CharField(_("currency"), max_length=3, default="EUR", editable=False)
    balance_cents = models.BigIntegerField(
        _("balance (cents)"), default=0, editable=False,
        help_text=_("Always equals the sum of the account's transactions."),
    )
    low_balance_threshold_cents = models.PositiveIntegerField(
        _("low-balance warning below (cents)"), default=1000
    )
    low_balance_notified = models.BooleanField(
        _("low-balance warning sent"), default=False, editable=False,
        help_text=_("Set when the balance fell below the threshold; cleared when it rises above again."),
    )
    credit_limit_cents = models.PositiveIntegerField(
        _("credit limit (cents)"), default=0, help_text=_("How far below zero usage may take the balance.")
    )
    reject_calls_when_exhausted = models.BooleanField(
        _("reject calls when the credit is used up"), default=True,
        help_text=_("If off, calls are still answered and the balance goes further below the limit."),
    )
    auto_topup_enabled = models.BooleanField(_("automatic top-up"), default=False)
    auto_topup_threshold_cents = models.PositiveIntegerField(_("automatic top-up below (cents)"), default=1000)
    auto_topup_amount_cents = models.PositiveIntegerField(_("automatic top-up amount (cents)"), default=5000)
    stripe_customer_id = models.CharField(_("Stripe customer"), max_length=100, blank=True, db_index=True)
    stripe_payment_method_id = models.CharField(
        _("saved Stripe payment method"), max_length=100, blank=True,
        help_text=_("Used for automatic top-ups (off-session)."),
    )
    stripe_subscription_id = models.CharField(_("Stripe subscription"), max_length=100, blank=True)
    stripe_subscription_status = models.CharField(_("Stripe subscription status"), max_length=30, blank=True)
    plan = models.ForeignKey(
        PricingPlan, verbose_name=_("pricing plan"), on_delete=models.PROTECT, related_name="accounts"
    )
    reseller = models.ForeignKey(
        Reseller, verbose_name=_("reseller"), null=True, blank=True, on_delete=models.PROTECT, related_name="accounts"
    )
    # Invoice recipient (§14 Abs. 4 Nr. 1 UStG)
    company_name = models.CharField(_("company name"), max_length=200, blank=True)
    street = models.CharField(_("street"), max_length=200, blank=True)
    postal_code = models.CharField(_("postal code"), max_length=20, blank=True)
    city = models.CharField(_("city"), max_length=100, blank=True)
    country = models.CharField(_("country (ISO code)"), max_length=2, default="DE")
    vat_id = models.CharField(_("VAT id"), max_length=20, blank=True)
    vat_id_verified = models.BooleanField(
        _("VAT id verified"), default=False, help_text=_("Confirmed via BZSt/VIES; required for reverse charge.")
    )
    tax_number = models.CharField(_("tax number"), max_length=30, blank=True)
    billing_email = models.EmailField(_("invoice e-mail"), blank=True)
    billing_starts_on = models.DateField(
        _("billed from"), default=_today,
        help_text=_("First day the account is billed: no base fee or booking fee before it; "
                    "the base fee of its first month is charged pro rata by days."),
    )
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)
    history = HistoricalRecords(excluded_fields=["balance_cents", "low_balance_notified", "updated_at"])

    class Meta:
        verbose_name = _("billing account")
        verbose_name_plural = _("billing accounts")
        ordering = ["tenant__name"]

    def __str__(self) -> str:
        return str(self.tenant)

    @property
    def reverse_charge(self) -> bool:
        """EU B2B reverse charge: a verified VAT id of another member state."""
        return (
            self.country.upper() != "DE"
            and self.country.upper() in EU_COUNTRIES
            and bool(self.vat_id)
            and self.vat_id_verified
        )

    @property
    def display_name(self) -> str:
        return self.company_name or self.tenant.name

    def missing_buyer_fields(self) -> list[str]:
        """Names of the invoice-recipient fields §14 Abs. 4 Nr. 1 UStG needs that are empty."""
        values = {"name": self.display_name, "street": self.street, "postal_code": self.postal_code,
                  "city": self.city, "country": self.country}
        return [name for name, value in values.items() if not (value or "").strip()]


class Transaction(models.Model):
    """One ledger row. Never updated or deleted; a correction is another row."""

    class Kind(models.TextChoices):
        TOPUP = "topup", _("Top-up")
        BONUS = "bonus", _("Bonus")
        USAGE = "usage", _("Usage")
        REFUND = "refund", _("Refund")
        ADJUSTMENT = "adjustment", _("Adjustment")
        REVERSAL = "reversal", _("Reversal")

    account = models.ForeignKey(
        BillingAccount, verbose_name=_("account"), on_delete=models.PROTECT, related_name="transactions"
    )
    kind = models.CharField(_("type"), max_length=20, choices=Kind.choices)
    amount_cents = models.BigIntegerField(_("amount (cents)"), help_text=_("Positive credits, negative debits."))
    balance_after_cents = models.BigIntegerField(_("balance after (cents)"))
    currency = models.CharField(_("currency"), max_length=3, default="EUR")
    reference_type = models.CharField(_("reference type"), max_length=40, blank=True)
    reference_id = models.CharField(_("reference"), max_length=100, blank=True)
    description = models.CharField(_("description"), max_length=255, blank=True)
    actor = models.CharField(_("acting user"), max_length=200, default="system")
    idempotency_key = models.CharField(_("idempotency key"), max_length=200, unique=True)
    created_at = models.DateTimeField(_("created"), auto_now_add=True, db_index=True)

    class Meta:
        verbose_name = _("transaction")
        verbose_name_plural = _("transactions")
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["account", "created_at"], name="billing_txn_account_idx")]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.amount_cents / 100:.2f} {self.currency}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if not self._state.adding:
            raise ValueError("ledger transactions are append-only")
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> NoReturn:
        raise ValueError("ledger transactions are append-only")


class UsageRecord(models.Model):
    """One charged call: exactly one per call id, priced by the plan in force."""

    account = models.ForeignKey(BillingAccount, verbose_name=_("account"), on_delete=models.PROTECT, related_name="usage_records")
    call_id = models.CharField(_("call id"), max_length=100, unique=True)
    period = models.DateField(_("period (first of month)"), db_index=True)
    ended_at = models.DateTimeField(_("call ended"))
    duration_seconds = models.PositiveIntegerField(_("duration (s)"))
    billed_seconds = models.PositiveIntegerField(_("billed (s)"), help_text=_("Duration rounded to the billing increment."))
    included_seconds = models.PositiveIntegerField(_("from included minutes (s)"), default=0)
    price_per_minute_cents = models.PositiveIntegerField(_("price per minute (cents, net)"))
    net_cents = models.PositiveIntegerField(_("net (cents)"))
    vat_cents = models.PositiveIntegerField(_("VAT (cents)"))
    amount_cents = models.PositiveIntegerField(_("charged (cents, gross)"))
    plan = models.ForeignKey(PricingPlan, verbose_name=_("pricing plan"), on_delete=models.PROTECT, related_name="+")
    transaction = models.OneToOneField(Transaction, verbose_name=_("transaction"), on_delete=models.PROTECT, related_name="usage_record")
    created_at = models.DateTimeField(_("created"), auto_now_add=True)

    class Meta:
        verbose_name = _("usage record")
        verbose_name_plural = _("usage records")
        ordering = ["-ended_at"]
        indexes = [models.Index(fields=["account", "period"], name="billing_usage_period_idx")]

    def __str__(self) -> str:
        return self.call_id


class PlatformCost(models.Model):
    """What a provider charged us (Retell per call, SMS, ...) so margins are visible."""

    class Service(models.TextChoices):
        RETELL = "retell", _("Retell (voice agent)")
        CALCOM = "calcom", _("Cal.com")
        SMS = "sms", _("SMS")
        TRANSLATION = "translation", _("Translation")
        OTHER = "other", _("Other")

    account = models.ForeignKey(BillingAccount, verbose_name=_("account"), on_delete=models.PROTECT, related_name="platform_costs")
    service_type = models.CharField(_("service"), max_length=20, choices=Service.choices)
    reference = models.CharField(_("reference"), max_length=100, help_text=_("e.g. the call id"))
    period = models.DateField(_("period (first of month)"), db_index=True)
    cost_cents = models.PositiveIntegerField(_("cost (cents)"), help_text=_("In EUR cents (converted if billed in another currency)."))
    currency = models.CharField(_("currency"), max_length=3, default="EUR")
    original_cost_cents = models.PositiveIntegerField(
        _("billed amount (cents)"), null=True, blank=True, help_text=_("As the provider billed it, in its currency.")
    )
    original_currency = models.CharField(_("billed currency"), max_length=3, blank=True)
    exchange_rate = models.DecimalField(
        _("exchange rate"), max_digits=12, decimal_places=6, null=True, blank=True,
        help_text=_("EUR per unit of the billed currency at recording (setting ASKPRO_EUR_EXCHANGE_RATES); "
                    "empty when no rate was known, then the cost counts as 0 EUR."),
    )
    quantity = models.PositiveIntegerField(_("quantity"), default=1)
    occurred_at = models.DateTimeField(_("occurred"))
    created_at = models.DateTimeField(_("created"), auto_now_add=True)

    class Meta:
        verbose_name = _("platform cost")
        verbose_name_plural = _("platform costs")
        ordering = ["-occurred_at"]
        constraints = [models.UniqueConstraint(fields=["service_type", "reference"], name="billing_cost_once")]

    def __str__(self) -> str:
        return f"{self.service_type} {self.reference}"


class MonthlyCostReport(models.Model):
    """Revenue, provider costs and margin of one tenant in one month (rebuilt by the run)."""

    account = models.ForeignKey(BillingAccount, verbose_name=_("account"), on_delete=models.PROTECT, related_name="cost_reports")
    period = models.DateField(_("period (first of month)"))
    call_count = models.PositiveIntegerField(_("calls"), default=0)
    call_seconds = models.PositiveIntegerField(_("call seconds"), default=0)
    revenue_net_cents = models.BigIntegerField(_("revenue (cents, net)"), default=0)
    total_cost_cents = models.BigIntegerField(_("provider costs (cents)"), default=0)
    margin_cents = models.BigIntegerField(_("margin (cents)"), default=0)
    cost_breakdown = models.JSONField(_("costs by service"), default=dict, blank=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        verbose_name = _("monthly cost report")
        verbose_name_plural = _("monthly cost reports")
        ordering = ["-period", "account"]
        constraints = [models.UniqueConstraint(fields=["account", "period"], name="billing_cost_report_once")]

    def __str__(self) -> str:
        return f"{self.account} {self.period:%Y-%m}"


class Topup(models.Model):
    """A request to add money to a balance, completed by Stripe (or an operator)."""

    class Status(models.TextChoices):
        PENDING = "pending", _("Pending")
        SUCCEEDED = "succeeded", _("Succeeded")
        FAILED = "failed", _("Failed")
        CANCELED = "canceled", _("Canceled")

    class Method(models.TextChoices):
        STRIPE = "stripe", _("Stripe")
        BANK_TRANSFER = "bank_transfer", _("Bank transfer")
        MANUAL = "manual", _("Manual")

    class Source(models.TextChoices):
        TENANT = "tenant", _("Requested in the admin")
        AUTO = "auto", _("Automatic top-up")
        OPERATOR = "operator", _("Operator")

    account = models.ForeignKey(BillingAccount, verbose_name=_("account"), on_delete=models.PROTECT, related_name="topups")
    amount_cents = models.PositiveIntegerField(_("amount (cents)"))
    bonus_cents = models.PositiveIntegerField(_("bonus (cents)"), default=0)
    bonus_tier = models.ForeignKey(BonusTier, verbose_name=_("bonus tier"), null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    currency = models.CharField(_("currency"), max_length=3, default="EUR")
    status = models.CharField(_("status"), max_length=20, choices=Status.choices, default=Status.PENDING, db_index=True)
    method = models.CharField(_("payment method"), max_length=20, choices=Method.choices, default=Method.STRIPE)
    source = models.CharField(_("source"), max_length=20, choices=Source.choices, default=Source.TENANT)
    stripe_payment_intent_id = models.CharField(_("Stripe PaymentIntent"), max_length=100, null=True, blank=True, unique=True)
    stripe_checkout_session_id = models.CharField(_("Stripe Checkout session"), max_length=200, null=True, blank=True, unique=True)
    stripe_charge_id = models.CharField(_("Stripe charge"), max_length=100, blank=True, db_index=True)
    failure_reason = models.CharField(_("failure reason"), max_length=500, blank=True)
    refunded_cents = models.PositiveIntegerField(_("refunded (cents)"), default=0)
    bonus_reversed_cents = models.PositiveIntegerField(_("bonus reversed (cents)"), default=0)
    requested_by = models.CharField(_("requested by"), max_length=200, default="system")
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    completed_at = models.DateTimeField(_("completed"), null=True, blank=True)

    class Meta:
        verbose_name = _("top-up")
        verbose_name_plural = _("top-ups")
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.amount_cents / 100:.2f} {self.currency} ({self.get_status_display()})"

    @property
    def receipt_number(self) -> str:
        return f"Q-{self.created_at:%Y}-{self.pk:06d}"


class InvoiceNumberCounter(models.Model):
    """The last invoice number issued per year; locked while a number is taken (gapless)."""

    year = models.PositiveIntegerField(_("year"), primary_key=True)
    last_number = models.PositiveIntegerField(_("last number"), default=0)

    class Meta:
        verbose_name = _("invoice number counter")
        verbose_name_plural = _("invoice number counters")

    def __str__(self) -> str:
        return f"{self.year}: {self.last_number}"


class Invoice(models.Model):
    """A monthly usage invoice (§14 UStG); seller and buyer are snapshotted when issued."""

    class Status(models.TextChoices):
        DRAFT = "draft", _("Draft")
        OPEN = "open", _("Open")
        PAID = "paid", _("Paid")
        OVERDUE = "overdue", _("Overdue")
        VOID = "void", _("Void")
        UNCOLLECTIBLE = "uncollectible", _("Uncollectible")

    account = models.ForeignKey(BillingAccount, verbose_name=_("account"), on_delete=models.PROTECT, related_name="invoices")
    number = models.CharField(_("invoice number"), max_length=30, unique=True, null=True, blank=True)
    status = models.CharField(_("status"), max_length=20, choices=Status.choices, default=Status.DRAFT, db_index=True)
    period = models.DateField(_("period (first of month)"))
    service_start = models.DateField(_("service from"))
    service_end = models.DateField(_("service to"))
    issue_date = models.DateField(_("issue date"), null=True, blank=True)
    due_date = models.DateField(_("due date"), null=True, blank=True)
    currency = models.CharField(_("currency"), max_length=3, default="EUR")
    net_cents = models.BigIntegerField(_("net (cents)"), default=0)
    vat_rate = models.DecimalField(_("VAT rate (%)"), max_digits=5, decimal_places=2, default=Decimal("19.00"))
    vat_cents = models.BigIntegerField(_("VAT (cents)"), default=0)
    gross_cents = models.BigIntegerField(_("gross (cents)"), default=0)
    prepaid_cents = models.BigIntegerField(
        _("settled from balance (cents)"), default=0, help_text=_("Deducted prepayments (prepaid balance).")
    )
    amount_due_cents = models.BigIntegerField(_("amount due (cents)"), default=0)
    reverse_charge = models.BooleanField(_("reverse charge"), default=False)
    seller = models.JSONField(_("seller"), default=dict, blank=True)
    buyer = models.JSONField(_("buyer"), default=dict, blank=True)
    pdf = models.FileField(_("PDF"), upload_to="invoices/%Y/", blank=True)
    stripe_invoice_id = models.CharField(_("Stripe invoice"), max_length=100, blank=True, db_index=True)
    sent_at = models.DateTimeField(_("sent"), null=True, blank=True)
    paid_at = models.DateTimeField(_("paid"), null=True, blank=True)
    voided_at = models.DateTimeField(_("voided"), null=True, blank=True)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    history = HistoricalRecords(excluded_fields=["pdf"])

    class Meta:
        verbose_name = _("invoice")
        verbose_name_plural = _("invoices")
        ordering = ["-period", "-number"]
        constraints = [
            models.UniqueConstraint(
                fields=["account", "period"], condition=~Q(status="void"), name="billing_one_invoice_per_period"
            ),
        ]

    def __str__(self) -> str:
        return self.number or f"{_('Draft')} #{self.pk}"


class InvoiceLine(models.Model):
    invoice = models.ForeignKey(Invoice, verbose_name=_("invoice"), on_delete=models.CASCADE, related_name="lines")
    position = models.PositiveSmallIntegerField(_("position"))
    description = models.CharField(_("description"), max_length=255)
    quantity = models.DecimalField(_("quantity"), max_digits=12, decimal_places=2)
    UNITS = [("MIN", _("minutes")), ("C62", _("pieces")), ("MON", _("month"))]

    unit = models.CharField(_("unit"), max_length=10, choices=UNITS,
                            help_text=_("UN/ECE code: MIN minutes, C62 pieces, MON months."))
    unit_price_cents = models.DecimalField(_("unit price (cents, net)"), max_digits=14, decimal_places=4)
    net_cents = models.BigIntegerField(_("net (cents)"))

    class Meta:
        verbose_name = _("invoice line")
        verbose_name_plural = _("invoice lines")
        ordering = ["invoice", "position"]
        constraints = [models.UniqueConstraint(fields=["invoice", "position"], name="billing_line_position")]

    def __str__(self) -> str:
        return self.description


class StripeInvoice(models.Model):
    """Mirror of a Stripe-side invoice (subscriptions), kept current from webhooks."""

    account = models.ForeignKey(BillingAccount, verbose_name=_("account"), null=True, blank=True, on_delete=models.PROTECT, related_name="stripe_invoices")
    stripe_id = models.CharField(_("Stripe invoice"), max_length=100, unique=True)
    number = models.CharField(_("number"), max_length=100, blank=True)
    status = models.CharField(_("status"), max_length=20)
    amount_due_cents = models.BigIntegerField(_("amount due (cents)"), default=0)
    amount_paid_cents = models.BigIntegerField(_("amount paid (cents)"), default=0)
    currency = models.CharField(_("currency"), max_length=3, default="EUR")
    hosted_invoice_url = models.URLField(_("hosted invoice"), max_length=500, blank=True)
    attempt_count = models.PositiveIntegerField(_("payment attempts"), default=0)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        verbose_name = _("Stripe invoice")
        verbose_name_plural = _("Stripe invoices")
        ordering = ["-updated_at"]

    def __str__(self) -> str:
        return self.number or self.stripe_id


class BillingRun(models.Model):
    """One monthly run; re-running the same period resumes it."""

    class Status(models.TextChoices):
        RUNNING = "running", _("Running")
        DONE = "done", _("Done")

    period = models.DateField(_("period (first of month)"), unique=True)
    status = models.CharField(_("status"), max_length=20, choices=Status.choices, default=Status.RUNNING)
    accounts_total = models.PositiveIntegerField(_("accounts"), default=0)
    invoices_created = models.PositiveIntegerField(_("invoices created"), default=0)
    invoices_held = models.PositiveIntegerField(
        _("invoices held"), default=0, help_text=_("Invoices not issued for a reason an operator must fix (see invoice holds)."),
    )
    accounts_done = models.PositiveIntegerField(
        _("accounts done"), default=0, help_text=_("Accounts of this run handled so far (issued, held, nothing to invoice or failed)."),
    )
    invoices_failed = models.PositiveIntegerField(
        _("accounts failed"), default=0, help_text=_("Accounts whose invoice failed with an error; the next run tries them again."),
    )
    batches_total = models.PositiveIntegerField(_("batches"), default=0)
    started_by = models.CharField(_("started by"), max_length=254, blank=True)
    started_at = models.DateTimeField(_("started"), auto_now_add=True)
    finished_at = models.DateTimeField(_("finished"), null=True, blank=True)

    class Meta:
        verbose_name = _("billing run")
        verbose_name_plural = _("billing runs")
        ordering = ["-period"]

    def __str__(self) -> str:
        return f"{self.period:%Y-%m}"


class BillingRunItem(models.Model):
    """What the run did with one account (one row per run and account, rewritten when a resumed
    or re-delivered batch handles the account again): the run's progress is counted from these."""

    class Outcome(models.TextChoices):
        ISSUED = "issued", _("Issued")
        HELD = "held", _("Held")
        NOTHING = "nothing", _("Nothing to invoice")
        FAILED = "failed", _("Failed")

    run = models.ForeignKey(BillingRun, on_delete=models.CASCADE, related_name="items", verbose_name=_("billing run"))
    account = models.ForeignKey(BillingAccount, on_delete=models.CASCADE, related_name="+", verbose_name=_("billing account"))
    outcome = models.CharField(_("outcome"), max_length=20, choices=Outcome.choices)
    error = models.TextField(_("error"), blank=True)
    finished_at = models.DateTimeField(_("finished"), default=timezone.now)

    class Meta:
        verbose_name = _("billing run account")
        verbose_name_plural = _("billing run accounts")
        constraints = [models.UniqueConstraint(fields=["run", "account"], name="billing_run_item_uniq")]

    def __str__(self) -> str:
        return f"{self.run} {self.account_id}: {self.outcome}"


class InvoiceHold(models.Model):
    """An invoice the monthly run did not issue, and what must be fixed before it can be.

    Open while ``released_at`` is empty; the run issues the invoice (and releases the hold) once
    the cause is gone, e.g. after the buyer's address was completed.
    """

    class Reason(models.TextChoices):
        BUYER_ADDRESS_INCOMPLETE = "buyer_address_incomplete", _("Buyer name or address incomplete")

    account = models.ForeignKey(BillingAccount, verbose_name=_("account"), on_delete=models.PROTECT, related_name="invoice_holds")
    period = models.DateField(_("period (first of month)"))
    reason = models.CharField(_("reason"), max_length=40, choices=Reason.choices)
    missing = models.JSONField(_("missing fields"), default=list, blank=True)
    gross_cents = models.BigIntegerField(_("invoice amount (cents, gross)"), default=0)
    created_at = models.DateTimeField(_("held since"), auto_now_add=True)
    updated_at = models.DateTimeField(_("last checked"), auto_now=True)
    released_at = models.DateTimeField(_("released"), null=True, blank=True)

    class Meta:
        verbose_name = _("invoice hold")
        verbose_name_plural = _("invoice holds")
        ordering = ["-period", "account"]
        constraints = [models.UniqueConstraint(fields=["account", "period"], name="billing_one_hold_per_period")]

    def __str__(self) -> str:
        return f"{self.account} {self.period:%Y-%m}"

    @property
    def missing_labels(self) -> list[str]:
        labels: dict[str, Any] = {field.name: field.verbose_name for field in BillingAccount._meta.fields}
        labels["name"] = _("company name")
        return [str(labels.get(name, name)) for name in self.missing]

    @property
    def explanation(self) -> str:
        from billing.money import format_eur

        return str(_("Invoice of %(amount)s not issued: above 250 € §14 Abs. 4 Nr. 1 UStG requires the buyer's "
                     "full name and address. Missing: %(missing)s.")) % {
            "amount": format_eur(self.gross_cents), "missing": ", ".join(self.missing_labels)}


class CommissionRecord(models.Model):
    """A reseller's commission on one tenant's paid revenue in one month."""

    reseller = models.ForeignKey(Reseller, verbose_name=_("reseller"), on_delete=models.PROTECT, related_name="commissions")
    account = models.ForeignKey(BillingAccount, verbose_name=_("account"), on_delete=models.PROTECT, related_name="commissions")
    period = models.DateField(_("period (first of month)"))
    revenue_net_cents = models.BigIntegerField(_("paid revenue (cents, net)"))
    rate = models.DecimalField(_("rate"), max_digits=5, decimal_places=4)
    commission_cents = models.BigIntegerField(_("commission (cents)"))
    created_at = models.DateTimeField(_("created"), auto_now_add=True)

    class Meta:
        verbose_name = _("commission")
        verbose_name_plural = _("commissions")
        ordering = ["-period", "reseller"]
        constraints = [models.UniqueConstraint(fields=["reseller", "account", "period"], name="billing_commission_once")]

    def __str__(self) -> str:
        return f"{self.reseller} {self.account} {self.period:%Y-%m}"
