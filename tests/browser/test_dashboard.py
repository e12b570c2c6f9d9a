"""The dashboards in a real browser on the full demo (``seed_demo``): the numbers a person reads
equal counts taken from the database, and a receptionist sees the day's work but no money."""

from __future__ import annotations

from datetime import datetime, time, timedelta

import pytest
from django.utils import timezone
from django_tenants.utils import schema_context, tenant_context

from appointments.models import Appointment
from calls.models import Call

pytestmark = [pytest.mark.browser, pytest.mark.slow]

BERLIN = timezone.get_default_timezone()


@pytest.fixture
def demo(committed_db):
    from tenants import demo as tenant_demo

    tenants = tenant_demo.seed(log=lambda _message: None)
    return {tenant.slug: tenant for tenant in tenants}


def _kpi(page, key: str) -> str:
    return page.get_by_test_id(f"kpi-{key}").inner_text().strip()


def test_the_owner_reads_true_numbers_and_the_receptionist_sees_no_money(demo, web_server, browser_page):
    # given
    salon = demo["salon-schmidt"]
    today = timezone.localdate()
    start = datetime.combine(today, time(), tzinfo=BERLIN)
    monday = datetime.combine(today - timedelta(days=today.weekday()), time(), tzinfo=BERLIN)
    with tenant_context(salon):
        happening = Appointment.objects.exclude(status="cancelled")
        expected = {
            "appointments-today": happening.filter(starts_at__gte=start, starts_at__lt=start + timedelta(days=1)).count(),
            "appointments-week": happening.filter(starts_at__gte=monday, starts_at__lt=monday + timedelta(days=7)).count(),
            "calls-today": Call.objects.filter(started_at__gte=start, started_at__lt=start + timedelta(days=1)).count(),
        }
        timeline = happening.filter(starts_at__gte=start, starts_at__lt=start + timedelta(days=1)).count()
    owner = browser_page(web_server.tenant_login(salon, role="admin"))

    # when
    owner.goto(web_server.url("salon-schmidt.localhost", "/admin/"))

    # then
    for key, count in expected.items():
        assert _kpi(owner, key) == str(count), key
    assert owner.get_by_test_id("panel-today").locator("li").count() == min(timeline, 60)
    assert _kpi(owner, "revenue-month").endswith("€")
    assert _kpi(owner, "balance").endswith("€")
    assert owner.locator("canvas.chart").count() == 4
    assert owner.js_errors == []
    web_server.screenshot(owner, "dashboard-tenant-owner")

    # when: the receptionist opens the same dashboard
    receptionist = browser_page(web_server.tenant_login(salon, role="receptionist"))
    receptionist.goto(web_server.url("salon-schmidt.localhost", "/admin/"))

    # then: the day's work, no money
    assert _kpi(receptionist, "appointments-today") == str(expected["appointments-today"])
    assert receptionist.get_by_test_id("kpi-revenue-month").count() == 0
    assert receptionist.get_by_test_id("kpi-balance").count() == 0
    text = receptionist.locator("#content").inner_text()
    assert "Umsatz" not in text and "Guthaben" not in text and "€" not in text
    assert receptionist.js_errors == []
    web_server.screenshot(receptionist, "dashboard-tenant-receptionist")


def test_the_operator_sees_the_platform(demo, web_server, browser_page):
    from tenants.models import Tenant

    with schema_context("public"):
        active = Tenant.objects.filter(is_template=False, status="active").exclude(schema_name="public").count()
    page = browser_page(web_server.operator_login())

    page.goto(web_server.url("localhost", "/admin/"))

    assert _kpi(page, "tenants-active") == str(active)
    assert _kpi(page, "tenants-suspended") == "0"
    assert page.get_by_test_id("panel-webhook-inbox").get_by_text("Cal.com").count() == 1
    assert page.js_errors == []
    web_server.screenshot(page, "dashboard-platform")
