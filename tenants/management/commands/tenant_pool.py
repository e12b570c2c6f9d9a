from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from tenants import schema_pool


class Command(BaseCommand):
    help = ("Spare tenant schemas (copies of the template that make tenant creation a rename): "
            "show the pool, fill it, or drain it before a migration window.")

    def add_arguments(self, parser: CommandParser) -> None:
        action = parser.add_mutually_exclusive_group()
        action.add_argument("--fill", type=int, metavar="N", help="keep N ready copies (drops stale ones)")
        action.add_argument("--drain", action="store_true", help="drop every spare copy")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["fill"] is not None:
            if options["fill"] < 0 or options["fill"] > 500:
                raise CommandError("--fill takes a number between 0 and 500.")
            schema_pool.refill(options["fill"])
        elif options["drain"]:
            self.stdout.write(f"dropped {schema_pool.drain()} spare schema(s)")
        state = schema_pool.state()
        self.stdout.write(f"ready: {state.ready}  stale: {state.stale}  template: {state.fingerprint}")
