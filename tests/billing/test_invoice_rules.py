"""Invoice rules from issue 15: no base fee before the account's start, §14 UStG buyer address
above 250 EUR, the tariff as unit price (EN 16931 line arithmetic) and the running-month refusal."""

from __future__ import annotations

import io
from datetime import UTC, date, datetime
from decimal import ROUND_HALF_UP, Decimal
from io import StringIO

import facturx
import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.utils import timezone, translation
from lxml import etree
from pypdf import PdfReader

from billing import invoicing, pdf, services
from billing.errors import PeriodNotFinished
from billing.models import (
    BillingAccount,
    BillingRun,
    Invoice,
    InvoiceHold,
    PricingPlan,
    Transaction,
)
from billing.money import Period
from tests.fixtures.billing import fund, make_account
from tests.fixtures.security import login_operator

NS = {"ram": "urn:un:unece:uncefact:data:standard:ReusableAggregateBusinessInformationEntity:100"}


def run(*args: str) -> str:
    out = StringIO()
    call_command(*args, stdout=out, stderr=StringIO())
    return out.getvalue()


@pytest.fixture
def base_fee_plan(db):
    """19 EUR base fee a month, 30 ct per minute."""
    return PricingPlan.objects.create(name="Basis", price_per_minute_cents=30, monthly_base_fee_cents=1900)


# --- base fee from the account's start ------------------------------------------------------


def test_billing_run_for_months_before_the_account_existed_charges_no_base_fee(salon, base_fee_plan):
    # given an account created today (it starts today, as every new account does)
    account = BillingAccount.objects.create(tenant=salon, plan=base_fee_plan, company_name="Salon Schmidt GmbH",
                                            street="Hauptstraße 5", postal_code="20095", city="Hamburg")
    assert account.billing_starts_on == timezone.localdate()
    before = Period.of(timezone.now(), timezone.get_current_timezone()).previous.previous

    # when the run invoices two months before it existed
    output = run("billing_run", "--period", str(before), "--sync")
    output_earlier = run("billing_run", "--period", str(before.previous), "--sync")

    # then nothing is invoiced or charged
    assert "nothing to invoice" in output and "nothing to invoice" in output_earlier
    assert Invoice.objects.count() == 0
    assert Transaction.objects.count() == 0
    account.refresh_from_db()
    assert account.balance_cents == 0


def test_the_first_month_base_fee_is_pro_rata_by_days_from_the_start(salon, base_fee_plan):
    # given an account that started on 4 December 2026
    account = make_account(salon, base_fee_plan, billing_starts_on=date(2026, 12, 4))

    # when October, November and December are invoiced
    october = invoicing.create_usage_invoice(account.pk, Period.parse("2026-10"), issue_date=date(2027, 1, 2))
    november = invoicing.create_usage_invoice(account.pk, Period.parse("2026-11"), issue_date=date(2027, 1, 2))
    december, created = invoicing.create_usage_invoice(account.pk, Period.parse("2026-12"), issue_date=date(2027, 1, 2))

    # then only December has a base fee: 28 of 31 days, 1900 / 31 = 61.2903 ct a day, 28 days = 1716 ct
    assert october == november == (None, False)
    assert created is True
    [line] = december.lines.all()
    assert (line.description, str(line.quantity), line.unit, str(line.unit_price_cents), line.net_cents) == (
        "Grundgebühr Dezember 2026 anteilig 04.12.–31.12.2026 (28 von 31 Tagen), Tarif Basis",
        "28.00", "DAY", "61.2903", 1716,
    )
    assert (december.net_cents, december.vat_cents, december.gross_cents) == (1716, 326, 2042)
    account.refresh_from_db()
    assert account.balance_cents == -2042


def test_a_month_after_the_start_month_has_the_full_base_fee(salon, base_fee_plan):
    account = make_account(salon, base_fee_plan, billing_starts_on=date(2026, 10, 1))

    invoice, _created = invoicing.create_usage_invoice(account.pk, Period.parse("2026-10"), issue_date=date(2026, 11, 2))

    assert list(invoice.lines.values_list("description", "quantity", "unit", "net_cents")) == [
        ("Grundgebühr Oktober 2026, Tarif Basis", Decimal("1.00"), "MON", 1900)]


# --- §14 Abs. 4 Nr. 1 UStG: buyer name and address above 250 EUR ------------------------------


@pytest.fixture
def premium_plan(db):
    """290 EUR net base fee: 345,10 EUR gross a month."""
    return PricingPlan.objects.create(name="Premium", price_per_minute_cents=30, monthly_base_fee_cents=29000)


