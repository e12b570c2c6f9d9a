from __future__ import annotations

import logging
import time

import pytest
import stripe

from integrations.errors import MalformedPayload, SignatureInvalid
from integrations.models import WebhookEvent
from integrations.signatures import (
    sign_calcom,
    sign_retell,
    sign_stripe,
    verify_calcom,
    verify_retell,
    verify_stripe,
)
from tests.fixtures.integrations import (
    CALCOM_SECRET,
    RETELL_KEY,
    STRIPE_SECRET,
    body,
    calcom_ping,
    post_calcom,
    post_retell,
    post_stripe,
    retell_event,
    stripe_event,
)


def test_retell_signature_matches_the_official_test_vector():
    header = sign_retell(b'{"event":"call_ended"}', "test-api-key", 1700000000000)

    assert header == "v=1700000000000,d=07024cabe7dd8f6d1c6e4a8324ca92c812e6ad4a7ee506c04f7e462e3321823e"
    verify_retell(b'{"event":"call_ended"}', header, "test-api-key", now_ms=1700000000000 + 299_000)


@pytest.mark.parametrize("header, now_offset_ms", [
    ("", 0),
    ("v=1700000000000,d=" + "0" * 64, 0),
    (sign_retell(b'{"event":"call_ended"}', "other-key", 1700000000000), 0),
    (sign_retell(b'{"event":"call_ended"}', "test-api-key", 1700000000000), 301_000),
    (sign_retell(b'{"event":"call_ended"}', "test-api-key", 1700000000000), -301_000),
    (sign_retell(b'{"event":"call_ended"}', "test-api-key", 1700000000000).upper(), 0),
])
def test_retell_signature_refuses_missing_wrong_stale_and_malformed_headers(header, now_offset_ms):
    with pytest.raises(SignatureInvalid):
        verify_retell(b'{"event":"call_ended"}', header, "test-api-key", now_ms=1700000000000 + now_offset_ms)


def test_retell_signature_refuses_a_tampered_body():
    header = sign_retell(b'{"event":"call_ended"}', "test-api-key", 1700000000000)
    with pytest.raises(SignatureInvalid):
        verify_retell(b'{"event":"call_started"}', header, "test-api-key", now_ms=1700000000000)


def test_stripe_accepts_a_rolled_secret_and_refuses_stale_or_v0_only_signatures():
    raw = body(stripe_event())
    now = int(time.time())
    rolled = f"{stripe.WebhookSignature.generate_signature_header(raw.decode(), 'whsec_old', now)},v1=" + \
        stripe.WebhookSignature.generate_signature_header(raw.decode(), STRIPE_SECRET, now).split("v1=")[1]

    assert verify_stripe(raw, rolled, STRIPE_SECRET)["id"] == "evt_1"
    with pytest.raises(SignatureInvalid):
        verify_stripe(raw, stripe.WebhookSignature.generate_signature_header(raw.decode(), STRIPE_SECRET, now - 301), STRIPE_SECRET)
    with pytest.raises(SignatureInvalid):
        verify_stripe(raw, f"t={now},v0=" + "a" * 64, STRIPE_SECRET)
    with pytest.raises(SignatureInvalid):
        verify_stripe(raw, stripe.WebhookSignature.generate_signature_header(raw.decode(), STRIPE_SECRET, now), "")


def test_stripe_with_a_valid_signature_over_broken_json_is_malformed_not_invalid():
    raw = b'{"id": "evt_1",'
    with pytest.raises(MalformedPayload):
        verify_stripe(raw, stripe.WebhookSignature.generate_signature_header(raw.decode(), STRIPE_SECRET), STRIPE_SECRET)


def test_calcom_signature_is_hex_hmac_of_the_raw_body_and_refuses_no_secret_provided():
    raw = body(calcom_ping())
    verify_calcom(raw, sign_calcom(raw, CALCOM_SECRET).upper(), CALCOM_SECRET)  # case-insensitive hex

    for header in ("", "no-secret-provided", "sha256=" + sign_calcom(raw, CALCOM_SECRET), sign_calcom(raw, "wrong")):
        with pytest.raises(SignatureInvalid):
            verify_calcom(raw, header, CALCOM_SECRET)
    with pytest.raises(SignatureInvalid):
        verify_calcom(raw + b" ", sign_calcom(raw, CALCOM_SECRET), CALCOM_SECRET)


@pytest.mark.parametrize("send", [
    lambda client, raw: post_retell(client, raw, key="wrong-key"),
    lambda client, raw: post_retell(client, raw + b" ", signature=sign_retell(raw, RETELL_KEY)),
    lambda client, raw: post_retell(client, raw, now_ms=int(time.time() * 1000) - 6 * 60 * 1000),
    lambda client, raw: post_retell(client, raw, signature=""),
])
def test_a_bad_retell_delivery_gets_401_is_logged_and_nothing_is_stored(public_client, caplog, send):
    raw = body(retell_event())

    with caplog.at_level(logging.WARNING, logger="askpro.security"):
        response = send(public_client, raw)

    assert response.status_code == 401
    assert response.json()["error"]["code"] == "SIGNATURE_INVALID"
    assert response.json()["success"] is False
    assert WebhookEvent.objects.count() == 0
    assert any("rejected retell webhook" in record.getMessage() for record in caplog.records)


@pytest.mark.parametrize("send", [
    lambda client, raw: post_stripe(client, raw, secret="whsec_wrong"),
    lambda client, raw: post_stripe(client, raw.replace(b"5000", b"9000"), signature=sign_stripe(raw, STRIPE_SECRET)),
    lambda client, raw: post_stripe(client, raw, timestamp=int(time.time()) - 301),
    lambda client, raw: post_stripe(client, raw, signature=""),
])
def test_a_bad_stripe_delivery_gets_401_and_nothing_is_stored(public_client, send):
    response = send(public_client, body(stripe_event()))

    assert response.status_code == 401
    assert response.json()["error"]["code"] == "SIGNATURE_INVALID"
    assert WebhookEvent.objects.count() == 0


@pytest.mark.parametrize("send", [
    lambda client, raw: post_calcom(client, raw, secret="wrong"),
    lambda client, raw: post_calcom(client, raw.replace(b"PING", b"BOOKING_CREATED"), signature=sign_calcom(raw, CALCOM_SECRET)),
    lambda client, raw: post_calcom(client, raw, signature=""),
])
def test_a_bad_calcom_delivery_gets_401_and_nothing_is_stored(salon_client, salon_calcom, send):
    response = send(salon_client, body(calcom_ping()))

    assert response.status_code == 401
    assert response.json()["error"]["code"] == "SIGNATURE_INVALID"
    assert WebhookEvent.objects.count() == 0


def test_a_calcom_delivery_signed_with_salons_secret_is_refused_for_physio(public_client, salon_calcom, physio):
    from django_tenants.utils import tenant_context

    from integrations.calcom.models import CalcomConnection

    with tenant_context(physio):
        CalcomConnection.objects.create(webhook_secret="physio-secret")

    response = post_calcom(public_client, body(calcom_ping()), path="/api/calcom/webhook/physio-nord")

    assert response.status_code == 401
    assert WebhookEvent.objects.count() == 0


def test_a_tenant_without_calcom_connection_refuses_calcom_webhooks(physio_client):
    response = post_calcom(physio_client, body(calcom_ping()))

    assert response.status_code == 401
    assert WebhookEvent.objects.count() == 0
