"""Demo data: the platform rows, two businesses and their logins.

Other apps add their own demo data in ``<app>/demo.py`` with ``seed_platform()`` and/or
``seed_tenant(tenant)``; ``manage.py seed_demo`` discovers and runs them in
``settings.ASKPRO_DOMAIN_APPS`` order. Every seeder is idempotent.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django_tenants.utils import tenant_context

from askpro.discovery import app_modules
from tenants import services
from tenants.models import Tenant

DEMO_PASSWORD = "askpro-demo"
OPERATOR_EMAIL = "operator@askpro.example"


@dataclass(frozen=True)
class DemoTenant:
    name: str
    slug: str
    users: tuple[tuple[str, str, str], ...]  # (email, role, name)


DEMO_TENANTS = (
    DemoTenant(
        "Salon Schmidt",
        "salon-schmidt",
        (
            ("admin@salon-schmidt.example", "admin", "Sabine Schmidt"),
            ("manager@salon-schmidt.example", "manager", "Markus Weber"),
            ("empfang@salon-schmidt.example", "receptionist", "Lena Koch"),
            ("anna@salon-schmidt.example", "staff", "Anna Becker"),
            # limited to the branch Prenzlauer Berg (appointments.demo.SALON_SCOPED_LOGINS)
            ("clara@salon-schmidt.example", "staff", "Clara Hoffmann"),
        ),
    ),
    DemoTenant(
        "Physio Nord",
        "physio-nord",
        (
            ("admin@physio-nord.example", "admin", "Jonas Nordmann"),
            ("empfang@physio-nord.example", "receptionist", "Mia Wolf"),
        ),
    ),
)


def operator_second_factor() -> tuple[str, str, list[str]]:
    """The demo operator's authenticator secret, current code and unused recovery codes (the
    platform admin requires a second factor; `make run` prints these so the demo stays usable)."""
    from django.contrib.auth import get_user_model
    from django_otp.oath import totp
    from django_otp.plugins.otp_static.models import StaticToken
    from django_otp.plugins.otp_totp.models import TOTPDevice
    from django_tenants.utils import get_public_schema_name, schema_context

    from askpro import admin_auth

    with schema_context(get_public_schema_name()):
        user = get_user_model().objects.get(username=OPERATOR_EMAIL)
        device = TOTPDevice.objects.filter(user=user, confirmed=True).first()
        if device is None:
            device, _codes = admin_auth.provision_totp(user)
        codes = list(
            StaticToken.objects.filter(device__user=user).order_by("pk").values_list("token", flat=True)
        )
        code = f"{totp(device.bin_key, step=device.step, t0=device.t0, digits=device.digits):06d}"
        return admin_auth.totp_secret(device), code, codes


def _seeders(function_name: str) -> list[Callable[..., Any]]:
    return [
        getattr(module, function_name)
        for module in app_modules("demo")
        if module.__name__ != __name__ and hasattr(module, function_name)
    ]


def seed(log: Callable[[str], None] = print) -> list[Tenant]:
    services.ensure_public_tenant()
    services.ensure_template_tenant()
    services.create_operator(email=OPERATOR_EMAIL, password=DEMO_PASSWORD, superuser=True)
    operator_second_factor()
    for seeder in _seeders("seed_platform"):
        seeder()

    tenants = []
    for demo in DEMO_TENANTS:
        tenant = Tenant.objects.filter(slug=demo.slug).first()
        if tenant is None:
            tenant = services.create_tenant(name=demo.name, slug=demo.slug).tenant
            log(f"created tenant {demo.name}")
        for email, role, name in demo.users:
            services.create_tenant_user(tenant, email=email, role=role, password=DEMO_PASSWORD, name=name)
        tenants.append(tenant)

    tenant_seeders = _seeders("seed_tenant")
    # Then what is derived from all the seeded rows (e.g. each customer's journey status).
    finishers = _seeders("finish_demo_tenant")
    for tenant in tenants:
        with tenant_context(tenant):
            for seeder in tenant_seeders:
                seeder(tenant)
            for finisher in finishers:
                finisher(tenant)
    return tenants
