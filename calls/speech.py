"""German sentences and phrases the voice agent reads out ("Am Dienstag, 14. Oktober, ist um
14:00 Uhr frei."). Month and weekday names are spelled here, independent of the server locale.

The agent speaks German, so the message ids are German (translatable with pgettext context
"voice" if an English agent is ever added)."""

from __future__ import annotations

import datetime as dt
import zoneinfo

from django.utils.translation import pgettext

from calls.german_dates import MONTH_NAMES, WEEKDAY_NAMES


def spoken_date(day: dt.date, *, with_year: bool = False) -> str:
    """"Dienstag, 14. Oktober" (optionally with the year)."""
    text = f"{WEEKDAY_NAMES[day.weekday()]}, {day.day}. {MONTH_NAMES[day.month - 1]}"
    return f"{text} {day.year}" if with_year else text


def spoken_time(value: dt.time | dt.datetime) -> str:
    """"14:00 Uhr"."""
    return f"{value.hour:02d}:{value.minute:02d} Uhr"


def _local(moment: dt.datetime, tz: zoneinfo.ZoneInfo) -> dt.datetime:
    return moment.astimezone(tz)


def spoken_moment(moment: dt.datetime, tz: zoneinfo.ZoneInfo) -> str:
    """"Dienstag, 14. Oktober, um 14:00 Uhr"."""
    local = _local(moment, tz)
    return pgettext("voice", "%(date)s, um %(time)s") % {"date": spoken_date(local.date()), "time": spoken_time(local)}


def slot_free(moment: dt.datetime, tz: zoneinfo.ZoneInfo) -> str:
    """"Am Dienstag, 14. Oktober, ist um 14:00 Uhr frei."."""
    local = _local(moment, tz)
    return pgettext("voice", "Am %(date)s, ist um %(time)s frei.") % {
        "date": spoken_date(local.date()), "time": spoken_time(local),
    }


def slot_taken_with_alternatives(moment: dt.datetime, alternatives: list[dt.datetime], tz: zoneinfo.ZoneInfo) -> str:
    """"Um 14:00 Uhr ist leider schon belegt. Frei wäre am ... oder am ..."."""
    local = _local(moment, tz)
    if not alternatives:
        return pgettext("voice", "Am %(date)s um %(time)s ist leider nichts frei, und in den nächsten Tagen auch nicht.") % {
            "date": spoken_date(local.date()), "time": spoken_time(local),
        }
    options = [spoken_moment(alt, tz) for alt in alternatives]
    joined = options[0] if len(options) == 1 else ", am ".join(options[:-1]) + pgettext("voice", " oder am ") + options[-1]
    return pgettext("voice", "Am %(date)s um %(time)s ist leider schon belegt. Frei wäre am %(options)s.") % {
        "date": spoken_date(local.date()), "time": spoken_time(local), "options": joined,
    }


def booked(moment: dt.datetime, tz: zoneinfo.ZoneInfo, service: str, staff: str = "") -> str:
    """"Ihr Termin für Haarschnitt am Dienstag, 14. Oktober, um 14:00 Uhr bei Anna ist gebucht."."""
    with_staff = pgettext("voice", " bei %(staff)s") % {"staff": staff} if staff else ""
    return pgettext("voice", "Ihr Termin für %(service)s am %(moment)s%(staff)s ist gebucht.") % {
        "service": service, "moment": spoken_moment(moment, tz), "staff": with_staff,
    }


def already_booked(moment: dt.datetime, tz: zoneinfo.ZoneInfo, service: str, staff: str = "") -> str:
    """"Dieser Termin ist schon für Sie gebucht: Haarschnitt am Dienstag, 14. Oktober, um 14:00 Uhr bei Anna."."""
    with_staff = pgettext("voice", " bei %(staff)s") % {"staff": staff} if staff else ""
    return pgettext("voice", "Dieser Termin ist schon für Sie gebucht: %(service)s am %(moment)s%(staff)s.") % {
        "service": service, "moment": spoken_moment(moment, tz), "staff": with_staff,
    }


