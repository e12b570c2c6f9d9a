"""Which placeholders each event fills, and the check a tenant's own template must pass.

A template that names a placeholder the event never fills would be held as incomplete at every
send (``services._store``); the admin refuses it on save instead, with a German message.
"""

from __future__ import annotations

from django.utils.translation import gettext as _

from notifications import events as ev
from notifications.rendering import PLACEHOLDERS, placeholders_in

_APPOINTMENT = frozenset({
    "customer_name", "appointment_date", "appointment_time", "appointment_datetime", "appointment_end_time",
    "service_name", "service_duration", "staff_name", "branch_name", "branch_address", "branch_phone",
    "business_name", "price",
})
_CALLBACK = frozenset({"business_name", "callback_name", "callback_phone", "callback_reason", "callback_priority"})

# event -> the placeholders its values hold (queries.appointment_values, listeners.*_values)
EVENT_PLACEHOLDERS: dict[str, frozenset[str]] = {
    ev.APPOINTMENT_CONFIRMED: _APPOINTMENT,
    ev.APPOINTMENT_RESCHEDULED: _APPOINTMENT | {"previous_appointment_datetime"},
    ev.APPOINTMENT_CANCELLED: _APPOINTMENT,
    ev.REMINDER_24H: _APPOINTMENT,
    ev.REMINDER_2H: _APPOINTMENT,
    ev.CALLBACK_REQUESTED: _CALLBACK,
    ev.CALLBACK_ESCALATED: _CALLBACK,
    ev.LOW_BALANCE: frozenset({"business_name", "balance"}),
    ev.PAYMENT_FAILED: frozenset({"business_name", "amount"}),
    ev.INVOICE_ISSUED: frozenset({"business_name", "amount", "amount_due", "invoice_number"}),
    ev.TOPUP_COMPLETED: frozenset({"business_name", "amount", "balance"}),
}


def placeholders_for(event: str) -> frozenset[str]:
    """The placeholders ``event`` fills (every known one for an event this module does not list)."""
    return EVENT_PLACEHOLDERS.get(event, frozenset(PLACEHOLDERS))


def template_problems(event: str, text: str) -> list[str]:
    """German reasons why ``text`` cannot be a template of ``event``; empty when it can."""
    names = placeholders_in(text)
    unknown = sorted({name for name in names if name not in PLACEHOLDERS})
    unfilled = sorted({name for name in names if name in PLACEHOLDERS and name not in placeholders_for(event)})
    problems = []
    if unknown:
        problems.append(_("Unknown placeholders: %(names)s") % {"names": ", ".join(f"{{{{{n}}}}}" for n in unknown)})
    if unfilled:
        problems.append(
            _("This event has no value for: %(names)s. Remove it or use a placeholder listed below the text.")
            % {"names": ", ".join(f"{{{{{n}}}}}" for n in unfilled)}
        )
    return problems
