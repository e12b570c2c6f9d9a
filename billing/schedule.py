from celery.schedules import crontab

BEAT_SCHEDULE = {
    "billing-monthly-run": {"task": "billing.monthly_run", "schedule": crontab(day_of_month="1", hour="3", minute="0")},
    "billing-mark-overdue": {"task": "billing.mark_overdue", "schedule": crontab(hour="6", minute="0")},
}
