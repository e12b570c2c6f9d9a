"""``migrate_schemas`` over many schemas: skip the current ones, migrate the rest in parallel.

django-tenants' executors run Django's whole ``migrate`` command in every schema, even when
nothing is to be done: loading the graph, rendering the project state and the post-migrate
signals cost about 0.2 s per schema, so a no-op deploy over 1,000 tenants took minutes. This
executor (``migrate_schemas --executor askpro``, the default through ``GET_EXECUTOR_FUNCTION``):

1. reads which migrations of the current graph each schema lacks, with **one** query over all
   schemas (a ``UNION ALL`` of anti-joins against each schema's ``django_migrations``; schemas
   without that table count as behind);
2. skips every schema that has all of them (a schema *behind* is never skipped);
3. migrates the others with django-tenants' per-schema ``run_migrations`` in
   ``TENANT_MULTIPROCESSING_MAX_PROCESSES`` forked processes (each one connection: bounded);
4. reports each failing schema with its error and exits non-zero at the end, after the other
   schemas were migrated (one broken tenant does not hold back a deploy of the others).

A run with a target (``app_label`` / ``migration_name``), ``--fake``, ``--fake-initial``,
``--plan``, ``--prune``, ``--check`` or ``--run-syncdb`` does not skip anything: those mean more
than "bring to the latest state".
"""

from __future__ import annotations

import multiprocessing
import sys
import traceback
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.core.management.base import CommandError
from django.db import connections
from django.db.migrations.executor import MigrationExecutor as DjangoMigrationExecutor
from django.db.migrations.loader import MigrationLoader
from django.db.migrations.recorder import MigrationRecorder
from django.db.migrations.state import ProjectState
from django_tenants.migration_executors import get_executor as tenants_get_executor
from django_tenants.migration_executors.base import MigrationExecutor, run_migrations

from askpro.lru import BoundedCache

CODENAME = "askpro"
# Options that ask for something else than "every schema at the latest migration".
NO_SKIP_OPTIONS = (
    "app_label", "migration_name", "fake", "fake_initial", "plan", "prune", "check_unapplied", "run_syncdb",
)
QUERY_CHUNK = 500  # schemas per catalogue query (one query up to this many)


@dataclass
class MigrationReport:
    skipped: list[str] = field(default_factory=list)
    migrated: list[str] = field(default_factory=list)
    failed: dict[str, str] = field(default_factory=dict)


def graph_migrations(alias: str = "default") -> set[tuple[str, str]]:
    """Every (app, name) of the current migration graph, squashed migrations as their squash."""
    loader = MigrationLoader(None, ignore_no_migrations=True)
    return set(loader.graph.nodes)


def _replacements() -> dict[tuple[str, str], list[tuple[str, str]]]:
    loader = MigrationLoader(None, ignore_no_migrations=True)
    return {key: list(migration.replaces) for key, migration in loader.replacements.items()}


def missing_migrations(schemas: Sequence[str], alias: str = "default") -> dict[str, set[tuple[str, str]]]:
    """For each schema, the graph's migrations it has not recorded (empty set: up to date).

    One catalogue query finds the schemas that have a ``django_migrations`` table; one query
    (per ``QUERY_CHUNK`` schemas) returns only the missing rows. A squash counts as applied when
    all the migrations it replaces are recorded, as Django's recorder sees it.
    """
    needed = graph_migrations(alias)
    replaces = _replacements()
    connection = connections[alias]
    missing: dict[str, set[tuple[str, str]]] = {schema: set() for schema in schemas}
    if not schemas or not needed:
        return missing
    probe = set(needed) | {old for squash in replaces.values() for old in squash}
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT n.nspname FROM pg_namespace n JOIN pg_class c ON c.relnamespace = n.oid "
            "WHERE c.relname = 'django_migrations' AND c.relkind IN ('r', 'p') AND n.nspname = ANY(%s)",
            [list(schemas)],
        )
        with_table = {row[0] for row in cursor.fetchall()}
        for schema in schemas:
            if schema not in with_table:
                missing[schema] = set(needed)
        present = [schema for schema in schemas if schema in with_table]
        values = ", ".join(["(%s, %s)"] * len(probe))
        params: list[Any] = [part for key in sorted(probe) for part in key]
        for start in range(0, len(present), QUERY_CHUNK):
            chunk = present[start : start + QUERY_CHUNK]
            branches = " UNION ALL ".join(
                "SELECT %s, n.app, n.name FROM needed n WHERE NOT EXISTS (SELECT 1 FROM "  # noqa: S608
                f"{connection.ops.quote_name(schema)}.django_migrations m "
                "WHERE m.app = n.app AND m.name = n.name)"
                for schema in chunk
            )
            cursor.execute(
                f"WITH needed(app, name) AS (VALUES {values}) {branches}",  # noqa: S608 - quoted names
                params + list(chunk),
            )
            for schema, app, name in cursor.fetchall():
                missing[schema].add((app, name))
    for schema, lacking in missing.items():
        for squash, olds in replaces.items():
            if squash in lacking and not (set(olds) & lacking):
                lacking.discard(squash)  # every replaced migration recorded: the squash counts
        missing[schema] = {key for key in lacking if key in needed}
    return missing


