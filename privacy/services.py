"""Data-protection actions of a tenant: export (Art. 15/20), erasure (Art. 17), deletion requests
with their deadline, retention runs. Each app's personal data is reached through the providers
in privacy.registry; every export, erasure and retention run writes a PrivacyAuditEntry."""

from __future__ import annotations

import datetime as dt
import json
import logging
from dataclasses import dataclass
from typing import Any

from dateutil.relativedelta import relativedelta
from django.core.serializers.json import DjangoJSONEncoder
from django.db import transaction
from django.utils import timezone

from appointments import customers as customer_lookup
from appointments.models import Customer
from privacy import admin_log, registry
from privacy.contract import ERASED_NAME, RetentionRules
from privacy.errors import AlreadyErased, CustomerNotFound, ReasonRequired, RequestClosed
from privacy.models import DeletionRequest, PrivacyAuditEntry, RetentionPolicy

logger = logging.getLogger(__name__)

EXPORT_FORMAT = "askpro-privacy-export/1"
REMINDER_DAYS = 7
Action = PrivacyAuditEntry.Action


def find_customer(reference: str | int) -> Customer:
    """A customer by number (id) or by a phone number in any notation, in the current tenant."""
    text = str(reference).strip()
    customer = None
    if text.isdigit() and len(text) < 10:
        customer = Customer.objects.filter(pk=int(text)).first()
    if customer is None:
        customer = customer_lookup.find_customer_by_phone(text)
    if customer is None:
        raise CustomerNotFound(details={"customer": text})
    return customer


def is_erased(customer_id: int) -> bool:
    return PrivacyAuditEntry.objects.filter(action=Action.ERASURE, customer_ref=customer_id).exists()


def _require_reason(reason: str) -> str:
    reason = (reason or "").strip()
    if not reason:
        raise ReasonRequired()
    return reason[:500]


def _audit(action: str, *, actor: str, reason: str = "", customer_id: int | None = None,
           counts: dict[str, Any] | None = None) -> PrivacyAuditEntry:
    return PrivacyAuditEntry.objects.create(action=action, actor=actor[:150], reason=reason[:500],
                                            customer_ref=customer_id, counts=counts or {})


# --- export (Art. 15 / 20) -------------------------------------------------------------------


def export_customer(customer_id: int, *, actor: str, reason: str, now: dt.datetime | None = None) -> dict[str, Any]:
    """Everything the tenant holds about one customer, by app, JSON-serialisable; audited."""
    from askpro.tenancy import current_schema

    reason = _require_reason(reason)
    if not Customer.objects.filter(pk=customer_id).exists():
        raise CustomerNotFound(details={"customer": customer_id})
    now = now or timezone.now()
    data: dict[str, Any] = {"format": EXPORT_FORMAT, "generated_at": now, "tenant": current_schema(),
                            "customer_id": customer_id}
    for name, module in reversed(registry.providers()):  # the customer record first
        data[name] = module.export(customer_id)
    # Round-trip through JSON so callers get plain values (dates as ISO strings).
    data = json.loads(json.dumps(data, cls=DjangoJSONEncoder))
    counts = {f"{app}.{key}": len(value) for app, section in data.items() if isinstance(section, dict)
              for key, value in section.items() if isinstance(value, list)}
    _audit(Action.EXPORT, actor=actor, reason=reason, customer_id=customer_id, counts=counts)
    return data


def export_json(data: dict[str, Any]) -> str:
    return json.dumps(data, cls=DjangoJSONEncoder, ensure_ascii=False, indent=2)


# --- erasure (Art. 17) -----------------------------------------------------------------------


def erase_customer(customer_id: int, *, actor: str, reason: str, now: dt.datetime | None = None) -> dict[str, dict[str, int]]:
    """Anonymise one customer's personal data in every app of the tenant, in one transaction.

    Invoices and the ledger (billing, public schema, no customer data) stay as the law requires
    (§147 AO, §14b UStG); rows needed for statistics stay without personal data. Future
    appointments are cancelled (Cal.com through the outbox). Open deletion requests are closed."""
    reason = _require_reason(reason)
    now = now or timezone.now()
    appointments = registry.provider("appointments")
    with transaction.atomic():
        if not Customer.objects.select_for_update().filter(pk=customer_id).exists():
            raise CustomerNotFound(details={"customer": customer_id})
        if is_erased(customer_id):
            raise AlreadyErased(details={"customer": customer_id})
        person = appointments.identity(customer_id)
        counts = {name: module.erase(person, now=now) for name, module in registry.providers()}
        counts["admin"] = admin_log.erase(person, now=now)
        DeletionRequest.objects.filter(customer_id=customer_id, status=DeletionRequest.Status.OPEN).update(
            status=DeletionRequest.Status.DONE, handled_at=now, handled_by=actor[:150])
        _audit(Action.ERASURE, actor=actor, reason=reason, customer_id=customer_id, counts=counts)
    logger.info("customer %s erased by %s", customer_id, actor)
    return counts


