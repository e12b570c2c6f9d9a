from __future__ import annotations

import datetime as dt
import zoneinfo

import pytest
from django.core.exceptions import ValidationError

from notifications import events
from notifications.defaults import default_template
from notifications.events import Channel
from notifications.models import NotificationTemplate
from notifications.rendering import format_datetime, format_money, render, unknown_placeholders

BERLIN = zoneinfo.ZoneInfo("Europe/Berlin")


def test_a_german_date_is_written_out_with_weekday_month_and_uhr_in_the_branch_zone():
    # given 12:00 UTC on a Tuesday in October (summer time, UTC+2)
    moment = dt.datetime(2026, 10, 13, 12, 0, tzinfo=dt.UTC)

    # then
    assert format_datetime(moment, BERLIN, "de") == "Dienstag, 13. Oktober 2026, 14:00 Uhr"
    assert format_datetime(moment, BERLIN, "en") == "Tuesday, 13 October 2026 at 14:00"
    assert format_datetime(moment, zoneinfo.ZoneInfo("Europe/London"), "de") == "Dienstag, 13. Oktober 2026, 13:00 Uhr"


def test_dates_on_daylight_saving_days_use_the_offset_in_force_at_that_moment():
    # 25 October 2026: clocks go back at 03:00 CEST -> 02:00 CET
    before = dt.datetime(2026, 10, 25, 0, 30, tzinfo=dt.UTC)
    after = dt.datetime(2026, 10, 25, 1, 30, tzinfo=dt.UTC)
    spring = dt.datetime(2026, 3, 29, 1, 30, tzinfo=dt.UTC)  # 03:30 CEST, 02:xx does not exist

    assert format_datetime(before, BERLIN, "de") == "Sonntag, 25. Oktober 2026, 02:30 Uhr"
    assert format_datetime(after, BERLIN, "de") == "Sonntag, 25. Oktober 2026, 02:30 Uhr"
    assert format_datetime(spring, BERLIN, "de") == "Sonntag, 29. März 2026, 03:30 Uhr"


def test_umlauts_and_every_german_month_name_are_spelled_correctly():
    names = [format_datetime(dt.datetime(2026, m, 1, 10, tzinfo=dt.UTC), BERLIN, "de").split(" ")[2].rstrip(",") for m in range(1, 13)]

    assert names == ["Januar", "Februar", "März", "April", "Mai", "Juni", "Juli", "August", "September", "Oktober", "November", "Dezember"]


def test_money_is_formatted_for_the_language():
    assert format_money(123450, "EUR", "de") == "1.234,50 €"
    assert format_money(123450, "EUR", "en") == "€1,234.50"
    assert format_money(-5, "EUR", "de") == "-0,05 €"


def test_an_injected_template_tag_is_rendered_literally_and_reported():
    # given tenant text trying to run template code and reach attributes
    body = "Hallo {{customer_name}} {% load static %}{{ settings.SECRET_KEY }} {{customer_name.__class__}} {% debug %}"

    # when
    result = render(body, {"customer_name": "Maria"})

    # then
    assert result.text == "Hallo Maria {% load static %}{{ settings.SECRET_KEY }} {{customer_name.__class__}} {% debug %}"
    assert result.unknown == []  # dotted names are not placeholders at all, they stay text
    assert unknown_placeholders("{{ secret_key }} {{customer_name}}") == ["secret_key"]


def test_unknown_placeholders_stay_visible_and_are_reported():
    result = render("Hi {{customer_name}}, {{coupon_code}}", {"customer_name": "Maria"})

    assert result.text == "Hi Maria, {{coupon_code}}"
    assert result.unknown == ["coupon_code"]
    assert not result.ok


def test_a_missing_value_is_reported_not_blanked_unless_the_template_gives_a_fallback():
    result = render("{{staff_name}} / {{branch_address|}} / {{callback_name|unbekannt}}", {"staff_name": ""})

    assert result.text == "{{staff_name}} /  / unbekannt"
    assert result.missing == ["staff_name"]


def test_a_template_with_an_unknown_placeholder_is_refused_on_save():
    template = NotificationTemplate(event="appointment_confirmed", channel="sms", language="de", body="Code: {{rabatt}}")

    with pytest.raises(ValidationError) as refused:
        template.clean()

    assert "rabatt" in str(refused.value)


@pytest.mark.parametrize("language", ["de", "en"])
@pytest.mark.parametrize("channel", Channel.ALL)
def test_every_event_has_a_builtin_text_with_only_known_placeholders(language, channel):
    for key in events.EVENTS:
        template = default_template(key, channel, language)

        assert template.body
        assert unknown_placeholders(template.subject + template.body) == []
        assert bool(template.subject) == (channel == Channel.EMAIL)
