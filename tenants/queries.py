"""Read helpers for routing external traffic to a tenant."""

from __future__ import annotations

from django_tenants.utils import get_public_schema_name, schema_context

from tenants.models import PhoneNumber, Tenant, VoiceAgent


def tenant_for_voice_call(*, agent_id: str | None = None, to_number: str | None = None) -> Tenant | None:
    """The tenant owning a Retell agent id or the dialled number (E.164), or None if unknown."""
    with schema_context(get_public_schema_name()):
        if agent_id:
            agent = VoiceAgent.objects.select_related("tenant").filter(agent_id=agent_id, is_active=True).first()
            if agent is not None:
                return agent.tenant
        if to_number:
            route = PhoneNumber.objects.select_related("tenant").filter(number=to_number, is_active=True).first()
            if route is not None:
                return route.tenant
    return None
