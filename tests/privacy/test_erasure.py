"""Erasure (Art. 17): no trace of the customer's name, phone or e-mail in any text column of the
tenant schema afterwards; invoices and the ledger stay; the neighbour is untouched."""

from __future__ import annotations

from typing import Any

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection

from tests.fixtures.privacy import ERIKA_PHONE_DIGITS

SCANNED_TYPES = ("text", "character varying", "character", "json", "jsonb", "ARRAY")


def personal_data_hits(schema: str, *, name: str, email: str, phone_digits: str) -> list[str]:
    """Every (table.column) of ``schema`` whose text holds the name, the e-mail, or the phone
    number in any notation (digits compared with everything else stripped)."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT table_name, column_name FROM information_schema.columns c "
            "JOIN information_schema.tables t USING (table_schema, table_name) "
            "WHERE c.table_schema = %s AND t.table_type = 'BASE TABLE' AND c.data_type = ANY(%s)",
            [schema, list(SCANNED_TYPES)],
        )
        columns = cursor.fetchall()
        hits = []
        for table, column in columns:
            cursor.execute(
                f'SELECT count(*) FROM "{schema}"."{table}" WHERE "{column}"::text ILIKE %s OR "{column}"::text ILIKE %s '
                f"OR regexp_replace(\"{column}\"::text, '[^0-9]', '', 'g') LIKE %s",
                [f"%{name}%", f"%{email}%", f"%{phone_digits}%"],
            )
            if cursor.fetchone()[0]:
                hits.append(f"{table}.{column}")
    assert len(columns) > 100  # the scan sees the whole schema
    return hits


def erika_hits(schema: str) -> list[str]:
    return personal_data_hits(schema, name="Erika Mustermann", email="erika@example.com", phone_digits=ERIKA_PHONE_DIGITS)


def test_erasure_leaves_no_trace_of_the_customer_in_any_column_of_the_tenant_schema(
    erika_everywhere: Any, customer_hans: Any, salon: Any
) -> None:
    from privacy import services

    # given: Erika's data is in many tables
    before = erika_hits(salon.schema_name)
    assert {"appointments_customer.name", "calls_call.transcript", "notifications_notificationdelivery.body",
            "appointments_historicalappointment.notes", "django_admin_log.object_repr"} <= set(before)
    # when
    counts = services.erase_customer(erika_everywhere.pk, actor="user:1", reason="Löschantrag per Brief")
    # then
    assert erika_hits(salon.schema_name) == []
    assert counts["appointments"]["customer"] == 1
    assert counts["calls"]["calls"] == 1


def test_erasure_keeps_statistics_and_leaves_the_neighbour_untouched(erika_everywhere: Any, customer_hans: Any) -> None:
    from appointments.models import Appointment, Customer
    from calls.models import Call
    from notifications.models import NotificationDelivery
    from privacy import services

    services.erase_customer(erika_everywhere.pk, actor="user:1", reason="Löschantrag")

    assert Customer.objects.filter(pk=erika_everywhere.pk).exists()
    assert Appointment.objects.filter(customer=erika_everywhere).count() == 1
    assert Call.objects.filter(customer=erika_everywhere).count() == 1
    assert NotificationDelivery.objects.count() == 3
    hans = Customer.objects.get(pk=customer_hans.pk)
    assert (hans.name, hans.phone, hans.email) == ("Hans Meier", "+4917099887766", "hans@example.com")
    assert NotificationDelivery.objects.get(customer=hans).body == "Guten Tag Hans Meier"


def test_erasure_cancels_future_appointments_quietly_and_pushes_the_cancellation_to_calcom(
    erika_everywhere: Any, erika_haarschnitt: Any
) -> None:
    from appointments.models import Appointment
    from integrations.models import OutboxEffect
    from privacy import services

    services.erase_customer(erika_everywhere.pk, actor="user:1", reason="Löschantrag")

    assert Appointment.objects.get(pk=erika_haarschnitt.pk).status == "cancelled"
    effects = OutboxEffect.objects.filter(payload__event="appointment.cancelled",
                                          payload__data__appointment_id=erika_haarschnitt.pk)
    assert [e.payload["data"]["notify_customer"] for e in effects] == [False] * effects.count()
    assert effects.filter(payload__listener="integrations.calcom.listeners.push_to_calcom").count() == 1


def test_erasure_keeps_the_ledger_and_invoices(erika_everywhere: Any, salon_account: Any) -> None:
    from billing.models import Invoice, Transaction
    from privacy import services
    from tests.fixtures.billing import fund

    fund(salon_account, 5000)
    ledger, invoices = Transaction.objects.count(), Invoice.objects.count()

    services.erase_customer(erika_everywhere.pk, actor="user:1", reason="Löschantrag")

    assert (Transaction.objects.count(), Invoice.objects.count()) == (ledger, invoices)
    assert ledger >= 1


def test_erasure_is_audited_with_who_and_why_and_refused_twice(erika_everywhere: Any) -> None:
    from privacy import services
    from privacy.errors import AlreadyErased
    from privacy.models import PrivacyAuditEntry

    services.erase_customer(erika_everywhere.pk, actor="user:7", reason="Löschantrag vom 01.12.")

    entry = PrivacyAuditEntry.objects.get(action="erasure")
    assert (entry.actor, entry.reason, entry.customer_ref) == ("user:7", "Löschantrag vom 01.12.", erika_everywhere.pk)
    assert entry.counts["calls"]["calls"] == 1
    with pytest.raises(AlreadyErased):
        services.erase_customer(erika_everywhere.pk, actor="user:7", reason="nochmal")
    assert PrivacyAuditEntry.objects.filter(action="erasure").count() == 1


def test_erasure_needs_a_reason(customer_erika: Any) -> None:
    from appointments.models import Customer
    from privacy import services
    from privacy.errors import ReasonRequired

    with pytest.raises(ReasonRequired):
        services.erase_customer(customer_erika.pk, actor="user:1", reason="  ")
    assert Customer.objects.get(pk=customer_erika.pk).name == "Erika Mustermann"


def test_privacy_erase_command_finds_the_customer_by_phone_in_any_notation(erika_everywhere: Any, salon: Any) -> None:
    from appointments.models import Customer

    call_command("privacy_erase", "--tenant", "salon-schmidt", "--customer", "0151 1234 5678", "--reason", "Brief")

    assert Customer.objects.get(pk=erika_everywhere.pk).phone == ""
    with pytest.raises(CommandError, match="Kunde"):
        call_command("privacy_erase", "--tenant", "salon-schmidt", "--customer", "0170 0000000", "--reason", "Brief")
    with pytest.raises(CommandError, match="Mandant"):
        call_command("privacy_erase", "--tenant", "nope", "--customer", "1", "--reason", "Brief")


def test_a_merged_duplicate_brings_its_deletion_request_along_and_erasure_clears_the_merge_record(
    erika_everywhere: Any, salon: Any
) -> None:
    from appointments import merge
    from appointments.models import Customer, CustomerMerge
    from askpro.errors import DomainError
    from privacy import services
    from privacy.models import DeletionRequest

    # given: a duplicate of Erika asked for deletion, and was merged into Erika
    duplicate = Customer.objects.create(name="Erika Mustermann", phone="+4915199990000", email="erika@example.com")
    request = services.request_deletion(duplicate.pk, actor="user:1", reason="Brief vom 1. Dezember")
    record = merge.merge_customers(erika_everywhere.pk, duplicate.pk, actor="user:1")

    # then the request follows the person instead of blocking the merge or vanishing
    assert DeletionRequest.objects.get(pk=request.pk).customer_id == erika_everywhere.pk

    # when Erika is erased
    services.erase_customer(erika_everywhere.pk, actor="user:1", reason="Löschantrag per Brief")

    # then the merge record names no one, and its undo is refused instead of restoring her data
    assert erika_hits(salon.schema_name) == []
    assert CustomerMerge.objects.get(pk=record.pk).removed_snapshot == {}
    with pytest.raises(DomainError) as refused:
        merge.undo_merge(record.pk, actor="user:1")
    assert refused.value.code == "MERGE_UNDO_REFUSED"