def test_an_invoice_above_250_eur_without_the_buyers_address_is_held_with_the_reason(salon, premium_plan):
    # given an account without street and postal code
    account = make_account(salon, premium_plan, street="", postal_code="")
    fund(account, 50000, key="fund-premium")

    # when the run invoices October
    output = run("billing_run", "--period", "2026-10", "--sync")

    # then no invoice, nothing charged, and the run and account say what is missing
    assert Invoice.objects.count() == 0
    assert list(Transaction.objects.values_list("kind", "amount_cents")) == [("topup", 50000)]
    account.refresh_from_db()
    assert account.balance_cents == 50000
    hold = InvoiceHold.objects.get()
    assert (hold.account_id, hold.period, hold.reason, hold.missing, hold.gross_cents, hold.released_at) == (
        account.pk, date(2026, 10, 1), "buyer_address_incomplete", ["street", "postal_code"], 34510, None)
    assert hold.explanation == (
        "Invoice of 345,10 € not issued: above 250 € §14 Abs. 4 Nr. 1 UStG requires the buyer's full name and "
        "address. Missing: street, postal code.")
    with translation.override("de"):
        assert hold.explanation == (
            "Rechnung über 345,10 € nicht ausgestellt: über 250 € verlangt § 14 Abs. 4 Nr. 1 UStG den vollständigen "
            "Namen und die Anschrift des Leistungsempfängers. Es fehlt: Straße, Postleitzahl.")
    assert "held: street, postal code missing" in output
    run_row = BillingRun.objects.get()
    assert (run_row.status, run_row.invoices_created, run_row.invoices_held) == ("done", 0, 1)

    # when the address is completed and the run resumes
    BillingAccount.objects.filter(pk=account.pk).update(street="Hauptstraße 5", postal_code="20095")
    run("billing_run", "--period", "2026-10", "--sync")

    # then the invoice is issued with the address and the hold is released
    invoice = Invoice.objects.get()
    assert (invoice.gross_cents, invoice.buyer["street"], invoice.buyer["postal_code"]) == (34510, "Hauptstraße 5", "20095")
    hold.refresh_from_db()
    assert hold.released_at is not None
    assert BillingRun.objects.get().invoices_held == 0


def test_create_usage_invoice_refuses_with_a_code_and_changes_nothing(salon, premium_plan):
    from billing.errors import BuyerAddressIncomplete

    account = make_account(salon, premium_plan, city="")

    with pytest.raises(BuyerAddressIncomplete) as refused:
        invoicing.create_usage_invoice(account.pk, Period.parse("2026-10"), issue_date=date(2026, 11, 2))

    assert refused.value.code == "BUYER_ADDRESS_INCOMPLETE"
    assert refused.value.details == {"account_id": account.pk, "period": "2026-10", "gross_cents": 34510,
                                     "missing": ["city"]}
    assert (Invoice.objects.count(), Transaction.objects.count()) == (0, 0)


def test_a_small_amount_invoice_without_an_address_is_issued(salon, base_fee_plan):
    # 19 EUR net, 22,61 EUR gross: a Kleinbetragsrechnung (§33 UStDV)
    account = make_account(salon, base_fee_plan, street="", postal_code="", city="")

    invoice, created = invoicing.create_usage_invoice(account.pk, Period.parse("2026-10"), issue_date=date(2026, 11, 2))

    assert (created, invoice.gross_cents, invoice.number) == (True, 2261, "AP-2026-000001")
    assert InvoiceHold.objects.count() == 0


def test_the_admins_show_what_is_missing_for_a_held_invoice(salon, premium_plan):
    from django.test import Client

    from tenants import services as tenant_services
    from tests.conftest import SALON_HOST

    account = make_account(salon, premium_plan, street="", postal_code="")
    invoicing.invoice_account(account.pk, Period.parse("2026-10"), issue_date=date(2026, 11, 2))
    tenant_services.create_operator(email="op@askpro.example", password="s3cret-pass!", superuser=True)
    operator = Client(HTTP_HOST="localhost")
    assert login_operator(operator, "op@askpro.example", "s3cret-pass!").status_code == 302  # with the TOTP code
    tenant_services.create_tenant_user(salon, email="admin@salon-schmidt.example", role="admin", password="s3cret-pass!")
    owner = Client(HTTP_HOST=SALON_HOST)
    assert owner.post("/admin/login/", {"username": "admin@salon-schmidt.example", "password": "s3cret-pass!"}).status_code == 302

    account_page = operator.get(f"/admin/billing/billingaccount/{account.pk}/change/").content.decode()
    holds_page = operator.get("/admin/billing/invoicehold/").content.decode()
    tenant_page = owner.get(f"/admin/billing/billingaccount/{account.pk}/change/").content.decode()

    expected = "Missing: street, postal code."
    assert expected in account_page and expected in tenant_page
    assert "street, postal code" in holds_page and "345,10 €" in holds_page


