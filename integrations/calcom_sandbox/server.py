"""A small, stateful Cal.com API v2 sandbox for offline development and tests.

Implements the endpoints AskPro uses with the shapes and headers of ../shared/reference/calcom.md:
event types (personal and team), slots, bookings (list/get/create/reschedule/cancel/confirm/
decline) and webhook subscriptions. Booking changes send webhooks signed like cal.com
(``X-Cal-Signature-256`` = hex HMAC-SHA256 of the exact body) to every subscribed URL.

It is stricter than cal.com in one way: a missing or wrong ``cal-api-version`` is refused with
400 (404 for ``/v2/slots``, as the legacy handler would) instead of silently routing to the
2024-04-15 handlers, so client bugs show up in tests.

Control API (not part of cal.com), for tests and the dev runner:

* ``POST /_sandbox/reset``: back to the seed data.
* ``GET /_sandbox/state``: users, event types, bookings, webhooks, deliveries.
* ``POST /_sandbox/fail`` ``{"status": 503, "count": 2, "retry_after": 1}``: the next requests fail;
  ``{"status": "timeout", "delay": 5}``: the next request is processed but answered only after
  ``delay`` seconds (a client timeout on a request that took effect).
* ``PATCH /_sandbox/bookings/<uid>`` ``{"start", "end", "status", "attendee": {...}}``: change a
  booking silently (no webhook): drift for reconciliation tests.
* ``POST /_sandbox/ping``: send ``PING`` to every webhook.
* ``POST /_sandbox/config`` ``{"rate_limit": 120, "async_webhooks": false}``.
"""

from __future__ import annotations

import copy
import hashlib
import hmac
import itertools
import json
import logging
import re
import threading
import time
import uuid
from datetime import UTC, date, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Literal, overload
from urllib.parse import parse_qs, urlparse
from zoneinfo import ZoneInfo

import httpx

logger = logging.getLogger("calcom_sandbox")

SANDBOX_API_KEY = "cal_test_sandbox_key"
SANDBOX_WEBHOOK_SECRET = "whsec_sandbox_salon_schmidt"  # the demo connection uses the same secret
BOOKING_TRIGGERS = ["BOOKING_CREATED", "BOOKING_REQUESTED", "BOOKING_RESCHEDULED", "BOOKING_CANCELLED",
                    "BOOKING_REJECTED"]
KNOWN_VERSIONS = {"2024-04-15", "2024-06-11", "2024-06-14", "2024-08-13", "2024-09-04", "2026-02-25"}
WEEKDAYS = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"]


class ApiError(Exception):
    def __init__(self, status: int, code: str, message: str, details: dict[str, Any] | None = None,
                 headers: dict[str, str] | None = None) -> None:
        self.status, self.code, self.message = status, code, message
        self.details = details or {}
        self.headers = headers or {}
        super().__init__(message)


def _bad(message: str, **details: Any) -> ApiError:
    return ApiError(400, "BadRequestException", message, details)


def _not_found(message: str) -> ApiError:
    return ApiError(404, "NotFoundException", message)


def _iso(value: datetime) -> str:
    return value.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _webhook_time(value: datetime) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")  # dayjs .utc().format()


def _parse(value: Any, field: str) -> datetime:
    if not isinstance(value, str) or not value:
        raise _bad(f"{field} must be an ISO 8601 date string")
    try:
        if re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):
            return datetime.fromisoformat(value).replace(tzinfo=UTC)
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError as exc:
        raise _bad(f"{field} must be an ISO 8601 date string") from exc
    return (parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)).astimezone(UTC)


