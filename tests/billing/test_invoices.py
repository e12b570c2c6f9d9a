from __future__ import annotations

import io
import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, date, datetime, timedelta

import facturx
import pytest
from django.db import connection, connections
from django_tenants.utils import tenant_context
from lxml import etree
from pypdf import PdfReader

from billing import invoicing, pdf, services
from billing.errors import PeriodNotFinished
from billing.models import (
    BillingAccount,
    CommissionRecord,
    Invoice,
    InvoiceNumberCounter,
    MonthlyCostReport,
    PricingPlan,
    Reseller,
    Transaction,
)
from billing.money import Period, format_eur
from notifications.models import NotificationDelivery, NotificationSettings
from tenants.models import Tenant
from tests.fixtures.billing import fund, make_account
from tests.fixtures.hooks import deliver_outbox

OCTOBER = Period.parse("2026-10")
ISSUED = date(2026, 11, 2)


@pytest.fixture
def full_plan(db):
    """30 ct/min per second, 19 EUR base fee, 40 ct per phone booking."""
    return PricingPlan.objects.create(
        name="Komfort", price_per_minute_cents=30, monthly_base_fee_cents=1900, booking_fee_cents=40
    )


def book_by_phone(tenant, count, created_at):
    from appointments.models import Appointment, Branch, Customer, Service, Staff

    with tenant_context(tenant):
        branch = Branch.objects.create(name="Mitte")
        service = Service.objects.create(name="Haarschnitt", duration_minutes=30)
        staff = Staff.objects.create(name="Anna")
        customer = Customer.objects.create(name="Erika Mustermann", phone="+4915112345678")
        for index in range(count):
            start = created_at + timedelta(days=3, hours=index)
            Appointment.objects.create(
                customer=customer, service=service, staff=staff, branch=branch, starts_at=start,
                ends_at=start + timedelta(minutes=30), source="phone",
            )
        Appointment.objects.create(
            customer=customer, service=service, staff=staff, branch=branch, starts_at=created_at,
            ends_at=created_at + timedelta(minutes=30), source="admin",
        )
        Appointment.objects.update(created_at=created_at)


def october_usage(tenant, calls=6, seconds=95):
    for index in range(calls):
        services.record_call_usage(
            tenant=tenant, call_id=f"{tenant.slug}-oct-{index}", duration_seconds=seconds,
            provider_cost_cents=7, ended_at=datetime(2026, 10, 10 + index, 9, tzinfo=UTC),
        )


@pytest.fixture
def salon_october(salon, full_plan):
    account = make_account(salon, full_plan)
    fund(account, 10000)
    october_usage(salon)
    book_by_phone(salon, 3, datetime(2026, 10, 20, 10, tzinfo=UTC))
    return account


def test_the_monthly_invoice_has_exact_lines_vat_and_matches_the_ledger_to_the_cent(salon_october):
    # when
    invoice, created = invoicing.create_usage_invoice(salon_october.pk, OCTOBER, issue_date=ISSUED)

    # then: 6 x 95 s = 9.5 min x 0,30 € = 285 ct (the tariff is the unit price), 3 bookings = 120 ct,
    # base fee 1900 ct
    assert created is True
    lines = list(invoice.lines.values_list("description", "quantity", "unit", "unit_price_cents", "net_cents"))
    assert [(d, str(q), u, str(p), n) for d, q, u, p, n in lines] == [
        ("Gesprächsminuten 01.10.–31.10.2026", "9.50", "MIN", "30.0000", 285),
        ("Telefonisch gebuchte Termine 01.10.–31.10.2026", "3.00", "C62", "40.0000", 120),
        ("Grundgebühr Oktober 2026, Tarif Komfort", "1.00", "MON", "1900.0000", 1900),
    ]
    assert (invoice.net_cents, invoice.vat_cents, invoice.gross_cents) == (2305, 438, 2743)  # 437.95 -> 438
    assert (invoice.prepaid_cents, invoice.amount_due_cents, invoice.status) == (2743, 0, "paid")
    assert invoice.number == "AP-2026-000001"
    assert (invoice.issue_date, invoice.due_date) == (ISSUED, date(2026, 11, 16))
    # the ledger: calls 6 x 57 (48 ct net each, rounded per call), bookings 143, base 2261, and 3 ct
    # rounding difference back so it equals the invoice
    salon_october.refresh_from_db()
    assert salon_october.balance_cents == 10000 - 2743
    kinds = list(Transaction.objects.filter(account=salon_october).exclude(kind="topup").order_by("id").values_list("kind", "amount_cents"))
    assert kinds == [("usage", -57)] * 6 + [("usage", -143), ("usage", -2261), ("adjustment", 3)]


