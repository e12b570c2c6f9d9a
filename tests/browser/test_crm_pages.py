"""The CRM in Chromium: a customer page with score, tier, revenue in euros and notes (pinned
first, medical only for roles that may read it), the duplicates filter and a merge result."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.utils import timezone
from django_tenants.utils import tenant_context

pytestmark = [pytest.mark.browser, pytest.mark.slow]

HOST = "salon-schmidt.localhost"


def _text(page) -> str:
    return re.sub(r"\s+", " ", page.locator("body").inner_text())


@pytest.fixture
def erika_crm(committed_db, salon, customer_erika, haarschnitt, anna, branch_mitte):
    from appointments import crm
    from appointments.customers import add_note
    from appointments.models import Appointment, Customer

    with tenant_context(salon):
        for days, status in ((100, "completed"), (60, "completed"), (10, "completed"), (40, "no_show")):
            start = timezone.now() - timedelta(days=days)
            Appointment.objects.create(customer=customer_erika, service=haarschnitt, staff=anna, branch=branch_mitte,
                                       starts_at=start, ends_at=start + timedelta(minutes=30), status=status,
                                       price_cents=4900)
        add_note(customer_erika.pk, "Trinkt Kaffee schwarz.", subject="Kaffee", type="general", visibility="all")
        add_note(customer_erika.pk, "Allergie gegen PPD.", subject="Allergie", type="medical", visibility="staff",
                 pinned=True)
        add_note(customer_erika.pk, "20 Minuten gewartet.", subject="Wartezeit", type="complaint", visibility="staff")
        add_note(customer_erika.pk, "10 % Rabatt vereinbart.", subject="Sonderpreis", type="general",
                 visibility="management")
        twin = Customer.objects.create(name="Erika Musterman", phone="+4917099999999", email="ERIKA@example.com")
        add_note(twin.pk, "Ruft lieber abends an.", subject="Erreichbarkeit", type="general", visibility="all")
        start = timezone.now() - timedelta(days=20)
        Appointment.objects.create(customer=twin, service=haarschnitt, staff=anna, branch=branch_mitte,
                                   starts_at=start, ends_at=start + timedelta(minutes=30), status="completed",
                                   price_cents=2900)
        crm.refresh_customer(customer_erika.pk)
        crm.refresh_customer(twin.pk)
    return customer_erika, twin


def test_the_customer_page_shows_value_tier_and_notes_and_a_merge_can_be_undone(erika_crm, web_server, browser_page,
                                                                                salon):
    from appointments.models import Customer, CustomerMerge

    erika, twin = erika_crm
    page = browser_page(web_server.tenant_login(salon, role="admin"))

    page.goto(web_server.url(HOST, f"/admin/appointments/customer/{erika.pk}/change/"))
    text = _text(page)
    web_server.screenshot(page, "crm-customer-page")
    # 4x10 + 3x5 + 20 (10 days ago) - 5 = 70; 3 x 49 € = 147 €; 30 points
    assert "70 / 1000" in text and "Bronze" in text and "147,00 €" in text and "49,00 €" in text
    assert "Erika Musterman (gleiche E-Mail, ähnlicher Name)" in text
    notes = [area.input_value() for area in page.locator("textarea[name$='-content']:not([name*='__prefix__'])").all()]
    assert notes[0] == "Allergie gegen PPD." and "Trinkt Kaffee schwarz." in notes  # pinned first
    assert "10 % Rabatt vereinbart." in notes

    page.goto(web_server.url(HOST, "/admin/appointments/customer/?duplicates=yes"))
    web_server.screenshot(page, "crm-duplicates")
    assert "Erika Musterman" in _text(page)
    page.locator(f"input[name=_selected_action][value='{erika.pk}']").check()
    page.locator(f"input[name=_selected_action][value='{twin.pk}']").check()
    page.locator("select[name=action]").select_option("merge_selected")
    page.locator("button[name=index], button[type=submit][title], form#changelist-form button[type=submit]").first.click()
    page.wait_for_url(re.compile(r"/customermerge/\d+/change/"))
    merged = _text(page)
    web_server.screenshot(page, "crm-merge-result")
    assert "wurde mit Erika Mustermann zusammengeführt: Termine: 1, Notizen: 1" in merged
    with tenant_context(salon):
        record = CustomerMerge.objects.get()
        assert not Customer.objects.filter(pk=twin.pk).exists()

    page.goto(web_server.url(HOST, f"/admin/appointments/customermerge/{record.pk}/undo/"))
    web_server.screenshot(page, "crm-merge-undone")
    assert "rückgängig gemacht" in _text(page)
    with tenant_context(salon):
        assert Customer.objects.filter(pk=twin.pk).exists()
    assert page.js_errors == []


def test_the_front_desk_never_sees_a_medical_note(erika_crm, web_server, browser_page, salon):
    erika, _twin = erika_crm
    page = browser_page(web_server.tenant_login(salon, role="receptionist"))

    page.goto(web_server.url(HOST, f"/admin/appointments/customer/{erika.pk}/change/"))
    text = _text(page)
    web_server.screenshot(page, "crm-customer-page-receptionist")

    notes = [area.input_value() for area in page.locator("textarea[name$='-content']:not([name*='__prefix__'])").all()]
    assert sorted(notes) == ["20 Minuten gewartet.", "Trinkt Kaffee schwarz."]
    assert "Allergie" not in text and "Rabatt" not in text and "PPD" not in page.content()
