"""Domain events the calls app emits (``askpro.hooks``), in the tenant's schema."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import ClassVar

from askpro.hooks import DomainEvent


@dataclass(frozen=True)
class CallEnded(DomainEvent):
    """A call's billable usage, emitted exactly once per Retell call (when its end is first known).

    ``provider_cost_cents`` is Retell's ``combined_cost`` rounded half up (0 if unknown), in
    ``provider_currency``. Billing keys its usage row on ``call_id`` (idempotent).
    """

    event_name: ClassVar[str] = "calls.call_ended"
    call_id: str
    tenant_id: int
    duration_seconds: int
    provider_cost_cents: int
    provider_currency: str
    ended_at: datetime


class _CallbackText:
    """Readable texts of a callback event, in the active language (German for German businesses)."""

    reason: str
    details: str
    priority: str

    def reason_text(self) -> str:
        from calls.models import CallbackRequest

        reasons = dict(CallbackRequest.Reason.choices)
        label = str(reasons.get(self.reason, reasons[CallbackRequest.Reason.OTHER]))
        return f"{label}: {self.details}" if self.details else label

    def priority_text(self) -> str:
        from calls.models import CallbackRequest

        return str(dict(CallbackRequest.Priority.choices).get(self.priority, self.priority))


@dataclass(frozen=True)
class CallbackRequested(_CallbackText, DomainEvent):
    """A caller asked to be called back (``reason`` is a ``CallbackRequest.Reason`` code)."""

    event_name: ClassVar[str] = "calls.callback_requested"
    callback_id: int
    priority: str
    reason: str
    phone: str
    name: str = ""
    details: str = ""


@dataclass(frozen=True)
class CallbackEscalated(_CallbackText, DomainEvent):
    """An open callback passed its due time: ``priority`` after the step up."""

    event_name: ClassVar[str] = "calls.callback_escalated"
    callback_id: int
    priority: str
    escalation_count: int
    reason: str
    phone: str
    name: str = ""
    details: str = ""
