from __future__ import annotations

from askpro.celery import app
from integrations import inbox, services


@app.task(name="integrations.process_webhook", acks_late=True, ignore_result=True)
def process_webhook(event_id: int) -> str:
    """Process one stored webhook event (retries are scheduled by the processor, not by Celery)."""
    return inbox.process_event(event_id)


@app.task(name="integrations.process_webhooks", acks_late=True, ignore_result=True)
def process_webhooks(event_ids: list[int]) -> dict[str, int]:
    """Process a batch of stored events claimed by the dispatcher (one task, each event isolated)."""
    return inbox.process_events(event_ids)


@app.task(name="integrations.dispatch_webhooks", ignore_result=True)
def dispatch_webhooks() -> int:
    """Queue ``process_webhook`` for every stored event not queued yet (published once per burst)."""
    return services.dispatch_pending_events()


@app.task(name="integrations.sweep_webhooks", ignore_result=True)
def sweep_webhooks() -> int:
    """Re-queue events stuck in received/processing (broker outage at receipt, lost worker)."""
    return services.sweep_stuck_events()


@app.task(name="integrations.blank_old_webhook_bodies", ignore_result=True)
def blank_old_webhook_bodies() -> int:
    """Platform retention of raw webhook bodies (WEBHOOK_BODY_RETENTION_DAYS)."""
    from django.conf import settings

    from integrations.personal_data import blank_old_deliveries

    return blank_old_deliveries(settings.WEBHOOK_BODY_RETENTION_DAYS)


# --- the transactional outbox (askpro.outbox) ---------------------------------------------------


@app.task(name="outbox.process", acks_late=True, ignore_result=True)
def process_outbox_effect(effect_id: int) -> str:
    """Deliver one stored outbox effect (retries are scheduled by the processor, not by Celery)."""
    from askpro import outbox

    return outbox.process(effect_id)


@app.task(name="outbox.dispatch", ignore_result=True)
def dispatch_outbox() -> int:
    """Queue ``outbox.process`` for every stored effect not queued yet (published once per burst)."""
    from askpro import outbox

    return outbox.dispatch_pending()


@app.task(name="outbox.sweep", ignore_result=True)
def sweep_outbox() -> int:
    """Re-queue effects whose publish or message was lost (Redis down, a killed worker)."""
    from askpro import outbox

    return outbox.sweep()
