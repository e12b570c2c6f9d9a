"""The admin's change log (django.contrib.admin, in the tenant schema) names what was edited:
"Erika Mustermann", "Haarschnitt · Erika Mustermann · 07.12.2026". No app owns it, so the privacy
app erases the customer's and their appointments' entries itself."""

from __future__ import annotations

import datetime as dt

from django.contrib.admin.models import LogEntry
from django.contrib.contenttypes.models import ContentType
from django.db.models import Q

from appointments.models import Appointment, Customer
from privacy.contract import ERASED_TEXT, Identity


def erase(person: Identity, now: dt.datetime | None = None) -> dict[str, int]:
    customer_type = ContentType.objects.get_for_model(Customer)
    appointment_type = ContentType.objects.get_for_model(Appointment)
    entries = LogEntry.objects.filter(
        Q(content_type=customer_type, object_id=str(person.customer_id))
        | Q(content_type=appointment_type, object_id__in=[str(pk) for pk in person.appointment_ids])
    )
    return {"admin_log": entries.update(object_repr=ERASED_TEXT, change_message="")}