def _seed(webhooks: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    users = {
        1: {"id": 1, "username": "anna", "name": "Anna Becker", "email": "anna@salon-schmidt.example",
            "timeZone": "Europe/Berlin"},
        2: {"id": 2, "username": "ben", "name": "Ben Krüger", "email": "ben@salon-schmidt.example",
            "timeZone": "Europe/Berlin"},
    }
    hours = [{"days": WEEKDAYS[:5], "startTime": "09:00", "endTime": "17:00"}]
    base = {"description": "", "locations": [], "bookingFields": [], "disableGuests": False, "slotInterval": None,
            "minimumBookingNotice": 0, "beforeEventBuffer": 0, "afterEventBuffer": 0, "recurrence": None,
            "metadata": {}, "price": 0, "currency": "eur", "hidden": False, "requiresConfirmation": False,
            "scheduleId": None}
    event_types = {
        101: {**base, "id": 101, "title": "Haarschnitt", "slug": "haarschnitt", "lengthInMinutes": 30,
              "ownerId": 1, "users": [1], "teamId": None},
        102: {**base, "id": 102, "title": "Färben", "slug": "faerben", "lengthInMinutes": 90,
              "ownerId": 1, "users": [1], "teamId": None},
        201: {**base, "id": 201, "title": "Beratung", "slug": "beratung", "lengthInMinutes": 30,
              "ownerId": None, "teamId": 10, "schedulingType": "roundRobin",
              "hosts": [{"userId": 1, "name": "Anna Becker", "username": "anna"},
                        {"userId": 2, "name": "Ben Krüger", "username": "ben"}]},
    }
    return {
        "users": users,
        "teams": {10: {"id": 10, "name": "Salon Schmidt", "slug": "salon-schmidt", "members": [1, 2]}},
        "schedules": {1: hours, 2: hours},
        "event_types": event_types,
        "bookings": {},
        "webhooks": {hook["id"]: dict(hook) for hook in webhooks or []},
        "deliveries": [],
        "api_keys": {SANDBOX_API_KEY: 1},
        "failures": [],
        "config": {"rate_limit": 120, "async_webhooks": True},
        "rate": {},
    }


class SandboxState:
    """Everything the sandbox knows; one lock guards it."""

    def __init__(self, webhooks: list[dict[str, Any]] | None = None) -> None:
        self.lock = threading.RLock()
        self.ids = itertools.count(1000)
        self.default_webhooks = webhooks or []
        self.data = _seed(self.default_webhooks)

    def reset(self) -> None:
        with self.lock:
            self.data = _seed(self.default_webhooks)

    def snapshot(self) -> dict[str, Any]:
        with self.lock:
            data = copy.deepcopy(self.data)
        return {k: (list(v.values()) if isinstance(v, dict) and k in
                    ("users", "event_types", "bookings", "webhooks", "teams") else v)
                for k, v in data.items() if k not in ("api_keys", "rate")}


class CalcomSandbox:
    """The sandbox HTTP server; ``start()`` serves in a background thread, ``serve_forever()`` blocks."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0, *, webhook_url: str = "",
                 webhook_secret: str = SANDBOX_WEBHOOK_SECRET) -> None:
        """``webhook_url``: a subscription present from the start (and after reset), as the dev
        runner needs: AskPro's Cal.com endpoint for the demo tenant."""
        webhooks = [{"id": 1, "subscriberUrl": webhook_url, "triggers": list(BOOKING_TRIGGERS), "active": True,
                     "secret": webhook_secret, "payloadTemplate": None}] if webhook_url else []
        self.state = SandboxState(webhooks)
        sandbox = self

        class Handler(_Handler):
            pass

        Handler.sandbox = sandbox
        self.httpd = ThreadingHTTPServer((host, port), Handler)
        self.httpd.daemon_threads = True
        self._thread: threading.Thread | None = None
        self._delivery_threads: list[threading.Thread] = []

    @property
    def url(self) -> str:
        host, port = self.httpd.server_address[:2]
        if not isinstance(host, str):  # typeshed allows bytes; a bound AF_INET socket reports a str
            host = bytes(host).decode()
        return f"http://{host}:{port}"

    def start(self) -> CalcomSandbox:
        self._thread = threading.Thread(target=self.httpd.serve_forever, name="calcom-sandbox", daemon=True)
        self._thread.start()
        return self

    def serve_forever(self) -> None:
        try:
            self.httpd.serve_forever()
        except KeyboardInterrupt:
            pass

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()

    def wait_for_deliveries(self, count: int, timeout: float = 10.0) -> list[dict[str, Any]]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self.state.lock:
                done = [d for d in self.state.data["deliveries"] if d["status"] is not None or d["error"]]
            if len(done) >= count:
                return done
            time.sleep(0.02)
        raise TimeoutError(f"{count} webhook deliveries not finished within {timeout} s")

    # --- domain -------------------------------------------------------------------------

    @overload
    def _user_for(self, headers: Any, *, required: Literal[True]) -> dict[str, Any]: ...

    @overload
    def _user_for(self, headers: Any, *, required: bool) -> dict[str, Any] | None: ...

    def _user_for(self, headers: Any, *, required: bool) -> dict[str, Any] | None:
        auth = headers.get("Authorization", "")
        key = auth[7:].strip() if auth.startswith("Bearer ") else ""
        data = self.state.data
        if not key:
            if required:
                raise ApiError(401, "UnauthorizedException", "No API key or access token provided")
            return None
        user_id = data["api_keys"].get(key)
        if user_id is None:
            raise ApiError(401, "UnauthorizedException", "Invalid API Key")
        self._rate_limit(key)
        return data["users"][user_id]

    def _rate_limit(self, key: str) -> None:
        limit = int(self.state.data["config"]["rate_limit"])
        window = int(time.time() // 60)
        rate = self.state.data["rate"]
        count = rate.get((key, window), 0) + 1
        rate[(key, window)] = count
        if limit and count > limit:
            raise ApiError(429, "ThrottlerException", "ThrottlerException: Too Many Requests",
                           headers={"Retry-After": "60", "X-RateLimit-Limit-Default": str(limit),
                                    "X-RateLimit-Remaining-Default": "0", "X-RateLimit-Reset-Default": "60"})

    def _event_type(self, event_type_id: Any) -> dict[str, Any]:
        try:
            event_type = self.state.data["event_types"].get(int(event_type_id))
        except (TypeError, ValueError):
            event_type = None
        if event_type is None:
            raise _not_found(f"Event type with id {event_type_id} not found.")
        return event_type

    def _hosts(self, event_type: dict[str, Any]) -> list[int]:
        if event_type.get("teamId"):
            return [h["userId"] for h in event_type.get("hosts", [])]
        return [event_type["ownerId"]]

    def _busy(self, user_id: int, start: datetime, end: datetime, ignore_uid: str | None = None) -> bool:
        for booking in self.state.data["bookings"].values():
            if booking["uid"] == ignore_uid or booking["status"] not in ("accepted", "pending"):
                continue
            if user_id not in [h["id"] for h in booking["hosts"]]:
                continue
            if _parse(booking["start"], "start") < end and start < _parse(booking["end"], "end"):
                return True
        return False

    def _in_hours(self, user_id: int, start: datetime, end: datetime) -> bool:
        zone = ZoneInfo(self.state.data["users"][user_id]["timeZone"])
        local_start, local_end = start.astimezone(zone), end.astimezone(zone)
        if local_start.date() != local_end.date() and local_end.time() != datetime.min.time():
            return False
        for rule in self.state.data["schedules"].get(user_id, []):
            if WEEKDAYS[local_start.weekday()] not in rule["days"]:
                continue
            opens = datetime.combine(local_start.date(), datetime.strptime(rule["startTime"], "%H:%M").time(), zone)
            closes = datetime.combine(local_start.date(), datetime.strptime(rule["endTime"], "%H:%M").time(), zone)
            if opens <= local_start and local_end <= closes:
                return True
        return False

    def _free_host(self, event_type: dict[str, Any], start: datetime, length: int,
                   ignore_uid: str | None = None) -> int | None:
        end = start + timedelta(minutes=length)
        notice = timedelta(minutes=int(event_type.get("minimumBookingNotice") or 0))
        if start < datetime.now(UTC) + notice:
            return None
        for user_id in self._hosts(event_type):
            if self._in_hours(user_id, start, end) and not self._busy(user_id, start, end, ignore_uid):
                return user_id
        return None

    def slots(self, query: dict[str, str]) -> dict[str, list[dict[str, str]]]:
        if "eventTypeId" not in query:
            raise _bad("eventTypeId (or eventTypeSlug with username/teamSlug) is required")
        event_type = self._event_type(query["eventTypeId"])
        start = _parse(query.get("start"), "start")
        end_raw = query.get("end")
        end = _parse(end_raw, "end")
        if end_raw and re.fullmatch(r"\d{4}-\d{2}-\d{2}", end_raw):
            end = end + timedelta(days=1) - timedelta(seconds=1)
        zone = ZoneInfo(query.get("timeZone") or "UTC")
        length = int(query.get("duration") or event_type["lengthInMinutes"])
        step = int(event_type.get("slotInterval") or length)
        ignore = query.get("bookingUidToReschedule")
        result: dict[str, list[dict[str, str]]] = {}
        # walk whole hours of the window in steps; the schedule decides what is offered
        cursor = start.replace(minute=0, second=0, microsecond=0)
        while cursor < start:
            cursor += timedelta(minutes=step)
        while cursor + timedelta(minutes=length) <= end + timedelta(seconds=1):
            if self._free_host(event_type, cursor, length, ignore) is not None:
                local = cursor.astimezone(zone)
                item = {"start": local.isoformat(timespec="milliseconds")}
                if query.get("format") == "range":
                    item["end"] = (cursor + timedelta(minutes=length)).astimezone(zone).isoformat(timespec="milliseconds")
                result.setdefault(local.date().isoformat(), []).append(item)
            cursor += timedelta(minutes=step)
        return result

    def booking_output(self, booking: dict[str, Any]) -> dict[str, Any]:
        return {k: v for k, v in booking.items() if not k.startswith("_")}

    def create_booking(self, body: dict[str, Any], *, rescheduled_from: dict[str, Any] | None = None,
                       rescheduled_by: str | None = None) -> dict[str, Any]:
        event_type_id = body.get("eventTypeId")
        if event_type_id is None:
            raise _bad("Either eventTypeId or eventTypeSlug + username or eventTypeSlug + teamSlug must be provided")
        event_type = self._event_type(event_type_id)
        attendee = body.get("attendee")
        if not isinstance(attendee, dict) or not attendee.get("name") or not attendee.get("timeZone"):
            raise _bad("attendee.name and attendee.timeZone are required",
                       errors=[{"property": "attendee", "constraints": {"isDefined": "attendee must be defined"}}])
        if not attendee.get("email") and not attendee.get("phoneNumber"):
            raise _bad("attendee.email or attendee.phoneNumber is required")
        start = _parse(body.get("start"), "start")
        metadata = body.get("metadata") or {}
        if len(metadata) > 50 or any(len(k) > 40 or not isinstance(v, str) or len(v) > 500 for k, v in metadata.items()):
            raise _bad("metadata: at most 50 string keys (≤ 40 chars) with string values (≤ 500 chars)")
        if start < datetime.now(UTC):
            raise _bad("Attempting to book a meeting in the past.")
        length = int(body.get("lengthInMinutes") or event_type["lengthInMinutes"])
        host_id = self._free_host(event_type, start, length, rescheduled_from["uid"] if rescheduled_from else None)
        if host_id is None:
            message = ("One of the hosts either already has booking at this time or is not available"
                       if event_type.get("teamId") else
                       "User either already has booking at this time or is not available")
            raise _bad(message, code="no_available_users_found_error")
        host = self.state.data["users"][host_id]
        now = datetime.now(UTC)
        booking_id = next(self.state.ids)
        booking = {
            "id": booking_id, "uid": uuid.uuid4().hex[:22], "title": f"{event_type['title']} zwischen {host['name']} und {attendee['name']}",
            "description": "", "hosts": [{"id": host["id"], "name": host["name"], "email": host["email"],
                                          "displayEmail": host["email"], "username": host["username"],
                                          "timeZone": host["timeZone"]}],
            "status": "pending" if event_type.get("requiresConfirmation") else "accepted",
            "start": _iso(start), "end": _iso(start + timedelta(minutes=length)), "duration": length,
            "eventTypeId": event_type["id"], "eventType": {"id": event_type["id"], "slug": event_type["slug"]},
            "location": "", "absentHost": False, "createdAt": _iso(now), "updatedAt": _iso(now),
            "metadata": dict(metadata),
            "attendees": [{"name": attendee["name"], "email": attendee.get("email", ""),
                           "displayEmail": attendee.get("email", ""), "timeZone": attendee["timeZone"],
                           "language": attendee.get("language", "en"), "absent": False,
                           **({"phoneNumber": attendee["phoneNumber"]} if attendee.get("phoneNumber") else {})}],
            "guests": list(body.get("guests") or []),
            "bookingFieldsResponses": {"name": attendee["name"], "email": attendee.get("email", ""),
                                       **(body.get("bookingFieldsResponses") or {})},
        }
        if rescheduled_from is not None:
            booking["rescheduledFromUid"] = rescheduled_from["uid"]
            if rescheduled_by:
                booking["rescheduledByEmail"] = rescheduled_by
        self.state.data["bookings"][booking["uid"]] = booking
        return booking

    def webhook_payload(self, trigger: str, booking: dict[str, Any], **extra: Any) -> dict[str, Any]:
        event_type = self.state.data["event_types"].get(booking["eventTypeId"], {})
        host = booking["hosts"][0]
        attendees = [
            {"email": a["email"], "name": a["name"], "firstName": a["name"].split(" ")[0],
             "lastName": " ".join(a["name"].split(" ")[1:]), "timeZone": a["timeZone"],
             "language": {"locale": a.get("language", "en")}, "utcOffset": 0,
             **({"phoneNumber": a["phoneNumber"]} if a.get("phoneNumber") else {})}
            for a in booking["attendees"]
        ]
        payload = {
            "bookerUrl": "http://sandbox.cal.local", "title": booking["title"],
            "startTime": _webhook_time(_parse(booking["start"], "start")),
            "endTime": _webhook_time(_parse(booking["end"], "end")),
            "type": event_type.get("slug", ""), "eventTypeId": booking["eventTypeId"], "description": "",
            "organizer": {"id": host["id"], "name": host["name"], "email": host["email"],
                          "username": host["username"], "timeZone": host["timeZone"],
                          "language": {"locale": "de"}, "timeFormat": "HH:mm", "utcOffset": 0},
            "attendees": attendees,
            "responses": {"name": {"label": "your_name", "value": booking["attendees"][0]["name"], "isHidden": False},
                          "email": {"label": "email_address", "value": booking["attendees"][0]["email"], "isHidden": False}},
            "uid": booking["uid"], "bookingId": booking["id"], "length": booking["duration"],
            "eventTitle": event_type.get("title", ""), "requiresConfirmation": bool(event_type.get("requiresConfirmation")),
            "metadata": dict(booking.get("metadata") or {}), "iCalUID": f"{booking['uid']}@sandbox.cal.local",
            "status": booking["status"].upper(), "team": None,
            **extra,
        }
        return {"triggerEvent": trigger, "createdAt": _iso(datetime.now(UTC)), "payload": payload}

    def send_webhooks(self, trigger: str, envelope: dict[str, Any]) -> None:
        body = json.dumps(envelope, separators=(",", ":"), ensure_ascii=False).encode()
        for hook in list(self.state.data["webhooks"].values()):
            if not hook["active"] or (trigger not in hook["triggers"] and trigger != "PING"):
                continue
            delivery = {"id": len(self.state.data["deliveries"]) + 1, "trigger": trigger,
                        "url": hook["subscriberUrl"], "status": None, "error": "",
                        "body": body.decode(), "sent_at": _iso(datetime.now(UTC))}
            self.state.data["deliveries"].append(delivery)
            signature = (hmac.new(hook["secret"].encode(), body, hashlib.sha256).hexdigest()
                         if hook.get("secret") else "no-secret-provided")
            args = (hook["subscriberUrl"], body, signature, delivery)
            if self.state.data["config"]["async_webhooks"]:
                thread = threading.Thread(target=self._deliver, args=args, daemon=True)
                thread.start()
            else:
                self._deliver(*args)

    def _deliver(self, url: str, body: bytes, signature: str, delivery: dict[str, Any]) -> None:
        # Like cal.com: one attempt, redirects not followed, the result only logged.
        try:
            response = httpx.post(url, content=body, timeout=10, follow_redirects=False, headers={
                "Content-Type": "application/json", "X-Cal-Signature-256": signature,
                "X-Cal-Webhook-Version": "2021-10-20"})
            with self.state.lock:
                delivery["status"] = response.status_code
        except httpx.HTTPError as exc:
            with self.state.lock:
                delivery["error"] = f"{type(exc).__name__}: {exc}"
        logger.info("webhook %s -> %s: %s", delivery["trigger"], url, delivery["status"] or delivery["error"])


_VERSIONS = {"bookings": {"2024-08-13", "2026-02-25"}, "slots": {"2024-09-04"},
             "event-types": {"2024-06-14"}, "teams": KNOWN_VERSIONS, "webhooks": KNOWN_VERSIONS}


class _Handler(BaseHTTPRequestHandler):
    sandbox: CalcomSandbox
    protocol_version = "HTTP/1.1"
    server_version = "CalcomSandbox/1.0"

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
        logger.debug("%s " + format, self.address_string(), *args)

    def do_GET(self) -> None:  # noqa: N802
        self._dispatch("GET")

    def do_POST(self) -> None:  # noqa: N802
        self._dispatch("POST")

    def do_PATCH(self) -> None:  # noqa: N802
        self._dispatch("PATCH")

    def do_DELETE(self) -> None:  # noqa: N802
        self._dispatch("DELETE")

    def _dispatch(self, method: str) -> None:
        parsed = urlparse(self.path)
        path = parsed.path.rstrip("/")
        query = {k: v[-1] for k, v in parse_qs(parsed.query).items()}
        request_id = uuid.uuid4().hex
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        try:
            body = json.loads(raw) if raw else {}
        except ValueError:
            return self._error(ApiError(400, "BadRequestException", "Body is not valid JSON"), path, request_id)
        state = self.sandbox.state
        answer_late = 0.0
        try:
            with state.lock:
                if path.startswith("/_sandbox"):
                    status, data = self._control(method, path, body)
                    return self._send(status, data, request_id)
                if state.data["failures"]:
                    failure = state.data["failures"].pop(0)
                    if failure["status"] == "timeout":
                        # processed, but the answer comes too late: the client times out
                        answer_late = float(failure.get("delay") or 5.0)
                    else:
                        raise ApiError(failure["status"], failure.get("code", "InternalServerErrorException"),
                                       failure.get("message", "Injected failure"),
                                       headers={"Retry-After": str(failure["retry_after"])} if failure.get("retry_after") is not None else {})
                status, data, extra = self._api(method, path, query, body)
        except ApiError as exc:
            return self._error(exc, path, request_id)
        response: dict[str, Any] = {"status": "success", "data": data}
        if extra:
            response.update(extra)
        if answer_late:
            time.sleep(answer_late)  # outside the lock: other requests go on meanwhile
            try:
                self._send(status, response, request_id)
            except OSError:
                self.close_connection = True  # the client gave up waiting
            return None
        self._send(status, response, request_id)

    def _send(self, status: int, data: Any, request_id: str, headers: dict[str, str] | None = None) -> None:
        payload = json.dumps(data, ensure_ascii=False).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(payload)))
        self.send_header("X-Request-Id", request_id)
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(payload)

    def _error(self, exc: ApiError, path: str, request_id: str) -> None:
        body = {"status": "error", "timestamp": _iso(datetime.now(UTC)), "path": path,
                "error": {"code": exc.code, "message": exc.message, "details": exc.details}}
        self._send(exc.status, body, request_id, exc.headers)

    def _version(self, resource: str, path: str) -> None:
        sent = self.headers.get("cal-api-version", "")
        if sent in _VERSIONS[resource]:
            return
        if resource == "slots":
            raise _not_found(f"Cannot GET {path} (cal-api-version {sent or 'missing'} routes to the legacy "
                             "2024-04-15 slots handler; send 2024-09-04)")
        raise _bad(f"cal-api-version {sent or 'missing'} is not served for /v2/{resource} by this sandbox "
                   f"(expected one of {sorted(_VERSIONS[resource])})")

    def _api(self, method: str, path: str, query: dict[str, str], body: dict[str, Any]) -> tuple[int, Any, dict[str, Any] | None]:
        sandbox, data = self.sandbox, self.sandbox.state.data
        parts = path.strip("/").split("/")
        if len(parts) < 2 or parts[0] != "v2":
            raise _not_found(f"Cannot {method} {path}")
        resource = parts[1]
        if resource not in _VERSIONS:
            raise _not_found(f"Cannot {method} {path}")
        self._version(resource, path)
        rest = parts[2:]

        if resource == "event-types":
            if method == "GET" and not rest:
                user = sandbox._user_for(self.headers, required=False)
                username = query.get("username")
                owner = next((u for u in data["users"].values() if u["username"] == username), None) if username else user
                if owner is None:
                    return 200, [], None
                items = [e for e in data["event_types"].values() if e.get("ownerId") == owner["id"]]
                if query.get("eventSlug"):
                    items = [e for e in items if e["slug"] == query["eventSlug"]]
                return 200, items, None
            user = sandbox._user_for(self.headers, required=True)
            if method == "POST" and not rest:
                event_type = self._new_event_type(body, owner_id=user["id"], team_id=None)
                return 201, event_type, None
            event_type = sandbox._event_type(rest[0])
            if event_type.get("ownerId") != user["id"]:
                raise _not_found(f"Event type with id {rest[0]} not found.")
            if method == "GET":
                return 200, event_type, None
            if method == "PATCH":
                event_type.update(self._event_type_fields(body))
                return 200, event_type, None

        if resource == "teams" and len(rest) >= 2 and rest[1] == "event-types":
            team = data["teams"].get(int(rest[0])) if rest[0].isdigit() else None
            if team is None:
                raise _not_found(f"Team with id {rest[0]} not found")
            items = [e for e in data["event_types"].values() if e.get("teamId") == team["id"]]
            if method == "GET" and len(rest) == 2:
                return 200, items, None
            sandbox._user_for(self.headers, required=True)
            if method == "POST" and len(rest) == 2:
                return 201, self._new_event_type(body, owner_id=None, team_id=team["id"]), None
            team_event_type = next((e for e in items if str(e["id"]) == rest[2]), None) if len(rest) == 3 else None
            if team_event_type is None:
                raise _not_found("Event type not found")
            if method == "GET":
                return 200, team_event_type, None
            if method == "PATCH":
                team_event_type.update(self._event_type_fields(body))
                return 200, team_event_type, None

        if resource == "slots" and method == "GET" and not rest:
            return 200, sandbox.slots(query), None

        if resource == "bookings":
            return self._bookings(method, rest, query, body)

        if resource == "webhooks":
            sandbox._user_for(self.headers, required=True)
            if method == "POST" and not rest:
                if not str(body.get("subscriberUrl", "")).startswith(("http://", "https://")):
                    raise _bad("subscriberUrl must be an http(s) URL")
                hook = {"id": next(sandbox.state.ids), "subscriberUrl": body["subscriberUrl"],
                        "triggers": list(body.get("triggers") or []), "active": bool(body.get("active", True)),
                        "secret": body.get("secret") or "", "payloadTemplate": None}
                data["webhooks"][hook["id"]] = hook
                return 201, {k: v for k, v in hook.items() if k != "secret"}, None
            if method == "GET" and not rest:
                return 200, [{k: v for k, v in h.items() if k != "secret"} for h in data["webhooks"].values()], None
            if method == "DELETE" and rest and rest[0].isdigit() and int(rest[0]) in data["webhooks"]:
                hook = data["webhooks"].pop(int(rest[0]))
                return 200, {k: v for k, v in hook.items() if k != "secret"}, None
            raise _not_found("Webhook not found")

        raise _not_found(f"Cannot {method} {path}")

    def _event_type_fields(self, body: dict[str, Any]) -> dict[str, Any]:
        allowed = {"title", "slug", "lengthInMinutes", "description", "minimumBookingNotice", "slotInterval",
                   "hidden", "beforeEventBuffer", "afterEventBuffer", "metadata", "hosts", "schedulingType"}
        fields = {k: v for k, v in body.items() if k in allowed}  # unknown properties dropped, like cal.com
        if "lengthInMinutes" in fields and (not isinstance(fields["lengthInMinutes"], int) or fields["lengthInMinutes"] < 1):
            raise _bad("lengthInMinutes must be a positive integer")
        return fields

    def _new_event_type(self, body: dict[str, Any], *, owner_id: int | None, team_id: int | None) -> dict[str, Any]:
        data = self.sandbox.state.data
        for required in ("title", "slug", "lengthInMinutes"):
            if not body.get(required):
                raise _bad(f"{required} should not be empty")
        base = copy.deepcopy(data["event_types"][101])
        event_type = {**base, "id": next(self.sandbox.state.ids), "ownerId": owner_id, "teamId": team_id,
                      "users": [owner_id] if owner_id else [], **self._event_type_fields(body)}
        if team_id is not None:
            event_type.setdefault("hosts", [{"userId": m} for m in data["teams"][team_id]["members"]])
            event_type.setdefault("schedulingType", "roundRobin")
        data["event_types"][event_type["id"]] = event_type
        return event_type

    def _bookings(self, method: str, rest: list[str], query: dict[str, str], body: dict[str, Any]) -> tuple[int, Any, dict[str, Any] | None]:
        sandbox, data = self.sandbox, self.sandbox.state.data
        if method == "POST" and not rest:
            sandbox._user_for(self.headers, required=False)
            booking = sandbox.create_booking(body)
            trigger = "BOOKING_REQUESTED" if booking["status"] == "pending" else "BOOKING_CREATED"
            sandbox.send_webhooks(trigger, sandbox.webhook_payload(trigger, booking))
            return 201, sandbox.booking_output(booking), None
        if method == "GET" and not rest:
            user = sandbox._user_for(self.headers, required=True)
            return self._list_bookings(user, query)
        if not rest:
            raise _not_found("Cannot handle this bookings request")
        booking = data["bookings"].get(rest[0])
        if booking is None:
            raise _not_found(f"Booking with uid={rest[0]} was not found in the database")
        action = rest[1] if len(rest) > 1 else ""
        now = _iso(datetime.now(UTC))
        if method == "GET" and not action:
            return 200, sandbox.booking_output(booking), None
        if method == "POST" and action == "reschedule":
            if booking["status"] == "cancelled":
                raise _bad("Can't reschedule a cancelled booking")
            new = sandbox.create_booking(
                {"start": body.get("start"), "eventTypeId": booking["eventTypeId"], "attendee": booking["attendees"][0],
                 "metadata": booking.get("metadata"), "lengthInMinutes": booking["duration"]},
                rescheduled_from=booking, rescheduled_by=body.get("rescheduledBy"),
            )
            booking.update({"status": "cancelled", "rescheduled": True, "rescheduledToUid": new["uid"], "updatedAt": now})
            if body.get("reschedulingReason"):
                new["reschedulingReason"] = body["reschedulingReason"]
            extra = {"rescheduleId": booking["id"], "rescheduleUid": booking["uid"],
                     "rescheduleStartTime": _webhook_time(_parse(booking["start"], "start")),
                     "rescheduleEndTime": _webhook_time(_parse(booking["end"], "end"))}
            if body.get("rescheduledBy"):
                extra["rescheduledBy"] = body["rescheduledBy"]
            sandbox.send_webhooks("BOOKING_RESCHEDULED", sandbox.webhook_payload("BOOKING_RESCHEDULED", new, **extra))
            return 201, sandbox.booking_output(new), None
        if method == "POST" and action == "cancel":
            if booking["status"] != "cancelled":
                booking.update({"status": "cancelled", "cancellationReason": body.get("cancellationReason", ""),
                                "updatedAt": now})
                sandbox.send_webhooks("BOOKING_CANCELLED", sandbox.webhook_payload(
                    "BOOKING_CANCELLED", booking, cancellationReason=booking["cancellationReason"],
                    cancelledBy=booking["attendees"][0]["email"], requestReschedule=False))
            return 200, sandbox.booking_output(booking), None
        if method == "POST" and action in ("confirm", "decline"):
            sandbox._user_for(self.headers, required=True)
            if booking["status"] != "pending":
                raise _bad("Booking is not pending")
            if action == "confirm":
                booking.update({"status": "accepted", "updatedAt": now})
                sandbox.send_webhooks("BOOKING_CREATED", sandbox.webhook_payload("BOOKING_CREATED", booking))
            else:
                booking.update({"status": "rejected", "updatedAt": now})
                sandbox.send_webhooks("BOOKING_REJECTED", sandbox.webhook_payload(
                    "BOOKING_REJECTED", booking, rejectionReason=body.get("reason", "")))
            return 200, sandbox.booking_output(booking), None
        raise _not_found(f"Cannot {method} /v2/bookings/{'/'.join(rest)}")

    def _list_bookings(self, user: dict[str, Any], query: dict[str, str]) -> tuple[int, Any, dict[str, Any]]:
        items = [b for b in self.sandbox.state.data["bookings"].values() if user["id"] in [h["id"] for h in b["hosts"]]
                 or any(self.sandbox.state.data["event_types"].get(b["eventTypeId"], {}).get("teamId") == t
                        for t, team in self.sandbox.state.data["teams"].items() if user["id"] in team["members"])]
        now = datetime.now(UTC)
        if query.get("status"):
            wanted = set(query["status"].split(","))

            def matches(b: dict[str, Any]) -> bool:
                end = _parse(b["end"], "end")
                return bool(
                    ("upcoming" in wanted and b["status"] == "accepted" and end >= now)
                    or ("past" in wanted and end < now and b["status"] != "cancelled")
                    or ("cancelled" in wanted and b["status"] in ("cancelled", "rejected"))
                    or ("unconfirmed" in wanted and b["status"] == "pending")
                )

            items = [b for b in items if matches(b)]
        if query.get("afterUpdatedAt"):
            after = _parse(query["afterUpdatedAt"], "afterUpdatedAt")
            items = [b for b in items if _parse(b["updatedAt"], "updatedAt") >= after]
        if query.get("afterCreatedAt"):
            created_after = _parse(query["afterCreatedAt"], "afterCreatedAt")
            items = [b for b in items if _parse(b["createdAt"], "createdAt") >= created_after]
        if query.get("afterStart"):
            start_after = _parse(query["afterStart"], "afterStart")
            items = [b for b in items if _parse(b["start"], "start") >= start_after]
        if query.get("beforeEnd"):
            end_before = _parse(query["beforeEnd"], "beforeEnd")
            items = [b for b in items if _parse(b["end"], "end") <= end_before]
        if query.get("eventTypeIds"):
            ids = {int(i) for i in query["eventTypeIds"].split(",") if i}
            items = [b for b in items if b["eventTypeId"] in ids]
        if query.get("attendeeEmail"):
            items = [b for b in items if any(a["email"] == query["attendeeEmail"] for a in b["attendees"])]
        items.sort(key=lambda b: b["updatedAt"], reverse=query.get("sortUpdatedAt") == "desc")
        take, skip = min(max(int(query.get("take", 100)), 1), 250), max(int(query.get("skip", 0)), 0)
        page = items[skip: skip + take]
        total_pages = max((len(items) + take - 1) // take, 1)
        pagination = {"totalItems": len(items), "remainingItems": max(len(items) - skip - len(page), 0),
                      "returnedItems": len(page), "itemsPerPage": take, "currentPage": skip // take + 1,
                      "totalPages": total_pages, "hasNextPage": skip + len(page) < len(items),
                      "hasPreviousPage": skip > 0}
        return 200, [self.sandbox.booking_output(b) for b in page], {"pagination": pagination}

    def _control(self, method: str, path: str, body: dict[str, Any]) -> tuple[int, Any]:
        sandbox, data = self.sandbox, self.sandbox.state.data
        if path == "/_sandbox/reset" and method == "POST":
            sandbox.state.reset()
            return 200, {"status": "reset"}
        if path == "/_sandbox/state" and method == "GET":
            return 200, sandbox.state.snapshot()
        if path == "/_sandbox/fail" and method == "POST":
            for _ in range(int(body.get("count", 1))):
                if body.get("status") == "timeout":
                    data["failures"].append({"status": "timeout", "delay": float(body.get("delay", 5))})
                    continue
                data["failures"].append({"status": int(body.get("status", 503)), "retry_after": body.get("retry_after"),
                                         "message": body.get("message", "Injected failure"),
                                         "code": body.get("code", "ServiceUnavailableException")})
            return 200, {"queued_failures": len(data["failures"])}
        if path == "/_sandbox/config" and method == "POST":
            data["config"].update({k: v for k, v in body.items() if k in data["config"]})
            return 200, data["config"]
        if path == "/_sandbox/ping" and method == "POST":
            sandbox.send_webhooks("PING", {"triggerEvent": "PING", "createdAt": _iso(datetime.now(UTC)),
                                           "payload": {"type": "Test", "title": "Test trigger event"}})
            return 200, {"sent": True}
        match = re.fullmatch(r"/_sandbox/bookings/([A-Za-z0-9_-]+)", path)
        if match and method == "PATCH":
            booking = data["bookings"].get(match.group(1))
            if booking is None:
                raise _not_found("unknown booking")
            if "start" in body:
                start = _parse(body["start"], "start")
                end = _parse(body["end"], "end") if "end" in body else start + timedelta(minutes=booking["duration"])
                booking.update({"start": _iso(start), "end": _iso(end)})
            if "status" in body:
                booking["status"] = body["status"]
            if "attendee" in body:
                booking["attendees"][0].update(body["attendee"])
            booking["updatedAt"] = _iso(datetime.now(UTC))
            return 200, booking
        raise _not_found(f"Cannot {method} {path}")


def first_slot_on(sandbox: CalcomSandbox, event_type_id: int, day: date) -> datetime:
    """Test helper: the first free start of an event type on ``day`` (UTC)."""
    with sandbox.state.lock:
        slots = sandbox.slots({"eventTypeId": str(event_type_id), "start": day.isoformat(), "end": day.isoformat()})
    first = next(iter(slots.values()))[0]["start"]
    return datetime.fromisoformat(first).astimezone(UTC)

