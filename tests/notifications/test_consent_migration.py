"""The data migration notifications 0002 (consent on the customer), run for real.

A throw-away schema is migrated to the state just before 0002, filled through the historical
models, migrated forward, and the customers are read back. Migrations run DDL and commit, so the
test uses ``committed_db``; the schema is dropped afterwards whatever happens.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django_tenants.utils import schema_context

from askpro.tenancy import current_schema, use_public_schema

SCHEMA = "consent_migration_test"
BEFORE = [("notifications", "0001_initial"), ("appointments", "0004_customer_journey")]
AFTER = [("notifications", "0002_consent_on_the_customer")]

T0 = dt.datetime(2024, 1, 10, 9, 0, tzinfo=dt.UTC)
T1 = dt.datetime(2024, 3, 5, 12, 30, tzinfo=dt.UTC)
T2 = dt.datetime(2024, 6, 20, 8, 15, tzinfo=dt.UTC)
T3 = dt.datetime(2024, 9, 1, 17, 45, tzinfo=dt.UTC)


def _drop_schema() -> None:
    with connection.cursor() as cursor:
        cursor.execute(f'DROP SCHEMA IF EXISTS "{SCHEMA}" CASCADE')


@pytest.fixture
def migration_schema(committed_db: None) -> Iterator[str]:
    """An empty tenant-like schema the connection is switched to; dropped again afterwards."""
    use_public_schema()
    _drop_schema()  # left over by an aborted run
    with connection.cursor() as cursor:
        cursor.execute(f'CREATE SCHEMA "{SCHEMA}"')
    try:
        with schema_context(SCHEMA):
            yield SCHEMA
    finally:
        use_public_schema()
        _drop_schema()


def _migrate(targets: list[tuple[str, str]]) -> Any:
    """Migrate the current schema to ``targets``; the historical apps of that state."""
    executor = MigrationExecutor(connection)
    executor.migrate(targets)
    executor.loader.build_graph()
    return executor.loader.project_state(targets).apps


def test_consent_and_sms_opt_out_move_onto_the_customer(migration_schema: str) -> None:
    assert current_schema() == migration_schema
    old = _migrate(BEFORE)
    Customer = old.get_model("appointments", "Customer")
    Preference = old.get_model("notifications", "CustomerContactPreference")

    def customer(name: str, **fields: Any) -> int:
        return Customer.objects.create(name=name, **fields).pk

    def preference(customer_id: int, **fields: Any) -> None:
        Preference.objects.create(customer_id=customer_id, **fields)

    ids: dict[str, int] = {}
    # SMS: the preference opted out, the customer record did not -> the opt-out and its date move over
    ids["sms_moves"] = customer("sms moves")
    preference(ids["sms_moves"], sms_opt_out=True, sms_opted_out_at=T1)
    # SMS: the preference opted out without a date -> opt-out, the customer's own date is kept
    ids["sms_no_date"] = customer("sms no date", sms_opt_out_at=T0)
    preference(ids["sms_no_date"], sms_opt_out=True, sms_opted_out_at=None)
    # SMS: the customer had opted out already -> stays as it was, its own date wins
    ids["sms_already"] = customer("sms already", sms_opt_out=True, sms_opt_out_at=T0)
    preference(ids["sms_already"], sms_opt_out=True, sms_opted_out_at=T2)
    # SMS: the customer opted out, the preference did not -> still an opt-out
    ids["sms_customer_only"] = customer("sms customer only", sms_opt_out=True, sms_opt_out_at=T1)
    preference(ids["sms_customer_only"], sms_opt_out=False)
    # Consent: the customer record never decided -> the preference's consent moves over
    ids["consent_moves"] = customer("consent moves")
    preference(ids["consent_moves"], marketing_consent=True, marketing_consent_at=T2)
    # Consent: the preference's consent is newer than the customer's decision -> it wins
    ids["consent_newer"] = customer("consent newer", marketing_consent=False, marketing_consent_at=T1)
    preference(ids["consent_newer"], marketing_consent=True, marketing_consent_at=T2)
    # Consent: the customer record decided (no) after the preference's consent -> the customer wins
    ids["customer_newer"] = customer("customer newer", marketing_consent=False, marketing_consent_at=T3)
    preference(ids["customer_newer"], marketing_consent=True, marketing_consent_at=T2)
    # Consent without a date on either side -> consent, still without a date
    ids["consent_undated"] = customer("consent undated")
    preference(ids["consent_undated"], marketing_consent=True, marketing_consent_at=None)
    # Both at once on one customer
    ids["both"] = customer("both")
    preference(ids["both"], sms_opt_out=True, sms_opted_out_at=T1, marketing_consent=True, marketing_consent_at=T2)
    # Nothing to move: the customer record already says more than the preference
    ids["unchanged"] = customer(
        "unchanged", marketing_consent=True, marketing_consent_at=T1, sms_opt_out=False, sms_opt_out_at=None,
    )
    preference(ids["unchanged"], marketing_consent=False, marketing_consent_at=T3, whatsapp_opt_out=True)
    # No preference row at all
    ids["no_preference"] = customer("no preference", marketing_consent=False, marketing_consent_at=T0)

    new = _migrate(AFTER)

    NewCustomer = new.get_model("appointments", "Customer")
    got = {
        row["name"]: (row["marketing_consent"], row["marketing_consent_at"], row["sms_opt_out"], row["sms_opt_out_at"])
        for row in NewCustomer.objects.filter(pk__in=ids.values()).values(
            "name", "marketing_consent", "marketing_consent_at", "sms_opt_out", "sms_opt_out_at",
        )
    }
    # (marketing_consent, marketing_consent_at, sms_opt_out, sms_opt_out_at)
    assert got == {
        "sms moves": (False, None, True, T1),
        "sms no date": (False, None, True, T0),
        "sms already": (False, None, True, T0),
        "sms customer only": (False, None, True, T1),
        "consent moves": (True, T2, False, None),
        "consent newer": (True, T2, False, None),
        "customer newer": (False, T3, False, None),
        "consent undated": (True, None, False, None),
        "both": (True, T2, True, T1),
        "unchanged": (True, T1, False, None),
        "no preference": (False, T0, False, None),
    }

    # The preference keeps its other settings and loses the moved fields, in the table too.
    NewPreference = new.get_model("notifications", "CustomerContactPreference")
    assert NewPreference.objects.count() == 10
    assert NewPreference.objects.get(customer_id=ids["unchanged"]).whatsapp_opt_out is True
    with connection.cursor() as cursor:
        columns = {
            column.name
            for column in connection.introspection.get_table_description(
                cursor, "notifications_customercontactpreference"
            )
        }
    assert {"marketing_consent", "marketing_consent_at", "sms_opt_out", "sms_opted_out_at"}.isdisjoint(columns)
    assert {"whatsapp_opt_out", "customer_id"} <= columns

