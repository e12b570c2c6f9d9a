"""The explicit hook between domains: a service emits a named event after its transaction
commits, and other apps' listeners react (queue a Celery task, usually).

Listeners live in ``<app>/listeners.py`` and are found by convention::

    from askpro.hooks import Event, listens_to

    @listens_to("appointment.booked", "appointment.rescheduled")
    def push_to_calcom(event: Event) -> None:
        push_appointment.delay(event.payload["appointment_id"])

Event names and payloads (all ids are integers, times ISO 8601 strings):

- ``appointment.booked`` / ``appointment.rescheduled`` / ``appointment.cancelled`` /
  ``appointment.status_changed``: ``appointment_id``, ``source``, ``actor`` and, for reschedules,
  ``previous_starts_at`` (UTC); emitted in the tenant's schema by ``appointments.services``.
  Extras: booked ``series_id`` (occurrences of a recurring series, one event each); cancelled
  ``previous_status``, ``notify_customer``, ``fee_cents``; status_changed ``previous_status``,
  ``status``.
- ``billing.*``, emitted in the public schema (amounts in EUR cents):
  ``billing.low_balance``: ``tenant_id``, ``account_id``, ``balance_cents``, ``threshold_cents``
  (once per crossing below the threshold);
  ``billing.topup_completed``: ``tenant_id``, ``topup_id``, ``amount_cents``, ``bonus_cents``, ``balance_cents``;
  ``billing.payment_failed``: ``tenant_id``, ``amount_cents``, ``reason`` and ``topup_id`` or
  ``stripe_invoice_id``;
  ``billing.invoice_issued``: ``tenant_id``, ``invoice_id``, ``number``, ``gross_cents``,
  ``amount_due_cents`` (PDF stored on ``billing.Invoice.pdf``), ``resend=True`` when re-sent by an operator.
- ``calls.call_ended``: a call's billable usage, emitted exactly once per Retell call (when its end
  is first known, from ``call_ended`` or ``call_analyzed``); tenant schema. Payload: ``call_id``
  (Retell id, str), ``tenant_id``, ``duration_seconds`` (int, rounded), ``provider_cost_cents``
  (int, Retell's ``combined_cost`` rounded half up; 0 if unknown), ``provider_currency`` ("USD"),
  ``ended_at`` (ISO 8601 UTC). Billing must still key its usage row on ``call_id`` (idempotent).
- ``calls.callback_requested``: ``callback_id``, ``priority``, ``reason``; tenant schema.
- ``calls.callback_escalated``: ``callback_id``, ``priority`` (after the step up),
  ``escalation_count``; tenant schema.

A listener runs in the schema the event was emitted in; its failure is logged and never undoes
or breaks the business change that already committed.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from django.db import transaction
from django_tenants.utils import schema_context

from askpro.discovery import app_modules
from askpro.tenancy import current_schema

logger = logging.getLogger(__name__)

Listener = Callable[["Event"], None]
_listeners: dict[str, list[Listener]] = defaultdict(list)
_discovered = False


@dataclass(frozen=True)
class Event:
    name: str
    schema_name: str
    payload: dict[str, Any] = field(default_factory=dict)


def listens_to(*names: str) -> Callable[[Listener], Listener]:
    def register(listener: Listener) -> Listener:
        for name in names:
            if listener not in _listeners[name]:
                _listeners[name].append(listener)
        return listener

    return register


def autodiscover() -> None:
    global _discovered
    if not _discovered:
        app_modules("listeners")
        _discovered = True


def listeners_for(name: str) -> list[Listener]:
    autodiscover()
    return list(_listeners.get(name, []))


def dispatch(event: Event) -> None:
    """Call every listener now, in the event's schema; failures are logged, not raised."""
    for listener in listeners_for(event.name):
        try:
            with schema_context(event.schema_name):
                listener(event)
        except Exception:
            logger.exception("listener %s failed for %s", getattr(listener, "__name__", listener), event.name)


def emit(name: str, **payload: Any) -> Event:
    """Schedule ``name`` for dispatch after the current transaction commits (now if none)."""
    event = Event(name=name, schema_name=current_schema(), payload=payload)
    transaction.on_commit(lambda: dispatch(event))
    return event
