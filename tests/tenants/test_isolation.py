from __future__ import annotations

import time

import pytest
from django.contrib.auth import get_user_model
from django.test import Client
from django_tenants.utils import tenant_context

from appointments.models import Customer
from tenants import services
from tests.conftest import PHYSIO_HOST, SALON_HOST, wait_for
from tests.fixtures.security import login_operator


def test_rows_written_in_one_tenant_are_invisible_in_the_other(salon, physio):
    with tenant_context(salon):
        Customer.objects.create(name="Erika Mustermann", phone="+4915112345678")

    with tenant_context(physio):
        assert Customer.objects.count() == 0
        assert not Customer.objects.filter(phone="+4915112345678").exists()
    with tenant_context(salon):
        assert Customer.objects.count() == 1


def test_a_tenant_user_can_log_in_on_their_host_only(salon, physio):
    services.create_tenant_user(salon, email="anna@salon.example", role="staff", password="s3cret-pass!")

    salon_client = Client(HTTP_HOST=SALON_HOST)
    physio_client = Client(HTTP_HOST=PHYSIO_HOST)

    ok = salon_client.post(
        "/admin/login/", {"username": "anna@salon.example", "password": "s3cret-pass!"}
    )
    assert ok.status_code == 302
    assert "_auth_user_id" in salon_client.session
    response = physio_client.post(
        "/admin/login/", {"username": "anna@salon.example", "password": "s3cret-pass!"}
    )
    assert response.status_code == 200  # the login form again, with an error
    assert "_auth_user_id" not in physio_client.session
    with tenant_context(physio):
        assert not get_user_model().objects.filter(username="anna@salon.example").exists()


def test_a_session_of_one_tenant_is_not_valid_on_another_host(salon, physio):
    services.create_tenant_user(salon, email="boss@salon.example", role="admin", password="s3cret-pass!")
    client = Client(HTTP_HOST=SALON_HOST)
    client.post("/admin/login/", {"username": "boss@salon.example", "password": "s3cret-pass!"})
    assert client.get("/admin/").status_code == 200
    session_cookie = client.cookies["sessionid"].value

    other = Client(HTTP_HOST=PHYSIO_HOST)
    other.cookies["sessionid"] = session_cookie
    response = other.get("/admin/")

    assert response.status_code == 302
    assert "/admin/login/" in response["Location"]


def test_an_unknown_host_gets_a_json_404(db):
    response = Client(HTTP_HOST="unknown.localhost").get("/admin/")

    assert response.status_code == 404
    assert response.json()["error"]["code"] == "TENANT_NOT_FOUND"


def test_a_suspended_tenant_refuses_requests(salon):
    services.set_tenant_status(salon, "suspended", reason="unpaid")

    response = Client(HTTP_HOST=SALON_HOST).get("/admin/login/")

    assert response.status_code == 403
    assert response.json()["error"]["code"] == "TENANT_SUSPENDED"


@pytest.mark.slow
def test_a_task_queued_from_a_tenant_request_runs_in_that_tenants_schema(live_worker, settings):
    # given two tenants' requests queueing the same probe task (an operator's diagnostics token)
    settings.HEALTH_TOKEN = "ops-token"
    auth = {"HTTP_AUTHORIZATION": "Bearer ops-token"}
    probes = {}
    for host, schema in ((SALON_HOST, "salon_schmidt"), (PHYSIO_HOST, "physio_nord")):
        response = Client(HTTP_HOST=host, **auth).post("/api/diagnostics/task-probe")
        assert response.status_code == 202
        assert response.json()["queued_in_schema"] == schema
        probes[host] = (response.json()["probe_id"], schema)

    # then the worker ran each in the schema of the request that queued it
    for host, (probe_id, schema) in probes.items():
        client = Client(HTTP_HOST=host, **auth)
        result = wait_for(
            lambda c=client, p=probe_id: c.get(f"/api/diagnostics/task-probe/{p}").json().get("worker_schema"),
            timeout=30,
        )
        assert result == schema
    # and one tenant cannot read the other's probe (the cache is tenant-prefixed)
    salon_probe = probes[SALON_HOST][0]
    assert Client(HTTP_HOST=PHYSIO_HOST, **auth).get(f"/api/diagnostics/task-probe/{salon_probe}").json()["status"] == "pending"
    time.sleep(0)


def test_the_platform_dashboard_shows_the_tenant_count_to_an_operator(public_tenant, salon, physio):
    from tenants.services import create_operator

    create_operator(email="op@askpro.example", password="op-pass-123!")
    client = Client(HTTP_HOST="localhost", HTTP_ACCEPT_LANGUAGE="en")
    login_operator(client, "op@askpro.example", "op-pass-123!")

    response = client.get("/admin/")

    assert response.status_code == 200
    cards = response.context["askpro_cards"]
    assert [(card.title, card.value) for card in cards if card.href.endswith("/tenants/tenant/")] == [("Tenants", "2")]
