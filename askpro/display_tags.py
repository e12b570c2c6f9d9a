"""Template filters of :mod:`askpro.display`, built into every template (settings.TEMPLATES)."""

from __future__ import annotations

from django import template

from askpro import display

register = template.Library()

register.filter("euros", display.euros)
register.filter("euros_precise", display.euros_precise)
register.filter("local_datetime", display.local_datetime)
register.filter("local_time", display.local_time)
register.filter("local_date", display.local_date)
register.filter("long_date", display.long_date)
