"""The one admin dialog in Chromium: reschedule, cancel, book from a call, top up, message a customer,
add a note; and bulk cancel on the appointment list. What a salon owner sees: the dialog closes on
success and the reloaded page says what happened; a refusal stays in the dialog with what was typed."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from django_tenants.utils import tenant_context

from appointments.models import Appointment, Customer, CustomerNote, PolicyConfiguration
from notifications.models import NotificationDelivery
from tests.fixtures.appointments import berlin
from tests.fixtures.browser import LiveServer, admin_login
from tests.fixtures.http import free_port, running_granian

pytestmark = [pytest.mark.browser, pytest.mark.slow]

HOST = "salon-schmidt.localhost"


def _text(page: Any) -> str:
    return re.sub(r"\s+", " ", page.locator("body").inner_text())


def _unexpected(errors: list[str]) -> list[str]:
    """Console errors other than the refusals' own answers (HTTP 400/409/422 with the JSON refusal)."""
    return [e for e in errors if not re.search(r"status of (400|409|422) ", e)]


def _dialog(page: Any) -> Any:
    dialog = page.locator("dialog#askpro-dialog [data-testid=askpro-dialog]")
    dialog.wait_for()
    return dialog


@pytest.fixture
def taken_at_eleven(committed_db, salon, erika_haarschnitt, haarschnitt, anna, branch_mitte, next_monday) -> Any:
    from appointments.services import book_appointment

    with tenant_context(salon):
        other = Customer.objects.create(name="Bernd Brot", phone="+4915199999999")
        return book_appointment(customer_id=other.pk, service_id=haarschnitt.pk, staff_id=anna.pk,
                                branch_id=branch_mitte.pk, starts_at=berlin(next_monday, "11:00"), source="admin",
                                actor="admin:test")


@pytest.fixture
def owner(committed_db, web_server, browser_page, salon) -> Any:
    return browser_page(web_server.tenant_login(salon, role="admin"))


def test_a_refused_reschedule_stays_in_the_dialog_and_an_offered_time_then_moves_it(
    owner, web_server, salon, erika_haarschnitt, taken_at_eleven, next_monday,
):
    page = owner
    page.goto(web_server.url(HOST, f"/admin/appointments/appointment/{erika_haarschnitt.pk}/change/"))

    # when: the owner moves Erika onto 11:00, which Bernd has
    page.locator("a[data-askpro-dialog=reschedule]").click()
    dialog = _dialog(page)
    dialog.locator("[name=new_starts_at]").fill(f"{next_monday.isoformat()}T11:00")
    dialog.locator("[name=reason]").fill("Kundin möchte später")
    dialog.get_by_test_id("dialog-submit").click()

    # then: the refusal inside the dialog, input kept, free times offered as buttons
    error = dialog.get_by_test_id("dialog-error")
    error.wait_for(state="visible")
    assert "Diese Zeit ist nicht mehr verfügbar." in error.inner_text()
    assert dialog.locator("[name=reason]").input_value() == "Kundin möchte später"
    assert dialog.locator("[name=new_starts_at]").input_value() == f"{next_monday.isoformat()}T11:00"
    offered = dialog.locator("[data-alternative]")
    assert offered.count() >= 1
    web_server.screenshot(page, "dialog-reschedule-refused", full_page=False)
    with tenant_context(salon):
        assert Appointment.objects.get(pk=erika_haarschnitt.pk).starts_at == berlin(next_monday, "10:00")

    # when: the first offered time is clicked and sent
    value, label = offered.first.get_attribute("data-alternative"), offered.first.inner_text()
    offered.first.click()
    assert dialog.locator("[name=new_starts_at]").input_value() == value
    with page.expect_navigation():
        dialog.get_by_test_id("dialog-submit").click()

    # then: the dialog is gone, the page shows the new time and says so
    assert page.locator("dialog#askpro-dialog[open]").count() == 0
    text = _text(page)
    assert f"Verschoben auf {label.replace(' ', ', ')}" in text
    assert f"Erika Mustermann · {label.replace(' ', ', ')}" in text  # the title: the new local time
    assert _unexpected(page.js_errors) == []


def test_the_cancel_dialog_shows_the_fee_before_and_one_confirming_button(
    owner, web_server, salon, erika_haarschnitt,
):
    with tenant_context(salon):
        PolicyConfiguration.objects.create(policy_type="cancellation", min_hours_notice=24 * 365,
                                           violation_action="charge_fee", fee_cents=2000)
    page = owner
    page.goto(web_server.url(HOST, f"/admin/appointments/appointment/{erika_haarschnitt.pk}/change/"))

    page.locator("a[data-askpro-dialog=cancel]").click()
    dialog = _dialog(page)

    # then: the fee in euros before anything is confirmed; one confirming button and a neutral close
    notice = dialog.get_by_test_id("dialog-notice").inner_text()
    assert "Stornogebühr von 20,00 €" in notice.replace("\xa0", " ")
    buttons = [b.inner_text().strip() for b in dialog.locator("button, a").all()]
    assert buttons == ["Schließen", "Termin stornieren"]
    web_server.screenshot(page, "dialog-cancel-preview", full_page=False)

    # a missing reason is refused inside the dialog
    dialog.get_by_test_id("dialog-submit").click()
    dialog.locator("[data-field-errors=reason] li").wait_for()
    with tenant_context(salon):
        assert Appointment.objects.get(pk=erika_haarschnitt.pk).status == "confirmed"

    # when: confirmed with a reason
    dialog.locator("[name=reason]").fill("Kundin krank")
    with page.expect_navigation():
        dialog.get_by_test_id("dialog-submit").click()

    text = _text(page).replace("\xa0", " ")
    assert "Storniert, entgegen der Richtlinie" in text and "Gebühr: 20,00 €" in text
    with tenant_context(salon):
        assert Appointment.objects.get(pk=erika_haarschnitt.pk).status == "cancelled"
    assert _unexpected(page.js_errors) == []


