"""Erasure and retention reach the raw deliveries in the public webhook inbox: a Retell
``call_ended`` keeps the caller's number and transcript, a Cal.com booking the attendee's address,
long after the call and appointment rows were anonymised."""

from __future__ import annotations

import datetime as dt
import io
from typing import Any

import pytest
from django.db import connection
from django.utils import timezone
from django_tenants.utils import tenant_context

from integrations.inbox import process_event
from integrations.models import OutboxEffect, WebhookEvent
from tests.calls.test_call_events import payloads
from tests.fixtures.calls import call_object
from tests.fixtures.integrations import body, post_calcom, post_retell
from tests.fixtures.privacy import ERIKA_PHONE_DIGITS
from tests.integrations.test_calcom_edges import _envelope

NAME, EMAIL = "Erika Mustermann", "erika@example.com"


def _call_ended(call_id: str, from_number: str, said: str) -> bytes:
    ended = payloads(call_id)["call_ended"]
    ended["call"] |= {"from_number": from_number, "transcript": f"User: {said}"}
    return body(ended)


def inbox_hits(tenant: Any, *, name: str = NAME, email: str = EMAIL, digits: str = ERIKA_PHONE_DIGITS) -> list[int]:
    """Ids of the tenant's inbox rows whose raw body or payload names the person in any notation."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT id FROM public.integrations_webhookevent WHERE tenant_id = %s AND ("
            " encode(raw_body, 'escape') ILIKE %s OR encode(raw_body, 'escape') ILIKE %s"
            " OR regexp_replace(encode(raw_body, 'escape'), '[^0-9]', '', 'g') LIKE %s"
            " OR coalesce(payload::text, '') ILIKE %s OR coalesce(payload::text, '') ILIKE %s"
            " OR regexp_replace(coalesce(payload::text, ''), '[^0-9]', '', 'g') LIKE %s) ORDER BY id",
            [tenant.pk, f"%{name}%", f"%{email}%", f"%{digits}%", f"%{name}%", f"%{email}%", f"%{digits}%"],
        )
        return [row[0] for row in cursor.fetchall()]


@pytest.fixture
def deliveries(salon: Any, salon_route: Any, public_client: Any, salon_client: Any, erika_everywhere: Any,
               customer_hans: Any, salon_calcom: Any, next_monday: Any) -> dict[str, int]:
    """Through the real endpoints: Erika's call (finished), her Cal.com cancellation (finished), a
    new Cal.com booking of hers still waiting for the worker, and Hans's call (finished)."""
    from appointments.models import Appointment
    from integrations.calcom.models import CalcomConnection

    CalcomConnection.objects.update(api_key="")  # the webhook alone (no API look-up of the booking)
    start = Appointment.objects.get(customer=erika_everywhere).starts_at
    cancel = _envelope("BOOKING_CANCELLED", "uid-erika-1", start, "CANCELLED")
    cancel["payload"]["attendees"] = [{"name": NAME, "email": "Erika@Example.com", "timeZone": "Europe/Berlin"}]
    rebook = _envelope("BOOKING_CREATED", "uid-erika-2", start + dt.timedelta(days=7), "ACCEPTED")
    rebook["payload"]["attendees"] = [{"name": NAME, "email": EMAIL, "timeZone": "Europe/Berlin"}]
    sent = [
        ("erika_call", post_retell, public_client, _call_ended("call_inbox_erika", "+4915112345678", f"Hier ist {NAME}.")),
        ("erika_calcom", post_calcom, salon_client, body(cancel)),
        ("erika_waiting", post_calcom, salon_client, body(rebook)),
        ("hans_call", post_retell, public_client, _call_ended("call_inbox_hans", "+4917099887766", "Hans Meier hier.")),
    ]
    ids = {}
    for label, post, client, raw in sent:
        assert post(client, raw).status_code in (200, 204)
        ids[label] = WebhookEvent.objects.order_by("-id").values_list("id", flat=True)[0]
    for label in ("erika_call", "erika_calcom", "hans_call"):
        process_event(ids[label], force=True)
    finished = dict(WebhookEvent.objects.filter(pk__in=ids.values()).values_list("id", "status"))
    assert {finished[ids[label]] for label in ("erika_call", "erika_calcom", "hans_call")} <= set(WebhookEvent.FINAL_STATUSES)
    assert finished[ids["erika_waiting"]] == WebhookEvent.Status.RECEIVED
    return ids


def test_erasure_blanks_the_customers_finished_deliveries_in_the_inbox_and_keeps_what_is_owed(
        deliveries: dict[str, int], salon: Any, erika_everywhere: Any) -> None:
    from privacy import services

    # given: the raw bodies name Erika (number, name, address in another case) and Hans
    assert set(inbox_hits(salon)) == {deliveries["erika_call"], deliveries["erika_calcom"], deliveries["erika_waiting"]}
    hans_before = WebhookEvent.objects.get(pk=deliveries["hans_call"])
    effects = {
        status: OutboxEffect.objects.create(
            handler="notifications.listeners.on_callback", key=f"effect-{status}", schema_name=salon.schema_name,
            payload={"phone": "+4915112345678", "name": NAME}, status=status, deadline_at=timezone.now())
        for status in ("done", "pending")
    }

    # when
    with tenant_context(salon):
        counts = services.erase_customer(erika_everywhere.pk, actor="user:1", reason="Löschantrag per Brief")

    # then: her finished deliveries no longer name her; the rows stay as proof of handling
    assert counts["inbox"] == {"inbox": 2, "inbox_pending": 1, "outbox": 1}
    # a done effect's payload is blank; a pending one is owed and keeps what its handler needs
    assert OutboxEffect.objects.get(pk=effects["done"].pk).payload == {}
    assert OutboxEffect.objects.get(pk=effects["pending"].pk).payload["name"] == NAME
    assert inbox_hits(salon) == [deliveries["erika_waiting"]]
    for label in ("erika_call", "erika_calcom"):
        row = WebhookEvent.objects.get(pk=deliveries[label])
        assert bytes(row.raw_body) == b""
        assert row.payload["erased"] == "Art. 17 DSGVO"
        assert row.status in WebhookEvent.FINAL_STATUSES
    # the booking still waiting for the worker is owed (it becomes an appointment) and is untouched
    waiting = WebhookEvent.objects.get(pk=deliveries["erika_waiting"])
    assert waiting.status == WebhookEvent.Status.RECEIVED and b"uid-erika-2" in bytes(waiting.raw_body)
    # the neighbour's delivery is untouched
    hans_after = WebhookEvent.objects.get(pk=deliveries["hans_call"])
    assert (bytes(hans_after.raw_body), hans_after.payload) == (bytes(hans_before.raw_body), hans_before.payload)


