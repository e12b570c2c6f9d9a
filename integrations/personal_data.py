"""Personal data in the webhook inbox and the outbox (contract: privacy.contract).

Both live in the public schema. The inbox keeps every delivery's raw body so that it can be
inspected and retried: a Retell ``call_ended`` carries the caller's number and the transcript, a
Cal.com booking the attendee's name, e-mail and phone. Outbox payloads may quote a number too.

A delivery belongs to the customer when it is this tenant's and its body names them: one of their
numbers (international digits, so ``+49…`` and ``0049…`` match, or the national ``0…`` form), their
e-mail address (any case), a Cal.com booking uid of their appointments or the id of a call of
theirs. Erasure blanks the body, the parsed payload and the last error of every such finished
delivery (processed, ignored, malformed) (and the payload of every such finished outbox effect) and keeps the row: type, times and
status still prove that it arrived and was handled once. A delivery or effect still waiting for a
worker, or failed and waiting for an operator's retry, is left alone, because its effect is owed (a
call to bill, a booking to record); erasure counts it as ``inbox_pending``, and a later erasure or
retention blanks it.

Retention blanks the bodies of this tenant's finished and failed deliveries older than the
transcript period (they carry transcripts). ``blank_old_deliveries`` does the same platform-wide
after ``WEBHOOK_BODY_RETENTION_DAYS`` (daily, beat), including deliveries no tenant was found for.
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

from django.db import connection, transaction
from django.utils import timezone

from askpro.tenancy import current_schema, current_tenant
from integrations.calcom.models import BookingSync
from integrations.models import OutboxEffect, WebhookEvent
from privacy.contract import Identity, RetentionRules

PERSONAL_PROVIDERS = (WebhookEvent.Provider.RETELL.value, WebhookEvent.Provider.CALCOM.value)
FINISHED = [status.value for status in WebhookEvent.FINAL_STATUSES]
# owed: waiting for a worker, or failed and waiting for an operator's retry
OWED = [*(status.value for status in WebhookEvent.PENDING_STATUSES), WebhookEvent.Status.FAILED.value]
# what retention blanks once old: everything but what still waits for a worker
EXPIRABLE = [*FINISHED, WebhookEvent.Status.FAILED.value]
# shortest needle worth matching: shorter strings (a short uid, a stub number) would hit strangers
MIN_NEEDLE = 6


def _erased_marker(now: dt.datetime, why: str) -> str:
    return json.dumps({"erased": why, "erased_at": now.isoformat()})


def needles(person: Identity) -> list[str]:
    """The strings whose presence in a body names the customer (lower case)."""
    from calls.personal_data import call_ids

    found: set[str] = set()
    for phone in person.phones:
        digits = "".join(ch for ch in phone if ch.isdigit())
        if phone.startswith("+"):
            found.add(digits)  # "+4915…", "004915…", "4915…"
            if digits.startswith("49"):
                found.add("0" + digits[2:])  # "015…"
        else:
            found.add(digits)
    if person.email:
        found.add(person.email.strip().lower())
    for uid, previous in BookingSync.objects.filter(appointment_id__in=person.appointment_ids).values_list(
            "booking_uid", "previous_uids"):
        found.update(u.lower() for u in [uid, *(previous or [])] if u)
    found.update(call_id.lower() for call_id in call_ids(person) if call_id)
    return sorted(n for n in found if len(n) >= MIN_NEEDLE)


_NAMES_THEM = (
    "(EXISTS (SELECT 1 FROM unnest(%(raw)s::bytea[]) AS n WHERE position(n IN e.raw_body) > 0)"
    " OR EXISTS (SELECT 1 FROM unnest(%(text)s::text[]) AS n WHERE strpos(lower(e.payload::text), n) > 0))"
)


def _tenant_id() -> int | None:
    """The tenant whose schema the connection is in (also when switched by schema name only)."""
    from tenants.models import Tenant

    tenant = current_tenant()
    if tenant is not None:
        return int(tenant.pk)
    return Tenant.objects.filter(schema_name=current_schema()).values_list("pk", flat=True).first()


def _params(tenant: int, person_needles: list[str]) -> dict[str, Any]:
    return {"tenant": tenant, "providers": list(PERSONAL_PROVIDERS),
            "raw": [n.encode() for n in person_needles],
            "text": person_needles}


def export(customer_id: int) -> dict[str, Any]:
    from appointments.personal_data import identity

    person_needles = needles(identity(customer_id))
    tenant = _tenant_id()
    if not person_needles or tenant is None:
        return {"webhook_deliveries": []}
    table = connection.ops.quote_name(WebhookEvent._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT e.provider, e.event_type, e.received_at, e.status, octet_length(e.raw_body) > 0 FROM {table} AS e"  # noqa: S608 (constant table names; values are parameters)
            " WHERE e.tenant_id = %(tenant)s AND e.provider = ANY(%(providers)s) AND " + _NAMES_THEM
            + " ORDER BY e.received_at, e.id",
            _params(tenant, person_needles),
        )
        rows = cursor.fetchall()
    return {"webhook_deliveries": [
        {"provider": provider, "event_type": event_type, "received_at": received_at, "status": status,
         "body_kept": kept}
        for provider, event_type, received_at, status, kept in rows
    ]}


def erase(person: Identity, now: dt.datetime | None = None) -> dict[str, int]:
    now = now or timezone.now()
    person_needles = needles(person)
    tenant = _tenant_id()
    if not person_needles or tenant is None:
        return {"inbox": 0, "inbox_pending": 0, "outbox": 0}
    params = _params(tenant, person_needles) | {"finished": FINISHED, "owed": OWED,
                                        "marker": _erased_marker(now, "Art. 17 DSGVO")}
    table = connection.ops.quote_name(WebhookEvent._meta.db_table)
    outbox = connection.ops.quote_name(OutboxEffect._meta.db_table)
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {table} AS e SET raw_body = ''::bytea, payload = %(marker)s::jsonb, last_error = ''"  # noqa: S608 (constant table names; values are parameters)
            " WHERE e.tenant_id = %(tenant)s AND e.provider = ANY(%(providers)s) AND e.status = ANY(%(finished)s)"
            " AND octet_length(e.raw_body) + length(coalesce(e.payload::text, '')) > 0 AND " + _NAMES_THEM,
            params,
        )
        erased = cursor.rowcount
        cursor.execute(
            f"SELECT count(*) FROM {table} AS e WHERE e.tenant_id = %(tenant)s AND e.provider = ANY(%(providers)s)"  # noqa: S608 (constant table names; values are parameters)
            " AND e.status = ANY(%(owed)s) AND " + _NAMES_THEM,
            params,
        )
        pending = cursor.fetchone()[0]
        cursor.execute(
            f"UPDATE {outbox} AS e SET payload = '{{}}'::jsonb, last_error = ''"  # noqa: S608 (constant table names; values are parameters)
            " WHERE e.schema_name = %(schema)s AND e.status = %(done)s AND e.payload <> '{}'::jsonb"
            " AND EXISTS (SELECT 1 FROM unnest(%(text)s::text[]) AS n WHERE strpos(lower(e.payload::text), n) > 0)",
            params | {"schema": current_schema(), "done": OutboxEffect.Status.DONE.value},
        )
        effects = cursor.rowcount
    return {"inbox": erased, "inbox_pending": pending, "outbox": effects}


def apply_retention(rules: RetentionRules, now: dt.datetime) -> dict[str, int]:
    cutoff = rules.cutoff(now, rules.transcript_days)
    tenant = _tenant_id()
    if cutoff is None or tenant is None:
        return {"webhook_bodies": 0}
    return {"webhook_bodies": _blank_before(cutoff, now, "retention", tenant=tenant)}


def blank_old_deliveries(days: int, *, now: dt.datetime | None = None, batch_size: int = 5000) -> int:
    """Platform retention: blank the bodies of every finished or failed Retell and Cal.com
    delivery received more than ``days`` ago, also those no tenant was ever found for (a call to
    an unknown number); rows stay. In batches, so no long lock on the inbox. Returns the count."""
    if days <= 0:
        return 0
    now = now or timezone.now()
    cutoff = now - dt.timedelta(days=days)
    total = 0
    while True:
        with transaction.atomic():
            blanked = _blank_before(cutoff, now, "platform retention", limit=batch_size)
        total += blanked
        if blanked < batch_size:
            return total


def _blank_before(cutoff: dt.datetime, now: dt.datetime, why: str, *, tenant: int | None = None,
                  limit: int | None = None) -> int:
    table = connection.ops.quote_name(WebhookEvent._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {table} SET raw_body = ''::bytea, payload = %(marker)s::jsonb, last_error = ''"  # noqa: S608 (constant table names; values are parameters)
            f" WHERE id IN (SELECT e.id FROM {table} AS e WHERE e.provider = ANY(%(providers)s)"
            " AND e.status = ANY(%(finished)s) AND e.received_at < %(cutoff)s AND octet_length(e.raw_body) > 0"
            " AND (%(tenant)s::bigint IS NULL OR e.tenant_id = %(tenant)s) ORDER BY e.id LIMIT %(limit)s"
            " FOR UPDATE SKIP LOCKED)",
            {"tenant": tenant, "providers": list(PERSONAL_PROVIDERS), "finished": EXPIRABLE, "cutoff": cutoff,
             "marker": _erased_marker(now, why), "limit": limit},
        )
        return int(cursor.rowcount)
