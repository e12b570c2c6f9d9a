"""The lean WSGI front of POST /webhooks/retell, /webhooks/stripe and /api/calcom/webhook/<slug> (integrations.ingest).

Requests are real WSGI calls with real commits: the front sends Django's request signals, which
close connections as in production (a rolled-back test transaction would not survive them).
"""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Callable, Iterator
from typing import Any

import psycopg
import pytest
from django.core.handlers.wsgi import WSGIHandler
from django.db import connection
from django.test.utils import CaptureQueriesContext

from integrations.ingest import WebhookFront, forget_calcom_targets
from integrations.models import WebhookEvent
from integrations.signatures import sign_calcom, sign_retell, sign_stripe
from tenants.middleware import forget_cached_tenants
from tests.fixtures.integrations import (
    CALCOM_SECRET,
    RETELL_KEY,
    STRIPE_SECRET,
    body,
    calcom_ping,
    retell_event,
    stripe_event,
)


class Answer:
    def __init__(self, status: str, headers: list[tuple[str, str]], content: bytes) -> None:
        self.status_code = int(status.split(" ", 1)[0])
        self.status = status
        self.headers = dict(headers)
        self.content = content

    def json(self) -> Any:
        return json.loads(self.content)


class CountingDjango:
    """Django's WSGI application, counting the requests the front handed to it."""

    def __init__(self) -> None:
        self.django = WSGIHandler()
        self.calls = 0

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        self.calls += 1
        return self.django(environ, start_response)


@pytest.fixture
def django_app(committed_db: None) -> Iterator[CountingDjango]:
    yield CountingDjango()
    forget_cached_tenants()  # tests that cache hosts must not leak them
    forget_calcom_targets()


@pytest.fixture
def front(django_app: CountingDjango) -> WebhookFront:
    return WebhookFront(django_app)


def call(app: Any, path: str, raw: bytes = b"", *, method: str = "POST", host: str = "localhost",
         headers: dict[str, str] | None = None) -> Answer:
    environ = {
        "REQUEST_METHOD": method, "PATH_INFO": path, "SCRIPT_NAME": "", "QUERY_STRING": "",
        "SERVER_NAME": "localhost", "SERVER_PORT": "80", "SERVER_PROTOCOL": "HTTP/1.1",
        "HTTP_HOST": host, "REMOTE_ADDR": "10.1.2.3", "wsgi.url_scheme": "http",
        "wsgi.input": io.BytesIO(raw), "wsgi.errors": io.StringIO(),
        "CONTENT_LENGTH": str(len(raw)), "CONTENT_TYPE": "application/json", "HTTP_USER_AGENT": "Retell/1.0",
    }
    for name, value in (headers or {}).items():
        environ["HTTP_" + name.upper().replace("-", "_")] = value
    started: list[tuple[str, list[tuple[str, str]]]] = []
    content = b"".join(app(environ, lambda status, response_headers, exc_info=None: started.append((status, response_headers))))
    return Answer(started[0][0], started[0][1], content)


def retell(app: Any, raw: bytes, **kwargs: Any) -> Answer:
    headers = {"X-Retell-Signature": sign_retell(raw, RETELL_KEY), **kwargs.pop("headers", {})}
    return call(app, "/webhooks/retell", raw, headers=headers, **kwargs)


def stripe(app: Any, raw: bytes, **kwargs: Any) -> Answer:
    return call(app, "/webhooks/stripe", raw, headers={"Stripe-Signature": sign_stripe(raw, STRIPE_SECRET)}, **kwargs)


def test_a_signed_retell_delivery_is_stored_and_answered_204_without_django(front, django_app):
    raw = body(retell_event(metadata={"tenant": "salon-schmidt"}))
    signature = sign_retell(raw, RETELL_KEY)

    answer = retell(front, raw, headers={"X-Request-ID": "req-retell-1", "X-Retell-Signature": signature})

    assert (answer.status, answer.content, django_app.calls) == ("204 No Content", b"", 0)
    assert answer.headers["X-Request-ID"] == "req-retell-1"
    event = WebhookEvent.objects.get()
    assert (event.provider, event.event_key, event.event_type, event.queue, event.status) == (
        "retell", "call_ended:call_abc123", "call_ended", "webhooks_high", "received")
    assert bytes(event.raw_body) == raw
    assert event.headers == {"x-retell-signature": signature, "user-agent": "Retell/1.0", "content-type": "application/json"}
    assert (event.source_ip, event.correlation_id, event.tenant_id, event.duplicates) == ("10.1.2.3", "req-retell-1", None, 0)


