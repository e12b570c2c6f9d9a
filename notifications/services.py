"""Notification actions: create deliveries for an event (exactly once per event, recipient
and channel), send them with retries and fallback, and record provider feedback."""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
from dataclasses import dataclass
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone
from django_tenants.utils import schema_context

from appointments.customers import set_consent
from appointments.models import Appointment, Customer
from askpro.errors import DomainError
from askpro.tenancy import current_schema
from notifications import events as ev
from notifications import queries
from notifications.channels import (
    Attachment,
    Message,
    PermanentFailure,
    TemporaryFailure,
    backend_name,
    channel_backend,
)
from notifications.errors import (
    DeliveryNotCancellable,
    DeliveryNotFound,
    DeliveryNotRetryable,
    MessageInvalid,
    MessageNoAddress,
    MessageNoConsent,
    MessageOptedOut,
    RecipientNotFound,
    TemplateNotFound,
)
from notifications.events import Audience, Channel
from notifications.ics import appointment_ics
from notifications.models import (
    CustomerContactPreference,
    NotificationDelivery,
    NotificationTemplate,
)
from notifications.rendering import render

logger = logging.getLogger(__name__)

Status = NotificationDelivery.Status
Skip = NotificationDelivery.SkipReason
ACTIVE_APPOINTMENT_STATUSES = (Appointment.Status.PENDING, Appointment.Status.CONFIRMED)
# A delivery stuck in "sending" this long lost its worker mid-send: its outcome is unknown.
SENDING_TIMEOUT = dt.timedelta(minutes=15)
STOP_WORDS = {"STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT", "STOPP", "ABMELDEN"}
START_WORDS = {"START", "UNSTOP", "YES"}


@dataclass(frozen=True)
class _Plan:
    """What one delivery will be, before it is stored."""

    event: str
    channel: str
    recipient: str
    language: str
    ref: str  # what the event is about, e.g. "appointment:7@2026-10-14T12:00:00+00:00"
    values: dict[str, str]
    customer: Customer | None = None
    appointment: Appointment | None = None
    skip_reason: str = ""
    fallback_of: NotificationDelivery | None = None


def dedupe_key(event: str, ref: str, channel: str, recipient: str) -> str:
    key = f"{event}|{ref}|{channel}|{recipient.lower()}"
    if len(key) <= 200:
        return key
    return f"{event}|{hashlib.sha256(key.encode()).hexdigest()}"


def _appointment_ref(event: str, appointment: Appointment) -> str:
    # A reschedule or reminder is about one start time: a moved appointment gets fresh ones.
    if event in (ev.APPOINTMENT_RESCHEDULED, ev.REMINDER_24H, ev.REMINDER_2H):
        return f"appointment:{appointment.pk}@{appointment.starts_at.astimezone(dt.UTC).isoformat()}"
    return f"appointment:{appointment.pk}"


def _customer_skip_reason(
    event: str, channel: str, recipient: str, customer: Customer, preference: CustomerContactPreference | None
) -> str:
    if not recipient:
        return Skip.NO_ADDRESS
    if queries.opted_out(customer, channel, preference):
        return Skip.OPTED_OUT
    if ev.get_event(event).marketing and not customer.marketing_consent:
        return Skip.NO_CONSENT
    return ""


