"""A held invoice in both admins, in a real browser: what is missing, in German."""

from __future__ import annotations

from datetime import date

import pytest

from billing import invoicing
from billing.models import PricingPlan
from billing.money import Period
from tests.fixtures.billing import make_account

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def test_operator_and_owner_see_why_an_invoice_above_250_eur_was_not_issued(
        committed_db, web_server, browser_page, salon, public_tenant):
    # given an account without street and postal code whose October invoice (345,10 €) was held
    plan = PricingPlan.objects.create(name="Premium", price_per_minute_cents=30, monthly_base_fee_cents=29000)
    account = make_account(salon, plan, street="", postal_code="")
    assert invoicing.invoice_account(account.pk, Period.parse("2026-10"), issue_date=date(2026, 11, 2)) is None
    expected = ("Rechnung über 345,10 € nicht ausgestellt: über 250 € verlangt § 14 Abs. 4 Nr. 1 UStG den "
                "vollständigen Namen und die Anschrift des Leistungsempfängers. Es fehlt: Straße, Postleitzahl.")

    # when the operator opens the account and the hold list, and the owner their billing page
    operator = browser_page(web_server.operator_login())
    operator.goto(web_server.url("localhost", f"/admin/billing/billingaccount/{account.pk}/change/"))
    account_text = operator.locator("body").inner_text()
    operator.goto(web_server.url("localhost", "/admin/billing/invoicehold/"))
    holds_text = operator.locator("body").inner_text()
    owner = browser_page(web_server.tenant_login(salon, role="admin"))
    owner.goto(web_server.url("salon-schmidt.localhost", f"/admin/billing/billingaccount/{account.pk}/change/"))
    owner_text = owner.locator("body").inner_text()

    # then
    assert "10/2026: " + expected in account_text
    assert "Straße, Postleitzahl" in holds_text and "345,10 €" in holds_text
    assert expected in owner_text
    assert operator.js_errors == [] and owner.js_errors == []
    web_server.screenshot(owner, "billing-invoice-hold-tenant")
