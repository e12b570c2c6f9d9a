from __future__ import annotations

import pytest
from django.contrib.auth.models import Group
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection
from django_tenants.utils import schema_context, schema_exists

from tenants import services
from tenants.errors import InvalidTenantData, TemplateSchemaMissing, TenantAlreadyExists
from tenants.models import Domain, Tenant


def _applied_migrations(schema: str) -> int:
    with connection.cursor() as cursor:
        cursor.execute(f'SELECT count(*) FROM "{schema}".django_migrations')
        return int(cursor.fetchone()[0])


def test_a_new_tenant_is_cloned_from_the_template_with_its_roles(db):
    # when
    created = services.create_tenant(
        name="Barbier Berg", slug="barbier-berg", admin_email="Chef@Barbier-Berg.example"
    )

    # then
    tenant = created.tenant
    assert tenant.schema_name == "barbier_berg"
    assert schema_exists("barbier_berg")
    assert tenant.primary_domain == "barbier-berg.localhost"
    assert _applied_migrations("barbier_berg") == _applied_migrations("tenant_template")
    with schema_context("barbier_berg"):
        # roles were copied with the template's rows, not re-created
        assert sorted(Group.objects.values_list("name", flat=True)) == [
            "admin", "manager", "receptionist", "staff",
        ]
        from django.contrib.auth import get_user_model

        admin = get_user_model().objects.get(username="chef@barbier-berg.example")
        assert admin.is_staff and not admin.is_superuser
        assert list(admin.groups.values_list("name", flat=True)) == ["admin"]
        assert admin.check_password(created.admin_password)


def test_creating_a_duplicate_slug_is_refused_and_changes_nothing(salon):
    tenants_before = Tenant.objects.count()

    with pytest.raises(TenantAlreadyExists) as excinfo:
        services.create_tenant(name="Another Salon", slug="salon-schmidt", domain="other.localhost")

    assert excinfo.value.code == "TENANT_ALREADY_EXISTS"
    assert Tenant.objects.count() == tenants_before
    assert not Domain.objects.filter(domain="other.localhost").exists()


def test_creating_a_tenant_on_a_taken_domain_is_refused(salon):
    with pytest.raises(TenantAlreadyExists):
        services.create_tenant(name="Copy", slug="copy-cat", domain="salon-schmidt.localhost")
    assert not Tenant.objects.filter(slug="copy-cat").exists()
    assert not schema_exists("copy_cat")


def test_creation_refuses_to_silently_migrate_when_the_template_is_missing(db, settings):
    settings.TENANT_BASE_SCHEMA = "no_such_template"

    with pytest.raises(TemplateSchemaMissing):
        services.create_tenant(name="Slow Path", slug="slow-path")

    assert not Tenant.objects.filter(slug="slow-path").exists()
    assert not schema_exists("slow_path")


@pytest.mark.parametrize(
    ("field", "kwargs"),
    [
        ("slug", {"slug": "Bad Slug!"}),
        ("slug", {"slug": "template"}),
        ("time_zone", {"time_zone": "Mars/Olympus"}),
        ("name", {"name": "  "}),
    ],
)
def test_invalid_tenant_data_is_reported_per_field(db, field, kwargs):
    arguments = {"name": "Valid", "slug": "valid-slug", **kwargs}

    with pytest.raises(InvalidTenantData) as excinfo:
        services.create_tenant(**arguments)

    assert field in excinfo.value.details["fields"]
    assert not Tenant.objects.filter(name="Valid").exists()


def test_tenant_create_command_prints_the_admin_login(db, capsys):
    call_command(
        "tenant_create", "--name", "Kosmetik Klein", "--slug", "kosmetik-klein",
        "--domain", "kosmetik-klein.localhost", "--admin-email", "inhaberin@kosmetik.example",
    )

    out = capsys.readouterr().out
    assert "Created tenant Kosmetik Klein (schema kosmetik_klein)" in out
    assert "http://kosmetik-klein.localhost:8000/admin/" in out
    assert "Login:    inhaberin@kosmetik.example" in out
    assert "Password: " in out


def test_tenant_create_command_refuses_a_duplicate_with_a_command_error(salon):
    with pytest.raises(CommandError, match="TENANT_ALREADY_EXISTS"):
        call_command("tenant_create", "--name", "Salon Schmidt", "--slug", "salon-schmidt")


def test_tenant_list_shows_business_tenants_only(salon, physio, capsys):
    call_command("tenant_list")

    out = capsys.readouterr().out
    assert "salon-schmidt" in out and "physio-nord" in out
    assert "tenant_template" not in out
    assert out.strip().endswith("2 tenant(s)")


def test_roles_give_receptionists_bookings_but_not_api_keys_or_policies(in_salon):
    receptionist = Group.objects.get(name="receptionist")
    codenames = set(receptionist.permissions.values_list("codename", flat=True))

    assert {"add_appointment", "change_appointment", "view_customer"} <= codenames
    assert not {"add_apikey", "view_apikey", "change_policyconfiguration", "delete_appointment"} & codenames
    admin_codenames = set(Group.objects.get(name="admin").permissions.values_list("codename", flat=True))
    assert {"add_apikey", "change_policyconfiguration", "delete_appointment"} <= admin_codenames
