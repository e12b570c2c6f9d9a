"""A DATEV-style booking batch (Buchungsstapel) as CSV: issued invoices and completed top-ups.

SKR03 accounts; adjust with the tax adviser. Amounts are positive with Soll/Haben flag, decimal
comma, semicolon separated, Belegdatum as DDMM, as DATEV's ASCII import expects.
"""

from __future__ import annotations

import csv
import io
import zoneinfo

from django.conf import settings

from billing.models import Invoice, Topup
from billing.money import Period

REVENUE_DOMESTIC = "8400"        # Erlöse 19 % USt
REVENUE_REVERSE_CHARGE = "8338"  # Erlöse aus im anderen EU-Land steuerpflichtigen sonstigen Leistungen
PAYMENT_CLEARING = "1360"        # Geldtransit (Stripe)
DEBTOR_BASE = 10000              # Debitorenkonto = 10000 + account id

HEADER = ["Umsatz (ohne Soll/Haben-Kz)", "Soll/Haben-Kennzeichen", "WKZ Umsatz", "Konto",
          "Gegenkonto (ohne BU-Schlüssel)", "BU-Schlüssel", "Belegdatum", "Belegfeld 1", "Buchungstext"]


def _amount(cents: int) -> str:
    return f"{abs(cents) // 100},{abs(cents) % 100:02d}"


def export_period(period: Period) -> str:
    out = io.StringIO()
    writer = csv.writer(out, delimiter=";", lineterminator="\r\n")
    writer.writerow(HEADER)
    tz = settings.TIME_ZONE
    invoices = (
        Invoice.objects.filter(issue_date__gte=period.first, issue_date__lte=period.last, number__isnull=False)
        .select_related("account__tenant").order_by("number")
    )
    for invoice in invoices:
        revenue = REVENUE_REVERSE_CHARGE if invoice.reverse_charge else REVENUE_DOMESTIC
        assert invoice.issue_date is not None
        writer.writerow([
            _amount(invoice.gross_cents), "S", invoice.currency, str(DEBTOR_BASE + invoice.account_id), revenue, "",
            f"{invoice.issue_date:%d%m}", invoice.number, f"Rechnung {invoice.account.display_name}"[:60],
        ])
        if invoice.status == Invoice.Status.VOID:
            writer.writerow([
                _amount(invoice.gross_cents), "H", invoice.currency, str(DEBTOR_BASE + invoice.account_id), revenue, "",
                f"{invoice.issue_date:%d%m}", invoice.number, f"Storno {invoice.number}"[:60],
            ])
    start, end = period.bounds(zoneinfo.ZoneInfo(tz))
    topups = (
        Topup.objects.filter(status=Topup.Status.SUCCEEDED, completed_at__gte=start, completed_at__lt=end)
        .select_related("account__tenant").order_by("completed_at", "pk")
    )
    for topup in topups:
        assert topup.completed_at is not None
        local = topup.completed_at.astimezone(start.tzinfo)
        writer.writerow([
            _amount(topup.amount_cents), "S", topup.currency, PAYMENT_CLEARING, str(DEBTOR_BASE + topup.account_id), "",
            f"{local:%d%m}", topup.receipt_number, f"Guthabenaufladung {topup.account.display_name}"[:60],
        ])
    return out.getvalue()
