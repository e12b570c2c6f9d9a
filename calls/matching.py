"""Forgiving matching of what a caller calls a service ("herren haarschnit", "Farbe") against
the tenant's service names. One clear match wins; several plausible ones become a question."""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Generic, TypeVar

from django.utils.translation import gettext as _

from calls.german_dates import fold

T = TypeVar("T")

CLOSE_CUTOFF = 0.75  # difflib ratio below which a spelling is not "close"
CLEAR_MARGIN = 0.08  # the best fuzzy match must beat the runner-up by this much


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
    wanted = normalize_name(query)
    if not wanted or not pool:
        return Match(item=None)

    compact = wanted.replace(" ", "")
    exact = [item for item, name in pool if name.replace(" ", "") == compact]
    if len(exact) == 1:
        return Match(item=exact[0])
    if exact:
        return _ask(exact, name_of)

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


def _similarity(wanted: str, name: str) -> float:
    """The best ratio of the whole name or any of its words/word pairs (for "Färben" vs
    "Haare färben")."""
    words = name.split()
    parts = {name, *words, *(" ".join(words[i:i + 2]) for i in range(len(words) - 1))}
    return max(difflib.SequenceMatcher(None, wanted, part).ratio() for part in parts)


def _ask(items: Sequence[T], name_of: Callable[[T], str]) -> Match[T]:
    names = [name_of(item) for item in items]
    return Match(item=None, candidates=tuple(items), question=_("Meinen Sie %(options)s?") % {"options": _or_list(names)})
