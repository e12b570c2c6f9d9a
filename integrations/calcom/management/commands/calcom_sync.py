from __future__ import annotations

import json
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django_tenants.utils import tenant_context

from askpro.errors import DomainError
from integrations.calcom import drift, push, queries
from integrations.calcom.models import BookingSync, ConflictStrategy, SyncState
from tenants.models import Tenant


class Command(BaseCommand):
    help = (
        "Cal.com sync of one tenant: push waiting or failed appointments now (default), "
        "push event types, detect drift, resolve drift by strategy."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--tenant", required=True, help="Tenant slug, e.g. salon-schmidt")
        parser.add_argument("--push-event-types", action="store_true", help="create/update one event type per service")
        parser.add_argument("--detect-drift", action="store_true", help="compare with Cal.com and record drift")
        parser.add_argument("--full", action="store_true", help="with --detect-drift: every booking, not only recent changes")
        parser.add_argument("--resolve", metavar="STRATEGY", default=None,
                            help="resolve open drift: platform_wins or calcom_wins")
        parser.add_argument("--json", action="store_true", help="print the reports as JSON")

    def handle(self, *args: Any, **options: Any) -> None:
        strategy = options["resolve"]
        if strategy is not None and strategy not in ConflictStrategy.values:
            raise CommandError(f"Unknown strategy {strategy!r}: use platform_wins or calcom_wins.")
        tenant = Tenant.objects.filter(slug=options["tenant"], is_template=False).exclude(schema_name="public").first()
        if tenant is None:
            raise CommandError(f"Unknown tenant {options['tenant']!r} (see manage.py tenant_list).")
        with tenant_context(tenant):
            if queries.active_connection() is None:
                raise CommandError(f"Cal.com is not connected for {tenant.slug} (no active connection with an API key).")
            try:
                self._run(options, strategy)
            except DomainError as exc:
                raise CommandError(f"{exc.code}: {exc.message}") from exc

    def _run(self, options: dict[str, Any], strategy: str | None) -> None:
        only_default = not (options["push_event_types"] or options["detect_drift"] or strategy)
        if only_default:
            self._report("push", self._push_waiting(), options)
        if options["push_event_types"]:
            self._report("event types", push.push_event_types().as_dict(), options)
        if options["detect_drift"]:
            self._report("drift", drift.detect_drift(full=options["full"]).as_dict(), options)
        if strategy:
            self._report("resolve", drift.resolve_drift(strategy).as_dict(), options)

    def _push_waiting(self) -> dict[str, Any]:
        counts: dict[str, int] = {}
        waiting = BookingSync.objects.filter(state__in=(SyncState.PENDING, SyncState.FAILED)).order_by("pk")
        for appointment_id in list(waiting.values_list("appointment_id", flat=True)):
            state = "skipped"
            if push.request_push(appointment_id) is not None:
                state = push.push_appointment(appointment_id).state
            counts[str(state)] = counts.get(str(state), 0) + 1
        return {"pushed": sum(counts.values()), "by_state": counts}

    def _report(self, title: str, data: dict[str, Any], options: dict[str, Any]) -> None:
        if options["json"]:
            self.stdout.write(json.dumps({title: data}, default=str))
            return
        self.stdout.write(self.style.MIGRATE_HEADING(f"{title}:"))
        for key, value in data.items():
            if isinstance(value, list):
                self.stdout.write(f"  {key}: {len(value)}")
                for item in value:
                    self.stdout.write(f"    - {json.dumps(item, default=str, ensure_ascii=False)}")
            else:
                self.stdout.write(f"  {key}: {value}")
