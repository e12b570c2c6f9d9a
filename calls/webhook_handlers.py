"""Retell call webhooks (``POST /webhooks/retell``, stored and queued by the integrations inbox)
-> the ``Call`` record. Thin: the rules live in ``calls.services.apply_call_event``, which is
idempotent and order-independent, as the inbox's retries require.

The inbox resolves the tenant with its built-in Retell resolver (``metadata.tenant``, then the
agent / dialled-number registry); the resolvers below add the cases it misses: outbound calls
(our number is ``from_number``), numbers not in E.164, and events that carry only a ``call_id``
(Retell's transfer samples) for a call a tenant already knows. Such an event that arrives before
anything else of its call fails and is retried by the inbox until the call is known.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.db import connection
from psycopg import sql

from appointments.customers import normalize_phone
from askpro.tenancy import business_tenants
from calls.services import LIFECYCLE_EVENTS, TRANSFER_EVENTS, MalformedCallEvent, apply_call_event
from integrations.inbox import IgnoreEvent, tenant_resolver, webhook_handler
from integrations.models import WebhookEvent
from integrations.providers import retell_call

if TYPE_CHECKING:
    from tenants.models import Tenant


class CallNotYetKnown(Exception):
    """An event with only a call id arrived before its call: the inbox retries it later."""


def _has_routing(payload: dict[str, Any]) -> bool:
    call = retell_call(payload)
    return any(call.get(key) for key in ("agent_id", "to_number", "from_number", "metadata"))


@webhook_handler("retell", *LIFECYCLE_EVENTS, *TRANSFER_EVENTS)
def record_call_event(event: WebhookEvent) -> None:
    """Apply a call event to the tenant's ``Call`` row (runs in the tenant's schema)."""
    if event.tenant_id is None:
        if _has_routing(event.payload or {}):
            raise IgnoreEvent("call not routed to a tenant (no metadata.tenant, unknown agent and number)")
        raise CallNotYetKnown(f"no tenant knows call {retell_call(event.payload or {}).get('call_id')!r} yet")
    try:
        apply_call_event(event.payload or {})
    except MalformedCallEvent as malformed:  # permanent: retrying cannot add the missing call_id
        raise IgnoreEvent(f"malformed call event: {malformed.details.get('reason', '')}") from None


@tenant_resolver("retell")
def tenant_from_normalised_numbers(payload: dict[str, Any]) -> Tenant | None:
    """Our side of the line in E.164: ``to_number`` of inbound calls, ``from_number`` of outbound."""
    from tenants.queries import tenant_for_voice_call

    call = retell_call(payload)
    ours = call.get("from_number") if call.get("direction") == "outbound" else call.get("to_number")
    number = normalize_phone(ours)
    return tenant_for_voice_call(to_number=number) if number else None


@tenant_resolver("retell")
def tenant_from_known_call(payload: dict[str, Any]) -> Tenant | None:
    """The tenant whose schema already has this ``call_id`` (one UNION query over the tenants'
    call tables; only asked when nothing in the payload routes the event)."""
    call_id = retell_call(payload).get("call_id")
    if not call_id or _has_routing(payload):
        return None
    tenants = {tenant.schema_name: tenant for tenant in business_tenants(include_suspended=True)}
    if not tenants:
        return None
    query = sql.SQL(" UNION ALL ").join(
        sql.SQL("(SELECT {schema} FROM {table} WHERE call_id = %s LIMIT 1)").format(
            schema=sql.Literal(schema), table=sql.Identifier(schema, "calls_call"),
        )
        for schema in tenants
    )
    with connection.cursor() as cursor:
        cursor.execute(query, [str(call_id)] * len(tenants))
        row = cursor.fetchone()
    return tenants[row[0]] if row else None
