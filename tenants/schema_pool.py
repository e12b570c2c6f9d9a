"""Fast tenant schemas: a DDL script of the template, and a pool of ready copies.

Creating a tenant used to run django-tenants' ``clone_schema`` SQL function, which reads
``information_schema`` with regular expressions across the whole database: 1 s with a handful of
tenants, 6 s at 140 (benchmarks/tenants.py). Two things replace it:

* **Script clone.** ``pg_dump`` of the template schema (structure and seed rows: roles,
  permissions, content types, applied migrations) is taken once per template state and replayed
  under the new name in one transaction. Its cost does not depend on how many tenants exist.
* **Spare schemas.** A few copies are prepared ahead (``pool_<token>``, recorded in
  :class:`tenants.models.SpareSchema` with the template's fingerprint). Creating a tenant renames
  one (``ALTER SCHEMA ... RENAME``, a catalogue update) and a worker refills the pool.

The fingerprint is a digest of the template's applied migrations and its role permissions, so a
spare made before a migration or a role change is never handed out: the refill drops it.
"""

from __future__ import annotations

import hashlib
import logging
import re
import secrets
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings
from django.db import connection, transaction
from django_tenants.utils import get_public_schema_name, schema_context, schema_exists

from askpro.lru import BoundedCache

logger = logging.getLogger(__name__)

POOL_PREFIX = "pool_"
REFILL_LOCK = 0x41534B_504F4F4C  # "ASK" "POOL": one refill at a time
_script_cache: BoundedCache[str, str] = BoundedCache(1)  # the current template state only


@dataclass(frozen=True)
class PoolState:
    ready: int
    stale: int
    fingerprint: str


def template_fingerprint() -> str:
    """Digest of what a copy of the template contains besides empty tables."""
    base = settings.TENANT_BASE_SCHEMA
    with connection.cursor() as cursor:
        cursor.execute(
            f"""SELECT
                 (SELECT string_agg(app || '.' || name, ',' ORDER BY app, name)
                    FROM "{base}".django_migrations),
                 (SELECT string_agg(g.name || ':' || ct.app_label || '.' || p.codename, ','
                                    ORDER BY g.name, ct.app_label, p.codename)
                    FROM "{base}".auth_group g
                    JOIN "{base}".auth_group_permissions gp ON gp.group_id = g.id
                    JOIN "{base}".auth_permission p ON p.id = gp.permission_id
                    JOIN "{base}".django_content_type ct ON ct.id = p.content_type_id)"""  # noqa: S608
        )
        migrations, roles = cursor.fetchone()
    return hashlib.sha256(f"{migrations}|{roles}".encode()).hexdigest()[:32]


def _pg_dump() -> str:
    """pg_dump from pgserver's bundle (PostgreSQL 16, reads servers up to 16), else the PATH's."""
    try:
        import pgserver

        bundled = Path(pgserver.__file__).parent / "pginstall" / "bin" / "pg_dump"
        if bundled.exists():
            return str(bundled)
    except ImportError:  # pragma: no cover - pgserver is a dependency
        pass
    found = shutil.which("pg_dump")
    if not found:
        raise FileNotFoundError("pg_dump")
    return found


