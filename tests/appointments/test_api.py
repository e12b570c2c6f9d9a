from __future__ import annotations

import json
from datetime import UTC, timedelta

import pytest
from django.utils import timezone
from django_tenants.utils import tenant_context

from appointments.api_keys import create_api_key, revoke_api_key
from appointments.models import ApiKey, Appointment, PolicyConfiguration
from tests.fixtures.appointments import berlin


def _auth(raw: str) -> dict[str, str]:
    return {"HTTP_AUTHORIZATION": f"Bearer {raw}"}


def _post(client, path, body, raw, method="post"):
    if method == "get":
        return client.get(path, **_auth(raw))
    return getattr(client, method)(path, data=json.dumps(body), content_type="application/json", **_auth(raw))


def test_the_api_refuses_requests_without_a_key_with_the_error_shape(salon_client, in_salon):
    response = salon_client.post("/api/v2/availability/simple", data={}, content_type="application/json")

    assert response.status_code == 401
    body = response.json()
    assert (body["success"], body["error"]["code"], body["error"]["details"]) == (
        False, "AUTHENTICATION_REQUIRED", {})
    assert response["WWW-Authenticate"] == 'Bearer realm="askpro"'


def test_a_wrong_revoked_or_expired_key_is_refused(salon_client, api_key, haarschnitt, next_monday):
    key, raw = api_key
    body = {"date": next_monday.isoformat(), "service_id": haarschnitt.pk}
    expired, expired_raw = create_api_key(name="old", actor="test", expires_at=timezone.now() - timedelta(minutes=1))

    wrong = _post(salon_client, "/api/v2/availability/simple", body, raw[:-2] + "xx")
    outdated = _post(salon_client, "/api/v2/availability/simple", body, expired_raw)
    revoke_api_key(key_id=key.pk)
    revoked = _post(salon_client, "/api/v2/availability/simple", body, raw)

    assert [r.status_code for r in (wrong, outdated, revoked)] == [401, 401, 401]
    assert {r.json()["error"]["code"] for r in (wrong, outdated, revoked)} == {"AUTHENTICATION_FAILED"}


def test_a_key_of_one_tenant_is_useless_on_another_tenants_host(salon_client, physio_client, physio, in_salon):
    # given a key of Physio Nord
    with tenant_context(physio):
        _key, raw = create_api_key(name="Physio website", actor="test")

    # when it is used on Salon Schmidt's host, and on its own
    on_salon = _post(salon_client, "/api/v2/bookings", {}, raw, method="get")
    on_physio = _post(physio_client, "/api/v2/bookings", {}, raw, method="get")

    # then
    assert on_salon.status_code == 401
    assert on_physio.status_code == 200
    assert on_physio.json() == {"success": True, "count": 0, "results": []}


def test_simple_availability_lists_the_slots_in_branch_time(salon_client, api_key, anna, ben, haarschnitt,
                                                            next_monday):
    # when
    response = _post(salon_client, "/api/v2/availability/simple",
                     {"date": next_monday.isoformat(), "service_id": haarschnitt.pk}, api_key[1])

    # then
    assert response.status_code == 200
    body = response.json()
    assert body["available"] is True
    first = body["slots"][0]
    assert first == {
        "date": next_monday.isoformat(), "start": "09:00", "end": "09:30",
        "starts_at": berlin(next_monday, "09:00").isoformat(), "ends_at": berlin(next_monday, "09:30").isoformat(),
        "branch_id": anna.branches.get().pk, "staff_id": anna.pk, "staff_ids": [anna.pk],
    }
    assert len(body["slots"]) == 35
    api_key[0].refresh_from_db()
    assert api_key[0].last_used_at is not None


def test_composite_availability_answers_with_segments_and_total_duration(salon_client, api_key, anna, haarschnitt,
                                                                         next_monday):
    response = _post(salon_client, "/api/v2/availability/composite", {
        "date": next_monday.isoformat(), "staff_id": anna.pk,
        "services": [{"service_id": haarschnitt.pk, "duration": 30}, {"service_id": haarschnitt.pk, "duration": 15}],
    }, api_key[1])

    assert response.status_code == 200
    body = response.json()
    assert body["total_duration"] == 45
    assert [(seg["start"], seg["end"]) for seg in body["slots"][0]["segments"]] == [("09:00", "09:30"),
                                                                                 ("09:30", "09:45")]