# Rendered project states per process: "after these applied migrations" (before a run) and
# "after these applied migrations and this plan" (handed to the post-migrate signal). Rendering
# the ~230 model states twice is most of what Django's migrate costs a schema; schemas behind are
# nearly always behind by the same migrations, so each process renders them once and gives every
# schema a clone (Django itself migrates a clone of the pre-migration state).
_states: BoundedCache[tuple[object, ...], ProjectState] = BoundedCache(8)


def _applied_key(executor: DjangoMigrationExecutor) -> frozenset[tuple[str, str]]:
    nodes = executor.loader.graph.nodes
    return frozenset(key for key in executor.loader.applied_migrations if key in nodes)


def _has_migrations_table(self: MigrationRecorder) -> bool:
    """``MigrationRecorder.has_table`` for one schema: a catalogue lookup of that one table.

    Django lists every table visible to the connection (django-tenants: of the current schema)
    through ``pg_table_is_visible`` over all of ``pg_class``, which holds ~200 rows per tenant:
    at 1,000 tenants each call read 200,000 rows, several times per schema migrated.
    """
    if self._has_table:  # type: ignore[attr-defined]
        return True
    schema = getattr(self.connection, "schema_name", None) or "public"
    with self.connection.cursor() as cursor:
        cursor.execute(
            "SELECT EXISTS (SELECT 1 FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE n.nspname = %s AND c.relname = %s AND c.relkind IN ('r', 'p'))",
            [schema, self.Migration._meta.db_table],
        )
        self._has_table = bool(cursor.fetchone()[0])  # type: ignore[attr-defined]
    return self._has_table  # type: ignore[attr-defined]


@contextmanager
def cached_project_states() -> Iterator[None]:
    """Let Django's migrate reuse rendered project states of an identical applied set and plan,
    and look the migrations table up directly (both cost grew with the number of schemas)."""
    original_create = DjangoMigrationExecutor._create_project_state  # type: ignore[attr-defined]
    original_migrate = DjangoMigrationExecutor.migrate
    original_has_table = MigrationRecorder.has_table

    def create(self: DjangoMigrationExecutor, with_applied_migrations: bool = False) -> ProjectState:
        if not with_applied_migrations:
            return original_create(self, with_applied_migrations)
        key = ("pre", _applied_key(self))
        cached = _states.get(key)
        if cached is None:
            cached = original_create(self, True)
            cached.apps  # noqa: B018 - render once; clones carry the rendered registry
            _states[key] = cached
        return cached.clone()

    def migrate(self: DjangoMigrationExecutor, targets: Any, plan: Any = None, state: Any = None,
                fake: bool = False, fake_initial: bool = False) -> ProjectState:
        steps = tuple((migration.app_label, migration.name, backwards) for migration, backwards in plan or ())
        key = ("post", _applied_key(self), steps, fake)
        result = original_migrate(self, targets, plan=plan, state=state, fake=fake, fake_initial=fake_initial)
        if plan is None or not steps:
            return result
        cached = _states.get(key)
        if cached is None:
            result.clear_delayed_apps_cache()
            result.is_delayed = False  # rendered in full: the command's clear must keep it
            result.apps  # noqa: B018
            _states[key] = cached = result
        return cached.clone()

    DjangoMigrationExecutor._create_project_state = create  # type: ignore[attr-defined]
    DjangoMigrationExecutor.migrate = migrate  # type: ignore[method-assign]
    MigrationRecorder.has_table = _has_migrations_table  # type: ignore[method-assign]
    try:
        yield
    finally:
        DjangoMigrationExecutor._create_project_state = original_create  # type: ignore[attr-defined]
        DjangoMigrationExecutor.migrate = original_migrate  # type: ignore[method-assign]
        MigrationRecorder.has_table = original_has_table  # type: ignore[method-assign]


def _migrate_schema(args: tuple[Any, ...], options: dict[str, Any], schema: str) -> tuple[str, str | None]:
    """Run django-tenants' per-schema migrate; return the schema and its error (None: done)."""
    try:
        with cached_project_states():
            run_migrations(args, options, CODENAME, schema, allow_atomic=False)
    except Exception as exc:  # noqa: BLE001 - reported per schema, the run goes on
        detail = "".join(traceback.format_exception_only(type(exc), exc)).strip()
        connection = connections[options.get("database") or "default"]
        try:
            connection.close()
        except Exception:  # noqa: BLE001, S110 - a broken connection is replaced on next use
            pass
        connection.connection = None
        return schema, detail
    return schema, None


