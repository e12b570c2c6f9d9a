from __future__ import annotations

import base64
import json
from urllib.parse import parse_qs

import httpx
import pytest
import respx

from notifications.channels import (
    Credentials,
    Message,
    PermanentFailure,
    TelegramChannel,
    TemporaryFailure,
    TwilioChannel,
)

CREDS = Credentials(
    twilio_account_sid="AC123", twilio_auth_token="secret-token", twilio_from_number="+4930555000",
    twilio_whatsapp_from="+4930555001", telegram_bot_token="123456:ABC-bot",
)
TWILIO_URL = "https://api.twilio.com/2010-04-01/Accounts/AC123/Messages.json"


@respx.mock
def test_an_sms_is_a_form_encoded_post_to_twilio_with_basic_auth():
    route = respx.post(TWILIO_URL).mock(return_value=httpx.Response(
        201, json={"sid": "SM0001", "status": "queued", "price": "-0.0750", "price_unit": "EUR"}))

    result = TwilioChannel().send(
        Message(channel="sms", to="+4915112345678", body="Termin bestätigt: 14:00 Uhr",
                status_callback="https://salon.example/webhooks/twilio/status"),
        CREDS,
    )

    request = route.calls.last.request
    assert request.method == "POST"
    assert request.headers["Content-Type"] == "application/x-www-form-urlencoded"
    assert request.headers["Authorization"] == "Basic " + base64.b64encode(b"AC123:secret-token").decode()
    assert parse_qs(request.content.decode()) == {
        "To": ["+4915112345678"], "From": ["+4930555000"], "Body": ["Termin bestätigt: 14:00 Uhr"],
        "StatusCallback": ["https://salon.example/webhooks/twilio/status"],
    }
    assert (result.provider_message_id, result.provider_status, result.cost_cents, result.cost_currency) == ("SM0001", "queued", 8, "EUR")


@respx.mock
def test_a_whatsapp_message_uses_whatsapp_addresses_on_both_ends():
    route = respx.post(TWILIO_URL).mock(return_value=httpx.Response(201, json={"sid": "SM0002", "status": "queued"}))

    TwilioChannel(whatsapp=True).send(Message(channel="whatsapp", to="+4915112345678", body="Hallo"), CREDS)

    form = parse_qs(route.calls.last.request.content.decode())
    assert form == {"To": ["whatsapp:+4915112345678"], "From": ["whatsapp:+4930555001"], "Body": ["Hallo"]}


@respx.mock
def test_a_telegram_message_is_json_with_chat_id_and_text_to_the_bot_url():
    route = respx.post("https://api.telegram.org/bot123456:ABC-bot/sendMessage").mock(
        return_value=httpx.Response(200, json={"ok": True, "result": {"message_id": 77}}))

    result = TelegramChannel().send(Message(channel="telegram", to="424242", body="Bis morgen!"), CREDS)

    request = route.calls.last.request
    assert request.headers["Content-Type"] == "application/json"
    assert json.loads(request.content) == {"chat_id": "424242", "text": "Bis morgen!"}
    assert result.provider_message_id == "77"


@respx.mock
@pytest.mark.parametrize(("status", "body", "error"), [
    (503, {"message": "Service Unavailable"}, TemporaryFailure),
    (429, {"message": "Too Many Requests"}, TemporaryFailure),
    (400, {"code": 21211, "message": "The 'To' number is not a valid phone number."}, PermanentFailure),
])
def test_twilio_errors_are_split_into_temporary_and_permanent(status, body, error):
    respx.post(TWILIO_URL).mock(return_value=httpx.Response(status, json=body))

    with pytest.raises(error):
        TwilioChannel().send(Message(channel="sms", to="+49151", body="x"), CREDS)


@respx.mock
def test_a_network_error_is_temporary_and_an_unsubscribed_recipient_is_an_opt_out():
    respx.post(TWILIO_URL).mock(side_effect=httpx.ConnectTimeout("timeout"))
    with pytest.raises(TemporaryFailure):
        TwilioChannel().send(Message(channel="sms", to="+49151", body="x"), CREDS)

    respx.post(TWILIO_URL).mock(return_value=httpx.Response(400, json={"code": 21610, "message": "Attempt to send to unsubscribed recipient"}))
    with pytest.raises(PermanentFailure) as refused:
        TwilioChannel().send(Message(channel="sms", to="+49151", body="x"), CREDS)
    assert refused.value.opted_out is True


def test_a_channel_without_credentials_fails_permanently_without_calling_anyone():
    with respx.mock(assert_all_called=False) as router:
        with pytest.raises(PermanentFailure):
            TwilioChannel().send(Message(channel="sms", to="+49151", body="x"), Credentials())
        with pytest.raises(PermanentFailure):
            TelegramChannel().send(Message(channel="telegram", to="1", body="x"), Credentials())
        assert router.calls.call_count == 0
