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
from weasyprint import CSS, HTML, Attachment
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
def _factur_x_xmp() -> bytes:
    """The Factur-X part of the XMP (the fx: PDF/A extension schema and the fx: properties) as one
    rdf:RDF fragment; WeasyPrint writes it into the same XMP packet as its PDF/A-3b identification."""
    from facturx.facturx import generate_xmp_bytes

    xmp = etree.fromstring(generate_xmp_bytes("factur-x", "en16931", None, {
        "author": "", "title": "", "subject": "", "keywords": ""}).split(b"?>", 1)[1].rsplit(b"<?xpacket", 1)[0])
    rdf = "http://www.w3.org/1999/02/22-rdf-syntax-ns#"
    fragment = etree.Element(f"{{{rdf}}}RDF", nsmap={"rdf": rdf})
    for description in xmp.iter(f"{{{rdf}}}Description"):
        if any(etree.QName(child).namespace in (
                "http://www.aiim.org/pdfa/ns/extension/", "urn:factur-x:pdfa:CrossIndustryDocument:invoice:1p0#")
               for child in description):
            description.set(f"{{{rdf}}}about", "")
            fragment.append(description)
    return etree.tostring(fragment)


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
    xml = render_to_string("billing/factur-x.xml", context).encode("utf-8")  # same context: lines read once
    check_factur_x_xml(xml)
    # One PDF write: WeasyPrint embeds the XML (AFRelationship /Data, in the catalog's /AF) and the
    # fx: XMP itself, instead of facturx re-writing the whole PDF with pypdf (~13 ms per invoice).
    attachment = Attachment(string=xml, name="factur-x.xml", relationship="Data",
                            description="Factur-X Invoice")
    with _render_lock:
        document = HTML(string=html).render(stylesheets=[_invoice_stylesheet()], font_config=_font_config())
        document.metadata.title = f"Rechnung {invoice.number}"
        document.metadata.description = f"Rechnung {invoice.number}"
        document.metadata.authors = [invoice.seller.get("name", "")]
        document.metadata.keywords = ["Factur-X", "Rechnung"]
        document.metadata.lang = "de-DE"
        document.metadata.xmp_metadata.append(_factur_x_xmp())
        return bytes(document.write_pdf(pdf_variant="pdf/a-3b", attachments=[attachment]))


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
