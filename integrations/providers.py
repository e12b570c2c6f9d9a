"""What differs per provider: how to verify, the event key and type, the tenant, the queue.

The generic inbox (``integrations.services.receive_webhook``) only calls these pieces.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from django.conf import settings

from integrations import signatures
from integrations.errors import SignatureInvalid
from integrations.inbox import has_handler, resolve_tenant, tenant_resolver

security_log = logging.getLogger("askpro.security")

if TYPE_CHECKING:
    from tenants.models import Tenant

QUEUE_HIGH, QUEUE_MEDIUM, QUEUE_LOW = "webhooks_high", "webhooks", "webhooks_low"


def retell_api_key_for(tenant: Tenant | None) -> str:
    """The Retell API key that signs this tenant's webhooks: its own Retell account's key when it
    has one (voice settings), else the platform's."""
    return _tenant_retell_key(tenant) or settings.RETELL_API_KEY


def _tenant_retell_key(tenant: Tenant | None) -> str:
    if tenant is None or tenant.is_template:
        return ""
    from django_tenants.utils import tenant_context

    from calls.models import VoiceSettings

    with tenant_context(tenant):
        voice = VoiceSettings.objects.only("retell_api_key").first()
    return voice.retell_api_key if voice is not None and voice.retell_api_key else ""


def _verify_retell(raw_body: bytes, header: str, tenant: Tenant | None) -> None:
    """The platform key first (no query on the common path); a delivery it does not match may come
    from a tenant's own Retell account: the tenant named by the URL, else the one the call routes to."""
    try:
        signatures.verify_retell(raw_body, header, settings.RETELL_API_KEY)
        return
    except SignatureInvalid as platform_refusal:
        if platform_refusal.details.get("reason") not in ("digest mismatch", "no key configured"):
            raise  # missing, malformed or stale: no key can make it valid
        if tenant is None:
            try:
                tenant = tenant_from_retell_call(signatures.parse_json_object(raw_body))
            except Exception:  # an unparsable or unroutable body: the platform key's answer stands
                raise platform_refusal from None
        key = _tenant_retell_key(tenant)
        if not key:
            raise
    signatures.verify_retell(raw_body, header, key)


def stripe_webhook_secret() -> str:
    return settings.STRIPE_WEBHOOK_SECRET


@dataclass(frozen=True)
class ProviderSpec:
    name: str
    signature_header: str
    event_type: Callable[[dict[str, Any]], str]
    event_key: Callable[[dict[str, Any], bytes], str]
    informational: Callable[[str], bool]
    default_queue: str
    success_status: int
    headers_kept: tuple[str, ...]

    def resolve_tenant(self, payload: dict[str, Any]) -> Tenant | None:
        return resolve_tenant(self.name, payload)

    def queue_for(self, event_type: str) -> str:
        if self.informational(event_type) or not has_handler(self.name, event_type):
            return QUEUE_LOW
        return self.default_queue


def body_hash(raw_body: bytes) -> str:
    return hashlib.sha256(raw_body).hexdigest()


# --- Stripe ---------------------------------------------------------------------------------

_STRIPE_BUSINESS_PREFIXES = (
    "checkout.session.", "payment_intent.", "charge.", "refund.", "invoice.", "invoice_payment.",
    "customer.subscription.", "billing.", "customer_cash_balance_transaction.",
)


def _stripe_event_type(payload: dict[str, Any]) -> str:
    return str(payload.get("type") or "")


def _stripe_event_key(payload: dict[str, Any], raw_body: bytes) -> str:
    return str(payload.get("id") or f"sha256:{body_hash(raw_body)}")


@tenant_resolver("stripe")
def tenant_from_stripe_metadata(payload: dict[str, Any]) -> Tenant | None:
    from tenants.models import Tenant

    obj = (payload.get("data") or {}).get("object") or {}
    slug = (obj.get("metadata") or {}).get("tenant") if isinstance(obj, dict) else None
    return Tenant.objects.filter(slug=slug).first() if slug else None


# --- Retell ---------------------------------------------------------------------------------

_RETELL_INFORMATIONAL = {"transcript_updated", "chat_started"}


def retell_call(payload: dict[str, Any]) -> dict[str, Any]:
    """The call object (``call``; older payloads used ``data``)."""
    call = payload.get("call") or payload.get("data") or payload.get("call_inbound") or {}
    return call if isinstance(call, dict) else {}


def _retell_event_type(payload: dict[str, Any]) -> str:
    return str(payload.get("event") or payload.get("event_type") or "")