def _store(plan: _Plan, config: queries.EffectiveConfiguration, override: Any, now: dt.datetime, tz: Any,
           not_before: dt.datetime | None = None) -> tuple[NotificationDelivery, bool]:
    """Render and insert one delivery; an existing row with the same key wins (created=False).
    ``not_before`` holds it back (campaign rate limit); quiet hours are judged at that time."""
    template = queries.choose_template(plan.event, plan.channel, plan.language, override)
    subject, body = render(template.subject, plan.values), render(template.body, plan.values)
    event = ev.get_event(plan.event)
    status, error = Status.PENDING, ""
    next_attempt: dt.datetime | None = max(now, not_before) if not_before else now
    if plan.skip_reason:
        status, next_attempt = Status.SKIPPED, None
    elif not (subject.ok and body.ok):
        # Sending a message with holes in it would look broken: hold it for a human.
        problems = sorted(set(subject.unknown + body.unknown + subject.missing + body.missing))
        status, next_attempt = Status.FAILED, None
        error = f"template_incomplete: no value for {', '.join(problems)}"
    elif plan.channel in (Channel.SMS, Channel.WHATSAPP) and not event.urgent:
        next_attempt = queries.quiet_hours_end(next_attempt or now, tz) or next_attempt
    fields = dict(
        event=plan.event, channel=plan.channel, recipient=plan.recipient, language=plan.language,
        customer=plan.customer, appointment=plan.appointment,
        appointment_starts_at=plan.appointment.starts_at if plan.appointment else None,
        subject=subject.text[:255], body=body.text, template_source=template.source,
        status=status, skip_reason=plan.skip_reason, urgent=event.urgent,
        max_retries=config.retry_count, retry_delay_minutes=config.retry_delay_minutes,
        fallback_channel="" if plan.fallback_of else config.fallback_channel,
        fallback_of=plan.fallback_of, next_attempt_at=next_attempt, error=error,
        failed_at=now if status == Status.FAILED else None,
    )
    key = dedupe_key(plan.event, plan.ref, plan.channel, plan.recipient)
    try:
        with transaction.atomic():
            delivery = NotificationDelivery.objects.create(dedupe_key=key, **fields)
    except IntegrityError:
        return NotificationDelivery.objects.get(dedupe_key=key), False
    if status == Status.SKIPPED:
        logger.info("notification %s skipped (%s): %s", plan.event, plan.skip_reason, plan.ref)
    elif status == Status.FAILED:
        logger.warning("notification %s held: %s", plan.event, error)
    elif next_attempt is not None and next_attempt <= now:
        _queue_delivery(delivery.pk)
    return delivery, True


def _queue_delivery(delivery_id: int, countdown: float = 0) -> None:
    from notifications.tasks import deliver_notification

    # The task runs in the schema it is queued from; the commit may happen after the caller
    # left the tenant's schema (billing events are handled inside tenant_context), so pin it.
    schema = current_schema()

    def queue() -> None:
        with schema_context(schema):
            deliver_notification.apply_async((delivery_id,), countdown=countdown)

    transaction.on_commit(queue)


def notify_appointment_event(
    event_key: str, appointment_id: int, *, previous_starts_at: dt.datetime | None = None,
    now: dt.datetime | None = None,
) -> list[NotificationDelivery]:
    """Create (once) the customer's notification for an appointment event in the current
    tenant, in the customer's language, and queue it after commit. Returns the new rows."""
    if event_key not in ev.APPOINTMENT_EVENTS:
        raise ValueError(f"{event_key} is not an appointment event")
    now = now or timezone.now()
    with transaction.atomic():
        appointment = (
            Appointment.objects.select_related("customer", "service", "staff", "branch").filter(pk=appointment_id).first()
        )
        if appointment is None:
            logger.warning("notification %s: appointment %s not found", event_key, appointment_id)
            return []
        config = queries.resolve_configuration(
            event_key, branch_id=appointment.branch_id, service_id=appointment.service_id, staff_id=appointment.staff_id
        )
        customer = appointment.customer
        preference = queries.contact_preference(customer)
        channel = (preference.preferred_channel if preference and preference.preferred_channel else "") or config.channel
        recipient = queries.customer_address(customer, channel, preference)
        if not recipient and config.fallback_channel and config.fallback_channel != channel:
            # No address for the first channel (a caller without email): the fallback channel
            # goes first instead of skipping the customer.
            fallback_recipient = queries.customer_address(customer, config.fallback_channel, preference)
            if fallback_recipient:
                channel, recipient = config.fallback_channel, fallback_recipient
        language = customer.language or queries.tenant_language()
        skip = Skip.DISABLED if not config.enabled else _customer_skip_reason(event_key, channel, recipient, customer, preference)
        plan = _Plan(
            event=event_key, channel=channel, recipient=recipient, language=language,
            ref=_appointment_ref(event_key, appointment),
            values=queries.appointment_values(appointment, language, previous_starts_at),
            customer=customer, appointment=appointment, skip_reason=skip,
        )
        delivery, created = _store(plan, config, config.template, now, appointment.branch.tzinfo)
    return [delivery] if created else []