def test_the_lean_answers_are_the_views_answers(front, django_app):
    lean_first = stripe(front, body(stripe_event("evt_lean")))
    lean_again = stripe(front, body(stripe_event("evt_lean")))
    view_first = stripe(django_app.django, body(stripe_event("evt_view")))
    view_again = stripe(django_app.django, body(stripe_event("evt_view")))
    lean_retell = retell(front, body(retell_event(call_id="call_lean")))
    view_retell = retell(django_app.django, body(retell_event(call_id="call_view")))

    ids = dict(WebhookEvent.objects.values_list("event_key", "id"))
    assert django_app.calls == 0
    assert lean_first.json() == {"success": True, "received": True, "duplicate": False, "event_id": ids["evt_lean"]}
    assert lean_again.json() == {"success": True, "received": True, "duplicate": True, "event_id": ids["evt_lean"]}
    assert view_first.json() == {"success": True, "received": True, "duplicate": False, "event_id": ids["evt_view"]}
    assert view_again.json() == {"success": True, "received": True, "duplicate": True, "event_id": ids["evt_view"]}
    assert WebhookEvent.objects.get(event_key="evt_lean").duplicates == 1
    compared = ("Content-Type", "Content-Length", "X-Content-Type-Options", "Referrer-Policy",
                "Cross-Origin-Opener-Policy", "X-Frame-Options")
    for lean, view in ((lean_first, view_first), (lean_retell, view_retell)):
        assert lean.status == view.status
        assert {name: lean.headers.get(name) for name in compared} == {name: view.headers.get(name) for name in compared}
        assert len(lean.headers["X-Request-ID"]) == 32


@pytest.mark.parametrize(("case", "status", "code"), [
    ("bad signature", 401, "SIGNATURE_INVALID"),
    ("no signature", 401, "SIGNATURE_INVALID"),
    ("malformed json", 400, "MALFORMED_PAYLOAD"),
    ("get", 405, "METHOD_NOT_ALLOWED"),
    ("tenant host", 404, "NOT_FOUND"),
    ("unknown host", 404, "TENANT_NOT_FOUND"),
])
def test_everything_but_a_valid_delivery_is_answered_by_django(front, django_app, case, status, code):
    raw = body(retell_event())
    if case == "bad signature":
        answer = retell(front, raw, headers={"X-Retell-Signature": sign_retell(raw, "another key")})
    elif case == "no signature":
        answer = call(front, "/webhooks/retell", raw)
    elif case == "malformed json":
        answer = retell(front, b'{"event": "call_ended", "call": ')
    elif case == "get":
        answer = call(front, "/webhooks/retell", method="GET")
    elif case == "tenant host":
        answer = retell(front, raw, host="salon-schmidt.localhost")
    else:
        answer = retell(front, raw, host="nobody.localhost")

    assert (answer.status_code, django_app.calls) == (status, 1)
    if answer.headers["Content-Type"] == "application/json":
        assert answer.json()["error"]["code"] == code
    expected_kept = 1 if case == "malformed json" else 0
    assert WebhookEvent.objects.count() == expected_kept


def test_a_rejected_signature_is_logged_once_by_the_view(front, caplog):
    raw = body(retell_event())

    with caplog.at_level(logging.WARNING, logger="askpro.security"):
        answer = retell(front, raw, headers={"X-Retell-Signature": sign_retell(raw, "another key")})

    assert answer.status_code == 401
    assert [r.getMessage() for r in caplog.records if r.name == "askpro.security"] == [
        f"rejected retell webhook from 10.1.2.3: digest mismatch (tenant=-, {len(raw)} bytes)"]


def test_only_the_two_exact_paths_are_intercepted(front, django_app):
    raw = body(retell_event(call_id="call_slash"))

    with_slash = call(front, "/webhooks/retell/", raw, headers={"X-Retell-Signature": sign_retell(raw, RETELL_KEY)})
    inbound = call(front, "/webhooks/retell/inbound", body({"event": "call_inbound"}))

    assert django_app.calls == 2
    assert with_slash.status_code == 204
    assert inbound.status_code == 401  # the synchronous inbound webhook's own signature check
    assert list(WebhookEvent.objects.values_list("event_key", flat=True)) == ["call_ended:call_slash"]


def test_over_the_rate_limit_the_view_answers_429(front, django_app, settings):
    settings.WEBHOOK_RATE_LIMIT_PER_MINUTE = 1

    answers = [retell(front, body(retell_event(call_id=f"c{i}"))).status_code for i in range(2)]

    assert answers == [204, 429]
    assert (django_app.calls, WebhookEvent.objects.count()) == (1, 1)


