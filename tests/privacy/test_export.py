"""Art. 15/20 export: every category of the customer's data, nothing of anyone else's."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from django.core.management import call_command


def test_export_holds_every_category_of_the_customers_data(erika_everywhere: Any, customer_hans: Any) -> None:
    from privacy import services

    data = services.export_customer(erika_everywhere.pk, actor="user:1", reason="Auskunftsersuchen per E-Mail")

    assert data["appointments"]["customer"]["name"] == "Erika Mustermann"
    assert data["appointments"]["consents"].keys() >= {"gdpr_consent", "marketing_consent", "sms_opt_out"}
    assert len(data["appointments"]["appointments"]) == 1
    assert data["appointments"]["appointments"][0]["notes"].startswith("Erika Mustermann möchte")
    assert [c["call_id"] for c in data["calls"]["calls"]] == ["call_erika"]
    assert "Erika Mustermann" in data["calls"]["calls"][0]["transcript"]
    assert len(data["calls"]["callback_requests"]) == 1
    assert [d["recipient"] for d in data["notifications"]["notifications"]] == ["erika@example.com"]
    assert data["notifications"]["contact_preference"]["preferred_channel"] == "email"
    assert len(data["notifications"]["consent_history"]) == 1
    assert [b["calcom_booking_uid"] for b in data["calcom"]["calendar_bookings"]] == ["uid-erika-1"]
    assert len(data["appointments"]["journey"]) >= 1
    json.dumps(data)  # plain JSON values only


def test_export_shows_only_notes_visible_to_the_customer(erika_everywhere: Any) -> None:
    from privacy import services

    data = services.export_customer(erika_everywhere.pk, actor="user:1", reason="Auskunft")

    assert [n["content"] for n in data["appointments"]["notes"]] == ["Bitte Termine vormittags"]
    assert "Ammoniak" not in json.dumps(data)  # the medical note is internal


def test_export_holds_nothing_of_another_customer_or_tenant(
    erika_everywhere: Any, customer_hans: Any, customer_max: Any, in_salon: Any
) -> None:
    from privacy import services

    text = json.dumps(services.export_customer(erika_everywhere.pk, actor="user:1", reason="Auskunft"))

    for foreign in ("Hans Meier", "hans@example.com", "17099887766", customer_max.name, customer_max.phone[3:]):
        assert foreign not in text


def test_export_is_audited(erika_everywhere: Any) -> None:
    from privacy import services
    from privacy.models import PrivacyAuditEntry

    services.export_customer(erika_everywhere.pk, actor="user:3", reason="Auskunft per Brief")

    entry = PrivacyAuditEntry.objects.get(action="export")
    assert (entry.actor, entry.reason, entry.customer_ref) == ("user:3", "Auskunft per Brief", erika_everywhere.pk)
    assert entry.counts["calls.calls"] == 1


def test_privacy_export_command_writes_json_and_a_german_pdf(erika_everywhere: Any, tmp_path: Path) -> None:
    from pypdf import PdfReader

    call_command("privacy_export", "--tenant", "salon-schmidt", "--customer", "+49 151 12345678", "--output", str(tmp_path))

    stem = f"auskunft-salon-schmidt-kunde-{erika_everywhere.pk}"
    data = json.loads((tmp_path / f"{stem}.json").read_text())
    assert data["customer_id"] == erika_everywhere.pk
    text = "".join(page.extract_text() for page in PdfReader(tmp_path / f"{stem}.pdf").pages)
    assert "Auskunft über Ihre gespeicherten Daten" in text
    assert "Erika Mustermann" in text and "Anrufe (1)" in text and "Gesendete Nachrichten (1)" in text
    assert "Bestätigt" in text and "Deutsch" in text  # words, not codes
