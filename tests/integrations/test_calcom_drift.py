"""Drift: differences injected silently in Cal.com are detected and resolved by strategy;
endpoints, command and tenant isolation."""

from __future__ import annotations

from datetime import UTC, timedelta
from io import StringIO

import httpx
import pytest
from django.core.management import CommandError, call_command

from appointments.models import Appointment
from integrations.calcom import drift, push
from integrations.calcom.client import Attendee
from integrations.calcom.models import BookingSync, DriftRecord, EventTypeMapping
from tests.fixtures.appointments import berlin


def _pushed(appointment):
    push.request_push(appointment.pk)
    assert push.push_appointment(appointment.pk).state == "synced"
    return BookingSync.objects.get(appointment=appointment)


def _inject(sandbox, uid, **changes):
    """Change a booking in the sandbox without any webhook (drift)."""
    httpx.patch(f"{sandbox.url}/_sandbox/bookings/{uid}", json=changes).raise_for_status()


def _iso(value):
    return value.astimezone(UTC).isoformat()


def test_injected_time_drift_is_detected_and_askpro_wins_by_default(
        salon_on_sandbox, calcom_sandbox, erika_haarschnitt, next_monday):
    # given a pushed appointment, then silently moved in Cal.com to 11:00
    sync = _pushed(erika_haarschnitt)
    _inject(calcom_sandbox, sync.booking_uid, start=_iso(berlin(next_monday, "11:00")))

    # when
    report = drift.detect_drift()

    # then
    assert report.as_dict()["details"] == [{
        "appointment_id": erika_haarschnitt.pk, "booking_uid": sync.booking_uid, "issue": "time_mismatch",
        "platform_value": _iso(berlin(next_monday, "10:00")), "calcom_value": _iso(berlin(next_monday, "11:00")),
    }]
    assert (report.compared, report.as_dict()["drifted_appointments"]) == (1, 1)
    assert BookingSync.objects.get().state == "drift"

    # when resolved by the default strategy (platform_wins)
    resolved = drift.resolve_drift()

    # then Cal.com is moved back to AskPro's time (a new uid), the record is resolved
    assert resolved.as_dict() == {"success": True, "strategy": "platform_wins", "resolved_count": 1,
                                  "failed_count": 0, "manual_review_count": 0, "errors": []}
    sync.refresh_from_db()
    current = calcom_sandbox.state.data["bookings"][sync.booking_uid]
    assert (current["status"], current["start"]) == ("accepted", "2026-11-23T09:00:00.000Z".replace(
        "2026-11-23", next_monday.isoformat()))
    record = DriftRecord.objects.get()
    assert (record.field, record.state, record.strategy) == ("time", "resolved", "platform_wins")
    assert Appointment.objects.get().starts_at == berlin(next_monday, "10:00")
    assert drift.detect_drift().issues == []


def test_calcom_wins_moves_the_local_appointment(salon_on_sandbox, calcom_sandbox, erika_haarschnitt, next_monday):
    sync = _pushed(erika_haarschnitt)
    _inject(calcom_sandbox, sync.booking_uid, start=_iso(berlin(next_monday, "11:00")))
    drift.detect_drift()

    resolved = drift.resolve_drift("calcom_wins")

    assert (resolved.resolved, resolved.failed) == (1, 0)
    appointment = Appointment.objects.get()
    assert (appointment.starts_at, appointment.staff_id, appointment.reschedule_count) == (
        berlin(next_monday, "11:00"), erika_haarschnitt.staff_id, 1)
    assert DriftRecord.objects.get().strategy == "calcom_wins"
    assert drift.detect_drift().issues == []


def test_a_booking_cancelled_silently_in_cal_com_is_booked_again_when_askpro_wins(
        salon_on_sandbox, calcom_sandbox, erika_haarschnitt):
    sync = _pushed(erika_haarschnitt)
    _inject(calcom_sandbox, sync.booking_uid, status="cancelled")
    assert [i.issue for i in drift.detect_drift().issues] == ["status_mismatch"]

    drift.resolve_drift("platform_wins")

    sync.refresh_from_db()
    assert calcom_sandbox.state.data["bookings"][sync.booking_uid]["status"] == "accepted"
    assert len(sync.previous_uids) == 1
    assert Appointment.objects.get().status == "confirmed"