def test_a_database_outage_answers_503_for_a_redelivery_and_stores_nothing(front, django_app, settings, monkeypatch):
    settings.ASKPRO_TENANT_CACHE_SECONDS = 60  # the host is known from before the outage
    assert retell(front, body(retell_event(call_id="before"))).status_code == 204
    port = connection.settings_dict["PORT"]
    connection.close()
    monkeypatch.setitem(connection.settings_dict, "PORT", "1")

    answer = retell(front, body(retell_event(call_id="during")))

    monkeypatch.setitem(connection.settings_dict, "PORT", port)
    connection.close()
    assert (answer.status_code, django_app.calls) == (503, 0)
    assert answer.json() == {"success": False, "error": {
        "code": "DATABASE_UNAVAILABLE", "message": "The service is temporarily unavailable.", "details": {}}}
    assert list(WebhookEvent.objects.values_list("event_key", flat=True)) == ["call_ended:before"]


def test_a_delivery_costs_one_statement_on_a_kept_connection(front, monkeypatch, settings):
    settings.ASKPRO_TENANT_CACHE_SECONDS = 60
    monkeypatch.setitem(connection.settings_dict, "CONN_MAX_AGE", 60)
    connection.close()
    retell(front, body(retell_event(call_id="first")))

    with CaptureQueriesContext(connection) as queries:
        answer = retell(front, body(retell_event(call_id="second")))

    connection.close()
    assert answer.status_code == 204
    assert [q["sql"].split(" ", 1)[0] for q in queries.captured_queries] == ["INSERT"]


def test_a_kept_connection_is_not_pinged_before_the_insert(front, monkeypatch, settings):
    settings.ASKPRO_TENANT_CACHE_SECONDS = 60
    monkeypatch.setitem(connection.settings_dict, "CONN_MAX_AGE", 60)
    connection.close()
    retell(front, body(retell_event(call_id="first")))
    pings: list[bool] = []
    is_usable = connection.is_usable
    monkeypatch.setattr(connection, "is_usable", lambda: pings.append(True) or is_usable())

    answer = retell(front, body(retell_event(call_id="second")))

    connection.close()
    assert (answer.status_code, pings) == (204, [])


def test_a_kept_connection_killed_by_the_server_is_replaced_and_the_delivery_stored_once(front, django_app, monkeypatch, settings):
    settings.ASKPRO_TENANT_CACHE_SECONDS = 60
    monkeypatch.setitem(connection.settings_dict, "CONN_MAX_AGE", 60)
    connection.close()
    assert retell(front, body(retell_event(call_id="before"))).status_code == 204
    backend_pid = connection.connection.info.backend_pid
    with psycopg.connect(**_libpq_params(), autocommit=True) as admin:
        admin.execute("SELECT pg_terminate_backend(%s)", [backend_pid])

    answer = retell(front, body(retell_event(call_id="after")))

    assert (answer.status_code, django_app.calls) == (204, 0)
    assert connection.connection.info.backend_pid != backend_pid
    connection.close()
    assert sorted(WebhookEvent.objects.values_list("event_key", flat=True)) == ["call_ended:after", "call_ended:before"]


def _libpq_params() -> dict[str, Any]:
    settings_dict = connection.settings_dict
    params = {"dbname": settings_dict["NAME"], "user": settings_dict["USER"], "password": settings_dict["PASSWORD"],
              "host": settings_dict["HOST"], "port": settings_dict["PORT"]}
    return {name: value for name, value in params.items() if value}


@pytest.fixture
def calcom_connections(django_app: CountingDjango) -> None:
    """Cal.com connected in both tenants, each with its own webhook secret (committed)."""
    from django_tenants.utils import tenant_context

    from integrations.calcom.models import CalcomConnection
    from tenants.models import Tenant

    for slug, secret in (("salon-schmidt", CALCOM_SECRET), ("physio-nord", "calcom-secret-physio")):
        with tenant_context(Tenant.objects.get(slug=slug)):
            CalcomConnection.objects.create(api_key="cal_test", webhook_secret=secret)
    connection.set_schema_to_public()


def calcom(app: Any, raw: bytes, *, slug: str = "salon-schmidt", secret: str = CALCOM_SECRET, **kwargs: Any) -> Answer:
    return call(app, f"/api/calcom/webhook/{slug}", raw, headers={"X-Cal-Signature-256": sign_calcom(raw, secret)}, **kwargs)


