from __future__ import annotations

import datetime as dt

from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from django_tenants.utils import tenant_context

from appointments.models import Customer
from calls import views
from tests.fixtures.calls import SALON_NUMBER, make_appointment, retell_post

URL = "/webhooks/retell/inbound"


def inbound(from_number: str = "+4915112345678", to_number: str = SALON_NUMBER, **extra: object) -> dict:
    return {"event": "call_inbound", "event_timestamp": 1780012672105,
            "call_inbound": {"from_number": from_number, "to_number": to_number, **extra}}


def test_a_known_caller_gets_their_name_and_next_appointment(salon, voice_cast, public_client, salon_route, retell_key):
    # given
    with tenant_context(salon):
        maria = Customer.objects.create(name="Maria Lopez", phone="+4915112345678")
        starts = timezone.now().replace(microsecond=0) + dt.timedelta(days=3)
        appointment = make_appointment(voice_cast, maria, starts)
        make_appointment(voice_cast, maria, starts + dt.timedelta(days=7))
        make_appointment(voice_cast, maria, starts - dt.timedelta(days=1), status="cancelled")
        expected_spoken = views.queries.describe_appointment(appointment)["spoken"]
    connection.set_schema_to_public()

    # when
    response = retell_post(public_client, URL, inbound(from_number="0151 12345678"))

    # then
    assert response.status_code == 200
    answer = response.json()["call_inbound"]
    variables = answer["dynamic_variables"]
    assert {k: variables[k] for k in ("company_name", "caller_known", "caller_name", "customer_id", "caller_number",
                                      "next_appointment", "opening_hours_today")} == {
        "company_name": "Salon Schmidt", "caller_known": "true", "caller_name": "Maria Lopez",
        "customer_id": str(maria.pk), "caller_number": "+4915112345678",
        "next_appointment": expected_spoken, "opening_hours_today": "heute geschlossen",
    }
    assert expected_spoken.endswith(": Haarschnitt bei Anna")
    assert all(isinstance(value, str) for value in variables.values())
    assert answer["metadata"] == {"tenant": "salon-schmidt", "customer_id": maria.pk}
    assert answer["override_agent_id"] == "agent_salon_override"


def test_an_unknown_caller_is_announced_as_unknown_and_not_created(salon, public_client, salon_route, retell_key):
    response = retell_post(public_client, URL, inbound(from_number="+4917099999999"))

    variables = response.json()["call_inbound"]["dynamic_variables"]
    assert (variables["caller_known"], variables["caller_name"], variables["customer_id"], variables["next_appointment"]) == (
        "false", "", "", "",
    )
    with tenant_context(salon):
        assert Customer.objects.count() == 0  # the inbound webhook is side-effect free (it is retried)


def test_a_suspended_tenant_rejects_the_call(salon, public_client, salon_route, retell_key):
    salon.status = "suspended"
    salon.save(update_fields=["status"])

    response = retell_post(public_client, URL, inbound())

    assert response.status_code == 200
    assert response.json() == {"call_inbound": {"reject": True}}


def test_an_unsigned_inbound_request_is_refused(public_client, salon_route, retell_key):
    response = retell_post(public_client, URL, inbound(), signature="v=1,d=" + "a" * 64)

    assert response.status_code == 401
    assert response.json()["error"]["code"] == "SIGNATURE_INVALID"


def test_a_number_nobody_owns_gets_an_empty_answer(public_client, salon_route, retell_key):
    response = retell_post(public_client, URL, inbound(to_number="+499999999999"))

    assert response.json() == {"call_inbound": {}}


def test_the_tenant_host_serves_the_inbound_webhook_too(salon, salon_client, retell_key):
    response = retell_post(salon_client, URL, inbound(to_number="+499999999999"))

    answer = response.json()["call_inbound"]
    assert answer["dynamic_variables"]["company_name"] == "Salon Schmidt"
    assert "override_agent_id" not in answer


def test_the_inbound_answer_needs_a_handful_of_queries(salon, voice_cast, salon_route):
    with tenant_context(salon):
        Customer.objects.create(name="Maria Lopez", phone="+4915112345678")
        with CaptureQueriesContext(connection) as queries:
            views.inbound_answer(salon, inbound()["call_inbound"])

    # company name, customer, next appointment, opening hours (branches, hours, overrides), override agent
    assert len(queries) == 7


def test_opening_hours_today_are_the_union_of_the_staffs_hours_minus_branch_closures(in_salon, branch_mitte, anna,
                                                                                    ben, next_monday):
    from appointments.models import AvailabilityOverride, Branch
    from calls.queries import opening_hours_today
    from tests.fixtures.appointments import add_hours, berlin

    monday_noon = berlin(next_monday, "12:00")
    saturday_noon = berlin(next_monday + dt.timedelta(days=5), "12:00")
    sunday_noon = berlin(next_monday + dt.timedelta(days=6), "12:00")
    tuesday_noon = berlin(next_monday + dt.timedelta(days=1), "12:00")
    AvailabilityOverride.objects.create(branch=branch_mitte, kind="closed", date_from=tuesday_noon.date(),
                                        date_until=tuesday_noon.date(), start_time=dt.time(13), end_time=dt.time(15))

    # Anna 09-18 (break 12-12:30), Ben 10-18 on weekdays; Saturday only Anna; Sunday nobody
    assert opening_hours_today(in_salon, now=monday_noon) == "09:00 bis 18:00 Uhr"
    assert opening_hours_today(in_salon, now=tuesday_noon) == "09:00 bis 13:00 und 15:00 bis 18:00 Uhr"
    assert opening_hours_today(in_salon, now=saturday_noon) == "09:00 bis 18:00 Uhr"
    assert opening_hours_today(in_salon, now=sunday_noon) == "heute geschlossen"

    # a second branch with other hours is named
    north = Branch.objects.create(name="Prenzlauer Berg", time_zone="Europe/Berlin")
    add_hours(ben, north, [5], "10:00", "14:00")
    assert opening_hours_today(in_salon, now=saturday_noon) == "Mitte 09:00 bis 18:00 Uhr, Prenzlauer Berg 10:00 bis 14:00 Uhr"
    assert opening_hours_today(in_salon, now=monday_noon) == "Mitte 09:00 bis 18:00 Uhr, Prenzlauer Berg geschlossen"


def test_on_a_public_holiday_the_opening_hours_say_closed(salon, salon_booking):
    import datetime as dt

    from django_tenants.utils import tenant_context

    from calls.queries import opening_hours_today
    from tests.fixtures.appointments import BERLIN

    with tenant_context(salon):
        christmas = opening_hours_today(salon, now=dt.datetime(2026, 12, 25, 9, 0, tzinfo=BERLIN))
        before = opening_hours_today(salon, now=dt.datetime(2026, 12, 24, 9, 0, tzinfo=BERLIN))

    assert (christmas, before) == ("heute geschlossen", "09:00 bis 18:00 Uhr")
