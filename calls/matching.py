"""Forgiving matching of what a caller calls a service ("herren haarschnit", "Farbe") against
the tenant's service names. One clear match wins; several plausible ones become a question."""

from __future__ import annotations

import difflib
import itertools
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Generic, TypeVar

from django.utils.translation import gettext as _

from calls.german_dates import fold

T = TypeVar("T")

CLOSE_CUTOFF = 0.75  # difflib ratio below which a spelling is not "close"
CLEAR_MARGIN = 0.08  # the best fuzzy match must beat the runner-up by this much
MAX_QUERY_CHARS = 120  # longer "names" are not names (compound splitting is quadratic in a word)


def normalize_name(text: str) -> str:
    """Comparable form: folded umlauts, letters and digits only, single spaces."""
    return " ".join(re.sub(r"[^a-z0-9]+", " ", fold(text or "")).split())


@dataclass(frozen=True)
class Match(Generic[T]):
    """``item`` when one candidate is meant; otherwise ``candidates`` to ask about (or none)."""

    item: T | None
    candidates: Sequence[T] = field(default_factory=tuple)
    question: str = ""

    @property
    def is_ambiguous(self) -> bool:
        return self.item is None and len(self.candidates) > 1


def _or_list(names: Sequence[str]) -> str:
    if len(names) == 1:
        return names[0]
    return ", ".join(names[:-1]) + " " + _("oder") + " " + names[-1]


def match_name(query: str, items: Iterable[T], name_of: Callable[[T], str] = str) -> Match[T]:
    """Match ``query`` against the items' names: exact (folded, spaces ignored), then whole-word containment,
    then close spellings (difflib). Several equally plausible items give a question."""
    pool = [(item, normalize_name(name_of(item))) for item in items]
    wanted = normalize_name(query[:MAX_QUERY_CHARS * 2])
    if not wanted or not pool or len(wanted) > MAX_QUERY_CHARS:
        return Match(item=None)  # no name is that long: not found, without comparing at length

    compact = wanted.replace(" ", "")
    exact = [item for item, name in pool if name.replace(" ", "") == compact]
    if len(exact) == 1:
        return Match(item=exact[0])
    if exact:
        return _ask(exact, name_of)

    compound = _same_parts(wanted, pool)
    if len(compound) == 1:
        return Match(item=compound[0])
    if compound:
        return _ask(compound, name_of)

    def contains(name: str) -> bool:
        padded = f" {name} "
        return f" {wanted} " in padded or f" {name} " in f" {wanted} " or (
            len(wanted) >= 4 and any(word.startswith(wanted) or word.endswith(wanted) for word in name.split())
        )

    containing = [item for item, name in pool if contains(name)]
    if len(containing) == 1:
        return Match(item=containing[0])
    if containing:
        return _ask(containing, name_of)

    scored = sorted(
        ((_similarity(wanted, name), index, item) for index, (item, name) in enumerate(pool)),
        key=lambda entry: (-entry[0], entry[1]),
    )
    close = [(score, item) for score, _index, item in scored if score >= CLOSE_CUTOFF]
    if not close:
        return Match(item=None)
    if len(close) == 1 or close[0][0] - close[1][0] >= CLEAR_MARGIN:
        return Match(item=close[0][1])
    best = close[0][0]
    return _ask([item for score, item in close if best - score < CLEAR_MARGIN], name_of)


# Words that carry no meaning for a service ("Haarschnitt für Herren" = "Haarschnitt Herren").
FILLERS = frozenset({"fur", "fuer", "die", "der", "den", "das", "ein", "eine", "einen", "bitte", "mal", "und"})
MIN_PART = 3  # shorter pieces are not words of a compound ("en", "s")


def _same_parts(wanted: str, pool: Sequence[tuple[T, str]]) -> list[T]:
    """Items whose name has the same parts as the query, compounds split at words the catalogue or
    the query uses (head-noun matching: "Herrenhaarschnitt" = "Haarschnitt Herren", "Haarschnitt
    für Kinder" = "Kinderhaarschnitt"). Order and fillers do not matter."""
    vocabulary = {word for _item, name in pool for word in name.split()} | set(wanted.split())
    vocabulary = {word for word in vocabulary if len(word) >= MIN_PART and word not in FILLERS}
    query_parts = _parts(wanted, vocabulary)
    if len(query_parts) < 2:
        return []
    return [item for item, name in pool if _parts(name, vocabulary) == query_parts]


def _parts(text: str, vocabulary: set[str]) -> tuple[str, ...]:
    """The sorted pieces of ``text``: every word split into as many vocabulary words as it is made of."""
    pieces: list[str] = []
    for word in text.split():
        if word not in FILLERS:
            pieces.extend(_split(word, vocabulary))
    return tuple(sorted(pieces))


def _split(word: str, vocabulary: set[str]) -> list[str]:
    """``word`` as the longest sequence of vocabulary words (a linking "s" allowed between them);
    the word itself when it cannot be split completely."""
    best: dict[int, list[str]] = {0: []}
    for end in range(1, len(word) + 1):
        for start in range(0, end - MIN_PART + 1):
            head = best.get(start)
            if head is None:
                continue
            piece = word[start:end]
            candidates = [piece] + ([piece[:-1]] if piece.endswith("s") and len(piece) > MIN_PART else [])
            for candidate in candidates:
                current = best.get(end)
                if candidate in vocabulary and (current is None or len(head) + 1 > len(current)):
                    best[end] = [*head, candidate]
    return best.get(len(word)) or [word]


def _similarity(wanted: str, name: str) -> float:
    """The best ratio of the whole name, any of its words/word pairs (for "Färben" vs "Haare
    färben") or its words written as one compound."""
    words = name.split()
    parts = {name, *words, *(" ".join(words[i:i + 2]) for i in range(len(words) - 1))}
    if 1 < len(words) <= 3:  # compounds in any order: "Haarschnitt Herren" -> "herrenhaarschnitt"
        parts |= {"".join(order) for order in itertools.permutations(words)}
    return max(difflib.SequenceMatcher(None, wanted, part).ratio() for part in parts)


def _ask(items: Sequence[T], name_of: Callable[[T], str]) -> Match[T]:
    names = [name_of(item) for item in items]
    return Match(item=None, candidates=tuple(items), question=_("Meinen Sie %(options)s?") % {"options": _or_list(names)})