def test_invalid_input_lists_the_fields(salon_client, api_key, in_salon):
    response = _post(salon_client, "/api/v2/availability/simple", {"date": "morgen"}, api_key[1])

    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "VALIDATION_ERROR"
    assert set(error["details"]["fields"]) == {"date", "service_id"}


def test_booking_through_the_api_and_a_second_booking_of_the_same_slot(salon_client, api_key, anna, haarschnitt,
                                                                       customer_erika, next_monday):
    body = {"customer_id": customer_erika.pk, "service_id": haarschnitt.pk, "staff_id": anna.pk,
            "starts_at": berlin(next_monday, "14:00").isoformat(), "notes": "Allergien: keine"}

    first = _post(salon_client, "/api/v2/bookings", body, api_key[1])
    second = _post(salon_client, "/api/v2/bookings", body, api_key[1])

    assert first.status_code == 201
    appointment = Appointment.objects.get()
    assert first.json()["appointment_id"] == appointment.pk
    assert first.json()["appointment"]["starts_at"] == berlin(next_monday, "14:00").isoformat()
    assert (appointment.source, appointment.notes) == ("api", "Allergien: keine")
    assert appointment.history.first().history_change_reason == f"booked by api:{api_key[0].prefix}"
    assert second.status_code == 409
    error = second.json()["error"]
    assert error["code"] == "SLOT_UNAVAILABLE"
    assert error["details"]["alternatives"][0]["staff_id"] == anna.pk
    assert Appointment.objects.count() == 1


def test_booking_with_a_new_customer_creates_the_customer_by_phone(salon_client, api_key, anna, haarschnitt,
                                                                   next_monday):
    response = _post(salon_client, "/api/v2/bookings", {
        "customer": {"name": "Hans Meier", "phone": "030 1234567"}, "service_id": haarschnitt.pk,
        "starts_at": berlin(next_monday, "15:00").isoformat(), "source": "phone"}, api_key[1])

    assert response.status_code == 201
    assert response.json()["appointment"]["customer"]["phone"] == "+49301234567"
    assert Appointment.objects.get().source == "phone"


def test_reschedule_and_cancel_through_the_api_report_the_policy(salon_client, api_key, erika_haarschnitt,
                                                                 next_monday):
    PolicyConfiguration.objects.create(policy_type="cancellation", min_hours_notice=24 * 365,
                                       violation_action="charge_fee", fee_cents=1500)
    path = f"/api/v2/bookings/{erika_haarschnitt.pk}"

    moved = _post(salon_client, f"{path}/reschedule", {"new_starts_at": berlin(next_monday, "16:00").isoformat(),
                                                       "reason": "Kundenwunsch", "version": 1}, api_key[1],
                  method="patch")
    cancelled = _post(salon_client, path, {"reason": "Krank", "notify_customer": False}, api_key[1],
                      method="delete")

    assert moved.status_code == 200
    assert moved.json() == {
        "success": True, "appointment_id": erika_haarschnitt.pk,
        "old_time": berlin(next_monday, "10:00").isoformat(), "new_time": berlin(next_monday, "16:00").isoformat(),
        "policy_check": "passed", "policy_violation": False, "violations": [], "fee_cents": 0, "version": 2,
    }
    assert cancelled.status_code == 200
    assert cancelled.json() == {
        "success": True, "appointment_id": erika_haarschnitt.pk, "status": "cancelled",
        "policy_violation": True, "policy_check": "fee_charged", "violations": ["min_hours_notice"],
        "cancellation_fee_cents": 1500, "currency": "EUR", "refund_eligible": False,
    }


def test_a_stale_version_is_refused_with_409(salon_client, api_key, erika_haarschnitt, next_monday):
    response = _post(salon_client, f"/api/v2/bookings/{erika_haarschnitt.pk}/reschedule",
                     {"new_starts_at": berlin(next_monday, "16:00").isoformat(), "version": 7}, api_key[1],
                     method="patch")

    assert response.status_code == 409
    assert response.json()["error"]["code"] == "STALE_APPOINTMENT"


