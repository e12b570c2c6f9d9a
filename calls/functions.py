"""The frame around every Retell function-call endpoint (``/api/retell/<function>``).

A request is handled in this order: optional IP allow-list -> JSON body (both Retell body forms)
-> tenant (by host, else by the call's ``agent_id`` / ``to_number`` through the public routing
registry, else ``?tenant=<slug>``) -> ``X-Retell-Signature`` with the tenant's Retell key or the
platform key -> tenant active -> ``call_id`` present -> rate limit per ``call_id`` -> the handler,
in the tenant's schema, in German.

Answers are JSON an LLM reads well. A handler returns a dict with a spoken ``message``; a
``DomainError`` it raises becomes ``{"success": false, "message": <spoken>, "error": {code,...}}``
with HTTP 200, because Retell hands only 2xx bodies to the agent as a normal result. Protocol
failures keep their 4xx (400 malformed, 401 signature, 403 IP/suspended, 404 tenant, 429 rate).
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.db import connection, transaction
from django.http import HttpRequest, JsonResponse
from django.utils import translation
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt
from django_tenants.utils import get_public_schema_name, schema_context, tenant_context

from appointments.customers import normalize_phone
from askpro.errors import DomainError, error_body
from askpro.lru import BoundedCache
from askpro.tenancy import current_schema, in_public_schema
from calls import signatures
from calls.models import FunctionCallResult, VoiceSettings
from tenants import routing_cache
from tenants.models import Tenant
from tenants.queries import tenant_for_voice_call
from tenants.voice import voice_block

logger = logging.getLogger(__name__)
security_log = logging.getLogger("askpro.security")

FunctionHandler = Callable[["FunctionCall"], dict[str, Any]]


@dataclass(frozen=True)
class FunctionCall:
    """One parsed function call: what Retell asked, for which call, in which tenant."""

    name: str
    args: dict[str, Any]
    call: dict[str, Any]
    call_id: str
    tenant: Tenant
    body_form: str  # "wrapped" ({"name","args","call"}) or "root" (args at the root)
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def actor(self) -> str:
        return f"phone:{self.call_id}"

    @cached_property
    def caller_id(self) -> str | None:
        """The number Retell reported for the other side of the call, in E.164 (never what the
        caller said): the call object's; with args at the root the const argument ``from_number``
        (``{{user_number}}``), else what the call's webhooks recorded. None for web calls."""
        if self.call:
            direction = self.call.get("direction")
            raw = self.call.get("to_number") if direction == "outbound" else self.call.get("from_number")
            return normalize_phone(raw)
        for raw in (self.args.get("from_number"), self.args.get("user_number")):
            number = normalize_phone(raw)
            if number:
                return number
        from calls.models import Call

        recorded = Call.objects.filter(call_id=self.call_id).values_list("direction", "from_number", "to_number").first()
        if recorded is None:
            return None
        direction, from_number, to_number = recorded
        return normalize_phone(to_number if direction == Call.Direction.OUTBOUND else from_number)

    @property
    def stated_number(self) -> str | None:
        """A number the caller said (the ``phone_number`` argument), in E.164."""
        for raw in (self.args.get("phone_number"), self.args.get("phone")):
            number = normalize_phone(raw)
            if number:
                return number
        return None

    @property
    def caller_number(self) -> str | None:
        """Who is calling: the caller ID. A stated number counts only when there is no caller ID
        (a web call): it never reads or changes the appointments of the customer it belongs to."""
        return self.caller_id or self.stated_number

    @property
    def callback_number(self) -> str | None:
        """Where to call back: the number the caller gave, else the caller ID."""
        return self.stated_number or self.caller_id

    def arg(self, *names: str, default: Any = None) -> Any:
        """The first non-empty argument among ``names`` (agents name things differently)."""
        for name in names:
            value = self.args.get(name)
            if value not in (None, ""):
                return value
        return default


def split_body(body: Any) -> tuple[str, dict[str, Any], dict[str, Any], str]:
    """(name, args, call, form) for both Retell body forms; raises ValueError if neither."""
    if not isinstance(body, dict):
        raise ValueError("body is not a JSON object")
    if isinstance(body.get("args"), dict) and ("call" in body or "name" in body):
        call: dict[str, Any] = body["call"] if isinstance(body.get("call"), dict) else {}
        return str(body.get("name") or ""), body["args"], call, "wrapped"
    return "", body, {}, "root"


def spoken_error(error: DomainError) -> dict[str, Any]:
    """The error answer the agent can read out."""
    body = error_body(error.code, error.message, error.details)
    body["message"] = str(error.message)
    return body


