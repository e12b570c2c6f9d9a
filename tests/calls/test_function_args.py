from __future__ import annotations

import datetime as dt

import pytest

from calls import function_args


def test_a_service_is_found_by_a_forgiving_name_or_its_id(voice_cast):
    services = voice_cast["services"]

    assert function_args.resolve_service("faerben") == services["Färben"]
    assert function_args.resolve_service(str(services["Haarschnitt"].pk)) == services["Haarschnitt"]


def test_an_ambiguous_service_comes_back_as_a_question_with_candidates(voice_cast):
    with pytest.raises(function_args.ServiceAmbiguous) as asked:
        function_args.resolve_service("schnitt")

    assert asked.value.code == "SERVICE_AMBIGUOUS"
    assert str(asked.value.message) == "Meinen Sie Damenhaarschnitt, Haarschnitt oder Herrenhaarschnitt?"
    assert [c["name"] for c in asked.value.details["candidates"]] == ["Damenhaarschnitt", "Haarschnitt", "Herrenhaarschnitt"]


def test_an_unknown_service_lists_what_is_offered(voice_cast):
    with pytest.raises(function_args.ServiceNotFound) as refused:
        function_args.resolve_service("Pediküre")

    assert str(refused.value.message) == (
        "Pediküre habe ich nicht gefunden. Zur Auswahl stehen: Damenhaarschnitt, Färben, Haarschnitt, Herrenhaarschnitt."
    )


def test_no_staff_preference_means_anyone(voice_cast):
    assert function_args.resolve_staff("egal") is None
    assert function_args.resolve_staff("anna") == voice_cast["anna"]


def test_the_only_branch_is_chosen_without_asking(voice_cast):
    assert function_args.resolve_branch(None) == voice_cast["branch"]


def test_a_start_in_german_words_is_in_the_branchs_zone(voice_cast):
    now = dt.datetime(2025, 10, 13, 8, 0, tzinfo=dt.UTC)

    start = function_args.resolve_start("morgen", "14 Uhr", branch=voice_cast["branch"], now=now)

    assert start.isoformat() == "2025-10-14T14:00:00+02:00"
