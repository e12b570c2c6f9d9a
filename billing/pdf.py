"""Invoice and receipt PDFs: WeasyPrint (PDF/A-3b) from templates/billing/, with the invoice's
Factur-X (EN 16931, CII) XML embedded so the PDF is a ZUGFeRD/Factur-X e-invoice."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import facturx
from django.core.files.base import ContentFile
from django.template.loader import render_to_string
from weasyprint import HTML

from billing.invoicing import buyer_snapshot, seller_snapshot
from billing.models import Invoice, Topup


def _eur(cents: int | Decimal, places: int = 2) -> str:
    return f"{(Decimal(cents) / Decimal(100)):.{places}f}"


def invoice_context(invoice: Invoice) -> dict[str, Any]:
    lines = list(invoice.lines.order_by("position"))
    for line in lines:
        line.unit_price_eur = _eur(line.unit_price_cents, 4)  # type: ignore[attr-defined]
        line.net_eur = _eur(line.net_cents)  # type: ignore[attr-defined]
    return {
        "invoice": invoice, "lines": lines, "seller": invoice.seller, "buyer": invoice.buyer,
        "tax_category": "AE" if invoice.reverse_charge else "S",
        "totals": {
            "net": _eur(invoice.net_cents), "vat": _eur(invoice.vat_cents), "gross": _eur(invoice.gross_cents),
            "prepaid": _eur(invoice.prepaid_cents), "due": _eur(invoice.amount_due_cents),
        },
    }


def factur_x_xml(invoice: Invoice) -> bytes:
    return render_to_string("billing/factur-x.xml", invoice_context(invoice)).encode("utf-8")


def render_invoice_pdf(invoice: Invoice) -> bytes:
    """The invoice as PDF/A-3b with its Factur-X XML attached (XSD-checked)."""
    context = invoice_context(invoice)
    pdf = HTML(string=render_to_string("billing/invoice.html", context)).write_pdf(pdf_variant="pdf/a-3b")
    return bytes(facturx.generate_from_binary(
        pdf, factur_x_xml(invoice), flavor="factur-x", level="en16931", check_xsd=True,
        pdf_metadata={"author": invoice.seller.get("name", ""), "title": f"Rechnung {invoice.number}",
                      "subject": f"Rechnung {invoice.number}", "keywords": "Factur-X, Rechnung"},
        lang="de-DE",
    ))


def store_invoice_pdf(invoice: Invoice) -> Invoice:
    """Render once and store under MEDIA_ROOT/invoices/<year>/<number>.pdf."""
    content = render_invoice_pdf(invoice)
    invoice.pdf.save(f"{invoice.number}.pdf", ContentFile(content), save=False)
    Invoice.objects.filter(pk=invoice.pk).update(pdf=invoice.pdf.name)
    return invoice


def render_receipt_pdf(topup: Topup) -> bytes:
    """Payment confirmation (Quittung) of a completed top-up; not a VAT invoice."""
    html = render_to_string("billing/receipt.html", {
        "topup": topup, "seller": seller_snapshot(), "buyer": buyer_snapshot(topup.account),
        "completed_at": topup.completed_at or topup.created_at,
    })
    return bytes(HTML(string=html).write_pdf())
