"""Retell request signatures (``X-Retell-Signature: v=<ms>,d=<hex>``), exactly as
../shared/reference/retell.md section 2 describes: HMAC-SHA256 over raw body + timestamp, keyed
with the Retell API key, 5-minute symmetric window.

PHASE 2: replace the body of ``verify`` by ``integrations.signatures.verify_retell``; every
caller in this app goes through ``calls.signatures.verify`` (one call site).
"""

from __future__ import annotations

import hashlib
import hmac
import re
import time
from collections.abc import Iterable

_SIG_RE = re.compile(r"v=(\d+),d=([0-9a-f]{64})")
TOLERANCE_MS = 5 * 60 * 1000


class SignatureInvalid(Exception):
    """The request is not signed by Retell with a key we know (reason in ``args[0]``)."""


def sign(raw_body: bytes, api_key: str, now_ms: int | None = None) -> str:
    """A header value as Retell would send it (tests, the call simulator)."""
    ts = int(time.time() * 1000) if now_ms is None else now_ms
    digest = hmac.new(api_key.encode(), (raw_body.decode("utf-8") + str(ts)).encode(), hashlib.sha256).hexdigest()
    return f"v={ts},d={digest}"


def verify(raw_body: bytes, header: str | None, api_keys: Iterable[str], now_ms: int | None = None) -> None:
    """Accept the request if any of ``api_keys`` signed it within the window; raises
    ``SignatureInvalid("missing" | "malformed" | "stale" | "mismatch" | "no_key")``."""
    keys = [key for key in api_keys if key]
    if not keys:
        raise SignatureInvalid("no_key")
    if not header:
        raise SignatureInvalid("missing")
    match = _SIG_RE.fullmatch(header)
    if not match:
        raise SignatureInvalid("malformed")
    ts, digest = match.group(1), match.group(2)
    now_ms = int(time.time() * 1000) if now_ms is None else now_ms
    if abs(now_ms - int(ts)) > TOLERANCE_MS:
        raise SignatureInvalid("stale")
    try:
        message = (raw_body.decode("utf-8") + ts).encode()
    except UnicodeDecodeError:
        raise SignatureInvalid("mismatch") from None
    for key in keys:
        expected = hmac.new(key.encode(), message, hashlib.sha256).hexdigest()
        if hmac.compare_digest(expected, digest):
            return
    raise SignatureInvalid("mismatch")
