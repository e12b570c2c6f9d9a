"""CSV and Excel exports of admin lists (django-import-export with unfold's integration).

``ExportAdminMixin`` adds an "Exportieren" button to a changelist; the file holds the rows of the
list as filtered and searched, with German column headers, euros for ``*_cents`` fields and local
times. Exporting needs the view permission of the model (``IMPORT_EXPORT_EXPORT_PERMISSION_CODE``).
An admin may set ``export_logged = True``: every export is then recorded (who, when, how many rows,
which filters) through :func:`askpro.exports.record_export` - customers' data, for data protection.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any

from django.db import models
from django.http import HttpRequest
from django.utils import timezone
from import_export import fields, resources, widgets
from import_export.admin import ExportMixin
from unfold.contrib.import_export.forms import ExportForm

from askpro.admin_display import euro_label, upper_first
from askpro.display import euros, euros_precise, local_datetime

EXPORT_FORMATS_CODES = ("csv", "xlsx")


class EuroWidget(widgets.Widget):
    def render(self, value: Any, obj: Any = None, **kwargs: Any) -> str:
        if value is None:
            return ""
        if isinstance(value, Decimal) and value != value.to_integral_value():
            return euros_precise(value)
        return euros(int(value))


class LocalDateTimeWidget(widgets.Widget):
    def render(self, value: Any, obj: Any = None, **kwargs: Any) -> str:
        if not isinstance(value, datetime):
            return ""
        branch = getattr(obj, "branch", None)
        return local_datetime(value, branch.tzinfo if branch is not None else timezone.get_current_timezone())


class ChoiceLabelWidget(widgets.Widget):
    def __init__(self, choices: Any) -> None:
        super().__init__()
        self.labels = {key: str(label) for key, label in choices}

    def render(self, value: Any, obj: Any = None, **kwargs: Any) -> str:
        return self.labels.get(value, "" if value is None else str(value))


class ForeignKeyTextWidget(widgets.Widget):
    def render(self, value: Any, obj: Any = None, **kwargs: Any) -> str:
        return "" if value is None else str(value)


def resource_for(model: type[models.Model], names: Sequence[str]) -> type[resources.ModelResource]:
    """A resource exporting ``names`` of ``model`` with German headers and readable values."""
    declared: dict[str, Any] = {}
    for name in names:
        field = model._meta.get_field(name)
        header = upper_first(euro_label(field.verbose_name)) if hasattr(field, "verbose_name") else name
        if name.endswith("_cents"):
            widget: widgets.Widget = EuroWidget()
        elif isinstance(field, models.DateTimeField):
            widget = LocalDateTimeWidget()
        elif getattr(field, "choices", None):
            widget = ChoiceLabelWidget(getattr(field, "choices", ()))
        elif field.is_relation:
            widget = ForeignKeyTextWidget()
        elif isinstance(field, models.BooleanField):
            widget = ChoiceLabelWidget([(True, "ja"), (False, "nein")])
        else:
            widget = widgets.Widget()
        declared[name] = fields.Field(attribute=name, column_name=header, widget=widget, readonly=True)
    meta = type("Meta", (), {"model": model, "fields": tuple(names), "export_order": tuple(names)})
    return type(f"{model.__name__}ExportResource", (resources.ModelResource,), {**declared, "Meta": meta})


def record_export(request: HttpRequest, model: type[models.Model], *, rows: int, file_format: str) -> None:
    """Log who exported how many rows of which list, with which filters (data protection)."""
    from appointments.models import DataExport

    DataExport.objects.create(
        user=request.user.get_username()[:150], model=model._meta.label_lower, rows=rows,
        file_format=file_format[:10], filters=request.GET.urlencode()[:1000],
    )


class ExportAdminMixin(ExportMixin):
    """Mixed in before unfold's ModelAdmin; set ``export_fields`` (model field names)."""

    export_form_class = ExportForm
    export_fields: Sequence[str] = ()
    export_logged = False

    def get_export_resource_classes(self, request: HttpRequest) -> list[type[resources.ModelResource]]:
        return [resource_for(self.model, self.export_fields)]  # type: ignore[attr-defined]

    def get_export_formats(self) -> list[Any]:
        return [fmt for fmt in super().get_export_formats() if fmt().get_extension() in EXPORT_FORMATS_CODES]

    def get_export_data(self, file_format: Any, request: HttpRequest, queryset: Any, **kwargs: Any) -> Any:
        data = super().get_export_data(file_format, request, queryset, **kwargs)
        if self.export_logged:
            record_export(request, self.model, rows=queryset.count(),  # type: ignore[attr-defined]
                          file_format=file_format.get_extension())
        return data