def notify_business(tenant: Any, event_key: str, values: dict[str, str], *, ref: str) -> list[NotificationDelivery]:
    """Create (once per ``ref``) a business notification, e.g. low balance or a new invoice,
    to the business contact or every admin; must run in ``tenant``'s schema."""
    event = ev.get_event(event_key)
    if event.audience != Audience.BUSINESS:
        raise ValueError(f"{event_key} is not a business event")
    if current_schema() != tenant.schema_name:
        raise ValueError("notify_business must run in the tenant's schema")
    now = timezone.now()
    language = tenant.locale or "de"
    values = {"business_name": tenant.name, **values}
    created_rows: list[NotificationDelivery] = []
    with transaction.atomic():
        config = queries.resolve_configuration(event_key)
        recipients = queries.business_addresses(config.channel) or [""]
        for recipient in recipients:
            skip = Skip.DISABLED if not config.enabled else (Skip.NO_ADDRESS if not recipient else "")
            plan = _Plan(event=event_key, channel=config.channel, recipient=recipient, language=language,
                         ref=ref, values=values, skip_reason=skip)
            delivery, created = _store(plan, config, config.template, now, tenant.tzinfo)
            if created:
                created_rows.append(delivery)
    return created_rows


MESSAGE_CHANNELS = (Channel.SMS, Channel.EMAIL)
_REFUSALS: dict[str, type[DomainError]] = {
    Skip.NO_ADDRESS: MessageNoAddress, Skip.OPTED_OUT: MessageOptedOut, Skip.NO_CONSENT: MessageNoConsent,
}


def send_customer_message(
    customer_id: int, *, channel: str, text: str, actor: str, now: dt.datetime | None = None
) -> NotificationDelivery:
    """Send a text staff wrote to one customer by SMS or email, as a notification (template,
    quiet hours, retries). Refused, with nothing stored, when the customer has no address for the
    channel, opted out of it, or gave no consent to messages (the marketing rule of every event)."""
    text = text.strip()
    if channel not in MESSAGE_CHANNELS or not text:
        raise MessageInvalid(details={"channel": channel})
    now = now or timezone.now()
    with transaction.atomic():
        customer = Customer.objects.filter(pk=customer_id).first()
        if customer is None:
            raise RecipientNotFound(details={"customer_id": customer_id})
        preference = queries.contact_preference(customer)
        recipient = queries.customer_address(customer, channel, preference)
        skip = _customer_skip_reason(ev.CUSTOMER_MESSAGE, channel, recipient, customer, preference)
        if skip:
            raise _REFUSALS[skip](details={"customer_id": customer_id, "channel": channel})
        config = queries.resolve_configuration(ev.CUSTOMER_MESSAGE)
        language = customer.language or queries.tenant_language()
        plan = _Plan(
            event=ev.CUSTOMER_MESSAGE, channel=channel, recipient=recipient, language=language,
            ref=f"customer:{customer.pk}:{now.isoformat()}:{hashlib.sha256(f'{actor}|{text}'.encode()).hexdigest()[:12]}",
            values={"message_text": text, "customer_name": customer.name,
                    "business_name": queries.business_name()},
            customer=customer,
        )
        delivery, _created = _store(plan, config, config.template, now, queries.tenant_timezone())
    logger.info("customer message %s to customer %s via %s by %s", delivery.pk, customer_id, channel, actor)
    return delivery


def queue_due_reminders(now: dt.datetime | None = None) -> int:
    """Create the 24 h and 2 h reminders that are due in the current tenant; each exists once
    per appointment and start time, so overlapping runs and reschedules are safe. Returns
    how many were created."""
    now = now or timezone.now()
    created = 0
    for event_key, lead_minutes in ev.REMINDER_LEADS.items():
        lead = dt.timedelta(minutes=lead_minutes)
        earliest = now
        if event_key == ev.REMINDER_24H:  # within 2 h the short reminder takes over
            earliest = now + dt.timedelta(minutes=ev.REMINDER_LEADS[ev.REMINDER_2H])
        due = Appointment.objects.filter(
            status__in=ACTIVE_APPOINTMENT_STATUSES, starts_at__gt=earliest, starts_at__lte=now + lead,
        ).order_by("starts_at").values_list("pk", "starts_at", "created_at")
        for appointment_id, starts_at, created_at in due:
            if created_at > starts_at - lead:
                continue  # booked inside the reminder window: the confirmation is fresh enough
            created += len(notify_appointment_event(event_key, appointment_id, now=now))
    return created


# Campaign messages leave at most this many per minute (provider limits, and a burst of replies
# to the business); later ones wait in the queue for notifications.dispatch_due.
CAMPAIGN_MESSAGES_PER_MINUTE = 30


