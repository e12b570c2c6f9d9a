"""Business counts across every tenant schema in one query, grouped by tenant class.

A tenant class is (pricing plan name, tenant status): a handful of values an operator defines,
never the tenant itself, so metrics built on it have bounded series whatever the number of
tenants. Read by ``askpro.metrics`` at scrape time; every web process answers the same numbers.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from django.db import connection
from django_tenants.utils import get_public_schema_name, schema_context

NO_PLAN = "none"


@dataclass
class BusinessCounts:
    # (plan, tenant status, appointment source) -> appointments ever booked (never deleted: cancelled)
    bookings: Counter[tuple[str, str, str]] = field(default_factory=Counter)
    # (plan, tenant status, call status) -> calls
    calls: Counter[tuple[str, str, str]] = field(default_factory=Counter)
    # (channel, delivery status) -> notification deliveries
    notifications: Counter[tuple[str, str]] = field(default_factory=Counter)


def tenant_classes() -> dict[str, tuple[str, str]]:
    """schema name -> (plan name, status) of every real tenant (not the template, not public)."""
    from billing.models import BillingAccount
    from tenants.models import Tenant

    with schema_context(get_public_schema_name()):
        plans = dict(BillingAccount.objects.values_list("tenant_id", "plan__name"))
        return {
            schema: (plans.get(pk) or NO_PLAN, status)
            for pk, schema, status in Tenant.objects.filter(is_template=False)
            .exclude(schema_name=get_public_schema_name()).values_list("pk", "schema_name", "status")
        }


def _union(template: str, schemas: list[str]) -> str:
    quote = connection.ops.quote_name
    return " UNION ALL ".join(template.format(schema=quote(s), literal="%s") for s in schemas)


def business_counts() -> BusinessCounts:
    """Bookings, calls and notification deliveries of every tenant, grouped by tenant class."""
    from appointments.models import Appointment
    from calls.models import Call
    from notifications.models import NotificationDelivery

    classes = tenant_classes()
    counts = BusinessCounts()
    schemas = sorted(classes)
    if not schemas:
        return counts
    # Table names are model constants and schema names are quoted; the only values are bound.
    queries = {  # noqa: S608
        "bookings": f"SELECT {{literal}}, source, count(*) FROM {{schema}}.{Appointment._meta.db_table} GROUP BY source",  # noqa: S608
        "calls": f"SELECT {{literal}}, status, count(*) FROM {{schema}}.{Call._meta.db_table} GROUP BY status",  # noqa: S608
        "notifications": (f"SELECT {{literal}}, channel || '|' || status, count(*) "  # noqa: S608
                          f"FROM {{schema}}.{NotificationDelivery._meta.db_table} GROUP BY channel, status"),
    }
    with connection.cursor() as cursor:
        for name, template in queries.items():
            cursor.execute(_union(template, schemas), schemas)  # noqa: S608 (quoted names, bound values)
            for schema, value, count in cursor.fetchall():
                plan, status = classes[schema]
                if name == "bookings":
                    counts.bookings[(plan, status, value)] += count
                elif name == "calls":
                    counts.calls[(plan, status, value)] += count
                else:
                    channel, _sep, outcome = value.partition("|")
                    counts.notifications[(channel, outcome)] += count
    return counts
