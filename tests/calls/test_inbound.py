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
        "next_appointment": expected_spoken, "opening_hours_today": "",
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

    assert len(queries) == 4  # company name, customer, next appointment, override agent
