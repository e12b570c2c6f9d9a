from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.template import Context, Template

from askpro import display

UTC = dt.UTC


@pytest.mark.parametrize(("cents", "text"), [
    (0, "0,00 €"), (5, "0,05 €"), (1500, "15,00 €"), (123456, "1.234,56 €"), (-2660, "-26,60 €"),
    (None, "–"),
])
def test_cents_are_shown_as_german_euros(cents, text):
    assert display.euros(cents) == text


@pytest.mark.parametrize(("cents", "text"), [
    (Decimal("29"), "0,29 €"), (Decimal("28.96"), "0,2896 €"), (Decimal("1900.0000"), "19,00 €"),
])
def test_rates_keep_only_the_decimals_they_need(cents, text):
    assert display.euros_precise(cents) == text


@pytest.mark.parametrize(("typed", "cents"), [("12,50", 1250), ("1.234,56 €", 123456), ("19", 1900),
                                              (Decimal("0.29"), 29)])
def test_typed_euros_become_exact_cents(typed, cents):
    assert display.euros_to_cents(typed) == cents


def test_times_are_shown_in_the_branch_zone_across_daylight_saving():
    winter = dt.datetime(2026, 12, 8, 8, 45, tzinfo=UTC)
    summer = dt.datetime(2026, 7, 8, 8, 45, tzinfo=UTC)

    assert display.local_datetime(winter, "Europe/Berlin") == "08.12.2026, 09:45"
    assert display.local_time(summer, "Europe/Berlin") == "10:45"
    assert display.long_date(dt.datetime(2026, 12, 31, 23, 30, tzinfo=UTC), "Europe/Berlin") == "Freitag, 1. Januar 2027"


def test_the_filters_are_built_into_every_template():
    rendered = Template("{{ c|euros }} {{ t|local_time:'Europe/Berlin' }}").render(
        Context({"c": 990, "t": dt.datetime(2026, 12, 8, 8, 45, tzinfo=UTC)}))

    assert rendered == "9,90 € 09:45"