def _retell_event_key(payload: dict[str, Any], raw_body: bytes) -> str:
    event = _retell_event_type(payload)
    call_id = retell_call(payload).get("call_id") or retell_call(payload).get("chat_id")
    if not call_id or event == "transcript_updated":
        # No stable id (or many per call): the delivery itself is the unit.
        return f"{event}:{call_id or '-'}:{body_hash(raw_body)}"
    if event.startswith("transfer_"):
        start = retell_call(payload).get("start_timestamp", "")
        return f"{event}:{call_id}:{start}:{payload.get('transfer_destination', '')}"[:255]
    return f"{event}:{call_id}"


@tenant_resolver("retell")
def tenant_from_retell_call(payload: dict[str, Any]) -> Tenant | None:
    """The rule of the function calls (``calls.functions.resolve_tenant``): the public agent /
    phone-number registry decides (our number: ``to_number`` inbound, ``from_number`` outbound).
    ``metadata.tenant`` only routes a call the registry does not know; naming another tenant than
    the registry's, it is logged and ignored, so a call's functions and its record (and charge)
    always land in the same tenant."""
    from appointments.customers import normalize_phone
    from tenants.models import Tenant
    from tenants.queries import tenant_for_voice_call

    call = retell_call(payload)
    ours = call.get("from_number") if call.get("direction") == "outbound" else call.get("to_number")
    agent_id = call.get("agent_id")
    routed = tenant_for_voice_call(agent_id=str(agent_id) if agent_id else None,
                                   to_number=normalize_phone(ours) if ours else None)
    raw_metadata = call.get("metadata")
    metadata: dict[str, Any] = raw_metadata if isinstance(raw_metadata, dict) else {}
    variables = call.get("retell_llm_dynamic_variables")
    slug = metadata.get("tenant") or (variables.get("tenant") if isinstance(variables, dict) else None)
    if routed is not None:
        if slug and str(slug) != routed.slug:
            security_log.warning(
                "retell call %s: metadata.tenant %r conflicts with the routed tenant %r (agent %s, number %s); ignored",
                call.get("call_id"), slug, routed.slug, agent_id, ours,
            )
        return routed
    if slug:
        return Tenant.objects.filter(slug=str(slug), is_template=False).first()
    return None


# --- Cal.com --------------------------------------------------------------------------------

_CALCOM_INFORMATIONAL = {
    "PING", "MEETING_STARTED", "MEETING_ENDED", "RECORDING_READY", "RECORDING_TRANSCRIPTION_GENERATED",
    "FORM_SUBMITTED", "FORM_SUBMITTED_NO_EVENT", "OOO_CREATED", "INSTANT_MEETING",
}


def _calcom_event_type(payload: dict[str, Any]) -> str:
    return str(payload.get("triggerEvent") or "")


def _calcom_event_key(payload: dict[str, Any], raw_body: bytes) -> str:
    # Cal.com sends no delivery id: identical bodies are the same delivery.
    return f"{_calcom_event_type(payload)}:{body_hash(raw_body)}"


SPECS: dict[str, ProviderSpec] = {
    "stripe": ProviderSpec(
        name="stripe", signature_header="Stripe-Signature",
        event_type=_stripe_event_type, event_key=_stripe_event_key,
        informational=lambda t: not t.startswith(_STRIPE_BUSINESS_PREFIXES),
        default_queue=QUEUE_MEDIUM, success_status=200,
        headers_kept=("stripe-signature", "user-agent", "content-type"),
    ),
    "retell": ProviderSpec(
        name="retell", signature_header="X-Retell-Signature",
        event_type=_retell_event_type, event_key=_retell_event_key,
        informational=lambda t: t in _RETELL_INFORMATIONAL,
        default_queue=QUEUE_HIGH, success_status=204,
        headers_kept=("x-retell-signature", "user-agent", "content-type"),
    ),
    "calcom": ProviderSpec(
        name="calcom", signature_header="X-Cal-Signature-256",
        event_type=_calcom_event_type, event_key=_calcom_event_key,
        informational=lambda t: t in _CALCOM_INFORMATIONAL,
        default_queue=QUEUE_HIGH, success_status=200,
        headers_kept=("x-cal-signature-256", "x-cal-webhook-version", "user-agent", "content-type"),
    ),
}


def provider_spec(name: str) -> ProviderSpec:
    return SPECS[name]


def verify(provider: str, raw_body: bytes, header: str, *, tenant: Tenant | None = None,
           calcom_secret: str = "") -> dict[str, Any]:
    """Verify a delivery's signature and return its parsed body (raises SignatureInvalid / MalformedPayload)."""
    if provider == "stripe":
        return signatures.verify_stripe(raw_body, header, stripe_webhook_secret())
    if provider == "retell":
        _verify_retell(raw_body, header, tenant)
    elif provider == "calcom":
        signatures.verify_calcom(raw_body, header, calcom_secret)
    else:
        raise ValueError(f"unknown provider {provider!r}")
    return signatures.parse_json_object(raw_body)
