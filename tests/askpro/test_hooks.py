from __future__ import annotations

from django.db import connection, transaction

from askpro import hooks
from askpro.crypto import decrypt, encrypt


def test_an_event_reaches_its_listener_only_after_commit_in_the_emitting_schema(in_salon, django_capture_on_commit_callbacks):
    seen = []

    @hooks.listens_to("test.thing_happened")
    def remember(event: hooks.Event) -> None:
        seen.append((event.name, event.payload["thing_id"], connection.schema_name))

    with django_capture_on_commit_callbacks(execute=True):
        hooks.emit("test.thing_happened", thing_id=7)
        assert seen == []  # not before the commit

    assert seen == [("test.thing_happened", 7, "salon_schmidt")]


def test_a_failing_listener_does_not_break_the_emitter_or_other_listeners(in_salon, django_capture_on_commit_callbacks):
    seen = []

    @hooks.listens_to("test.fragile")
    def broken(event: hooks.Event) -> None:
        raise RuntimeError("boom")

    @hooks.listens_to("test.fragile")
    def fine(event: hooks.Event) -> None:
        seen.append(event.payload["n"])

    with django_capture_on_commit_callbacks(execute=True):
        hooks.emit("test.fragile", n=1)

    assert seen == [1]


def test_an_event_of_a_rolled_back_transaction_is_never_dispatched(in_salon, django_capture_on_commit_callbacks):
    seen = []
    hooks.listens_to("test.rolled_back")(lambda event: seen.append(event))

    with django_capture_on_commit_callbacks(execute=True):
        try:
            with transaction.atomic():
                hooks.emit("test.rolled_back")
                raise ValueError("abort")
        except ValueError:
            pass

    assert seen == []


def test_secrets_round_trip_and_are_not_stored_in_clear():
    token = encrypt("sk_live_geheim")

    assert "geheim" not in token
    assert decrypt(token) == "sk_live_geheim"


def test_a_task_queued_on_commit_inside_a_tenant_context_keeps_that_schema(salon, django_capture_on_commit_callbacks):
    from django_tenants.utils import tenant_context

    from askpro.tenancy import delay_on_commit

    sent = []

    class FakeTask:  # records the schema at send time, the way tenant-schemas-celery reads it
        def apply_async(self, args, kwargs):
            sent.append((connection.schema_name, args, kwargs))

    with django_capture_on_commit_callbacks(execute=True):  # noqa: SIM117 - order matters
        with tenant_context(salon):
            delay_on_commit(FakeTask(), 42, reason="test")
        # the context has exited before the commit happens

    assert sent == [("salon_schmidt", (42,), {"reason": "test"})]
