from __future__ import annotations

from tenants.models import PhoneNumber, VoiceAgent
from tenants.queries import tenant_for_voice_call


def test_a_call_is_routed_by_agent_id_before_the_dialled_number(salon, physio):
    VoiceAgent.objects.create(agent_id="agent_salon", tenant=salon)
    PhoneNumber.objects.create(number="+493012345678", tenant=physio)

    assert tenant_for_voice_call(agent_id="agent_salon", to_number="+493012345678") == salon
    assert tenant_for_voice_call(agent_id="agent_unknown", to_number="+493012345678") == physio
    assert tenant_for_voice_call(to_number="+4940999") is None


def test_inactive_routes_are_ignored(salon):
    PhoneNumber.objects.create(number="+493011111111", tenant=salon, is_active=False)

    assert tenant_for_voice_call(to_number="+493011111111") is None
