"""Channels behind one small interface: ``send(message, credentials) -> SendResult``.

A channel raises :class:`TemporaryFailure` (worth retrying: timeouts, 429, 5xx) or
:class:`PermanentFailure` (a retry cannot help: invalid number, blocked bot, opted out).
``NOTIFICATIONS_BACKEND=outbox`` replaces every channel with the outbox, which only logs.
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Protocol

import httpx
from django.conf import settings
from django.core.mail import EmailMessage

from notifications.events import Channel

logger = logging.getLogger(__name__)

TWILIO_API = "https://api.twilio.com/2010-04-01"
TELEGRAM_API = "https://api.telegram.org"
HTTP_TIMEOUT = httpx.Timeout(10.0, connect=5.0)
# Twilio error codes that mean the recipient refuses (STOP) or the number cannot receive.
TWILIO_OPTED_OUT_CODES = {21610}


class TemporaryFailure(Exception):
    pass


class PermanentFailure(Exception):
    def __init__(self, message: str, *, opted_out: bool = False) -> None:
        super().__init__(message)
        self.opted_out = opted_out


@dataclass(frozen=True)
class Attachment:
    filename: str
    content: bytes
    mimetype: str


@dataclass(frozen=True)
class Message:
    channel: str
    to: str
    body: str
    subject: str = ""
    attachments: tuple[Attachment, ...] = ()
    status_callback: str = ""  # Twilio delivery status webhook URL


@dataclass(frozen=True)
class Credentials:
    email_from: str = ""
    twilio_account_sid: str = ""
    twilio_auth_token: str = ""
    twilio_from_number: str = ""
    twilio_whatsapp_from: str = ""
    telegram_bot_token: str = ""


@dataclass(frozen=True)
class SendResult:
    provider_message_id: str
    provider_status: str = ""
    cost_cents: int | None = None
    cost_currency: str = ""
    extra: dict[str, str] = field(default_factory=dict)


class ChannelBackend(Protocol):
    def send(self, message: Message, credentials: Credentials) -> SendResult: ...


def _price_to_cents(price: object) -> int | None:
    """Twilio reports prices as negative decimal strings ("-0.0750"); cost is its absolute
    value, rounded to whole cents."""
    if price in (None, ""):
        return None
    try:
        return int((abs(Decimal(str(price))) * 100).quantize(Decimal("1"), rounding=ROUND_HALF_UP))
    except InvalidOperation:
        return None


class EmailChannel:
    def send(self, message: Message, credentials: Credentials) -> SendResult:
        email = EmailMessage(
            subject=message.subject, body=message.body,
            from_email=credentials.email_from or settings.DEFAULT_FROM_EMAIL, to=[message.to],
        )
        message_id = f"<{uuid.uuid4()}@askpro>"
        email.extra_headers["Message-ID"] = message_id
        for attachment in message.attachments:
            email.attach(attachment.filename, attachment.content, attachment.mimetype)
        try:
            email.send(fail_silently=False)
        except (OSError, TimeoutError) as exc:  # smtplib errors are OSErrors
            raise TemporaryFailure(f"SMTP: {exc}") from exc
        return SendResult(provider_message_id=message_id, provider_status="sent")


class TwilioChannel:
    """SMS and WhatsApp through Twilio's Messages API (form-encoded, basic auth)."""

    def __init__(self, whatsapp: bool = False) -> None:
        self.whatsapp = whatsapp

    def send(self, message: Message, credentials: Credentials) -> SendResult:
        sid, token = credentials.twilio_account_sid, credentials.twilio_auth_token
        sender = credentials.twilio_whatsapp_from if self.whatsapp else credentials.twilio_from_number
        if not (sid and token and sender):
            raise PermanentFailure("Twilio is not configured (account SID, auth token, sender)")
        to = message.to
        if self.whatsapp:
            to = to if to.startswith("whatsapp:") else f"whatsapp:{to}"
            sender = sender if sender.startswith("whatsapp:") else f"whatsapp:{sender}"
        data = {"To": to, "From": sender, "Body": message.body}
        if message.status_callback:
            data["StatusCallback"] = message.status_callback
        try:
            response = httpx.post(
                f"{TWILIO_API}/Accounts/{sid}/Messages.json", data=data, auth=(sid, token), timeout=HTTP_TIMEOUT,
            )
        except httpx.HTTPError as exc:
            raise TemporaryFailure(f"Twilio unreachable: {exc}") from exc
        payload = _json(response)
        if response.status_code == 429 or response.status_code >= 500:
            raise TemporaryFailure(f"Twilio HTTP {response.status_code}: {payload.get('message', '')}".strip())
        if response.status_code >= 400:
            code = payload.get("code")
            raise PermanentFailure(
                f"Twilio error {code}: {payload.get('message', response.text[:200])}",
                opted_out=code in TWILIO_OPTED_OUT_CODES,
            )
        return SendResult(
            provider_message_id=str(payload.get("sid", "")),
            provider_status=str(payload.get("status", "")),
            cost_cents=_price_to_cents(payload.get("price")),
            cost_currency=str(payload.get("price_unit") or "").upper()[:3],
        )


class TelegramChannel:
    def send(self, message: Message, credentials: Credentials) -> SendResult:
        token = credentials.telegram_bot_token
        if not token:
            raise PermanentFailure("Telegram is not configured (bot token)")
        try:
            response = httpx.post(
                f"{TELEGRAM_API}/bot{token}/sendMessage",
                json={"chat_id": message.to, "text": message.body},
                timeout=HTTP_TIMEOUT,
            )
        except httpx.HTTPError as exc:
            raise TemporaryFailure(f"Telegram unreachable: {exc}") from exc
        payload = _json(response)
        if response.status_code == 429 or response.status_code >= 500:
            raise TemporaryFailure(f"Telegram HTTP {response.status_code}: {payload.get('description', '')}".strip())
        if response.status_code >= 400 or not payload.get("ok"):
            raise PermanentFailure(
                f"Telegram error {payload.get('error_code', response.status_code)}: {payload.get('description', '')}",
                opted_out=response.status_code == 403,  # the user blocked the bot
            )
        result = payload.get("result") or {}
        return SendResult(provider_message_id=str(result.get("message_id", "")), provider_status="sent")


class OutboxChannel:
    """Development and demo: the delivery row is the record; nothing leaves the machine."""

    def send(self, message: Message, credentials: Credentials) -> SendResult:
        logger.info(
            "outbox %s to %s: %s%s", message.channel, message.to,
            f"[{message.subject}] " if message.subject else "", message.body.replace("\n", " ")[:300],
        )
        return SendResult(provider_message_id=f"outbox-{uuid.uuid4().hex[:16]}", provider_status="recorded")


def _json(response: httpx.Response) -> dict:
    try:
        data = response.json()
    except ValueError:
        return {}
    return data if isinstance(data, dict) else {}


def backend_name() -> str:
    return "live" if settings.NOTIFICATIONS_BACKEND == "live" else "outbox"


def channel_backend(channel: str) -> ChannelBackend:
    if backend_name() == "outbox":
        return OutboxChannel()
    backends: dict[str, ChannelBackend] = {
        Channel.EMAIL: EmailChannel(),
        Channel.SMS: TwilioChannel(),
        Channel.WHATSAPP: TwilioChannel(whatsapp=True),
        Channel.TELEGRAM: TelegramChannel(),
    }
    return backends[channel]
