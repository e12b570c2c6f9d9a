"""Every admin URL per role against the declared matrix in tenants/roles.py."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.test import Client
from django_tenants.utils import schema_context, tenant_context

from askpro.admin_sites import platform_admin_site, tenant_admin_site
from tenants import services as tenant_services
from tenants.roles import (
    ADMIN_ACTIONS,
    ADMIN_PAGES,
    BRANCH_SCOPABLE_ROLES,
    BRANCH_SCOPED_ADMIN_MODELS,
    PLATFORM_ROLES,
    TENANT_ROLES,
    admin_action_allowed,
    admin_page_allowed,
)
from tests.conftest import SALON_HOST, admin_action_names
from tests.fixtures.security import login_operator


def _urls(model: Any, obj: Any) -> dict[str, str]:
    base = f"/admin/{model._meta.app_label}/{model._meta.model_name}/"
    urls = {"changelist": base, "add": f"{base}add/"}
    if obj is not None:
        urls |= {"change": f"{base}{obj.pk}/change/", "history": f"{base}{obj.pk}/history/",
                 "delete": f"{base}{obj.pk}/delete/"}
    return urls


def _mismatches(site: Any, client: Client, role: str, *, platform: bool) -> list[str]:
    wrong = []
    for model in site._registry:
        label = model._meta.label_lower
        rows = model._default_manager.order_by("pk")
        if label == "tenants.tenant":
            rows = rows.exclude(schema_name="public")  # the platform itself is not listed
        obj = rows.first()
        for page, url in _urls(model, obj).items():
            assert page in ADMIN_PAGES
            status = client.get(url).status_code
            expected = 200 if admin_page_allowed(role, label, page, platform=platform,
                                                 row_exists=obj is not None) else 403
            if status != expected:
                wrong.append(f"{role} {page} {url}: {status}, matrix says {expected}")
    return wrong


def _declared_actions(site: Any, *, platform: bool) -> list[tuple[Any, str, str]]:
    """(model, url path, url) of every declared action of the site; fails on an undeclared dialog."""
    found, undeclared = [], []
    for model, model_admin in site._registry.items():
        label = model._meta.label_lower
        site_key = f"{label}@{'platform' if platform else 'tenant'}"
        base = f"/admin/{model._meta.app_label}/{model._meta.model_name}/"
        obj = model._default_manager.order_by("pk").first()
        for kind in ("actions_detail", "actions_list"):
            for name in admin_action_names(getattr(model_admin, kind, ())):
                method = getattr(model_admin, name)
                path = getattr(method, "url_path", name)
                declared = (site_key, path) in ADMIN_ACTIONS or (label, path) in ADMIN_ACTIONS
                if not declared:
                    if getattr(method, "askpro_dialog", None) is not None:
                        undeclared.append(f"{label} {path}")
                    continue
                if kind == "actions_list":
                    found.append((model, path, f"{base}{path}/"))
                elif obj is not None:
                    found.append((model, path, f"{base}{obj.pk}/{path}/"))
    assert undeclared == [], "declare these admin actions in tenants/roles.py ADMIN_ACTIONS"
    return found


def _action_mismatches(site: Any, client: Client, role: str, *, platform: bool) -> list[str]:
    wrong = []
    for model, path, url in _declared_actions(site, platform=platform):
        status = client.get(url).status_code
        allowed = admin_action_allowed(role, model._meta.label_lower, path, platform=platform)
        if (status in (200, 302)) != allowed or status not in (200, 302, 403):
            wrong.append(f"{role} action {url}: {status}, matrix says {'allowed' if allowed else 403}")
    return wrong


@pytest.fixture
def salon_rows(erika_haarschnitt: Any, in_salon: Any) -> None:
    from calls import services as call_services
    from tests.fixtures.calls import call_object

    call_services.apply_call_event({"event": "call_ended", "call": {**call_object("call_matrix"), "duration_ms": 61000,
                                                                     "end_timestamp": 1767200061000}})
    call_services.request_callback(phone="+4915112345678", call_id="call_matrix", reason="no_slot")


def test_every_tenant_admin_page_answers_each_role_as_the_matrix_says(salon, salon_rows, in_salon):
    wrong = []
    for role in TENANT_ROLES:
        email = f"{role}@matrix.example"
        tenant_services.create_tenant_user(salon, email=email, role=role, password="s3cret-pass!")
        client = Client(HTTP_HOST=SALON_HOST)
        client.force_login(get_user_model().objects.get(username=email))
        with tenant_context(salon):
            wrong += _mismatches(tenant_admin_site, client, role, platform=False)

    assert wrong == []


def test_branch_scoped_roles_follow_the_matrix_in_their_branch_and_get_404_for_another(
    salon, salon_rows, in_salon, branch_mitte, erika_at_nord,
):
    from django.apps import apps

    from appointments import access
    from appointments import services as booking
    from appointments.models import Appointment
    from notifications.events import REMINDER_24H
    from notifications.models import NotificationDelivery

    # given: a row of each branch-scoped page in the other branch (the first rows are Mitte's)
    for appointment in Appointment.objects.order_by("pk"):  # Mitte's first
        booking.reschedule_appointment(appointment_id=appointment.pk, source="admin", actor="admin:test",
                                       new_starts_at=appointment.starts_at + timedelta(hours=1))
    for appointment in Appointment.objects.order_by("pk"):  # Mitte's first
        NotificationDelivery.objects.create(appointment=appointment, customer=appointment.customer, event=REMINDER_24H,
                                            channel="sms", recipient="+4915112345678",
                                            dedupe_key=f"matrix-{appointment.pk}")
    other_rows = {label: apps.get_model(label).objects.filter(
        **{"branch" if label.endswith((".appointment", ".recurringseries")) else "appointment__branch":
           erika_at_nord.branch}).order_by("pk").first() for label in BRANCH_SCOPED_ADMIN_MODELS}
    wrong = []
    for role in BRANCH_SCOPABLE_ROLES:
        email = f"{role}-mitte@matrix.example"
        tenant_services.create_tenant_user(salon, email=email, role=role, password="s3cret-pass!")
        user = get_user_model().objects.get(username=email)
        access.assign_branches(user, [branch_mitte])
        client = Client(HTTP_HOST=SALON_HOST)
        client.force_login(user)

        # when / then: every page of the own branch as the matrix says
        with tenant_context(salon):
            wrong += _mismatches(tenant_admin_site, client, role, platform=False)
        # and another branch's rows are not there
        for label, row in other_rows.items():
            if row is None or not admin_page_allowed(role, label, "change"):
                continue
            model = row._meta
            base = f"/admin/{model.app_label}/{model.model_name}/"
            for page in ("change", "history"):
                status = client.get(f"{base}{row.pk}/{page}/").status_code
                if status != 404:
                    wrong.append(f"{role} {label} {page} of another branch: {status}, expected 404")
            listed = client.get(base).context["cl"].result_list
            if row.pk in [r.pk for r in listed]:
                wrong.append(f"{role} {label}: another branch's row listed")

    assert wrong == []
    assert [label for label, row in other_rows.items() if row is None] == ["appointments.recurringseries"]


def test_every_tenant_admin_action_answers_each_role_as_the_matrix_says(salon, salon_rows, in_salon):
    wrong = []
    opened = []
    for role in TENANT_ROLES:
        email = f"{role}@actions.example"
        tenant_services.create_tenant_user(salon, email=email, role=role, password="s3cret-pass!")
        client = Client(HTTP_HOST=SALON_HOST)
        client.force_login(get_user_model().objects.get(username=email))
        with tenant_context(salon):
            opened = _declared_actions(tenant_admin_site, platform=False)
            wrong += _action_mismatches(tenant_admin_site, client, role, platform=False)

    assert wrong == []
    # the customer, appointment and call dialogs were all opened (rows exist for them)
    assert {path for _m, path, _u in opened} >= {"reschedule", "cancel", "book", "message", "note", "journey",
                                                  "create-appointment", "link-customer", "topup"}


def test_every_platform_admin_page_answers_the_operator_as_the_matrix_says(public_tenant, salon):
    wrong = []
    for role in PLATFORM_ROLES:
        email = f"{role}@matrix.example"
        tenant_services.create_operator(email=email, password="s3cret-pass!")
        client = Client(HTTP_HOST="localhost")
        assert login_operator(client, email, "s3cret-pass!").status_code == 302  # with the second factor
        with schema_context("public"):
            wrong += _mismatches(platform_admin_site, client, role, platform=True)

    assert wrong == []
