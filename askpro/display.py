"""How the back office shows money and time: euros in German notation, times in the local zone.

One place for every admin page, dashboard, calendar and export. Stored values stay integer cents
and aware UTC datetimes; these functions only format. Template filters of the same names are
built into every template (``askpro.display_tags``): ``{{ amount_cents|euros }}``,
``{{ appointment.starts_at|local_datetime:branch.tzinfo }}``.
"""

from __future__ import annotations

import zoneinfo
from datetime import date, datetime, tzinfo
from decimal import Decimal

from django.utils import timezone

WEEKDAYS_DE = ("Montag", "Dienstag", "Mittwoch", "Donnerstag", "Freitag", "Samstag", "Sonntag")
WEEKDAYS_DE_SHORT = ("Mo", "Di", "Mi", "Do", "Fr", "Sa", "So")
MONTHS_DE = ("Januar", "Februar", "März", "April", "Mai", "Juni", "Juli", "August", "September",
             "Oktober", "November", "Dezember")
EMPTY = "–"


def _group(whole: int) -> str:
    return f"{whole:,}".replace(",", ".")


def euros(cents: int | None, *, currency: str = "EUR") -> str:
    """``123456`` → ``1.234,56 €``; ``None`` → ``–``. Other currencies keep their code."""
    if cents is None or cents == "":
        return EMPTY
    cents = int(cents)
    sign = "-" if cents < 0 else ""
    whole, rest = divmod(abs(cents), 100)
    symbol = "€" if currency.upper() == "EUR" else currency.upper()
    return f"{sign}{_group(whole)},{rest:02d} {symbol}"


def euros_precise(cents: Decimal | int | None, *, places: int = 4) -> str:
    """A rate in (possibly fractional) cents shown in euros, trailing zeros beyond 2 places cut:
    ``Decimal("29.00")`` → ``0,29 €``, ``Decimal("28.96")`` → ``0,2896 €``."""
    if cents is None or cents == "":
        return EMPTY
    value = (Decimal(cents) / Decimal(100)).quantize(Decimal(1).scaleb(-places))
    text = f"{value:,.{places}f}".replace(",", "X").replace(".", ",").replace("X", ".")
    head, _comma, tail = text.partition(",")
    tail = tail.rstrip("0").ljust(2, "0")
    return f"{head},{tail} €"


def euros_to_cents(value: Decimal | str | int | float) -> int:
    """An amount typed in euros (``"12,50"``, ``"1.234,56"``, ``Decimal("12.5")``) → cents, exactly."""
    if isinstance(value, str):
        text = value.strip().replace("€", "").replace(" ", "")
        if "," in text:
            text = text.replace(".", "").replace(",", ".")
        value = Decimal(text)
    return int((Decimal(str(value)) * 100).quantize(Decimal(1)))


def _zone(zone: tzinfo | str | None) -> tzinfo:
    if zone is None:
        return timezone.get_current_timezone()
    if isinstance(zone, str):
        return zoneinfo.ZoneInfo(zone)
    return zone


def local(moment: datetime, zone: tzinfo | str | None = None) -> datetime:
    """The aware moment in ``zone`` (the branch's or tenant's; default: the active zone)."""
    return moment.astimezone(_zone(zone))


def local_datetime(moment: datetime | None, zone: tzinfo | str | None = None) -> str:
    """``08.12.2026, 09:45`` in the zone."""
    if moment is None:
        return EMPTY
    return f"{local(moment, zone):%d.%m.%Y, %H:%M}"


def local_time(moment: datetime | None, zone: tzinfo | str | None = None) -> str:
    """``09:45`` in the zone."""
    if moment is None:
        return EMPTY
    return f"{local(moment, zone):%H:%M}"


def local_date(moment: datetime | date | None, zone: tzinfo | str | None = None) -> str:
    """``08.12.2026`` (a datetime is first moved into the zone)."""
    if moment is None:
        return EMPTY
    if isinstance(moment, datetime):
        moment = local(moment, zone).date()
    return f"{moment:%d.%m.%Y}"


def long_date(moment: datetime | date, zone: tzinfo | str | None = None) -> str:
    """``Dienstag, 8. Dezember 2026``."""
    if isinstance(moment, datetime):
        moment = local(moment, zone).date()
    return f"{WEEKDAYS_DE[moment.weekday()]}, {moment.day}. {MONTHS_DE[moment.month - 1]} {moment.year}"
