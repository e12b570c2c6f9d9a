"""Money in every admin page as euros: one mixin, applied to every ModelAdmin and inline of both sites.

Models store integer cents in fields named ``*_cents`` (rates may be ``Decimal`` cents). The mixin
shows them as euros in German notation through :mod:`askpro.display`:

- list columns and read-only fields show ``12,50 €`` (a rate ``0,29 €``), ordered by the stored cents;
- editable fields take euros (``12,50``, ``1.234,56``, ``12.5``) and store cents;
- labels lose their ``(Cent)`` / ``(cents)`` note, since nobody types or reads cents any more.

``askpro.admin_sites`` mixes it into each admin class when it is registered, so app admins keep
declaring plain field names (``"price_cents"``) and stay valid for Django's system checks.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from decimal import Decimal, InvalidOperation
from typing import Any

from django import forms
from django.db import models
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from askpro.display import euros, euros_precise, euros_to_cents

SUFFIX = "__euros"
POSITIVE = (models.PositiveIntegerField, models.PositiveBigIntegerField, models.PositiveSmallIntegerField)
_CENTS_NOTE = re.compile(r"\s*\(\s*(?:Cent|cents?)\s*\)", re.IGNORECASE)
_CENTS_IN_LIST = re.compile(r"\(\s*(?:Cent|cents?)\s*,\s*", re.IGNORECASE)


def euro_label(label: Any) -> str:
    """``Preis (Cent)`` → ``Preis``; ``Netto (Cent, netto)`` → ``Netto (netto)``."""
    text = _CENTS_NOTE.sub("", str(label))
    return _CENTS_IN_LIST.sub("(", text)


def euro_help(text: Any) -> str:
    """A help text without "in cents" (the field takes euros)."""
    return re.sub(r"\s+in\s+(?:Cent|cents)\b", "", str(text or ""))


def upper_first(text: Any) -> str:
    """``"e-mail-Adresse"`` → ``"E-mail-Adresse"`` (``str.capitalize`` would lower the rest)."""
    text = str(text)
    return text[:1].upper() + text[1:]


def cents_fields(model: type[models.Model]) -> dict[str, models.Field]:
    """The model's money fields: integer or decimal fields whose name ends in ``_cents``."""
    return {
        field.name: field for field in model._meta.concrete_fields
        if field.name.endswith("_cents") and isinstance(field, (models.IntegerField, models.DecimalField))
    }


class EuroField(forms.CharField):
    """A form field for an amount in euros, cleaned to integer cents."""

    default_error_messages = {"invalid": _("Enter an amount in euros, e.g. 12,50.")}

    def __init__(self, *, allow_negative: bool = False, **kwargs: Any) -> None:
        kwargs.pop("max_length", None)
        super().__init__(**kwargs)
        self.allow_negative = allow_negative

    def prepare_value(self, value: Any) -> Any:
        if isinstance(value, int) and not isinstance(value, bool):
            return euros(value).removesuffix(" €").replace(".", "")
        return value

    def to_python(self, value: Any) -> int | None:  # type: ignore[override]
        text = super().to_python(value)
        if text is None or text in self.empty_values:
            return None
        try:
            cents = euros_to_cents(text)
        except (InvalidOperation, ValueError):
            raise forms.ValidationError(self.error_messages["invalid"], code="invalid") from None
        if cents < 0 and not self.allow_negative:
            raise forms.ValidationError(_("The amount cannot be negative."), code="negative")
        return cents


def _column(field: models.Field) -> Callable[[Any], str]:
    precise = isinstance(field, models.DecimalField)

    def show(obj: Any) -> str:
        value = getattr(obj, field.name)
        currency = getattr(obj, "currency", "EUR") or "EUR"
        if precise:
            return euros_precise(value if value is None else Decimal(value))
        return euros(value, currency=currency if isinstance(currency, str) else "EUR")

    show.short_description = euro_label(field.verbose_name)  # type: ignore[attr-defined]
    show.admin_order_field = field.name  # type: ignore[attr-defined]
    show.__name__ = field.name + SUFFIX
    return show


class EuroDisplayMixin:
    """Mixed into ModelAdmin and InlineModelAdmin classes (see module docstring)."""

    model: type[models.Model]

    def _euro_columns(self) -> dict[str, models.Field]:
        fields = cents_fields(self.model)
        for name, field in fields.items():
            if not hasattr(self, name + SUFFIX):
                setattr(self, name + SUFFIX, _column(field))
        return fields

    def _as_euros(self, names: Sequence[Any], only: set[str] | None = None) -> list[Any]:
        fields = self._euro_columns()
        return [
            name + SUFFIX if isinstance(name, str) and name in fields and (only is None or name in only) else name
            for name in names
        ]

    def get_list_display(self, request: HttpRequest) -> Any:
        return self._as_euros(super().get_list_display(request))  # type: ignore[misc]

    def _plain_readonly(self, request: HttpRequest, obj: Any) -> list[Any]:
        names = list(super().get_readonly_fields(request, obj))  # type: ignore[misc]
        if obj is not None and not self.has_change_permission(request, obj):  # type: ignore[attr-defined]
            # A view-only page shows every field read-only: the money fields as euros too.
            names += [name for name in self._euro_columns() if name not in names]
        return names

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        return self._as_euros(self._plain_readonly(request, obj))

    def get_fieldsets(self, request: HttpRequest, obj: Any = None) -> Any:
        readonly = set(self._plain_readonly(request, obj))
        fieldsets = super().get_fieldsets(request, obj)  # type: ignore[misc]

        def convert(names: Sequence[Any]) -> list[Any]:
            return [tuple(convert(name)) if isinstance(name, (list, tuple)) else
                    self._as_euros([name], readonly)[0] for name in names]

        return [(title, {**options, "fields": convert(options.get("fields", ()))}) for title, options in fieldsets]

    def formfield_for_dbfield(self, db_field: models.Field, request: HttpRequest, **kwargs: Any) -> Any:
        if db_field.name in cents_fields(self.model) and not isinstance(db_field, models.DecimalField) \
                and not db_field.choices:
            from unfold.widgets import UnfoldAdminTextInputWidget

            return EuroField(
                label=upper_first(euro_label(db_field.verbose_name)) if db_field.verbose_name else None,
                required=not db_field.blank, help_text=euro_help(db_field.help_text),
                allow_negative=not isinstance(db_field, POSITIVE),
                widget=UnfoldAdminTextInputWidget(attrs={"inputmode": "decimal"}),
                initial=db_field.get_default() if db_field.has_default() else None,
            )
        return super().formfield_for_dbfield(db_field, request, **kwargs)  # type: ignore[misc]

    def get_inline_instances(self, request: HttpRequest, obj: Any = None) -> Any:
        inlines = super().get_inline_instances(request, obj)  # type: ignore[misc]
        for inline in inlines:
            if not isinstance(inline, EuroDisplayMixin):
                inline.__class__ = with_euros(type(inline))
        return inlines


_EURO_CLASSES: dict[type, type] = {}


def with_euros(admin_class: type) -> type:
    """``admin_class`` with :class:`EuroDisplayMixin` first in its MRO (one subclass per class)."""
    if issubclass(admin_class, EuroDisplayMixin):
        return admin_class
    if admin_class not in _EURO_CLASSES:
        _EURO_CLASSES[admin_class] = type(admin_class.__name__, (EuroDisplayMixin, admin_class),
                                          {"__module__": admin_class.__module__,
                                           "__qualname__": admin_class.__qualname__})
    return _EURO_CLASSES[admin_class]
