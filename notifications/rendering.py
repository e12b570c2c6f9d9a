"""Safe template rendering for tenant-edited text.

Templates are plain text with ``{{placeholder}}`` markers; ``{{placeholder|fallback}}`` gives a
literal fallback for an optional value (``{{branch_address|}}`` may be empty). Nothing else is
interpreted: no template engine runs on tenant text, so ``{% ... %}`` or ``{{ x.y }}`` stays
literal. Unknown placeholders and missing values are reported, never silently blanked.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from django.utils.translation import gettext_lazy as _

if TYPE_CHECKING:
    from django_stubs_ext import StrOrPromise

PLACEHOLDER = re.compile(r"\{\{\s*([a-z][a-z0-9_]*)\s*(?:\|([^{}]*))?\}\}")

# name -> what it holds (shown in the admin next to the template editor)
PLACEHOLDERS: dict[str, StrOrPromise] = {
    "customer_name": _("Customer's name"),
    "appointment_date": _("Date of the appointment, e.g. Dienstag, 14. Oktober 2026"),
    "appointment_time": _("Start time, e.g. 14:00 Uhr"),
    "appointment_datetime": _("Date and time, e.g. Dienstag, 14. Oktober 2026, 14:00 Uhr"),
    "appointment_end_time": _("End time"),
    "previous_appointment_datetime": _("Date and time before a reschedule"),
    "service_name": _("Service"),
    "service_duration": _("Duration in minutes"),
    "staff_name": _("Staff member"),
    "branch_name": _("Branch"),
    "branch_address": _("Branch address"),
    "branch_phone": _("Branch phone number"),
    "business_name": _("Business name"),
    "price": _("Price, e.g. 35,00 €"),
    "callback_name": _("Name of the caller asking for a callback"),
    "callback_phone": _("Phone number to call back"),
    "callback_reason": _("What the caller wants"),
    "callback_priority": _("Priority of an overdue callback"),
    "amount": _("Amount of a payment or top-up"),
    "balance": _("Current prepaid balance"),
    "invoice_number": _("Invoice number"),
    "amount_due": _("Amount still due on an invoice"),
    "message_text": _("The text staff wrote to the customer"),
    "customer_ref": _("Customer number (deletion requests: no name)"),
    "due_date": _("Date a deletion request is due"),
    "days_left": _("Days until a deletion request is due (negative: overdue)"),
    "subject": _("Subject of a marketing campaign"),
    "message": _("Text of a marketing campaign"),
}

WEEKDAYS = {
    "de": ("Montag", "Dienstag", "Mittwoch", "Donnerstag", "Freitag", "Samstag", "Sonntag"),
    "en": ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"),
}
MONTHS = {
    "de": ("Januar", "Februar", "März", "April", "Mai", "Juni", "Juli", "August", "September",
           "Oktober", "November", "Dezember"),
    "en": ("January", "February", "March", "April", "May", "June", "July", "August", "September",
           "October", "November", "December"),
}


@dataclass
class Rendered:
    text: str
    unknown: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.unknown and not self.missing


def placeholders_in(text: str) -> list[str]:
    return [match.group(1) for match in PLACEHOLDER.finditer(text)]


def unknown_placeholders(text: str) -> list[str]:
    return sorted({name for name in placeholders_in(text) if name not in PLACEHOLDERS})


def render(text: str, values: dict[str, str]) -> Rendered:
    """Substitute known placeholders; unknown ones stay literal and are reported, as are
    placeholders without a value and without a fallback (they stay literal too)."""
    unknown: list[str] = []
    missing: list[str] = []

    def substitute(match: re.Match[str]) -> str:
        name, fallback = match.group(1), match.group(2)
        if name not in PLACEHOLDERS:
            unknown.append(name)
            return match.group(0)
        value = values.get(name)
        if value is None or str(value).strip() == "":
            if fallback is not None:
                return fallback
            missing.append(name)
            return match.group(0)
        return str(value)

    text = PLACEHOLDER.sub(substitute, text)
    return Rendered(text=text, unknown=sorted(set(unknown)), missing=sorted(set(missing)))


def _lang(language: str) -> str:
    return language if language in WEEKDAYS else "de"


def format_date(moment: datetime, tz: ZoneInfo, language: str) -> str:
    """``Dienstag, 14. Oktober 2026`` / ``Tuesday, 14 October 2026`` in the given zone."""
    local = moment.astimezone(tz)
    lang = _lang(language)
    weekday, month = WEEKDAYS[lang][local.weekday()], MONTHS[lang][local.month - 1]
    if lang == "de":
        return f"{weekday}, {local.day}. {month} {local.year}"
    return f"{weekday}, {local.day} {month} {local.year}"


def format_time(moment: datetime, tz: ZoneInfo, language: str) -> str:
    """``14:00 Uhr`` / ``14:00`` (24-hour clock in both: unambiguous in Germany)."""
    local = moment.astimezone(tz)
    if _lang(language) == "de":
        return f"{local:%H:%M} Uhr"
    return f"{local:%H:%M}"


def format_datetime(moment: datetime, tz: ZoneInfo, language: str) -> str:
    """``Dienstag, 14. Oktober 2026, 14:00 Uhr``."""
    joiner = ", " if _lang(language) == "de" else " at "
    return f"{format_date(moment, tz, language)}{joiner}{format_time(moment, tz, language)}"


def format_money(cents: int, currency: str, language: str) -> str:
    """``1.234,50 €`` in German, ``€1,234.50`` in English (EUR); other currencies by code."""
    sign = "-" if cents < 0 else ""
    whole, rest = divmod(abs(int(cents)), 100)
    symbol = "€" if currency.upper() == "EUR" else currency.upper()
    if _lang(language) == "de":
        grouped = f"{whole:,}".replace(",", ".")
        return f"{sign}{grouped},{rest:02d} {symbol}"
    return f"{sign}{symbol}{whole:,}.{rest:02d}" if symbol == "€" else f"{sign}{whole:,}.{rest:02d} {symbol}"
