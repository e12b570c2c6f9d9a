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


def greeting_known(name: str) -> str:
    return pgettext("voice", "Ich habe Sie gefunden: %(name)s.") % {"name": name}


def customer_unknown() -> str:
    return pgettext("voice", "Ich habe Sie noch nicht in unserer Kundenliste. Wie ist Ihr Name?")
