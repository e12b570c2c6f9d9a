from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError

from billing import health


class Command(BaseCommand):
    help = (
        "Check Stripe, stuck top-ups, the ledger invariant of every account, invoice PDFs, finished calls "
        "never charged and owed effects (outbox) past their deadline; exit 1 on problems."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        problems = health.problems()
        if problems:
            for problem in problems:
                self.stderr.write(problem)
            raise CommandError(f"{len(problems)} billing problem(s) found")
        self.stdout.write(self.style.SUCCESS("billing OK"))