def test_running_the_invoice_twice_creates_nothing_twice(salon_october):
    first, _ = invoicing.create_usage_invoice(salon_october.pk, OCTOBER, issue_date=ISSUED)
    ledger_rows = Transaction.objects.count()

    again, created = invoicing.create_usage_invoice(salon_october.pk, OCTOBER, issue_date=ISSUED)

    assert (again.pk, created) == (first.pk, False)
    assert Invoice.objects.count() == 1
    assert Transaction.objects.count() == ledger_rows
    assert InvoiceNumberCounter.objects.get(year=2026).last_number == 1


def test_the_uncovered_part_is_due_and_paying_it_closes_the_invoice(salon, full_plan):
    # given an account whose balance is 10 EUR before the run
    account = make_account(salon, full_plan)
    fund(account, 1000)
    october_usage(salon, calls=1, seconds=60)  # 30 net + 6 VAT = 36

    # when
    invoice, _ = invoicing.create_usage_invoice(account.pk, OCTOBER, issue_date=ISSUED)

    # then net 30 + 1900 = 1930, VAT 366.70 -> 367, gross 2297; balance 1000 - 2297 = -1297
    assert (invoice.gross_cents, invoice.amount_due_cents, invoice.prepaid_cents, invoice.status) == (2297, 1297, 1000, "open")

    # when the bank transfer arrives
    invoicing.mark_invoice_paid(invoice, actor="op@askpro.example")
    invoice.refresh_from_db()
    account.refresh_from_db()
    assert invoice.status == "paid" and account.balance_cents == 0


def test_a_stripe_top_up_that_clears_the_debt_settles_open_invoices(salon, full_plan):
    account = make_account(salon, full_plan)
    invoice, _ = invoicing.create_usage_invoice(account.pk, OCTOBER, issue_date=ISSUED)
    assert (invoice.status, invoice.amount_due_cents) == ("open", 2261)
    from billing.models import Topup

    Topup.objects.create(account=account, amount_cents=5000, stripe_payment_intent_id="pi_settle")

    services.complete_topup(payment_intent_id="pi_settle", amount_cents=5000)

    invoice.refresh_from_db()
    assert invoice.status == "paid"


def test_an_eu_business_with_a_verified_vat_id_gets_a_reverse_charge_invoice(salon, full_plan):
    account = make_account(salon, full_plan, company_name="Salon Wien GmbH", country="AT", vat_id="ATU12345678", vat_id_verified=True)
    fund(account, 5000)
    october_usage(salon, calls=2, seconds=60)

    invoice, _ = invoicing.create_usage_invoice(account.pk, OCTOBER, issue_date=ISSUED)

    assert invoice.reverse_charge is True
    assert (str(invoice.vat_rate), invoice.net_cents, invoice.vat_cents, invoice.gross_cents) == ("0.00", 1960, 0, 1960)
    account.refresh_from_db()
    assert account.balance_cents == 5000 - 1960


def test_a_month_without_usage_or_fees_is_not_invoiced(salon, standard_plan):
    account = make_account(salon, standard_plan)

    assert invoicing.create_usage_invoice(account.pk, OCTOBER, issue_date=ISSUED) == (None, False)
    assert Invoice.objects.count() == 0


def test_a_month_that_has_not_ended_cannot_be_invoiced(salon_october):
    with pytest.raises(PeriodNotFinished):
        invoicing.create_usage_invoice(salon_october.pk, OCTOBER, issue_date=date(2026, 10, 30))
    assert Invoice.objects.count() == 0


def pdf_text(content: bytes) -> str:
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(content)).pages)


