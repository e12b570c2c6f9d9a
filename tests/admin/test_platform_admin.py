"""Platform admin: honest retry counts, retry from the event page, the template tenant marked."""

from __future__ import annotations

import pytest
from django.contrib.messages import get_messages
from django.test import Client
from django_tenants.utils import schema_context

from integrations.models import WebhookEvent
from tenants import services as tenant_services
from tests.admin.operators import verified_login


@pytest.fixture
def operator(public_tenant) -> Client:
    tenant_services.create_operator(email="op@askpro.example", password="s3cret-pass!")
    client = Client(HTTP_HOST="localhost", HTTP_ACCEPT_LANGUAGE="de")
    verified_login(client, "op@askpro.example")
    return client


@pytest.fixture
def failed_event(public_tenant) -> WebhookEvent:
    with schema_context("public"):
        return WebhookEvent.objects.create(provider="stripe", event_key="evt_failed_1", event_type="charge.failed",
                                           status="failed", payload={"id": "evt_failed_1"}, last_error="boom")


def _messages(response) -> list[str]:
    return [str(message) for message in get_messages(response.wsgi_request)]


def test_retrying_from_a_status_filtered_list_counts_honestly(operator, failed_event):
    response = operator.post("/admin/integrations/webhookevent/?status__exact=failed",
                             {"action": "retry_selected", "_selected_action": [failed_event.pk]})

    assert response.status_code == 302
    assert _messages(response) == ["1 Ereignis(se) für einen weiteren Versuch eingereiht."]
    with schema_context("public"):
        assert WebhookEvent.objects.get(pk=failed_event.pk).status == "received"


def test_the_event_page_retries_the_event(operator, failed_event):
    page = operator.get(f"/admin/integrations/webhookevent/{failed_event.pk}/change/")
    assert f"/admin/integrations/webhookevent/{failed_event.pk}/retry/" in page.content.decode()

    response = operator.get(f"/admin/integrations/webhookevent/{failed_event.pk}/retry/")

    assert response.status_code == 302
    assert _messages(response) == ["1 Ereignis(se) für einen weiteren Versuch eingereiht."]
    with schema_context("public"):
        assert WebhookEvent.objects.get(pk=failed_event.pk).status == "received"


def test_the_template_tenant_is_marked_not_active(operator):
    page = operator.get("/admin/tenants/tenant/").content.decode()

    assert "Vorlage (kein Unternehmen)" in page
    assert "Schema name" not in page
