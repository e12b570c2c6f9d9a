"""Demo data of the voice domain: public call routing for the demo tenants, a few callers with
notes and consent, finished calls and an open callback. Idempotent."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.utils import timezone
from django_tenants.utils import get_public_schema_name, schema_context

from appointments import customers
from calls import services
from calls.models import CallbackRequest

DEMO_ROUTES = {
    # slug: (dialled number, Retell agent id)
    "salon-schmidt": ("+493012345678", "agent_demo_salon_schmidt"),
    "physio-nord": ("+494087654321", "agent_demo_physio_nord"),
}
DEMO_CALLERS = (
    ("Maria Lopez", "+4915112345678", "regular"),
    ("Max Mustermann", "+4917012345678", "customer"),
    ("Erika Musterfrau", "+4916012345678", "vip"),
)


def seed_tenant(tenant: Any) -> None:
    route = DEMO_ROUTES.get(tenant.slug)
    if route is None:
        return
    number, agent_id = route
    from tenants.models import PhoneNumber, VoiceAgent

    with schema_context(get_public_schema_name()):
        PhoneNumber.objects.get_or_create(number=number, defaults={"tenant": tenant, "label": "Hauptnummer"})
        VoiceAgent.objects.get_or_create(agent_id=agent_id, defaults={"tenant": tenant, "name": "Empfang"})

    for name, phone, status in DEMO_CALLERS:
        customer, created = customers.get_or_create_caller(phone, name=name, actor="demo")
        if created:
            customers.change_journey_status(customer.pk, status, reason="demo", actor="demo")
            customers.set_consent(customer.pk, gdpr=True, marketing=status == "vip")
            customers.add_note(customer.pk, "Bevorzugt Termine am Vormittag.", type="general", pinned=True)

    start = timezone.now().replace(second=0, microsecond=0) - dt.timedelta(days=1)
    for index, (name, phone, _status) in enumerate(DEMO_CALLERS):
        call_id = f"call_demo_{tenant.slug}_{index}"
        begin = int((start + dt.timedelta(hours=index)).timestamp() * 1000)
        call = {"call_type": "phone_call", "call_id": call_id, "agent_id": agent_id, "direction": "inbound",
                "from_number": phone, "to_number": number, "start_timestamp": begin,
                "end_timestamp": begin + 95_000, "duration_ms": 95_000, "disconnection_reason": "user_hangup",
                "transcript": f"Agent: {tenant.name}, guten Tag!\nUser: Hallo, hier ist {name}. Ich hätte gern einen Termin.",
                "transcript_object": [
                    {"role": "agent", "content": f"{tenant.name}, guten Tag!"},
                    {"role": "user", "content": f"Hallo, hier ist {name}. Ich hätte gern einen Termin."},
                ],
                "call_cost": {"combined_cost": 15.83, "total_duration_seconds": 95},
                "call_analysis": {"call_summary": f"{name} hat nach einem Termin gefragt.",
                                  "user_sentiment": "Positive", "call_successful": True,
                                  "custom_analysis_data": {"caller_name": name}}}
        services.apply_call_event({"event": "call_started", "call": call})
        services.apply_call_event({"event": "call_ended", "call": call})
        services.apply_call_event({"event": "call_analyzed", "call": call})

    if not CallbackRequest.objects.exists():
        services.request_callback(
            phone=DEMO_CALLERS[1][1], name=DEMO_CALLERS[1][0], reason=CallbackRequest.Reason.NO_SLOT,
            priority=CallbackRequest.Priority.HIGH, details="Sucht einen Termin am Samstagvormittag.",
            call_id=f"call_demo_{tenant.slug}_1",
        )
