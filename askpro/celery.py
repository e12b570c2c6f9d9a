"""The one Celery app. Tasks carry the tenant schema in a message header (tenant-schemas-celery),
so a task queued inside a tenant's request runs in that tenant's schema."""

from __future__ import annotations

import os

from kombu import Exchange, Queue
from tenant_schemas_celery.app import CeleryApp

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "askpro.settings")

app = CeleryApp("askpro")
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


app.on_after_configure.connect(lambda sender, **kwargs: _configure_queues(), weak=False)
app.autodiscover_tasks()