def test_the_pdf_contains_every_field_paragraph_14_ustg_requires_and_a_valid_factur_x_xml(salon_october, settings):
    # given
    invoice, _ = invoicing.create_usage_invoice(salon_october.pk, OCTOBER, issue_date=ISSUED)

    # when
    content = pdf.render_invoice_pdf(invoice)

    # then
    text = pdf_text(content)
    for required in (
        "AskPro GmbH", "Musterstraße 1", "10115 Berlin",                 # seller name and address
        "Salon Schmidt GmbH", "Hauptstraße 5", "20095 Hamburg",          # buyer name and address
        "USt-IdNr.: DE123456789", "Steuernummer: 30/123/45678",           # seller tax numbers
        "Rechnungsdatum 02.11.2026",                                      # issue date
        "Rechnungsnummer AP-2026-000001",                                 # sequential number
        "Leistungszeitraum 01.10.2026 – 31.10.2026",                      # date of service
        "Gesprächsminuten 01.10.–31.10.2026", "9,50", "Telefonisch gebuchte Termine", "Grundgebühr Oktober 2026",
        "Summe netto 23,05 €",                                            # net by rate
        "Umsatzsteuer 19,00 % auf 23,05 € 4,38 €",                        # rate and tax amount
        "Rechnungsbetrag brutto 27,43 €",
        "abzüglich Vorauszahlung (aus Guthaben verrechnet) -27,43 €", "Zahlbetrag 0,00 €",
        "Fälligkeitsdatum 16.11.2026",
    ):
        assert required in text, required
    xml_filename, xml = facturx.get_xml_from_pdf(content, check_xsd=True)
    assert xml_filename == "factur-x.xml"
    assert facturx.get_level(etree.fromstring(xml)) == "en16931"
    assert b"<ram:GrandTotalAmount>27.43</ram:GrandTotalAmount>" in xml
    assert b"<ram:TaxTotalAmount currencyID=\"EUR\">4.38</ram:TaxTotalAmount>" in xml


def test_the_reverse_charge_pdf_names_the_reverse_charge_and_both_vat_ids(salon, full_plan):
    account = make_account(salon, full_plan, company_name="Salon Wien GmbH", country="AT", city="Wien", postal_code="1010", vat_id="ATU12345678", vat_id_verified=True)
    invoice, _ = invoicing.create_usage_invoice(account.pk, OCTOBER, issue_date=ISSUED)

    content = pdf.render_invoice_pdf(invoice)

    text = pdf_text(content)
    assert "Steuerschuldnerschaft des Leistungsempfängers" in text
    assert "USt-IdNr. des Leistenden: DE123456789" in text
    assert "USt-IdNr. des Leistungsempfängers: ATU12345678" in text
    assert "Umsatzsteuer 0 % 0,00 €" in text
    _name, xml = facturx.get_xml_from_pdf(content, check_xsd=True)
    assert b"<ram:CategoryCode>AE</ram:CategoryCode>" in xml and b"VATEX-EU-AE" in xml


