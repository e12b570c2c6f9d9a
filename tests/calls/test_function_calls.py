from __future__ import annotations

import json

import pytest
from django_tenants.utils import tenant_context

from appointments.models import Customer
from calls.models import Call
from calls.signatures import sign
from tests.fixtures.calls import PHYSIO_NUMBER, SALON_AGENT, SALON_NUMBER, call_object, retell_post

URL = "/api/retell/check-customer"


def wrapped(call_id: str = "call_1", args: dict | None = None, **call: object) -> dict:
    return {"name": "check_customer", "args": args or {}, "call": call_object(call_id, **call)}


def customers_in(tenant) -> list[tuple[str, str]]:
    with tenant_context(tenant):
        return list(Customer.objects.values_list("name", "phone"))


def test_the_wrapped_body_form_identifies_a_known_caller_on_the_tenant_host(salon, salon_client, retell_key):
    # given
    with tenant_context(salon):
        Customer.objects.create(name="Maria Lopez", phone="+4915112345678")

    # when
    response = retell_post(salon_client, URL, wrapped())

    # then
    assert response.status_code == 200
    body = response.json()
    assert {k: body[k] for k in ("success", "customer_found", "is_new_customer", "customer_name", "journey_status",
                                 "appointment_count", "next_appointment", "message")} == {
        "success": True, "customer_found": True, "is_new_customer": False, "customer_name": "Maria Lopez",
        "journey_status": "lead", "appointment_count": 0, "next_appointment": None,
        "message": "Hallo Maria Lopez, schön, dass Sie anrufen.",
    }
    with tenant_context(salon):
        assert Call.objects.get(call_id="call_1").customer.name == "Maria Lopez"


def test_the_args_at_root_body_form_takes_call_id_and_number_from_the_arguments(salon, salon_client, retell_key):
    with tenant_context(salon):
        Customer.objects.create(name="Maria Lopez", phone="+4915112345678")

    response = retell_post(salon_client, URL, {"call_id": "call_root", "phone_number": "0151 12345678"})

    assert response.status_code == 200
    assert response.json()["customer_name"] == "Maria Lopez"
    with tenant_context(salon):
        assert Call.objects.get(call_id="call_root").customer.name == "Maria Lopez"


def test_a_first_time_caller_becomes_a_lead_and_is_asked_for_their_name(salon, salon_client, retell_key):
    response = retell_post(salon_client, URL, wrapped(from_number="+49 170 5556667"))

    body = response.json()
    assert (body["customer_found"], body["is_new_customer"], body["journey_status"]) == (False, True, "lead")
    assert body["message"] == "Ich habe Sie noch nicht in unserer Kundenliste. Wie ist Ihr Name?"
    assert customers_in(salon) == [("", "+491705556667")]


def test_a_retried_check_customer_creates_the_lead_once(salon, salon_client, retell_key):
    retell_post(salon_client, URL, wrapped(args={"name": "Max Mustermann"}))
    second = retell_post(salon_client, URL, wrapped(args={"name": "Max Mustermann"}))

    assert second.json()["customer_found"] is True
    assert customers_in(salon) == [("Max Mustermann", "+4915112345678")]


def test_the_platform_url_routes_by_the_dialled_number(salon, physio, public_client, salon_route, retell_key):
    # when: the physio's number, an agent nobody registered
    response = retell_post(public_client, URL, wrapped(to_number=PHYSIO_NUMBER, agent_id="agent_unknown"))

    # then
    assert response.status_code == 200
    assert customers_in(physio) == [("", "+4915112345678")]
    assert customers_in(salon) == []


def test_the_platform_url_routes_by_the_agent_id(salon, physio, public_client, salon_route, retell_key):
    response = retell_post(public_client, URL, wrapped(to_number="+499999999999", agent_id=SALON_AGENT))

    assert response.status_code == 200
    assert customers_in(salon) == [("", "+4915112345678")]
    assert customers_in(physio) == []


def test_args_at_root_on_the_platform_url_route_by_a_to_number_argument(salon, public_client, salon_route, retell_key):
    response = retell_post(public_client, URL, {"call_id": "c9", "to_number": "030 12345678", "phone_number": "+4915112345678"})

    assert response.status_code == 200
    assert customers_in(salon) == [("", "+4915112345678")]


def test_an_unroutable_call_gets_404_and_changes_nothing(salon, physio, public_client, salon_route, retell_key):
    response = retell_post(public_client, URL, wrapped(to_number="+499999999999", agent_id="agent_x"))

    assert response.status_code == 404
    assert response.json()["error"]["code"] == "TENANT_NOT_FOUND"
    assert customers_in(salon) == [] and customers_in(physio) == []


