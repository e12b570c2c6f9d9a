from __future__ import annotations

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
}