def _protocol_error(code: str, message: str, status: int, **details: Any) -> JsonResponse:
    body = error_body(code, message, details)
    body["message"] = message
    response = JsonResponse(body, status=status, json_dumps_params={"ensure_ascii": False})
    if status == 429 and "retry_after" in details:
        response["Retry-After"] = str(details["retry_after"])
    return response


def client_ip(request: HttpRequest) -> str:
    return str(request.META.get("REMOTE_ADDR", ""))


def retell_keys() -> Iterator[str]:
    """Keys that may sign requests for the current schema: the platform key, then the tenant's
    own key (read only when the platform key did not match: no query on the common path)."""
    if settings.RETELL_API_KEY:
        yield settings.RETELL_API_KEY
    if not in_public_schema():
        voice = VoiceSettings.objects.only("retell_api_key").first()
        if voice is not None and voice.retell_api_key:
            yield voice.retell_api_key


# (agent_id, to_number) -> (expires_at, tenant): like the host cache of tenants.middleware, a short
# process-local cache spares the registry queries on every function call of a running call.
# Entries carry the routing generation (tenants.routing_cache): a suspension reaches calls at once.
_route_cache: BoundedCache[tuple[str | None, str | None], tuple[float, int | None, Tenant]] = BoundedCache(
    settings.ASKPRO_TENANT_CACHE_SIZE
)


def _routed_tenant(agent_id: str | None, to_number: str | None) -> Tenant | None:
    ttl = settings.ASKPRO_TENANT_CACHE_SECONDS
    key = (agent_id, to_number)
    generation = routing_cache.current() if ttl else None
    cached = _route_cache.get(key)
    if cached is not None and cached[0] > time.monotonic() and (generation is None or cached[1] == generation):
        return cached[2]
    tenant = tenant_for_voice_call(agent_id=agent_id, to_number=to_number)
    if tenant is not None and ttl:
        _route_cache[key] = (time.monotonic() + ttl, generation, tenant)
    return tenant


def resolve_tenant(request: HttpRequest, call: dict[str, Any], args: dict[str, Any]) -> Tenant | None:
    """The tenant of a Retell request: the host's, else the routing registry's, else ``?tenant=``."""
    host_tenant = getattr(request, "tenant", None)
    if host_tenant is not None and host_tenant.schema_name != get_public_schema_name():
        return host_tenant
    agent_id = call.get("agent_id") or args.get("agent_id")
    to_number = call.get("to_number") or args.get("to_number") or args.get("agent_number")
    if call.get("direction") == "outbound":
        to_number = call.get("from_number") or to_number  # our number is the calling side
    tenant = _routed_tenant(str(agent_id) if agent_id else None, normalize_phone(to_number) if to_number else None)
    if tenant is None and request.GET.get("tenant"):
        with schema_context(get_public_schema_name()):
            tenant = Tenant.objects.filter(slug=request.GET["tenant"], is_template=False).first()
    return tenant


@contextmanager
def in_tenant(tenant: Tenant) -> Iterator[None]:
    if current_schema() == tenant.schema_name:
        yield
    else:
        with tenant_context(tenant):
            yield


