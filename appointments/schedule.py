"""Periodic tasks of the booking domain (merged into Celery beat by askpro.celery)."""

from __future__ import annotations

from celery.schedules import crontab

BEAT_SCHEDULE = {
    "appointments-recompute-journeys": {"task": "appointments.recompute_journeys",
                                        "schedule": crontab(hour="2", minute="30")},
}
