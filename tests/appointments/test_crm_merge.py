"""Duplicate customers: detection, a merge that moves everything, and its undo within 30 days."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone
from django_tenants.utils import tenant_context

from appointments import merge, services
from appointments.customers import add_note, change_journey_status
from appointments.merge import MergeNotFound, MergeRefused, UndoRefused
from appointments.models import (
    Appointment,
    AppointmentModification,
    Customer,
    CustomerBookingStats,
    CustomerJourneyTransition,
    CustomerMerge,
    CustomerNote,
)
from calls.models import Call, CallbackRequest
from integrations.calcom.models import BookingSync
from notifications.models import CustomerContactPreference, NotificationDelivery
from tests.fixtures.appointments import berlin


@pytest.fixture
def twin(customer_erika, haarschnitt, anna, next_monday):
    """Erika's duplicate: another number, her e-mail in capitals, a misspelt name, and a history of
    her own (two appointments, one cancelled; a note; a call; a callback; a message; preferences)."""
    other = Customer.objects.create(name="Erika Musterman", phone="+4917099999999", email="ERIKA@example.com",
                                    marketing_consent=True, marketing_consent_at=timezone.now())
    first = services.book_appointment(customer_id=other.pk, service_id=haarschnitt.pk, staff_id=anna.pk,
                                      starts_at=berlin(next_monday, "14:00"), source="admin", actor="admin:test")
    second = services.book_appointment(customer_id=other.pk, service_id=haarschnitt.pk, staff_id=anna.pk,
                                       starts_at=berlin(next_monday, "15:00"), source="admin", actor="admin:test")
    services.cancel_appointment(appointment_id=second.pk, source="admin", actor="admin:test")
    BookingSync.objects.create(appointment=first, booking_uid="cal-uid-twin")
    add_note(other.pk, "Mag Tee", subject="Getränk", type="general", visibility="all")
    change_journey_status(other.pk, "prospect", reason="test", actor="admin:test")
    Call.objects.create(call_id="call_twin", direction="inbound", customer=other, started_at=timezone.now())
    CallbackRequest.objects.create(customer=other, phone=other.phone, name=other.name, due_at=timezone.now())
    NotificationDelivery.objects.create(event="appointment.booked", channel="sms", recipient=other.phone,
                                        customer=other, dedupe_key="twin-1")
    CustomerContactPreference.objects.create(customer=other, preferred_channel="email", email_opt_out=False,
                                             whatsapp_opt_out=True)
    return other


def _owned(customer_id: int) -> dict[str, list[int]]:
    """Every record that points at the customer, per kind."""
    models = {"appointments": Appointment, "modifications": AppointmentModification, "notes": CustomerNote,
              "transitions": CustomerJourneyTransition, "calls": Call, "callbacks": CallbackRequest,
              "deliveries": NotificationDelivery, "preferences": CustomerContactPreference}
    return {kind: sorted(model.objects.filter(customer_id=customer_id).values_list("pk", flat=True))
            for kind, model in models.items()}


def test_duplicates_are_found_by_phone_email_and_similar_names(customer_erika, twin):
    same_phone = Customer.objects.create(name="Frau M.", phone="+4915199990000",
                                         other_phones=["+4915112345678"])
    umlauts = Customer.objects.create(name="Jürgen Müller", phone="+4915100000011")
    spelled = Customer.objects.create(name="Mueller, Juergen", phone="+4915100000012")
    Customer.objects.create(name="Max Meier", phone="+4915100000013")

    pairs = {(pair.first_id, pair.second_id): pair.reasons for pair in merge.duplicate_pairs()}

    assert pairs == {
        (customer_erika.pk, twin.pk): ("email", "name"),
        (customer_erika.pk, same_phone.pk): ("phone",),
        (umlauts.pk, spelled.pk): ("name",),
    }
    assert merge.customers_with_duplicates() == {customer_erika.pk, twin.pk, same_phone.pk, umlauts.pk, spelled.pk}


def test_duplicates_stay_inside_the_tenant(customer_erika, physio):
    with tenant_context(physio):
        Customer.objects.create(name="Erika Mustermann", phone=customer_erika.phone, email=customer_erika.email)
        assert merge.duplicate_pairs() == []
    assert merge.duplicate_pairs() == []


def test_a_merge_moves_everything_to_the_kept_customer_and_records_it(customer_erika, twin):
    erika_before, twin_before = _owned(customer_erika.pk), _owned(twin.pk)
    twin_pk = twin.pk

    record = merge.merge_customers(customer_erika.pk, twin_pk, actor="user:7")

    assert not Customer.objects.filter(pk=twin_pk).exists()
    after = _owned(customer_erika.pk)
    for kind, ids in twin_before.items():
        assert set(ids) <= set(after[kind]), kind
        assert set(erika_before[kind]) <= set(after[kind]), kind
    assert BookingSync.objects.get(booking_uid="cal-uid-twin").appointment.customer_id == customer_erika.pk
    erika = Customer.objects.get(pk=customer_erika.pk)
    assert erika.other_phones == ["+4917099999999"]
    assert erika.marketing_consent  # she gave it under the other record
    assert (record.kept_id, record.removed_customer_id, record.merged_by) == (customer_erika.pk, twin_pk, "user:7")
    assert record.removed_snapshot["name"] == "Erika Musterman"
    assert merge.moved_counts(record)["appointments"] == 2
    assert record.moved["calcom_links"] == 1
    stats = CustomerBookingStats.objects.get(customer=customer_erika)
    assert (stats.appointment_count, stats.cancelled_count, stats.call_count, stats.cancellation_count) == (2, 1, 1, 1)


def test_undo_restores_the_removed_customer_and_moves_back_exactly_what_was_moved(customer_erika, twin, haarschnitt,
                                                                                  anna, next_monday):
    erika_before, twin_before = _owned(customer_erika.pk), _owned(twin.pk)
    twin_pk = twin.pk
    record = merge.merge_customers(customer_erika.pk, twin_pk, actor="user:7")
    later = services.book_appointment(customer_id=customer_erika.pk, service_id=haarschnitt.pk, staff_id=anna.pk,
                                      starts_at=berlin(next_monday, "16:00"), source="admin", actor="admin:test")

    restored = merge.undo_merge(record.pk, actor="user:8")

    assert restored.pk == twin_pk
    twin_row = Customer.objects.get(pk=twin_pk)
    assert (twin_row.name, twin_row.phone, twin_row.email, twin_row.created_at) == (
        "Erika Musterman", "+4917099999999", "ERIKA@example.com", twin.created_at)
    assert _owned(twin_pk) | {"transitions": []} == twin_before | {"transitions": []}
    assert set(twin_before["transitions"]) <= set(_owned(twin_pk)["transitions"])
    erika_after = _owned(customer_erika.pk)
    assert erika_after["appointments"] == sorted([*erika_before["appointments"], later.pk])  # booked after: stays
    erika = Customer.objects.get(pk=customer_erika.pk)
    assert (erika.other_phones, erika.marketing_consent) == ([], False)
    assert CustomerContactPreference.objects.get(customer_id=twin_pk).whatsapp_opt_out
    assert CustomerBookingStats.objects.get(customer_id=twin_pk).cancellation_count == 1
    record.refresh_from_db()
    assert (record.undone_by, record.undone_at is not None) == ("user:8", True)
    with pytest.raises(UndoRefused):
        merge.undo_merge(record.pk, actor="user:8")


def test_preferences_of_both_are_combined_and_split_again(customer_erika, twin):
    CustomerContactPreference.objects.create(customer=customer_erika, email_opt_out=True)

    record = merge.merge_customers(customer_erika.pk, twin.pk, actor="user:7")
    combined = CustomerContactPreference.objects.get(customer=customer_erika)
    assert (combined.email_opt_out, combined.whatsapp_opt_out, combined.preferred_channel) == (True, True, "email")

    merge.undo_merge(record.pk, actor="user:7")
    kept = CustomerContactPreference.objects.get(customer=customer_erika)
    back = CustomerContactPreference.objects.get(customer_id=twin.pk)
    assert (kept.email_opt_out, kept.whatsapp_opt_out, kept.preferred_channel) == (True, False, "")
    assert (back.email_opt_out, back.whatsapp_opt_out, back.preferred_channel) == (False, True, "email")


def test_undo_is_refused_after_30_days(customer_erika, twin):
    record = merge.merge_customers(customer_erika.pk, twin.pk, actor="user:7")

    with pytest.raises(UndoRefused):
        merge.undo_merge(record.pk, actor="user:7", now=timezone.now() + timedelta(days=31))

    assert not Customer.objects.filter(pk=twin.pk).exists()
    assert merge.can_undo(record, now=timezone.now() + timedelta(days=29))


def test_a_customer_is_never_merged_with_itself(customer_erika, twin):
    before = _owned(customer_erika.pk)

    with pytest.raises(MergeRefused) as refused:
        merge.merge_customers(customer_erika.pk, customer_erika.pk, actor="user:7")

    assert refused.value.code == "MERGE_REFUSED"
    assert _owned(customer_erika.pk) == before and CustomerMerge.objects.count() == 0


def test_a_merge_only_sees_the_current_tenants_customers(customer_erika, twin, physio, customer_max):
    with tenant_context(physio):
        physio_ids = set(Customer.objects.values_list("pk", flat=True))
    missing = max([*physio_ids, customer_erika.pk, twin.pk]) + 1000

    with pytest.raises(MergeNotFound):
        merge.merge_customers(customer_erika.pk, missing, actor="user:7")
    merge.merge_customers(customer_erika.pk, twin.pk, actor="user:7")

    assert CustomerMerge.objects.count() == 1
    with tenant_context(physio):
        assert set(Customer.objects.values_list("pk", flat=True)) == physio_ids
        assert Customer.objects.get(pk=customer_max.pk).name == customer_max.name
        assert CustomerMerge.objects.count() == 0


def test_the_admin_merges_two_selected_customers_and_undoes_it(customer_erika, twin, role_client):
    client = role_client("manager")

    response = client.post("/admin/appointments/customer/", {"action": "merge_selected",
                                                              "_selected_action": [customer_erika.pk, twin.pk]})

    record = CustomerMerge.objects.get()
    assert response.status_code == 302 and response.url.endswith(f"/customermerge/{record.pk}/change/")
    page = client.get(response.url).content.decode()
    assert "Erika Musterman" in page and "Termine: 2" in page and "Notizen: 1" in page
    assert f"/customermerge/{record.pk}/undo/" in page
    client.get(f"/admin/appointments/customermerge/{record.pk}/undo/")
    assert Customer.objects.filter(pk=twin.pk).exists()
    assert f"/customermerge/{record.pk}/undo/" not in client.get(response.url).content.decode()  # once only


@pytest.mark.parametrize("role", ["staff", "receptionist"])
def test_front_desk_and_staff_cannot_merge(customer_erika, twin, role_client, role):
    client = role_client(role)

    client.post("/admin/appointments/customer/", {"action": "merge_selected",
                                                  "_selected_action": [customer_erika.pk, twin.pk]})

    assert CustomerMerge.objects.count() == 0 and Customer.objects.filter(pk=twin.pk).exists()
