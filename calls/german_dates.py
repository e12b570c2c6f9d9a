"""Dates and times as a German caller says them, turned into aware datetimes in a branch's zone.

The reading itself is ``calls.german_when`` (pure, no Django); this module adds our domain errors
with the German question the agent asks back (``DATE_NOT_UNDERSTOOD``, ``TIME_NOT_UNDERSTOOD``,
``DATE_AMBIGUOUS``, ``TIME_AMBIGUOUS``) and the time-zone arithmetic. ``today`` must be the date in
the branch's time zone (``local_today``); ``local_datetime`` turns a local wall-clock time into an
aware datetime and is DST safe.
"""

from __future__ import annotations

import datetime as dt
import re
import zoneinfo

from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext

from askpro.errors import ValidationFailed
from calls.errors import CallErrorCode
from calls.german_when import WEEKDAYS as WEEKDAYS
from calls.german_when import NotUnderstood, Understood, conventional_reading, understand
from calls.german_when import fold as fold

WEEKDAY_NAMES = ("Montag", "Dienstag", "Mittwoch", "Donnerstag", "Freitag", "Samstag", "Sonntag")
MONTH_NAMES = (
    "Januar", "Februar", "März", "April", "Mai", "Juni",
    "Juli", "August", "September", "Oktober", "November", "Dezember",
)


class DateNotUnderstood(ValidationFailed):
    code = CallErrorCode.DATE_NOT_UNDERSTOOD
    default_message = _("Das Datum habe ich nicht verstanden. Können Sie es bitte noch einmal sagen?")


class TimeNotUnderstood(ValidationFailed):
    code = CallErrorCode.TIME_NOT_UNDERSTOOD
    default_message = _("Die Uhrzeit habe ich nicht verstanden. Können Sie sie bitte noch einmal sagen?")


def local_today(tz: zoneinfo.ZoneInfo, now: dt.datetime | None = None) -> dt.date:
    """Today's date in the zone (the caller's "heute")."""
    return (now or dt.datetime.now(dt.UTC)).astimezone(tz).date()


def understood(text: str, *, today: dt.date, expect: str = "any") -> Understood:
    """``german_when.understand`` with our domain errors: the part that was not understood is
    asked again (``DATE_NOT_UNDERSTOOD`` / ``TIME_NOT_UNDERSTOOD``), never dropped."""
    try:
        return understand(text, today=today, expect=expect)
    except NotUnderstood as exc:
        raise _refusal(exc, text) from exc


def _refusal(exc: NotUnderstood, text: str) -> DateNotUnderstood | TimeNotUnderstood:
    if exc.part == "time":
        return TimeNotUnderstood(details={"time": text})
    return DateNotUnderstood(details={"date": text})


def parse_date(text: str, *, today: dt.date) -> dt.date:
    """The calendar date a caller means (the first day of a range such as "nächste Woche");
    raises ``DateNotUnderstood``, or ``DateAmbiguous`` with a question when the phrase allows two days."""
    found = understood(text or "", today=today, expect="date")
    if found.day_choices:
        raise date_ambiguous(found.day_choices, said_weekday=found.said_weekday, text=text)
    assert found.first_day is not None
    return found.first_day


def parse_time(text: str) -> dt.time:
    """A wall-clock time: ``14:30``, ``14.30``, ``14 Uhr``, ``14 Uhr 30``, ``9``, ``halb drei``
    (= 14:30 in business hours), ``viertel nach zehn``, ``zwei Uhr nachmittags``; the conventional
    reading of an hour without a part of the day. Raises ``TimeNotUnderstood`` (also for a part of
    the day alone: "mittags" is a range, not a time)."""
    found = understood(text or "", today=dt.date(2000, 1, 3), expect="time")
    if not found.times:
        raise TimeNotUnderstood(details={"time": text})
    return conventional_reading(found.times)


class DateAmbiguous(ValidationFailed):
    code = CallErrorCode.DATE_AMBIGUOUS


class TimeAmbiguous(ValidationFailed):
    code = CallErrorCode.TIME_AMBIGUOUS


def spoken_day(day: dt.date) -> str:
    """"Montag, 15. März"."""
    return f"{WEEKDAY_NAMES[day.weekday()]}, {day.day}. {MONTH_NAMES[day.month - 1]}"


def date_ambiguous(choices: tuple[dt.date, ...], *, said_weekday: int | None, text: str) -> DateAmbiguous:
    """The question when a phrase allows two days ("Montag, 15.03." when the 15th is a Sunday)."""
    spoken = [spoken_day(day) for day in choices]
    question = pgettext("voice", "Meinen Sie %(first)s, oder %(second)s?") % {
        "first": ", ".join(spoken[:-1]), "second": spoken[-1],
    }
    mismatched = [day for day in choices if said_weekday is not None and day.weekday() != said_weekday]
    if mismatched:
        question = pgettext("voice", "Der %(day)s. %(month)s ist ein %(weekday)s.") % {
            "day": mismatched[0].day, "month": MONTH_NAMES[mismatched[0].month - 1],
            "weekday": WEEKDAY_NAMES[mismatched[0].weekday()],
        } + " " + question
    return DateAmbiguous(question, details={"date": text, "choices": [day.isoformat() for day in choices]})


def time_ambiguous(choices: tuple[dt.time, ...], *, text: str) -> TimeAmbiguous:
    """The question when an hour may be morning or evening and the branch is open at both."""
    spoken = [f"{choice.hour}:{choice.minute:02d} Uhr" for choice in choices]
    question = pgettext("voice", "Meinen Sie %(first)s oder %(second)s?") % {
        "first": ", ".join(spoken[:-1]), "second": spoken[-1],
    }
    return TimeAmbiguous(question, details={"time": text, "choices": [choice.strftime("%H:%M") for choice in choices]})


def local_datetime(day: dt.date, time: dt.time, tz: zoneinfo.ZoneInfo) -> dt.datetime:
    """The aware datetime of a local wall-clock time. A time in the spring-forward gap moves to
    the first valid minute after it; an ambiguous autumn time is the first (summer-time) one."""
    candidate = dt.datetime.combine(day, time, tzinfo=tz).replace(fold=0)
    roundtrip = candidate.astimezone(dt.UTC).astimezone(tz)
    if roundtrip.replace(tzinfo=None) != candidate.replace(tzinfo=None):
        # Non-existent (gap): fold=0 carries the pre-jump offset, so its instant is the wall
        # time after the jump (02:30 -> 03:30 CEST).
        return roundtrip
    return candidate


def parse_datetime(date_text: str, time_text: str | None, *, tz: zoneinfo.ZoneInfo,
                   now: dt.datetime | None = None) -> dt.datetime:
    """``parse_date`` + ``parse_time`` in a zone; an ISO datetime with offset is taken as is."""
    raw = (date_text or "").strip()
    if re.fullmatch(r"\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2})?([+-]\d{2}:?\d{2}|Z)?", raw):
        value = dt.datetime.fromisoformat(raw.replace("Z", "+00:00"))
        return value.astimezone(tz) if value.tzinfo else local_datetime(value.date(), value.time(), tz)
    day = parse_date(raw, today=local_today(tz, now))
    return local_datetime(day, parse_time(time_text or ""), tz)

