from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from django.test import Client

from billing import invoicing, services
from billing.models import BillingAccount, Topup
from billing.money import Period
from tenants import services as tenant_services
from tests.conftest import SALON_HOST
from tests.fixtures.billing import fund, make_account
from tests.fixtures.security import login_operator


def login(tenant, host, role="admin"):
    email = f"{role}@{tenant.slug}.example"
    tenant_services.create_tenant_user(tenant, email=email, role=role, password="s3cret-pass!")
    client = Client(HTTP_HOST=host)
    assert client.post("/admin/login/", {"username": email, "password": "s3cret-pass!"}).status_code == 302
    return client


def operator_client():
    tenant_services.create_operator(email="op@askpro.example", password="s3cret-pass!", superuser=True)
    client = Client(HTTP_HOST="localhost")
    assert login_operator(client, "op@askpro.example", "s3cret-pass!").status_code == 302
    return client


@pytest.fixture
def two_tenants_billing(salon, physio, standard_plan):
    salon_account = make_account(salon, standard_plan, company_name="Salon Schmidt GmbH")
    physio_account = make_account(physio, standard_plan, company_name="Physio Nord GmbH")
    fund(salon_account, 1111, key="salon-fund")
    fund(physio_account, 2222, key="physio-fund")
    for tenant in (salon, physio):
        services.record_call_usage(tenant=tenant, call_id=f"{tenant.slug}-c", duration_seconds=60, provider_cost_cents=1,
                                   ended_at=datetime(2026, 10, 3, tzinfo=UTC))
    salon_invoice, _ = invoicing.create_usage_invoice(salon_account.pk, Period.parse("2026-10"), issue_date=date(2026, 11, 2))
    physio_invoice, _ = invoicing.create_usage_invoice(physio_account.pk, Period.parse("2026-10"), issue_date=date(2026, 11, 2))
    return salon_account, physio_account, salon_invoice, physio_invoice


def test_the_tenant_admin_shows_only_the_tenants_own_billing(salon, two_tenants_billing):
    salon_account, physio_account, salon_invoice, physio_invoice = two_tenants_billing
    client = login(salon, SALON_HOST)

    accounts = client.get("/admin/billing/billingaccount/")
    transactions = client.get("/admin/billing/transaction/")
    invoices = client.get("/admin/billing/invoice/")

    assert accounts.status_code == transactions.status_code == invoices.status_code == 200
    assert "10,75 €" in accounts.content.decode()  # 11.11 - 0.36 for the call
    assert "21,86 €" not in accounts.content.decode() and "Physio Nord GmbH" not in accounts.content.decode()
    assert "salon-fund" not in transactions.content.decode()  # idempotency keys are internal
    # amounts in euros (askpro.admin_display): the salon's 11,11 €, not the physio's 22,22 €
    assert "22,22 €" not in transactions.content.decode() and "11,11 €" in transactions.content.decode()
    assert salon_invoice.number in invoices.content.decode()
    assert physio_invoice.number not in invoices.content.decode()
    # direct URLs to the other tenant's rows are 404s
    assert client.get(f"/admin/billing/billingaccount/{physio_account.pk}/change/").status_code in (302, 404)
    assert client.get(f"/admin/billing/invoice/{physio_invoice.pk}/change/").status_code in (302, 404)
    assert client.get(f"/admin/billing/invoice/{physio_invoice.pk}/pdf/").status_code == 404


def test_the_tenant_downloads_its_invoice_pdf(salon, two_tenants_billing):
    _sa, _pa, salon_invoice, _pi = two_tenants_billing
    client = login(salon, SALON_HOST)

    response = client.get(f"/admin/billing/invoice/{salon_invoice.pk}/pdf/")

    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert b"".join(response.streaming_content).startswith(b"%PDF")


def test_staff_without_billing_permission_cannot_see_billing(salon, two_tenants_billing):
    client = login(salon, SALON_HOST, role="staff")

    assert client.get("/admin/billing/transaction/").status_code == 403
    assert client.get("/admin/billing/billingaccount/topup/").status_code == 403


def test_a_tenant_admin_tops_up_with_the_test_card_against_localstripe(salon, salon_account, localstripe):
    client = login(salon, SALON_HOST)

    page = client.get("/admin/billing/billingaccount/topup/")
    started = client.post("/admin/billing/billingaccount/topup/", {"amount": "2500"})
    topup = Topup.objects.get()
    paid = client.post(f"/admin/billing/billingaccount/topup/{topup.pk}/pay/")

    assert page.status_code == 200
    assert started.status_code == 302 and started["Location"].endswith(f"/topup/{topup.pk}/pay/")
    assert paid.status_code == 302
    topup.refresh_from_db()
    assert (topup.status, topup.requested_by) == ("succeeded", "admin@salon-schmidt.example@salon_schmidt")
    salon_account.refresh_from_db()
    assert salon_account.balance_cents == 2500
    receipt = client.get(f"/admin/billing/topup/{topup.pk}/receipt/")
    assert receipt.status_code == 200 and receipt.content.startswith(b"%PDF")


def test_a_top_up_below_the_minimum_is_refused_with_a_message(salon, salon_account, localstripe):
    client = login(salon, SALON_HOST)

    response = client.post("/admin/billing/billingaccount/topup/", {"amount": "custom", "custom_euros": "5"}, follow=True)

    assert response.status_code == 200
    assert Topup.objects.count() == 0


def test_a_tenant_cannot_pay_another_tenants_top_up(salon, physio, salon_account, physio_account, localstripe):
    physio_topup = services.start_topup(physio, amount_cents=1000, actor="x").topup
    client = login(salon, SALON_HOST)

    assert client.post(f"/admin/billing/billingaccount/topup/{physio_topup.pk}/pay/").status_code == 404
    physio_topup.refresh_from_db()
    assert physio_topup.status == "pending"
    assert BillingAccount.objects.get(pk=physio_account.pk).balance_cents == 0


def test_the_platform_admin_lists_every_billing_page_and_voids_an_invoice(two_tenants_billing):
    _sa, _pa, salon_invoice, _pi = two_tenants_billing
    client = operator_client()

    for model in ("billingaccount", "transaction", "topup", "bonustier", "pricingplan", "platformcost",
                  "monthlycostreport", "invoice", "reseller", "commissionrecord", "usagerecord", "billingrun", "stripeinvoice"):
        assert client.get(f"/admin/billing/{model}/").status_code == 200, model
    assert client.get(f"/admin/billing/invoice/{salon_invoice.pk}/change/").status_code == 200
    assert client.get(f"/admin/billing/invoice/{salon_invoice.pk}/pdf/").status_code == 200

    response = client.post("/admin/billing/invoice/", {"action": "void", "_selected_action": [salon_invoice.pk]})

    assert response.status_code == 302
    salon_invoice.refresh_from_db()
    assert salon_invoice.status == "void"
