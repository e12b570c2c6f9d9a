"""Monthly usage invoices, gapless numbering, invoice status changes and reseller commissions.

Money model (docs/billing.md): the prepaid balance is a payment instrument; calls are debited
gross (net + VAT) as they happen; the monthly run debits phone-booking and base fees, books the
VAT rounding difference so the ledger matches the invoice to the cent, and issues one invoice
that deducts what the balance settled. Only a part not covered by the balance is due.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Count, Q, Sum
from django.utils import timezone
from django.utils.translation import gettext as _
from django_tenants.utils import tenant_context

from askpro import hooks
from billing import ledger
from billing.errors import BuyerAddressIncomplete, InvalidInvoiceState, PeriodNotFinished
from billing.events import InvoiceIssued
from billing.models import (
    BillingAccount,
    BillingRun,
    CommissionRecord,
    Invoice,
    InvoiceHold,
    InvoiceLine,
    MonthlyCostReport,
    PlatformCost,
    Transaction,
    UsageRecord,
)
from billing.money import Period, format_eur, round_cents, vat_of, vat_rate_for

logger = logging.getLogger(__name__)

# §33 UStDV: invoices up to 250 EUR gross (Kleinbetragsrechnung) need fewer fields; above it
# §14 Abs. 4 Nr. 1 UStG requires the buyer's full name and address.
SMALL_AMOUNT_LIMIT_CENTS = 25000

MONTHS_DE = ["Januar", "Februar", "März", "April", "Mai", "Juni", "Juli", "August", "September", "Oktober", "November", "Dezember"]


def local_today() -> date:
    return timezone.localdate()


def next_invoice_number(year: int) -> str:
    """Take the next number of ``year`` (row-locked counter: gapless, rolled back with the caller)."""
    # One round trip: the upsert creates the year's row or increments it, and holds its row lock
    # until the caller's transaction ends (so numbers stay gapless and roll back with the invoice).
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO billing_invoicenumbercounter (year, last_number) VALUES (%s, 1) "
            "ON CONFLICT (year) DO UPDATE SET last_number = billing_invoicenumbercounter.last_number + 1 "
            "RETURNING last_number",
            [year],
        )
        (last_number,) = cursor.fetchone()
    return f"{settings.BILLING_INVOICE_PREFIX}-{year}-{last_number:06d}"


def phone_bookings(account: BillingAccount, period: Period) -> int:
    """Appointments the voice agent booked in the period, from the account's start on (read in
    the tenant's schema)."""
    from datetime import datetime, time

    from appointments.models import Appointment

    start, end = period.bounds(account.tenant.tzinfo)
    start = max(start, datetime.combine(account.billing_starts_on, time.min, tzinfo=account.tenant.tzinfo))
    if start >= end:
        return 0
    with tenant_context(account.tenant):
        return Appointment.objects.filter(source="phone", created_at__gte=start, created_at__lt=end).count()


def seller_snapshot() -> dict[str, str]:
    return dict(settings.BILLING_SELLER)


def buyer_snapshot(account: BillingAccount) -> dict[str, str]:
    return {
        "name": account.display_name, "street": account.street, "postal_code": account.postal_code,
        "city": account.city, "country": account.country, "vat_id": account.vat_id,
        "tax_number": account.tax_number, "email": account.billing_email, "tenant": account.tenant.slug,
    }


@dataclass(frozen=True)
class _Line:
    description: str
    quantity: Decimal
    unit: str
    unit_price_cents: Decimal
    net_cents: int


def _period_text(period: Period) -> str:
    return f"{period.first:%d.%m.}–{period.last:%d.%m.%Y}"


def _priced(description: str, quantity: Decimal, unit: str, unit_price_cents: Decimal) -> _Line:
    """A line whose net is quantity x unit price, rounded half up to cents (EN 16931: BT-131 =
    BT-129 x BT-146), so the PDF and the Factur-X XML add up whatever the ledger booked."""
    return _Line(description, quantity, unit, unit_price_cents, round_cents(quantity * unit_price_cents))