def test_an_attendee_mismatch_goes_to_manual_review_and_is_left_alone(
        salon_on_sandbox, calcom_sandbox, erika_haarschnitt):
    sync = _pushed(erika_haarschnitt)
    _inject(calcom_sandbox, sync.booking_uid, attendee={"name": "Hans Huber", "email": "hans@example.com"})

    report = drift.detect_drift()
    resolved = drift.resolve_drift("calcom_wins")

    assert [i.issue for i in report.issues] == ["attendee_mismatch"]
    record = DriftRecord.objects.get()
    assert (record.state, record.local_value["email"], record.remote_value["email"]) == (
        "manual_review", "erika@example.com", "hans@example.com")
    assert (resolved.resolved, resolved.manual_review) == (0, 0)
    assert BookingSync.objects.get().state == "manual_review"
    assert Appointment.objects.get().customer_id == erika_haarschnitt.customer_id


def test_a_booking_whose_webhook_was_lost_is_found_and_imported(
        salon_on_sandbox, calcom_sandbox, calcom_client, anna, next_monday):
    booking = calcom_client.create_booking(event_type_id=101, start=berlin(next_monday, "15:00"),
                                           attendee=Attendee(name="Maria Schulz", email="maria@example.com"))

    report = drift.detect_drift()
    resolved = drift.resolve_drift()

    assert [(i.appointment_id, i.booking_uid, i.issue) for i in report.issues] == [(None, booking.uid, "missing_locally")]
    assert resolved.resolved == 1
    assert Appointment.objects.get().external_ref == booking.uid


def test_only_bookings_changed_since_the_last_run_are_compared(salon_on_sandbox, calcom_sandbox, erika_haarschnitt):
    _pushed(erika_haarschnitt)
    first = drift.detect_drift()

    second = drift.detect_drift()
    later = drift.detect_drift(now=salon_on_sandbox.__class__.objects.get().last_reconciled_at + timedelta(minutes=5))
    third = drift.detect_drift()

    assert (first.compared, second.compared, later.compared, third.compared) == (1, 1, 1, 0)


# --- endpoints ------------------------------------------------------------------------------


def _auth(api_key):
    return {"Authorization": f"Bearer {api_key[1]}"}


def test_the_endpoints_need_an_api_key_and_a_connection(salon_client, api_key):
    anonymous = salon_client.post("/api/v2/calcom/detect-drift")
    unconnected = salon_client.post("/api/v2/calcom/detect-drift", headers=_auth(api_key))

    assert anonymous.status_code == 401
    assert anonymous.json()["error"]["code"] == "AUTHENTICATION_REQUIRED"
    assert unconnected.status_code == 409
    assert unconnected.json() == {"success": False, "error": {
        "code": "CALCOM_NOT_CONNECTED", "message": unconnected.json()["error"]["message"], "details": {}}}


def test_auto_resolve_refuses_an_unknown_strategy_and_changes_nothing(
        salon_on_sandbox, calcom_sandbox, salon_client, api_key, erika_haarschnitt, next_monday):
    sync = _pushed(erika_haarschnitt)
    _inject(calcom_sandbox, sync.booking_uid, start=_iso(berlin(next_monday, "11:00")))
    detected = salon_client.post("/api/v2/calcom/detect-drift", headers=_auth(api_key))

    refused = salon_client.post("/api/v2/calcom/auto-resolve", {"strategy": "newest_wins"},
                                content_type="application/json", headers=_auth(api_key))
    done = salon_client.post("/api/v2/calcom/auto-resolve", {"strategy": "calcom_wins"},
                             content_type="application/json", headers=_auth(api_key))

    assert (detected.status_code, detected.json()["drift_detected"], detected.json()["drifted_appointments"]) == (
        200, True, 1)
    assert refused.status_code == 400
    assert refused.json()["error"]["code"] == "INVALID_STRATEGY"
    assert refused.json()["error"]["details"] == {"strategy": "newest_wins", "allowed": ["platform_wins", "calcom_wins"]}
    assert (done.status_code, done.json()["resolved_count"]) == (200, 1)
    assert Appointment.objects.get().starts_at == berlin(next_monday, "11:00")


def test_push_event_types_creates_missing_ones_and_updates_mapped_ones(
        salon_on_sandbox, calcom_sandbox, salon_client, api_key, haarschnitt):
    from appointments.models import Service

    Service.objects.create(name="Bartpflege", duration_minutes=20, price_cents=1500)

    response = salon_client.post("/api/v2/calcom/push-event-types", headers=_auth(api_key))

    assert response.status_code == 200
    assert response.json() == {"success": True, "event_types_created": 1, "event_types_updated": 1, "errors": []}
    mapping = EventTypeMapping.objects.get(service__name="Bartpflege")
    remote = calcom_sandbox.state.data["event_types"][mapping.event_type_id]
    assert (remote["title"], remote["slug"], remote["lengthInMinutes"]) == ("Bartpflege", "bartpflege", 20)


