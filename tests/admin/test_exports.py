"""CSV and Excel exports of admin lists: filters applied, German headers, euros; customers' logged."""

from __future__ import annotations

import csv
import io

import openpyxl
import pytest
from django.contrib.auth import get_user_model
from django.test import Client

from appointments.models import Customer, DataExport
from tenants import services as tenant_services
from tests.conftest import SALON_HOST


def _client(salon, role: str) -> Client:
    email = f"{role}@export.example"
    tenant_services.create_tenant_user(salon, email=email, role=role, password="s3cret-pass!")
    client = Client(HTTP_HOST=SALON_HOST, HTTP_ACCEPT_LANGUAGE="de")
    client.force_login(get_user_model().objects.get(username=email))
    return client


def _export(client: Client, path: str, fmt: str):
    page = client.get(path)
    assert page.status_code == 200
    formats = {str(label).lower(): value for value, label in page.context["form"].fields["format"].choices}
    return client.post(path, {"format": formats[fmt]})


@pytest.fixture
def customers(in_salon):
    Customer.objects.create(name="Erika Mustermann", phone="+4915112345678", journey_status="lead")
    Customer.objects.create(name="Max Meier", phone="+4917612345678", journey_status="regular")


def test_the_customer_export_holds_the_filtered_rows_and_is_logged(salon, in_salon, customers):
    client = _client(salon, "admin")

    response = _export(client, "/admin/appointments/customer/export/?journey_status__exact=regular", "csv")

    assert response.status_code == 200
    rows = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
    assert rows[0][:4] == ["Name", "Telefon", "E-Mail", "Kundenstatus"]
    assert [row[0] for row in rows[1:]] == ["Max Meier"]
    assert rows[1][3].startswith("Stammkunde")
    log = DataExport.objects.get()
    assert (log.user, log.model, log.rows, log.file_format) == (
        "admin@export.example", "appointments.customer", 1, "csv")
    assert "journey_status__exact=regular" in log.filters


def test_the_appointment_export_opens_in_excel_with_euros_and_local_times(salon, in_salon, erika_haarschnitt):
    client = _client(salon, "receptionist")

    response = _export(client, "/admin/appointments/appointment/export/", "xlsx")

    sheet = openpyxl.load_workbook(io.BytesIO(response.content)).active
    header = [cell.value for cell in sheet[1]]
    row = dict(zip(header, [cell.value for cell in sheet[2]], strict=True))
    assert sheet.max_row == 2
    assert row["Preis"] == "35,00 €"
    assert row["Beginn"].endswith("10:00")
    assert row["Status"] == "Bestätigt"


def test_a_role_without_the_list_cannot_export_it(salon, in_salon, customers):
    client = _client(salon, "staff")

    assert client.get("/admin/billing/transaction/export/").status_code == 403
    assert DataExport.objects.count() == 0
