from __future__ import annotations

from django.conf import settings

BEAT_SCHEDULE = {
    "calcom-reconcile": {
        "task": "calcom.reconcile",
        "schedule": float(settings.CALCOM_RECONCILE_SECONDS),
        "options": {"queue": "webhooks", "expires": max(settings.CALCOM_RECONCILE_SECONDS - 5, 5)},
    },
}
