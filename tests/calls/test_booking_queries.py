"""The query count of a phone booking (book-appointment through the real view): a regression net
for the voice hot path, not a timing. Everything that can wait (notifications, Cal.com push,
journey listeners, billing) goes through the outbox and runs in a worker, outside this count."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django_tenants.utils import tenant_context

from appointments.models import Appointment
from tests.fixtures.calls import function_call

NEW_CALLER = "+4917055566677"


def _forget_process_caches() -> None:
    from calls import function_args, functions
    from tenants.middleware import forget_cached_tenants

    for cache in (function_args._catalogs, function_args._spans, function_args._dayparts, functions._route_cache):
        cache.clear()
    forget_cached_tenants()


@pytest.fixture
def production_caches(settings) -> Iterator[None]:
    """The per-process caches as in production (host, routing, catalogue, opening hours); they
    are emptied afterwards, so no other test sees this test's rows."""
    _forget_process_caches()
    settings.ASKPRO_TENANT_CACHE_SECONDS = 10
    yield
    _forget_process_caches()


def _book(client, day, time, call_id):
    args = {"service": "Haarschnitt", "staff": "Ben", "date": day.isoformat(), "time": time, "name": "Jürgen Groß"}
    with CaptureQueriesContext(connection) as queries:
        response = function_call(client, "book-appointment", args, call_id=call_id, from_number=NEW_CALLER)
    assert response.status_code == 200 and response.json()["success"] is True, response.json()
    return [query["sql"] for query in queries.captured_queries]


def test_a_phone_booking_takes_a_fixed_number_of_queries(salon, salon_client, salon_booking, next_monday,
                                                         production_caches):
    # given the per-process caches warmed by a first call that booked
    _book(salon_client, next_monday, "15:00", "call_warm")

    # when a new call books another time for the same caller
    statements = _book(salon_client, next_monday, "16:00", "call_counted")

    # then 32 statements (35 before: with the catalogue cached, the call row by INSERT ... ON CONFLICT
    # without a savepoint, the answer described from the catalogue instead of read again)
    assert len(statements) == 32, "\n".join(statements)
    assert sum(sql.startswith("SAVEPOINT") for sql in statements) == 5
    assert [sql.split(" (")[0] for sql in statements if sql.startswith("INSERT")] == [
        'INSERT INTO "calls_call"', 'INSERT INTO "appointments_appointment"',
        'INSERT INTO "appointments_historicalappointment"', 'INSERT INTO "appointments_appointmentsegment"',
        'INSERT INTO "integrations_outboxeffect"', 'INSERT INTO "calls_functioncallresult"',
    ]
    with tenant_context(salon):
        assert Appointment.objects.filter(source="phone").count() == 2
