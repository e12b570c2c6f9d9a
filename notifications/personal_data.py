"""Personal data of the notifications domain for data-protection requests (contract:
privacy.contract): messages sent to a customer, their contact preferences and its history.

Erasure keeps every delivery row (channel, event, status, cost: statistics and the provider's
bill) and blanks addresses, texts and the dedupe key that carries the address. Business
messages that quote the customer (a callback request names the caller) are blanked too.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.db import transaction
from django.db.models import CharField, Q, QuerySet, Value
from django.db.models.functions import Cast, Concat

from notifications.models import CustomerContactPreference, NotificationDelivery
from privacy.contract import Identity, RetentionRules

Status = NotificationDelivery.Status
_BLANK: dict[str, Any] = {"recipient": "", "subject": "", "body": "", "error": ""}
# A name shorter than this is too likely to occur in other customers' messages.
MIN_NAME_LENGTH = 5


def _erased_key() -> Concat:
    return Concat(Value("erased:"), Cast("pk", output_field=CharField()))


def _deliveries_of(person: Identity) -> QuerySet[NotificationDelivery]:
    condition = Q(customer_id=person.customer_id)
    addresses = [address for address in (*person.phones, person.email) if address]
    if addresses:
        condition |= Q(recipient__in=addresses)
    for text in addresses + ([person.name] if len(person.name.strip()) >= MIN_NAME_LENGTH else []):
        condition |= Q(body__icontains=text) | Q(subject__icontains=text)
    return NotificationDelivery.objects.filter(condition)


def export(customer_id: int) -> dict[str, Any]:
    preference = CustomerContactPreference.objects.filter(customer_id=customer_id).first()
    history = CustomerContactPreference.history.model  # type: ignore[attr-defined]
    return {
        "notifications": [
            {"event": d.event, "channel": d.channel, "recipient": d.recipient, "subject": d.subject, "body": d.body,
             "status": d.status, "created_at": d.created_at, "sent_at": d.sent_at}
            for d in NotificationDelivery.objects.filter(customer_id=customer_id).order_by("created_at", "pk")
        ],
        "contact_preference": None if preference is None else {
            "preferred_channel": preference.preferred_channel, "telegram_chat_id": preference.telegram_chat_id,
            "whatsapp_opt_out": preference.whatsapp_opt_out, "email_opt_out": preference.email_opt_out,
            "telegram_opt_out": preference.telegram_opt_out,
        },
        "consent_history": [
            {"at": h.history_date, "change": h.history_type, "preferred_channel": h.preferred_channel,
             "whatsapp_opt_out": h.whatsapp_opt_out, "email_opt_out": h.email_opt_out,
             "telegram_opt_out": h.telegram_opt_out}
            for h in history.objects.filter(customer_id=customer_id).order_by("history_date")
        ],
    }


def erase(person: Identity, now: dt.datetime | None = None) -> dict[str, int]:
    history = CustomerContactPreference.history.model  # type: ignore[attr-defined]
    with transaction.atomic():
        deliveries = _deliveries_of(person)
        counts = {
            "deliveries_cancelled": deliveries.filter(status=Status.PENDING).update(status=Status.CANCELLED),
            "deliveries": deliveries.update(dedupe_key=_erased_key(), **_BLANK),
            "contact_preference": CustomerContactPreference.objects.filter(customer_id=person.customer_id).update(
                telegram_chat_id=""),
            "contact_preference_history": history.objects.filter(customer_id=person.customer_id).update(
                telegram_chat_id="", history_change_reason=None),
        }
    return counts


def apply_retention(rules: RetentionRules, now: dt.datetime) -> dict[str, int]:
    cutoff = rules.cutoff(now, rules.notification_days)
    if cutoff is None:
        return {"notification_contents": 0}
    not_blank = ~Q(recipient="") | ~Q(subject="") | ~Q(body="") | ~Q(error="")
    finished = NotificationDelivery.objects.filter(created_at__lt=cutoff).exclude(status__in=(Status.PENDING, Status.SENDING))
    with transaction.atomic():
        updated = finished.filter(not_blank).update(dedupe_key=_erased_key(), **_BLANK)
    return {"notification_contents": updated}