def base_fee_line(account: BillingAccount, period: Period) -> _Line | None:
    """The plan's base fee for the period: none before the account's start, pro rata by days in
    the month it starts (quantity in days, unit price = fee / days of the month), else one month."""
    fee = account.plan.monthly_base_fee_cents
    starts = account.billing_starts_on
    if not fee or starts > period.last:
        return None
    month = f"{MONTHS_DE[period.first.month - 1]} {period.first.year}"
    if starts <= period.first:
        return _priced(f"Grundgebühr {month}, Tarif {account.plan.name}", Decimal(1), "MON", Decimal(fee))
    days_in_month = period.last.day
    days = (period.last - starts).days + 1
    unit_price = (Decimal(fee) / Decimal(days_in_month)).quantize(Decimal("0.0001"))
    return _priced(
        f"Grundgebühr {month} anteilig {starts:%d.%m.}–{period.last:%d.%m.%Y} ({days} von {days_in_month} Tagen), "
        f"Tarif {account.plan.name}",
        Decimal(days), "DAY", unit_price,
    )


def create_usage_invoice(account_id: int, period: Period, *, issue_date: date | None = None) -> tuple[Invoice | None, bool]:
    """Issue the month's invoice once per account (returns it and whether it was created now).

    Charges booking and base fees to the ledger, books the VAT rounding difference, numbers the
    invoice gaplessly and leaves it ``paid`` when the balance covered it, else ``open``.
    Nothing to invoice (no usage, no fees) returns ``(None, False)``.
    """
    issue_date = issue_date or local_today()
    if issue_date < period.last:
        raise PeriodNotFinished(details={"period": str(period)})
    try:
        return _issue_usage_invoice(account_id, period, issue_date)
    except BuyerAddressIncomplete as exc:
        hold_invoice(account_id, period, missing=exc.details["missing"], gross_cents=exc.details["gross_cents"])
        raise


def hold_invoice(account_id: int, period: Period, *, missing: list[str], gross_cents: int) -> InvoiceHold:
    """Record (or refresh) why the period's invoice of this account was not issued."""
    hold, _created = InvoiceHold.objects.update_or_create(
        account_id=account_id, period=period.first,
        defaults={"reason": InvoiceHold.Reason.BUYER_ADDRESS_INCOMPLETE, "missing": missing,
                  "gross_cents": gross_cents, "released_at": None},
    )
    logger.warning("invoice of account %s for %s held: buyer %s missing (%s cents)", account_id, period,
                   ", ".join(missing), gross_cents)
    return hold


def open_hold(account_id: int, period: Period) -> InvoiceHold | None:
    return InvoiceHold.objects.filter(account_id=account_id, period=period.first, released_at=None).first()


