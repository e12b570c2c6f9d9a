"""Whether a tenant's calls are answered: the public "voice blocked" state.

Billing decides (balance past the credit limit with ``reject_calls_when_exhausted``) and writes
it here through :func:`set_voice_block`; the calls app reads it with :func:`voice_block` on every
inbound call and function call. Neither imports the other. One indexed read per request, never
cached, so a top-up takes effect with the next call.
"""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone

from tenants.models import VoiceBlock


def voice_block(tenant_id: int) -> str | None:
    """The machine-readable reason calls to this tenant are refused (``BALANCE_EXHAUSTED``), or None."""
    return VoiceBlock.objects.filter(tenant_id=tenant_id).values_list("reason", flat=True).first()


def set_voice_block(tenant_id: int, reason: str | None) -> bool:
    """Block calls with ``reason`` or (None) answer them again; True when the state changed.
    Callers serialise per tenant (billing holds the account's row lock)."""
    if reason is None:
        deleted, _rows = VoiceBlock.objects.filter(tenant_id=tenant_id).delete()
        return bool(deleted)
    with transaction.atomic():
        block, created = VoiceBlock.objects.get_or_create(
            tenant_id=tenant_id, defaults={"reason": reason, "since": timezone.now()},
        )
        if not created and block.reason != reason:
            block.reason = reason
            block.save(update_fields=["reason"])
            return True
        return created