# --- deletion requests -----------------------------------------------------------------------


def request_deletion(customer_id: int, *, actor: str, reason: str = "", received_at: dt.datetime | None = None) -> DeletionRequest:
    """Record a customer's deletion request; it is due one calendar month after receipt."""
    received_at = received_at or timezone.now()
    with transaction.atomic():
        if not Customer.objects.filter(pk=customer_id).exists():
            raise CustomerNotFound(details={"customer": customer_id})
        request = DeletionRequest.objects.create(
            customer_id=customer_id, received_at=received_at, due_at=received_at + relativedelta(months=1),
            reason=reason[:500])
        _audit(Action.DELETION_REQUEST, actor=actor, reason=reason, customer_id=customer_id,
               counts={"request": request.pk})
    return request


def reject_deletion_request(request_id: int, *, actor: str, reason: str) -> DeletionRequest:
    reason = _require_reason(reason)
    with transaction.atomic():
        request = DeletionRequest.objects.select_for_update().get(pk=request_id)
        if request.status != DeletionRequest.Status.OPEN:
            raise RequestClosed(details={"request": request_id})
        request.status, request.handled_at, request.handled_by = DeletionRequest.Status.REJECTED, timezone.now(), actor[:150]
        request.save(update_fields=["status", "handled_at", "handled_by"])
        _audit(Action.DELETION_REQUEST, actor=actor, reason=reason, customer_id=request.customer_id,
               counts={"request": request.pk, "rejected": 1})
    return request


def remind_due_requests(tenant: Any, now: dt.datetime | None = None) -> int:
    """Tell the business (once a day per request) about open deletion requests due within
    REMINDER_DAYS or overdue; returns how many reminders were created."""
    from notifications import events as notification_events
    from notifications.services import notify_business

    now = now or timezone.now()
    today = timezone.localdate(now, tenant.tzinfo)
    due = DeletionRequest.objects.filter(
        status=DeletionRequest.Status.OPEN, due_at__lte=now + dt.timedelta(days=REMINDER_DAYS),
    ).exclude(last_reminded_on=today).order_by("due_at")
    created = 0
    for request in due:
        with transaction.atomic():
            days_left = (timezone.localdate(request.due_at, tenant.tzinfo) - today).days
            notify_business(tenant, notification_events.DELETION_REQUEST_DUE, {
                "customer_ref": str(request.customer_id),
                "due_date": timezone.localtime(request.due_at, tenant.tzinfo).strftime("%d.%m.%Y"),
                "days_left": str(days_left),
            }, ref=f"deletion_request:{request.pk}@{today.isoformat()}")
            DeletionRequest.objects.filter(pk=request.pk).update(last_reminded_on=today)
            created += 1
    return created


# --- retention -------------------------------------------------------------------------------


def retention_policy() -> RetentionPolicy:
    policy = RetentionPolicy.objects.order_by("pk").first()
    return policy or RetentionPolicy.objects.create()


@dataclass(frozen=True)
class RetentionResult:
    counts: dict[str, int]
    erased_customers: list[int]


def apply_retention(*, actor: str = "system:retention", now: dt.datetime | None = None) -> RetentionResult:
    """Prune what the tenant's retention policy no longer allows; idempotent (a second run
    changes nothing and logs zeros). Inactive customers are erased like on request."""
    now = now or timezone.now()
    policy = retention_policy()
    rules = RetentionRules(policy.transcript_days, policy.recording_days, policy.notification_days,
                           policy.inactive_customer_years)
    counts: dict[str, int] = {}
    erased: list[int] = []
    if rules.inactive_customer_years:
        since = now - relativedelta(years=rules.inactive_customer_years)
        candidates = registry.provider("appointments").inactive_customer_ids(since)
        candidates -= registry.provider("calls").active_customer_ids(since)
        already = set(PrivacyAuditEntry.objects.filter(action=Action.ERASURE, customer_ref__in=candidates)
                      .values_list("customer_ref", flat=True))
        for customer_id in sorted(candidates - already):
            erase_customer(customer_id, actor=actor, reason=f"Aufbewahrungsfrist: {rules.inactive_customer_years} Jahre inaktiv", now=now)
            erased.append(customer_id)
    for _name, module in registry.providers():
        for key, value in module.apply_retention(rules, now).items():
            counts[key] = counts.get(key, 0) + value
    counts["inactive_customers"] = len(erased)
    _audit(Action.RETENTION, actor=actor, reason="Aufbewahrungsregeln", counts=counts)
    return RetentionResult(counts, erased)


__all__ = ["ERASED_NAME", "apply_retention", "erase_customer", "export_customer", "find_customer",
           "reject_deletion_request", "remind_due_requests", "request_deletion", "retention_policy"]