def _issue_usage_invoice(account_id: int, period: Period, issue_date: date) -> tuple[Invoice | None, bool]:
    with transaction.atomic():
        account = ledger.lock_account(account_id)
        existing = Invoice.objects.filter(account=account, period=period.first).order_by("-pk").first()
        if existing is not None:
            return existing, False
        plan = account.plan
        reverse_charge = account.reverse_charge
        rate = vat_rate_for(reverse_charge)
        lines: list[_Line] = []
        usage_gross = 0
        for row in (
            UsageRecord.objects.filter(account=account, period=period.first)
            .values("price_per_minute_cents")
            .annotate(billed=Sum("billed_seconds"), included=Sum("included_seconds"), net=Sum("net_cents"), gross=Sum("amount_cents"))
            .order_by("price_per_minute_cents")
        ):
            usage_gross += row["gross"]
            charged_seconds = row["billed"] - row["included"]
            minutes = (Decimal(charged_seconds) / Decimal(60)).quantize(Decimal("0.01"))
            if row["included"]:
                included_minutes = (Decimal(row["included"]) / Decimal(60)).quantize(Decimal("0.01"))
                lines.append(_Line(
                    f"Gesprächsminuten {_period_text(period)}, im Tarif enthalten",
                    included_minutes, "MIN", Decimal(0), 0,
                ))
            if charged_seconds:
                # The tariff is the unit price; the line net is minutes x tariff. The calls were
                # debited one by one (each rounded), the difference is booked below with the VAT's.
                lines.append(_priced(
                    f"Gesprächsminuten {_period_text(period)}",
                    minutes, "MIN", Decimal(row["price_per_minute_cents"]),
                ))
        fee_gross = 0
        if plan.booking_fee_cents:
            bookings = phone_bookings(account, period)
            if bookings:
                net = bookings * plan.booking_fee_cents
                lines.append(_Line(
                    f"Telefonisch gebuchte Termine {_period_text(period)}",
                    Decimal(bookings), "C62", Decimal(plan.booking_fee_cents), net,
                ))
                gross = net + vat_of(net, rate)
                ledger.post(
                    account, kind=Transaction.Kind.USAGE, amount_cents=-gross,
                    idempotency_key=f"bookings:{account.pk}:{period}", reference_type="period", reference_id=str(period),
                    description=_("%(count)s phone bookings %(period)s") % {"count": bookings, "period": period},
                )
                fee_gross += gross
        base_fee = base_fee_line(account, period)
        if base_fee is not None:
            lines.append(base_fee)
            net = base_fee.net_cents
            gross = net + vat_of(net, rate)
            ledger.post(
                account, kind=Transaction.Kind.USAGE, amount_cents=-gross,
                idempotency_key=f"basefee:{account.pk}:{period}", reference_type="period", reference_id=str(period),
                description=_("Base fee %(period)s") % {"period": period},
            )
            fee_gross += gross
        if not lines:
            return None, False

        net_total = sum(line.net_cents for line in lines)
        vat_total = vat_of(net_total, rate)
        gross_total = net_total + vat_total
        missing = account.missing_buyer_fields()
        if gross_total > SMALL_AMOUNT_LIMIT_CENTS and missing:
            # Not issued: everything above (fees) rolls back; the hold is recorded after the rollback.
            raise BuyerAddressIncomplete(details={"account_id": account.pk, "period": str(period),
                                                  "gross_cents": gross_total, "missing": missing})
        InvoiceHold.objects.filter(account=account, period=period.first, released_at=None).update(
            released_at=timezone.now())
        invoice = Invoice.objects.create(
            account=account, period=period.first, service_start=period.first, service_end=period.last,
            net_cents=net_total, vat_rate=rate, vat_cents=vat_total, gross_cents=gross_total,
            reverse_charge=reverse_charge, seller=seller_snapshot(), buyer=buyer_snapshot(account),
        )
        InvoiceLine.objects.bulk_create([
            InvoiceLine(invoice=invoice, position=index, description=line.description, quantity=line.quantity,
                        unit=line.unit, unit_price_cents=line.unit_price_cents, net_cents=line.net_cents)
            for index, line in enumerate(lines, start=1)
        ])
        difference = gross_total - (usage_gross + fee_gross)
        if difference:
            ledger.post(
                account, kind=Transaction.Kind.ADJUSTMENT, amount_cents=-difference,
                idempotency_key=f"vat-rounding:{invoice.pk}", reference_type="invoice", reference_id=str(invoice.pk),
                description=_("Rounding difference to the invoice"),
            )
        debt = max(0, -account.balance_cents)
        open_elsewhere = Invoice.objects.filter(
            account=account, status__in=[Invoice.Status.OPEN, Invoice.Status.OVERDUE]
        ).exclude(pk=invoice.pk).aggregate(total=Sum("amount_due_cents"))["total"] or 0
        amount_due = min(gross_total, max(0, debt - open_elsewhere))
        invoice.prepaid_cents = gross_total - amount_due
        invoice.amount_due_cents = amount_due
        # Numbering last: the year's counter row stays locked only for the end of this transaction.
        invoice.number = next_invoice_number(issue_date.year)
        invoice.issue_date = issue_date
        invoice.due_date = issue_date + timedelta(days=settings.BILLING_PAYMENT_TERMS_DAYS)
        if amount_due:
            invoice.status = Invoice.Status.OPEN
        else:
            invoice.status, invoice.paid_at = Invoice.Status.PAID, timezone.now()
        invoice.save()
    return invoice, True


