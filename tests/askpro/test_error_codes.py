"""Error codes are declared once per app: an enum in ``<app>/errors.py`` that every exception class
of the app refers to, unique, with a German message. (That no code is assigned at runtime is
checked on the source in ``test_project.py``.)"""

from __future__ import annotations

import importlib
import pkgutil
from enum import StrEnum

import pytest
from django.utils import translation

from askpro.errors import DomainError

APP_ENUMS = {
    "appointments": "AppointmentErrorCode",
    "billing": "BillingErrorCode",
    "calls": "CallErrorCode",
    "integrations": "IntegrationErrorCode",
    "notifications": "NotificationErrorCode",
    "privacy": "PrivacyErrorCode",
    "tenants": "TenantErrorCode",
}

# The voice agent's spoken answers are written in German in the source (its callers are German).
GERMAN_AT_SOURCE = {
    "calls.function_args.ServiceNotFound", "calls.german_dates.DateNotUnderstood", "calls.german_dates.TimeNotUnderstood",
}


def _enum(app: str) -> type[StrEnum]:
    return getattr(importlib.import_module(f"{app}.errors"), APP_ENUMS[app])


def _error_classes(app: str) -> list[type[DomainError]]:
    """Every DomainError subclass defined in the app's modules (all of them imported)."""
    package = importlib.import_module(app)
    for module in pkgutil.walk_packages(package.__path__, f"{app}."):
        if ".migrations" not in module.name and ".tests" not in module.name:
            importlib.import_module(module.name)
    found, pending = [], [DomainError]
    while pending:
        cls = pending.pop()
        pending += cls.__subclasses__()
        if cls.__module__.split(".")[0] == app:
            found.append(cls)
    return sorted(set(found), key=lambda cls: f"{cls.__module__}.{cls.__qualname__}")


@pytest.mark.parametrize("app", sorted(APP_ENUMS))
def test_each_app_declares_its_codes_once_in_an_enum_of_unique_names(app):
    codes = _enum(app)

    assert [member.value for member in codes] == [member.name for member in codes]
    assert len({member.value for member in codes}) == len(codes.__members__)


@pytest.mark.parametrize("app", sorted(APP_ENUMS))
def test_every_error_class_of_an_app_takes_its_code_from_the_apps_enum(app):
    codes = _enum(app)
    classes = _error_classes(app)

    undeclared = [f"{cls.__module__}.{cls.__qualname__}: {cls.code!r}" for cls in classes
                  if "code" in vars(cls) and not isinstance(vars(cls)["code"], codes)]
    unused = sorted(set(codes) - {cls.code for cls in classes})

    assert classes
    assert undeclared == []
    assert unused == []


@pytest.mark.parametrize("app", sorted(APP_ENUMS))
def test_every_error_class_of_an_app_has_a_german_message(app):
    untranslated = []
    for cls in _error_classes(app):
        with translation.override("en"):
            source = str(cls.default_message)
        with translation.override("de"):
            german = str(cls.default_message)
        name = f"{cls.__module__}.{cls.__qualname__}"
        if german == source and name not in GERMAN_AT_SOURCE:
            untranslated.append(f"{name}: {source!r}")

    assert untranslated == []

