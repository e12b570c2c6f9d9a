"""Periodic tasks of the data-protection domain (merged into Celery beat by askpro.celery)."""

from __future__ import annotations

from celery.schedules import crontab

BEAT_SCHEDULE = {
    "privacy-apply-retention": {"task": "privacy.apply_retention", "schedule": crontab(hour="3", minute="15")},
    "privacy-remind-deletion-requests": {"task": "privacy.remind_deletion_requests",
                                         "schedule": crontab(hour="7", minute="0")},
}
