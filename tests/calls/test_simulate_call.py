"""manage.py simulate_call against a live web server (Granian, as in production) on the test
database, with a real Celery worker processing the call webhooks from the inbox."""

from __future__ import annotations

import datetime as dt
from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django_tenants.utils import get_public_schema_name, schema_context, tenant_context

from tests.conftest import wait_for
from tests.fixtures.calls import SALON_NUMBER

KEY = "key_simulator_test"


@pytest.fixture
def granian_env() -> dict[str, str]:
    """The live server signs and checks with the same Retell key as this process."""
    return {"RETELL_API_KEY": KEY}


@pytest.fixture
def live_server_url(granian_url, settings):
    """The production web server (Granian, tests/fixtures/http.py) serving the test database."""
    settings.RETELL_API_KEY = KEY
    return granian_url


@pytest.fixture
def open_salon(committed_db, standard_plan):
    """Salon Schmidt, committed: its number routed, branch Mitte, Haarschnitt, Anna every day 08-20,
    a prepaid balance of 100 € (an empty balance blocks calls: billing's voice block)."""
    from appointments.models import Branch, Service, Staff
    from tenants.models import PhoneNumber, Tenant
    from tests.fixtures.appointments import add_hours

    with schema_context(get_public_schema_name()):
        salon = Tenant.objects.get(slug="salon-schmidt")
        PhoneNumber.objects.create(number=SALON_NUMBER, tenant=salon)
    with tenant_context(salon):
        branch = Branch.objects.create(name="Mitte", time_zone="Europe/Berlin")
        service = Service.objects.create(name="Haarschnitt", duration_minutes=30, price_cents=3500)
        anna = Staff.objects.create(name="Anna")
        anna.branches.add(branch)
        anna.services.add(service)
        add_hours(anna, branch, range(7), "08:00", "20:00")
    from tests.fixtures.billing import fund, make_account

    fund(make_account(salon, standard_plan), 10_000, key="simulated-call-funds")
    return salon


def settled() -> bool:
    """What the webhooks set off (billing, Cal.com push, notifications) has finished: no stored
    webhook and no owed effect is pending, and the live worker runs, holds and schedules no task.
    So nothing commits into the next test after committed_db truncates."""
    from askpro.celery import app
    from integrations.models import OutboxEffect, WebhookEvent

    with schema_context(get_public_schema_name()):
        if (WebhookEvent.objects.filter(status__in=WebhookEvent.PENDING_STATUSES).exists()
                or OutboxEffect.objects.filter(status=OutboxEffect.Status.PENDING).exists()):
            return False
    inspect = app.control.inspect(timeout=1)
    return not any(any((getattr(inspect, kind)() or {}).values()) for kind in ("active", "reserved", "scheduled"))


def simulate(url: str, *extra: str) -> str:
    out = StringIO()
    call_command("simulate_call", "--tenant", "salon-schmidt", "--from", "+49 151 12345678", "--base-url", url,
                 *extra, stdout=out)
    return out.getvalue()


@pytest.mark.slow
def test_a_simulated_call_books_through_the_real_endpoints_and_its_webhooks_build_the_call(
        open_salon, live_server_url, live_worker):
    from appointments.models import Appointment
    from calls.models import Call

    # when
    booked = simulate(live_server_url, "--call-id", "call_sim_book", "--name", "Jürgen Groß", "--time", "11:00")

    # then: the conversation
    lines = booked.splitlines()
    assert lines[2:6] == [
        "Agent: Salon Schmidt, guten Tag! Was kann ich für Sie tun?",
        "Anrufer: Hallo, ich hätte gern einen Termin.",
        "Agent: Ich habe Sie noch nicht in unserer Kundenliste. Wie ist Ihr Name?",
        "Anrufer: Mein Name ist Jürgen Groß.",
    ]
    assert "Anrufer: Am liebsten Haarschnitt, morgen um 11:00." in lines
    assert any(line.startswith("Agent: Ihr Termin für Haarschnitt am ") and line.endswith("um 11:00 Uhr bei Anna ist gebucht.")
               for line in lines)
    assert lines[-3:] == ["[webhook call_started: HTTP 204]", "[webhook call_ended: HTTP 204]",
                          "[webhook call_analyzed: HTTP 204]"]
    # and: the booking and, once the worker has processed the webhooks, the call record
    with tenant_context(open_salon):
        appointment = Appointment.objects.get()
        tomorrow = (dt.datetime.now(dt.UTC).astimezone(appointment.branch.tzinfo) + dt.timedelta(days=1)).date()
        assert (appointment.customer.name, appointment.customer.journey_status, appointment.source) == (
            "Jürgen Groß", "prospect", "phone")
        assert appointment.starts_at.astimezone(appointment.branch.tzinfo).replace(tzinfo=None) == dt.datetime.combine(
            tomorrow, dt.time(11))

        def analyzed():
            return Call.objects.filter(call_id="call_sim_book", analyzed_event_at__isnull=False).first()

        call = wait_for(analyzed, timeout=30)
        assert (call.status, call.appointment_id, call.customer_id, call.summary, call.usage_emitted_at is not None) == (
            "ended", appointment.pk, appointment.customer_id, "Termin gebucht.", True)
        assert call.transcript.startswith("Agent: Salon Schmidt, guten Tag!")

    # when: the same caller calls again and cancels
    cancelled = simulate(live_server_url, "--script", "cancel")

    assert "Agent: Sie haben einen Termin: am " in cancelled
    assert "ist storniert." in cancelled
    with tenant_context(open_salon):
        assert Appointment.objects.get().status == "cancelled"
    wait_for(settled, timeout=60, what="the webhooks' effects settled")


@pytest.mark.parametrize(("args", "error"), [
    (["--tenant", "nope", "--from", "+4915112345678"], "Unknown tenant 'nope'"),
    (["--tenant", "salon-schmidt", "--from", "12"], "--from '12' is not a valid phone number."),
    (["--tenant", "salon-schmidt", "--from", "+4915112345678", "--base-url", "ftp://x"], "is not an http(s) URL"),
    (["--tenant", "salon-schmidt", "--from", "+4915112345678", "--base-url", "http://127.0.0.1:9"],
     "Cannot reach http://127.0.0.1:9/webhooks/retell/inbound"),
])
def test_bad_input_is_a_command_error(salon, settings, args, error):
    from appointments.models import Service

    settings.RETELL_API_KEY = KEY
    with tenant_context(salon):
        Service.objects.create(name="Haarschnitt")

    with pytest.raises(CommandError, match=error.replace("(", r"\(").replace(")", r"\)").replace("?", r"\?")):
        call_command("simulate_call", *args, stdout=StringIO())


def test_without_a_retell_key_the_simulator_refuses_to_start(salon, settings):
    from appointments.models import Service

    settings.RETELL_API_KEY = ""
    with tenant_context(salon):
        Service.objects.create(name="Haarschnitt")

    with pytest.raises(CommandError, match="No Retell key"):
        call_command("simulate_call", "--tenant", "salon-schmidt", "--from", "+4915112345678", stdout=StringIO())
