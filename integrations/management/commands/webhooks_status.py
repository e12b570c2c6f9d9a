from __future__ import annotations

import time
from typing import Any

from django.core.management.base import BaseCommand, CommandParser
from django.utils import timezone

from integrations.inbox import PROVIDERS
from integrations.queries import inbox_stats


class Command(BaseCommand):
    help = "Webhook inbox status: counts by status, success rate, duplicates prevented, oldest pending."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--provider", choices=PROVIDERS)
        parser.add_argument("--stats", action="store_true", help="Add success rate, attempts, duplicates, timing.")
        parser.add_argument("--watch", action="store_true", help="Refresh every --interval seconds until Ctrl-C.")
        parser.add_argument("--interval", type=float, default=5.0)

    def handle(self, *args: Any, **options: Any) -> None:
        if not options["watch"]:
            self._print(options)
            return
        try:
            while True:
                self.stdout.write("\033[2J\033[H" + timezone.localtime().strftime("%Y-%m-%d %H:%M:%S"))
                self._print(options)
                time.sleep(options["interval"])
        except KeyboardInterrupt:
            pass

    def _print(self, options: dict[str, Any]) -> None:
        stats = inbox_stats(options["provider"])
        title = f"Webhooks ({options['provider'] or 'all providers'})"
        self.stdout.write(self.style.MIGRATE_HEADING(title))
        for status, count in stats.by_status.items():
            self.stdout.write(f"  {status:<12} {count:>8}")
        oldest = stats.oldest_pending_at
        age = f"{(timezone.now() - oldest).total_seconds():.0f} s ago ({oldest:%Y-%m-%d %H:%M:%S})" if oldest else "-"
        self.stdout.write(f"  {'oldest pending':<12} {age}")
        if options["stats"]:
            rate = f"{stats.success_rate:.1f} %" if stats.success_rate is not None else "-"
            avg_ms = f"{stats.average_processing_ms:.1f} ms" if stats.average_processing_ms is not None else "-"
            self.stdout.write(self.style.MIGRATE_HEADING("Statistics"))
            self.stdout.write(f"  {'total':<22} {stats.total}")
            self.stdout.write(f"  {'success rate':<22} {rate}")
            self.stdout.write(f"  {'duplicates prevented':<22} {stats.duplicates_prevented}")
            self.stdout.write(f"  {'average attempts':<22} {stats.average_attempts:.2f}")
            self.stdout.write(f"  {'average processing':<22} {avg_ms}")
