"""The Art. 15 export as a readable German PDF (WeasyPrint), from the same data as the JSON."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.template.loader import render_to_string
from django.utils import timezone, translation
from django.utils.dateparse import parse_datetime
from weasyprint import HTML

from appointments.models import Appointment, Customer
from notifications.events import Channel

PROVIDER_NAMES = {"retell": "Retell (Telefon-Assistent)", "calcom": "Cal.com (Kalender)"}
EVENT_NAMES = {
    "call_started": "Anruf begonnen", "call_ended": "Anruf beendet", "call_analyzed": "Anruf ausgewertet",
    "transcript_updated": "Gesprächsverlauf", "transfer_started": "Weiterleitung",
    "BOOKING_CREATED": "Buchung angelegt", "BOOKING_RESCHEDULED": "Buchung verschoben",
    "BOOKING_CANCELLED": "Buchung storniert", "BOOKING_REQUESTED": "Buchung angefragt",
}


def _local(value: Any, tz: Any) -> str:
    moment = parse_datetime(value) if isinstance(value, str) else value
    if not isinstance(moment, dt.datetime):
        return str(value or "")
    return timezone.localtime(moment, tz).strftime("%d.%m.%Y %H:%M")


def _localise(node: Any, tz: Any) -> Any:
    """Every ISO timestamp in the export as a German local time, for reading."""
    if isinstance(node, dict):
        return {key: _localise(value, tz) for key, value in node.items()}
    if isinstance(node, list):
        return [_localise(value, tz) for value in node]
    if isinstance(node, str) and len(node) >= 19 and node[4:5] == "-" and node[10:11] == "T":
        return _local(node, tz)
    return node


def _labelled(data: dict[str, Any]) -> dict[str, Any]:
    """German words for the codes a reader would not understand (status, journey, language, channel)."""
    status = dict(Appointment.Status.choices)
    journey = dict(Customer.Journey.choices)
    language = dict(Customer.Language.choices)
    channel = dict(Channel.CHOICES)
    section = data.get("appointments", {})
    customer = section.get("customer", {})
    customer["language"] = str(language.get(customer.get("language"), customer.get("language", "")))
    for row in section.get("appointments", []):
        row["status"] = str(status.get(row["status"], row["status"]))
    for row in section.get("journey", []):
        row["from"], row["to"] = (str(journey.get(row[key], row[key] or "")) for key in ("from", "to"))
    for row in data.get("notifications", {}).get("notifications", []):
        row["channel"] = str(channel.get(row["channel"], row["channel"]))
    for row in data.get("inbox", {}).get("webhook_deliveries", []):
        row["provider"] = PROVIDER_NAMES.get(row["provider"], row["provider"])
        row["event_type"] = EVENT_NAMES.get(row["event_type"], row["event_type"])  # unknown: the code
    return data


def render_export_pdf(data: dict[str, Any], *, business: str, tz: Any) -> bytes:
    with translation.override("de"):
        context = {"data": _labelled(_localise(data, tz)), "business": business}
        return bytes(HTML(string=render_to_string("privacy/export.html", context)).write_pdf())
