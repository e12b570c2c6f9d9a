"""Schemathesis against a live server (Granian, test database): every operation of the OpenAPI
schema (``/api/schema/``) gets generated valid and invalid requests with the tenant's API key;
no answer may be a 5xx or disagree with the schema (status code, content type, body).

Bounded: ``SCHEMATHESIS_MAX_EXAMPLES`` examples per operation (default 15) and one worker, so the
run stays within a few minutes on two busy cores. It prints its figures (operations, test cases,
failures) for the record."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
from django_tenants.utils import tenant_context

from tests.conftest import SALON_HOST, worker_env

pytestmark = pytest.mark.slow

MAX_EXAMPLES = int(os.environ.get("SCHEMATHESIS_MAX_EXAMPLES", "15"))


@pytest.fixture
def granian_env() -> dict[str, str]:
    """Throttles high enough that generated requests reach the views instead of a 429."""
    scopes = ("availability", "bookings", "booking_reads", "booking_changes", "calcom_event_types", "calcom_drift")
    return {"ASKPRO_API_THROTTLE_RATES": ",".join(f"{scope}=100000/min" for scope in scopes)}


@pytest.fixture
def salon_with_bookings(committed_db, salon) -> str:
    """Salon Schmidt with a branch, a service, Anna, one booking and an API key (returned)."""
    from django.utils import timezone

    from appointments.api_keys import create_api_key
    from appointments.models import Branch, Customer, Service, Staff
    from appointments.services import book_appointment
    from tests.fixtures.appointments import add_hours, berlin

    with tenant_context(salon):
        branch = Branch.objects.create(name="Mitte", postal_code="10119", city="Berlin")
        service = Service.objects.create(name="Haarschnitt", duration_minutes=30, price_cents=3500)
        anna = Staff.objects.create(name="Anna")
        anna.branches.add(branch)
        anna.services.add(service)
        add_hours(anna, branch, range(7), "08:00", "20:00")
        customer = Customer.objects.create(name="Erika Mustermann", phone="+4915112345678")
        day = timezone.localdate() + timezone.timedelta(days=3)
        book_appointment(customer_id=customer.pk, service_id=service.pk, starts_at=berlin(day, "10:00"),
                         source="admin", actor="admin:test")
        _key, raw = create_api_key(name="Schemathesis", actor="test")
    return raw


def test_the_api_answers_no_5xx_and_agrees_with_its_schema(granian_url, salon_with_bookings, tmp_path: Path):
    # given: the schema as the tenant host serves it
    schema = httpx.get(f"{granian_url}/api/schema/?format=json", headers={"Host": SALON_HOST}, timeout=30)
    assert schema.status_code == 200
    schema_file = tmp_path / "openapi.json"
    schema_file.write_text(json.dumps(schema.json()))
    report = tmp_path / "report.json"

    # when
    run = subprocess.run(  # noqa: S603
        [sys.executable, "-m", "schemathesis.cli", "run", str(schema_file), "--url", granian_url,
         "-H", f"Host: {SALON_HOST}", "-H", f"Authorization: Bearer {salon_with_bookings}",
         "--checks", "all", "--max-examples", str(MAX_EXAMPLES), "--workers", "1", "--seed", "15",
         "--generation-deterministic", "--no-shrink", "--request-timeout", "30", "--no-color",
         "--report", "json", "--report-json-path", str(report)],
        cwd=tmp_path, env=worker_env(), capture_output=True, text=True, timeout=900,
    )

    # then
    print(run.stdout[-6000:])
    assert run.returncode == 0, run.stdout[-20000:] + run.stderr[-3000:]
