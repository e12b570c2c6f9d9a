"""The Celery app's queues and periodic tasks are assembled from every domain app's schedule.py."""

from __future__ import annotations

from askpro.celery import _configure_queues, app


def test_the_beat_schedule_collects_the_periodic_tasks_of_every_app():
    # when
    _configure_queues()

    # then one entry per app that has periodic work, and every entry names a registered task
    tasks = {entry["task"] for entry in app.conf.beat_schedule.values()}
    assert {"integrations.sweep_webhooks", "calcom.reconcile"} <= tasks
    assert any(task.startswith("billing.") for task in tasks)
    assert any(task.startswith("notifications.") for task in tasks)
    assert any(task.startswith("calls.") for task in tasks)
    app.loader.import_default_modules()
    assert tasks <= set(app.tasks)


def test_every_queue_of_the_settings_is_declared():
    # when
    _configure_queues()

    # then
    assert [queue.name for queue in app.conf.task_queues] == [
        "webhooks_high", "webhooks", "webhooks_low", "default", "notifications", "billing",
    ]
