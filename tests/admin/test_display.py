"""The admin shows money as euros, takes euros in its forms, and dates in the branch's zone."""

from __future__ import annotations

import re

import pytest
from django.contrib.auth import get_user_model
from django.test import Client

from appointments.models import Service
from askpro.admin_display import EuroField
from tenants import services as tenant_services
from tests.conftest import SALON_HOST


def _client(salon, role: str) -> Client:
    email = f"{role}@display.example"
    tenant_services.create_tenant_user(salon, email=email, role=role, password="s3cret-pass!")
    client = Client(HTTP_HOST=SALON_HOST, HTTP_ACCEPT_LANGUAGE="de")
    client.force_login(get_user_model().objects.get(username=email))
    return client


def _text(response) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", response.content.decode()))


@pytest.mark.parametrize(("typed", "cents"), [("12,50", 1250), ("1.234,56", 123456), ("12.5", 1250), ("7", 700),
                                              ("12,50 €", 1250), ("", None)])
def test_the_euro_field_stores_cents(typed, cents):
    assert EuroField(required=False).clean(typed) == cents


@pytest.mark.parametrize("typed", ["zwölf", "-1,00", "1,2,3"])
def test_the_euro_field_refuses_what_is_not_an_amount(typed):
    with pytest.raises(Exception, match="Betrag|amount|negativ"):
        EuroField(required=False).clean(typed)


def test_the_service_list_and_form_show_euros(salon, in_salon, haarschnitt):
    client = _client(salon, "admin")

    listing = _text(client.get("/admin/appointments/service/"))
    form = client.get(f"/admin/appointments/service/{haarschnitt.pk}/change/").content.decode()

    assert "35,00 €" in listing
    assert "3500" not in listing
    assert "(Cent)" not in listing
    assert re.search(r'name="price_cents"[^>]*value="35,00"|value="35,00"[^>]*name="price_cents"', form)


def test_a_price_typed_in_euros_is_stored_in_cents(salon, in_salon, haarschnitt):
    client = _client(salon, "admin")
    page = client.get(f"/admin/appointments/service/{haarschnitt.pk}/change/")
    data = {key: value for key, value in page.context["adminform"].form.initial.items() if value is not None}
    data.update({"price_cents": "42,50", "currency": "EUR", "name": "Haarschnitt", "is_active": "on",
                 "segments-TOTAL_FORMS": "0", "segments-INITIAL_FORMS": "0"})

    response = client.post(f"/admin/appointments/service/{haarschnitt.pk}/change/", data)

    assert response.status_code == 302, _text(response)[:2000]
    assert Service.objects.get(pk=haarschnitt.pk).price_cents == 4250


def test_a_read_only_page_shows_amounts_in_euros(salon, in_salon, salon_account):
    from billing.models import BillingAccount

    BillingAccount.objects.filter(pk=salon_account.pk).update(low_balance_threshold_cents=2500, credit_limit_cents=0)
    client = _client(salon, "admin")

    page = _text(client.get(f"/admin/billing/billingaccount/{salon_account.pk}/change/"))

    assert "25,00 €" in page
    assert "2500" not in page
    assert "(Cent" not in page


def test_the_appointment_page_names_it_in_the_branch_zone(salon, in_salon, erika_haarschnitt):
    client = _client(salon, "admin")

    page = _text(client.get(f"/admin/appointments/appointment/{erika_haarschnitt.pk}/change/"))

    local = f"{erika_haarschnitt.starts_at.astimezone(erika_haarschnitt.branch.tzinfo):%d.%m.%Y, %H:%M}"
    assert local.endswith("10:00")
    assert f"Haarschnitt · Erika Mustermann · {local}" in page
    assert "09:00" not in page
