"""Built-in templates for every event in German and English.

A tenant's active ``NotificationTemplate`` row for (event, channel, language) overrides these.
SMS, WhatsApp and Telegram share the short text; email has a subject and a longer body.
"""

from __future__ import annotations

from dataclasses import dataclass

from notifications import events as ev
from notifications.events import Channel


@dataclass(frozen=True)
class DefaultTemplate:
    subject: str
    body: str


_WHEN_DE = "am {{appointment_datetime}}"

# (event, language) -> (email subject, email body, short text)
_TEXTS: dict[tuple[str, str], tuple[str, str, str]] = {
    (ev.APPOINTMENT_CONFIRMED, "de"): (
        "Terminbestätigung: {{service_name}} am {{appointment_date}}",
        "Guten Tag {{customer_name|}},\n\nIhr Termin ist bestätigt:\n\n"
        "{{service_name}} bei {{staff_name}}\n{{appointment_datetime}}\n"
        "{{branch_name}}, {{branch_address|}}\n\n"
        "Falls Sie den Termin nicht wahrnehmen können, sagen Sie bitte rechtzeitig ab: {{branch_phone|}}\n\n"
        "Wir freuen uns auf Sie!\n{{business_name}}",
        "Termin bestätigt: {{service_name}} " + _WHEN_DE + " bei {{branch_name}}. Absage: {{branch_phone|}}",
    ),
    (ev.APPOINTMENT_CONFIRMED, "en"): (
        "Appointment confirmed: {{service_name}} on {{appointment_date}}",
        "Hello {{customer_name|}},\n\nyour appointment is confirmed:\n\n"
        "{{service_name}} with {{staff_name}}\n{{appointment_datetime}}\n"
        "{{branch_name}}, {{branch_address|}}\n\n"
        "If you cannot make it, please cancel in good time: {{branch_phone|}}\n\n"
        "We look forward to seeing you!\n{{business_name}}",
        "Appointment confirmed: {{service_name}} on {{appointment_datetime}} at {{branch_name}}. To cancel: {{branch_phone|}}",
    ),
    (ev.APPOINTMENT_RESCHEDULED, "de"): (
        "Termin verschoben: {{service_name}} am {{appointment_date}}",
        "Guten Tag {{customer_name|}},\n\nIhr Termin wurde verschoben.\n\n"
        "Neu: {{appointment_datetime}}\nBisher: {{previous_appointment_datetime|}}\n\n"
        "{{service_name}} bei {{staff_name}}, {{branch_name}}, {{branch_address|}}\n\n{{business_name}}",
        "Termin verschoben: {{service_name}} jetzt " + _WHEN_DE + " bei {{branch_name}}.",
    ),
    (ev.APPOINTMENT_RESCHEDULED, "en"): (
        "Appointment moved: {{service_name}} on {{appointment_date}}",
        "Hello {{customer_name|}},\n\nyour appointment has been moved.\n\n"
        "New: {{appointment_datetime}}\nBefore: {{previous_appointment_datetime|}}\n\n"
        "{{service_name}} with {{staff_name}}, {{branch_name}}, {{branch_address|}}\n\n{{business_name}}",
        "Appointment moved: {{service_name}} now on {{appointment_datetime}} at {{branch_name}}.",
    ),
    (ev.APPOINTMENT_CANCELLED, "de"): (
        "Termin abgesagt: {{service_name}} am {{appointment_date}}",
        "Guten Tag {{customer_name|}},\n\nIhr Termin {{service_name}} " + _WHEN_DE + " wurde abgesagt.\n\n"
        "Für einen neuen Termin erreichen Sie uns unter {{branch_phone|}}.\n\n{{business_name}}",
        "Termin abgesagt: {{service_name}} " + _WHEN_DE + ". Neuer Termin: {{branch_phone|}}",
    ),
    (ev.APPOINTMENT_CANCELLED, "en"): (
        "Appointment cancelled: {{service_name}} on {{appointment_date}}",
        "Hello {{customer_name|}},\n\nyour appointment {{service_name}} on {{appointment_datetime}} has been cancelled.\n\n"
        "To book a new one, call us at {{branch_phone|}}.\n\n{{business_name}}",
        "Appointment cancelled: {{service_name}} on {{appointment_datetime}}. New booking: {{branch_phone|}}",
    ),
    (ev.REMINDER_24H, "de"): (
        "Erinnerung: morgen {{service_name}} um {{appointment_time}}",
        "Guten Tag {{customer_name|}},\n\nwir erinnern Sie an Ihren Termin morgen:\n\n"
        "{{service_name}} bei {{staff_name}}\n{{appointment_datetime}}\n{{branch_name}}, {{branch_address|}}\n\n{{business_name}}",
        "Erinnerung: {{service_name}} " + _WHEN_DE + " bei {{branch_name}}. Absage: {{branch_phone|}}",
    ),
    (ev.REMINDER_24H, "en"): (
        "Reminder: {{service_name}} tomorrow at {{appointment_time}}",
        "Hello {{customer_name|}},\n\na reminder of your appointment tomorrow:\n\n"
        "{{service_name}} with {{staff_name}}\n{{appointment_datetime}}\n{{branch_name}}, {{branch_address|}}\n\n{{business_name}}",
        "Reminder: {{service_name}} on {{appointment_datetime}} at {{branch_name}}. To cancel: {{branch_phone|}}",
    ),
    (ev.REMINDER_2H, "de"): (
        "Bis gleich: {{service_name}} um {{appointment_time}}",
        "Guten Tag {{customer_name|}},\n\nIhr Termin beginnt bald: {{service_name}} um {{appointment_time}} "
        "bei {{branch_name}}, {{branch_address|}}.\n\n{{business_name}}",
        "Bis gleich: {{service_name}} um {{appointment_time}} bei {{branch_name}}.",
    ),
    (ev.REMINDER_2H, "en"): (
        "See you soon: {{service_name}} at {{appointment_time}}",
        "Hello {{customer_name|}},\n\nyour appointment starts soon: {{service_name}} at {{appointment_time}} "
        "at {{branch_name}}, {{branch_address|}}.\n\n{{business_name}}",
        "See you soon: {{service_name}} at {{appointment_time}} at {{branch_name}}.",
    ),
    (ev.CALLBACK_REQUESTED, "de"): (
        "Rückruf erbeten: {{callback_name|Unbekannt}}",
        "Ein Anrufer bittet um Rückruf.\n\nName: {{callback_name|unbekannt}}\nTelefon: {{callback_phone}}\n"
        "Anliegen: {{callback_reason|keine Angabe}}",
        "Rückruf erbeten: {{callback_name|Unbekannt}}, {{callback_phone}}. {{callback_reason|}}",
    ),
    (ev.CALLBACK_REQUESTED, "en"): (
        "Callback requested: {{callback_name|unknown}}",
        "A caller asks to be called back.\n\nName: {{callback_name|unknown}}\nPhone: {{callback_phone}}\n"
        "Topic: {{callback_reason|not given}}",
        "Callback requested: {{callback_name|unknown}}, {{callback_phone}}. {{callback_reason|}}",
    ),
    (ev.CALLBACK_ESCALATED, "de"): (
        "Rückruf überfällig: {{callback_name|Unbekannt}}",
        "Ein erbetener Rückruf ist überfällig (Priorität jetzt: {{callback_priority}}).\n\n"
        "Name: {{callback_name|unbekannt}}\nTelefon: {{callback_phone}}\nAnliegen: {{callback_reason|keine Angabe}}",
        "Rückruf überfällig ({{callback_priority}}): {{callback_name|Unbekannt}}, {{callback_phone}}.",
    ),
    (ev.CALLBACK_ESCALATED, "en"): (
        "Callback overdue: {{callback_name|unknown}}",
        "A requested callback is overdue (priority now: {{callback_priority}}).\n\n"
        "Name: {{callback_name|unknown}}\nPhone: {{callback_phone}}\nTopic: {{callback_reason|not given}}",
        "Callback overdue ({{callback_priority}}): {{callback_name|unknown}}, {{callback_phone}}.",
    ),
    (ev.LOW_BALANCE, "de"): (
        "Guthaben niedrig: {{balance}}",
        "Guten Tag,\n\ndas Guthaben von {{business_name}} beträgt nur noch {{balance}}. "
        "Bitte laden Sie es auf, damit der Telefonassistent weiter Anrufe annimmt.",
        "AskPro: Guthaben von {{business_name}} niedrig ({{balance}}). Bitte aufladen.",
    ),
    (ev.LOW_BALANCE, "en"): (
        "Low balance: {{balance}}",
        "Hello,\n\nthe balance of {{business_name}} is down to {{balance}}. "
        "Please top it up so the phone assistant keeps answering calls.",
        "AskPro: {{business_name}} balance low ({{balance}}). Please top up.",
    ),
    (ev.PAYMENT_FAILED, "de"): (
        "Zahlung fehlgeschlagen: {{amount}}",
        "Guten Tag,\n\neine Zahlung über {{amount}} für {{business_name}} ist fehlgeschlagen. "
        "Bitte prüfen Sie Ihre Zahlungsmethode.",
        "AskPro: Zahlung über {{amount}} fehlgeschlagen. Bitte Zahlungsmethode prüfen.",
    ),
    (ev.PAYMENT_FAILED, "en"): (
        "Payment failed: {{amount}}",
        "Hello,\n\na payment of {{amount}} for {{business_name}} failed. Please check your payment method.",
        "AskPro: payment of {{amount}} failed. Please check your payment method.",
    ),
    (ev.INVOICE_ISSUED, "de"): (
        "Neue Rechnung {{invoice_number}}",
        "Guten Tag,\n\nfür {{business_name}} wurde die Rechnung {{invoice_number}} über {{amount}} erstellt. "
        "Sie finden sie im Verwaltungsbereich.",
        "AskPro: Rechnung {{invoice_number}} über {{amount}} erstellt.",
    ),
    (ev.INVOICE_ISSUED, "en"): (
        "New invoice {{invoice_number}}",
        "Hello,\n\ninvoice {{invoice_number}} of {{amount}} has been issued for {{business_name}}. "
        "You can find it in the back office.",
        "AskPro: invoice {{invoice_number}} of {{amount}} issued.",
    ),
    (ev.TOPUP_COMPLETED, "de"): (
        "Guthaben aufgeladen: {{amount}}",
        "Guten Tag,\n\nIhr Guthaben wurde um {{amount}} aufgeladen. Neues Guthaben: {{balance|}}",
        "AskPro: {{amount}} aufgeladen. Guthaben: {{balance|}}",
    ),
    (ev.TOPUP_COMPLETED, "en"): (
        "Balance topped up: {{amount}}",
        "Hello,\n\nyour balance was topped up by {{amount}}. New balance: {{balance|}}",
        "AskPro: {{amount}} topped up. Balance: {{balance|}}",
    ),
    (ev.CUSTOMER_MESSAGE, "de"): (
        "Nachricht von {{business_name}}",
        "Guten Tag {{customer_name|}},\n\n{{message_text}}\n\n{{business_name}}",
        "{{business_name}}: {{message_text}}",
    ),
    (ev.CUSTOMER_MESSAGE, "en"): (
        "Message from {{business_name}}",
        "Hello {{customer_name|}},\n\n{{message_text}}\n\n{{business_name}}",
        "{{business_name}}: {{message_text}}",
    ),
    (ev.DELETION_REQUEST_DUE, "de"): (
        "Löschantrag fällig am {{due_date}}: Kunde #{{customer_ref}}",
        "Guten Tag,\n\nder Löschantrag für Kunde #{{customer_ref}} ist am {{due_date}} fällig "
        "(noch {{days_left}} Tage; negativ: überfällig). Die DSGVO verlangt eine Antwort innerhalb eines Monats.\n\n"
        "Sie finden ihn im Verwaltungsbereich unter Datenschutz > Löschanträge.",
        "AskPro: Löschantrag Kunde #{{customer_ref}} fällig am {{due_date}}.",
    ),
    (ev.DELETION_REQUEST_DUE, "en"): (
        "Deletion request due on {{due_date}}: customer #{{customer_ref}}",
        "Hello,\n\nthe deletion request of customer #{{customer_ref}} is due on {{due_date}} "
        "({{days_left}} days left; negative: overdue). The GDPR requires an answer within one month.\n\n"
        "You find it in the back office under Data protection > Deletion requests.",
        "AskPro: deletion request customer #{{customer_ref}} due on {{due_date}}.",
    ),
    (ev.MARKETING_MESSAGE, "de"): (
        "{{subject}}",
        "Guten Tag {{customer_name|}},\n\n{{message}}\n\n{{business_name}}\n\n"
        "Sie erhalten diese Nachricht, weil Sie Werbung zugestimmt haben. Abmelden: Antwort STOPP.",
        "{{message}} ({{business_name}}; Abmelden: STOPP)",
    ),
    (ev.MARKETING_MESSAGE, "en"): (
        "{{subject}}",
        "Hello {{customer_name|}},\n\n{{message}}\n\n{{business_name}}\n\n"
        "You receive this message because you agreed to marketing messages. Unsubscribe: reply STOP.",
        "{{message}} ({{business_name}}; unsubscribe: STOP)",
    ),
}

LANGUAGES = ("de", "en")


def default_template(event: str, channel: str, language: str) -> DefaultTemplate:
    """The built-in text; unknown languages fall back to German."""
    texts = _TEXTS.get((event, language)) or _TEXTS[(event, "de")]
    subject, email_body, short = texts
    if channel == Channel.EMAIL:
        return DefaultTemplate(subject=subject, body=email_body)
    return DefaultTemplate(subject="", body=short)
