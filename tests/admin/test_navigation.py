"""The sidebar: grouped in order of daily use, per role; technical pages only for admins."""

from __future__ import annotations

import re

from django.contrib.auth import get_user_model
from django.test import Client
from django_tenants.utils import schema_context

from tenants import services as tenant_services
from tests.admin.operators import verified_login
from tests.conftest import SALON_HOST


def _sidebar(client: Client, path: str) -> list[str]:
    response = client.get(path)
    assert response.status_code == 200
    return [group["title"] for group in response.context["sidebar_navigation"]], response.context["sidebar_navigation"]


def _login(salon, role: str) -> Client:
    email = f"{role}@nav.example"
    tenant_services.create_tenant_user(salon, email=email, role=role, password="s3cret-pass!")
    client = Client(HTTP_HOST=SALON_HOST, HTTP_ACCEPT_LANGUAGE="de")
    client.force_login(get_user_model().objects.get(username=email))
    return client


def technical_title() -> str:
    from django.utils import translation

    from askpro.admin_display import upper_first
    from calls.models import FunctionCallResult

    with translation.override("de"):
        return upper_first(FunctionCallResult._meta.verbose_name_plural)


def _titles(groups) -> list[str]:
    return [str(item["title"]) for group in groups for item in group["items"]]


def test_the_owner_sees_the_groups_in_order_of_daily_use(salon, in_salon):
    titles, groups = _sidebar(_login(salon, "admin"), "/admin/appointments/appointment/")

    assert [str(t) for t in titles][:9] == ["Kalender & Termine", "Kunden (CRM)", "Anrufe", "Stammdaten", "Abrechnung",
                                        "Kommunikation", "Integrationen", "Einstellungen", "Monitoring"]
    first = groups[0]["items"][0]
    assert (str(first["title"]), first["link"]) in {("Kalender", "/admin/appointments/appointment/calendar/"),
                                                     ("Kalender", "/admin/appointments/appointment/")}
    assert technical_title() in _titles(groups)


def test_a_receptionist_sees_no_technical_or_forbidden_pages(salon, in_salon):
    _titles_, groups = _sidebar(_login(salon, "receptionist"), "/admin/appointments/appointment/")
    titles = _titles(groups)

    assert "Kunden" in titles
    assert technical_title() not in titles
    assert "API-Schlüssel" not in titles
    assert not any(re.search("Sprach", title) for title in titles)  # voice settings: admins only


def test_the_operator_gets_the_platform_groups(public_tenant):
    tenant_services.create_operator(email="op@nav.example", password="s3cret-pass!")
    client = Client(HTTP_HOST="localhost", HTTP_ACCEPT_LANGUAGE="de")
    verified_login(client, "op@nav.example")
    with schema_context("public"):
        titles, _groups = _sidebar(client, "/admin/tenants/tenant/")

    assert [str(t) for t in titles][:2] == ["Mandanten", "Abrechnung"]