@pytest.mark.parametrize(("signature", "reason"), [
    ("", "missing"),
    ("v=123,d=abc", "malformed"),
    ("stale", "stale"),
    ("wrong-key", "mismatch"),
])
def test_each_signature_failure_is_refused_with_401_and_changes_nothing(salon, salon_client, retell_key, signature, reason):
    body = wrapped()
    raw = json.dumps(body).encode()
    header = {"stale": sign(raw, retell_key, now_ms=1_000_000), "wrong-key": sign(raw, "not-the-key")}.get(signature, signature)

    response = retell_post(salon_client, URL, body, signature=header, raw=raw)

    assert response.status_code == 401
    assert response.json()["error"] == {"code": "SIGNATURE_INVALID", "message": "Die Signatur der Anfrage ist ungültig.",
                                         "details": {"reason": reason}}
    assert customers_in(salon) == []
    with tenant_context(salon):
        assert Call.objects.count() == 0


def test_a_tenants_own_retell_key_is_accepted_besides_the_platform_key(salon, salon_client, retell_key):
    from calls.models import VoiceSettings

    with tenant_context(salon):
        VoiceSettings.objects.create(retell_api_key="salon-own-key")

    own = retell_post(salon_client, URL, wrapped("c_own"), key="salon-own-key")
    platform = retell_post(salon_client, URL, wrapped("c_platform"), key=retell_key)

    assert (own.status_code, platform.status_code) == (200, 200)


def test_another_tenants_key_does_not_sign_for_this_tenant(salon, physio, public_client, salon_route, retell_key):
    from calls.models import VoiceSettings

    with tenant_context(physio):
        VoiceSettings.objects.create(retell_api_key="physio-key")

    response = retell_post(public_client, URL, wrapped(to_number=SALON_NUMBER), key="physio-key")

    assert response.status_code == 401
    assert customers_in(salon) == []


def test_a_missing_call_id_is_a_400_with_a_hint(salon_client, retell_key):
    response = retell_post(salon_client, URL, {"phone_number": "+4915112345678"})

    assert response.status_code == 400
    assert response.json()["error"]["code"] == "CALL_ID_MISSING"


def test_malformed_json_is_a_400(salon_client, retell_key):
    raw = b"{not json"
    response = retell_post(salon_client, URL, None, raw=raw)

    assert response.status_code == 400
    assert response.json()["error"]["code"] == "MALFORMED_REQUEST"


def test_the_101st_request_of_a_call_within_a_minute_is_rate_limited(salon, salon_client, retell_key, settings):
    import datetime as dt

    import time_machine

    settings.RETELL_RATE_LIMIT_PER_MINUTE = 3
    # in the middle of a minute: the fixed window must not roll over between the requests
    with time_machine.travel(dt.datetime(2026, 3, 2, 10, 0, 20, tzinfo=dt.UTC), tick=False):
        statuses = [retell_post(salon_client, URL, wrapped("call_busy")).status_code for _ in range(4)]
        other_call = retell_post(salon_client, URL, wrapped("call_other")).status_code
        limited = retell_post(salon_client, URL, wrapped("call_busy"))

    assert statuses == [200, 200, 200, 429]
    assert other_call == 200
    body = limited.json()
    assert body["error"]["code"] == "RATE_LIMITED"
    assert body["error"]["details"]["retry_after"] == 40
    assert limited["Retry-After"] == "40"


def test_the_default_limit_is_100_per_minute(settings):
    from calls.functions import rate_limited

    results = [rate_limited("call_default", now=1_700_000_010.0) for _ in range(101)]

    assert results[:100] == [None] * 100
    assert results[100] == 30  # seconds left in the minute window


def test_a_suspended_tenant_is_refused_on_the_platform_url(salon, public_client, salon_route, retell_key):
    salon.status = "suspended"
    salon.save(update_fields=["status"])

    response = retell_post(public_client, URL, wrapped(to_number=SALON_NUMBER))

    assert response.status_code == 403
    assert response.json()["error"]["code"] == "TENANT_SUSPENDED"
    assert customers_in(salon) == []


def test_requests_from_outside_the_ip_allow_list_are_refused(salon_client, retell_key, settings):
    settings.RETELL_ALLOWED_IPS = ["100.20.5.228"]

    refused = retell_post(salon_client, URL, wrapped())
    allowed = salon_client.post(URL, data=json.dumps(wrapped()), content_type="application/json",
                                HTTP_X_RETELL_SIGNATURE=sign(json.dumps(wrapped()).encode(), retell_key),
                                REMOTE_ADDR="100.20.5.228")

    assert refused.status_code == 403
    assert allowed.status_code == 200


def test_get_is_not_allowed(salon_client, retell_key):
    assert salon_client.get(URL).status_code == 405
