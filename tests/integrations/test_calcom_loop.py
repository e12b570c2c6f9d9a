"""The whole Cal.com loop, offline: AskPro over HTTP, a real Celery worker, the sandbox sending
signed webhooks. Book in AskPro -> in the sandbox; reschedule in the sandbox -> webhook -> AskPro
moved; drift injected -> detected -> resolved."""

from __future__ import annotations

from datetime import UTC, timedelta

import httpx
import pytest
from django.utils import timezone
from django_tenants.utils import tenant_context

from appointments.models import Appointment, Branch, Customer, Service, Staff
from appointments.services import book_appointment
from integrations.calcom import drift
from integrations.calcom.client import CalcomClient
from integrations.calcom.models import BookingSync, CalcomConnection, EventTypeMapping, StaffMapping
from integrations.calcom_sandbox import SANDBOX_API_KEY, CalcomSandbox
from integrations.models import WebhookEvent
from tenants.models import Tenant
from tests.conftest import wait_for
from tests.fixtures.appointments import add_hours, berlin
from tests.fixtures.integrations import CALCOM_SECRET

pytestmark = pytest.mark.slow


def _salon_cast(sandbox_url: str) -> tuple[Customer, Service, Staff]:
    branch = Branch.objects.create(name="Mitte", street="Torstraße 1", postal_code="10119", city="Berlin")
    service = Service.objects.create(name="Haarschnitt", duration_minutes=30, price_cents=3500, min_notice_minutes=60)
    anna = Staff.objects.create(name="Anna Becker", email="anna@salon-schmidt.example")
    anna.branches.add(branch)
    anna.services.add(service)
    add_hours(anna, branch, range(0, 6), "09:00", "18:00")
    customer = Customer.objects.create(name="Erika Mustermann", phone="+4915112345678", email="erika@example.com")
    CalcomConnection.objects.create(api_url=sandbox_url, api_key=SANDBOX_API_KEY, webhook_secret=CALCOM_SECRET)
    EventTypeMapping.objects.create(service=service, event_type_id=101, length_minutes=30)
    StaffMapping.objects.create(staff=anna, calcom_user_id=1)
    return customer, service, anna


def _settled() -> bool:
    return not WebhookEvent.objects.exclude(status__in=("processed", "ignored")).exists()


def test_the_full_loop_runs_against_the_sandbox_through_a_real_worker(live_worker, askpro_server):
    salon = Tenant.objects.get(slug="salon-schmidt")
    sandbox = CalcomSandbox(webhook_url=f"{askpro_server}/api/calcom/webhook/salon-schmidt",
                            webhook_secret=CALCOM_SECRET).start()
    today = timezone.localdate()
    monday = today + timedelta(days=7 - today.weekday())
    try:
        with tenant_context(salon):
            customer, service, anna = _salon_cast(sandbox.url)

            # book in AskPro -> appears in the sandbox (pushed by the worker)
            appointment = book_appointment(customer_id=customer.pk, service_id=service.pk, staff_id=anna.pk,
                                           starts_at=berlin(monday, "10:00"), source="admin", actor="admin:test")
            sync = wait_for(lambda: BookingSync.objects.filter(state="synced").exclude(booking_uid=None).first(), timeout=60)
            remote = sandbox.state.data["bookings"][sync.booking_uid]
            assert (remote["status"], remote["metadata"]["askpro_appointment_id"]) == ("accepted", str(appointment.pk))

            # reschedule in the sandbox -> signed webhook -> AskPro updated
            with CalcomClient(SANDBOX_API_KEY, sandbox.url) as client:
                moved = client.reschedule_booking(sync.booking_uid, start=berlin(monday, "15:00"))
            wait_for(lambda: Appointment.objects.get(pk=appointment.pk).starts_at == berlin(monday, "15:00"), timeout=60)
            sync = wait_for(lambda: BookingSync.objects.filter(booking_uid=moved.uid).first(), timeout=60)
            assert sync.previous_uids == [remote["uid"]]
            sandbox.wait_for_deliveries(2, timeout=60)
            wait_for(_settled, timeout=60)

            # drift injected (silently) -> detected -> resolved (AskPro wins)
            httpx.patch(f"{sandbox.url}/_sandbox/bookings/{moved.uid}",
                        json={"start": berlin(monday, "16:00").isoformat()}).raise_for_status()
            report = drift.detect_drift(full=True)
            assert [(i.appointment_id, i.issue) for i in report.issues] == [(appointment.pk, "time_mismatch")]
            resolved = drift.resolve_drift()
            assert (resolved.resolved, resolved.failed) == (1, 0)
            sandbox.wait_for_deliveries(3, timeout=60)
            wait_for(_settled, timeout=60)

            sync = BookingSync.objects.get(appointment=appointment)
            current = sandbox.state.data["bookings"][sync.booking_uid]
            assert (current["status"], current["start"]) == (
                "accepted", berlin(monday, "15:00").astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z"))
            assert Appointment.objects.get(pk=appointment.pk).starts_at == berlin(monday, "15:00")
            assert drift.detect_drift(full=True).issues == []
            assert [d["status"] for d in sandbox.state.data["deliveries"]] == [200, 200, 200]
    finally:
        sandbox.stop()
