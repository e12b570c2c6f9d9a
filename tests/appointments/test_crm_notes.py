"""Customer notes: type, pinning and visibility by role, through one rule (appointments.crm) in the
admin, the customer export and the voice agent's answers."""

from __future__ import annotations

import csv
import io

import pytest
from django_tenants.utils import tenant_context

from appointments import crm
from appointments.customers import add_note
from appointments.models import CustomerNote

# (subject, type, visibility, pinned)
NOTES = [
    ("Kaffee schwarz", "general", "all", False),
    ("Beschwerde Wartezeit", "complaint", "staff", True),
    ("Rabatt vereinbart", "general", "management", False),
    ("Allergie Latex", "medical", "staff", False),
    ("Diagnose Bandscheibe", "medical", "management", False),
    ("Lob für Anna", "feedback", "all", True),
]

SEES = {
    "admin": {"Kaffee schwarz", "Beschwerde Wartezeit", "Rabatt vereinbart", "Allergie Latex",
              "Diagnose Bandscheibe", "Lob für Anna"},
    "manager": {"Kaffee schwarz", "Beschwerde Wartezeit", "Rabatt vereinbart", "Allergie Latex",
                "Diagnose Bandscheibe", "Lob für Anna"},
    "staff": {"Kaffee schwarz", "Beschwerde Wartezeit", "Allergie Latex", "Lob für Anna"},
    "receptionist": {"Kaffee schwarz", "Beschwerde Wartezeit", "Lob für Anna"},
    crm.VOICE_AGENT: {"Kaffee schwarz", "Lob für Anna"},
    "": {"Kaffee schwarz", "Lob für Anna"},
}
HIDDEN_MEDICAL = {"receptionist", crm.VOICE_AGENT, ""}


@pytest.fixture
def erika_notes(customer_erika):
    for subject, type_, visibility, pinned in NOTES:
        add_note(customer_erika.pk, f"{subject} (Inhalt)", subject=subject, type=type_, visibility=visibility,
                 pinned=pinned)
    return customer_erika


@pytest.mark.parametrize("role", list(SEES))
def test_each_role_reads_exactly_its_notes_pinned_first(erika_notes, role):
    notes = list(crm.notes_visible_to(role, erika_notes))

    assert {note.subject for note in notes} == SEES[role]
    pinned = [note.is_pinned for note in notes]
    assert pinned == sorted(pinned, reverse=True)
    if role in HIDDEN_MEDICAL:
        assert not any(note.type == "medical" for note in notes)


def test_the_rule_is_tenant_scoped(erika_notes, physio, customer_max):
    with tenant_context(physio):
        assert list(crm.notes_visible_to("admin", customer_max)) == []


@pytest.mark.parametrize("role", ["admin", "manager", "staff", "receptionist"])
def test_the_customer_page_shows_each_role_only_its_notes(erika_notes, role_client, role):
    page = role_client(role).get(f"/admin/appointments/customer/{erika_notes.pk}/change/").content.decode()

    for subject, *_rest in NOTES:
        assert (f"{subject} (Inhalt)" in page) == (subject in SEES[role]), subject


@pytest.mark.parametrize("role", ["staff", "receptionist"])
def test_the_notes_list_and_detail_hide_what_the_role_may_not_read(erika_notes, role_client, role):
    client = role_client(role)
    listing = client.get("/admin/appointments/customernote/?q=Diagnose").content.decode()
    secret = CustomerNote.objects.get(subject="Diagnose Bandscheibe")

    detail = client.get(f"/admin/appointments/customernote/{secret.pk}/change/")

    assert "Diagnose Bandscheibe" not in listing
    assert detail.status_code == 302  # "does not exist": back to the admin index
    assert "Bandscheibe" not in client.get(detail.url, follow=True).content.decode()


def test_a_receptionist_cannot_write_a_medical_note(customer_erika, role_client):
    client = role_client("receptionist")
    page = client.get("/admin/appointments/customernote/add/")

    choices = [value for value, _label in page.context["adminform"].form.fields["type"].choices]
    visibilities = [value for value, _label in page.context["adminform"].form.fields["visibility"].choices]
    assert "medical" not in choices and "general" in choices
    assert "management" not in visibilities and "staff" in visibilities
    response = client.post("/admin/appointments/customernote/add/", {
        "customer": customer_erika.pk, "type": "medical", "visibility": "staff", "content": "Diabetes"})
    assert response.status_code == 200  # the form refuses the choice
    assert not CustomerNote.objects.filter(content="Diabetes").exists()


def _export_rows(client) -> list[list[str]]:
    path = "/admin/appointments/customer/export/"
    page = client.get(path)
    formats = {str(label).lower(): value for value, label in page.context["form"].fields["format"].choices}
    response = client.post(path, {"format": formats["csv"]})
    assert response.status_code == 200
    return list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))


@pytest.mark.parametrize("role", ["admin", "staff", "receptionist"])
def test_the_customer_export_holds_only_the_notes_the_exporting_role_may_read(erika_notes, role_client, role):
    rows = _export_rows(role_client(role))

    header, erika = rows[0], rows[1]
    notes = erika[header.index("Notizen")]
    for subject, *_rest in NOTES:
        assert (subject in notes) == (subject in SEES[role]), subject
    assert erika[header.index("Treuestufe")] == "Bronze"


def test_the_voice_agent_hears_only_notes_for_everyone_and_never_medical(
        salon, salon_client, salon_booking, erika_notes):
    from tests.fixtures.calls import function_call

    CustomerNote.objects.filter(subject="Kaffee schwarz").update(type="medical")  # a medical note for everyone

    body = function_call(salon_client, "check-customer", {}, from_number=erika_notes.phone).json()

    assert [note["subject"] for note in body["customer_notes"]] == ["Lob für Anna"]
    assert "Allergie" not in str(body) and "Diagnose" not in str(body) and "Kaffee" not in str(body)