def greeting_known(name: str) -> str:
    return pgettext("voice", "Ich habe Sie gefunden: %(name)s.") % {"name": name}


def customer_unknown() -> str:
    return pgettext("voice", "Ich habe Sie noch nicht in unserer Kundenliste. Wie ist Ihr Name?")


def _joined(options: list[str], last: str) -> str:
    if len(options) <= 1:
        return "".join(options)
    return ", ".join(options[:-1]) + last + options[-1]


def _or(options: list[str]) -> str:
    return _joined(options, pgettext("voice", " oder "))


def money(cents: int, currency: str = "EUR") -> str:
    """"15 Euro", "15,50 Euro" (as a receptionist says an amount)."""
    unit = {"EUR": "Euro", "USD": "Dollar", "CHF": "Franken"}.get(currency.upper(), currency.upper())
    euros, rest = divmod(int(cents), 100)
    return f"{euros} {unit}" if not rest else f"{euros},{rest:02d} {unit}"


def slot_free_at(moment: dt.datetime, tz: zoneinfo.ZoneInfo, staff: str = "") -> str:
    """"Am Dienstag, 14. Oktober, ist um 14:00 Uhr bei Anna frei."."""
    if not staff:
        return slot_free(moment, tz)
    local = _local(moment, tz)
    return pgettext("voice", "Am %(date)s, ist um %(time)s bei %(staff)s frei.") % {
        "date": spoken_date(local.date()), "time": spoken_time(local), "staff": staff,
    }


def day_options(day: dt.date, moments: list[dt.datetime], tz: zoneinfo.ZoneInfo) -> str:
    """"Am Dienstag, 14. Oktober, ist frei um 09:00 Uhr, 10:00 Uhr oder 11:30 Uhr."."""
    times = [spoken_time(_local(moment, tz)) for moment in moments]
    return pgettext("voice", "Am %(date)s, ist frei um %(times)s.") % {"date": spoken_date(day), "times": _or(times)}


def day_full_with_alternatives(day: dt.date, alternatives: list[dt.datetime], tz: zoneinfo.ZoneInfo) -> str:
    """"Am Dienstag, 14. Oktober, ist leider nichts mehr frei. Frei wäre am ..."."""
    if not alternatives:
        return pgettext("voice", "Am %(date)s, ist leider nichts frei, und in den nächsten Wochen auch nicht.") % {
            "date": spoken_date(day),
        }
    spoken = [spoken_moment(alt, tz) for alt in alternatives]
    options = spoken[0] if len(spoken) == 1 else ", am ".join(spoken[:-1]) + pgettext("voice", " oder am ") + spoken[-1]
    return pgettext("voice", "Am %(date)s, ist leider nichts mehr frei. Frei wäre am %(options)s.") % {
        "date": spoken_date(day), "options": options,
    }


def summary(service: str, moment: dt.datetime, tz: zoneinfo.ZoneInfo, *, staff: str = "", branch: str = "",
            name: str = "") -> str:
    """"Ich fasse zusammen: Haarschnitt am Dienstag, 14. Oktober, um 14:00 Uhr bei Anna in Mitte,
    für Maria Lopez. Soll ich das so buchen?"."""
    parts = pgettext("voice", "%(service)s am %(moment)s") % {"service": service, "moment": spoken_moment(moment, tz)}
    if staff:
        parts += pgettext("voice", " bei %(staff)s") % {"staff": staff}
    if branch:
        parts += pgettext("voice", " in der Filiale %(branch)s") % {"branch": branch}
    if name:
        parts += pgettext("voice", ", für %(name)s") % {"name": name}
    return pgettext("voice", "Ich fasse zusammen: %(parts)s. Soll ich das so buchen?") % {"parts": parts}


