"""The customer page's data-protection actions and the privacy pages, per role."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.contrib.messages import get_messages
from django.test import Client
from django.utils import translation

from tenants import services as tenant_services


def _client_for(salon: Any, salon_client: Client, role: str) -> Client:
    email = f"{role}@privacy.example"
    tenant_services.create_tenant_user(salon, email=email, role=role, password="s3cret-pass!")
    salon_client.force_login(get_user_model().objects.get(username=email))
    salon_client.defaults["HTTP_ACCEPT_LANGUAGE"] = "de"
    return salon_client


def test_the_owner_downloads_the_export_as_pdf_and_json_and_each_is_audited(
    salon: Any, salon_client: Client, erika_everywhere: Any
) -> None:
    from privacy.models import PrivacyAuditEntry

    client = _client_for(salon, salon_client, "admin")
    page = client.get(f"/admin/appointments/customer/{erika_everywhere.pk}/change/")
    assert b"privacy-export/" in page.content and b"privacy-erase/" in page.content

    for file_format, content_type in (("pdf", "application/pdf"), ("json", "application/json; charset=utf-8")):
        response = client.post(f"/admin/appointments/customer/{erika_everywhere.pk}/privacy-export/",
                               {"_form_submitted": "1", "reason": "Anfrage per E-Mail", "file_format": file_format})
        assert response.status_code == 302
        download = client.get(response["Location"])
        assert (download.status_code, download["Content-Type"]) == (200, content_type)
    assert json.loads(download.content)["appointments"]["customer"]["email"] == "erika@example.com"
    assert list(PrivacyAuditEntry.objects.values_list("action", "reason")) == [("export", "Anfrage per E-Mail")] * 2


def test_the_export_link_is_signed_for_the_user_who_asked(salon: Any, salon_client: Client, erika_everywhere: Any) -> None:
    client = _client_for(salon, salon_client, "admin")

    response = client.get("/admin/appointments/customer/privacy-export/forged-token/")

    assert response.status_code == 302  # back to the list with a message, nothing exported
    with translation.override("de"):
        assert "abgelaufen" in " ".join(str(m) for m in get_messages(response.wsgi_request))


def test_erasure_from_the_customer_page_needs_reason_and_confirmation(
    salon: Any, salon_client: Client, erika_everywhere: Any
) -> None:
    from appointments.models import Customer

    client = _client_for(salon, salon_client, "admin")
    url = f"/admin/appointments/customer/{erika_everywhere.pk}/privacy-erase/"

    refused = client.post(url, {"_form_submitted": "1", "reason": "Löschantrag"})  # not confirmed
    assert refused.status_code == 200
    assert Customer.objects.get(pk=erika_everywhere.pk).email == "erika@example.com"

    done = client.post(url, {"_form_submitted": "1", "reason": "Löschantrag", "confirm": "on"})
    assert done.status_code == 302
    assert Customer.objects.get(pk=erika_everywhere.pk).email == ""


@pytest.mark.parametrize("role", ["staff", "receptionist"])
def test_staff_and_reception_can_neither_export_nor_erase(role: str, salon: Any, salon_client: Client,
                                                          erika_everywhere: Any) -> None:
    from appointments.models import Customer
    from privacy.models import PrivacyAuditEntry

    client = _client_for(salon, salon_client, role)
    base = f"/admin/appointments/customer/{erika_everywhere.pk}"

    assert client.post(f"{base}/privacy-export/", {"_form_submitted": "1", "reason": "x", "file_format": "json"}).status_code == 403
    assert client.post(f"{base}/privacy-erase/", {"_form_submitted": "1", "reason": "x", "confirm": "on"}).status_code == 403
    assert Customer.objects.get(pk=erika_everywhere.pk).email == "erika@example.com"
    assert PrivacyAuditEntry.objects.count() == 0


def test_a_deletion_request_added_in_the_admin_is_due_in_a_month_and_listed_with_days_left(
    salon: Any, salon_client: Client, customer_erika: Any
) -> None:
    from privacy.models import DeletionRequest

    client = _client_for(salon, salon_client, "manager")
    response = client.post("/admin/privacy/deletionrequest/add/", {
        "customer": customer_erika.pk, "received_at_0": "01.12.2026", "received_at_1": "10:00", "reason": "Brief"})
    assert response.status_code == 302, response.context["adminform"].form.errors

    request = DeletionRequest.objects.get()
    assert (request.due_at.date().isoformat(), request.status) == ("2027-01-01", "open")
    listing = client.get("/admin/privacy/deletionrequest/")
    assert "Offen" in listing.content.decode()


def test_the_campaign_action_reports_who_was_skipped_and_why(salon: Any, salon_client: Client, in_salon: Any) -> None:
    from appointments.models import Customer

    yes = Customer.objects.create(name="Anke Ja", email="anke@example.com", marketing_consent=True)
    no = Customer.objects.create(name="Bernd Nein", email="bernd@example.com")
    client = _client_for(salon, salon_client, "admin")

    form = client.post("/admin/appointments/customer/", {"action": "send_campaign", "_selected_action": [yes.pk, no.pk]})
    assert form.status_code == 200 and b"name=\"apply\"" in form.content
    response = client.post("/admin/appointments/customer/", {
        "action": "send_campaign", "_selected_action": [yes.pk, no.pk], "apply": "1",
        "channel": "email", "subject": "Herbst", "message": "10 % Rabatt"})

    assert response.status_code == 302
    with translation.override("de"):
        texts = [str(m) for m in get_messages(response.wsgi_request)]
    assert "1 Nachricht(en) eingereiht." in texts
    assert "1 Kunde(n) übersprungen: Bernd Nein: Keine Marketing-Einwilligung" in texts
