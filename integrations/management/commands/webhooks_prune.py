from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from integrations.personal_data import blank_old_deliveries


class Command(BaseCommand):
    help = ("Blank the raw bodies of finished Retell and Cal.com webhook deliveries older than the retention "
            "period (caller numbers, transcripts, attendees); the rows stay. Runs daily from beat.")

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--older-than-days", type=int, default=None,
            help=f"Age in days (default WEBHOOK_BODY_RETENTION_DAYS, now {settings.WEBHOOK_BODY_RETENTION_DAYS}).")

    def handle(self, *args: Any, **options: Any) -> None:
        days = options["older_than_days"]
        days = settings.WEBHOOK_BODY_RETENTION_DAYS if days is None else days
        if days < 1:
            raise CommandError("Bitte eine Anzahl Tage ab 1 angeben (--older-than-days); 0 würde nichts aufbewahren.")
        count = blank_old_deliveries(days)
        self.stdout.write(f"{count} Webhook-Inhalte älter als {days} Tage geleert.")
