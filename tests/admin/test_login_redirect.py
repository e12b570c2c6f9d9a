"""A login from a bookmarked /admin/login/ (no ?next=) lands on the admin index, in both admins."""

from __future__ import annotations

from django.test import Client

from tenants import services as tenant_services
from tests.conftest import SALON_HOST
from tests.fixtures.security import login_operator


def test_a_tenant_login_without_next_lands_on_the_admin_index(salon):
    tenant_services.create_tenant_user(salon, email="chefin@salon.example", role="admin", password="s3cret-pass!")
    client = Client(HTTP_HOST=SALON_HOST)

    response = client.post("/admin/login/", {"username": "chefin@salon.example", "password": "s3cret-pass!"})

    assert (response.status_code, response["Location"]) == (302, "/admin/")
    assert client.get("/admin/").status_code == 200


def test_an_operator_login_without_next_lands_on_the_platform_admin_index(public_tenant):
    tenant_services.create_operator(email="op@askpro.example", password="s3cret-pass!")
    client = Client(HTTP_HOST="localhost")

    response = login_operator(client, "op@askpro.example", "s3cret-pass!")  # password and TOTP code

    assert (response.status_code, response["Location"]) == (302, "/admin/")
    assert client.get("/admin/").status_code == 200
