"""Demo data of the data-protection domain (idempotent): the default retention policy and one
open deletion request, received ten days ago, so the list shows a deadline and days left."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.utils import timezone

from appointments.models import Customer
from privacy import services
from privacy.models import DeletionRequest


def seed_tenant(tenant: Any) -> None:
    services.retention_policy()
    if DeletionRequest.objects.exists():
        return
    customer = Customer.objects.exclude(email="").order_by("pk").last()
    if customer is None:
        return
    services.request_deletion(customer.pk, actor="demo", reason="Per E-Mail an die Filiale",
                              received_at=timezone.now() - dt.timedelta(days=10))
