from __future__ import annotations

import pytest
from django.db import connection
from django.db.models import Q
from django.test.utils import CaptureQueriesContext
from django_tenants.utils import tenant_context

from appointments import customers
from appointments.models import Customer, CustomerJourneyTransition, CustomerNote


@pytest.mark.parametrize("raw", [
    "+49 151 12345678", "0151 12345678", "0151/123 456 78", "0049 151 12345678", "+49 (0)151 12345678",
    "0151-123-456-78", "+4915112345678",
])
def test_common_german_and_international_notations_normalise_to_one_e164_number(raw):
    assert customers.normalize_phone(raw) == "+4915112345678"


@pytest.mark.parametrize("raw", ["", None, "hallo", "12", "+49 1"])
def test_implausible_numbers_normalise_to_none(raw):
    assert customers.normalize_phone(raw) is None


def test_a_foreign_number_keeps_its_country_code():
    assert customers.normalize_phone("+43 664 1234567") == "+436641234567"


def test_a_customer_is_found_by_any_of_their_numbers_in_any_notation_with_one_query(in_salon):
    # given
    maria = Customer.objects.create(name="Maria", phone="+4915112345678", other_phones=["+493099887766"])
    Customer.objects.create(name="Other", phone="+4915199999999")

    # when
    with CaptureQueriesContext(connection) as queries:
        by_main = customers.find_customer_by_phone("0151 12345678")
    by_other = customers.find_customer_by_phone("030 99887766")

    # then
    assert by_main == maria
    assert by_other == maria
    assert len(queries) == 1


def test_the_phone_lookup_uses_the_indexes(in_salon):
    # given: enough rows that a plan is meaningful, sequential scans forbidden
    Customer.objects.bulk_create(
        Customer(name=f"c{i}", phone=f"+49151{i:08d}", other_phones=[f"+49301{i:07d}"]) for i in range(200)
    )
    query = Customer.objects.filter(
        Q(phone="+4915100000007") | Q(other_phones__contains=["+493010000007"])
    )
    # when
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")
    plan = query.explain()

    # then
    assert "Seq Scan" not in plan
    assert "customer_other_phones_gin" in plan


def test_a_first_time_caller_becomes_a_lead_once_with_a_recorded_transition(in_salon):
    # when
    first, created = customers.get_or_create_caller("0151 12345678", name="Max Mustermann", actor="phone:call_1")
    again, created_again = customers.get_or_create_caller("+49 151 12345678", actor="phone:call_2")

    # then
    assert (created, created_again) == (True, False)
    assert again.pk == first.pk
    assert (first.name, first.phone, first.source, first.journey_status) == (
        "Max Mustermann", "+4915112345678", "phone", "lead",
    )
    transitions = list(CustomerJourneyTransition.objects.values_list("from_status", "to_status", "actor"))
    assert transitions == [("", "lead", "phone:call_1")]


def test_a_name_from_a_call_never_overwrites_a_known_name(in_salon):
    customer = Customer.objects.create(name="Maria Lopez", phone="+4915112345678")

    filled = customers.fill_customer_name(customer.pk, "Mario")
    customer.refresh_from_db()

    assert filled is False
    assert customer.name == "Maria Lopez"


def test_an_invalid_number_is_refused_and_creates_nobody(in_salon):
    with pytest.raises(customers.InvalidPhoneNumber):
        customers.get_or_create_caller("hallo")

    assert Customer.objects.count() == 0


def test_journey_changes_are_recorded_and_repeats_are_no_ops(in_salon):
    customer, _ = customers.get_or_create_caller("+4915112345678")

    moved = customers.change_journey_status(customer.pk, "prospect", reason="booked", actor="phone:c1")
    repeated = customers.change_journey_status(customer.pk, "prospect", reason="booked", actor="phone:c1")
    customers.change_journey_status(customer.pk, "vip", reason="admin", actor="user:1")

    customer.refresh_from_db()
    assert (moved, repeated) == (True, False)
    assert customer.journey_status == "vip"
    assert customer.journey_changed_at is not None
    assert list(customer.journey_transitions.order_by("id").values_list("from_status", "to_status")) == [
        ("", "lead"), ("lead", "prospect"), ("prospect", "vip"),
    ]


def test_an_unknown_journey_status_is_refused_and_nothing_changes(in_salon):
    customer, _ = customers.get_or_create_caller("+4915112345678")

    with pytest.raises(customers.InvalidJourneyStatus):
        customers.change_journey_status(customer.pk, "gold")

    customer.refresh_from_db()
    assert customer.journey_status == "lead"
    assert customer.journey_transitions.count() == 1


def test_another_number_is_remembered_once_in_e164(in_salon):
    customer = Customer.objects.create(name="Maria", phone="+4915112345678")

    customers.add_phone_number(customer.pk, "030 99887766")
    customers.add_phone_number(customer.pk, "+49 30 99887766")

    customer.refresh_from_db()
    assert customer.other_phones == ["+493099887766"]


def test_consent_changes_are_dated_and_unchanged_flags_keep_their_date(in_salon):
    customer = Customer.objects.create(name="Maria", phone="+4915112345678")

    first = customers.set_consent(customer.pk, gdpr=True, marketing=True)
    second = customers.set_consent(customer.pk, gdpr=True, marketing=False, sms_opt_out=True)

    assert second.gdpr_consent is True and second.gdpr_consent_at == first.gdpr_consent_at
    assert second.marketing_consent is False and second.marketing_consent_at > first.marketing_consent_at
    assert second.sms_opt_out is True and second.sms_opt_out_at is not None


def test_notes_are_attached_pinned_first(in_salon):
    customer = Customer.objects.create(name="Maria", phone="+4915112345678")

    customers.add_note(customer.pk, "Mag kurze Wartezeiten", type="feedback")
    customers.add_note(customer.pk, "Allergie gegen Ammoniak", type="medical", pinned=True, visibility="management")

    notes = list(CustomerNote.objects.filter(customer=customer).values_list("content", "type", "visibility"))
    assert notes == [("Allergie gegen Ammoniak", "medical", "management"), ("Mag kurze Wartezeiten", "feedback", "staff")]


def test_a_customer_of_one_tenant_is_invisible_to_another(salon, physio):
    with tenant_context(salon):
        Customer.objects.create(name="Maria", phone="+4915112345678")
    with tenant_context(physio):
        assert customers.find_customer_by_phone("+4915112345678") is None
