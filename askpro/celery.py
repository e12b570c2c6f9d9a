"""The one Celery app. Tasks carry the tenant schema in a message header (tenant-schemas-celery),
so a task queued inside a tenant's request runs in that tenant's schema."""

from __future__ import annotations

import os
from typing import Any

from celery import Task
from celery.signals import task_postrun, task_prerun
from django.db import close_old_connections
from kombu import Exchange, Queue
from tenant_schemas_celery.app import CeleryApp
from tenant_schemas_celery.cache import SimpleCache
from tenant_schemas_celery.task import TenantTask

from askpro.lru import BoundedCache

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "askpro.settings")

_task_tenants: BoundedCache[str, Any] | None = None


class BoundedTenantTask(TenantTask):
    """tenant-schemas-celery's task, with its schema -> tenant cache bounded.

    The library keeps every tenant a worker ever ran a task for in one module-level dict (expired
    entries are never removed); with 1,000 tenants that grows in every worker process. The same
    cache with at most ASKPRO_TENANT_CACHE_SIZE schemas, least recently used dropped first.
    """

    abstract = True

    @classmethod
    def tenant_cache(cls) -> SimpleCache:
        global _task_tenants
        if _task_tenants is None:
            from django.conf import settings

            _task_tenants = BoundedCache(settings.ASKPRO_TENANT_CACHE_SIZE)
        return SimpleCache(storage=_task_tenants)


app = CeleryApp("askpro", task_cls="askpro.celery:BoundedTenantTask")
app.config_from_object("django.conf:settings", namespace="CELERY")


def _configure_queues() -> None:
    from django.conf import settings

    app.conf.task_queues = [
        Queue(name, Exchange(name), routing_key=name) for name in settings.CELERY_TASK_QUEUES_NAMES
    ]
    from askpro.discovery import app_modules

    schedule: dict[str, dict] = {}
    # Each domain app may contribute periodic tasks in <app>/schedule.py (BEAT_SCHEDULE dict).
    for module in app_modules("schedule"):
        schedule.update(module.BEAT_SCHEDULE)
    app.conf.beat_schedule = schedule


@task_prerun.connect
@task_postrun.connect
def _close_old_database_connections(task: Task | None = None, **kwargs: Any) -> None:
    """A task gets the database connection lifecycle of a request: the connection is kept across
    tasks and closed when it is older than ``CONN_MAX_AGE``, had an error or fails the health check.

    Celery's Django fixup would close it around every task instead (a new PostgreSQL connection
    per webhook event: about half of a short task's time); ``CELERY_DB_REUSE_MAX`` in the settings
    stops that. Eager tasks run inside the caller's connection and are left alone.
    """
    if task is not None and getattr(task.request, "is_eager", False):
        return
    close_old_connections()


app.on_after_configure.connect(lambda sender, **kwargs: _configure_queues(), weak=False)
app.autodiscover_tasks()
