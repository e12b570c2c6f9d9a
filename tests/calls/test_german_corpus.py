"""The corpus of German date and time phrases (tests/calls/german_corpus.py), one test per phrase."""

from __future__ import annotations

import datetime as dt
from collections import Counter

import pytest

from calls.german_when import NotUnderstood, Understood, pick_readings, understand
from tests.calls.german_corpus import CATEGORIES, TODAY, rows

SALON_HOURS = (dt.time(9, 0), dt.time(19, 0))


def _hours(expected: str) -> tuple[tuple[dt.time | None, dt.time | None], str]:
    """The opening hours a row asks for (``@07-21``, ``@zu`` = closed) and the rest of the row."""
    if not expected.startswith("@"):
        return SALON_HOURS, expected
    spec, _, rest = expected.partition(" ")
    if spec == "@zu":
        return (None, None), rest
    start, end = (int(part) for part in spec[1:].split("-"))
    return (dt.time(start), dt.time(23, 59) if end == 24 else dt.time(end)), rest


def describe(found: Understood, hours: tuple[dt.time | None, dt.time | None]) -> str:
    """An understood phrase written as the corpus writes its expectations."""
    if found.day_choices:
        return "? " + "|".join(day.isoformat() for day in found.day_choices)
    parts = []
    if found.first_day is not None:
        assert found.last_day is not None
        parts.append(found.first_day.isoformat() + (f"..{found.last_day.isoformat()}" if found.is_range else ""))
    if found.times:
        parts.append("|".join(t.strftime("%H:%M") for t in pick_readings(found.times, *hours)))
    elif found.window is not None:
        parts.append(f"{found.window[0]:%H:%M}-{found.window[1]:%H:%M}")
    return " ".join(parts)


def resolve(today: str, phrase: str, expected: str) -> tuple[str, str]:
    hours, wanted = _hours(expected)
    try:
        got = describe(understand(phrase, today=TODAY[today]), hours)
    except NotUnderstood as exc:
        got = f"! {exc.part}"
    return got, wanted


@pytest.mark.parametrize(("category", "today", "phrase", "expected"), rows(),
                         ids=[f"{row[0]}:{row[1]}:{row[2]}" for row in rows()])
def test_the_corpus_phrase_means_what_a_receptionist_understands(category, today, phrase, expected):
    got, wanted = resolve(today, phrase, expected)

    assert got == wanted


def test_the_corpus_covers_every_category_with_at_least_15_phrases():
    counts = Counter(category for category, _today, _phrase, _expected in rows())

    assert set(counts) == set(CATEGORIES)
    assert min(counts.values()) >= 15
    assert sum(counts.values()) >= 300
