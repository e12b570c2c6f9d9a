"""Tenant admin: the sync state is visible on the appointment and in the lists; push again."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model

from integrations.calcom import push
from integrations.calcom.models import BookingSync, DriftRecord


@pytest.fixture
def admin_client(in_salon, salon_client):
    user = get_user_model().objects.create_superuser("chef@salon.example", "chef@salon.example", "x" * 12)
    salon_client.force_login(user)
    return salon_client


def test_the_appointment_page_shows_its_cal_com_sync_state_and_error(
        admin_client, salon_on_sandbox, calcom_sandbox, erika_haarschnitt):
    calcom_sandbox.state.data["failures"].append({"status": 502, "retry_after": None, "message": "bad gateway",
                                                  "code": "BadGatewayException"})
    push.request_push(erika_haarschnitt.pk)
    push.push_appointment(erika_haarschnitt.pk)

    page = admin_client.get(f"/admin/appointments/appointment/{erika_haarschnitt.pk}/change/")
    syncs = admin_client.get("/admin/calcom/bookingsync/?state=failed")
    drift = admin_client.get("/admin/calcom/driftrecord/")

    assert page.status_code == syncs.status_code == drift.status_code == 200
    assert "Cal.com sync" in page.content.decode()
    assert "CALCOM_UNAVAILABLE" in page.content.decode()
    assert "CALCOM_UNAVAILABLE" in syncs.content.decode()


def test_push_again_queues_a_push_that_succeeds(admin_client, salon_on_sandbox, calcom_sandbox, erika_haarschnitt,
                                               celery_eager, django_capture_on_commit_callbacks):
    sync = BookingSync.objects.create(appointment=erika_haarschnitt, state="failed", push_attempts=8,
                                      last_error="CALCOM_UNAVAILABLE: down")

    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post("/admin/calcom/bookingsync/", {
            "action": "push_now", "_selected_action": [sync.pk]})

    assert response.status_code == 302
    sync.refresh_from_db()
    assert (sync.state, sync.push_attempts, sync.last_error) == ("synced", 0, "")
    assert len(calcom_sandbox.state.data["bookings"]) == 1


def test_a_drift_record_can_be_marked_reviewed(admin_client, salon_on_sandbox, erika_haarschnitt):
    record = DriftRecord.objects.create(appointment=erika_haarschnitt, field="attendee", state="manual_review")

    admin_client.post("/admin/calcom/driftrecord/", {"action": "mark_reviewed", "_selected_action": [record.pk]})

    record.refresh_from_db()
    assert record.state == "resolved" and record.resolved_at is not None
