"""In a real browser: an operator creates a tenant and starts a billing run in the platform admin
(a live Celery worker does the work, the pages refresh themselves), and an owner edits a default
notification text in the tenant admin."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from django.contrib.auth import get_user_model
from django_tenants.utils import schema_context

from billing import services as billing_services
from billing.models import PricingPlan
from tenants.models import Tenant, TenantCreation
from tests.fixtures.billing import make_account

pytestmark = [pytest.mark.browser, pytest.mark.slow]

WORKER_TIMEOUT_MS = 180_000


def test_an_operator_creates_a_tenant_and_runs_billing_and_watches_both_finish(
        live_worker, web_server, browser_page, public_tenant):
    # given an operator, and an account with October usage
    salon = Tenant.objects.get(slug="salon-schmidt")
    make_account(salon, PricingPlan.objects.create(name="Browser", price_per_minute_cents=30, monthly_base_fee_cents=900))
    billing_services.record_call_usage(tenant=salon, call_id="browser-1", duration_seconds=120, provider_cost_cents=5,
                                       ended_at=datetime(2026, 10, 5, 10, tzinfo=UTC))
    page = browser_page(web_server.operator_login())

    # when the operator fills in "Mandant anlegen"
    page.goto(web_server.url("localhost", "/admin/tenants/tenant/add/"))
    page.fill("input[name=name]", "Kosmetik Sommer")
    page.fill("input[name=slug]", "kosmetik-sommer")
    page.fill("input[name=admin_email]", "inhaberin@sommer.example")
    with page.expect_navigation():
        page.locator("#tenant-create button[type=submit]").click()

    # then the job page refreshes itself until the worker is done
    page.wait_for_selector("#tenant-creation-progress[data-state=done]", timeout=WORKER_TIMEOUT_MS)
    text = page.locator("#tenant-creation-progress").inner_text()
    assert "Erledigt." in text and "inhaberin@sommer.example" in text
    assert "http://kosmetik-sommer.localhost:" in text
    password = page.locator("[data-password]").inner_text()
    web_server.screenshot(page, "platform-tenant-creation-done")
    with schema_context("public"):
        job = TenantCreation.objects.get()
        assert (job.state, job.tenant.slug) == ("done", "kosmetik-sommer")
    with schema_context("kosmetik_sommer"):
        assert get_user_model().objects.get(username="inhaberin@sommer.example").check_password(password)

    # when the operator starts the billing run for October
    page.goto(web_server.url("localhost", "/admin/billing/billingrun/add/"))
    page.fill("input[name=period]", "2026-10")
    with page.expect_navigation():
        page.locator("#billing-run-start button[type=submit]").click()

    # then the run page refreshes itself until every tenant is handled
    page.wait_for_selector("#billing-run-progress[data-running='0']", timeout=WORKER_TIMEOUT_MS)
    assert page.locator("[data-count=done]").inner_text() == "1 / 1"
    assert page.locator("[data-count=issued]").inner_text() == "1"
    assert page.locator("[data-count=failed]").inner_text() == "0"
    web_server.screenshot(page, "platform-billing-run-done")
    assert page.js_errors == []


def test_an_owner_edits_a_default_text_and_sees_it_marked_customised(committed_db, web_server, browser_page, salon):
    page = browser_page(web_server.tenant_login(salon, role="admin"))

    # when the owner opens the default confirmation e-mail from the list and saves a change
    page.goto(web_server.url("salon-schmidt.localhost", "/admin/notifications/notificationtemplate/"))
    row = page.locator("tr[data-template='appointment_confirmed/email/de']")
    assert row.locator("[data-state]").inner_text() == "Standard"
    with page.expect_navigation():
        row.get_by_role("link", name="Bearbeiten").click()
    page.wait_for_function(
        "document.querySelector('[data-preview=subject]').textContent.includes('14. Oktober 2026')")
    assert "35,00 €" not in page.locator("#notification-live-preview").inner_text()  # price not in this text
    page.fill("input[name=subject]", "Wir freuen uns: {{service_name}} am {{appointment_date}}")
    page.wait_for_function(
        "document.querySelector('[data-preview=subject]').textContent"
        " === 'Wir freuen uns: Haarschnitt am Mittwoch, 14. Oktober 2026'")
    with page.expect_navigation():
        page.locator("button[name=_save], input[name=_save]").first.click()

    # then the list shows the tenant's copy
    page.goto(web_server.url("salon-schmidt.localhost", "/admin/notifications/notificationtemplate/"))
    row = page.locator("tr[data-template='appointment_confirmed/email/de']")
    assert row.locator("[data-state]").inner_text() == "Angepasst"
    assert "Wir freuen uns" in row.inner_text()
    web_server.screenshot(page, "notification-templates-list")
    assert page.js_errors == []
