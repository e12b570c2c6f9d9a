"""Operator-only endpoints (detailed health, diagnostics probe) and media behind authorisation."""

from __future__ import annotations

import importlib

from django.test import Client
from django.urls import clear_url_caches

from askpro import health
from billing.models import Topup
from tenants import services as tenant_services
from tests.billing.test_admin import two_tenants_billing  # noqa: F401 - fixture
from tests.conftest import PHYSIO_HOST, SALON_HOST
from tests.fixtures.security import login_operator

TOKEN = "ops-token-for-tests"


def _counting_check(calls: list[int]) -> dict[str, str]:
    calls.append(1)
    return {"status": "ok"}


def test_detailed_health_is_refused_to_the_public_without_calling_any_provider(public_client, settings):
    # given a configured token and an integration check that counts its calls
    settings.HEALTH_TOKEN = TOKEN
    calls: list[int] = []
    health.register_integration_check("counting", lambda: _counting_check(calls))
    try:
        # when anonymous callers (no token, a wrong token, a tenant host) ask for the details
        responses = [
            public_client.get("/api/health/detailed"),
            public_client.get("/api/health/detailed", HTTP_AUTHORIZATION="Bearer wrong"),
            public_client.get("/api/health/detailed", HTTP_AUTHORIZATION=TOKEN),
            Client(HTTP_HOST=SALON_HOST).get("/api/health/detailed"),
        ]
    finally:
        health._integration_checks.pop("counting")

    # then each is a JSON 403 and no provider was asked
    assert [r.status_code for r in responses] == [403, 403, 403, 403]
    assert {r.json()["error"]["code"] for r in responses} == {"OPERATOR_ONLY"}
    assert calls == []


def test_detailed_health_answers_the_bearer_token(public_client, settings):
    settings.HEALTH_TOKEN = TOKEN

    response = public_client.get("/api/health/detailed", HTTP_AUTHORIZATION=f"Bearer {TOKEN}")

    assert response.status_code == 200
    assert set(response.json()["checks"]) == {"database", "cache", "queue"}


def test_detailed_health_needs_a_token_to_be_configured(public_client, settings):
    settings.HEALTH_TOKEN = ""

    response = public_client.get("/api/health/detailed", HTTP_AUTHORIZATION="Bearer ")

    assert response.status_code == 403


def test_detailed_health_answers_an_operator_session_with_the_second_factor(public_client, settings):
    settings.HEALTH_TOKEN = ""
    tenant_services.create_operator(email="op@askpro.example", password="s3cret-pass!")
    assert login_operator(public_client, "op@askpro.example", "s3cret-pass!").status_code == 302

    response = public_client.get("/api/health/detailed")

    assert response.status_code == 200
    assert "integrations" in response.json()


def test_a_tenant_admin_session_is_not_an_operator(salon, settings):
    settings.HEALTH_TOKEN = ""
    tenant_services.create_tenant_user(salon, email="chefin@salon.example", role="admin", password="s3cret-pass!")
    client = Client(HTTP_HOST=SALON_HOST)
    client.post("/admin/login/", {"username": "chefin@salon.example", "password": "s3cret-pass!"})

    assert client.get("/api/health/detailed").status_code == 403


def test_public_health_shows_no_exception_text_when_a_check_fails(public_client, settings):
    # given a queue that cannot be reached
    settings.CELERY_BROKER_URL = "redis://127.0.0.1:1/0"
    settings.HEALTH_TOKEN = TOKEN

    public = public_client.get("/api/health")
    detailed = public_client.get("/api/health/detailed", HTTP_AUTHORIZATION=f"Bearer {TOKEN}")

    # then the public answer carries statuses only; the operator sees the error
    assert public.json()["checks"] == {"database": "ok", "cache": "ok", "queue": "down"}
    assert "Error" not in public.content.decode() and "127.0.0.1" not in public.content.decode()
    assert "Error" in detailed.json()["checks"]["queue"]["error"]


