"""Periodic tasks of the notifications app (merged into Celery beat)."""

from __future__ import annotations

BEAT_SCHEDULE = {
    # Reminders are due 24 h and 2 h ahead; every 5 minutes keeps them within minutes of that.
    "notifications-queue-reminders": {"task": "notifications.queue_reminders", "schedule": 300.0},
    # Messages held by quiet hours or whose retry message was lost.
    "notifications-dispatch-due": {"task": "notifications.dispatch_due", "schedule": 60.0},
}