def test_the_export_lists_the_deliveries_that_name_the_customer(deliveries: dict[str, int], salon: Any,
                                                                 erika_everywhere: Any) -> None:
    from privacy import services

    with tenant_context(salon):
        data = services.export_customer(erika_everywhere.pk, actor="user:1", reason="Auskunft")

    listed = data["inbox"]["webhook_deliveries"]
    assert sorted((d["provider"], d["event_type"]) for d in listed) == [
        ("calcom", "BOOKING_CANCELLED"), ("calcom", "BOOKING_CREATED"), ("retell", "call_ended")]
    assert all(d["body_kept"] for d in listed)


def test_the_readable_export_names_the_stored_deliveries_in_german(deliveries: dict[str, int], erika_everywhere: Any,
                                                                  tmp_path: Any) -> None:
    from django.core.management import call_command
    from pypdf import PdfReader

    call_command("privacy_export", "--tenant", "salon-schmidt", "--customer", "+49 151 12345678", "--output", str(tmp_path))

    pdf = tmp_path / f"auskunft-salon-schmidt-kunde-{erika_everywhere.pk}.pdf"
    text = " ".join(" ".join(page.extract_text().split()) for page in PdfReader(pdf).pages)
    assert "Gespeicherte Meldungen der Telefon- und Kalenderdienste (3)" in text
    assert "Kopien der Meldungen über Sie" in text and "Cal.com (Kalender)" in text and "Retell (Telefon-Assistent)" in text and "Inhalt gespeichert" in text
    assert "Anruf beendet" in text and "Buchung storniert" in text and "Buchung angelegt" in text  # words, not codes


def test_retention_blanks_old_finished_deliveries_of_the_tenant_only(deliveries: dict[str, int], salon: Any,
                                                                    physio: Any) -> None:
    from privacy import services

    # given: everything was received 100 days ago; the salon keeps transcripts 90 days
    old = timezone.now() - dt.timedelta(days=100)
    WebhookEvent.objects.filter(pk__in=deliveries.values()).update(received_at=old)
    stranger = WebhookEvent.objects.create(
        provider="retell", event_key="physio-old", event_type="call_ended", tenant=physio, status="processed",
        raw_body=body({"event": "call_ended", "call": call_object("call_physio", from_number="+4915112345678")}),
        received_at=old)

    # when: the salon's retention runs twice
    with tenant_context(salon):
        first = services.apply_retention()
        second = services.apply_retention()

    # then: the salon's finished deliveries are blank, the waiting one and the physio's are not
    assert first.counts["webhook_bodies"] == 3
    assert second.counts["webhook_bodies"] == 0
    assert inbox_hits(salon) == [deliveries["erika_waiting"]]
    assert bytes(WebhookEvent.objects.get(pk=stranger.pk).raw_body) != b""


def test_platform_retention_blanks_old_deliveries_of_every_tenant_and_those_never_routed(salon: Any, physio: Any) -> None:
    from django.core.management import call_command
    from django.core.management.base import CommandError

    def delivery(key: str, tenant: Any, days: int, status: str = "processed", provider: str = "retell") -> WebhookEvent:
        return WebhookEvent.objects.create(
            provider=provider, event_key=key, event_type="call_ended", tenant=tenant, status=status,
            raw_body=body({"event": "call_ended", "call": call_object(key, from_number="+4915112345678")}),
            payload={"event": "call_ended", "call": {"from_number": "+4915112345678"}},
            received_at=timezone.now() - dt.timedelta(days=days))

    old = [delivery("old-salon", salon, 100), delivery("old-physio", physio, 100), delivery("old-unrouted", None, 100),
           delivery("old-failed", None, 100, status="failed")]
    kept = [delivery("young", salon, 10), delivery("old-waiting", None, 100, status="received"),
            delivery("old-stripe", None, 100, provider="stripe")]

    # when: the operator prunes by hand (the beat runs the same daily), twice
    call_command("webhooks_prune", "--older-than-days", "90", stdout=(first := io.StringIO()))
    call_command("webhooks_prune", "--older-than-days", "90", stdout=(second := io.StringIO()))

    # then: every old finished or failed Retell body is blank, whoever it belonged to; nothing else
    assert "4 Webhook-Inhalte" in first.getvalue() and "0 Webhook-Inhalte" in second.getvalue()
    for event in old:
        event.refresh_from_db()
        assert bytes(event.raw_body) == b"" and event.payload["erased"] == "platform retention"
    for event in kept:
        event.refresh_from_db()
        assert b"4915112345678" in bytes(event.raw_body)
    with pytest.raises(CommandError, match="ab 1"):
        call_command("webhooks_prune", "--older-than-days", "0")