def test_an_anonymous_post_cannot_queue_a_probe_task(salon_client, settings, django_capture_on_commit_callbacks):
    settings.HEALTH_TOKEN = TOKEN

    with django_capture_on_commit_callbacks() as callbacks:
        response = salon_client.post("/api/diagnostics/task-probe")
        result = salon_client.get(f"/api/diagnostics/task-probe/{'a' * 32}")

    assert response.status_code == 403
    assert response.json()["error"]["code"] == "OPERATOR_ONLY"
    assert result.status_code == 403
    assert callbacks == []


def test_media_files_are_not_served_even_with_debug_on(public_tenant, settings, tmp_path):
    # given an invoice PDF at its usual, guessable place
    settings.MEDIA_ROOT = tmp_path
    (tmp_path / "invoices" / "2026").mkdir(parents=True)
    (tmp_path / "invoices" / "2026" / "AP-2026-000001.pdf").write_bytes(b"%PDF-1.7 secret")
    settings.DEBUG = True
    import askpro.urls_public

    importlib.reload(askpro.urls_public)
    clear_url_caches()
    try:
        response = Client(HTTP_HOST="localhost").get("/media/invoices/2026/AP-2026-000001.pdf")
    finally:
        settings.DEBUG = False
        importlib.reload(askpro.urls_public)
        clear_url_caches()

    assert response.status_code == 404
    assert b"secret" not in response.content


def test_invoice_pdfs_need_a_login_of_the_tenant_with_billing_rights(salon, physio, two_tenants_billing):  # noqa: F811
    _sa, _pa, salon_invoice, _pi = two_tenants_billing
    url = f"/admin/billing/invoice/{salon_invoice.pk}/pdf/"
    tenant_services.create_tenant_user(salon, email="anna@salon.example", role="staff", password="s3cret-pass!")
    tenant_services.create_tenant_user(physio, email="chef@physio.example", role="admin", password="s3cret-pass!")
    staff = Client(HTTP_HOST=SALON_HOST)
    staff.post("/admin/login/", {"username": "anna@salon.example", "password": "s3cret-pass!"})
    other = Client(HTTP_HOST=PHYSIO_HOST)
    other.post("/admin/login/", {"username": "chef@physio.example", "password": "s3cret-pass!"})

    anonymous = Client(HTTP_HOST=SALON_HOST).get(url)
    by_staff = staff.get(url)
    by_other_tenant = other.get(url)

    assert anonymous.status_code == 302 and anonymous["Location"].startswith("/admin/login/")
    assert by_staff.status_code == 403
    assert by_other_tenant.status_code == 404
    assert all(r["Content-Type"] != "application/pdf" for r in (anonymous, by_staff, by_other_tenant))


def test_receipts_need_a_login_of_the_tenant_with_billing_rights(salon, physio, salon_account):
    topup = Topup.objects.create(account=salon_account, amount_cents=2500, status=Topup.Status.SUCCEEDED)
    url = f"/admin/billing/topup/{topup.pk}/receipt/"
    tenant_services.create_tenant_user(salon, email="anna@salon.example", role="staff", password="s3cret-pass!")
    tenant_services.create_tenant_user(physio, email="chef@physio.example", role="admin", password="s3cret-pass!")
    staff = Client(HTTP_HOST=SALON_HOST)
    staff.post("/admin/login/", {"username": "anna@salon.example", "password": "s3cret-pass!"})
    other = Client(HTTP_HOST=PHYSIO_HOST)
    other.post("/admin/login/", {"username": "chef@physio.example", "password": "s3cret-pass!"})

    anonymous = Client(HTTP_HOST=SALON_HOST).get(url)
    by_staff = staff.get(url)
    by_other_tenant = other.get(url)

    assert anonymous.status_code == 302 and anonymous["Location"].startswith("/admin/login/")
    assert by_staff.status_code == 403
    assert by_other_tenant.status_code == 404
