"""Operators create a tenant from the platform admin: the form validates at once, a Celery worker
runs the same service as ``manage.py tenant_create``, and the job's page shows how far it got."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from django.test import Client
from django_tenants.utils import schema_context

from tenants import services as tenant_services
from tenants.models import Domain, Tenant, TenantCreation
from tests.admin.operators import verified_login
from tests.conftest import wait_for

ADD = "/admin/tenants/tenant/add/"


@pytest.fixture
def operator(public_tenant) -> Client:
    tenant_services.create_operator(email="op@create.example", password="s3cret-pass!")
    client = Client(HTTP_HOST="localhost", HTTP_ACCEPT_LANGUAGE="de")
    verified_login(client, "op@create.example")
    return client


def _form(**changes: str) -> dict[str, str]:
    return {"name": "Friseur Klein", "slug": "friseur-klein", "domain": "", "admin_email": "inhaber@klein.example",
            "admin_password": "", "locale": "de", "time_zone": "Europe/Berlin", **changes}


def _jobs() -> int:
    with schema_context("public"):
        return TenantCreation.objects.count()


def test_the_create_tenant_form_opens_for_operators(operator):
    response = operator.get(ADD)

    assert response.status_code == 200
    page = response.content.decode()
    assert "Mandant anlegen" in page and "Kurzname (Slug)" in page


@pytest.mark.parametrize(("changes", "field", "message"), [
    ({"slug": "salon-schmidt"}, "slug", "Ein Mandant mit dem Kurznamen salon-schmidt existiert bereits."),
    ({"domain": "physio-nord.localhost"}, "domain", "Die Domain physio-nord.localhost gehört bereits zu einem Mandanten."),
    ({"slug": "Salon Klein!"}, "slug", "Verwenden Sie 1–50 Kleinbuchstaben, Ziffern und einzelne Bindestriche."),
    ({"slug": "admin"}, "slug", "Dieser Slug ist reserviert."),
    ({"time_zone": "Europe/Atlantis"}, "time_zone", "Unbekannte Zeitzone."),
    ({"admin_email": "kein-at-zeichen"}, "admin_email", "Gib eine gültige E-Mail Adresse an."),
    ({"name": ""}, "name", "Dieses Feld ist zwingend erforderlich."),
])
def test_bad_input_is_shown_on_the_form_and_nothing_is_queued(operator, salon, physio, changes, field, message):
    response = operator.post(ADD, _form(**changes))

    assert response.status_code == 200
    assert response.context["form"].errors[field] == [message]
    assert f'data-errors="{field}"' in response.content.decode()
    assert _jobs() == 0


def test_a_slug_being_created_is_refused_a_second_time(operator, django_capture_on_commit_callbacks):
    with schema_context("public"):
        TenantCreation.objects.create(name="Friseur Klein", slug="friseur-klein", domain="friseur-klein.localhost")

    response = operator.post(ADD, _form())

    assert response.context["form"].errors["slug"] == ["Ein Mandant mit dem Kurznamen friseur-klein wird gerade angelegt."]
    assert _jobs() == 1


def test_a_job_whose_slug_was_taken_meanwhile_fails_with_the_german_reason(salon):
    with schema_context("public"):
        job = TenantCreation.objects.create(name="Zweiter Salon", slug="salon-schmidt", domain="zwei.localhost")

    finished = tenant_services.run_tenant_creation(job.pk)

    assert (finished.state, finished.error_code) == ("failed", "TENANT_ALREADY_EXISTS")
    assert finished.error == "Ein Mandant mit dem Slug salon-schmidt oder der Domain zwei.localhost existiert bereits."
    with schema_context("public"):
        assert not Domain.objects.filter(domain="zwei.localhost").exists()


@pytest.mark.slow
def test_a_worker_creates_the_tenant_and_the_page_shows_each_step_until_done(live_worker, public_tenant):
    # given an operator on the platform admin
    tenant_services.create_operator(email="op@worker.example", password="s3cret-pass!")
    client = Client(HTTP_HOST="localhost", HTTP_ACCEPT_LANGUAGE="de")
    verified_login(client, "op@worker.example")

    # when the form is sent
    response = client.post(ADD, _form())

    # then the job page follows the worker to the end
    assert response.status_code == 302
    job = TenantCreation.objects.get()
    assert response["Location"] == f"/admin/tenants/tenantcreation/{job.pk}/change/"
    done = wait_for(lambda: TenantCreation.objects.filter(pk=job.pk, state__in=["done", "failed"]).first(), timeout=180)
    assert (done.state, done.error) == ("done", "")
    tenant = Tenant.objects.get(slug="friseur-klein")
    assert (done.tenant_id, tenant.schema_name, tenant.primary_domain) == (tenant.pk, "friseur_klein", "friseur-klein.localhost")
    with schema_context("friseur_klein"):
        owner = get_user_model().objects.get(username="inhaber@klein.example")
        assert list(owner.groups.values_list("name", flat=True)) == ["admin"]

    page = client.get(response["Location"]).content.decode()
    assert 'data-state="done"' in page and "Erledigt." in page and "http://friseur-klein.localhost:8000/admin/" in page
    password = page.split("data-password>")[1].split("<")[0]
    with schema_context("friseur_klein"):
        assert get_user_model().objects.get(username="inhaber@klein.example").check_password(password)
    again = client.get(response["Location"]).content.decode()
    assert "data-password" not in again  # shown once
    assert TenantCreation.objects.get(pk=job.pk).requested_by == "op@worker.example"


def test_the_job_page_shows_the_step_reached_and_refreshes_until_finished(operator):
    with schema_context("public"):
        job = TenantCreation.objects.create(name="Friseur Klein", slug="friseur-klein", domain="friseur-klein.localhost",
                                            state="schema")

    page = operator.get(f"/admin/tenants/tenantcreation/{job.pk}/change/").content.decode()

    assert 'data-state="schema"' in page
    assert "<strong>Datenbankschema wird angelegt</strong>" in page
    assert "window.location.reload()" in page


def test_a_requested_tenant_is_owed_in_the_outbox_and_created_though_the_broker_was_down(
    public_tenant, django_capture_on_commit_callbacks,
):
    from askpro import outbox
    from integrations.models import OutboxEffect
    from tests.fixtures.integrations import broker_unreachable

    # when the operator's request is stored while Redis (the broker) is down
    with broker_unreachable(), django_capture_on_commit_callbacks(execute=True):
        job = tenant_services.request_tenant_creation(name="Friseur Klein", slug="friseur-klein",
                                                      admin_email="inhaber@klein.example", requested_by="op@x.example")

    # then the creation is owed in the same transaction as the job, not lost with the publish
    with schema_context("public"):
        owed = OutboxEffect.objects.get(handler=tenant_services.CREATE_TENANT_EFFECT)
        assert (owed.key, owed.status, owed.payload) == (f"tenant-creation:{job.pk}", "pending", {"job_id": job.pk})
        assert TenantCreation.objects.get(pk=job.pk).state == "queued"

    # and once delivered (by the dispatcher or the sweeper) the tenant exists, exactly once
    outbox.deliver_pending()
    outbox.deliver_pending()
    with schema_context("public"):
        done = TenantCreation.objects.get(pk=job.pk)
        assert (done.state, done.error) == ("done", "")
        assert Tenant.objects.filter(slug="friseur-klein").count() == 1
        assert OutboxEffect.objects.get(pk=owed.pk).status == "done"