def rate_limited(call_id: str, *, now: float | None = None) -> int | None:
    """Seconds to wait when ``call_id`` exceeded its requests per minute, else None."""
    limit = settings.RETELL_RATE_LIMIT_PER_MINUTE
    if limit <= 0:
        return None
    now = time.time() if now is None else now
    window = int(now // 60)
    key = f"retell-rl:{hashlib.sha256(call_id.encode()).hexdigest()[:32]}:{window}"
    try:
        cache.add(key, 0, timeout=61)
        count = cache.incr(key)
    except Exception:  # the limiter never takes a call down
        logger.warning("rate limiter unavailable", exc_info=True)
        return None
    if count > limit:
        return max(1, 60 - int(now % 60))
    return None


VOICE_BLOCK_PER_CALL_SECONDS = 2 * 3600


def voice_block_of_call(tenant_id: int, call_id: str) -> str:
    """Why this call's function calls are refused ("" when they are not), decided at the call's
    first function call: a call that was answered before its tenant's balance ran out finishes
    (the block stops the next calls), and the hot path spends no query on it after the first."""
    key = f"retell-voice-block:{hashlib.sha256(call_id.encode()).hexdigest()[:32]}"
    try:
        known = cache.get(key)
    except Exception:  # the cache never takes a call down; read the database instead
        logger.warning("cache unavailable for the voice block", exc_info=True)
        known = None
    if known is not None:
        return str(known)
    reason = voice_block(tenant_id) or ""
    try:
        cache.set(key, reason, timeout=VOICE_BLOCK_PER_CALL_SECONDS)
    except Exception:
        logger.warning("cache unavailable for the voice block", exc_info=True)
    return reason


def retell_function(function_name: str) -> Callable[[FunctionHandler], Callable[[HttpRequest], JsonResponse]]:
    """Turn ``handler(FunctionCall) -> dict`` into a Retell function-call view."""

    def decorate(handler: FunctionHandler) -> Callable[[HttpRequest], JsonResponse]:
        @csrf_exempt
        def view(request: HttpRequest) -> JsonResponse:
            with translation.override("de"):
                return _handle(request, function_name, handler)

        view.__name__ = handler.__name__
        view.__doc__ = handler.__doc__
        return view

    return decorate


def _handle(request: HttpRequest, function_name: str, handler: FunctionHandler) -> JsonResponse:
    if request.method != "POST":
        return _protocol_error("METHOD_NOT_ALLOWED", _("Nur POST ist erlaubt."), 405)
    allowed = settings.RETELL_ALLOWED_IPS
    if allowed and client_ip(request) not in allowed:
        security_log.warning("retell request from %s refused (not allow-listed)", client_ip(request))
        return _protocol_error("IP_NOT_ALLOWED", _("Diese Anfrage ist nicht erlaubt."), 403)
    raw = request.body
    try:
        name, args, call, form = split_body(json.loads(raw or b"null"))
    except (ValueError, UnicodeDecodeError):
        return _protocol_error("MALFORMED_REQUEST", _("Die Anfrage konnte nicht gelesen werden."), 400)

    tenant = resolve_tenant(request, call, args)
    if tenant is None:
        # Still only answer signed requests: unsigned probing learns nothing about routing.
        try:
            signatures.verify(raw, request.headers.get("X-Retell-Signature"), retell_keys())
        except signatures.SignatureInvalid as exc:
            return signature_refused(request, function_name, str(exc))
        return _protocol_error(
            "TENANT_NOT_FOUND", _("Dieser Anruf ist keinem Unternehmen zugeordnet."), 404,
        )
    with in_tenant(tenant):
        try:
            signatures.verify(raw, request.headers.get("X-Retell-Signature"), retell_keys())
        except signatures.SignatureInvalid as exc:
            return signature_refused(request, function_name, str(exc))
        if not tenant.is_active:
            return _protocol_error(
                "TENANT_SUSPENDED",
                _("Online-Buchungen sind gerade nicht möglich. Bitte rufen Sie später noch einmal an."), 403,
            )
        call_id = str(call.get("call_id") or args.get("call_id") or "")
        if not call_id:
            return _protocol_error(
                "CALL_ID_MISSING", _("Die Anfrage enthält keine call_id."), 400,
                hint="With 'args at root', add a const argument call_id = {{call_id}}.",
            )
        blocked = voice_block_of_call(tenant.pk, call_id)
        if blocked:  # e.g. BALANCE_EXHAUSTED, published by billing
            return _protocol_error(
                blocked, _("Telefonische Buchungen sind gerade nicht möglich. Bitte rufen Sie später noch einmal an."),
                403,
            )
        wait = rate_limited(call_id)
        if wait is not None:
            return _protocol_error(
                "RATE_LIMITED", _("Einen Moment bitte, zu viele Anfragen auf einmal."), 429, retry_after=wait,
            )
        request_call = FunctionCall(
            name=name or function_name, args=args, call=call, call_id=call_id, tenant=tenant, body_form=form,
        )
        try:
            answer = handler(request_call)
        except DomainError as error:
            answer = spoken_error(error)
        except Exception:
            logger.exception("retell function %s failed for call %s", function_name, call_id)
            answer = error_body("INTERNAL_ERROR", _("Da ist bei uns etwas schiefgelaufen."))
            if _note_callback_after_failure(request_call, function_name):
                answer["message"] = _("Da ist bei uns gerade etwas schiefgelaufen. Ich notiere einen Rückruf für Sie.")
            else:
                answer["message"] = _("Da ist bei uns gerade etwas schiefgelaufen. Bitte rufen Sie später noch einmal an.")
            return JsonResponse(answer, status=500, json_dumps_params={"ensure_ascii": False})
    return JsonResponse(capped(answer), status=200, json_dumps_params={"ensure_ascii": False})


# Retell hands the agent at most 15,000 characters of a function result; stay well below.
MAX_ANSWER_CHARS = 12_000
MAX_VALUE_CHARS = 300  # a caller's words echoed back (a service name, a query) are cut to this
MAX_MESSAGE_CHARS = 3_000
MAX_LIST_ITEMS = 10


def _length(answer: Any) -> int:
    return len(json.dumps(answer, ensure_ascii=False, default=str))


def _cut_text(value: str, limit: int) -> str:
    return value if len(value) <= limit else value[: limit - 1] + "…"


def _cut(value: Any, *, key: str = "") -> Any:
    if isinstance(value, str):
        return _cut_text(value, MAX_MESSAGE_CHARS if key == "message" else MAX_VALUE_CHARS)
    if isinstance(value, dict):
        return {str(name)[:MAX_VALUE_CHARS]: _cut(item, key=str(name)) for name, item in value.items()}
    if isinstance(value, list | tuple):
        return [_cut(item) for item in value[:MAX_LIST_ITEMS]]
    return value


def capped(answer: dict[str, Any]) -> dict[str, Any]:
    """``answer`` when it fits Retell's limit; otherwise with long values cut (never a caller's
    100 KB echoed whole) and, if still too long, only its outcome, message and error code."""
    if _length(answer) <= MAX_ANSWER_CHARS:
        return answer
    cut = _cut(answer)
    cut["truncated"] = True
    if _length(cut) <= MAX_ANSWER_CHARS:
        return cut
    error = answer.get("error") if isinstance(answer.get("error"), dict) else None
    minimal: dict[str, Any] = {
        "success": bool(answer.get("success")), "truncated": True,
        "message": _cut_text(str(answer.get("message", "")), MAX_MESSAGE_CHARS),
    }
    if error is not None:
        minimal["error"] = {"code": _cut_text(str(error.get("code", "")), 64), "message": "", "details": {}}
    return minimal


def _note_callback_after_failure(request_call: FunctionCall, function_name: str) -> bool:
    """Keep the promise the agent makes on an internal error: a high-priority callback for the
    caller (one per call). False when none could be noted (no caller number, database down)."""
    from calls import services
    from calls.models import CallbackRequest

    phone = request_call.caller_number
    if phone is None:
        return False
    try:
        services.request_callback(
            phone=phone, reason=CallbackRequest.Reason.TECHNICAL, priority=CallbackRequest.Priority.HIGH,
            call_id=request_call.call_id,
            details=_("Technischer Fehler im Gespräch (Funktion %(function)s).") % {"function": function_name},
        )
    except Exception:
        logger.exception("could not note the callback promised for call %s", request_call.call_id)
        return False
    return True


def signature_refused(request: HttpRequest, function_name: str, reason: str) -> JsonResponse:
    security_log.warning(
        "retell %s: signature refused (%s) from %s", function_name, reason, client_ip(request),
    )
    return _protocol_error("SIGNATURE_INVALID", _("Die Signatur der Anfrage ist ungültig."), 401, reason=reason)


# --- idempotency ----------------------------------------------------------------------------


def args_hash(args: dict[str, Any]) -> str:
    """A stable hash of the arguments (key order and the ``call_id`` argument do not matter)."""
    canonical = json.dumps(
        {key: value for key, value in args.items() if key != "call_id"},
        sort_keys=True, ensure_ascii=False, separators=(",", ":"), default=str,
    )
    return hashlib.sha256(canonical.encode()).hexdigest()


def stored_answer(call_id: str, function: str, args: dict[str, Any]) -> dict[str, Any] | None:
    """The answer ``once_per_call`` stored for these arguments, if any (one indexed query).

    Ask this first when resolving the arguments depends on state the first attempt changed
    (a cancelled appointment is no longer "the caller's upcoming appointment")."""
    stored = FunctionCallResult.objects.filter(call_id=call_id, function=function, args_hash=args_hash(args)).first()
    return dict(stored.response) if stored is not None else None


def once_per_call(call_id: str, function: str, args: dict[str, Any], compute: Callable[[], dict[str, Any]]) -> dict[str, Any]:
    """Run ``compute`` once per (call, function, arguments) and replay its stored answer for
    retries, also concurrent ones. Failed attempts (raised errors) are not stored."""
    digest = args_hash(args)
    lock_key = int.from_bytes(
        hashlib.sha256(f"{current_schema()}:{call_id}:{function}:{digest}".encode()).digest()[:8], "big", signed=True,
    )
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [lock_key])
        stored = FunctionCallResult.objects.filter(call_id=call_id, function=function, args_hash=digest).first()
        if stored is not None:
            return dict(stored.response)
        response = compute()
        FunctionCallResult.objects.create(call_id=call_id, function=function, args_hash=digest, response=response)
        return response