def template_script(fingerprint: str) -> str:
    """The template schema as SQL (structure and rows), with its name as ``{schema}``."""
    cached = _script_cache.get(fingerprint)
    if cached is not None:
        return cached
    db = connection.settings_dict
    command = [
        _pg_dump(), "--schema", settings.TENANT_BASE_SCHEMA, "--no-owner", "--no-privileges",
        "--inserts", "--rows-per-insert=1000", "--dbname", str(db["NAME"]),
        "--username", str(db["USER"]),
    ]
    if db.get("HOST"):
        command += ["--host", str(db["HOST"])]
    if db.get("PORT"):
        command += ["--port", str(db["PORT"])]
    env = {"PGPASSWORD": str(db.get("PASSWORD") or ""), "PATH": "/usr/bin:/bin"}
    dump = subprocess.run(command, check=True, capture_output=True, text=True, env=env).stdout  # noqa: S603
    kept = []
    for line in dump.splitlines():
        # Session settings of the dump's header would outlive the transaction; names are
        # schema-qualified throughout, so the replay needs none of them.
        if line.startswith(("SET ", "SELECT pg_catalog.set_config(", "--")) or not line.strip():
            continue
        kept.append(line)
    body = "\n".join(kept).replace("{", "{{").replace("}", "}}")
    script = re.sub(rf"\b{re.escape(settings.TENANT_BASE_SCHEMA)}\b", "{schema}", body)
    if "CREATE SCHEMA {schema};" not in script:
        raise RuntimeError("pg_dump did not produce the template schema")
    _script_cache[fingerprint] = script
    return script


def clone_template(schema_name: str, fingerprint: str | None = None) -> None:
    """Create ``schema_name`` as a copy of the template (structure and seed rows), atomically."""
    fingerprint = fingerprint or template_fingerprint()
    script = template_script(fingerprint).format(schema=schema_name)
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SET LOCAL check_function_bodies = false")
        cursor.execute(script)


def claim(schema_name: str) -> bool:
    """Rename a ready spare copy to ``schema_name``; False when none is ready."""
    fingerprint = template_fingerprint()
    from tenants.models import SpareSchema

    with schema_context(get_public_schema_name()), transaction.atomic():
        spare = (
            SpareSchema.objects.select_for_update(skip_locked=True)
            .filter(fingerprint=fingerprint).order_by("created_at").first()
        )
        if spare is None:
            return False
        with connection.cursor() as cursor:
            cursor.execute(f'ALTER SCHEMA "{spare.schema_name}" RENAME TO "{schema_name}"')
        spare.delete()
    return True


def state() -> PoolState:
    from tenants.models import SpareSchema

    fingerprint = template_fingerprint()
    with schema_context(get_public_schema_name()):
        ready = SpareSchema.objects.filter(fingerprint=fingerprint).count()
        stale = SpareSchema.objects.exclude(fingerprint=fingerprint).count()
    return PoolState(ready=ready, stale=stale, fingerprint=fingerprint)


def refill(size: int | None = None) -> PoolState:
    """Drop stale spares and prepare copies until ``size`` (default ASKPRO_SCHEMA_POOL_SIZE) are ready."""
    from tenants.models import SpareSchema

    size = settings.ASKPRO_SCHEMA_POOL_SIZE if size is None else size
    fingerprint = template_fingerprint()
    with schema_context(get_public_schema_name()), transaction.atomic():
        # One refill at a time (a transaction-level lock: safe behind a transaction pooler).
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_try_advisory_xact_lock(%s)", [REFILL_LOCK])
            if not cursor.fetchone()[0]:
                return state()
        for spare in SpareSchema.objects.exclude(fingerprint=fingerprint):
            _drop(spare)
        missing = size - SpareSchema.objects.filter(fingerprint=fingerprint).count()
        for _ in range(max(missing, 0)):
            name = f"{POOL_PREFIX}{secrets.token_hex(6)}"
            clone_template(name, fingerprint)
            SpareSchema.objects.create(schema_name=name, fingerprint=fingerprint)
    return state()


def drain() -> int:
    """Drop every spare copy (e.g. before a migration window); returns how many."""
    from tenants.models import SpareSchema

    dropped = 0
    with schema_context(get_public_schema_name()):
        for spare in SpareSchema.objects.all():
            _drop(spare)
            dropped += 1
    return dropped


def _drop(spare: object) -> None:
    name = spare.schema_name  # type: ignore[attr-defined]
    with transaction.atomic():
        if schema_exists(name):
            with connection.cursor() as cursor:
                cursor.execute(f'DROP SCHEMA "{name}" CASCADE')
        spare.delete()  # type: ignore[attr-defined]
