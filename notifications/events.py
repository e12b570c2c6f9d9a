"""The event registry: every notification AskPro can send, defined in code.

An event says who it is for (the customer or the business), which channel it uses unless a
configuration says otherwise, whether a business may switch it off, whether it is urgent
(sent even in quiet hours) and whether it is marketing (needs explicit consent).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from django.utils.translation import gettext_lazy as _

if TYPE_CHECKING:
    from django_stubs_ext import StrOrPromise


class Channel:
    EMAIL = "email"
    SMS = "sms"
    WHATSAPP = "whatsapp"
    TELEGRAM = "telegram"

    CHOICES = [
        (EMAIL, _("Email")),
        (SMS, _("SMS")),
        (WHATSAPP, _("WhatsApp")),
        (TELEGRAM, _("Telegram")),
    ]
    ALL = (EMAIL, SMS, WHATSAPP, TELEGRAM)


class Audience:
    CUSTOMER = "customer"
    BUSINESS = "business"


@dataclass(frozen=True)
class EventType:
    key: str
    # Lazy translations: rendered in the reader's language.
    display_name: StrOrPromise
    description: StrOrPromise
    default_channel: str
    requires_customer: bool
    can_be_disabled: bool
    audience: str = Audience.CUSTOMER
    urgent: bool = False
    marketing: bool = False
    # An ICS calendar file is attached to emails of appointment events.
    calendar: bool = False


EVENTS: dict[str, EventType] = {}


def register_event(event: EventType) -> EventType:
    EVENTS[event.key] = event
    return event


def get_event(key: str) -> EventType:
    try:
        return EVENTS[key]
    except KeyError:
        raise KeyError(f"unknown notification event {key!r}") from None


def event_choices() -> list[tuple[str, StrOrPromise]]:
    # Lazy labels: rendered in each reader's language; str() here would freeze them in the
    # language active at import (German) and make makemigrations see a change.
    return [(event.key, event.display_name) for event in EVENTS.values()]


APPOINTMENT_CONFIRMED = "appointment_confirmed"
APPOINTMENT_RESCHEDULED = "appointment_rescheduled"
APPOINTMENT_CANCELLED = "appointment_cancelled"
REMINDER_24H = "reminder_24h"
REMINDER_2H = "reminder_2h"
CALLBACK_REQUESTED = "callback_requested"
CALLBACK_ESCALATED = "callback_escalated"
LOW_BALANCE = "low_balance"
PAYMENT_FAILED = "payment_failed"
INVOICE_ISSUED = "invoice_issued"
TOPUP_COMPLETED = "topup_completed"
CUSTOMER_MESSAGE = "customer_message"
DELETION_REQUEST_DUE = "deletion_request_due"
MARKETING_MESSAGE = "marketing_message"

APPOINTMENT_EVENTS = (APPOINTMENT_CONFIRMED, APPOINTMENT_RESCHEDULED, APPOINTMENT_CANCELLED, REMINDER_24H, REMINDER_2H)
REMINDER_LEADS = {REMINDER_24H: 24 * 60, REMINDER_2H: 2 * 60}  # minutes before the start

for _event in (
    EventType(APPOINTMENT_CONFIRMED, _("Appointment confirmed"), _("Sent to the customer when an appointment is booked."),
              Channel.EMAIL, requires_customer=True, can_be_disabled=False, calendar=True),
    EventType(APPOINTMENT_RESCHEDULED, _("Appointment rescheduled"), _("Sent to the customer when an appointment moves."),
              Channel.EMAIL, requires_customer=True, can_be_disabled=False, urgent=True, calendar=True),
    EventType(APPOINTMENT_CANCELLED, _("Appointment cancelled"), _("Sent to the customer when an appointment is cancelled."),
              Channel.EMAIL, requires_customer=True, can_be_disabled=False, urgent=True, calendar=True),
    EventType(REMINDER_24H, _("Reminder 24 hours ahead"), _("Reminds the customer one day before the appointment."),
              Channel.SMS, requires_customer=True, can_be_disabled=True),
    EventType(REMINDER_2H, _("Reminder 2 hours ahead"), _("Reminds the customer shortly before the appointment."),
              Channel.SMS, requires_customer=True, can_be_disabled=True, urgent=True),
    EventType(CALLBACK_REQUESTED, _("Callback requested"), _("Tells the business that a caller asked for a callback."),
              Channel.EMAIL, requires_customer=False, can_be_disabled=True, audience=Audience.BUSINESS, urgent=True),
    EventType(CALLBACK_ESCALATED, _("Callback overdue"), _("Tells the business that a requested callback is overdue."),
              Channel.EMAIL, requires_customer=False, can_be_disabled=True, audience=Audience.BUSINESS, urgent=True),
    EventType(LOW_BALANCE, _("Low balance"), _("Warns the business that its prepaid balance is running low."),
              Channel.EMAIL, requires_customer=False, can_be_disabled=False, audience=Audience.BUSINESS),
    EventType(PAYMENT_FAILED, _("Payment failed"), _("Tells the business that a payment did not go through."),
              Channel.EMAIL, requires_customer=False, can_be_disabled=False, audience=Audience.BUSINESS),
    EventType(INVOICE_ISSUED, _("Invoice issued"), _("Sends the business its new invoice."),
              Channel.EMAIL, requires_customer=False, can_be_disabled=False, audience=Audience.BUSINESS),
    EventType(TOPUP_COMPLETED, _("Top-up completed"), _("Confirms a prepaid balance top-up to the business."),
              Channel.EMAIL, requires_customer=False, can_be_disabled=True, audience=Audience.BUSINESS),
    # Written by hand in the customer admin; not about an appointment, so it needs consent.
    EventType(CUSTOMER_MESSAGE, _("Message to a customer"), _("A text written by staff to one customer."),
              Channel.SMS, requires_customer=True, can_be_disabled=False, marketing=True),
    EventType(DELETION_REQUEST_DUE, _("Deletion request due"),
              _("Reminds the business of a customer's deletion request due within a week or overdue."),
              Channel.EMAIL, requires_customer=False, can_be_disabled=False, audience=Audience.BUSINESS),
    EventType(MARKETING_MESSAGE, _("Marketing message"),
              _("A campaign message; only to customers with marketing consent who did not opt out."),
              Channel.EMAIL, requires_customer=True, can_be_disabled=True, marketing=True),
):
    register_event(_event)
