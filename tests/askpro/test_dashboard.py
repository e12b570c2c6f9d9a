"""The dashboards: figures from the database, role-aware money, the platform's operations view."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from django.contrib.auth import get_user_model
from django.test import Client, override_settings

from appointments import services
from appointments.dashboard import figures
from appointments.models import Appointment
from askpro.dashboard import cached
from tests.conftest import SALON_HOST


def _login(role: str, salon) -> Client:
    from tenants import services as tenant_services

    email = f"{role}@dash.example"
    tenant_services.create_tenant_user(salon, email=email, role=role, password="x" * 12)
    client = Client(HTTP_HOST=SALON_HOST, HTTP_ACCEPT_LANGUAGE="de")
    client.force_login(get_user_model().objects.get(username=email))
    return client


def _kpis(response) -> dict[str, str]:
    return {kpi.key: kpi.value for panel in response.context["askpro_panels"] if panel.kind == "kpis"
            for kpi in panel.data}


def test_the_kpis_count_this_and_last_week_and_the_rates_of_30_days(in_salon, anna, haarschnitt, customer_erika):
    # given: a no-show, a completed and a cancelled appointment in the last 30 days of a fixed "now"
    now = datetime(2026, 12, 15, 11, 0, tzinfo=UTC)  # a Tuesday: the 10th-12th are last week
    a = services.book_appointment(customer_id=customer_erika.pk, service_id=haarschnitt.pk, staff_id=anna.pk,
                                  starts_at=now + timedelta(days=2), source="admin", actor="t",
                                  check_availability=False)
    Appointment.objects.filter(pk=a.pk).update(starts_at=now - timedelta(days=3),
                                               ends_at=now - timedelta(days=3) + timedelta(minutes=30),
                                               status="no_show")
    b = services.book_appointment(customer_id=customer_erika.pk, service_id=haarschnitt.pk, staff_id=anna.pk,
                                  starts_at=now + timedelta(days=3), source="admin", actor="t",
                                  check_availability=False)
    Appointment.objects.filter(pk=b.pk).update(starts_at=now - timedelta(days=4),
                                               ends_at=now - timedelta(days=4) + timedelta(minutes=30),
                                               status="completed")
    c = services.book_appointment(customer_id=customer_erika.pk, service_id=haarschnitt.pk, staff_id=anna.pk,
                                  starts_at=now + timedelta(days=1), source="admin", actor="t",
                                  check_availability=False)
    Appointment.objects.filter(pk=c.pk).update(starts_at=now - timedelta(days=5),
                                               ends_at=now - timedelta(days=5) + timedelta(minutes=30),
                                               status="cancelled")

    # when
    f = figures(now)

    # then
    assert (f["last30_all"], f["last30_settled"], f["last30_no_show"], f["last30_cancelled"]) == (3, 2, 1, 1)
    assert (f["revenue"], f["revenue_previous"]) == (3500, 0)  # only the completed one earns
    assert (f["today"], f["week"]) == (0, 0)


def test_the_owner_sees_revenue_and_balance_and_a_receptionist_sees_neither(in_salon, erika_haarschnitt):
    owner = _login("admin", in_salon).get("/admin/")
    receptionist = _login("receptionist", in_salon).get("/admin/")

    assert owner.status_code == receptionist.status_code == 200
    assert "revenue-month" in _kpis(owner)
    assert "revenue-month" not in _kpis(receptionist)
    assert "balance" not in _kpis(receptionist)
    assert "Umsatz" not in receptionist.content.decode()
    assert {"appointments-today", "appointments-week", "no-show-rate", "cancellation-rate", "calls-today",
            "calls-booked-today"} <= set(_kpis(receptionist))
    panels = {panel.key for panel in receptionist.context["askpro_panels"]}
    assert {"today", "bookings-by-source", "journey", "calls-by-outcome", "notifications-by-channel",
            "integration-health", "policy-violations"} <= panels


def test_the_next_free_time_is_on_the_timeline(in_salon, erika_haarschnitt, ben):
    response = _login("receptionist", in_salon).get("/admin/")

    today = next(panel for panel in response.context["askpro_panels"] if panel.key == "today")
    assert today.data["next_free"]["service"] == "Haarschnitt"
    assert today.data["next_free"]["href"].startswith("/admin/appointments/appointment/calendar/?branch=")


def test_the_platform_dashboard_shows_tenants_inbox_and_breakers(public_client, public_tenant):
    from tenants import services as tenant_services
    from tests.fixtures.security import login_operator

    tenant_services.create_operator(email="op@dash.example", password="x" * 12)
    assert login_operator(public_client, "op@dash.example", "x" * 12).status_code == 302  # with the TOTP code
    response = public_client.get("/admin/", HTTP_ACCEPT_LANGUAGE="de")

    assert response.status_code == 200
    kpis = _kpis(response)
    assert kpis["tenants-active"] == "2"
    assert kpis["tenants-suspended"] == "0"
    assert {"platform-calls-today", "platform-revenue", "platform-margin", "billing-run"} <= set(kpis)
    panels = {panel.key: panel for panel in response.context["askpro_panels"]}
    assert [row[0] for row in panels["webhook-inbox"].data["rows"]] == ["Stripe", "Retell", "Cal.com"]
    assert len(panels["breakers"].data) == 3


def test_figures_are_kept_briefly_per_tenant(in_salon):
    calls = []

    with override_settings(DASHBOARD_CACHE_SECONDS=30):
        first = cached("test:kept", lambda: calls.append(1) or len(calls))
        second = cached("test:kept", lambda: calls.append(1) or len(calls))
        from django.core.cache import cache

        cache.delete("dashboard:test:kept")

    assert (first, second, len(calls)) == (1, 1, 1)
