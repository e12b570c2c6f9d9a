"""Personal data of the booking domain for data-protection requests (contract: privacy.contract).

Export: the customer record with consents, appointments, the notes visible to the customer and
the journey. Erasure: the customer row is anonymised (kept, so appointments and statistics keep
their customer), free-text notes and reasons are blanked, notes are deleted, future appointments
are cancelled without a message to the customer (the Cal.com push cancels their booking there),
and the same is done in the django-simple-history tables.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from django.db import transaction
from django.db.models import Max, Q
from django.utils import timezone

from appointments.events import AppointmentCancelled
from appointments.models import (
    Appointment,
    AppointmentModification,
    Customer,
    CustomerJourneyTransition,
    CustomerMerge,
    CustomerNote,
)
from askpro.hooks import emit
from privacy.contract import ERASED_NAME, ERASED_TEXT, Identity, RetentionRules

ERASURE_ACTOR = "privacy:erasure"
ERASURE_REASON = "Datenschutz: Löschung der Kundendaten"
_ACTIVE = (Appointment.Status.PENDING, Appointment.Status.CONFIRMED)


def customer_visible_notes(customer_id: int) -> Any:
    """Notes the customer may see about themselves (Art. 15): only those marked for everyone.

    Internal notes (staff, management, medical notes for the practice) are left out; when the
    note visibility rules change (issue 17, CRM half), this is the one place to adjust."""
    return CustomerNote.objects.filter(customer_id=customer_id, visibility=CustomerNote.Visibility.ALL)


def identity(customer_id: int) -> Identity:
    customer = Customer.objects.get(pk=customer_id)
    return Identity(
        customer_id=customer.pk, name=customer.name, phones=tuple(customer.phone_numbers), email=customer.email,
        appointment_ids=tuple(Appointment.objects.filter(customer_id=customer_id).values_list("pk", flat=True)),
    )


def export(customer_id: int) -> dict[str, Any]:
    customer = Customer.objects.get(pk=customer_id)
    appointments = (
        Appointment.objects.filter(customer_id=customer_id)
        .select_related("service", "staff", "branch").order_by("starts_at")
    )
    return {
        "customer": {
            "id": customer.pk, "name": customer.name, "phone": customer.phone, "other_phones": list(customer.other_phones),
            "email": customer.email, "language": customer.language, "source": customer.source,
            "journey_status": customer.journey_status, "created_at": customer.created_at,
        },
        "consents": {
            "gdpr_consent": customer.gdpr_consent, "gdpr_consent_at": customer.gdpr_consent_at,
            "marketing_consent": customer.marketing_consent, "marketing_consent_at": customer.marketing_consent_at,
            "sms_opt_out": customer.sms_opt_out, "sms_opt_out_at": customer.sms_opt_out_at,
        },
        "appointments": [
            {
                "id": a.pk, "starts_at": a.starts_at, "ends_at": a.ends_at, "status": a.status, "source": a.source,
                "service": a.service.name, "staff": a.staff.name, "branch": a.branch.name,
                "price_cents": a.price_cents, "currency": a.currency, "notes": a.notes,
                "cancelled_at": a.cancelled_at,
            }
            for a in appointments
        ],
        "appointment_changes": [
            {"appointment_id": m.appointment_id, "kind": m.kind, "reason": m.reason, "at": m.created_at,
             "fee_cents": m.fee_cents}
            for m in AppointmentModification.objects.filter(customer_id=customer_id).order_by("created_at")
        ],
        "notes": [
            {"subject": n.subject, "content": n.content, "type": n.type, "created_at": n.created_at}
            for n in customer_visible_notes(customer_id).order_by("created_at")
        ],
        "journey": [
            {"from": t.from_status, "to": t.to_status, "reason": t.reason, "at": t.created_at}
            for t in CustomerJourneyTransition.objects.filter(customer_id=customer_id).order_by("created_at", "id")
        ],
    }


def _cancel_future(customer_id: int, now: dt.datetime) -> int:
    """Cancel upcoming appointments without the cancellation policy (nobody is charged for an
    erasure) and without a message; the event lets Cal.com cancel the booking and its attendee."""
    cancelled = 0
    future = Appointment.objects.select_for_update().filter(customer_id=customer_id, status__in=_ACTIVE, starts_at__gt=now)
    for appointment in future.order_by("pk"):
        previous = appointment.status
        appointment.status = Appointment.Status.CANCELLED
        appointment.cancelled_at = now
        appointment.version += 1
        appointment._change_reason = ERASURE_REASON  # type: ignore[attr-defined]
        appointment.save()
        AppointmentModification.objects.create(
            appointment=appointment, customer_id=customer_id, kind=AppointmentModification.Kind.CANCELLATION,
            reason=ERASURE_REASON, actor=ERASURE_ACTOR, source=Appointment.Source.ADMIN,
            previous_starts_at=appointment.starts_at,
            hours_notice=Decimal((appointment.starts_at - now).total_seconds() / 3600).quantize(Decimal("0.01")),
            created_at=now,
        )
        emit(AppointmentCancelled(
            appointment_id=appointment.pk, source=Appointment.Source.ADMIN, actor=ERASURE_ACTOR,
            previous_status=str(previous), notify_customer=False,
        ))
        cancelled += 1
    return cancelled


def erase(person: Identity, now: dt.datetime | None = None) -> dict[str, int]:
    now = now or timezone.now()
    customer_id = person.customer_id
    history = Appointment.history.model  # type: ignore[attr-defined]
    with transaction.atomic():
        Customer.objects.select_for_update().get(pk=customer_id)
        counts: dict[str, int] = {}
        counts["appointment_notes"] = Appointment.objects.filter(customer_id=customer_id).exclude(notes="").update(notes="")
        counts["appointment_history"] = history.objects.filter(customer_id=customer_id).update(
            notes="", history_change_reason=None)
        counts["modification_reasons"] = AppointmentModification.objects.filter(customer_id=customer_id).update(reason="")
        counts["journey_reasons"] = CustomerJourneyTransition.objects.filter(customer_id=customer_id).update(reason="", actor="")
        counts["notes"] = CustomerNote.objects.filter(customer_id=customer_id).delete()[0]
        # Merged duplicates were the same person: their snapshot and names go too (undo is then refused).
        counts["merge_records"] = CustomerMerge.objects.filter(kept_id=customer_id).update(
            kept_name=ERASED_NAME, removed_name=ERASED_NAME, removed_snapshot={}, kept_changes={})
        # After the blanking: the cancellations' own history rows and reasons name no one.
        counts["appointments_cancelled"] = _cancel_future(customer_id, now)
        counts["customer"] = Customer.objects.filter(pk=customer_id).update(
            name=ERASED_NAME, phone="", other_phones=[], email="", marketing_consent=False, gdpr_consent=False,
            updated_at=now,
        )
    return counts


def inactive_customer_ids(since: dt.datetime) -> set[int]:
    """Customers created before ``since`` with no appointment starting on or after it."""
    return set(
        Customer.objects.filter(created_at__lt=since)
        .exclude(name=ERASED_NAME, phone="", email="")
        .annotate(last=Max("appointments__starts_at"))
        .filter(Q(last__isnull=True) | Q(last__lt=since))
        .values_list("pk", flat=True)
    )


def apply_retention(rules: RetentionRules, now: dt.datetime) -> dict[str, int]:
    return {}  # inactive customers are erased as a whole by privacy.services


__all__ = ["ERASED_TEXT", "export", "erase", "identity", "inactive_customer_ids", "apply_retention", "customer_visible_notes"]
