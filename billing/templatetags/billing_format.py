"""German number formatting for invoice documents (independent of the request language)."""

from __future__ import annotations

from decimal import Decimal

from django import template

from billing.money import format_eur

register = template.Library()

UNIT_LABELS = {"MIN": "Min.", "C62": "Stück", "MON": "Monat", "DAY": "Tage"}


@register.filter
def eur(cents: int) -> str:
    return format_eur(int(cents or 0))


@register.filter
def de_decimal(value: Decimal) -> str:
    return f"{Decimal(value):,.2f}".replace(",", "X").replace(".", ",").replace("X", ".")


@register.filter
def unit_price(cents: Decimal) -> str:
    """A unit price in cents with up to four decimals, shown in euros (e.g. 0,3000 €)."""
    euros = Decimal(cents) / Decimal(100)
    text = f"{euros:,.4f}".replace(",", "X").replace(".", ",").replace("X", ".")
    return f"{text} €"


@register.filter
def unit_label(code: str) -> str:
    return UNIT_LABELS.get(code, code)
