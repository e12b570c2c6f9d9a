from __future__ import annotations

import datetime as dt
import json

import pytest
from django.utils import timezone
from django_tenants.utils import tenant_context

from appointments.customers import InvalidPhoneNumber
from appointments.models import Customer
from calls import services
from calls.events import CallbackEscalated, CallbackRequested
from calls.models import CallbackRequest
from calls.tasks import escalate_overdue_callbacks
from tests.fixtures.calls import call_object, retell_post
from tests.fixtures.hooks import deliver_outbox


@pytest.fixture
def callback_events(listen):
    return listen(CallbackRequested, CallbackEscalated)


def test_the_agent_queues_one_callback_per_call_even_when_asked_twice(salon, salon_client, retell_key, django_capture_on_commit_callbacks,
                                                                     callback_events):
    # given
    with tenant_context(salon):
        maria = Customer.objects.create(name="Maria", phone="+4915112345678")
    body = {"name": "request_callback", "call": call_object("call_cb"),
            "args": {"reason": "wants_person", "priority": "high", "details": "Möchte mit Sabine sprechen"}}

    # when
    with django_capture_on_commit_callbacks(execute=True):
        first = retell_post(salon_client, "/api/retell/request-callback", body)
        second = retell_post(salon_client, "/api/retell/request-callback", body)

    # then
    assert first.json()["message"] == "Alles klar, ich habe einen Rückruf für Sie notiert. Wir melden uns so bald wie möglich."
    assert (first.json()["created"], second.json()["created"]) == (True, False)
    assert first.json()["callback_id"] == second.json()["callback_id"]
    with tenant_context(salon):
        callback = CallbackRequest.objects.get()
        assert (callback.phone, callback.customer_id, callback.reason, callback.priority, callback.call.call_id) == (
            "+4915112345678", maria.pk, "wants_person", "high", "call_cb",
        )
        assert callback.due_at - callback.created_at == pytest.approx(dt.timedelta(hours=2), abs=dt.timedelta(seconds=5))
    deliver_outbox()
    assert [(e.event_name, e.priority) for e in callback_events] == [("calls.callback_requested", "high")]


def test_an_overdue_callback_escalates_one_priority_step_and_gets_a_new_due_time(in_salon, django_capture_on_commit_callbacks,
                                                                               callback_events):
    # given
    start = timezone.now()
    overdue, _ = services.request_callback(phone="+4915112345678", priority="normal", now=start - dt.timedelta(days=2))
    fresh, _ = services.request_callback(phone="+4915199999999", priority="low", now=start)
    done, _ = services.request_callback(phone="+4915188888888", priority="urgent", now=start - dt.timedelta(days=2))
    services.complete_callback(done.pk, outcome="erledigt")

    # when
    with django_capture_on_commit_callbacks(execute=True):
        escalated = services.escalate_overdue_callbacks(now=start)
        again = services.escalate_overdue_callbacks(now=start)

    # then
    assert (escalated, again) == ([overdue.pk], [])
    overdue.refresh_from_db()
    fresh.refresh_from_db()
    done.refresh_from_db()
    assert (overdue.priority, overdue.escalation_count, overdue.escalated_at, overdue.due_at) == (
        "high", 1, start, start + dt.timedelta(hours=2),
    )
    assert (fresh.priority, fresh.escalation_count) == ("low", 0)
    assert (done.status, done.escalation_count) == ("done", 0)
    deliver_outbox()
    assert [(e.event_name, e.callback_id) for e in callback_events if e.event_name == "calls.callback_escalated"] == [
        ("calls.callback_escalated", overdue.pk)]


def test_the_periodic_task_escalates_in_every_tenant(salon, physio):
    past = timezone.now() - dt.timedelta(days=5)
    with tenant_context(salon):
        services.request_callback(phone="+4915112345678", now=past)
    with tenant_context(physio):
        services.request_callback(phone="+4915112345678", now=past)

    assert escalate_overdue_callbacks() == 2


def test_an_invalid_callback_number_is_refused_and_nothing_is_queued(in_salon):
    with pytest.raises(InvalidPhoneNumber) as refused:
        services.request_callback(phone="hallo")

    assert refused.value.code == "PHONE_INVALID"
    assert CallbackRequest.objects.count() == 0


def _exploding(request_call):
    raise RuntimeError("database said no")


def _signed_function_request(call: dict) -> object:
    import json

    from django.test import RequestFactory

    from calls.signatures import sign
    from tests.fixtures.calls import PLATFORM_KEY

    payload = json.dumps({"name": "explode", "call": call, "args": {}}).encode()
    return RequestFactory().post("/api/retell/explode?tenant=salon-schmidt", data=payload, content_type="application/json",
                                 HTTP_X_RETELL_SIGNATURE=sign(payload, PLATFORM_KEY))


def test_an_internal_error_notes_the_callback_the_agent_promises(salon, retell_key):
    # given a function that fails unexpectedly (the real Retell framing around it)
    from calls.functions import retell_function

    view = retell_function("explode")(_exploding)

    # when
    response = view(_signed_function_request(call_object("call_err")))

    # then
    assert response.status_code == 500
    answer = json.loads(response.content)
    assert (answer["error"]["code"], answer["message"]) == (
        "INTERNAL_ERROR", "Da ist bei uns gerade etwas schiefgelaufen. Ich notiere einen Rückruf für Sie.")
    with tenant_context(salon):
        callback = CallbackRequest.objects.get()
        assert (callback.phone, callback.reason, callback.priority, callback.call.call_id) == (
            "+4915112345678", "technical", "high", "call_err")
        assert callback.details == "Technischer Fehler im Gespräch (Funktion explode)."


def test_an_internal_error_without_a_caller_number_promises_nothing(salon, retell_key):
    from calls.functions import retell_function

    view = retell_function("explode")(_exploding)

    response = view(_signed_function_request(call_object("call_anon", from_number="anonymous")))

    assert response.status_code == 500
    assert json.loads(response.content)["message"] == (
        "Da ist bei uns gerade etwas schiefgelaufen. Bitte rufen Sie später noch einmal an.")
    with tenant_context(salon):
        assert CallbackRequest.objects.count() == 0
