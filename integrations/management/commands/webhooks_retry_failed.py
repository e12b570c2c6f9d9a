from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from integrations.inbox import PROVIDERS
from integrations.models import WebhookEvent
from integrations.services import retry_failed_events


class Command(BaseCommand):
    help = "Queue failed webhook events for one more attempt."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--provider", choices=PROVIDERS)
        parser.add_argument("--webhook-id", type=int, help="Retry only this event.")
        parser.add_argument("--dry-run", action="store_true", help="List what would be retried.")

    def handle(self, *args: Any, **options: Any) -> None:
        event_id = options["webhook_id"]
        if event_id is not None:
            event = WebhookEvent.objects.filter(pk=event_id).first()
            if event is None:
                raise CommandError(f"webhook event {event_id} does not exist")
            if event.status != WebhookEvent.Status.FAILED:
                raise CommandError(f"webhook event {event_id} is {event.status}, only failed events are retried")
        events = retry_failed_events(provider=options["provider"], event_id=event_id, dry_run=options["dry_run"])
        verb = "would retry" if options["dry_run"] else "queued"
        for event in events:
            self.stdout.write(f"{verb} #{event.pk} {event.provider} {event.event_type or '-'} "
                              f"(attempts {event.attempts}): {event.last_error[:100]}")
        self.stdout.write(self.style.SUCCESS(f"{len(events)} event(s) {verb}"))
