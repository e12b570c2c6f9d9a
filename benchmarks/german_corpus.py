"""Accuracy and speed of reading German dates and times, per corpus category.

    .venv/bin/python -m benchmarks.german_corpus

Reads every phrase of tests/calls/german_corpus.py with ``calls.german_when`` and, when the
``dateparser`` package is importable (it is not a dependency: install it into a scratch venv and
run this file with that interpreter and ``PYTHONPATH=.``), with ``dateparser.parse(languages=["de"])``
relative to the same "today". Prints the share of phrases each understands as the corpus expects,
per category, and the mean time per phrase.

dateparser returns one datetime or None, so it is scored generously: a range counts when its
datetime falls on one of the days, a part of the day when the hour lies in it, "not understood"
and "ask back" when it returns None; a silent guess for an ambiguous phrase counts as wrong.
"""

from __future__ import annotations

import datetime as dt
import time
from collections import defaultdict
from typing import Any

from calls.german_when import NotUnderstood, understand
from tests.calls.german_corpus import CATEGORIES, TODAY, rows
from tests.calls.test_german_corpus import resolve


def _ours(today: str, phrase: str, expected: str) -> bool:
    got, wanted = resolve(today, phrase, expected)
    return got == wanted


def _dateparser_ok(found: dt.datetime | None, today: dt.date, expected: str) -> bool:
    if expected.startswith("@"):
        expected = expected.partition(" ")[2]
    if expected.startswith(("!", "?")) or ("|" in expected and ":" in expected):
        return found is None  # not understood / ambiguous: only "no answer" is right
    if found is None:
        return False
    parts = expected.split(" ")
    day_part = parts[0] if "-" in parts[0] and ":" not in parts[0] else None
    clock = parts[1] if day_part and len(parts) > 1 else (parts[0] if not day_part else None)
    if day_part:
        first, _, last = day_part.partition("..")
        if not (dt.date.fromisoformat(first) <= found.date() <= dt.date.fromisoformat(last or first)):
            return False
    elif found.date() != today:
        return False
    if clock is None:
        return True
    if "-" in clock:  # a part of the day
        start, end = (dt.time.fromisoformat(value) for value in clock.split("-"))
        return start <= found.time() < end and found.time() != dt.time(0, 0)
    return found.time().replace(second=0, microsecond=0) == dt.time.fromisoformat(clock)


def main() -> None:
    try:
        import dateparser
    except ImportError:
        dateparser = None
    table = rows()
    ours: dict[str, list[bool]] = defaultdict(list)
    theirs: dict[str, list[bool]] = defaultdict(list)
    for category, today, phrase, expected in table:
        ours[category].append(_ours(today, phrase, expected))
    # the parse alone, without the scoring (after the warm-up above)
    started = time.perf_counter()
    for _category, today, phrase, _expected in table:
        try:
            understand(phrase, today=TODAY[today])
        except NotUnderstood:
            pass
    parse_ms = (time.perf_counter() - started) * 1000 / len(table)
    their_ms = float("nan")
    if dateparser is not None:
        base = {key: dt.datetime.combine(value, dt.time(0, 0)) for key, value in TODAY.items()}
        dateparser.parse("morgen", languages=["de"])  # load the language data once
        started = time.perf_counter()
        for category, today, phrase, expected in table:
            settings: dict[str, Any] = {"RELATIVE_BASE": base[today], "PREFER_DATES_FROM": "future"}
            found = dateparser.parse(phrase, languages=["de"], settings=settings)
            theirs[category].append(_dateparser_ok(found, TODAY[today], expected))
        their_ms = (time.perf_counter() - started) * 1000 / len(table)
    print(f"German date/time corpus: {len(table)} phrases in {len(CATEGORIES)} categories")
    print(f"  {'category':22} {'n':>4} {'german_when':>12} {'dateparser':>11}")
    total_ours = total_theirs = 0
    for category in CATEGORIES:
        n = len(ours[category])
        good = sum(ours[category])
        total_ours += good
        line = f"  {category:22} {n:4d} {good:5d} {100 * good / n:5.1f} %"
        if dateparser is not None:
            their_good = sum(theirs[category])
            total_theirs += their_good
            line += f" {their_good:4d} {100 * their_good / n:5.1f} %"
        print(line)
    line = f"  {'total':22} {len(table):4d} {total_ours:5d} {100 * total_ours / len(table):5.1f} %"
    if dateparser is not None:
        line += f" {total_theirs:4d} {100 * total_theirs / len(table):5.1f} %"
    print(line)
    print(f"  mean time per phrase: german_when {parse_ms:.3f} ms"
          + (f", dateparser {their_ms:.3f} ms" if dateparser is not None else ", dateparser not installed"))


if __name__ == "__main__":
    main()
