"""Public holidays per branch, from the ``holidays`` package: the branch's German state
(``Branch.holiday_region``, set in the admin; empty = derived from its postal code, else Berlin).

Holidays are closures wherever availability is computed: the schedule snapshot
(``appointments.schedule_snapshot``) turns them into branch-wide closed days once per snapshot,
so a slot search never asks this module per slot. A branch that opens on a holiday anyway gives
itself extra hours for that day (an availability override), and the holiday does not close it.
"""

from __future__ import annotations

import datetime as dt
from functools import lru_cache

import holidays
from django.utils.translation import gettext_lazy as _

# The German states (ISO 3166-2:DE without "DE-"), as the ``holidays`` package names them.
STATES = (
    ("BW", _("Baden-Württemberg")), ("BY", _("Bavaria")), ("BE", _("Berlin")), ("BB", _("Brandenburg")),
    ("HB", _("Bremen")), ("HH", _("Hamburg")), ("HE", _("Hesse")), ("MV", _("Mecklenburg-Western Pomerania")),
    ("NI", _("Lower Saxony")), ("NW", _("North Rhine-Westphalia")), ("RP", _("Rhineland-Palatinate")),
    ("SL", _("Saarland")), ("SN", _("Saxony")), ("ST", _("Saxony-Anhalt")), ("SH", _("Schleswig-Holstein")),
    ("TH", _("Thuringia")),
)
NO_HOLIDAYS = "none"
DEFAULT_STATE = "BE"

# The state most of a two-digit postal-code area lies in (a best guess: areas crossing a border
# take the larger part; the admin field corrects a branch near one).
_POSTAL_AREAS = {
    "01": "SN", "02": "SN", "03": "BB", "04": "SN", "06": "ST", "07": "TH", "08": "SN", "09": "SN",
    "10": "BE", "12": "BE", "13": "BE", "14": "BB", "15": "BB", "16": "BB", "17": "MV", "18": "MV", "19": "MV",
    "20": "HH", "21": "NI", "22": "HH", "23": "SH", "24": "SH", "25": "SH", "26": "NI", "27": "NI", "28": "HB",
    "29": "NI", "30": "NI", "31": "NI", "32": "NW", "33": "NW", "34": "HE", "35": "HE", "36": "HE", "37": "NI",
    "38": "NI", "39": "ST", "40": "NW", "41": "NW", "42": "NW", "44": "NW", "45": "NW", "46": "NW", "47": "NW",
    "48": "NW", "49": "NI", "50": "NW", "51": "NW", "52": "NW", "53": "NW", "54": "RP", "55": "RP", "56": "RP",
    "57": "NW", "58": "NW", "59": "NW", "60": "HE", "61": "HE", "63": "HE", "64": "HE", "65": "HE", "66": "SL",
    "67": "RP", "68": "BW", "69": "BW", "70": "BW", "71": "BW", "72": "BW", "73": "BW", "74": "BW", "75": "BW",
    "76": "BW", "77": "BW", "78": "BW", "79": "BW", "80": "BY", "81": "BY", "82": "BY", "83": "BY", "84": "BY",
    "85": "BY", "86": "BY", "87": "BY", "88": "BW", "89": "BY", "90": "BY", "91": "BY", "92": "BY", "93": "BY",
    "94": "BY", "95": "BY", "96": "BY", "97": "BY", "98": "TH", "99": "TH",
}


def state_for(holiday_region: str, postal_code: str = "") -> str | None:
    """The state whose holidays a branch keeps: its own setting, else its postal code's, else
    Berlin; None when the branch keeps no public holidays (``none``)."""
    if holiday_region == NO_HOLIDAYS:
        return None
    if holiday_region:
        return holiday_region
    digits = "".join(ch for ch in postal_code if ch.isdigit())
    if len(digits) == 5:
        return _POSTAL_AREAS.get(digits[:2], DEFAULT_STATE)
    return DEFAULT_STATE


@lru_cache(maxsize=256)
def holidays_in(state: str, year: int) -> dict[dt.date, str]:
    """The public holidays of ``state`` in ``year``: date -> German name (computed once per process)."""
    return dict(holidays.country_holidays("DE", subdiv=state, years=year, language="de").items())


def holidays_between(state: str | None, first: dt.date, last: dt.date) -> dict[dt.date, str]:
    """The public holidays of ``state`` from ``first`` to ``last`` inclusive."""
    if state is None:
        return {}
    found: dict[dt.date, str] = {}
    for year in range(first.year, last.year + 1):
        found.update({day: name for day, name in holidays_in(state, year).items() if first <= day <= last})
    return found