def invoice_account(account_id: int, period: Period, *, issue_date: date | None = None) -> Invoice | None:
    """The run's unit of work: issue the invoice if missing, render its PDF if missing, announce it."""
    from billing import pdf

    try:
        invoice, _created = create_usage_invoice(account_id, period, issue_date=issue_date)
    except BuyerAddressIncomplete:
        invoice = None  # recorded as an InvoiceHold; the run goes on with the other accounts
    if invoice is not None and not invoice.pdf:
        pdf.store_invoice_pdf(invoice)
        hooks.emit(InvoiceIssued(
            tenant_id=invoice.account.tenant_id, invoice_id=invoice.pk, number=str(invoice.number),
            gross_cents=invoice.gross_cents, amount_due_cents=invoice.amount_due_cents,
        ))
    build_cost_report(account_id, period)
    return invoice


def build_cost_report(account_id: int, period: Period) -> MonthlyCostReport:
    """(Re)build the month's revenue, provider costs by service and margin for one account."""
    usage = UsageRecord.objects.filter(account_id=account_id, period=period.first).aggregate(
        seconds=Sum("duration_seconds"), net=Sum("net_cents"), calls=Count("pk"),
    )
    invoice = Invoice.objects.filter(account_id=account_id, period=period.first).exclude(status=Invoice.Status.VOID).first()
    revenue = invoice.net_cents if invoice is not None else int(usage["net"] or 0)
    breakdown = {
        row["service_type"]: int(row["total"])
        for row in PlatformCost.objects.filter(account_id=account_id, period=period.first)
        .values("service_type").annotate(total=Sum("cost_cents")).order_by("service_type")
    }
    total_cost = sum(breakdown.values())
    report, _created = MonthlyCostReport.objects.update_or_create(
        account_id=account_id, period=period.first,
        defaults={
            "call_count": usage["calls"],
            "call_seconds": int(usage["seconds"] or 0), "revenue_net_cents": revenue,
            "total_cost_cents": total_cost, "margin_cents": revenue - total_cost, "cost_breakdown": breakdown,
        },
    )
    return report


def start_billing_run(period: Period, *, started_by: str = "") -> tuple[BillingRun, list[int]]:
    """Open (or resume) the period's run; returns the accounts still without an invoice (or
    with an issued invoice whose PDF failed: the run renders it)."""
    if period.next.first > local_today():
        raise PeriodNotFinished(details={"period": str(period)})
    run, _created = BillingRun.objects.get_or_create(period=period.first)
    done = Invoice.objects.filter(period=period.first).filter(
        ~Q(pdf="") | Q(status=Invoice.Status.VOID)).values_list("account_id", flat=True)
    todo = list(BillingAccount.objects.exclude(pk__in=done).order_by("pk").values_list("pk", flat=True))
    BillingRun.objects.filter(pk=run.pk).update(
        accounts_total=BillingAccount.objects.count(),
        status=BillingRun.Status.RUNNING if todo else BillingRun.Status.DONE,
        **({"started_by": started_by} if started_by else {}),
    )
    return run, todo


def finish_billing_run(period: Period) -> BillingRun:
    """Record the run's totals and mark it done when every account is handled."""
    run = BillingRun.objects.get(period=period.first)
    created = Invoice.objects.filter(period=period.first).exclude(status=Invoice.Status.VOID).count()
    run.invoices_created = created
    run.invoices_held = InvoiceHold.objects.filter(period=period.first, released_at=None).count()
    run.status = BillingRun.Status.DONE
    run.finished_at = timezone.now()
    run.save()
    calculate_commissions(period)
    return run


# --- status changes -------------------------------------------------------------------------


