from __future__ import annotations

import datetime as dt
import zoneinfo

import pytest

from calls.german_dates import (
    DateNotUnderstood,
    TimeNotUnderstood,
    local_datetime,
    local_today,
    parse_date,
    parse_datetime,
    parse_time,
)

BERLIN = zoneinfo.ZoneInfo("Europe/Berlin")
MONDAY = dt.date(2025, 10, 13)  # a Monday


@pytest.mark.parametrize(("text", "expected"), [
    ("heute", dt.date(2025, 10, 13)),
    ("Heute Nachmittag", dt.date(2025, 10, 13)),
    ("morgen", dt.date(2025, 10, 14)),
    ("morgen früh", dt.date(2025, 10, 14)),
    ("übermorgen", dt.date(2025, 10, 15)),
    ("uebermorgen", dt.date(2025, 10, 15)),
    ("Dienstag", dt.date(2025, 10, 14)),
    ("am Dienstag", dt.date(2025, 10, 14)),
    ("nächsten Dienstag", dt.date(2025, 10, 14)),
    ("Naechsten Freitag", dt.date(2025, 10, 17)),
    ("kommenden Sonntag", dt.date(2025, 10, 19)),
    ("Montag", dt.date(2025, 10, 20)),  # said on a Monday: next week's
    ("Dienstag morgen", dt.date(2025, 10, 14)),
    ("Dienstag nächste Woche", dt.date(2025, 10, 21)),
    ("nächste Woche", dt.date(2025, 10, 20)),
    ("in 3 Tagen", dt.date(2025, 10, 16)),
    ("in zwei Wochen", dt.date(2025, 10, 27)),
    ("2025-10-20", dt.date(2025, 10, 20)),
    ("2025-10-20T14:00:00+02:00", dt.date(2025, 10, 20)),
    ("20.10.2025", dt.date(2025, 10, 20)),
    ("20.10.25", dt.date(2025, 10, 20)),
    ("20.10.", dt.date(2025, 10, 20)),
    ("14. Oktober", dt.date(2025, 10, 14)),
    ("10. Oktober", dt.date(2026, 10, 10)),  # already past this year
    ("den 3. März", dt.date(2026, 3, 3)),
    ("Dienstag, 21. Oktober 2025", dt.date(2025, 10, 21)),
])
def test_german_date_words_resolve_relative_to_today(text, expected):
    assert parse_date(text, today=MONDAY) == expected


@pytest.mark.parametrize("text", ["", "irgendwann", "31.02.2026", "2025-13-01", "Dienstag oder Mittwoch"])
def test_unclear_dates_are_refused_with_a_spoken_question(text):
    with pytest.raises(DateNotUnderstood) as refused:
        parse_date(text, today=MONDAY)

    assert refused.value.code == "DATE_NOT_UNDERSTOOD"
    assert str(refused.value.message).startswith("Das Datum habe ich nicht verstanden.")


@pytest.mark.parametrize(("text", "expected"), [
    ("14:00", dt.time(14, 0)), ("14.30", dt.time(14, 30)), ("14 Uhr", dt.time(14, 0)),
    ("um 9 Uhr", dt.time(9, 0)), ("14 Uhr 30", dt.time(14, 30)), ("9", dt.time(9, 0)),
    ("halb drei", dt.time(14, 30)), ("zehn Uhr", dt.time(10, 0)), ("drei", dt.time(15, 0)),
    ("14:00:00", dt.time(14, 0)),
])
def test_spoken_times_are_understood(text, expected):
    assert parse_time(text) == expected


@pytest.mark.parametrize("text", ["", "25 Uhr", "14:75", "mittags"])
def test_unclear_times_are_refused(text):
    with pytest.raises(TimeNotUnderstood):
        parse_time(text)


def test_today_is_the_branchs_date_not_the_servers():
    late_evening_utc = dt.datetime(2025, 10, 13, 22, 30, tzinfo=dt.UTC)  # 00:30 on the 14th in Berlin

    assert local_today(BERLIN, late_evening_utc) == dt.date(2025, 10, 14)
    assert local_today(zoneinfo.ZoneInfo("America/New_York"), late_evening_utc) == dt.date(2025, 10, 13)


def test_a_week_across_the_autumn_clock_change_keeps_wall_clock_times():
    # given: the week of Sunday 26 Oct 2025 (CEST -> CET)
    thursday = dt.date(2025, 10, 23)

    # when: "Montag 14 Uhr", said on Thursday before the change
    moment = parse_datetime("Montag", "14 Uhr", tz=BERLIN, now=dt.datetime(2025, 10, 23, 10, tzinfo=dt.UTC))

    # then
    assert local_today(BERLIN, dt.datetime(2025, 10, 23, 10, tzinfo=dt.UTC)) == thursday
    assert moment.isoformat() == "2025-10-27T14:00:00+01:00"
    assert moment.astimezone(dt.UTC).hour == 13
    before = parse_datetime("Samstag", "14 Uhr", tz=BERLIN, now=dt.datetime(2025, 10, 23, 10, tzinfo=dt.UTC))
    assert before.astimezone(dt.UTC).hour == 12


