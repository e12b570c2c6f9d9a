"""What a German caller means by "wann": days, day ranges, clock times and parts of the day.

Pure functions, no Django: ``understand("nächsten Dienstag vormittags", today=...)`` returns an
:class:`Understood` with the day (or range of days), the readings of a clock time and the window of
a part of the day. It covers spoken and written German as callers use it (and as the voice agent's
LLM passes it on): numbers in words up to 59, quarter forms ("viertel nach zehn", "dreiviertel elf",
"halb drei"), parts of the day applied to the hour ("zwei Uhr nachmittags" = 14:00), "Uhr"/"h" forms
("11h30", "15 h"), ordinals ("am dritten", "3."), months by name and short name, weekdays with and
without "nächsten/kommenden/diesen", "in N Tagen/Wochen", "Dienstag in einer Woche", "Anfang/Mitte/
Ende (nächster) Woche" and "am Wochenende" as ranges, numeric dates with and without year and final
dot, a weekday with a date (checked), and day plus time in one phrase ("28. Dezember 16:00").

Nothing is guessed silently: a clock hour said without a part of the day ("um drei", "halb drei")
keeps both readings (03:00 and 15:00) until :func:`pick_readings` drops the ones outside the
branch's opening hours; a weekday that does not match the date keeps both days; a word that is not
understood raises :class:`NotUnderstood` instead of being dropped.
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from dataclasses import dataclass

# --- vocabulary -----------------------------------------------------------------------------

WEEKDAYS = ("montag", "dienstag", "mittwoch", "donnerstag", "freitag", "samstag", "sonntag")
_WEEKDAY_ALIASES = {
    "sonnabend": 5, "mo": 0, "di": 1, "mi": 2, "do": 3, "fr": 4, "sa": 5,
    "montags": 0, "dienstags": 1, "mittwochs": 2, "donnerstags": 3, "freitags": 4, "samstags": 5, "sonntags": 6,
}
MONTHS = {
    "januar": 1, "jan": 1, "jaenner": 1, "jaen": 1, "februar": 2, "feb": 2, "febr": 2, "maerz": 3, "marz": 3,
    "mrz": 3, "mar": 3, "maer": 3, "april": 4, "apr": 4, "mai": 5, "juni": 6, "jun": 6, "juli": 7, "jul": 7,
    "august": 8, "aug": 8, "september": 9, "sep": 9, "sept": 9, "oktober": 10, "okt": 10, "november": 11,
    "nov": 11, "dezember": 12, "dez": 12,
}

# Parts of the day as search windows (start inclusive, end exclusive), in local wall-clock time.
# A tenant may narrow or widen them (VoiceSettings is the place once it is configurable); these are
# what a receptionist assumes.
DAYPARTS: dict[str, tuple[dt.time, dt.time]] = {
    "frueh": (dt.time(7, 0), dt.time(10, 0)),
    "morgens": (dt.time(7, 0), dt.time(10, 0)),
    "vormittags": (dt.time(8, 0), dt.time(12, 0)),
    "mittags": (dt.time(11, 30), dt.time(14, 0)),
    "nachmittags": (dt.time(12, 0), dt.time(18, 0)),
    "abends": (dt.time(17, 0), dt.time(22, 0)),
    "nachts": (dt.time(22, 0), dt.time(23, 59)),
    "nach der arbeit": (dt.time(17, 0), dt.time(20, 0)),
    "vor der arbeit": (dt.time(7, 0), dt.time(9, 0)),
}


def parse_daypart_hours(value: object) -> dict[str, tuple[dt.time, dt.time]]:
    """A tenant's own parts of the day (``{"vormittags": "09:00-12:00"}``) as windows; raises
    ValueError for an unknown name or a window that is not ``HH:MM-HH:MM`` with start < end."""
    if not value:
        return {}
    if not isinstance(value, dict):
        raise ValueError("erwartet wird ein Objekt wie {\"vormittags\": \"09:00-12:00\"}")
    windows: dict[str, tuple[dt.time, dt.time]] = {}
    for name, span in value.items():
        key = fold(str(name)).strip()
        if key not in DAYPARTS:
            raise ValueError(f"{name}: keine von {', '.join(DAYPARTS)}")
        match = re.fullmatch(r"\s*(\d{1,2}):(\d{2})\s*-\s*(\d{1,2}):(\d{2})\s*", str(span))
        if match is None:
            raise ValueError(f"{name}: {span!r} ist nicht HH:MM-HH:MM")
        try:
            start, end = dt.time(int(match[1]), int(match[2])), dt.time(int(match[3]), int(match[4]))
        except ValueError:
            raise ValueError(f"{name}: {span!r} ist keine Uhrzeit") from None
        if start >= end:
            raise ValueError(f"{name}: {span!r} endet nicht nach dem Beginn")
        windows[key] = (start, end)
    return windows


_DAYPART_WORDS = {
    "frueh": "frueh", "frueher": "frueh", "morgens": "morgens", "vormittag": "vormittags",
    "vormittags": "vormittags", "mittag": "mittags", "mittags": "mittags", "mittagszeit": "mittags",
    "mittagspause": "mittags", "nachmittag": "nachmittags", "nachmittags": "nachmittags", "abend": "abends",
    "abends": "abends", "nacht": "nachts", "nachts": "nachts", "feierabend": "nach der arbeit",
}
_FILLER = frozenset({
    "am", "an", "den", "dem", "der", "die", "das", "des", "im", "um", "gegen", "so", "etwa", "ca", "circa",
    "ungefaehr", "bitte", "also", "ja", "gerne", "gern", "dann", "vielleicht", "termin", "einen", "uhrzeit",
    "datum", "zum", "zur", "fuer", "auf", "wie", "waere", "es", "geht", "moeglich", "hm", "aeh", "oh", "mal",
    "genau", "lieber", "eher", "doch", "schon", "wieder", "beginn", "start", "und", "noch",
})
_NEXT = frozenset({"naechsten", "naechste", "naechster", "naechstes", "kommenden", "kommende", "kommender",
                   "kommendes", "folgenden", "folgende"})
_THIS = frozenset({"diesen", "diese", "dieser", "dieses", "diesem"})


def _number_words() -> dict[str, int]:
    units = {1: "ein", 2: "zwei", 3: "drei", 4: "vier", 5: "fuenf", 6: "sechs", 7: "sieben", 8: "acht", 9: "neun"}
    special = {10: "zehn", 11: "elf", 12: "zwoelf", 13: "dreizehn", 14: "vierzehn", 15: "fuenfzehn",
               16: "sechzehn", 17: "siebzehn", 18: "achtzehn", 19: "neunzehn"}
    tens = {20: "zwanzig", 30: "dreissig", 40: "vierzig", 50: "fuenfzig"}
    words: dict[str, int] = {"null": 0, "eins": 1, "eine": 1, "einen": 1, "einem": 1, "einer": 1, "zwo": 2}
    words.update({word: n for n, word in units.items() if n != 1})
    words["ein"] = 1
    words.update({word: n for n, word in special.items()})
    for ten, ten_word in tens.items():
        words[ten_word] = ten
        for unit, unit_word in units.items():
            words[f"{unit_word}und{ten_word}"] = ten + unit
    words["dreizig"] = 30  # transcripts drop the s
    return words


def _ordinal_words(cardinals: dict[str, int]) -> dict[str, int]:
    stems = {"erst": 1, "zweit": 2, "dritt": 3, "siebt": 7, "siebent": 7, "acht": 8, "zwot": 2}
    for word, n in cardinals.items():
        if 4 <= n <= 31 and n not in (7, 8) and word not in ("dreizig",):
            stems.setdefault(word + ("t" if n < 20 else "st"), n)
    forms: dict[str, int] = {}
    for stem, n in stems.items():
        if n > 31:
            continue
        for ending in ("e", "en", "em", "er", "es"):
            forms[stem + ending] = n
    return forms


NUMBER_WORDS = _number_words()
ORDINAL_WORDS = _ordinal_words(NUMBER_WORDS)


# --- results --------------------------------------------------------------------------------


class NotUnderstood(ValueError):
    """A part of the phrase could not be read. ``part`` is "date" or "time" (what to ask again)."""

    def __init__(self, part: str, text: str, reason: str = "") -> None:
        super().__init__(f"{part} not understood: {text!r} {reason}".strip())
        self.part = part
        self.text = text
        self.reason = reason


@dataclass(frozen=True)
class Understood:
    """What a phrase says about "wann". All fields are optional; a range has ``last_day > first_day``.

    ``times`` holds the readings of one clock time: one when it is clear ("14 Uhr", "zwei Uhr
    nachmittags"), two when the hour could be morning or afternoon ("um drei": 03:00 and 15:00).
    ``window`` is a part of the day ("vormittags": 08:00-12:00) or "ab 15 Uhr". ``days`` holds more
    than one day when the phrase itself is contradictory ("Montag, 15.03." when the 15th is a
    Sunday): the caller has to choose."""

    first_day: dt.date | None = None
    last_day: dt.date | None = None
    times: tuple[dt.time, ...] = ()
    window: tuple[dt.time, dt.time] | None = None
    daypart: str | None = None
    day_choices: tuple[dt.date, ...] = ()
    said_weekday: int | None = None

    @property
    def day(self) -> dt.date | None:
        return self.first_day

    @property
    def is_range(self) -> bool:
        return self.first_day is not None and self.last_day is not None and self.last_day > self.first_day


# --- tokens ---------------------------------------------------------------------------------


def fold(text: str) -> str:
    """Lowercase ASCII form: umlauts spelled out (ä -> ae, ß -> ss), accents dropped."""
    text = text.casefold().replace("ä", "ae").replace("ö", "oe").replace("ü", "ue").replace("ß", "ss")
    text = unicodedata.normalize("NFKD", text)
    return "".join(ch for ch in text if not unicodedata.combining(ch))


_TOKEN = re.compile(
    r"(?P<iso>\d{4}-\d{1,2}-\d{1,2})(?:t(?P<isotime>\d{1,2}:\d{2})(?::\d{2}(?:\.\d+)?)?(?:z|[+-]\d{2}:?\d{2})?)?"
    r"|(?P<date>\d{1,2})\.\s?(?P<month>\d{1,2})\.(?:\s?(?P<year>\d{4}|\d{2})(?!\s?uhr|\s?h\b|[:.]?\d))?"
    r"|(?P<clock>\d{1,2}):(?P<cmin>\d{2})(?::\d{2})?"
    r"|(?P<pair>\d{1,2})\.(?P<pair2>\d{1,2})(?![\d.])"
    r"|(?P<hmin>\d{1,2})\s?h\s?(?P<hmin2>\d{2})\b"
    r"|(?P<slash>\d{1,2})/(?P<slash2>\d{1,2})(?:/(?P<slash3>\d{2,4}))?"
    r"|(?P<ord>\d{1,2})\.(?!\d)"
    r"|(?P<num>\d{1,4})"
    r"|(?P<word>[a-z]+)"
)


@dataclass
class Token:
    kind: str  # iso, date, clock, pair, ord, num, word
    value: tuple[int, ...] = ()
    word: str = ""
    spelled: bool = False  # a number said in words

    @property
    def n(self) -> int:
        return self.value[0]


def tokenize(text: str) -> list[Token]:
    tokens: list[Token] = []
    for match in _TOKEN.finditer(fold(text)):
        group = match.lastgroup
        if match["iso"]:
            year, month, day = (int(part) for part in match["iso"].split("-"))
            tokens.append(Token("iso", (year, month, day)))
            if match["isotime"]:
                hour, minute = (int(part) for part in match["isotime"].split(":"))
                tokens.append(Token("clock", (hour, minute, 1)))
        elif match["date"]:
            year = int(match["year"]) if match["year"] else -1
            if 0 <= year < 100:
                year += 2000
            tokens.append(Token("date", (int(match["date"]), int(match["month"]), year)))
        elif match["clock"]:
            # "09:30" (leading zero) is meant exactly; "9:30" may be how an LLM wrote "halb zehn"
            exact = 1 if match["clock"].startswith("0") or int(match["clock"]) >= 13 else 0
            tokens.append(Token("clock", (int(match["clock"]), int(match["cmin"]), exact)))
        elif match["pair"]:
            tokens.append(Token("pair", (int(match["pair"]), int(match["pair2"])), word=match["pair2"]))
        elif match["hmin"]:
            exact = 1 if match["hmin"].startswith("0") or int(match["hmin"]) >= 13 else 0
            tokens.append(Token("clock", (int(match["hmin"]), int(match["hmin2"]), exact)))
        elif match["slash"]:
            year = int(match["slash3"]) if match["slash3"] else -1
            if 0 <= year < 100:
                year += 2000
            tokens.append(Token("date", (int(match["slash"]), int(match["slash2"]), year)))
        elif match["ord"]:
            tokens.append(Token("ord", (int(match["ord"]),)))
        elif match["num"]:
            tokens.append(Token("num", (int(match["num"]),), word=match["num"]))
        elif group == "word":
            word = match["word"]
            if word in NUMBER_WORDS and word not in ("eine", "einen", "einem", "einer", "ein"):
                tokens.append(Token("num", (NUMBER_WORDS[word],), word=word, spelled=True))
            elif word in ORDINAL_WORDS:
                tokens.append(Token("ord", (ORDINAL_WORDS[word],), word=word, spelled=True))
            else:
                tokens.append(Token("word", word=word))
    for index, token in enumerate(tokens[:-1]):
        if token.kind == "word" and token.word in ("ein", "eine") and tokens[index + 1].word in ("uhr", "h"):
            tokens[index] = Token("num", (1,), word=token.word, spelled=True)  # "ein Uhr"
    return tokens


# --- the parser ------------------------------------------------------------------------------


def _monday(day: dt.date) -> dt.date:
    return day - dt.timedelta(days=day.weekday())


def _next_weekday(today: dt.date, weekday: int, *, include_today: bool = False) -> dt.date:
    days = (weekday - today.weekday()) % 7
    if days == 0 and not include_today:
        days = 7
    return today + dt.timedelta(days=days)


def _date_or_none(year: int, month: int, day: int) -> dt.date | None:
    try:
        return dt.date(year, month, day)
    except ValueError:
        return None


class _Parser:
    def __init__(self, text: str, today: dt.date, expect: str) -> None:
        self.text = text
        self.today = today
        self.expect = expect  # "date", "time" or "any"
        self.tokens = tokenize(text)
        self.i = 0
        self.first: dt.date | None = None
        self.last: dt.date | None = None
        self.weekday: int | None = None
        self.week_offset: int | None = None  # "nächste Woche" = 1
        self.weeks_after: int | None = None  # "Dienstag in zwei Wochen"
        self.explicit: dt.date | None = None  # a written or spelled calendar date
        self.times: list[dt.time] = []
        self.window: tuple[dt.time, dt.time] | None = None
        self.daypart: str | None = None
        self.choices: tuple[dt.date, ...] = ()
        self.date_seen = False

    # helpers
    def peek(self, offset: int = 0) -> Token | None:
        index = self.i + offset
        return self.tokens[index] if 0 <= index < len(self.tokens) else None

    def word(self, offset: int = 0) -> str:
        token = self.peek(offset)
        return token.word if token is not None and token.kind == "word" else ""

    def fail(self, part: str, reason: str = "") -> NotUnderstood:
        return NotUnderstood(part, self.text, reason)

    def set_day(self, day: dt.date, last: dt.date | None = None) -> None:
        if self.first is not None and (self.first, self.last) != (day, last or day):
            raise self.fail("date", "two days")
        self.first, self.last = day, last or day
        self.date_seen = True

    def add_time(self, hour: int, minute: int, *, exact: bool = False) -> None:
        if not (0 <= minute <= 59) or not (0 <= hour <= 24) or (hour == 24 and minute):
            raise self.fail("time", "out of range")
        hour %= 24
        if exact or hour == 0 or hour >= 12:
            self.add_readings((dt.time(hour, minute),))
        else:
            self.add_readings((dt.time(hour, minute), dt.time(hour + 12, minute)))

    def add_readings(self, readings: tuple[dt.time, ...]) -> None:
        # The same time said twice ("um 10 Uhr, also 10:00") narrows; two different ones are unclear.
        if self.times:
            readings = tuple(reading for reading in self.times if reading in readings)
            if not readings:
                raise self.fail("time", "two times")
        self.times = list(readings)

    def year_for(self, day: int, month: int, year: int) -> dt.date:
        if year >= 0:
            found = _date_or_none(year, month, day)
            if found is None:
                raise self.fail("date", "no such day")
            return found
        this_year = _date_or_none(self.today.year, month, day)
        if this_year is not None and this_year >= self.today:
            return this_year
        # A date without a year that already passed means next year's (or the next 29 February).
        for year_ahead in range(self.today.year + 1, self.today.year + 9):
            found = _date_or_none(year_ahead, month, day)
            if found is not None:
                return found
        raise self.fail("date", "no such day")

    def explicit_date(self, day: dt.date) -> None:
        if self.explicit is not None and self.explicit != day:
            raise self.fail("date", "two dates")
        self.explicit = day
        self.date_seen = True

    # main loop
    def parse(self) -> Understood:
        while self.i < len(self.tokens):
            start = self.i
            self.step()
            if self.i == start:
                raise self.fail(self.failing_part(), f"unexpected {self.tokens[start].word or self.tokens[start].value}")
        return self.finish()

    def failing_part(self) -> str:
        # What to ask again: a stray number after a day is a time we could not read; an unknown
        # word is part of the date unless a time was already being said.
        if self.expect == "time":
            return "time"
        token = self.peek()
        if token is not None and token.kind == "word":
            return "time" if self.times or self.daypart or self.word(-1) in ("um", "gegen", "ab") else "date"
        return "time" if self.date_seen else "date"

    def step(self) -> None:  # noqa: C901 - one branch per phrase shape reads best here
        token = self.tokens[self.i]
        if token.kind == "iso":
            year, month, day = token.value
            found = _date_or_none(year, month, day)
            if found is None:
                raise self.fail("date", "no such day")
            self.explicit_date(found)
            self.i += 1
            return
        if token.kind == "date":
            day, month, year = token.value
            self.explicit_date(self.year_for(day, month, year))
            self.i += 1
            return
        if token.kind == "clock":
            hour, minute = token.value[0], token.value[1]
            self.i += 1
            self.skip_words("uhr", "h")
            self.add_time(hour, minute, exact=bool(token.value[2]))
            return
        if token.kind == "pair":
            self.pair(token)
            return
        if token.kind == "ord" and not token.spelled and self.word(-1) in ("um", "gegen"):
            token.kind = "num"  # "um 10." at the end of a sentence
        if token.kind in ("num", "ord"):
            if self.spoken_time():
                return
            if self.day_of_month():
                return
            if token.kind == "num" and self.hour_alone():
                return
            return
        self.words()

    def skip_words(self, *words: str) -> bool:
        if self.word() in words:
            self.i += 1
            return True
        return False

    def pair(self, token: Token) -> None:
        # "28.12" (a date without the final dot) or "10.30" (a time): the context decides.
        first, second = token.value
        before = self.word(-1)
        after = self.word(1)
        as_time = (self.expect == "time" or before in ("um", "gegen", "ab", "bis") or after in ("uhr", "h")
                   or second > 12 or first > 31 or (len(token.word) == 2 and second >= 13))
        if self.expect != "time" and not as_time and 1 <= second <= 12:
            self.explicit_date(self.year_for(first, second, -1))
            self.i += 1
            return
        if len(token.word) != 2:
            raise self.fail("time", "minutes need two digits")
        self.i += 1
        self.skip_words("uhr", "h")
        self.add_time(first, second)

    def hour_token(self, offset: int = 0) -> int | None:
        token = self.peek(offset)
        if token is not None and token.kind == "num" and 0 <= token.n <= 24:
            return token.n
        if token is not None and token.kind == "word" and token.word in ("ein", "eine", "einen"):
            return 1
        return None

    def spoken_time(self) -> bool:
        """"13 Uhr 15", "elf Uhr dreißig", "15 h", "viertel nach zehn"-forms starting with a number."""
        token = self.tokens[self.i]
        if token.kind != "num":
            return False
        next_word = self.word(1)
        if next_word in ("uhr", "h"):
            minute = 0
            self.i += 2
            after = self.peek()
            if after is not None and after.kind == "num" and self.word(1) not in ("tagen", "tag", "wochen", "woche", "uhr", "h"):
                minute = after.n
                self.i += 1
                self.skip_words("minuten", "min")
            self.add_time(token.n, minute, exact=token.n >= 13 or token.n == 0)
            return True
        # "fünf nach halb drei", "zehn vor drei", "zwanzig nach zehn"
        if next_word in ("nach", "vor") and token.n <= 30:
            offset = 2
            half = False
            if self.word(offset) == "halb":
                half = True
                offset += 1
            hour = self.hour_token(offset)
            if hour is None:
                return False
            self.i += offset + 1
            self.skip_words("uhr")
            base = (hour - 1) * 60 + 30 if half else hour * 60
            total = base + token.n if next_word == "nach" else base - token.n
            self.add_minutes(total, hour_said=hour)
            return True
        if next_word in ("minuten", "min") and self.word(2) in ("nach", "vor"):
            hour = self.hour_token(3)
            if hour is None:
                return False
            relation = self.word(2)
            self.i += 4
            self.skip_words("uhr")
            total = hour * 60 + token.n if relation == "nach" else hour * 60 - token.n
            self.add_minutes(total, hour_said=hour)
            return True
        return False

    def add_minutes(self, total: int, *, hour_said: int) -> None:
        """A time counted from a said hour ("viertel vor zwölf"); before "eins" it may be 00:30 or 12:30."""
        hour, minute = divmod(total % (24 * 60), 60)
        if hour_said >= 13 or hour_said == 0:
            self.add_time(hour, minute, exact=True)
        elif hour == 0:
            self.add_readings((dt.time(0, minute), dt.time(12, minute)))
        else:
            self.add_time(hour, minute)

    def day_of_month(self) -> bool:
        """"3. März", "am dritten", "fünften Januar 2027", "der 3."."""
        token = self.tokens[self.i]
        if not (1 <= token.n <= 31):
            return False
        month_token = self.peek(1)
        month: int | None = None
        consumed = 1
        if month_token is not None and month_token.kind == "word" and month_token.word in MONTHS:
            month = MONTHS[month_token.word]
            consumed = 2
        elif (token.kind == "ord" and month_token is not None and month_token.kind in ("ord", "num")
              and 1 <= month_token.n <= 12 and self.word(2) not in ("uhr", "h")
              and (month_token.kind == "ord" or month_token.spelled is False)):
            month = month_token.n  # "am dritten dritten", "3. 12."
            consumed = 2
        elif token.kind == "num":
            return False  # a bare number is a day of the month only before a month ("3 März")
        if month is None:
            if token.kind != "ord":
                return False
            # "am dritten": the next 3rd of a month (this month's when still ahead)
            self.i += 1
            if self.word() in ("naechsten", "kommenden") and self.word(1) in ("monats", "monat"):
                self.i += 2
                anchor = (self.today.replace(day=1) + dt.timedelta(days=32)).replace(day=1)
                found = _date_or_none(anchor.year, anchor.month, token.n)
                if found is None:
                    raise self.fail("date", "no such day")
                self.explicit_date(found)
                return True
            self.skip_words("diesen")
            if self.word() in ("monats", "monat"):
                self.i += 1
            self.explicit_date(self.next_day_of_month(token.n))
            return True
        self.i += consumed
        year = -1
        year_token = self.peek()
        if year_token is not None and year_token.kind == "num" and not year_token.spelled and self.word(1) not in ("uhr", "h"):
            if 2000 <= year_token.n <= 2100 and len(year_token.word) == 4:
                year = year_token.n
                self.i += 1
            elif len(year_token.word) == 2 and year_token.n >= 24:
                year = 2000 + year_token.n
                self.i += 1
        self.explicit_date(self.year_for(token.n, month, year))
        return True

    def next_day_of_month(self, day: int) -> dt.date:
        year, month = self.today.year, self.today.month
        for _ in range(13):
            found = _date_or_none(year, month, day)
            if found is not None and found >= self.today:
                return found
            month += 1
            if month == 13:
                year, month = year + 1, 1
        raise self.fail("date", "no such day")

    def hour_alone(self) -> bool:
        """"um zehn", "9", "drei" (in a time argument), "gegen 3"."""
        token = self.tokens[self.i]
        before = self.word(-1)
        if not (0 <= token.n <= 24):
            return False
        following = self.peek(1)
        last_or_daypart = following is None or (following.kind == "word" and following.word in _DAYPART_WORDS)
        if (before in ("um", "gegen") or self.expect == "time" or len(self.tokens) == 1
                or (self.date_seen and last_or_daypart)):
            self.i += 1
            self.add_time(token.n, 0, exact=token.n >= 13 or token.n == 0)
            return True
        return False

    def words(self) -> None:  # noqa: C901
        word = self.word()
        if word in _FILLER or word in ("uhr",):
            self.i += 1
            return
        if word == "heute":
            self.set_day(self.today)
            self.i += 1
            return
        if word == "uebermorgen":
            self.set_day(self.today + dt.timedelta(days=2))
            self.i += 1
            return
        if word == "morgen":
            # "morgen" is tomorrow unless a day was named already ("Dienstag morgen", "heute Morgen")
            # or it follows "am" ("am Morgen").
            if self.first is not None or self.weekday is not None or self.explicit is not None or self.word(-1) == "am":
                self.set_daypart("morgens")
            else:
                self.set_day(self.today + dt.timedelta(days=1))
            self.i += 1
            return
        if word in ("morgenfrueh",):
            self.set_day(self.today + dt.timedelta(days=1))
            self.set_daypart("frueh")
            self.i += 1
            return
        weekday = WEEKDAYS.index(word) if word in WEEKDAYS else _WEEKDAY_ALIASES.get(word)
        if weekday is not None:
            if self.weekday is not None and self.weekday != weekday:
                raise self.fail("date", "two weekdays")
            self.weekday = weekday
            self.date_seen = True
            self.i += 1
            self.after_weekday()
            return
        if word in _NEXT or word in _THIS or word.startswith("uebernaechst"):
            self.i += 1
            following = self.word()
            if following in ("woche", "wochenende"):
                offset = 2 if word.startswith("uebernaechst") else (1 if word in _NEXT else 0)
                self.week(following, offset)
                return
            if following in ("monat", "monats"):
                raise self.fail("date", "a whole month")
            return  # before a weekday: "nächsten Dienstag" is the next Tuesday
        if word in ("woche", "wochenende"):
            self.week(word, 0, bare=True)
            return
        if word in ("anfang", "mitte", "ende"):
            self.part_of_week(word)
            return
        if word == "in":
            self.in_days()
            return
        if word in ("viertel", "dreiviertel", "halb"):
            self.quarter(word)
            return
        if word == "nach" and self.word(1) == "der" and self.word(2) == "arbeit":
            self.set_daypart("nach der arbeit")
            self.i += 3
            return
        if word == "vor" and self.word(1) == "der" and self.word(2) == "arbeit":
            self.set_daypart("vor der arbeit")
            self.i += 3
            return
        if word == "nach" and self.word(1) in ("feierabend", "dienstschluss"):
            self.set_daypart("nach der arbeit")
            self.i += 2
            return
        if word in _DAYPART_WORDS:
            self.set_daypart(_DAYPART_WORDS[word])
            self.i += 1
            return
        if word in ("ab", "nach") and self.range_from():
            return
        if word == "zwischen" and self.between():
            return
        if word in MONTHS:
            raise self.fail("date", "a month without a day")
        raise self.fail(self.failing_part(), f"unknown word {word}")

    def set_daypart(self, name: str) -> None:
        if self.daypart is not None and self.daypart != name:
            # "morgen früh" / "morgens früh": the same part of the day
            if {self.daypart, name} <= {"frueh", "morgens"}:
                return
            raise self.fail("time", "two parts of the day")
        self.daypart = name

    def after_weekday(self) -> None:
        # "Dienstag in einer Woche", "Montag in zwei Wochen", "Dienstag nächste Woche"
        if self.word() == "in":
            amount = self.amount(1)
            if amount is not None and self.word(2) in ("woche", "wochen"):
                self.weeks_after = amount
                self.i += 3
                return
            if self.word(1) in ("der", "dieser") and self.word(2) in _NEXT | _THIS and self.word(3) == "woche":
                self.week_offset = 1 if self.word(2) in _NEXT else 0
                self.i += 4
                return
            if self.word(1) in _NEXT | _THIS | {"uebernaechster", "uebernaechsten"} and self.word(2) == "woche":
                self.week_offset = 2 if self.word(1).startswith("ueber") else (1 if self.word(1) in _NEXT else 0)
                self.i += 3
                return
        if self.word() in _NEXT | _THIS | {"uebernaechste", "uebernaechsten"} and self.word(1) == "woche":
            self.week_offset = 2 if self.word().startswith("ueber") else (1 if self.word() in _NEXT else 0)
            self.i += 2
            return
        if self.word() == "woche":  # "Dienstag Woche" is noise of a transcript; not understood
            raise self.fail("date", "week without which")

    def amount(self, offset: int) -> int | None:
        token = self.peek(offset)
        if token is None:
            return None
        if token.kind == "num":
            return token.n
        if token.kind == "word" and token.word in ("einer", "einem", "einen", "ein", "eine"):
            return 1
        return None  # "in ein paar Tagen" is no day to search

    def in_days(self) -> None:
        amount = self.amount(1)
        unit = self.word(2)
        if amount is not None and unit in ("tag", "tagen", "woche", "wochen"):
            self.i += 3
            if unit.startswith("woche"):
                # the day a weekday names, if one is said ("in zwei Wochen am Dienstag"), else today + N weeks
                if self.weeks_after is not None:
                    raise self.fail("date", "two spans")
                self.weeks_after = amount
                return
            self.set_day(self.today + dt.timedelta(days=amount))
            return
        if self.word(1) in ("der", "dieser") and self.word(2) in _NEXT | _THIS and self.word(3) == "woche":
            offset = 1 if self.word(2) in _NEXT else 0
            self.i += 3
            self.week("woche", offset)
            return
        if self.word(1) in ("der", "die") and self.word(2) in _DAYPART_WORDS:  # "in der Früh"
            self.set_daypart(_DAYPART_WORDS[self.word(2)])
            self.i += 3
            return
        raise self.fail("date", "in what")

    def week(self, word: str, offset: int, *, bare: bool = False) -> None:
        """"nächste Woche" (Monday to Sunday of next week), "am Wochenende", "diese Woche"."""
        self.i += 1
        if word == "wochenende":
            # "am Wochenende" / "nächstes Wochenende": the coming one (said on a Sunday: next week's)
            saturday = _monday(self.today) + dt.timedelta(days=5 if self.today.weekday() < 6 else 12)
            if offset >= 1 and self.today.weekday() >= 5:
                saturday = _monday(self.today) + dt.timedelta(days=12)
            saturday += dt.timedelta(days=7 * max(offset - 1, 0))
            self.set_day(max(saturday, self.today), saturday + dt.timedelta(days=1))
            return
        if self.weekday is not None:
            self.week_offset = offset
            return
        if bare and self.peek() is None and self.first is None and self.word(-2) not in _NEXT:
            # "Woche" alone: not understood (which week?)
            raise self.fail("date", "which week")
        monday = _monday(self.today) + dt.timedelta(days=7 * offset)
        following = self.peek()
        if following is not None and following.kind == "word" and (following.word in WEEKDAYS or following.word in _WEEKDAY_ALIASES):
            self.week_offset = offset  # "nächste Woche Dienstag"
            return
        self.set_day(max(monday, self.today), monday + dt.timedelta(days=6))

    def part_of_week(self, word: str) -> None:
        # "Anfang nächster Woche": Monday-Tuesday; "Mitte": Tuesday-Thursday; "Ende": Thursday-Saturday
        self.i += 1
        self.skip_words("der", "dieser", "diese", "des", "dieses", "diesen")
        offset = 0
        if self.word() in _NEXT or self.word() in ("naechster",):
            offset = 1
            self.i += 1
        elif self.word() in ("uebernaechster", "uebernaechsten"):
            offset = 2
            self.i += 1
        elif self.word() in _THIS:
            self.i += 1
        if self.word() in MONTHS or self.word() in ("monats", "monat"):
            self.part_of_month(word, offset)
            return
        if self.word() not in ("woche",):
            raise self.fail("date", "part of what")
        self.i += 1
        spans = {"anfang": (0, 1), "mitte": (1, 3), "ende": (3, 5)}
        start, end = spans[word]
        monday = _monday(self.today) + dt.timedelta(days=7 * offset)
        first, last = monday + dt.timedelta(days=start), monday + dt.timedelta(days=end)
        if offset == 0 and last < self.today:
            first, last = first + dt.timedelta(days=7), last + dt.timedelta(days=7)
        self.set_day(max(first, self.today), last)

    def part_of_month(self, word: str, offset: int) -> None:
        """"Anfang Januar" (1st-10th), "Mitte des Monats" (11th-20th), "Ende nächsten Monats" (21st-last)."""
        named = self.word() in MONTHS
        if named:
            month = MONTHS[self.word()]
            year = self.today.year + (1 if month < self.today.month else 0)
        else:
            month, year = self.today.month + offset, self.today.year
            if month > 12:
                month, year = month - 12, year + 1
        self.i += 1
        first_of_next = dt.date(year + (month == 12), month % 12 + 1, 1)
        spans = {"anfang": (1, 10), "mitte": (11, 20), "ende": (21, (first_of_next - dt.timedelta(days=1)).day)}
        start, end = spans[word]
        first, last = dt.date(year, month, start), dt.date(year, month, end)
        if last < self.today and named:  # "Anfang Dezember" said on 30 December: next year's
            first, last = first.replace(year=year + 1), last.replace(year=year + 1)
        if last < self.today:
            raise self.fail("date", "that part of the month is past")
        self.set_day(max(first, self.today), last)

    def quarter(self, word: str) -> None:
        # "viertel nach zehn" 10:15, "viertel vor elf" 10:45, "dreiviertel elf" 10:45,
        # "viertel elf" 10:15 (east German), "halb drei" 2:30
        offset = 1
        relation = ""
        if word == "viertel" and self.word(1) in ("nach", "vor"):
            relation = self.word(1)
            offset = 2
        hour = self.hour_token(offset)
        if hour is None:
            raise self.fail("time", f"{word} what")
        self.i += offset + 1
        self.skip_words("uhr")
        minutes = {("viertel", "nach"): 15, ("viertel", "vor"): -15, ("dreiviertel", ""): -15,
                   ("viertel", ""): -45, ("halb", ""): -30}[(word, relation)]
        self.add_minutes(hour * 60 + minutes, hour_said=hour)

    def range_from(self) -> bool:
        """"ab 15 Uhr", "nach 16 Uhr": a window from then to the end of the day."""
        token = self.peek(1)
        if token is None:
            return False
        hour: int | None = None
        minute = 0
        if token.kind == "num" and token.n <= 23:
            hour = token.n
        elif token.kind == "clock":
            hour, minute = token.value[0], token.value[1]
        if hour is None:
            return False
        self.i += 2
        self.skip_words("uhr", "h")
        if hour < 12 and self.daypart in ("nachmittags", "abends"):
            hour += 12
        elif 1 <= hour <= 7:
            hour += 12  # "ab 3" in business hours is 15:00
        self.window = (dt.time(hour, minute), dt.time(23, 59))
        return True

    def between(self) -> bool:
        """"zwischen 10 und 12 Uhr"."""
        first, second = self.peek(1), self.peek(3)
        if first is None or second is None or self.word(2) != "und" or first.kind != "num" or second.kind != "num":
            return False
        start, end = first.n, second.n
        self.i += 4
        self.skip_words("uhr", "h")
        if end <= start or (1 <= start <= 7 and end <= 8):
            start, end = (start + 12 if start < 12 else start), (end + 12 if end <= 12 and end < start + 12 else end)
        if not (0 <= start < end <= 24):
            raise self.fail("time", "between what")
        self.window = (dt.time(start), dt.time(23, 59) if end == 24 else dt.time(end))
        return True

    # combine
    def finish(self) -> Understood:
        said_weekday = self.weekday
        if self.weekday is not None:
            self.resolve_weekday()
        elif self.weeks_after is not None:
            # "in zwei Wochen", "heute in einer Woche", "morgen in einer Woche"
            if self.explicit is not None or (self.first is not None and self.first != self.last):
                raise self.fail("date", "a week from what")
            base = self.first or self.today
            self.first = self.last = None
            self.set_day(base + dt.timedelta(days=7 * self.weeks_after))
        elif self.explicit is not None:
            self.set_day(self.explicit)
        times = tuple(self.times)
        window = None
        if self.daypart is not None:
            if times:
                times = _apply_daypart(times, self.daypart)
            else:
                window = DAYPARTS[self.daypart]
        if self.window is not None:
            window = self.window
        if self.expect == "date" and self.first is None and not self.choices:
            raise self.fail("date", "no day")
        if self.expect == "time" and not times and window is None:
            raise self.fail("time", "no time")
        if self.first is None and not times and window is None and not self.choices:
            raise self.fail("date", "nothing")
        return Understood(
            first_day=self.first, last_day=self.last, times=times, window=window, daypart=self.daypart,
            day_choices=self.choices, said_weekday=said_weekday,
        )

    def resolve_weekday(self) -> None:
        assert self.weekday is not None
        if self.explicit is not None:
            if self.explicit.weekday() == self.weekday:
                self.set_day(self.explicit)
                return
            # "Montag, 15.03." when the 15th is a Sunday: the date, or the named weekday nearest to it
            nearest = min(
                (self.explicit + dt.timedelta(days=delta) for delta in range(-3, 4)
                 if (self.explicit + dt.timedelta(days=delta)).weekday() == self.weekday),
                key=lambda day: abs((day - self.explicit).days),  # type: ignore[operator]
            )
            self.choices = tuple(sorted(day for day in (self.explicit, nearest) if day >= self.today)) or (self.explicit,)
            self.first = self.last = None
            return
        if self.first is not None and self.first != self.last:  # "Dienstag am Wochenende"
            raise self.fail("date", "weekday and a range")
        if self.first is not None:
            if self.first.weekday() != self.weekday:
                self.choices = (self.first, _next_weekday(self.today, self.weekday))
                self.choices = tuple(sorted(set(self.choices)))
                self.first = self.last = None
            return
        if self.weeks_after is not None:
            # "Dienstag in einer Woche": not the coming Tuesday but the one after it (said on a
            # Tuesday: today in a week)
            coming = _next_weekday(self.today, self.weekday, include_today=True)
            self.set_day(coming + dt.timedelta(days=7 * self.weeks_after))
            return
        if self.week_offset is not None:
            day = _monday(self.today) + dt.timedelta(days=7 * self.week_offset + self.weekday)
            if day < self.today:
                raise self.fail("date", "that day is past")
            self.set_day(day)
            return
        self.set_day(_next_weekday(self.today, self.weekday))


def _apply_daypart(times: tuple[dt.time, ...], daypart: str) -> tuple[dt.time, ...]:
    """"zwei Uhr nachmittags" = 14:00, "neun Uhr morgens" = 09:00, "zwölf Uhr nachts" = 00:00."""
    base = times[0]
    hour = base.hour
    if daypart in ("nachmittags", "abends", "nach der arbeit"):
        if hour < 12 and not (daypart == "abends" and hour == 0):
            hour += 12
    elif daypart == "nachts":
        if hour == 12:
            hour = 0
        elif 8 <= hour < 12:
            hour += 12
    elif daypart == "mittags":
        if hour == 0 or 1 <= hour <= 3:
            hour += 12
    elif hour >= 13:  # "15 Uhr morgens": contradictory, ask again
        raise NotUnderstood("time", f"{base} {daypart}", "contradicts the part of the day")
    return (dt.time(hour, base.minute),)


def understand(text: str, *, today: dt.date, expect: str = "any") -> Understood:
    """Read a German phrase about "wann" relative to ``today`` (the branch's local date).

    ``expect`` is "date" for a date argument (a day must be there; "28.12" is a date), "time" for
    a time argument ("10.30" is a time; a clock time or part of the day must be there) or "any"
    for a phrase that may hold both. Raises :class:`NotUnderstood` with the part to ask again."""
    if not (text or "").strip():
        raise NotUnderstood("time" if expect == "time" else "date", text or "", "empty")
    return _Parser(text, today, expect).parse()


def pick_readings(times: tuple[dt.time, ...], open_from: dt.time | None, open_until: dt.time | None) -> tuple[dt.time, ...]:
    """Of the readings of a clock time, the ones a business means: "um drei" is 15:00 where the
    morning hour lies outside the opening hours. With no hours known (a closed day) or none of the
    readings inside them, the conventional reading stays: 1-7 o'clock is the afternoon."""
    if len(times) < 2:
        return times
    if open_from is not None and open_until is not None:
        inside = tuple(t for t in times if open_from <= t < open_until)
        if inside:
            return inside
    return (conventional_reading(times),)


def conventional_reading(times: tuple[dt.time, ...]) -> dt.time:
    """The reading a salon assumes without knowing its hours: "drei" is 15:00, "neun" is 09:00."""
    morning = times[0]
    return times[1] if len(times) > 1 and 1 <= morning.hour <= 7 else morning


def combine(first: Understood, second: Understood) -> Understood:
    """A date argument and a time argument read together; where both speak they must agree
    ("morgen um 10 Uhr" + "10:00" is one time, "morgen" + "übermorgen" is not understood)."""
    if first.first_day is not None and second.first_day is not None and (
        (first.first_day, first.last_day) != (second.first_day, second.last_day)
    ):
        raise NotUnderstood("date", "", "date and time arguments name different days")
    times = first.times
    if first.times and second.times:
        times = tuple(reading for reading in first.times if reading in second.times)
        if not times:
            raise NotUnderstood("time", "", "date and time arguments name different times")
    elif second.times:
        times = second.times
    day_from = first if first.first_day is not None or first.day_choices else second
    window = second.window or first.window
    daypart = second.daypart or first.daypart
    if times and (first.daypart or second.daypart) and len(times) > 1:
        times = _apply_daypart(times, daypart or "")
    return Understood(
        first_day=day_from.first_day, last_day=day_from.last_day, times=times,
        window=None if times else window, daypart=daypart, day_choices=day_from.day_choices,
        said_weekday=day_from.said_weekday,
    )
