"""Bodies sent with ``Transfer-Encoding: chunked`` reach the views whole under the production
server (Granian gives them without CONTENT_LENGTH; askpro.request_frame.ChunkedBodies reads them)."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator

import httpx
import pytest
from django.utils import timezone
from django_tenants.utils import tenant_context

from tests.conftest import SALON_HOST

pytestmark = pytest.mark.slow


def chunks(data: bytes, size: int = 7) -> Iterator[bytes]:
    for start in range(0, len(data), size):
        yield data[start:start + size]


@pytest.fixture
def salon_api(committed_db, salon) -> dict:
    from appointments.api_keys import create_api_key
    from appointments.models import Branch, Service, Staff
    from tests.fixtures.appointments import add_hours

    with tenant_context(salon):
        branch = Branch.objects.create(name="Mitte", time_zone="Europe/Berlin")
        service = Service.objects.create(name="Haarschnitt", duration_minutes=30, price_cents=3500)
        anna = Staff.objects.create(name="Anna")
        anna.branches.add(branch)
        anna.services.add(service)
        add_hours(anna, branch, range(7), "09:00", "10:00")
        _key, raw = create_api_key(name="Chunked", actor="test")
    return {"service_id": service.pk, "key": raw}


def working_day() -> dt.date:
    """A day in two days or later that is no public holiday in Berlin."""
    import holidays

    day = timezone.localdate() + dt.timedelta(days=2)
    while day in holidays.country_holidays("DE", subdiv="BE", years=day.year):
        day += dt.timedelta(days=1)
    return day


def test_a_chunked_availability_request_is_read_whole(granian_url, salon_api):
    raw = json.dumps({"date": working_day().isoformat(), "service_id": salon_api["service_id"]}).encode()

    response = httpx.post(f"{granian_url}/api/v2/availability/simple", content=chunks(raw),
                          headers={"Host": SALON_HOST, "Content-Type": "application/json",
                                   "Authorization": f"Bearer {salon_api['key']}"}, timeout=30)

    assert response.request.headers["Transfer-Encoding"] == "chunked"
    assert response.status_code == 200, response.text
    assert [slot["start"] for slot in response.json()["slots"]] == ["09:00", "09:15", "09:30"]


def test_a_chunked_body_over_the_limit_answers_413_json(granian_url, salon_api):
    raw = b'{"date": "' + b"x" * (3 * 1024 * 1024) + b'"}'

    response = httpx.post(f"{granian_url}/api/v2/availability/simple", content=chunks(raw, 65536),
                          headers={"Host": SALON_HOST, "Content-Type": "application/json",
                                   "Authorization": f"Bearer {salon_api['key']}"}, timeout=30)

    assert (response.status_code, response.json()["error"]["code"]) == (413, "REQUEST_TOO_LARGE")
