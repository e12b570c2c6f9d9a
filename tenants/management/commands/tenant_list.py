from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandParser
from django_tenants.utils import get_public_schema_name

from tenants.models import Tenant


class Command(BaseCommand):
    help = "List tenants with their schema, status and host names."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--all", action="store_true", help="Also show the public and template rows")

    def handle(self, *args: Any, **options: Any) -> None:
        tenants = Tenant.objects.prefetch_related("domains").order_by("slug")
        if not options["all"]:
            tenants = tenants.exclude(schema_name=get_public_schema_name()).filter(is_template=False)
        rows = [
            (t.slug, t.schema_name, t.status, t.locale, t.time_zone, ", ".join(d.domain for d in t.domains.all()), t.name)
            for t in tenants
        ]
        header = ("SLUG", "SCHEMA", "STATUS", "LANG", "TIME ZONE", "DOMAINS", "NAME")
        widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(len(header))]
        for row in [header, *rows]:
            self.stdout.write("  ".join(str(value).ljust(widths[i]) for i, value in enumerate(row)).rstrip())
        self.stdout.write(f"{len(rows)} tenant(s)")
