from __future__ import annotations

BEAT_SCHEDULE = {
    "integrations-sweep-webhooks": {
        "task": "integrations.sweep_webhooks",
        "schedule": 60.0,
        "options": {"queue": "webhooks", "expires": 55},
    },
}
