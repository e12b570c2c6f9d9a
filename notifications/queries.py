"""Reads: effective configuration (the hierarchy), template choice, placeholder values,
recipients and credentials."""

from __future__ import annotations

import datetime as dt
import zoneinfo
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlparse

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db.models import Q

from appointments.models import Appointment, Customer
from askpro import tenancy
from notifications import events
from notifications.channels import Credentials
from notifications.defaults import default_template
from notifications.events import Audience, Channel
from notifications.models import (
    CustomerContactPreference,
    NotificationConfiguration,
    NotificationSettings,
    NotificationTemplate,
)
from notifications.rendering import format_date, format_datetime, format_money, format_time

DEFAULT_RETRY_COUNT = 3
DEFAULT_RETRY_DELAY_MINUTES = 1
BACKOFF_FACTORS = (1, 5, 15)  # with the default first delay: 1, 5, 15 minutes

Scope = NotificationConfiguration.Scope
# Which levels may decide each field, most specific first. Staff: preferences only.
_PREFERENCE_LEVELS = (Scope.STAFF, Scope.SERVICE, Scope.BRANCH, Scope.COMPANY)
_RULE_LEVELS = (Scope.SERVICE, Scope.BRANCH, Scope.COMPANY)


@dataclass(frozen=True)
class EffectiveConfiguration:
    event: str
    enabled: bool
    channel: str
    fallback_channel: str
    retry_count: int
    retry_delay_minutes: int
    template: NotificationTemplate | None
    sources: dict[str, str] = field(default_factory=dict)  # field -> level it came from


def resolve_configuration(
    event_key: str, *, branch_id: int | None = None, service_id: int | None = None, staff_id: int | None = None
) -> EffectiveConfiguration:
    """The configuration that applies to ``event_key`` for this branch/service/staff member:
    staff -> service -> branch -> company -> built-in; staff rows set only channel and template,
    and a mandatory event is enabled whatever any row says."""
    event = events.get_event(event_key)
    match = Q(scope=Scope.COMPANY)
    if branch_id:
        match |= Q(scope=Scope.BRANCH, branch_id=branch_id)
    if service_id:
        match |= Q(scope=Scope.SERVICE, service_id=service_id)
    if staff_id:
        match |= Q(scope=Scope.STAFF, staff_id=staff_id)
    rows = {row.scope: row for row in NotificationConfiguration.objects.filter(match, event=event_key).select_related("template")}

    sources: dict[str, str] = {}

    def pick(name: str, levels: tuple[str, ...], default: Any) -> Any:
        for level in levels:
            row = rows.get(level)
            if row is None:
                continue
            value = getattr(row, f"{name}_id" if name == "template" else name)
            if value not in (None, ""):
                sources[name] = str(level)
                return getattr(row, name)
        sources[name] = "default"
        return default

    enabled = pick("enabled", _RULE_LEVELS, True)
    if not event.can_be_disabled:
        enabled, sources["enabled"] = True, "mandatory"
    template = pick("template", _PREFERENCE_LEVELS, None)
    return EffectiveConfiguration(
        event=event_key,
        enabled=bool(enabled),
        channel=pick("channel", _PREFERENCE_LEVELS, event.default_channel),
        fallback_channel=pick("fallback_channel", _RULE_LEVELS, ""),
        retry_count=pick("retry_count", _RULE_LEVELS, DEFAULT_RETRY_COUNT),
        retry_delay_minutes=pick("retry_delay_minutes", _RULE_LEVELS, DEFAULT_RETRY_DELAY_MINUTES),
        template=template if template is not None and template.is_active else None,
        sources=sources,
    )


def retry_delay(first_delay_minutes: int, retries_done: int) -> dt.timedelta:
    factor = BACKOFF_FACTORS[min(retries_done, len(BACKOFF_FACTORS) - 1)]
    return dt.timedelta(minutes=first_delay_minutes * factor)


@dataclass(frozen=True)
class ChosenTemplate:
    subject: str
    body: str
    source: str  # "default" or "template:<id>"


def choose_template(event_key: str, channel: str, language: str, override: NotificationTemplate | None) -> ChosenTemplate:
    """The configured override if it fits channel and language, else the tenant's active
    template, else the built-in default."""
    if override is not None and override.channel == channel and override.language == language:
        return ChosenTemplate(override.subject, override.body, f"template:{override.pk}")
    own = NotificationTemplate.objects.filter(event=event_key, channel=channel, language=language, is_active=True).first()
    if own is not None:
        return ChosenTemplate(own.subject, own.body, f"template:{own.pk}")
    builtin = default_template(event_key, channel, language)
    return ChosenTemplate(builtin.subject, builtin.body, "default")


@dataclass(frozen=True)
class TemplateRow:
    """One (event, channel, language) of the template overview: the built-in text and the
    tenant's own copy, if it has one."""

    event: str
    channel: str
    language: str
    default: Any  # defaults.DefaultTemplate
    own: NotificationTemplate | None

    @property
    def customised(self) -> bool:
        return self.own is not None

    @property
    def subject(self) -> str:
        return self.own.subject if self.own is not None else self.default.subject

    @property
    def body(self) -> str:
        return self.own.body if self.own is not None else self.default.body


