"""Webhook signature schemes of Stripe, Retell and Cal.com, over the raw body exactly as received.

Each ``verify_*`` raises :class:`integrations.errors.SignatureInvalid` and returns normally
(Stripe: the parsed event) when the signature is good. ``sign_*`` build valid headers for tests,
simulators and the Cal.com sandbox. Schemes: ../shared/reference/{stripe,retell,calcom}.md.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import time
from typing import Any

import stripe

from integrations.errors import MalformedPayload, SignatureInvalid

STRIPE_TOLERANCE_SECONDS = 300
RETELL_TOLERANCE_MS = 5 * 60 * 1000
_RETELL_HEADER = re.compile(r"v=(\d+),d=([0-9a-f]{64})")
_HEX64 = re.compile(r"[0-9a-f]{64}")


def verify_stripe(raw_body: bytes, header: str, secret: str) -> dict[str, Any]:
    """Check ``Stripe-Signature`` (t=, one or more v1=, 300 s tolerance) and return the event dict."""
    if not header or not secret:
        raise SignatureInvalid(details={"reason": "missing header" if not header else "no secret configured"})
    try:
        body = raw_body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise SignatureInvalid(details={"reason": "body is not UTF-8"}) from exc
    try:
        stripe.Webhook.construct_event(body, header, secret, tolerance=STRIPE_TOLERANCE_SECONDS)
    except stripe.SignatureVerificationError as exc:
        raise SignatureInvalid(details={"reason": str(exc.user_message or exc)[:200]}) from exc
    except ValueError as exc:  # signature fine, body not JSON
        raise MalformedPayload(details={"reason": str(exc)[:200]}) from exc
    return parse_json_object(raw_body)


def sign_stripe(raw_body: bytes, secret: str, timestamp: int | None = None) -> str:
    return stripe.WebhookSignature.generate_signature_header(raw_body.decode("utf-8"), secret, timestamp=timestamp)


def verify_retell(raw_body: bytes, header: str, api_key: str, now_ms: int | None = None) -> None:
    """Check ``X-Retell-Signature`` ``v=<ms>,d=<hex>``: HMAC-SHA256(api key, body + ms), ±5 minutes."""
    if not header or not api_key:
        raise SignatureInvalid(details={"reason": "missing header" if not header else "no key configured"})
    match = _RETELL_HEADER.fullmatch(header.strip())
    if not match:
        raise SignatureInvalid(details={"reason": "malformed header"})
    stamp, digest = match.group(1), match.group(2)
    now_ms = int(time.time() * 1000) if now_ms is None else now_ms
    if abs(now_ms - int(stamp)) > RETELL_TOLERANCE_MS:
        raise SignatureInvalid(details={"reason": "timestamp outside the 5 minute window"})
    expected = hmac.new(api_key.encode(), raw_body + stamp.encode(), hashlib.sha256).hexdigest()
    if not hmac.compare_digest(expected, digest):
        raise SignatureInvalid(details={"reason": "digest mismatch"})


def sign_retell(raw_body: bytes, api_key: str, now_ms: int | None = None) -> str:
    stamp = str(int(time.time() * 1000) if now_ms is None else now_ms)
    digest = hmac.new(api_key.encode(), raw_body + stamp.encode(), hashlib.sha256).hexdigest()
    return f"v={stamp},d={digest}"


def verify_calcom(raw_body: bytes, header: str, secret: str) -> None:
    """Check ``X-Cal-Signature-256``: lowercase hex HMAC-SHA256 of the raw body with the webhook secret."""
    if not header or not secret:
        raise SignatureInvalid(details={"reason": "missing header" if not header else "no secret configured"})
    sent = header.strip().lower()
    if not _HEX64.fullmatch(sent):  # also refuses Cal.com's literal "no-secret-provided"
        raise SignatureInvalid(details={"reason": "malformed header"})
    if not hmac.compare_digest(sign_calcom(raw_body, secret), sent):
        raise SignatureInvalid(details={"reason": "digest mismatch"})


def sign_calcom(raw_body: bytes, secret: str) -> str:
    return hmac.new(secret.encode(), raw_body, hashlib.sha256).hexdigest()


def parse_json_object(raw_body: bytes) -> dict[str, Any]:
    """The body as a JSON object, or :class:`MalformedPayload`."""
    try:
        payload = json.loads(raw_body)
    except (ValueError, UnicodeDecodeError) as exc:
        raise MalformedPayload(details={"reason": str(exc)[:200]}) from exc
    if not isinstance(payload, dict):
        raise MalformedPayload(details={"reason": "the body is JSON but not an object"})
    return payload
