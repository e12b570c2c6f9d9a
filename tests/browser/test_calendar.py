"""The calendar in a real browser, on the demo salon: what a receptionist sees and does.

The browser runs in New York time on purpose: the calendar must show Berlin's wall times."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.utils import timezone
from django_tenants.utils import tenant_context

from appointments import demo
from appointments.models import Appointment, Branch, Staff
from appointments.queries import find_slots

pytestmark = [pytest.mark.browser, pytest.mark.slow]

CALENDAR = "/admin/appointments/appointment/calendar/"
BERLIN = timezone.get_default_timezone()
SHOWN = ("pending", "confirmed", "in_progress", "completed", "no_show")


@pytest.fixture
def demo_salon(committed_db: None, salon: Any) -> Any:
    with tenant_context(salon):
        demo.seed_tenant(salon)
    return salon


def _first_day_with(branch: Branch, since: date, **filters: Any) -> date:
    day = since
    while not Appointment.objects.filter(branch=branch, starts_at__date=day, status__in=SHOWN, **filters).exists():
        day += timedelta(days=1)
    return day


def _open(page: Any, server: Any, host: str, day: date, view: str = "resourceTimeGridDay") -> None:
    page.goto(server.url(host, f"{CALENDAR}?date={day.isoformat()}&view={view}"))
    page.wait_for_selector(f"#ap-calendar[data-loaded='{day.isoformat()}']")


def _hour_pixels(page: Any) -> float:
    """Pixels per hour of the time grid, from two hour labels of the axis."""
    return _label(page, "10:00")["y"] - _label(page, "09:00")["y"]


def _label(page: Any, text: str) -> dict[str, float]:
    """Where a text of the calendar (an hour label, a staff member's column header) is."""
    return page.locator("#ap-calendar .ec-sidebar, #ap-calendar .ec-header").get_by_text(
        text, exact=True).first.bounding_box()


def _drag(page: Any, appointment_id: int, minutes: int) -> None:
    # the events are re-rendered when a feed request finishes: grab the one on screen after that
    page.wait_for_selector("#ap-calendar:not([data-busy])")
    event = page.locator(f".ap-ev[data-appointment-id='{appointment_id}']")
    event.wait_for(state="visible")
    box = event.bounding_box()
    x, y = box["x"] + box["width"] / 2, box["y"] + 4
    dy = minutes / 60 * _hour_pixels(page)
    page.mouse.move(x, y)
    page.mouse.down()
    for step in range(1, 11):
        page.mouse.move(x, y + dy * step / 10)
    page.mouse.up()


def test_the_day_shows_the_demo_appointments_at_berlin_times_in_their_staff_columns(
    demo_salon, web_server, browser_page,
):
    # given: the first day from today on with appointments at Mitte
    login = web_server.tenant_login(demo_salon, role="receptionist")
    with tenant_context(demo_salon):
        branch = Branch.objects.get(name="Mitte")
        day = _first_day_with(branch, timezone.localdate())
        expected = list(
            Appointment.objects.filter(branch=branch, starts_at__date=day, status__in=SHOWN)
            .select_related("staff", "customer").order_by("starts_at")
        )
        staff_names = list(Staff.objects.filter(branches=branch).order_by("name").values_list("name", flat=True))
    page = browser_page(login, timezone="America/New_York")

    # when
    _open(page, web_server, login.host, day)

    # then: every appointment is in its staff member's column at its Berlin time
    headers = {name: _label(page, name) for name in staff_names}
    assert page.locator(".ap-ev").count() == len(expected)
    for appointment in expected:
        event = page.locator(f".ap-ev[data-appointment-id='{appointment.pk}']")
        start = appointment.starts_at.astimezone(BERLIN)
        end = appointment.ends_at.astimezone(BERLIN)
        assert event.locator(".ap-ev-time").inner_text() == f"{start:%H:%M}–{end:%H:%M}"
        assert event.get_attribute("data-status") == appointment.status
        column = headers[appointment.staff.name]
        centre = event.bounding_box()["x"] + event.bounding_box()["width"] / 2
        assert column["x"] <= centre <= column["x"] + column["width"], appointment.staff.name
    assert page.js_errors == []
    web_server.screenshot(page, "calendar-day", full_page=False)

    # and the week view shows the same appointments with the staff member's name
    page.get_by_role("button", name="Woche").click()
    monday = day - timedelta(days=day.weekday())
    page.wait_for_selector(f"#ap-calendar[data-loaded='{monday.isoformat()}']")
    assert expected[0].staff.name in page.locator(
        f".ap-ev[data-appointment-id='{expected[0].pk}'] .ap-ev-time").inner_text()
    web_server.screenshot(page, "calendar-week", full_page=False)
    assert page.js_errors == []


def test_dragging_moves_an_appointment_and_a_taken_time_is_refused(demo_salon, web_server, browser_page):
    # given: a future day on which Anna has two confirmed appointments and a free time
    login = web_server.tenant_login(demo_salon, role="receptionist")
    user_id = None
    with tenant_context(demo_salon):
        user_id = get_user_model().objects.get(username=login.username).pk
        anna = Staff.objects.get(name="Anna Becker")
        branch = Branch.objects.get(name="Mitte")
        quarter = timedelta(minutes=15)
        day = timezone.localdate() + timedelta(days=1)
        while True:  # a day with two confirmed appointments and a free time whose neighbours are free too
            day += timedelta(days=1)
            confirmed = list(Appointment.objects.filter(staff=anna, starts_at__date=day, status="confirmed")
                             .order_by("starts_at")[:2])
            if len(confirmed) < 2:
                continue
            first, second = confirmed
            free = [slot.starts_at for slot in find_slots(
                service_id=first.service_id, date_from=day, staff_id=anna.pk, branch_id=branch.pk,
                ignore_appointment_id=first.pk) if slot.starts_at != first.starts_at]
            target = next((t for t in free if t - quarter in free and t + quarter in free), None)
            if target is not None:
                break
        before_second = (second.starts_at, second.version)
    page = browser_page(login, timezone="America/New_York", viewport=(1440, 1700))  # the whole day in view
    _open(page, web_server, login.host, day)

    # when: drag the first appointment to the free time
    _drag(page, first.pk, int((target - first.starts_at).total_seconds() // 60))

    # then: stored at the new time, history says who moved it, the calendar shows it there
    message = page.get_by_test_id("calendar-message")
    message.get_by_text("Verschoben auf").wait_for()
    with tenant_context(demo_salon):
        first.refresh_from_db()
        assert first.starts_at == target
        assert first.history.latest().history_user_id == user_id
    local = target.astimezone(BERLIN)
    page.wait_for_function(
        f"document.querySelector(\".ap-ev[data-appointment-id='{first.pk}'] .ap-ev-time\")"
        f".textContent.startsWith('{local:%H:%M}')")

    # when: drag it onto the second appointment's time
    _drag(page, first.pk, int((second.starts_at - first.starts_at).total_seconds() // 60))

    # then: refused with the reason, snapped back, nothing changed
    message.get_by_text("Nicht verschoben").wait_for()
    assert "nicht mehr verfügbar" in message.inner_text()
    assert page.locator(f".ap-ev[data-appointment-id='{first.pk}'] .ap-ev-time").inner_text().startswith(
        f"{local:%H:%M}")
    with tenant_context(demo_salon):
        first_after = Appointment.objects.get(pk=first.pk)
        second.refresh_from_db()
        assert (first_after.starts_at, first_after.version) == (target, first.version)
        assert (second.starts_at, second.version) == before_second
    assert [e for e in page.js_errors if "status of 409" not in e] == []  # the refusal's own answer only


def test_click_to_book_offers_free_times_after_a_refusal_and_books_exactly_once(demo_salon, web_server, browser_page):
    # given: a future day with a free 30-minute gap for Ben and one of his taken times
    login = web_server.tenant_login(demo_salon, role="receptionist")
    with tenant_context(demo_salon):
        ben = Staff.objects.get(name="Ben Wagner")
        branch = Branch.objects.get(name="Mitte")
        day = timezone.localdate() + timedelta(days=1)
        while day.weekday() > 3 or not Appointment.objects.filter(
                staff=ben, starts_at__date=day, status="confirmed").exists():
            day += timedelta(days=1)
        taken = Appointment.objects.filter(staff=ben, starts_at__date=day, status="confirmed").order_by(
            "starts_at").first()
        service = taken.service
        free = find_slots(service_id=service.pk, date_from=day, staff_id=ben.pk, branch_id=branch.pk)
        slot = free[0].starts_at.astimezone(BERLIN)
        customer = taken.customer
        national = "0" + customer.phone[3:6] + " " + customer.phone[6:]  # +49151... → 0151 ...
        before = Appointment.objects.count()
    page = browser_page(login, timezone="America/New_York", viewport=(1440, 1700))
    _open(page, web_server, login.host, day)

    # when: click Ben's column at the free time
    column = _label(page, "Ben Wagner")
    nine = _label(page, "09:00")
    hour = _hour_pixels(page)
    minutes_from_nine = (slot.hour - 9) * 60 + slot.minute
    page.mouse.click(column["x"] + column["width"] / 2,
                     nine["y"] + nine["height"] / 2 + (minutes_from_nine + 5) / 60 * hour)

    # then: the dialog is prefilled with Ben, the time and the branch
    dialog = page.get_by_test_id("booking-dialog")
    dialog.wait_for()
    assert dialog.locator("[name=start]").input_value() == f"{slot:%Y-%m-%dT%H:%M}"
    assert dialog.locator("[name=staff_id] option:checked").inner_text() == "Ben Wagner"
    assert dialog.locator("[name=branch_name]").input_value() == "Mitte"

    # when: find the customer by phone in national notation, pick the service, ask for a taken time
    dialog.locator("[name=customer_query]").fill(national)
    dialog.locator("[data-customer]").first.click()
    dialog.locator("[name=service_id]").select_option(str(service.pk))
    taken_local = taken.starts_at.astimezone(BERLIN)
    dialog.locator("[name=start]").fill(f"{taken_local:%Y-%m-%dT%H:%M}")
    dialog.locator("[name=notes]").fill("Bitte pünktlich")
    dialog.get_by_test_id("booking-submit").click()

    # then: refused with the reason and free times; what was typed is kept
    error = dialog.get_by_test_id("booking-error")
    error.get_by_text("nicht mehr verfügbar").wait_for()
    assert dialog.locator("[name=notes]").input_value() == "Bitte pünktlich"
    with tenant_context(demo_salon):
        assert Appointment.objects.count() == before

    # when: take the first offered time and book
    chip = error.locator(".ap-chip").first
    chosen = chip.get_attribute("data-start")
    chip.click()
    dialog.get_by_test_id("booking-submit").click()
    page.get_by_test_id("calendar-message").get_by_text("Gebucht").wait_for()

    # then: exactly one appointment, for that customer with Ben at the chosen time
    with tenant_context(demo_salon):
        assert Appointment.objects.count() == before + 1
        booked = Appointment.objects.latest("id")
        assert (booked.customer_id, booked.staff_id, booked.service_id, booked.notes, booked.source) == (
            customer.pk, ben.pk, service.pk, "Bitte pünktlich", "admin")
        assert booked.starts_at == datetime.fromisoformat(chosen).replace(tzinfo=BERLIN)
    page.locator(f".ap-ev[data-appointment-id='{booked.pk}']").wait_for()
    assert [e for e in page.js_errors if "status of 409" not in e] == []