TEMPLATE_LANGUAGES = ("de", "en")


def template_overview(*, event: str = "", channel: str = "", language: str = "") -> list[TemplateRow]:
    """Every (event, channel, language) the current tenant can send, with the text it uses:
    its own active template or the built-in default. Optional filters narrow the rows."""
    own = {
        (row.event, row.channel, row.language): row
        for row in NotificationTemplate.objects.filter(is_active=True)
    }
    rows = []
    for event_key in events.EVENTS:
        for channel_key in Channel.ALL:
            for language_key in TEMPLATE_LANGUAGES:
                if (event and event != event_key) or (channel and channel != channel_key) or (
                    language and language != language_key
                ):
                    continue
                rows.append(TemplateRow(
                    event=event_key, channel=channel_key, language=language_key,
                    default=default_template(event_key, channel_key, language_key),
                    own=own.get((event_key, channel_key, language_key)),
                ))
    return rows


def current_tenant() -> Any:
    """The tenant row of the current schema (schema_context only sets a stand-in without fields)."""
    from tenants.models import Tenant

    tenant = tenancy.current_tenant()
    if tenant is not None:
        return tenant
    return Tenant.objects.filter(schema_name=tenancy.current_schema()).first()


def tenant_timezone() -> zoneinfo.ZoneInfo:
    """The current tenant's time zone; the platform's (``TIME_ZONE``) when the schema has no tenant row."""
    tenant = current_tenant()
    return tenant.tzinfo if tenant is not None else zoneinfo.ZoneInfo(settings.TIME_ZONE)


def business_name() -> str:
    return str(getattr(current_tenant(), "name", "") or "")


def tenant_language() -> str:
    return str(getattr(current_tenant(), "locale", "") or "de")


def appointment_values(appointment: Appointment, language: str, previous_starts_at: dt.datetime | None = None) -> dict[str, str]:
    """Placeholder values of an appointment, formatted for the language and the branch's zone."""
    branch, tz = appointment.branch, appointment.branch.tzinfo
    values = {
        "customer_name": appointment.customer.name,
        "appointment_date": format_date(appointment.starts_at, tz, language),
        "appointment_time": format_time(appointment.starts_at, tz, language),
        "appointment_datetime": format_datetime(appointment.starts_at, tz, language),
        "appointment_end_time": format_time(appointment.ends_at, tz, language),
        "service_name": appointment.service.name,
        "service_duration": str(appointment.service.duration_minutes),
        "staff_name": appointment.staff.name,
        "branch_name": branch.name,
        "branch_address": branch.address,
        "branch_phone": branch.phone,
        "business_name": business_name(),
        "price": format_money(appointment.price_cents, appointment.currency, language) if appointment.price_cents else "",
    }
    if previous_starts_at is not None:
        values["previous_appointment_datetime"] = format_datetime(previous_starts_at, tz, language)
    return values


def sample_values(language: str) -> dict[str, str]:
    """Made-up values for the admin's live preview."""
    import zoneinfo

    moment = dt.datetime(2026, 10, 14, 12, 0, tzinfo=dt.UTC)
    tz = zoneinfo.ZoneInfo("Europe/Berlin")
    return {
        "customer_name": "Maria Musterfrau",
        "appointment_date": format_date(moment, tz, language),
        "appointment_time": format_time(moment, tz, language),
        "appointment_datetime": format_datetime(moment, tz, language),
        "appointment_end_time": format_time(moment + dt.timedelta(minutes=30), tz, language),
        "previous_appointment_datetime": format_datetime(moment - dt.timedelta(days=1), tz, language),
        "service_name": "Haarschnitt",
        "service_duration": "30",
        "staff_name": "Anna",
        "branch_name": "Mitte",
        "branch_address": "Torstraße 1, 10119 Berlin",
        "branch_phone": "+49301234567",
        "business_name": business_name() or "Salon Schmidt",
        "price": format_money(3500, "EUR", language),
        "callback_name": "Max Mustermann",
        "callback_phone": "+4915112345678",
        "callback_reason": "Terminfrage" if language == "de" else "Question about an appointment",
        "callback_priority": "Hoch" if language == "de" else "High",
        "amount": format_money(5000, "EUR", language),
        "balance": format_money(450, "EUR", language),
        "invoice_number": "AP-2026-0042",
        "amount_due": format_money(0, "EUR", language),
    }


def contact_preference(customer: Customer | None) -> CustomerContactPreference | None:
    if customer is None:
        return None
    return CustomerContactPreference.objects.filter(customer=customer).first()


def opted_out(customer: Customer, channel: str, preference: CustomerContactPreference | None) -> bool:
    """Whether the customer refused ``channel``: SMS on the customer record, the rest per preference."""
    if channel == Channel.SMS:
        return customer.sms_opt_out
    return preference is not None and preference.opted_out(channel)


