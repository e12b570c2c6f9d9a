from __future__ import annotations

import pytest

from calls.matching import match_name, normalize_name

SERVICES = ["Haarschnitt", "Damenhaarschnitt", "Herrenhaarschnitt", "Färben", "Dauerwelle", "Bart trimmen"]


@pytest.mark.parametrize(("query", "expected"), [
    ("Haarschnitt", "Haarschnitt"),
    ("haarschnitt", "Haarschnitt"),
    ("HAARSCHNITT ", "Haarschnitt"),
    ("farben", "Färben"),
    ("Faerben", "Färben"),
    ("färben bitte", "Färben"),
    ("Herren", "Herrenhaarschnitt"),
    ("damen haarschnitt", "Damenhaarschnitt"),
    ("Herrenhaarschnit", "Herrenhaarschnitt"),
    ("Dauerwele", "Dauerwelle"),
    ("Bart", "Bart trimmen"),
    ("bart trimen", "Bart trimmen"),
])
def test_service_names_are_matched_forgivingly(query, expected):
    assert match_name(query, SERVICES).item == expected


def test_a_query_fitting_several_services_comes_back_as_a_question():
    match = match_name("schnitt", SERVICES)

    assert match.item is None
    assert match.is_ambiguous
    assert list(match.candidates) == ["Haarschnitt", "Damenhaarschnitt", "Herrenhaarschnitt"]
    assert match.question == "Meinen Sie Haarschnitt, Damenhaarschnitt oder Herrenhaarschnitt?"


def test_two_equally_close_spellings_are_asked_about():
    match = match_name("Massage", ["Massage klassisch", "Massage Hot Stone"])

    assert match.question == "Meinen Sie Massage klassisch oder Massage Hot Stone?"


@pytest.mark.parametrize("query", ["Pediküre", "", "xyz"])
def test_nothing_close_matches_nothing(query):
    match = match_name(query, SERVICES)

    assert (match.item, list(match.candidates), match.question) == (None, [], "")


def test_names_normalise_umlauts_case_and_punctuation():
    assert normalize_name("  Fußpflege & Maniküre! ") == "fusspflege maniküre".replace("ü", "ue")


def test_objects_are_matched_by_their_name():
    class Service:
        def __init__(self, name: str) -> None:
            self.name = name

    services = [Service("Krankengymnastik"), Service("Manuelle Therapie")]

    assert match_name("krankengymnastick", services, lambda s: s.name).item is services[0]


GENDERED = ["Haarschnitt Damen", "Haarschnitt Herren", "Haarschnitt Kinder", "Färben", "Bart trimmen"]


@pytest.mark.parametrize(("query", "expected"), [
    ("Herrenhaarschnitt", "Haarschnitt Herren"),
    ("Damenhaarschnitt", "Haarschnitt Damen"),
    ("Kinderhaarschnitt", "Haarschnitt Kinder"),
    ("herrenhaarschnit", "Haarschnitt Herren"),
    ("Haarschnitt für Herren", "Haarschnitt Herren"),
    ("Herren Haarschnitt", "Haarschnitt Herren"),
])
def test_compound_service_words_are_resolved_by_their_head_noun_and_modifier(query, expected):
    assert match_name(query, GENDERED).item == expected


def test_a_catalogue_of_compounds_matches_a_query_of_separate_words():
    assert match_name("Haarschnitt für Kinder", ["Damenhaarschnitt", "Kinderhaarschnitt"]).item == "Kinderhaarschnitt"


def test_only_the_head_noun_is_still_a_question():
    match = match_name("Haarschnitt", GENDERED)

    assert match.question == "Meinen Sie Haarschnitt Damen, Haarschnitt Herren oder Haarschnitt Kinder?"
