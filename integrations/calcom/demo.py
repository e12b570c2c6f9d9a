"""Demo: Salon Schmidt is connected to the local Cal.com sandbox (idempotent, no network).

The sandbox (``python -m integrations.calcom_sandbox``, started by ``make run`` on
``CALCOM_SANDBOX_PORT``) knows user anna (1) with event types 101 "Haarschnitt" (30 min) and 102
"Färben" (90 min), and sends its booking webhooks to this tenant, signed with the demo secret.
Seeding does not call the sandbox: it may not run yet (the dev runner starts it after seeding).
Ben is not on Cal.com in the demo, so only Anna's "Haarschnitt Herren" and "Färben" are pushed.
"""

from __future__ import annotations

import logging
from typing import Any

from django.conf import settings
from django.db import transaction

from appointments.models import Service, Staff
from integrations.calcom.models import CalcomConnection, EventTypeMapping, StaffMapping
from integrations.calcom_sandbox import SANDBOX_API_KEY, SANDBOX_WEBHOOK_SECRET

logger = logging.getLogger(__name__)

EVENT_TYPES = (("Haarschnitt Herren", 101, "haarschnitt", 30), ("Färben", 102, "faerben", 90))
STAFF = (("Anna Becker", 1, "anna", "anna@salon-schmidt.example"),)


def seed_tenant(tenant: Any) -> None:
    if tenant.slug != "salon-schmidt":
        return
    with transaction.atomic():
        if not CalcomConnection.objects.exists():
            CalcomConnection.objects.create(
                api_url=settings.CALCOM_SANDBOX_URL, api_key=SANDBOX_API_KEY, webhook_secret=SANDBOX_WEBHOOK_SECRET,
                organizer_email="anna@salon-schmidt.example",
            )
        for name, event_type_id, slug, minutes in EVENT_TYPES:
            service = Service.objects.filter(name=name).first()
            if service is None or EventTypeMapping.objects.filter(event_type_id=event_type_id).exists():
                continue
            EventTypeMapping.objects.get_or_create(service=service, defaults={
                "event_type_id": event_type_id, "slug": slug, "length_minutes": minutes})
        for name, user_id, username, email in STAFF:
            staff = Staff.objects.filter(name=name).first()
            if staff is None or StaffMapping.objects.filter(calcom_user_id=user_id).exists():
                continue
            StaffMapping.objects.get_or_create(staff=staff, defaults={
                "calcom_user_id": user_id, "username": username, "email": email})
    logger.info("Salon Schmidt is connected to the Cal.com sandbox at %s", settings.CALCOM_SANDBOX_URL)
