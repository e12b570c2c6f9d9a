from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import ClassVar

import pytest
from django.db import connection, transaction

from askpro import hooks, outbox
from askpro.crypto import decrypt, encrypt
from calls.events import CallEnded
from integrations.models import OutboxEffect
from tests.fixtures.hooks import deliver_outbox

ENDED_AT = dt.datetime(2026, 3, 2, 9, 30, tzinfo=dt.UTC)


@dataclass(frozen=True)
class ThingHappened(hooks.DomainEvent):
    """An event only these tests emit (no product listener reacts to it)."""

    event_name: ClassVar[str] = "test.thing_happened"
    thing_id: int
    at: dt.datetime
    note: str | None = None


def _thing(**overrides):
    return ThingHappened(**{"thing_id": 7, "at": ENDED_AT, **overrides})


def test_an_event_is_stored_for_each_listener_and_delivered_typed_in_the_emitting_schema(in_salon, listen):
    seen_schemas = []
    seen = listen(ThingHappened)
    hooks.listens_to(ThingHappened)(_remember_schema := lambda event: seen_schemas.append(connection.schema_name))
    try:
        hooks.emit(_thing())
        stored = OutboxEffect.objects.filter(payload__event="test.thing_happened").count()
        assert seen == []  # nothing runs in the emitter's transaction

        deliver_outbox()
    finally:
        hooks.unregister(_remember_schema)

    assert stored == 2  # the recorder and the schema probe
    assert seen == [_thing()]
    assert isinstance(seen[0].at, dt.datetime)
    assert seen_schemas == ["salon_schmidt"]


def test_emit_refuses_an_undeclared_event(in_salon):
    @dataclass(frozen=True)
    class Undeclared:
        thing_id: int

    with pytest.raises(hooks.UnknownEvent):
        hooks.emit(Undeclared(thing_id=7))  # type: ignore[arg-type]

    assert OutboxEffect.objects.count() == 0


def test_emit_refuses_a_field_of_the_wrong_type(in_salon):
    with pytest.raises(hooks.InvalidEvent):
        hooks.emit(_thing(thing_id="7"))
    with pytest.raises(hooks.InvalidEvent):
        hooks.emit(_thing(at="2026-03-02T09:30:00+00:00"))

    assert OutboxEffect.objects.count() == 0


def test_a_missing_field_cannot_even_be_constructed():
    with pytest.raises(TypeError):
        CallEnded(call_id="call_1", tenant_id=1)  # type: ignore[call-arg]


def test_a_second_declaration_of_an_event_name_is_refused():
    with pytest.raises(TypeError):
        @dataclass(frozen=True)
        class AnotherCallEnded(hooks.DomainEvent):
            event_name: ClassVar[str] = "calls.call_ended"


def test_a_failing_listener_is_retried_later_and_does_not_stop_the_others(in_salon, listen, settings):
    settings.OUTBOX_RETRY_BASE_SECONDS = 30
    seen = listen(ThingHappened)

    def broken(event: ThingHappened) -> None:
        raise RuntimeError("boom")

    hooks.listens_to(ThingHappened)(broken)
    try:
        hooks.emit(_thing())
        deliver_outbox()
    finally:
        hooks.unregister(broken)

    assert seen == [_thing()]
    failing = OutboxEffect.objects.get(payload__listener__endswith=".broken")
    assert (failing.status, failing.attempts, failing.last_error) == ("pending", 1, "RuntimeError: boom")
    assert failing.next_attempt_at is not None


def test_an_event_of_a_rolled_back_transaction_is_never_delivered(in_salon, listen):
    seen = listen(ThingHappened)

    with pytest.raises(ValueError), transaction.atomic():
        hooks.emit(_thing())
        raise ValueError("abort")
    deliver_outbox()

    assert seen == []
    assert OutboxEffect.objects.count() == 0


def test_a_delivered_effect_is_not_delivered_again(in_salon, listen):
    seen = listen(ThingHappened)
    hooks.emit(_thing())
    deliver_outbox()
    effect_ids = list(OutboxEffect.objects.values_list("pk", flat=True))

    statuses = [outbox.process(effect_id) for effect_id in effect_ids]

    assert statuses == ["done"] * len(effect_ids)
    assert len(seen) == 1


def test_secrets_round_trip_and_are_not_stored_in_clear():
    token = encrypt("sk_live_geheim")

    assert "geheim" not in token
    assert decrypt(token) == "sk_live_geheim"


def test_a_task_queued_on_commit_inside_a_tenant_context_keeps_that_schema(salon, broker):
    from django_tenants.utils import tenant_context

    from askpro.outbox import delay_on_commit
    from integrations.tasks import process_webhook

    with transaction.atomic():  # noqa: SIM117 - order matters
        with tenant_context(salon):
            delay_on_commit(process_webhook, 42)
        # the context has exited before the commit happens
        assert broker.messages() == []

    # the real message on the real broker carries the schema tenant-schemas-celery runs it in
    [(queue, message)] = broker.envelopes()
    assert (queue, message["headers"]["task"], message["headers"]["_schema_name"]) == (
        "webhooks", "integrations.process_webhook", "salon_schmidt")
    assert broker.messages() == [("integrations.process_webhook", [42], "webhooks")]
