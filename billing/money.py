"""Cents arithmetic, VAT and billing periods (pure functions, no database)."""

from __future__ import annotations

import calendar
import re
import zoneinfo
from dataclasses import dataclass
from datetime import date, datetime, time
from decimal import ROUND_HALF_UP, Decimal

from billing.errors import InvalidPeriod

VAT_RATE = Decimal("19.00")
_PERIOD = re.compile(r"^(\d{4})-(\d{2})$")


def round_cents(value: Decimal) -> int:
    """Commercial rounding (half up) to whole cents."""
    return int(value.quantize(Decimal("1"), rounding=ROUND_HALF_UP))


@dataclass(frozen=True)
class ConvertedCost:
    eur_cents: int
    original_cents: int
    original_currency: str
    rate: Decimal | None  # EUR per unit; None: no rate known (then 0 EUR)


def parse_exchange_rates(text: str) -> dict[str, Decimal]:
    """``"USD=0.92,CHF=1.04"`` -> {"USD": Decimal("0.92"), ...}; malformed entries are ignored."""
    rates: dict[str, Decimal] = {}
    for item in text.split(","):
        code, _sep, value = item.partition("=")
        try:
            rate = Decimal(value.strip())
        except ArithmeticError:
            continue
        if len(code.strip()) == 3 and rate > 0:
            rates[code.strip().upper()] = rate
    return rates


def to_eur(cents: int, currency: str, rates: dict[str, Decimal]) -> ConvertedCost:
    """A provider's amount in EUR cents (half up), keeping the original and the rate used."""
    code = (currency or "EUR").upper()
    if code == "EUR":
        return ConvertedCost(cents, cents, code, Decimal(1))
    rate = rates.get(code)
    if rate is None:
        return ConvertedCost(0, cents, code, None)
    return ConvertedCost(round_cents(Decimal(cents) * rate), cents, code, rate)


def vat_rate_for(reverse_charge: bool) -> Decimal:
    return Decimal("0.00") if reverse_charge else VAT_RATE


def vat_of(net_cents: int, rate: Decimal) -> int:
    """VAT on a net amount at ``rate`` percent, rounded half up (EN 16931 BR-CO-17)."""
    return round_cents(Decimal(net_cents) * rate / Decimal(100))


def format_eur(cents: int) -> str:
    """German notation: 1.234,56 €."""
    sign = "-" if cents < 0 else ""
    euros, rest = divmod(abs(int(cents)), 100)
    return f"{sign}{euros:,}".replace(",", ".") + f",{rest:02d} €"


@dataclass(frozen=True)
class Period:
    """A calendar month; ``first`` is its first day."""

    first: date

    @classmethod
    def parse(cls, text: str) -> Period:
        match = _PERIOD.match(text.strip()) if isinstance(text, str) else None
        if not match or not 1 <= int(match.group(2)) <= 12 or int(match.group(1)) < 2000:
            raise InvalidPeriod(details={"period": text})
        return cls(date(int(match.group(1)), int(match.group(2)), 1))

    @classmethod
    def of(cls, moment: datetime, tz: zoneinfo.ZoneInfo) -> Period:
        local = moment.astimezone(tz)
        return cls(date(local.year, local.month, 1))

    @property
    def last(self) -> date:
        return self.first.replace(day=calendar.monthrange(self.first.year, self.first.month)[1])

    @property
    def next(self) -> Period:
        if self.first.month == 12:
            return Period(date(self.first.year + 1, 1, 1))
        return Period(date(self.first.year, self.first.month + 1, 1))

    @property
    def previous(self) -> Period:
        if self.first.month == 1:
            return Period(date(self.first.year - 1, 12, 1))
        return Period(date(self.first.year, self.first.month - 1, 1))

    def bounds(self, tz: zoneinfo.ZoneInfo) -> tuple[datetime, datetime]:
        """[start, end) of the month in ``tz`` as aware datetimes."""
        return (
            datetime.combine(self.first, time.min, tzinfo=tz),
            datetime.combine(self.next.first, time.min, tzinfo=tz),
        )

    def __str__(self) -> str:
        return f"{self.first:%Y-%m}"