def mark_invoice_paid(invoice: Invoice, *, actor: str, method: str = "bank_transfer") -> Invoice:
    """An open amount arrived outside Stripe: credit it to the balance and close the invoice."""
    with transaction.atomic():
        locked = Invoice.objects.select_for_update().get(pk=invoice.pk)
        if locked.status == Invoice.Status.PAID:
            return locked
        if locked.status not in {Invoice.Status.OPEN, Invoice.Status.OVERDUE, Invoice.Status.UNCOLLECTIBLE}:
            raise InvalidInvoiceState(details={"status": locked.status})
        account = ledger.lock_account(locked.account_id)
        if locked.amount_due_cents:
            ledger.post(
                account, kind=Transaction.Kind.TOPUP, amount_cents=locked.amount_due_cents,
                idempotency_key=f"invoice-paid:{locked.pk}", reference_type="invoice", reference_id=str(locked.pk),
                description=_("Payment of invoice %(number)s (%(method)s)") % {"number": locked.number, "method": method},
                actor=actor,
            )
        locked.status, locked.paid_at = Invoice.Status.PAID, timezone.now()
        locked.save(update_fields=["status", "paid_at"])
    return locked


def void_invoice(invoice: Invoice, *, actor: str) -> Invoice:
    """Cancel an issued invoice (Storno): the number stays used, the period's charges are credited
    back, and the monthly run does not invoice the period again (an operator issues a correction)."""
    with transaction.atomic():
        locked = Invoice.objects.select_for_update().get(pk=invoice.pk)
        if locked.status == Invoice.Status.VOID:
            return locked
        account = ledger.lock_account(locked.account_id)
        ledger.post(
            account, kind=Transaction.Kind.REVERSAL, amount_cents=locked.gross_cents,
            idempotency_key=f"invoice-void:{locked.pk}", reference_type="invoice", reference_id=str(locked.pk),
            description=_("Cancellation of invoice %(number)s") % {"number": locked.number}, actor=actor,
        )
        locked.status, locked.voided_at = Invoice.Status.VOID, timezone.now()
        locked.save(update_fields=["status", "voided_at"])
    return locked


def mark_overdue_invoices(today: date | None = None) -> int:
    """Open invoices past their due date become overdue."""
    today = today or local_today()
    return Invoice.objects.filter(status=Invoice.Status.OPEN, due_date__lt=today).update(status=Invoice.Status.OVERDUE)


def mark_uncollectible(invoice: Invoice) -> Invoice:
    with transaction.atomic():
        locked = Invoice.objects.select_for_update().get(pk=invoice.pk)
        if locked.status not in {Invoice.Status.OPEN, Invoice.Status.OVERDUE}:
            raise InvalidInvoiceState(details={"status": locked.status})
        locked.status = Invoice.Status.UNCOLLECTIBLE
        locked.save(update_fields=["status"])
    return locked


# --- resellers ------------------------------------------------------------------------------


def calculate_commissions(period: Period) -> int:
    """Commission records for the period from paid invoices of reseller-owned accounts (idempotent)."""
    created = 0
    invoices = Invoice.objects.filter(
        period=period.first, status=Invoice.Status.PAID, account__reseller__isnull=False
    ).select_related("account__reseller")
    for invoice in invoices:
        reseller = invoice.account.reseller
        assert reseller is not None
        commission = int((Decimal(invoice.net_cents) * reseller.commission_rate).quantize(Decimal("1")))
        _record, was_created = CommissionRecord.objects.get_or_create(
            reseller=reseller, account=invoice.account, period=period.first,
            defaults={"revenue_net_cents": invoice.net_cents, "rate": reseller.commission_rate, "commission_cents": commission},
        )
        created += int(was_created)
    return created


def commissions_csv(period: Period) -> str:
    """Semicolon CSV (German Excel) of the period's commissions, one row per reseller and tenant."""
    import csv
    import io

    out = io.StringIO()
    writer = csv.writer(out, delimiter=";", lineterminator="\n")
    writer.writerow(["Zeitraum", "Reseller", "Tenant", "Umsatz netto", "Satz", "Provision", "IBAN"])
    for record in CommissionRecord.objects.filter(period=period.first).select_related("reseller", "account__tenant").order_by("reseller__name", "account__tenant__name"):
        writer.writerow([
            str(period), record.reseller.name, record.account.tenant.name,
            format_eur(record.revenue_net_cents).replace(" €", ""), f"{record.rate * 100:.2f} %".replace(".", ","),
            format_eur(record.commission_cents).replace(" €", ""), record.reseller.payout_iban,
        ])
    return out.getvalue()
