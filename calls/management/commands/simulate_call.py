"""Play a whole phone call against a running AskPro server, as Retell would.

    manage.py simulate_call --tenant salon-schmidt --from "+49 151 12345678" \\
        [--script book|reschedule|cancel] [--base-url http://localhost:8000]

Every step is a real, signed HTTP request: the inbound-call webhook, the agent's function calls
(check-customer -> check-availability -> book-appointment, or list -> reschedule / cancel), then
the call webhooks ``call_started``, ``call_ended`` and ``call_analyzed`` to ``/webhooks/retell``.
The conversation is printed in German as the caller would hear it.

Function calls go to the platform URL when the tenant has a routed number (``tenants.PhoneNumber``,
as in production), else to the tenant's own host. They are signed with the tenant's Retell key or
the platform key (``--api-key`` overrides); webhooks with the platform key.
"""

from __future__ import annotations

import json
import time
import uuid
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlparse

import httpx
from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django_tenants.utils import get_public_schema_name, schema_context, tenant_context

from appointments.customers import normalize_phone
from appointments.models import Service
from calls.models import VoiceSettings
from calls.signatures import sign
from integrations.providers import retell_api_key_for
from tenants.models import PhoneNumber, Tenant, VoiceAgent

SCRIPTS = ("book", "reschedule", "cancel")


class CallFailed(CommandError):
    pass


@dataclass
class SimulatedCall:
    """One call: where requests go, how they are signed, and what was said."""

    http: httpx.Client
    base_url: str
    function_host: str | None  # Host header for function calls (None: the platform host)
    function_key: str
    webhook_key: str
    call: dict[str, Any]
    turns: list[tuple[str, str]] = field(default_factory=list)
    write: Any = print

    def say(self, role: str, text: str) -> None:
        self.turns.append((role, text))
        self.write(f"{'Agent' if role == 'agent' else 'Anrufer'}: {text}")

    def post(self, path: str, body: dict[str, Any], *, key: str, host: str | None = None) -> httpx.Response:
        raw = json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode()
        headers = {"Content-Type": "application/json", "X-Retell-Signature": sign(raw, key)}
        if host:
            headers["Host"] = host
        try:
            return self.http.post(f"{self.base_url}{path}", content=raw, headers=headers)
        except httpx.HTTPError as exc:
            raise CallFailed(f"Cannot reach {self.base_url}{path}: {exc}") from exc

    def function(self, name: str, args: dict[str, Any]) -> dict[str, Any]:
        """Call ``/api/retell/<name>`` in Retell's wrapped form and return the JSON answer."""
        response = self.post(f"/api/retell/{name}", {"name": name.replace("-", "_"), "args": args, "call": self.call},
                             key=self.function_key, host=self.function_host)
        try:
            answer: dict[str, Any] = response.json()
        except ValueError:
            answer = {}
        if response.status_code >= 300 or not answer:
            error = answer.get("error", {}) if answer else {}
            raise CallFailed(f"{name} answered HTTP {response.status_code} {error.get('code', '')}: "
                             f"{error.get('message', response.text[:200])}")
        return answer

    def webhook(self, event: str, call: dict[str, Any]) -> int:
        response = self.post("/webhooks/retell", {"event": event, "call": call}, key=self.webhook_key)
        if response.status_code >= 300:
            raise CallFailed(f"/webhooks/retell refused {event}: HTTP {response.status_code} {response.text[:200]}")
        return response.status_code


