"""The request frame (askpro.request_frame): body size, JSON depth, database outages and unknown
paths answer JSON with a code on every endpoint, never an HTML page or a 500 for bad input."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.db import connection
from django.test import Client

from integrations.models import WebhookEvent
from tests.conftest import SALON_HOST
from tests.fixtures.integrations import body, post_retell, retell_event

DEEP = b"[" * 1000 + b"]" * 1000  # about 2 KB, 1,000 levels

# (host, path): every POST endpoint of the platform and a tenant host.
ENDPOINTS = [
    *(("localhost", f"/api/retell/{name}") for name in (
        "check-customer", "request-callback", "check-availability", "collect-appointment", "book-appointment",
        "reschedule-appointment", "cancel-appointment", "list-appointments")),
    ("localhost", "/webhooks/retell/inbound"),
    ("localhost", "/webhooks/retell"),
    ("localhost", "/webhooks/stripe"),
    ("localhost", "/billing/webhook"),
    ("localhost", "/api/calcom/webhook/salon-schmidt"),
    ("localhost", "/webhooks/twilio/inbound"),
    (SALON_HOST, "/api/v2/availability/simple"),
    (SALON_HOST, "/api/v2/availability/composite"),
    (SALON_HOST, "/api/v2/bookings"),
    (SALON_HOST, "/api/v2/bookings/1/reschedule"),
    (SALON_HOST, "/api/calcom/webhook"),
    (SALON_HOST, "/webhooks/twilio/status"),
    (SALON_HOST, "/api/retell/check-availability"),
    (SALON_HOST, "/api/v2/calcom/detect-drift"),
]


def error_code(response: Any) -> str:
    assert response["Content-Type"].startswith("application/json"), response.content[:200]
    return str(json.loads(response.content)["error"]["code"])


@pytest.mark.parametrize(("host", "path"), ENDPOINTS)
def test_json_nested_a_thousand_levels_deep_is_refused_with_400_before_any_other_work(
        salon, physio, api_key, host, path):
    # given: a tenant API key, so the booking API would otherwise look at the body
    client = Client(HTTP_HOST=host, HTTP_AUTHORIZATION=f"Bearer {api_key[1]}")
    method = client.patch if path.endswith("/reschedule") else client.post

    # when
    response = method(path, data=DEEP, content_type="application/json")

    # then
    assert (response.status_code, error_code(response)) == (400, "JSON_TOO_DEEP")
    assert response.json()["error"]["details"] == {"max_depth": 64}
    assert WebhookEvent.objects.count() == 0


def test_json_nested_within_the_limit_still_reaches_the_view(salon, salon_client, api_key):
    nested: Any = {"date": "2026-01-01"}
    for _ in range(60):
        nested = {"x": nested}

    response = salon_client.post("/api/v2/availability/simple", data=json.dumps(nested),
                                 content_type="application/json", HTTP_AUTHORIZATION=f"Bearer {api_key[1]}")

    assert (response.status_code, error_code(response)) == (400, "VALIDATION_ERROR")


def test_brackets_inside_strings_do_not_count_as_depth():
    from askpro.request_frame import json_depth_exceeds

    assert json_depth_exceeds(json.dumps({"transcript": "[" * 5000}).encode(), 64) is False
    assert json_depth_exceeds(json.dumps({"a": [[[["\\\"[" * 100]]]]}).encode(), 64) is False
    assert json_depth_exceeds(b"  " + b"{\"a\":" * 65 + b"1" + b"}" * 65, 64) is True
    assert json_depth_exceeds(b"{\"a\":" * 64 + b"1" + b"}" * 64, 64) is False


def test_a_three_megabyte_call_ended_of_a_two_hour_call_is_stored(public_tenant, public_client):
    # given: a 2-hour call's call_ended with its word-timed transcript (about 3.1 MB)
    words = [{"word": f"Wort{i}", "start": i * 0.4, "end": i * 0.4 + 0.3} for i in range(55_000)]
    payload = retell_event("call_ended", call_id="call_two_hours", start_timestamp=1767200000000,
                           end_timestamp=1767207200000,
                           transcript_object=[{"role": "user", "content": "Hallo " * 2000, "words": words}])
    raw = body(payload)
    assert 3_000_000 < len(raw) < 25 * 1024 * 1024

    # when
    response = post_retell(public_client, raw)

    # then
    assert response.status_code == 204
    event = WebhookEvent.objects.get()
    assert (event.provider, event.event_type, event.status) == ("retell", "call_ended", "received")


def test_a_body_over_25_megabytes_on_a_webhook_path_answers_413_json(public_tenant, public_client):
    raw = b'{"event":"call_ended","call":{"call_id":"c","pad":"' + b"x" * (25 * 1024 * 1024) + b'"}}'

    response = post_retell(public_client, raw)

    assert (response.status_code, error_code(response)) == (413, "REQUEST_TOO_LARGE")
    assert response.json()["error"]["details"] == {"max_bytes": 25 * 1024 * 1024}
    assert WebhookEvent.objects.count() == 0


def test_a_ten_megabyte_booking_request_answers_413_json(salon, salon_client, api_key):
    raw = json.dumps({"notes": "x" * (10 * 1024 * 1024)}).encode()

    response = salon_client.post("/api/v2/bookings", data=raw, content_type="application/json",
                                 HTTP_AUTHORIZATION=f"Bearer {api_key[1]}", HTTP_ACCEPT_LANGUAGE="de")

    assert (response.status_code, error_code(response)) == (413, "REQUEST_TOO_LARGE")
    assert response.json()["error"]["message"] == "Die Anfrage ist zu groß."


@pytest.mark.parametrize("path", ["/api/v2/bookings/abc", "/api/v2/bookings/1.5/reschedule", "/api/v2/nothing"])
def test_unknown_api_paths_answer_json_404(salon, salon_client, path):
    response = salon_client.get(path)

    assert (response.status_code, error_code(response)) == (404, "NOT_FOUND")


def test_unknown_admin_paths_keep_the_html_404(salon, salon_client):
    response = salon_client.get("/admin/nothing/here/")

    assert response.status_code in (302, 404)
    assert not response["Content-Type"].startswith("application/json")


@pytest.fixture
def database_down(settings: Any) -> Any:
    """The next connection goes to a port where no PostgreSQL listens (a real connection failure);
    hosts are resolved from the middleware's cache, as a running server would."""
    from tenants.middleware import forget_cached_tenants

    settings.ASKPRO_TENANT_CACHE_SECONDS = 60

    def go_down() -> None:
        connection.settings_dict["PORT"] = "9"
        connection.settings_dict["HOST"] = "127.0.0.1"
        connection.close()

    saved = dict(connection.settings_dict)
    try:
        yield go_down
    finally:
        connection.close()
        connection.settings_dict.update(saved)
        forget_cached_tenants()