def rescheduled(moment: dt.datetime, tz: zoneinfo.ZoneInfo, service: str, staff: str = "") -> str:
    """"Ihr Termin für Haarschnitt ist jetzt am Mittwoch, 15. Oktober, um 10:00 Uhr bei Anna."."""
    with_staff = pgettext("voice", " bei %(staff)s") % {"staff": staff} if staff else ""
    return pgettext("voice", "Erledigt: Ihr Termin für %(service)s ist jetzt am %(moment)s%(staff)s.") % {
        "service": service, "moment": spoken_moment(moment, tz), "staff": with_staff,
    }


def cancelled(moment: dt.datetime, tz: zoneinfo.ZoneInfo, service: str) -> str:
    """"Ihr Termin für Haarschnitt am Dienstag, 14. Oktober, um 14:00 Uhr ist storniert."."""
    return pgettext("voice", "Ihr Termin für %(service)s am %(moment)s ist storniert.") % {
        "service": service, "moment": spoken_moment(moment, tz),
    }


def fee_notice(cents: int, currency: str, *, cancellation: bool) -> str:
    """The fee a late change costs, said plainly."""
    if cancellation:
        text = pgettext("voice", "Weil die Absage so kurzfristig ist, fällt eine Gebühr von %(amount)s an.")
    else:
        text = pgettext("voice", "Weil die Änderung so kurzfristig ist, fällt eine Gebühr von %(amount)s an.")
    return text % {"amount": money(cents, currency)}


def appointment_list(entries: list[str]) -> str:
    """"Sie haben zwei Termine: am ... und am ..."."""
    if not entries:
        return pgettext("voice", "Ich sehe unter Ihrer Nummer keine anstehenden Termine.")
    if len(entries) == 1:
        return pgettext("voice", "Sie haben einen Termin: am %(entry)s.") % {"entry": entries[0]}
    return pgettext("voice", "Sie haben %(count)s Termine: am %(entries)s.") % {
        "count": len(entries), "entries": ", am ".join(entries[:-1]) + pgettext("voice", " und am ") + entries[-1],
    }


def which_appointment(entries: list[str]) -> str:
    """"Welchen Termin meinen Sie: den am ... oder den am ...?"."""
    return pgettext("voice", "Welchen Termin meinen Sie: den am %(entries)s?") % {
        "entries": ", den am ".join(entries[:-1]) + pgettext("voice", " oder den am ") + entries[-1],
    }


def wish_options(moments: list[dt.datetime], tz: zoneinfo.ZoneInfo) -> str:
    """"Frei wäre am Montag, 14. Dezember, um 09:00 Uhr oder am Dienstag, 15. Dezember, um 10:00 Uhr."
    (free times in the days or the part of the day the caller asked for)."""
    spoken = [spoken_moment(moment, tz) for moment in moments]
    return pgettext("voice", "Frei wäre am %(options)s.") % {"options": _moments(spoken)}


def wish_full_with_alternatives(alternatives: list[dt.datetime], tz: zoneinfo.ZoneInfo) -> str:
    """"Zu dieser Zeit ist leider nichts frei. Frei wäre am ..."."""
    if not alternatives:
        return pgettext("voice", "Zu dieser Zeit ist leider nichts frei, und in den nächsten Wochen auch nicht.")
    spoken = [spoken_moment(moment, tz) for moment in alternatives]
    return pgettext("voice", "Zu dieser Zeit ist leider nichts frei. Frei wäre am %(options)s.") % {
        "options": _moments(spoken),
    }


def _moments(spoken: list[str]) -> str:
    """"Montag, ..., um 09:00 Uhr, am Dienstag, ... oder am Mittwoch, ..." (after an "am")."""
    if len(spoken) <= 1:
        return "".join(spoken)
    return ", am ".join(spoken[:-1]) + pgettext("voice", " oder am ") + spoken[-1]
