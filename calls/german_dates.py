"""Dates and times as a German caller says them, turned into aware datetimes in a branch's zone.

``parse_date("nächsten Dienstag", today=...)``: ISO (``2025-10-14``), German numeric
(``14.10.2025``, ``14.10.``), spelled months (``14. Oktober``), ``heute``, ``morgen``,
``übermorgen``, weekday names (the next such day after today; "nächsten"/"kommenden"/"diesen"
are the same), ``<Wochentag> nächste Woche`` (that day in the next calendar week), ``in 3 Tagen``.
``today`` must be the date in the branch's time zone (``local_today``); ``local_datetime`` turns
a local wall-clock time into an aware datetime and is DST safe.
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
import zoneinfo

from django.utils.translation import gettext_lazy as _

from askpro.errors import ValidationFailed

WEEKDAYS = ("montag", "dienstag", "mittwoch", "donnerstag", "freitag", "samstag", "sonntag")
WEEKDAY_NAMES = ("Montag", "Dienstag", "Mittwoch", "Donnerstag", "Freitag", "Samstag", "Sonntag")
MONTH_NAMES = (
    "Januar", "Februar", "März", "April", "Mai", "Juni",
    "Juli", "August", "September", "Oktober", "November", "Dezember",
)
_MONTHS = {
    "januar": 1, "jan": 1, "jaenner": 1, "februar": 2, "feb": 2, "maerz": 3, "marz": 3, "mrz": 3,
    "april": 4, "apr": 4, "mai": 5, "juni": 6, "jun": 6, "juli": 7, "jul": 7, "august": 8, "aug": 8,
    "september": 9, "sep": 9, "sept": 9, "oktober": 10, "okt": 10, "november": 11, "nov": 11,
    "dezember": 12, "dez": 12,
}
_ALIASES = {"sonnabend": "samstag", "mo": "montag", "di": "dienstag", "mi": "mittwoch", "do": "donnerstag",
            "fr": "freitag", "sa": "samstag", "so": "sonntag"}
_NUMBERS = {"einem": 1, "einen": 1, "eins": 1, "zwei": 2, "drei": 3, "vier": 4, "fuenf": 5, "sechs": 6,
            "sieben": 7, "acht": 8, "neun": 9, "zehn": 10, "vierzehn": 14}
_DAYPARTS = {"vormittag", "vormittags", "nachmittag", "nachmittags", "abend", "abends", "mittag",
             "mittags", "frueh"}
_FILLER = {"am", "an", "dem", "den", "der", "die", "das", "im", "um", "fuer", "naechsten", "naechste",
           "naechster", "kommenden", "kommende", "diesen", "diese", "dieser", "bitte", "also", "ja"}


class DateNotUnderstood(ValidationFailed):
    code = "DATE_NOT_UNDERSTOOD"
    default_message = _("Das Datum habe ich nicht verstanden. Können Sie es bitte noch einmal sagen?")


class TimeNotUnderstood(ValidationFailed):
    code = "TIME_NOT_UNDERSTOOD"
    default_message = _("Die Uhrzeit habe ich nicht verstanden. Können Sie sie bitte noch einmal sagen?")


def fold(text: str) -> str:
    """Lowercase ASCII form: umlauts spelled out (ä -> ae, ß -> ss), accents dropped."""
    text = text.casefold().replace("ä", "ae").replace("ö", "oe").replace("ü", "ue").replace("ß", "ss")
    text = unicodedata.normalize("NFKD", text)
    return "".join(ch for ch in text if not unicodedata.combining(ch))


def local_today(tz: zoneinfo.ZoneInfo, now: dt.datetime | None = None) -> dt.date:
    """Today's date in the zone (the caller's "heute")."""
    return (now or dt.datetime.now(dt.UTC)).astimezone(tz).date()


def _next_weekday(today: dt.date, weekday: int) -> dt.date:
    days = (weekday - today.weekday()) % 7
    return today + dt.timedelta(days=days or 7)


def parse_date(text: str, *, today: dt.date) -> dt.date:
    """The calendar date a caller means; raises ``DateNotUnderstood``."""
    raw = (text or "").strip()
    if not raw:
        raise DateNotUnderstood(details={"date": text})
    iso = re.fullmatch(r"(\d{4})-(\d{2})-(\d{2})(?:[T ].*)?", raw)
    if iso:
        return _make_date(int(iso[1]), int(iso[2]), int(iso[3]), text)
    numeric = re.fullmatch(r"(?:\w+,?\s+)?(?:den\s+)?(\d{1,2})\.\s*(\d{1,2})\.(?:\s*(\d{2,4}))?", raw)
    if numeric:
        return _with_year(int(numeric[1]), int(numeric[2]), numeric[3], today, text)

    words = [w for w in re.split(r"[\s,.]+", fold(raw)) if w]
    spelled = _spelled_date(words, today, text)
    if spelled is not None:
        return spelled
    content = [_ALIASES.get(w, w) for w in words if w not in _FILLER and w not in _DAYPARTS]
    if content in (["heute"],):
        return today
    if content in (["morgen"],):
        return today + dt.timedelta(days=1)
    if content in (["uebermorgen"],):
        return today + dt.timedelta(days=2)
    if content in (["woche"],):  # "nächste Woche": its Monday
        return today + dt.timedelta(days=7 - today.weekday())
    if len(content) >= 3 and content[0] == "in" and content[-1] in ("tagen", "tag", "wochen", "woche"):
        amount = _number(content[1])
        if amount is not None:
            unit = 7 if content[-1].startswith("woche") else 1
            return today + dt.timedelta(days=amount * unit)
    weekday_words = [w for w in content if w in WEEKDAYS]
    if len(weekday_words) == 1:
        weekday = WEEKDAYS.index(weekday_words[0])
        rest = [w for w in content if w not in WEEKDAYS]
        if rest in ([], ["morgen"]):  # "Dienstag morgen" is Tuesday morning
            return _next_weekday(today, weekday)
        if rest in (["woche"], ["in", "woche"]):
            monday = today + dt.timedelta(days=7 - today.weekday())
            return monday + dt.timedelta(days=weekday)
    raise DateNotUnderstood(details={"date": text})


def _number(word: str) -> int | None:
    if word.isdigit():
        return int(word)
    return _NUMBERS.get(word)


def _spelled_date(words: list[str], today: dt.date, text: str) -> dt.date | None:
    # "14. Oktober", "Dienstag, 14. Oktober 2025", "den 3 maerz"
    for index, word in enumerate(words):
        if word in _MONTHS and index > 0 and words[index - 1].isdigit():
            year = words[index + 1] if index + 1 < len(words) and words[index + 1].isdigit() else None
            return _with_year(int(words[index - 1]), _MONTHS[word], year, today, text)
    return None


def _with_year(day: int, month: int, year: str | None, today: dt.date, text: str) -> dt.date:
    if year:
        full = int(year) + (2000 if len(year) == 2 else 0)
        return _make_date(full, month, day, text)
    candidate = _try_date(today.year, month, day)
    if candidate is None or candidate < today:
        # A date without a year that already passed means next year's.
        return _make_date(today.year + 1, month, day, text)
    return candidate


def _try_date(year: int, month: int, day: int) -> dt.date | None:
    try:
        return dt.date(year, month, day)
    except ValueError:
        return None


def _make_date(year: int, month: int, day: int, text: str) -> dt.date:
    value = _try_date(year, month, day)
    if value is None:
        raise DateNotUnderstood(details={"date": text})
    return value


_HOUR_WORDS = {"eins": 1, "ein": 1, "zwei": 2, "drei": 3, "vier": 4, "fuenf": 5, "sechs": 6, "sieben": 7,
               "acht": 8, "neun": 9, "zehn": 10, "elf": 11, "zwoelf": 12}


def parse_time(text: str) -> dt.time:
    """A wall-clock time: ``14:30``, ``14.30``, ``14 Uhr``, ``14 Uhr 30``, ``9``, ``halb drei``
    (= 14:30 in business hours), ``zehn Uhr``; raises ``TimeNotUnderstood``."""
    raw = fold((text or "").strip())
    match = re.fullmatch(r"(?:um\s+)?(\d{1,2})(?:[:.](\d{2}))?(?::\d{2})?(?:\s*uhr)?(?:\s*(\d{1,2}))?", raw)
    if match:
        hour, minute = int(match[1]), int(match[2] or match[3] or 0)
        return _make_time(hour, minute, text)
    words = [w for w in raw.split() if w not in ("um", "uhr")]
    if len(words) == 2 and words[0] == "halb" and words[1] in _HOUR_WORDS:
        hour = _business_hour(_HOUR_WORDS[words[1]] - 1)
        return _make_time(hour, 30, text)
    if len(words) == 1 and words[0] in _HOUR_WORDS:
        return _make_time(_business_hour(_HOUR_WORDS[words[0]]), 0, text)
    raise TimeNotUnderstood(details={"time": text})


def _business_hour(hour: int) -> int:
    # Spoken "drei" at a salon means 15:00, "neun" means 09:00.
    return hour + 12 if 1 <= hour <= 7 else hour


def _make_time(hour: int, minute: int, text: str) -> dt.time:
    if hour == 24 and minute == 0:
        hour = 0
    if not (0 <= hour <= 23 and 0 <= minute <= 59):
        raise TimeNotUnderstood(details={"time": text})
    return dt.time(hour, minute)


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
