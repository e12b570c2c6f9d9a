"""Periodic tasks of the voice-agent domain (merged into Celery beat by askpro.celery)."""

from __future__ import annotations

BEAT_SCHEDULE = {
    "calls-escalate-overdue-callbacks": {
        "task": "calls.escalate_overdue_callbacks",
        "schedule": 300.0,  # every 5 minutes; the shortest due time is 30 minutes
    },
}
