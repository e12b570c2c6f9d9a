"""Crawl both admins as each role in German: every changelist, add and change page (one object each)
and every detail-action form; no page may show an English leftover or a raw enum value.

The Django test client covers every page (fast, one login per role); tests/browser/ drives a sample in
Chromium for what only JavaScript renders.
"""

from __future__ import annotations

import html
import re
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.test import Client
from django_tenants.utils import schema_context, tenant_context

from askpro.admin_sites import platform_admin_site, tenant_admin_site
from tenants import services as tenant_services
from tenants.roles import PLATFORM_ROLES, TENANT_ROLES
from tests.admin.operators import verified_login
from tests.conftest import SALON_HOST, admin_action_names

# Seen on German pages before (issue 13): English words and provider/enum values shown raw.
LEFTOVERS = [
    "Choose all", "Remove all", "Staff", "Branch", "Positive", "Negative", "user_hangup", "agent_hangup",
    "phone_call", "web_call", "FAILED", "Schema name", "Is primary", "Cent", "cents", "no_show", "in_progress",
    "at_risk", "not_connected", "Save", "Delete", "Löschen Kunde",
]
_PATTERN = re.compile(r"(?<![\w-])(" + "|".join(re.escape(word) for word in LEFTOVERS) + r")(?![\w-])")


def visible_text(content: bytes) -> str:
    text = content.decode()
    text = re.sub(r"<(script|style|template)\b.*?</\1>", " ", text, flags=re.S | re.I)
    text = re.sub(r"<!--.*?-->", " ", text, flags=re.S)
    text = re.sub(r"<[^>]+>", " ", text)
    return re.sub(r"\s+", " ", html.unescape(text))


def leftovers(content: bytes) -> list[str]:
    text = visible_text(content)
    return sorted({match.group(1) for match in _PATTERN.finditer(text)})


def _pages(site: Any) -> list[str]:
    urls = []
    for model, model_admin in site._registry.items():
        base = f"/admin/{model._meta.app_label}/{model._meta.model_name}/"
        urls += [base, f"{base}add/"]
        rows = model._default_manager.order_by("pk")
        if model._meta.label_lower == "tenants.tenant":
            rows = rows.exclude(schema_name="public")
        obj = rows.first()
        if obj is not None:
            urls.append(f"{base}{obj.pk}/change/")
            for name in admin_action_names(getattr(model_admin, "actions_detail", ())):
                method = getattr(model_admin, name, None)
                path = getattr(method, "url_path", None)
                if path and getattr(method, "askpro_dialog", None) is not None:  # askpro.admin_dialogs
                    urls.append(f"{base}{obj.pk}/{path}/")
    return urls


def _crawl(client: Client, urls: list[str], role: str) -> list[str]:
    found = []
    for url in urls:
        response = client.get(url)
        if response.status_code != 200 or "html" not in response.get("Content-Type", ""):
            continue
        words = leftovers(response.content)
        if words:
            found.append(f"{role} {url}: {', '.join(words)}")
    return found


@pytest.fixture
def salon_rows(erika_haarschnitt: Any, in_salon: Any) -> None:
    from calls import services as call_services
    from calls.models import Call
    from tests.fixtures.calls import call_object

    call_services.apply_call_event({"event": "call_ended", "call": {
        **call_object("call_crawl"), "duration_ms": 61000, "end_timestamp": 1767200061000,
        "disconnection_reason": "user_hangup", "call_type": "phone_call",
        "call_analysis": {"user_sentiment": "Positive", "call_summary": "Termin gewünscht."}}})
    Call.objects.filter(call_id="call_crawl").update(user_sentiment="Positive")
    call_services.request_callback(phone="+4915112345678", call_id="call_crawl", reason="no_slot")


def test_the_tenant_admin_is_german_for_every_role(salon, salon_rows, in_salon):
    found = []
    urls = _pages(tenant_admin_site)
    for role in TENANT_ROLES:
        email = f"{role}@crawl.example"
        tenant_services.create_tenant_user(salon, email=email, role=role, password="s3cret-pass!")
        client = Client(HTTP_HOST=SALON_HOST, HTTP_ACCEPT_LANGUAGE="de")
        client.force_login(get_user_model().objects.get(username=email))
        with tenant_context(salon):
            found += _crawl(client, urls, role)

    assert found == []


def test_the_platform_admin_is_german_for_the_operator(public_tenant, salon):
    found = []
    for role in PLATFORM_ROLES:
        email = f"{role}@crawl.example"
        tenant_services.create_operator(email=email, password="s3cret-pass!")
        client = Client(HTTP_HOST="localhost", HTTP_ACCEPT_LANGUAGE="de")
        verified_login(client, email)
        with schema_context("public"):
            found += _crawl(client, _pages(platform_admin_site), role)

    assert found == []
