from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandParser
from django.db import connection
from django_tenants.utils import get_public_schema_name

from askpro.dbroles import grant_app_role
from tenants.models import Tenant


class Command(BaseCommand):
    help = (
        "Run as the owner role after migrations: grant the application role DML on every schema "
        "(no TRUNCATE, no DDL) and default privileges for schemas and tables created later."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("app_role", help="The role web and worker processes connect as")

    def handle(self, *args: Any, **options: Any) -> None:
        schemas = [get_public_schema_name(), *Tenant.objects.exclude(
            schema_name=get_public_schema_name()).values_list("schema_name", flat=True)]
        with connection.cursor() as cursor:
            cursor.execute("SELECT current_user, current_database()")
            owner, database = cursor.fetchone()
            grant_app_role(cursor, app_role=options["app_role"], owner_role=owner, database=database, schemas=schemas)
        self.stdout.write(f"Granted {options['app_role']} DML on {len(schemas)} schema(s); default privileges of {owner}.")