def test_close_leaves_the_appointment_as_it_was(owner, web_server, salon, erika_haarschnitt):
    page = owner
    page.goto(web_server.url(HOST, f"/admin/appointments/appointment/{erika_haarschnitt.pk}/change/"))
    page.locator("a[data-askpro-dialog=cancel]").click()
    dialog = _dialog(page)
    dialog.locator("[name=reason]").fill("doch nicht")

    dialog.get_by_test_id("dialog-close").click()

    page.locator("dialog#askpro-dialog[open]").wait_for(state="detached")
    with tenant_context(salon):
        assert Appointment.objects.get(pk=erika_haarschnitt.pk).status == "confirmed"


def test_an_appointment_is_created_from_a_call_after_a_refused_time(
    owner, web_server, salon, erika_haarschnitt, taken_at_eleven, haarschnitt, anna, next_monday,
):
    from calls.models import Call

    with tenant_context(salon):
        call = Call.objects.create(call_id="call_dialog", direction="inbound", status="ended",
                                   from_number="+4915177777777", started_at=erika_haarschnitt.starts_at - timedelta(days=3),
                                   duration_ms=60000)
    page = owner
    page.goto(web_server.url(HOST, f"/admin/calls/call/{call.pk}/change/"))

    page.locator("a[data-askpro-dialog=create-appointment]").click()
    dialog = _dialog(page)
    dialog.locator("[name=service]").select_option(str(haarschnitt.pk))
    dialog.locator("[name=staff]").select_option(str(anna.pk))
    dialog.locator("[name=starts_at]").fill(f"{next_monday.isoformat()}T11:00")
    dialog.locator("[name=notes]").fill("Rückruf gewünscht")
    dialog.get_by_test_id("dialog-submit").click()

    dialog.get_by_test_id("dialog-error").wait_for(state="visible")
    assert dialog.locator("[name=notes]").input_value() == "Rückruf gewünscht"
    assert dialog.locator("[name=staff]").input_value() == str(anna.pk)
    offered = dialog.locator("[data-alternative]")
    label = offered.first.inner_text()
    offered.first.click()
    with page.expect_navigation():
        dialog.get_by_test_id("dialog-submit").click()

    assert f"Termin für {label.replace(' ', ', ')} gebucht." in _text(page)
    with tenant_context(salon):
        booked = Call.objects.get(pk=call.pk).appointment
        assert booked is not None and booked.notes == "Rückruf gewünscht"
    assert _unexpected(page.js_errors) == []


def test_bulk_cancel_reports_cancelled_and_refused_with_fees(
    owner, web_server, salon, erika_haarschnitt, taken_at_eleven,
):
    with tenant_context(salon):
        PolicyConfiguration.objects.create(policy_type="cancellation", min_hours_notice=24 * 365,
                                           violation_action="charge_fee", fee_cents=1500)
        Appointment.objects.filter(pk=taken_at_eleven.pk).update(status="completed")
    page = owner
    page.goto(web_server.url(HOST, "/admin/appointments/appointment/"))

    for pk in (erika_haarschnitt.pk, taken_at_eleven.pk):
        page.locator(f"input.action-select[value='{pk}']").check()
    page.locator("select[name=action]").select_option("cancel_selected")
    with page.expect_navigation():
        page.locator("button[name=index], button[type=submit][title]").first.click()

    text = _text(page).replace("\xa0", " ")
    assert "1 Termin(e) storniert. Davon 1 mit Stornogebühr, zusammen 15,00 €." in text
    assert "1 Termin(e) abgelehnt:" in text
    with tenant_context(salon):
        assert dict(Appointment.objects.values_list("pk", "status")) == {
            erika_haarschnitt.pk: "cancelled", taken_at_eleven.pk: "completed"}


