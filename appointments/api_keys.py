"""Per-tenant API keys for the booking API: shown once, stored as a SHA-256 hash.

A key reads ``ak_<prefix>_<secret>``. The prefix (8 characters) is stored in clear to find the
row and to show in lists and actors (``api:<prefix>``). Keys live in the tenant's schema, so a
key is only ever looked up on its own tenant's host.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import datetime, timedelta

from django.db import transaction
from django.utils import timezone

from appointments.models import ApiKey

LAST_USED_RESOLUTION = timedelta(minutes=1)  # spares a write on every request


def _hash(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


def create_api_key(*, name: str, actor: str, expires_at: datetime | None = None) -> tuple[ApiKey, str]:
    """A new key; the raw value is returned here once and never stored."""
    while True:
        prefix = secrets.token_hex(4)
        if not ApiKey.objects.filter(prefix=prefix).exists():
            break
    raw = f"ak_{prefix}_{secrets.token_urlsafe(32)}"
    key = ApiKey.objects.create(name=name, prefix=prefix, key_hash=_hash(raw), created_by=actor, expires_at=expires_at)
    return key, raw


def revoke_api_key(*, key_id: int, now: datetime | None = None) -> ApiKey:
    """Revoke a key (idempotent: the first revocation time is kept)."""
    with transaction.atomic():
        key = ApiKey.objects.select_for_update().get(pk=key_id)
        if key.revoked_at is None:
            key.revoked_at = now or timezone.now()
            key.save(update_fields=["revoked_at"])
    return key


def rotate_api_key(*, key_id: int, actor: str) -> tuple[ApiKey, str]:
    """Revoke a key and issue a successor with the same name and expiry."""
    with transaction.atomic():
        old = revoke_api_key(key_id=key_id)
        return create_api_key(name=old.name, actor=actor, expires_at=old.expires_at)


def authenticate_key(raw: str, now: datetime | None = None) -> ApiKey | None:
    """The active key matching ``raw`` in the current schema, else None."""
    parts = raw.split("_", 2)
    if len(parts) != 3 or parts[0] != "ak":
        return None
    key = ApiKey.objects.filter(prefix=parts[1]).first()
    if key is None or not hmac.compare_digest(key.key_hash, _hash(raw)):
        return None
    now = now or timezone.now()
    if key.revoked_at is not None or (key.expires_at is not None and key.expires_at <= now):
        return None
    if key.last_used_at is None or now - key.last_used_at >= LAST_USED_RESOLUTION:
        ApiKey.objects.filter(pk=key.pk).update(last_used_at=now)
        key.last_used_at = now
    return key