def test_the_booking_api_answers_503_json_while_the_database_is_down(committed_db, salon, physio, database_down):
    from django_tenants.utils import tenant_context

    from appointments.api_keys import create_api_key

    with tenant_context(salon):
        _key, raw_key = create_api_key(name="Outage", actor="test")
    client = Client(HTTP_HOST=SALON_HOST, HTTP_AUTHORIZATION=f"Bearer {raw_key}")
    assert client.get("/api/v2/bookings").status_code == 200  # the host is cached now

    database_down()
    listing = client.get("/api/v2/bookings")
    booking = client.post("/api/v2/availability/simple", data={"service_id": 1, "date": "2030-01-07"},
                          content_type="application/json")
    signed_in = Client(HTTP_HOST=SALON_HOST, HTTP_ACCEPT_LANGUAGE="de")
    signed_in.cookies["sessionid"] = "a-session-of-a-signed-in-user"
    admin = signed_in.get("/admin/")

    assert (listing.status_code, error_code(listing)) == (503, "DATABASE_UNAVAILABLE")
    assert (booking.status_code, error_code(booking)) == (503, "DATABASE_UNAVAILABLE")
    assert listing["Retry-After"] == "5"
    assert admin.status_code == 503
    assert admin.content.decode() == "Der Dienst ist vorübergehend nicht verfügbar."


def test_a_retell_function_call_with_a_malformed_content_length_is_refused_as_json(public_tenant):
    from django.test import RequestFactory

    from askpro.request_frame import RequestFrameMiddleware

    request = RequestFactory().post("/api/retell/check-customer", data=b"{}", content_type="application/json")
    request.META["CONTENT_LENGTH"] = "abc"

    response = RequestFrameMiddleware(lambda r: None)(request)  # type: ignore[arg-type, return-value]

    assert (response.status_code, error_code(response)) == (400, "MALFORMED_REQUEST")