def test_an_sms_to_a_customer_without_consent_is_refused_in_the_dialog_and_a_note_is_added(
    owner, web_server, salon, customer_erika,
):
    page = owner
    page.goto(web_server.url(HOST, f"/admin/appointments/customer/{customer_erika.pk}/change/"))

    page.locator("a[data-askpro-dialog=message]").click()
    dialog = _dialog(page)
    dialog.locator("[name=channel]").select_option("sms")
    dialog.locator("[name=text]").fill("Wir haben ab Montag länger geöffnet.")
    dialog.get_by_test_id("dialog-submit").click()

    error = dialog.get_by_test_id("dialog-error")
    error.wait_for(state="visible")
    assert "nicht zugestimmt" in error.inner_text()
    assert dialog.locator("[name=text]").input_value() == "Wir haben ab Montag länger geöffnet."
    web_server.screenshot(page, "dialog-customer-sms-refused", full_page=False)
    with tenant_context(salon):
        assert NotificationDelivery.objects.count() == 0

    dialog.get_by_test_id("dialog-close").click()
    page.locator("a[data-askpro-dialog=note]").click()
    dialog = _dialog(page)
    dialog.locator("[name=content]").fill("Möchte nur per E-Mail erinnert werden.")
    assert "Medizinisch" in dialog.locator("[name=type]").inner_text()  # the owner may write every kind
    web_server.screenshot(page, "dialog-customer-note", full_page=False)
    with page.expect_navigation():
        dialog.get_by_test_id("dialog-submit").click()

    assert "Notiz hinzugefügt." in _text(page)
    with tenant_context(salon):
        assert CustomerNote.objects.get().content == "Möchte nur per E-Mail erinnert werden."
    assert _unexpected(page.js_errors) == []


@pytest.fixture
def stripe_web_server(committed_db, localstripe_server) -> Iterator[LiveServer]:
    """A second web server whose billing talks to localstripe (the session's server has no Stripe)."""
    port = free_port()
    env = {"STRIPE_API_BASE": localstripe_server, "STRIPE_API_KEY": "",
           "CSRF_TRUSTED_ORIGINS": f"http://localhost:{port},http://*.localhost:{port}",
           "ASKPRO_PUBLIC_URL": f"http://localhost:{port}"}
    with running_granian(env, port=port, threads=2) as server:
        yield LiveServer(port=server.port, process=server.process)


def test_a_top_up_below_the_minimum_is_refused_in_the_dialog_and_a_valid_one_goes_to_payment(
    stripe_web_server, web_server, browser_page, salon, salon_account,
):
    from billing.models import Topup

    page = browser_page()
    admin_login(page, stripe_web_server, stripe_web_server.tenant_login(salon, role="admin"))
    page.goto(stripe_web_server.url(HOST, "/admin/billing/billingaccount/"))

    page.locator("a[data-askpro-dialog=topup]").first.click()
    dialog = _dialog(page)
    dialog.locator("input[name=amount][value=custom]").check()
    dialog.locator("[name=custom_euros]").fill("5")
    dialog.get_by_test_id("dialog-submit").click()

    error = dialog.get_by_test_id("dialog-error")
    error.wait_for(state="visible")
    assert "zwischen" in error.inner_text()
    assert dialog.locator("[name=custom_euros]").input_value() == "5"
    with tenant_context(salon):
        assert Topup.objects.count() == 0

    dialog.locator("[name=custom_euros]").fill("25")
    with page.expect_navigation():
        dialog.get_by_test_id("dialog-submit").click()

    assert "/pay/" in page.url
    assert "Aufladung über 25,00 € angelegt" in _text(page).replace("\xa0", " ")
    with tenant_context(salon):
        assert Topup.objects.get().amount_cents == 2500


def test_the_customer_toolbar_fits_one_line_and_its_grouped_actions_still_open_their_dialogs(
    owner, web_server, salon, customer_erika,
):
    page = owner
    page.set_viewport_size({"width": 1280, "height": 900})
    page.goto(web_server.url(HOST, f"/admin/appointments/customer/{customer_erika.pk}/change/"))

    # the daily actions are buttons; journey and data protection are grouped under "Weitere": one
    # line that fits a 1280-pixel screen beside the sidebar
    entries = page.locator("ul:has(> li > a[data-askpro-dialog=message]) > li")
    labels = [entry.inner_text().strip() for entry in entries.all()]
    for name in ("Termin buchen", "SMS / E-Mail senden", "Notiz hinzufügen", "Weitere"):
        assert any(name in label for label in labels), labels
    assert len({round(entry.bounding_box()["y"]) for entry in entries.all()}) == 1, labels
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    journey = page.locator("a[data-askpro-dialog=journey]")
    assert not journey.is_visible()

    # when: the owner opens "Weitere" and picks "Kundenstatus ändern"
    page.locator("li > a:not([href])", has_text="Weitere").click()
    journey.click()

    # then: the dialog opens as from a button
    dialog = _dialog(page)
    assert "Kundenstatus ändern" in dialog.inner_text()
    web_server.screenshot(page, "dialog-customer-journey-from-group", full_page=False)
    dialog.get_by_test_id("dialog-close").click()

    page.locator("li > a:not([href])", has_text="Weitere").click()
    page.get_by_role("link", name="Datenauskunft (Art. 15)").wait_for(state="visible")
    erase = page.locator("a[href$='/privacy-erase/']")
    assert erase.evaluate("a => { const s = a.querySelector('.truncate'); return s.scrollWidth <= s.clientWidth; }")  # not cut off
    web_server.screenshot(page, "customer-toolbar-data-protection", full_page=False)
    assert _unexpected(page.js_errors) == []
