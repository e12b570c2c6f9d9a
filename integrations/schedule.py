from __future__ import annotations

from celery.schedules import crontab
from django.conf import settings

BEAT_SCHEDULE = {
    "integrations-sweep-webhooks": {
        "task": "integrations.sweep_webhooks",
        "schedule": float(settings.WEBHOOK_SWEEP_SECONDS),
        "options": {"queue": "webhooks", "expires": max(settings.WEBHOOK_SWEEP_SECONDS - 5, 1)},
    },
    "outbox-sweep": {
        "task": "outbox.sweep",
        "schedule": float(settings.OUTBOX_SWEEP_SECONDS),
        "options": {"queue": "default", "expires": max(settings.OUTBOX_SWEEP_SECONDS - 5, 1)},
    },
    "integrations-blank-old-webhook-bodies": {
        "task": "integrations.blank_old_webhook_bodies",
        "schedule": crontab(hour="3", minute="45"),
        "options": {"queue": "webhooks_low"},
    },
}