# --- the tariff as unit price ---------------------------------------------------------------


def test_the_call_minutes_line_shows_the_tariff_and_its_exact_total_in_pdf_and_factur_x(salon):
    # given 29 ct a minute and seven calls of 95 s (each charged 46 ct net, rounded per call)
    plan = PricingPlan.objects.create(name="Tarif 29", price_per_minute_cents=29, billing_increment="per_second")
    account = make_account(salon, plan)
    fund(account, 10000, key="fund-29")
    for index in range(7):
        services.record_call_usage(tenant=salon, call_id=f"c29-{index}", duration_seconds=95, provider_cost_cents=5,
                                   ended_at=datetime(2026, 10, 5 + index, 9, tzinfo=UTC))

    # when
    invoice, _created = invoicing.create_usage_invoice(account.pk, Period.parse("2026-10"), issue_date=date(2026, 11, 2))

    # then 665 s = 11.08 min x 0,29 € = 3,21 € (the calls were debited 7 x 46 ct = 3,22 € net)
    [line] = invoice.lines.all()
    assert (str(line.quantity), str(line.unit_price_cents), line.net_cents) == ("11.08", "29.0000", 321)
    assert (invoice.net_cents, invoice.vat_cents, invoice.gross_cents) == (321, 61, 382)
    account.refresh_from_db()
    assert account.balance_cents == 10000 - 382  # the ledger equals the invoice: 7 x 55 ct, then 3 ct back
    assert list(Transaction.objects.filter(kind="adjustment").values_list("amount_cents", "description")) == [
        (3, "Rounding difference to the invoice")]
    text = "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf.render_invoice_pdf(invoice))).pages)
    assert "0,2900 €" in text and "0,2896" not in text
    xml = etree.fromstring(pdf.factur_x_xml(invoice))
    assert facturx.get_level(xml) == "en16931"
    assert_line_arithmetic(xml)


def assert_line_arithmetic(xml) -> None:
    """BT-131 = BT-129 x BT-146 (rounded), BR-CO-10 sum of lines, BR-CO-13/15 totals."""
    totals = []
    for item in xml.iterfind(".//ram:IncludedSupplyChainTradeLineItem", NS):
        price = Decimal(item.findtext(".//ram:NetPriceProductTradePrice/ram:ChargeAmount", namespaces=NS))
        quantity = Decimal(item.findtext(".//ram:BilledQuantity", namespaces=NS))
        total = Decimal(item.findtext(".//ram:SpecifiedTradeSettlementLineMonetarySummation/ram:LineTotalAmount", namespaces=NS))
        assert (quantity * price).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP) == total
        totals.append(total)
    summary = xml.find(".//ram:SpecifiedTradeSettlementHeaderMonetarySummation", NS)
    line_total = Decimal(summary.findtext("ram:LineTotalAmount", namespaces=NS))
    assert sum(totals) == line_total == Decimal(summary.findtext("ram:TaxBasisTotalAmount", namespaces=NS))
    assert Decimal(summary.findtext("ram:GrandTotalAmount", namespaces=NS)) == line_total + Decimal(
        summary.findtext("ram:TaxTotalAmount", namespaces=NS))


def test_every_line_of_a_full_invoice_adds_up_in_the_factur_x_xml(salon):
    plan = PricingPlan.objects.create(name="Voll", price_per_minute_cents=29, monthly_base_fee_cents=1900,
                                      included_minutes=1)
    account = make_account(salon, plan, billing_starts_on=date(2026, 10, 9))
    for index in range(3):
        services.record_call_usage(tenant=salon, call_id=f"full-{index}", duration_seconds=61, provider_cost_cents=5,
                                   ended_at=datetime(2026, 10, 10 + index, 9, tzinfo=UTC))

    invoice, _created = invoicing.create_usage_invoice(account.pk, Period.parse("2026-10"), issue_date=date(2026, 11, 2))

    assert [line.unit for line in invoice.lines.all()] == ["MIN", "MIN", "DAY"]
    assert_line_arithmetic(etree.fromstring(pdf.factur_x_xml(invoice)))


# --- the running month ----------------------------------------------------------------------


def test_the_running_month_is_refused_with_its_own_code_and_a_german_message(db):
    current = Period.of(timezone.now(), timezone.get_current_timezone())

    with pytest.raises(PeriodNotFinished) as refused:
        invoicing.start_billing_run(current)
    with pytest.raises(CommandError, match="PERIOD_NOT_FINISHED"):
        run("billing_run", "--period", str(current), "--sync")

    assert refused.value.code == "PERIOD_NOT_FINISHED"
    with translation.override("de"):
        assert str(refused.value.message) == "Ein Monat kann erst nach seinem Ende abgerechnet werden."
    assert BillingRun.objects.count() == 0