def test_bookings_are_listed_with_filters(salon_client, api_key, erika_haarschnitt, next_monday):
    hit = _post(salon_client, f"/api/v2/bookings?status=confirmed&date_from={next_monday}", {}, api_key[1],
                method="get")
    miss = _post(salon_client, "/api/v2/bookings?status=cancelled", {}, api_key[1], method="get")

    assert hit.json()["count"] == 1
    assert hit.json()["results"][0]["id"] == erika_haarschnitt.pk
    assert miss.json()["count"] == 0


def test_a_booking_downloads_as_an_ics_file(salon_client, api_key, erika_haarschnitt, next_monday):
    response = salon_client.get(f"/api/v2/bookings/{erika_haarschnitt.pk}/ics", **_auth(api_key[1]))

    assert response.status_code == 200
    assert response["Content-Type"] == "text/calendar; charset=utf-8"
    text = response.content.decode()
    start = berlin(next_monday, "10:00").astimezone(UTC)
    assert f"DTSTART:{start:%Y%m%dT%H%M%SZ}" in text
    assert "SUMMARY:Haarschnitt · Mitte" in text
    assert f"UID:appointment-{erika_haarschnitt.pk}@salon-schmidt.localhost" in text


def test_an_unknown_booking_is_a_404_with_the_error_shape(salon_client, api_key):
    response = salon_client.get("/api/v2/bookings/999999", **_auth(api_key[1]))

    assert response.status_code == 404
    assert response.json()["error"]["code"] == "NOT_FOUND"


def test_availability_is_throttled_per_key_with_retry_after(salon_client, api_key, haarschnitt, next_monday,
                                                            settings):
    # given a limit of 2 per minute for this test
    settings.ASKPRO_API_THROTTLE_RATES = {"availability": "2/min"}
    other, other_raw = create_api_key(name="other", actor="test")
    body = {"date": next_monday.isoformat(), "service_id": haarschnitt.pk}

    # when
    codes = [_post(salon_client, "/api/v2/availability/simple", body, api_key[1]).status_code for _ in range(2)]
    limited = _post(salon_client, "/api/v2/availability/simple", body, api_key[1])
    other_key = _post(salon_client, "/api/v2/availability/simple", body, other_raw)

    # then
    assert codes == [200, 200]
    assert limited.status_code == 429
    assert limited.json()["error"]["code"] == "RATE_LIMITED"
    assert 1 <= int(limited["Retry-After"]) <= 60
    assert other_key.status_code == 200


@pytest.mark.parametrize("path", ["/api/schema/", "/api/docs/"])
def test_the_openapi_schema_and_docs_are_served(salon_client, path, in_salon):
    response = salon_client.get(path)

    assert response.status_code == 200
    if path == "/api/schema/":
        assert b"/api/v2/bookings/{id}/reschedule:" in response.content
        assert b"scheme: bearer" in response.content


def test_api_keys_are_stored_hashed_with_a_visible_prefix(in_salon):
    key, raw = create_api_key(name="Website", actor="admin:1")

    stored = ApiKey.objects.get(pk=key.pk)
    assert raw.startswith(f"ak_{stored.prefix}_")
    assert raw not in (stored.key_hash, stored.prefix)
    assert len(stored.key_hash) == 64


def test_the_api_key_command_creates_lists_and_revokes_keys(salon, in_salon):
    from io import StringIO

    from django.core.management import CommandError, call_command

    out = StringIO()
    call_command("api_key", "create", "--tenant", "salon-schmidt", "--name", "Website", stdout=out)
    raw = out.getvalue().strip().splitlines()[-1]
    key = ApiKey.objects.get()
    assert raw.startswith(f"ak_{key.prefix}_")

    listing = StringIO()
    call_command("api_key", "list", "--tenant", "salon-schmidt", stdout=listing)
    assert f"{key.prefix}  active" in listing.getvalue()

    call_command("api_key", "revoke", "--tenant", "salon-schmidt", "--prefix", key.prefix, stdout=StringIO())
    key.refresh_from_db()
    assert key.revoked_at is not None
    with pytest.raises(CommandError):
        call_command("api_key", "revoke", "--tenant", "nowhere", "--prefix", key.prefix)
