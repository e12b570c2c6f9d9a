"""What a salon owner sees in Chromium: local times on the appointment, customer and call pages,
German JavaScript widgets, and a customer export that holds the filtered rows."""

from __future__ import annotations

import csv
import io
import re
from datetime import timedelta
from pathlib import Path

import pytest
from django_tenants.utils import tenant_context

from askpro.display import MONTHS_DE
from tests.admin.test_crawl_german import LEFTOVERS

pytestmark = [pytest.mark.browser, pytest.mark.slow]

HOST = "salon-schmidt.localhost"


def _text(page) -> str:
    return re.sub(r"\s+", " ", page.locator("body").inner_text())


@pytest.fixture
def owner_page(committed_db, web_server, browser_page, salon, erika_haarschnitt):
    from calls.models import Call

    with tenant_context(salon):
        Call.objects.create(call_id="call_browser", direction="inbound", status="ended", call_type="phone_call",
                            from_number="+4915112345678", started_at=erika_haarschnitt.starts_at - timedelta(days=3),
                            user_sentiment="Positive", disconnection_reason="user_hangup",
                            customer=erika_haarschnitt.customer, appointment=erika_haarschnitt,
                            appointment_made=True, duration_ms=95000, cost_cents=8)
    return browser_page(web_server.tenant_login(salon, role="admin"))


def test_the_appointment_customer_and_call_pages_show_the_branch_time(owner_page, web_server, salon,
                                                                       erika_haarschnitt):
    from calls.models import Call

    page = owner_page
    local = erika_haarschnitt.starts_at.astimezone(erika_haarschnitt.branch.tzinfo)
    title = f"Haarschnitt · Erika Mustermann · {local:%d.%m.%Y}, 10:00"
    with tenant_context(salon):
        call_pk = Call.objects.get(call_id="call_browser").pk

    page.goto(web_server.url(HOST, f"/admin/appointments/appointment/{erika_haarschnitt.pk}/change/"))
    appointment_text = _text(page)
    web_server.screenshot(page, "appointment-page")
    page.goto(web_server.url(HOST, f"/admin/appointments/customer/{erika_haarschnitt.customer_id}/change/"))
    customer_text = _text(page)
    web_server.screenshot(page, "customer-page")
    page.goto(web_server.url(HOST, f"/admin/calls/call/{call_pk}/change/"))
    call_text = _text(page)
    web_server.screenshot(page, "call-page")

    day = f"{local.day}. {MONTHS_DE[local.month - 1]} {local.year}"  # Django's German DATETIME_FORMAT
    assert title in appointment_text
    assert f"{day} 10:00" in appointment_text and f"{day} 09:00" not in appointment_text  # 09:00 is UTC
    assert f"{day} 10:00" in customer_text and f"{day} 09:00" not in customer_text
    assert title in call_text
    assert "Anrufer hat aufgelegt" in call_text and "Telefonanruf" in call_text and "0,08 USD" in call_text
    assert not [word for word in LEFTOVERS if re.search(rf"(?<![\w-]){re.escape(word)}(?![\w-])", call_text)]
    assert page.js_errors == []


def test_the_staff_page_widgets_are_german(owner_page, web_server, anna):
    page = owner_page

    page.goto(web_server.url(HOST, f"/admin/appointments/staff/{anna.pk}/change/"))
    text = _text(page)

    assert "Choose all" not in text and "Remove all" not in text
    assert page.js_errors == []


def test_the_customer_export_downloads_the_filtered_rows(owner_page, web_server, salon, erika_haarschnitt):
    from appointments.models import Customer

    with tenant_context(salon):
        Customer.objects.create(name="Max Meier", phone="+4917612345678", journey_status="regular")
    page = owner_page

    page.goto(web_server.url(HOST, "/admin/appointments/customer/export/?journey_status__exact=regular"))
    page.locator("select[name=format]").select_option(label="csv")
    web_server.screenshot(page, "customer-export")
    with page.expect_download() as download:
        page.locator("form button[type=submit], form input[type=submit]").last.click()
    content = Path(download.value.path()).read_text(encoding="utf-8-sig")

    rows = list(csv.reader(io.StringIO(content)))
    assert [row[0] for row in rows] == ["Name", "Max Meier"]
    assert page.js_errors == []