def test_a_time_in_the_spring_gap_moves_to_the_first_real_minute():
    moment = local_datetime(dt.date(2025, 3, 30), dt.time(2, 30), BERLIN)

    assert moment.isoformat() == "2025-03-30T03:30:00+02:00"


def test_an_ambiguous_autumn_time_is_the_first_occurrence():
    moment = local_datetime(dt.date(2025, 10, 26), dt.time(2, 30), BERLIN)

    assert moment.astimezone(dt.UTC).isoformat() == "2025-10-26T00:30:00+00:00"


def test_an_iso_datetime_with_offset_is_taken_as_given():
    moment = parse_datetime("2025-10-27T14:00:00+01:00", None, tz=BERLIN)

    assert moment.astimezone(dt.UTC).isoformat() == "2025-10-27T13:00:00+00:00"


def test_a_tenants_parts_of_the_day_are_checked_windows():
    from calls.german_when import parse_daypart_hours

    assert parse_daypart_hours({"Vormittags": "09:00-12:00", "nach der Arbeit": "17:30 - 20:00"}) == {
        "vormittags": (dt.time(9, 0), dt.time(12, 0)), "nach der arbeit": (dt.time(17, 30), dt.time(20, 0)),
    }
    assert parse_daypart_hours({}) == {}
    for bad in ({"nachmittag": "12:00-18:00"}, {"abends": "18-22"}, {"abends": "22:00-18:00"}, {"abends": "25:00-26:00"},
                ["vormittags"]):
        with pytest.raises(ValueError):
            parse_daypart_hours(bad)


def _args(**given):
    return lambda *names, default=None: next((given[name] for name in names if given.get(name)), default)


def test_a_day_and_time_said_the_day_before_the_spring_clock_change_are_summer_time():
    from calls.function_args import resolve_when

    saturday_noon = dt.datetime(2026, 3, 28, 11, 0, tzinfo=dt.UTC)  # 12:00 CET, the day before the switch
    salon_hours = lambda day: (dt.time(9, 0), dt.time(19, 0))  # noqa: E731

    at_ten = resolve_when(_args(date="morgen um 10 Uhr"), tz=BERLIN, require_time=True, now=saturday_noon, hours=salon_hours)
    half_past_two = resolve_when(_args(date="morgen", time="halb drei"), tz=BERLIN, require_time=True, now=saturday_noon,
                                 hours=salon_hours)
    in_the_gap = resolve_when(_args(date="morgen um halb drei nachts"), tz=BERLIN, require_time=True, now=saturday_noon,
                              hours=salon_hours)

    assert at_ten.starts_at is not None and at_ten.starts_at.isoformat() == "2026-03-29T10:00:00+02:00"
    assert half_past_two.starts_at is not None and half_past_two.starts_at.isoformat() == "2026-03-29T14:30:00+02:00"
    assert in_the_gap.starts_at is not None and in_the_gap.starts_at.isoformat() == "2026-03-29T03:30:00+02:00"
    assert at_ten.echo(BERLIN)["time"] == "10:00"


def test_an_hour_open_in_the_morning_and_the_evening_is_a_question_not_a_guess():
    from calls.function_args import resolve_when
    from calls.german_dates import TimeAmbiguous

    with pytest.raises(TimeAmbiguous) as asked:
        resolve_when(_args(date="morgen", time="um sieben"), tz=BERLIN, require_time=True,
                     now=dt.datetime(2026, 12, 8, 9, 0, tzinfo=dt.UTC), hours=lambda day: (dt.time(7, 0), dt.time(21, 0)))

    assert asked.value.code == "TIME_AMBIGUOUS"
    assert str(asked.value.message) == "Meinen Sie 7:00 Uhr oder 19:00 Uhr?"
    assert asked.value.details == {"time": "morgen um sieben", "choices": ["07:00", "19:00"]}


def test_a_time_argument_that_contradicts_a_full_datetime_is_asked_back():
    from calls.function_args import resolve_when
    from calls.german_dates import TimeAmbiguous

    now = dt.datetime(2026, 12, 8, 9, 0, tzinfo=dt.UTC)
    same = resolve_when(_args(starts_at="2026-12-10T10:15:00+01:00", time="viertel nach zehn"), tz=BERLIN,
                        require_time=True, now=now, hours=lambda day: (dt.time(9, 0), dt.time(19, 0)))
    with pytest.raises(TimeAmbiguous) as asked:
        resolve_when(_args(starts_at="2026-12-10T10:00:00+01:00", time="viertel nach zehn"), tz=BERLIN,
                     require_time=True, now=now, hours=lambda day: (dt.time(9, 0), dt.time(19, 0)))

    assert same.starts_at is not None and same.starts_at.isoformat() == "2026-12-10T10:15:00+01:00"
    assert str(asked.value.message) == "Meinen Sie 10:00 Uhr oder 10:15 Uhr?"