def _close_broker_connections() -> None:
    """Like the database connections, no broker socket may be shared with the forked workers:
    kombu closes inherited connections after a fork, and a channel of this process that waits
    for a reply (a consumer's BRPOP) then blocks the child forever on the shared socket."""
    from askpro.celery import app

    for pool in (app.producer_pool, app.pool):
        pool.force_close_all()


def _worker_init() -> None:
    # The parent's connections were closed before the fork; make sure none is shared.
    for connection in connections.all(initialized_only=True):
        connection.connection = None


def migrate_many(
    schemas: Iterable[str], args: tuple[Any, ...], options: dict[str, Any], *, processes: int | None = None,
    out: Any = None,
) -> MigrationReport:
    """Migrate the schemas that are behind; skip the current ones (unless options forbid)."""
    out = out or sys.stdout
    alias = options.get("database") or "default"
    schemas = list(schemas)
    report = MigrationReport()
    verbosity = int(options.get("verbosity", 1))
    if any(options.get(name) for name in NO_SKIP_OPTIONS):
        behind = schemas
    else:
        missing = missing_migrations(schemas, alias)
        behind = [schema for schema in schemas if missing[schema]]
        report.skipped = [schema for schema in schemas if not missing[schema]]
    if verbosity >= 1:
        out.write(f"[{CODENAME}] {len(report.skipped)} of {len(schemas)} schemas up to date, "
                  f"{len(behind)} to migrate\n")
    processes = processes or int(getattr(settings, "TENANT_MULTIPROCESSING_MAX_PROCESSES", 2))
    connection = connections[alias]
    if len(behind) <= 1 or processes <= 1 or connection.in_atomic_block:
        # In-process: a single schema (tenant creation, --schema) or inside a caller's transaction.
        for schema in behind:
            if connection.in_atomic_block:
                with cached_project_states():
                    run_migrations(args, options, CODENAME, schema, allow_atomic=True)
                report.migrated.append(schema)
                continue
            _, error = _migrate_schema(args, options, schema)
            (report.failed.__setitem__(schema, error) if error else report.migrated.append(schema))
        return report
    connection.close()
    connection.connection = None
    _close_broker_connections()
    context = multiprocessing.get_context("fork")
    with context.Pool(processes=min(processes, len(behind)), initializer=_worker_init) as pool:
        jobs = [(args, options, schema) for schema in behind]
        for schema, error in pool.starmap(_migrate_schema, jobs, chunksize=1):
            if error:
                report.failed[schema] = error
            else:
                report.migrated.append(schema)
    return report


class SkipCurrentExecutor(MigrationExecutor):
    """django-tenants executor: skip up-to-date schemas, migrate the rest in parallel."""

    codename = CODENAME

    def run_migrations(self, tenants: Iterable[str] | None = None) -> None:
        tenants = list(tenants or [])
        if self.PUBLIC_SCHEMA_NAME in tenants:
            # The public schema first and alone, exactly as django-tenants does it.
            with cached_project_states():
                run_migrations(self.args, self.options, self.codename, self.PUBLIC_SCHEMA_NAME)
            tenants.remove(self.PUBLIC_SCHEMA_NAME)
        if not tenants:
            return
        report = migrate_many(tenants, self.args, self.options)
        verbosity = int(self.options.get("verbosity", 1))
        if verbosity >= 1:
            sys.stdout.write(f"[{CODENAME}] migrated {len(report.migrated)}, skipped {len(report.skipped)}, "
                             f"failed {len(report.failed)}\n")
        for schema, error in sorted(report.failed.items()):
            sys.stderr.write(f"[{CODENAME}:{schema}] FAILED: {error}\n")
        if report.failed:
            names = ", ".join(sorted(report.failed))
            raise CommandError(f"migrations failed in {len(report.failed)} schema(s): {names}")

    def run_multi_type_migrations(self, tenants: Iterable[Any]) -> None:  # pragma: no cover - unused
        raise NotImplementedError("AskPro has one tenant type")


def get_executor(codename: str | None = None) -> type[MigrationExecutor]:
    """``GET_EXECUTOR_FUNCTION``: ours unless ``--executor`` (or $EXECUTOR) names another."""
    codename = codename or settings.ASKPRO_MIGRATION_EXECUTOR
    if codename == CODENAME:
        return SkipCurrentExecutor
    return tenants_get_executor(codename)
