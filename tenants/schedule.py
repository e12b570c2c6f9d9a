from __future__ import annotations

BEAT_SCHEDULE = {
    "tenants-refill-schema-pool": {
        "task": "tenants.refill_schema_pool",
        "schedule": 60.0,
        "options": {"queue": "default", "expires": 55},
    },
}