def test_a_signed_calcom_delivery_by_slug_is_stored_for_its_tenant_without_django(front, django_app, calcom_connections):
    raw = body(calcom_ping())

    lean = calcom(front, raw)
    again = calcom(front, raw)
    view = calcom(django_app.django, body({**calcom_ping(), "createdAt": "2026-03-01T11:00:00.000Z"}))

    assert django_app.calls == 0
    event = WebhookEvent.objects.get(pk=lean.json()["event_id"])
    assert (event.provider, event.event_type, event.tenant.slug, event.status) == ("calcom", "PING", "salon-schmidt", "received")
    assert bytes(event.raw_body) == raw
    assert lean.json() == {"success": True, "received": True, "duplicate": False, "event_id": event.pk}
    assert again.json() == {"success": True, "received": True, "duplicate": True, "event_id": event.pk}
    assert (lean.status, lean.headers["Content-Type"]) == (view.status, view.headers["Content-Type"])
    assert WebhookEvent.objects.get(pk=view.json()["event_id"]).tenant.slug == "salon-schmidt"


@pytest.mark.parametrize(("case", "status", "code"), [
    ("another tenant's secret", 401, "SIGNATURE_INVALID"),
    ("unknown slug", 404, "TENANT_NOT_FOUND"),
    ("template slug", 404, "TENANT_NOT_FOUND"),
    ("tenant host", 404, "NOT_FOUND"),
])
def test_a_calcom_delivery_the_front_cannot_accept_is_answered_by_django(front, django_app, calcom_connections, case, status, code):
    raw = body(calcom_ping())
    if case == "another tenant's secret":
        answer = calcom(front, raw, slug="salon-schmidt", secret="calcom-secret-physio")
    elif case == "unknown slug":
        answer = calcom(front, raw, slug="nobody")
    elif case == "template slug":
        answer = calcom(front, raw, slug="template")
    else:
        answer = calcom(front, raw, host="salon-schmidt.localhost")

    assert (answer.status_code, django_app.calls) == (status, 1)
    if answer.headers.get("Content-Type") == "application/json":
        assert answer.json()["error"]["code"] == code
    assert WebhookEvent.objects.count() == 0


def test_a_burst_of_calcom_deliveries_costs_one_statement_each_after_the_first(front, django_app, calcom_connections,
                                                                             monkeypatch, settings):
    settings.ASKPRO_TENANT_CACHE_SECONDS = 3600  # never expires within the test, however slow the machine
    monkeypatch.setitem(connection.settings_dict, "CONN_MAX_AGE", 60)
    connection.close()
    assert calcom(front, body({**calcom_ping(), "createdAt": "2026-03-01T10:00:00.000Z"})).status == "200 OK"

    with CaptureQueriesContext(connection) as queries:
        answer = calcom(front, body({**calcom_ping(), "createdAt": "2026-03-01T10:00:01.000Z"}))

    connection.close()
    assert (answer.status, django_app.calls) == ("200 OK", 0)
    assert [q["sql"].split(" ", 1)[0] for q in queries.captured_queries] == ["INSERT"]


def test_a_rotated_calcom_secret_works_at_once_and_the_old_one_is_refused(front, django_app, calcom_connections, settings):
    from django_tenants.utils import tenant_context

    from integrations.calcom.models import CalcomConnection
    from tenants.models import Tenant

    settings.ASKPRO_TENANT_CACHE_SECONDS = 3600  # never expires within the test, however slow the machine
    assert calcom(front, body({**calcom_ping(), "createdAt": "2026-03-01T10:00:00.000Z"})).status == "200 OK"
    # when the salon rotates its secret (the front still remembers the old one)
    with tenant_context(Tenant.objects.get(slug="salon-schmidt")):
        CalcomConnection.objects.update(webhook_secret="calcom-secret-rotated")
    connection.set_schema_to_public()

    rotated = calcom(front, body({**calcom_ping(), "createdAt": "2026-03-01T10:00:02.000Z"}), secret="calcom-secret-rotated")
    lean_again = calcom(front, body({**calcom_ping(), "createdAt": "2026-03-01T10:00:03.000Z"}), secret="calcom-secret-rotated")
    calls_before_old = django_app.calls
    old = calcom(front, body({**calcom_ping(), "createdAt": "2026-03-01T10:00:04.000Z"}))

    # then: the new secret is accepted at once (Django's fresh read), the front learns it, the old one is refused
    assert (rotated.status, lean_again.status) == ("200 OK", "200 OK")
    assert calls_before_old == 1  # only the first delivery with the new secret needed Django
    assert old.status.startswith("401") and django_app.calls == 2
    assert WebhookEvent.objects.filter(provider="calcom").count() == 3