class Command(BaseCommand):
    help = "Play a whole voice-agent call against a running server (signed function calls and webhooks)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--tenant", required=True, help="Tenant slug, e.g. salon-schmidt")
        parser.add_argument("--from", dest="from_number", required=True, help='Caller number, e.g. "+49 151 12345678"')
        parser.add_argument("--script", choices=SCRIPTS, default="book")
        parser.add_argument("--base-url", default="http://localhost:8000", help="The running server")
        parser.add_argument("--service", default="", help="Service name as the caller says it (default: the first)")
        parser.add_argument("--date", default="morgen", help='Day as the caller says it ("morgen", "Dienstag", ISO)')
        parser.add_argument("--time", default="10:00", help='Time as the caller says it ("10:00", "halb drei")')
        parser.add_argument("--name", default="Max Mustermann", help="The caller's name if they are new")
        parser.add_argument("--api-key", default="", help="Retell key for function calls (default: configured)")
        parser.add_argument("--call-id", default="", help="Retell call id (default: a new one)")

    def handle(self, *args: Any, **options: Any) -> None:
        tenant = self._tenant(options["tenant"])
        number = normalize_phone(options["from_number"])
        if number is None:
            raise CommandError(f"--from {options['from_number']!r} is not a valid phone number.")
        base_url = options["base_url"].rstrip("/")
        parsed = urlparse(base_url)
        if parsed.scheme not in ("http", "https") or not parsed.netloc:
            raise CommandError(f"--base-url {base_url!r} is not an http(s) URL.")
        route, agent_id, function_key, service_name = self._tenant_facts(tenant, options)
        webhook_key = retell_api_key_for(tenant)
        if not function_key or not webhook_key:
            raise CommandError("No Retell key: set RETELL_API_KEY (or the tenant's voice settings, or --api-key).")

        call_id = options["call_id"] or f"call_sim_{uuid.uuid4().hex[:20]}"
        started_ms = int(time.time() * 1000)
        call = {
            "call_type": "phone_call", "call_id": call_id, "agent_id": agent_id, "agent_version": 1,
            "call_status": "ongoing", "direction": "inbound", "from_number": number,
            "to_number": route or "", "start_timestamp": started_ms, "metadata": {"tenant": tenant.slug},
        }
        with httpx.Client(timeout=15) as http:
            simulated = SimulatedCall(
                http=http, base_url=base_url, function_host=None if route else tenant.primary_domain,
                function_key=function_key, webhook_key=webhook_key, call=call, write=self.stdout.write,
            )
            self.stdout.write(f"Call {call_id}: {number} -> {tenant.name} ({options['script']}, {base_url})")
            self.stdout.write("")
            booked = self._play(simulated, options["script"], service_name, options)
            self._webhooks(simulated, started_ms, booked, options["name"])

    # --- setup ------------------------------------------------------------------------------------

    def _tenant(self, slug: str) -> Tenant:
        with schema_context(get_public_schema_name()):
            tenant = Tenant.objects.filter(slug=slug, is_template=False).exclude(
                schema_name=get_public_schema_name()).first()
        if tenant is None:
            raise CommandError(f"Unknown tenant {slug!r} (see manage.py tenant_list).")
        if not tenant.is_active:
            raise CommandError(f"Tenant {slug!r} is suspended: its calls are rejected.")
        return tenant

    def _tenant_facts(self, tenant: Tenant, options: dict[str, Any]) -> tuple[str | None, str, str, str]:
        """(routed number or None, agent id, function-call key, service name)."""
        with schema_context(get_public_schema_name()):
            route = PhoneNumber.objects.filter(tenant=tenant, is_active=True).order_by("pk").values_list(
                "number", flat=True).first()
            agent_id = VoiceAgent.objects.filter(tenant=tenant, is_active=True).order_by("pk").values_list(
                "agent_id", flat=True).first()
        with tenant_context(tenant):
            voice = VoiceSettings.objects.first()
            key = options["api_key"] or (voice.retell_api_key if voice and voice.retell_api_key else "")
            service_name = options["service"] or (
                Service.objects.filter(is_active=True).order_by("pk").values_list("name", flat=True).first() or "")
        if not service_name:
            raise CommandError(f"{tenant.slug} offers no active service to book.")
        return route, agent_id or f"agent_sim_{tenant.slug}", key or settings.RETELL_API_KEY, service_name

    # --- the conversation -------------------------------------------------------------------------

    def _play(self, call: SimulatedCall, script: str, service: str, options: dict[str, Any]) -> bool:
        inbound = call.post("/webhooks/retell/inbound", {"event": "call_inbound", "call_inbound": {
            "agent_id": call.call["agent_id"], "from_number": call.call["from_number"],
            "to_number": call.call["to_number"]}}, key=call.function_key, host=call.function_host)
        variables = (inbound.json().get("call_inbound") or {}).get("dynamic_variables") or {} if inbound.is_success else {}
        company = variables.get("company_name") or call.call["metadata"]["tenant"]
        call.say("agent", f"{company}, guten Tag! Was kann ich für Sie tun?")
        call.say("user", {"book": "Hallo, ich hätte gern einen Termin.",
                          "reschedule": "Hallo, ich möchte meinen Termin verschieben.",
                          "cancel": "Hallo, ich muss meinen Termin absagen."}[script])
        customer = call.function("check-customer", {})
        call.say("agent", customer["message"])
        if not customer.get("customer_name"):
            call.say("user", f"Mein Name ist {options['name']}.")
            customer = call.function("check-customer", {"name": options["name"]})
            call.say("agent", customer["message"])
        if script == "book":
            return self._book(call, service, options)
        return self._change(call, script, options)

    def _offer(self, call: SimulatedCall, service: str, date: str, time_text: str) -> dict[str, Any] | None:
        """Ask for a time; take the first alternative if it is taken. None when nothing is free."""
        call.say("user", f"Am liebsten {service}, {date} um {time_text}.")
        found = call.function("check-availability", {"service": service, "date": date, "time": time_text})
        call.say("agent", found["message"])
        if not found.get("success", True):
            return None
        if found["available"]:
            return {"date": date, "time": time_text}
        if not found.get("alternatives"):
            return None
        first = found["alternatives"][0]
        call.say("user", f"Dann nehme ich {first['spoken']}.")
        return {"date": first["starts_at"]}

    def _book(self, call: SimulatedCall, service: str, options: dict[str, Any]) -> bool:
        when = self._offer(call, service, options["date"], options["time"])
        if when is None:
            return self._callback(call)
        booked = call.function("book-appointment", {"service": service, "name": options["name"], **when})
        call.say("agent", booked["message"])
        self._goodbye(call)
        return bool(booked.get("success"))

    def _change(self, call: SimulatedCall, script: str, options: dict[str, Any]) -> bool:
        listed = call.function("list-appointments", {})
        call.say("agent", listed["message"])
        if not listed["count"]:
            self._goodbye(call)
            return False
        appointment = listed["appointments"][0]
        if script == "cancel":
            call.say("user", f"Bitte sagen Sie den Termin am {appointment['spoken']} ab.")
            done = call.function("cancel-appointment", {"appointment_id": appointment["appointment_id"]})
            call.say("agent", done["message"])
            self._goodbye(call)
            return False
        when = self._offer(call, appointment["service"], options["date"], options["time"])
        if when is None:
            return self._callback(call)
        moved = call.function("reschedule-appointment", {"appointment_id": appointment["appointment_id"], **when})
        call.say("agent", moved["message"])
        self._goodbye(call)
        return bool(moved.get("success"))

    def _callback(self, call: SimulatedCall) -> bool:
        call.say("user", "Schade. Können Sie mich zurückrufen?")
        answer = call.function("request-callback", {"reason": "no_slot", "priority": "normal"})
        call.say("agent", answer["message"])
        self._goodbye(call)
        return False

    def _goodbye(self, call: SimulatedCall) -> None:
        call.say("user", "Danke, tschüss!")
        call.say("agent", "Gern geschehen. Auf Wiederhören!")

    # --- after the call -------------------------------------------------------------------------

    def _webhooks(self, call: SimulatedCall, started_ms: int, booked: bool, name: str) -> None:
        ended_ms = max(int(time.time() * 1000), started_ms + 1000 * 6 * len(call.turns))
        transcript = "\n".join(f"{'Agent' if role == 'agent' else 'User'}: {text}" for role, text in call.turns)
        ended = {
            **call.call, "call_status": "ended", "end_timestamp": ended_ms, "duration_ms": ended_ms - started_ms,
            "disconnection_reason": "user_hangup", "transcript": transcript,
            "transcript_object": [{"role": role, "content": text, "words": []} for role, text in call.turns],
            "call_cost": {"combined_cost": round((ended_ms - started_ms) / 1000 * 0.1667, 2),
                          "total_duration_seconds": (ended_ms - started_ms) // 1000},
        }
        analysis = {"call_summary": "Termin gebucht." if booked else "Anruf ohne neue Buchung.",
                    "user_sentiment": "Positive", "call_successful": True, "in_voicemail": False,
                    "custom_analysis_data": {"appointment_booked": booked, "caller_name": name}}
        self.stdout.write("")
        for event, payload in (("call_started", call.call), ("call_ended", ended),
                               ("call_analyzed", {**ended, "call_analysis": analysis})):
            status = call.webhook(event, payload)
            self.stdout.write(f"[webhook {event}: HTTP {status}]")