@dataclass(frozen=True)
class CampaignReport:
    """Who gets the campaign (customer ids) and who was skipped, with the reason code."""

    campaign: str
    queued: list[int]
    skipped: dict[int, str]


def send_campaign(
    customer_ids: list[int], *, campaign: str, channel: str, message: str, subject: str = "",
    now: dt.datetime | None = None,
) -> CampaignReport:
    """Queue a marketing message to each customer who gave marketing consent, did not opt out
    of the channel and has an address for it; everybody else gets a skipped row with the reason.
    Once per campaign name and customer; SMS/WhatsApp wait for quiet hours to end; at most
    CAMPAIGN_MESSAGES_PER_MINUTE leave per minute."""
    if channel not in Channel.ALL:
        raise ValueError(f"unknown channel {channel!r}")
    now = now or timezone.now()
    tz = queries.tenant_timezone()
    business = queries.business_name()
    subject = subject.strip() or business  # an e-mail needs a subject; the business name is a safe one
    queued: list[int] = []
    skipped: dict[int, str] = {}
    with transaction.atomic():
        config = queries.resolve_configuration(ev.MARKETING_MESSAGE)
        for customer in Customer.objects.filter(pk__in=customer_ids).order_by("pk"):
            preference = queries.contact_preference(customer)
            recipient = queries.customer_address(customer, channel, preference)
            skip = Skip.DISABLED if not config.enabled else _customer_skip_reason(
                ev.MARKETING_MESSAGE, channel, recipient, customer, preference)
            language = customer.language or queries.tenant_language()
            plan = _Plan(
                event=ev.MARKETING_MESSAGE, channel=channel, recipient=recipient, language=language,
                ref=f"campaign:{campaign}:customer:{customer.pk}", customer=customer, skip_reason=skip,
                values={"message": message, "subject": subject, "customer_name": customer.name,
                        "business_name": business},
            )
            not_before = now + dt.timedelta(minutes=len(queued) // CAMPAIGN_MESSAGES_PER_MINUTE)
            delivery, _created = _store(plan, config, None, now, tz, not_before=not_before)
            if delivery.status == Status.SKIPPED:
                skipped[customer.pk] = delivery.skip_reason
            else:
                queued.append(customer.pk)
    return CampaignReport(campaign, queued, skipped)


def _still_relevant(delivery: NotificationDelivery) -> bool:
    if delivery.appointment_id is None or delivery.event == ev.APPOINTMENT_CANCELLED:
        return True
    appointment = delivery.appointment
    if appointment is None or appointment.status not in ACTIVE_APPOINTMENT_STATUSES:
        return False
    return delivery.appointment_starts_at is None or appointment.starts_at == delivery.appointment_starts_at


def _message_for(delivery: NotificationDelivery) -> Message:
    attachments: tuple[Attachment, ...] = ()
    event = ev.get_event(delivery.event)
    if delivery.channel == Channel.EMAIL and event.calendar and delivery.appointment is not None:
        domain = getattr(queries.current_tenant(), "primary_domain", None) or "askpro"
        ics = appointment_ics(delivery.appointment, delivery.event, business=queries.business_name(), domain=domain)
        attachments = (Attachment("termin.ics", ics, "text/calendar"),)
    to = delivery.recipient
    callback = ""
    if delivery.channel in (Channel.SMS, Channel.WHATSAPP) and backend_name() == "live":
        callback = queries.tenant_url("/webhooks/twilio/status")
    return Message(channel=delivery.channel, to=to, body=delivery.body, subject=delivery.subject,
                   attachments=attachments, status_callback=callback)


def deliver(delivery_id: int) -> NotificationDelivery:
    """Send one due pending delivery at most once: the row is claimed ("sending") under a
    lock before the provider is called, so a task that runs twice finds nothing to do."""
    now = timezone.now()
    with transaction.atomic():
        delivery = (
            NotificationDelivery.objects.select_for_update(of=("self",))
            .select_related("appointment", "customer").filter(pk=delivery_id).first()
        )
        if delivery is None:
            raise DeliveryNotFound(details={"delivery_id": delivery_id})
        if delivery.status != Status.PENDING or (delivery.next_attempt_at and delivery.next_attempt_at > now):
            return delivery
        if not _still_relevant(delivery):
            return _mark_skipped(delivery, Skip.APPOINTMENT_CHANGED)
        preference = queries.contact_preference(delivery.customer)
        if delivery.customer is not None and queries.opted_out(delivery.customer, delivery.channel, preference):
            return _mark_skipped(delivery, Skip.OPTED_OUT)
        delivery.status = Status.SENDING
        delivery.attempts += 1
        delivery.backend = backend_name()
        delivery.save(update_fields=["status", "attempts", "backend", "updated_at"])
        message = _message_for(delivery)
        credentials = queries.credentials()

    try:
        result = channel_backend(delivery.channel).send(message, credentials)
    except TemporaryFailure as exc:
        return _after_failure(delivery_id, str(exc), retryable=True)
    except PermanentFailure as exc:
        return _after_failure(delivery_id, str(exc), retryable=False, opted_out=exc.opted_out)
    except Exception as exc:  # an unexpected error is treated like a transient one, and logged
        logger.exception("notification %s: unexpected error while sending", delivery_id)
        return _after_failure(delivery_id, f"{type(exc).__name__}: {exc}", retryable=True)

    with transaction.atomic():
        delivery = NotificationDelivery.objects.select_for_update().get(pk=delivery_id)
        delivery.status = Status.SENT
        delivery.sent_at = timezone.now()
        delivery.next_attempt_at = None
        delivery.provider_message_id = result.provider_message_id
        delivery.provider_status = result.provider_status
        delivery.cost_cents = result.cost_cents
        delivery.cost_currency = result.cost_currency
        delivery.error = ""
        delivery.save()
    logger.info("notification %s sent via %s (%s)", delivery_id, delivery.channel, delivery.backend)
    return delivery


def _mark_skipped(delivery: NotificationDelivery, reason: str) -> NotificationDelivery:
    delivery.status, delivery.skip_reason, delivery.next_attempt_at = Status.SKIPPED, reason, None
    delivery.save(update_fields=["status", "skip_reason", "next_attempt_at", "updated_at"])
    return delivery


def _after_failure(delivery_id: int, error: str, *, retryable: bool, opted_out: bool = False) -> NotificationDelivery:
    """Retry with backoff while retries remain, else fail and hand over to the fallback channel."""
    now = timezone.now()
    with transaction.atomic():
        delivery = NotificationDelivery.objects.select_for_update(of=("self",)).select_related("customer").get(pk=delivery_id)
        delivery.error = error[:2000]
        if retryable and delivery.retries_done < delivery.max_retries:
            delay = queries.retry_delay(delivery.retry_delay_minutes, delivery.retries_done)
            delivery.status, delivery.next_attempt_at = Status.PENDING, now + delay
            delivery.save(update_fields=["status", "next_attempt_at", "error", "updated_at"])
            _queue_delivery(delivery.pk, countdown=delay.total_seconds())
            logger.warning("notification %s failed (%s), retry in %s", delivery_id, error, delay)
            return delivery
        _fail(delivery, now, opted_out=opted_out)
    return delivery


def _fail(delivery: NotificationDelivery, now: dt.datetime, *, opted_out: bool = False) -> None:
    delivery.status, delivery.failed_at, delivery.next_attempt_at = Status.FAILED, now, None
    delivery.save(update_fields=["status", "failed_at", "next_attempt_at", "error", "updated_at"])
    logger.warning("notification %s failed for good: %s", delivery.pk, delivery.error)
    customer = delivery.customer
    if opted_out and customer is not None and delivery.channel in (Channel.SMS, Channel.WHATSAPP, Channel.TELEGRAM):
        _set_opt_out(customer, delivery.channel, True)
    _create_fallback(delivery, now)


def _create_fallback(delivery: NotificationDelivery, now: dt.datetime) -> NotificationDelivery | None:
    channel = delivery.fallback_channel
    if not channel or channel == delivery.channel or delivery.fallback_of_id:
        return None
    config = queries.resolve_configuration(delivery.event)
    customer = delivery.customer
    if customer is not None:
        preference = queries.contact_preference(customer)
        recipient = queries.customer_address(customer, channel, preference)
        skip = _customer_skip_reason(delivery.event, channel, recipient, customer, preference)
        tz = delivery.appointment.branch.tzinfo if delivery.appointment else queries.tenant_timezone()
        values = (
            queries.appointment_values(delivery.appointment, delivery.language)
            if delivery.appointment is not None else {}
        )
    else:
        addresses = queries.business_addresses(channel)
        recipient = addresses[0] if addresses else ""
        skip = "" if recipient else Skip.NO_ADDRESS
        tz = queries.tenant_timezone()
        values = {"business_name": queries.business_name()}
    # The fallback says what the original said; re-render only when its template is ours to fill.
    plan = _Plan(
        event=delivery.event, channel=channel, recipient=recipient, language=delivery.language,
        ref=f"fallback:{delivery.pk}", values=values, customer=delivery.customer,
        appointment=delivery.appointment, skip_reason=skip, fallback_of=delivery,
    )
    if delivery.appointment is None and delivery.customer_id is None:
        return _store_copy(plan, delivery, now, tz)
    fallback, _created = _store(plan, config, config.template, now, tz)
    return fallback


def _store_copy(plan: _Plan, original: NotificationDelivery, now: dt.datetime, tz: Any) -> NotificationDelivery:
    """Business fallbacks reuse the original text (its values came from the event payload)."""
    key = dedupe_key(plan.event, plan.ref, plan.channel, plan.recipient)
    status = Status.SKIPPED if plan.skip_reason else Status.PENDING
    try:
        with transaction.atomic():
            copy = NotificationDelivery.objects.create(
                dedupe_key=key, event=plan.event, channel=plan.channel, recipient=plan.recipient,
                language=plan.language, subject=original.subject, body=original.body,
                template_source=original.template_source, status=status, skip_reason=plan.skip_reason,
                urgent=original.urgent, max_retries=original.max_retries,
                retry_delay_minutes=original.retry_delay_minutes, fallback_of=original,
                next_attempt_at=None if plan.skip_reason else now,
            )
    except IntegrityError:
        return NotificationDelivery.objects.get(dedupe_key=key)
    if status == Status.PENDING:
        _queue_delivery(copy.pk)
    return copy


def dispatch_due(now: dt.datetime | None = None) -> int:
    """Queue every pending delivery whose time has come (quiet hours over, lost retries) and
    close deliveries whose worker died mid-send. Returns how many were queued."""
    now = now or timezone.now()
    stuck = NotificationDelivery.objects.filter(status=Status.SENDING, updated_at__lt=now - SENDING_TIMEOUT)
    for delivery_id in stuck.values_list("pk", flat=True):
        with transaction.atomic():
            delivery = NotificationDelivery.objects.select_for_update().get(pk=delivery_id)
            if delivery.status == Status.SENDING:
                # Never re-sent automatically: the provider may already have it.
                delivery.status, delivery.failed_at = Status.FAILED, now
                delivery.error = "outcome unknown: the worker stopped while sending; not resent to avoid a duplicate"
                delivery.save(update_fields=["status", "failed_at", "error", "updated_at"])
    due = list(
        NotificationDelivery.objects.filter(status=Status.PENDING, next_attempt_at__lte=now).values_list("pk", flat=True)[:500]
    )
    for delivery_id in due:
        _queue_delivery(delivery_id)
    return len(due)


def retry_delivery(delivery_id: int) -> NotificationDelivery:
    """Send a failed, skipped or cancelled delivery again (an operator's decision)."""
    with transaction.atomic():
        delivery = NotificationDelivery.objects.select_for_update().filter(pk=delivery_id).first()
        if delivery is None:
            raise DeliveryNotFound(details={"delivery_id": delivery_id})
        if delivery.status not in (Status.FAILED, Status.SKIPPED, Status.CANCELLED):
            raise DeliveryNotRetryable(details={"status": delivery.status})
        delivery.status, delivery.skip_reason, delivery.attempts = Status.PENDING, "", 0
        delivery.next_attempt_at, delivery.failed_at = timezone.now(), None
        delivery.save()
        _queue_delivery(delivery.pk)
    return delivery


def cancel_delivery(delivery_id: int) -> NotificationDelivery:
    """Stop a pending delivery from being sent."""
    with transaction.atomic():
        delivery = NotificationDelivery.objects.select_for_update().filter(pk=delivery_id).first()
        if delivery is None:
            raise DeliveryNotFound(details={"delivery_id": delivery_id})
        if delivery.status != Status.PENDING:
            raise DeliveryNotCancellable(details={"status": delivery.status})
        delivery.status, delivery.next_attempt_at = Status.CANCELLED, None
        delivery.save(update_fields=["status", "next_attempt_at", "updated_at"])
    return delivery


_TWILIO_DELIVERED = {"delivered", "read"}
_TWILIO_FAILED = {"failed", "undelivered"}


def record_twilio_status(message_sid: str, message_status: str, error_code: str = "") -> NotificationDelivery | None:
    """Apply a Twilio status callback to its delivery in the current tenant (None if unknown)."""
    now = timezone.now()
    with transaction.atomic():
        delivery = (
            NotificationDelivery.objects.select_for_update(of=("self",)).select_related("customer")
            .filter(provider_message_id=message_sid).first()
        )
        if delivery is None:
            return None
        delivery.provider_status = message_status
        if message_status in _TWILIO_DELIVERED and delivery.status in (Status.SENT, Status.SENDING):
            delivery.status = Status.DELIVERED
            delivery.save(update_fields=["status", "provider_status", "updated_at"])
        elif message_status in _TWILIO_FAILED and delivery.status in (Status.SENT, Status.SENDING):
            delivery.error = f"Twilio reported {message_status}" + (f" (error {error_code})" if error_code else "")
            _fail(delivery, now, opted_out=error_code == "21610")
        else:
            delivery.save(update_fields=["provider_status", "updated_at"])
    return delivery


def _set_opt_out(customer: Customer, channel: str, opted_out: bool) -> None:
    if channel == Channel.SMS:
        set_consent(customer.pk, sms_opt_out=opted_out)
        return
    preference, _created = CustomerContactPreference.objects.select_for_update().get_or_create(customer=customer)
    setattr(preference, f"{channel}_opt_out", opted_out)
    preference.save()


def record_inbound_message(from_number: str, body: str) -> int:
    """Honour STOP (and START) replies in the current tenant: every customer with that number
    is opted out of (back into) the channel. Returns how many customers changed."""
    word = body.strip().split()[0].upper().strip(".!") if body.strip() else ""
    if word not in STOP_WORDS | START_WORDS:
        return 0
    channel = Channel.WHATSAPP if from_number.startswith("whatsapp:") else Channel.SMS
    number = from_number.removeprefix("whatsapp:").strip()
    changed = 0
    with transaction.atomic():
        for customer in Customer.objects.filter(phone=number).order_by("pk"):
            _set_opt_out(customer, channel, word in STOP_WORDS)
            changed += 1
    if changed:
        logger.info("%s %s for %s customer(s)", channel, "opt-out" if word in STOP_WORDS else "opt-in", changed)
    return changed


def set_contact_preference(customer_id: int, **changes: Any) -> CustomerContactPreference:
    """Record a customer's channel choice, consents or opt-outs (e.g. from the voice agent).

    Marketing consent and the SMS opt-out are written to the customer record (with their date);
    the other fields to the customer's contact preference.
    """
    allowed = {"preferred_channel", "telegram_chat_id", "marketing_consent", "sms_opt_out",
               "whatsapp_opt_out", "email_opt_out", "telegram_opt_out"}
    unknown = set(changes) - allowed
    if unknown:
        raise ValueError(f"unknown preference fields: {sorted(unknown)}")
    with transaction.atomic():
        customer = Customer.objects.get(pk=customer_id)
        if "marketing_consent" in changes or "sms_opt_out" in changes:
            set_consent(customer.pk, marketing=changes.pop("marketing_consent", None),
                        sms_opt_out=changes.pop("sms_opt_out", None))
        preference, _created = CustomerContactPreference.objects.select_for_update().get_or_create(customer=customer)
        for name, value in changes.items():
            setattr(preference, name, value)
        preference.save()
    return preference


def reset_template(template_id: int) -> tuple[str, str, str]:
    """Return one (event, channel, language) to the built-in text: delete the tenant's copies of
    it (active or not). Returns what was reset; raises ``DomainError`` for an unknown id."""
    with transaction.atomic():
        template = NotificationTemplate.objects.select_for_update().filter(pk=template_id).first()
        if template is None:
            raise TemplateNotFound(details={"template_id": template_id})
        key = (template.event, template.channel, template.language)
        NotificationTemplate.objects.filter(event=key[0], channel=key[1], language=key[2]).delete()
    logger.info("notification template %s/%s/%s reset to the default", *key)
    return key
