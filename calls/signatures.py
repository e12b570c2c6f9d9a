"""``X-Retell-Signature`` checks for the voice endpoints (function calls, inbound webhook).

The scheme itself lives in ONE place, ``integrations.signatures.verify_retell`` (HMAC-SHA256
over raw body + timestamp, 5-minute window, ../shared/reference/retell.md section 2). This module
adds what the voice endpoints need on top: several acceptable keys (the tenant's own Retell key,
then the platform key) and a short reason for the security log.
"""

from __future__ import annotations

from collections.abc import Iterable

from integrations.errors import SignatureInvalid as _SchemeRefused
from integrations.signatures import sign_retell, verify_retell

__all__ = ["SignatureInvalid", "sign", "verify"]

# integrations.signatures reasons -> the short reasons our 401 answers and logs use
_REASONS = {
    "missing header": "missing",
    "malformed header": "malformed",
    "timestamp outside the 5 minute window": "stale",
    "digest mismatch": "mismatch",
    "no key configured": "no_key",
}


class SignatureInvalid(Exception):
    """The request is not signed by Retell with a key we know (reason in ``args[0]``)."""


def sign(raw_body: bytes, api_key: str, now_ms: int | None = None) -> str:
    """A header value as Retell would send it (tests, the call simulator)."""
    return sign_retell(raw_body, api_key, now_ms)


def verify(raw_body: bytes, header: str | None, api_keys: Iterable[str], now_ms: int | None = None) -> None:
    """Accept the request if any of ``api_keys`` signed it within the window; raises
    ``SignatureInvalid("missing" | "malformed" | "stale" | "mismatch" | "no_key")``.

    ``api_keys`` is consumed lazily: a key that needs a query is only fetched when the keys
    before it did not match."""
    tried = False
    reason = "mismatch"
    for key in api_keys:
        if not key:
            continue
        if not header:
            raise SignatureInvalid("missing")
        tried = True
        try:
            verify_retell(raw_body, header, key, now_ms)
        except _SchemeRefused as refused:
            reason = _REASONS.get(str(refused.details.get("reason", "")), "invalid")
            if reason != "mismatch":
                raise SignatureInvalid(reason) from None  # malformed / stale: no other key helps
            continue
        return
    raise SignatureInvalid(reason if tried else "no_key")
