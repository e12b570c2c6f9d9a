from __future__ import annotations

from askpro.celery import app
from integrations import inbox, services


@app.task(name="integrations.process_webhook", acks_late=True, ignore_result=True)
def process_webhook(event_id: int) -> str:
    """Process one stored webhook event (retries are scheduled by the processor, not by Celery)."""
    return inbox.process_event(event_id)


@app.task(name="integrations.dispatch_webhooks", ignore_result=True)
def dispatch_webhooks() -> int:
    """Queue ``process_webhook`` for every stored event not queued yet (published once per burst)."""
    return services.dispatch_pending_events()


@app.task(name="integrations.sweep_webhooks", ignore_result=True)
def sweep_webhooks() -> int:
    """Re-queue events stuck in received/processing (broker outage at receipt, lost worker)."""
    return services.sweep_stuck_events()
