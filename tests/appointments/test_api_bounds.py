"""Values at the edge of what the calendar and the database hold answer a clear 400, never 500."""

from __future__ import annotations

import pytest


def auth(api_key):
    return {"Authorization": f"Bearer {api_key[1]}"}


@pytest.mark.parametrize("day", ["0001-01-01", "9999-12-31", "1999-12-31", "2100-01-01"])
def test_availability_for_a_date_outside_2000_to_2099_is_a_validation_error(salon_client, api_key, haarschnitt, day):
    response = salon_client.post("/api/v2/availability/simple", {"date": day, "service_id": haarschnitt.pk},
                                 content_type="application/json", headers=auth(api_key))

    assert response.status_code == 400
    error = response.json()["error"]
    assert (error["code"], error["details"]["fields"]["date"]) == (
        "VALIDATION_ERROR", ["Give a date between 2000-01-01 and 2099-12-31."])


@pytest.mark.parametrize("query", ["offset=9223372036854775808", "offset=1000001", "staff_id=9223372036854775808",
                                   "customer_id=0", "date_to=", "date_from=0001-01-01"])
def test_listing_bookings_with_out_of_range_numbers_or_empty_dates_is_a_validation_error(salon_client, api_key,
                                                                                         query):
    response = salon_client.get(f"/api/v2/bookings?{query}", headers=auth(api_key))

    assert (response.status_code, response.json()["error"]["code"]) == (400, "VALIDATION_ERROR")
    assert list(response.json()["error"]["details"]["fields"]) == [query.split("=")[0]]


def test_a_huge_booking_id_in_the_body_is_a_validation_error(salon_client, api_key, haarschnitt):
    response = salon_client.post("/api/v2/bookings", {"customer_id": 2**63, "service_id": haarschnitt.pk,
                                                      "starts_at": "2030-01-07T10:00:00+01:00"},
                                 content_type="application/json", headers=auth(api_key))

    assert (response.status_code, list(response.json()["error"]["details"]["fields"])) == (400, ["customer_id"])