def test_a_cal_com_outage_during_detection_is_a_503_with_the_common_shape(
        salon_on_sandbox, calcom_sandbox, salon_client, api_key):
    calcom_sandbox.state.data["failures"].extend(
        [{"status": 503, "retry_after": None, "message": "down", "code": "ServiceUnavailableException"}] * 3)

    response = salon_client.post("/api/v2/calcom/detect-drift", headers=_auth(api_key))

    assert response.status_code == 503
    assert response.json()["error"]["code"] == "CALCOM_UNAVAILABLE"
    assert salon_on_sandbox.__class__.objects.get().last_reconciled_at is None


# --- command --------------------------------------------------------------------------------


def test_calcom_sync_refuses_bad_input(salon_on_sandbox, physio):
    with pytest.raises(CommandError, match="Unknown tenant"):
        call_command("calcom_sync", "--tenant", "nope")
    with pytest.raises(CommandError, match="Unknown strategy"):
        call_command("calcom_sync", "--tenant", "salon-schmidt", "--resolve", "newest_wins")
    with pytest.raises(CommandError, match="not connected for physio-nord"):
        call_command("calcom_sync", "--tenant", "physio-nord", "--detect-drift")


def test_calcom_sync_detects_and_resolves_drift(salon_on_sandbox, calcom_sandbox, erika_haarschnitt, next_monday):
    sync = _pushed(erika_haarschnitt)
    _inject(calcom_sandbox, sync.booking_uid, start=_iso(berlin(next_monday, "11:00")))
    out = StringIO()

    call_command("calcom_sync", "--tenant", "salon-schmidt", "--detect-drift", "--resolve", "platform_wins",
                 "--json", stdout=out)

    lines = out.getvalue().splitlines()
    assert '"drifted_appointments": 1' in lines[0]
    assert '"resolved_count": 1' in lines[1]


def test_calcom_sync_pushes_waiting_appointments(salon_on_sandbox, calcom_sandbox, erika_haarschnitt):
    push.request_push(erika_haarschnitt.pk)
    out = StringIO()

    call_command("calcom_sync", "--tenant", "salon-schmidt", stdout=out)

    assert "by_state: {'synced': 1}" in out.getvalue()
    assert len(calcom_sandbox.state.data["bookings"]) == 1


# --- isolation ------------------------------------------------------------------------------


def test_another_tenant_can_neither_use_the_salons_key_nor_see_its_drift(
        salon_on_sandbox, calcom_sandbox, physio_client, api_key, erika_haarschnitt, next_monday, physio, salon):
    from django_tenants.utils import tenant_context

    sync = _pushed(erika_haarschnitt)
    _inject(calcom_sandbox, sync.booking_uid, start=_iso(berlin(next_monday, "11:00")))
    drift.detect_drift()

    response = physio_client.post("/api/v2/calcom/detect-drift", headers=_auth(api_key))

    assert (response.status_code, response.json()["error"]["code"]) == (401, "AUTHENTICATION_FAILED")
    with tenant_context(physio):
        assert (DriftRecord.objects.count(), BookingSync.objects.count()) == (0, 0)
    with tenant_context(salon):
        assert DriftRecord.objects.count() == 1


def test_a_salon_webhook_sent_to_physio_is_refused_and_changes_nothing(
        salon_on_sandbox, calcom_sandbox, calcom_client, physio_client, physio, next_monday):
    from django_tenants.utils import tenant_context

    from tests.fixtures.integrations import post_calcom, sandbox_webhooks

    calcom_client.create_booking(event_type_id=101, start=berlin(next_monday, "09:00"),
                                 attendee=Attendee(name="Maria", email="maria@example.com"))

    response = post_calcom(physio_client, sandbox_webhooks(calcom_sandbox)[0])

    assert (response.status_code, response.json()["error"]["code"]) == (401, "SIGNATURE_INVALID")
    with tenant_context(physio):
        assert Appointment.objects.count() == 0


def test_the_tenant_dashboard_shows_failing_syncs_and_open_drift(salon_on_sandbox, erika_haarschnitt, rf):
    from integrations.calcom.dashboard import tenant_panels

    DriftRecord.objects.create(appointment=erika_haarschnitt, field="attendee", state="manual_review")

    [panel] = tenant_panels(rf.get("/admin/"))
    [item] = panel.data

    assert (panel.key, panel.kind) == ("integration-health", "health")
    assert (item.value, item.href, item.status) == ("0 failing · 1 to review", "/admin/calcom/driftrecord/", "warning")