def test_invoice_account_stores_the_pdf_and_announces_it_once(salon_october, billing_events, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        invoice = invoicing.invoice_account(salon_october.pk, OCTOBER, issue_date=ISSUED)
        invoicing.invoice_account(salon_october.pk, OCTOBER, issue_date=ISSUED)

    invoice.refresh_from_db()
    assert invoice.pdf.name == "invoices/2026/AP-2026-000001.pdf"
    assert invoice.pdf.read().startswith(b"%PDF")
    assert [(name, payload["number"]) for name, payload in billing_events] == [("billing.invoice_issued", "AP-2026-000001")]
    report = MonthlyCostReport.objects.get(account=salon_october, period=OCTOBER.first)
    assert (report.call_count, report.call_seconds, report.revenue_net_cents, report.total_cost_cents, report.margin_cents) == (6, 570, 2305, 42, 2263)
    assert report.cost_breakdown == {"retell": 42}


def test_an_issued_invoice_reaches_the_business_once_with_its_number_and_amount(salon_october, salon):
    # given
    with tenant_context(salon):
        NotificationSettings.objects.update_or_create(pk=1, defaults={"business_email": "buchhaltung@salon.example"})

    # when the monthly run issues the invoice (twice: a repeated run) and the outbox delivers
    invoice = invoicing.invoice_account(salon_october.pk, OCTOBER, issue_date=ISSUED)
    invoicing.invoice_account(salon_october.pk, OCTOBER, issue_date=ISSUED)
    deliver_outbox()

    # then one complete message, waiting for its worker (not held as incomplete)
    with tenant_context(salon):
        delivery = NotificationDelivery.objects.get()
    assert (delivery.event, delivery.recipient, delivery.status, delivery.error) == (
        "invoice_issued", "buchhaltung@salon.example", "pending", "")
    assert delivery.subject == "Neue Rechnung AP-2026-000001"
    assert f"Rechnung AP-2026-000001 über {format_eur(invoice.gross_cents)} erstellt" in delivery.body


def test_open_invoices_past_due_become_overdue_and_a_void_credits_the_charges_back(salon, full_plan):
    account = make_account(salon, full_plan)
    invoice, _ = invoicing.create_usage_invoice(account.pk, OCTOBER, issue_date=ISSUED)

    assert invoicing.mark_overdue_invoices(today=date(2026, 11, 16)) == 0
    assert invoicing.mark_overdue_invoices(today=date(2026, 11, 17)) == 1
    invoicing.void_invoice(invoice, actor="op@askpro.example")

    invoice.refresh_from_db()
    account.refresh_from_db()
    assert invoice.status == "void" and invoice.number == "AP-2026-000001"
    assert account.balance_cents == 0
    # the run does not invoice a voided period again
    _run, todo = invoicing.start_billing_run(OCTOBER)
    assert account.pk not in todo


def test_reseller_commissions_come_from_paid_revenue_and_export_as_csv(salon_october, physio, full_plan):
    reseller = Reseller.objects.create(name="Vertrieb Nord", commission_rate="0.2000", payout_iban="DE02100100100006820101")
    BillingAccount.objects.filter(pk=salon_october.pk).update(reseller=reseller)
    unpaid = make_account(physio, full_plan, reseller=reseller)
    invoicing.create_usage_invoice(salon_october.pk, OCTOBER, issue_date=ISSUED)
    invoicing.create_usage_invoice(unpaid.pk, OCTOBER, issue_date=ISSUED)  # open: no commission

    assert invoicing.calculate_commissions(OCTOBER) == 1
    assert invoicing.calculate_commissions(OCTOBER) == 0
    record = CommissionRecord.objects.get()
    assert (record.account_id, record.revenue_net_cents, record.commission_cents) == (salon_october.pk, 2305, 461)
    assert invoicing.commissions_csv(OCTOBER).splitlines() == [
        "Zeitraum;Reseller;Tenant;Umsatz netto;Satz;Provision;IBAN",
        "2026-10;Vertrieb Nord;Salon Schmidt;23,05;20,00 %;4,61;DE02100100100006820101",
    ]


@pytest.fixture
def many_accounts(committed_db):
    """Twelve schema-less tenants with October usage (the run needs no tenant schema without a booking fee)."""
    plan = PricingPlan.objects.create(name="Bulk", price_per_minute_cents=30, monthly_base_fee_cents=500)
    tenants = Tenant.objects.bulk_create([
        Tenant(schema_name=f"bulk_{index:03d}", name=f"Bulk {index}", slug=f"bulk-{index:03d}") for index in range(12)
    ])
    accounts = [make_account(tenant, plan) for tenant in tenants]
    yield accounts
    with connection.cursor() as cursor:
        cursor.execute("SELECT tablename FROM pg_tables WHERE schemaname = 'public' AND tablename LIKE 'billing%%'")
        tables = ", ".join(f'"public"."{row[0]}"' for row in cursor.fetchall())
        cursor.execute(f"TRUNCATE {tables} CASCADE")
    Tenant.objects.filter(slug__startswith="bulk-").delete()


@pytest.mark.slow
def test_concurrent_runs_number_invoices_without_gaps_or_duplicates(many_accounts):
    # given two runs racing over the same twelve accounts
    work = [account.pk for account in many_accounts] * 2
    barrier = threading.Barrier(6)

    def issue(account_id: int) -> str | None:
        try:
            if work.index(account_id) < 6:
                barrier.wait()
            invoice, _ = invoicing.create_usage_invoice(account_id, OCTOBER, issue_date=ISSUED)
            return invoice.number if invoice else None
        finally:
            connections.close_all()

    # when
    with ThreadPoolExecutor(max_workers=6) as pool:
        numbers = list(pool.map(issue, work))

    # then every account has one invoice and the numbers are 1..12 without gaps
    issued = sorted(Invoice.objects.values_list("number", flat=True))
    assert issued == [f"AP-2026-{n:06d}" for n in range(1, 13)]
    assert sorted(set(numbers)) == issued
    assert InvoiceNumberCounter.objects.get(year=2026).last_number == 12