def customer_address(customer: Customer, channel: str, preference: CustomerContactPreference | None) -> str:
    if channel == Channel.EMAIL:
        return customer.email.strip()
    if channel in (Channel.SMS, Channel.WHATSAPP):
        return customer.phone.strip()
    if channel == Channel.TELEGRAM:
        return preference.telegram_chat_id.strip() if preference else ""
    return ""


def business_addresses(channel: str) -> list[str]:
    """The business's addresses for a channel: the configured contact, or for email every
    active admin login's address."""
    config = NotificationSettings.current()
    if channel == Channel.EMAIL:
        if config.business_email:
            return [config.business_email]
        users = get_user_model().objects.filter(is_active=True, groups__name="admin").exclude(email="")
        return sorted({user.email.lower() for user in users})
    if channel in (Channel.SMS, Channel.WHATSAPP):
        return [config.business_phone] if config.business_phone else []
    if channel == Channel.TELEGRAM:
        return [config.business_telegram_chat_id] if config.business_telegram_chat_id else []
    return []


def audience_of(event_key: str) -> str:
    return events.get_event(event_key).audience if event_key in events.EVENTS else Audience.CUSTOMER


def credentials() -> Credentials:
    """The tenant's own provider credentials where set, else the platform's."""
    config = NotificationSettings.current()
    own_twilio = bool(config.twilio_account_sid and config.twilio_auth_token)
    return Credentials(
        email_from=config.email_from or settings.DEFAULT_FROM_EMAIL,
        twilio_account_sid=config.twilio_account_sid if own_twilio else settings.TWILIO_ACCOUNT_SID,
        twilio_auth_token=config.twilio_auth_token if own_twilio else settings.TWILIO_AUTH_TOKEN,
        twilio_from_number=(config.twilio_from_number if own_twilio else "") or settings.TWILIO_FROM_NUMBER,
        twilio_whatsapp_from=(config.twilio_whatsapp_from if own_twilio else "") or settings.TWILIO_WHATSAPP_FROM,
        telegram_bot_token=config.telegram_bot_token or settings.TELEGRAM_BOT_TOKEN,
    )


def tenant_url(path: str) -> str:
    """An absolute URL on the current tenant's host (scheme and port from ASKPRO_PUBLIC_URL)."""
    public = urlparse(settings.PUBLIC_URL)
    host = getattr(current_tenant(), "primary_domain", None) or public.hostname or "localhost"
    port = f":{public.port}" if public.port else ""
    return f"{public.scheme or 'https'}://{host}{port}{path}"


def quiet_hours_end(moment: dt.datetime, tz: Any) -> dt.datetime | None:
    """If ``moment`` falls in the tenant's quiet hours, when they end; else None."""
    config = NotificationSettings.current()
    if not config.quiet_hours_enabled or config.quiet_hours_start == config.quiet_hours_end:
        return None
    local = moment.astimezone(tz)
    start, end, now = config.quiet_hours_start, config.quiet_hours_end, local.time()
    overnight = start > end
    inside = (now >= start or now < end) if overnight else (start <= now < end)
    if not inside:
        return None
    day = local.date() if (not overnight or now < end) else local.date() + dt.timedelta(days=1)
    return dt.datetime.combine(day, end, tzinfo=tz).astimezone(dt.UTC)


@dataclass(frozen=True)
class ChannelStats:
    channel: str
    label: str
    sent: int
    failed: int
    skipped: int


@dataclass(frozen=True)
class DeliveryStats:
    days: int
    channels: list[ChannelStats]
    retries: int
    fallbacks: int
    outstanding: int


def delivery_stats(days: int = 30, now: dt.datetime | None = None) -> DeliveryStats:
    """Sent vs failed per channel, retries and fallback use over the last ``days`` days."""
    from django.db.models import Count, Sum
    from django.db.models.functions import Greatest
    from django.utils import timezone

    from notifications.models import NotificationDelivery

    Status = NotificationDelivery.Status
    since = (now or timezone.now()) - dt.timedelta(days=days)
    recent = NotificationDelivery.objects.filter(created_at__gte=since)
    counts = {
        (row["channel"], row["status"]): row["n"]
        for row in recent.values("channel", "status").annotate(n=Count("id"))
    }
    channels = [
        ChannelStats(
            channel=code, label=str(label),
            sent=counts.get((code, Status.SENT), 0) + counts.get((code, Status.DELIVERED), 0),
            failed=counts.get((code, Status.FAILED), 0),
            skipped=counts.get((code, Status.SKIPPED), 0),
        )
        for code, label in Channel.CHOICES
    ]
    from django.db.models import F, Value

    retries = recent.aggregate(n=Sum(Greatest(F("attempts") - Value(1), Value(0))))["n"] or 0
    return DeliveryStats(
        days=days, channels=channels, retries=int(retries),
        fallbacks=recent.filter(fallback_of__isnull=False).count(),
        outstanding=NotificationDelivery.objects.filter(status__in=[Status.PENDING, Status.SENDING]).count(),
    )
