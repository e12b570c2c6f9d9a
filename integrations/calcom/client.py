"""A typed Cal.com API v2 client (../shared/reference/calcom.md).

* Sends the ``cal-api-version`` each resource needs (a missing or wrong one silently routes to
  2024-04-15 legacy handlers at cal.com): bookings 2024-08-13, slots 2024-09-04, event types
  2024-06-14, schedules 2024-06-11; team event types and webhooks accept any known version.
* Cal.com error bodies ``{"status":"error","error":{"code","message","details"}}`` become typed
  exceptions: :class:`CalcomAuthError`, :class:`CalcomRateLimited`, :class:`CalcomValidationError`
  (:class:`CalcomSlotUnavailable` for the double-booking race), :class:`CalcomNotFound`.
* Runs on :class:`integrations.http.ResilientClient` (timeouts, retries, the "calcom" breaker).
* Slots are cached per tenant in Redis for ``CALCOM_SLOTS_CACHE_SECONDS``; every booking change
  through this client (and :func:`invalidate_availability`) drops the tenant's cached slots.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

import httpx
from django.conf import settings
from django.core.cache import cache
from django.utils.translation import gettext_lazy as _

from integrations.errors import IntegrationError, IntegrationErrorCode
from integrations.http import ResilientClient, RetryPolicy

logger = logging.getLogger(__name__)

VERSION_BOOKINGS = "2024-08-13"
VERSION_SLOTS = "2024-09-04"
VERSION_EVENT_TYPES = "2024-06-14"
VERSION_SCHEDULES = "2024-06-11"
VERSION_ANY = "2024-06-14"  # team event types, webhooks: any known version

_SLOTS_GENERATION_KEY = "calcom:slots-generation"


# --- errors ---------------------------------------------------------------------------------


class CalcomError(IntegrationError):
    code = IntegrationErrorCode.CALCOM_ERROR
    http_status = 502
    default_message = _("Cal.com answered with an error.")

    def __init__(self, message: Any = None, *, status: int | None = None, calcom_code: str = "",
                 request_id: str = "", details: dict[str, Any] | None = None) -> None:
        self.calcom_code = calcom_code
        self.request_id = request_id
        super().__init__(message, provider="calcom", status=status, details=details)


class CalcomAuthError(CalcomError):
    code = IntegrationErrorCode.CALCOM_AUTH_FAILED
    default_message = _("Cal.com refused the API key. Check the key in the Cal.com settings.")


class CalcomRateLimited(CalcomError):
    code = IntegrationErrorCode.CALCOM_RATE_LIMITED
    http_status = 503
    default_message = _("Cal.com is rate limiting us. Please try again in a minute.")

    def __init__(self, *args: Any, retry_after: float | None = None, **kwargs: Any) -> None:
        self.retry_after = retry_after
        super().__init__(*args, **kwargs)


class CalcomValidationError(CalcomError):
    code = IntegrationErrorCode.CALCOM_VALIDATION_FAILED
    http_status = 422
    default_message = _("Cal.com rejected the request data.")


class CalcomSlotUnavailable(CalcomValidationError):
    """Cal.com's 400 ``no_available_users_found_error``: the time was taken (a race) or is not offered."""

    code = IntegrationErrorCode.CALCOM_SLOT_UNAVAILABLE
    http_status = 409
    default_message = _("This time is no longer available in Cal.com.")


class CalcomNotFound(CalcomError):
    code = IntegrationErrorCode.CALCOM_NOT_FOUND
    http_status = 404
    default_message = _("Cal.com does not know this booking or event type.")


class CalcomConflict(CalcomError):
    code = IntegrationErrorCode.CALCOM_CONFLICT
    http_status = 409
    default_message = _("Cal.com reports a conflict.")


class CalcomServerError(CalcomError):
    code = IntegrationErrorCode.CALCOM_UNAVAILABLE
    http_status = 503
    default_message = _("Cal.com is not available right now.")


_SLOT_TAKEN_MARKERS = ("no_available_users_found_error", "already has booking", "not available")


# --- data -----------------------------------------------------------------------------------


def parse_time(value: str | None) -> datetime | None:
    """Cal.com writes ``…Z``, ``….000Z`` and ``+00:00``; all become aware UTC datetimes."""
    if not value:
        return None
    parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)


def utc_iso(value: datetime) -> str:
    if value.tzinfo is None:
        raise ValueError("Cal.com times must be timezone-aware")
    return value.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


@dataclass(frozen=True)
class EventType:
    id: int
    slug: str
    title: str
    length_minutes: int
    team_id: int | None = None
    owner_id: int | None = None
    hidden: bool = False
    scheduling_type: str | None = None
    host_user_ids: tuple[int, ...] = ()
    raw: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def from_api(cls, data: dict[str, Any]) -> EventType:
        return cls(
            id=int(data["id"]), slug=str(data.get("slug") or ""), title=str(data.get("title") or ""),
            length_minutes=int(data.get("lengthInMinutes") or data.get("length") or 0),
            team_id=data.get("teamId"), owner_id=data.get("ownerId"), hidden=bool(data.get("hidden", False)),
            scheduling_type=data.get("schedulingType"),
            host_user_ids=tuple(int(h["userId"]) for h in data.get("hosts") or [] if "userId" in h),
            raw=data,
        )


@dataclass(frozen=True)
class Slot:
    start: datetime
    end: datetime | None = None


@dataclass(frozen=True)
class Attendee:
    name: str
    email: str = ""
    time_zone: str = "Europe/Berlin"
    phone_number: str = ""
    language: str = "de"

    @classmethod
    def from_api(cls, data: dict[str, Any]) -> Attendee:
        language = data.get("language")
        if isinstance(language, dict):
            language = language.get("locale")
        return cls(name=str(data.get("name") or ""), email=str(data.get("email") or ""),
                   time_zone=str(data.get("timeZone") or "UTC"), phone_number=str(data.get("phoneNumber") or ""),
                   language=str(language or "en"))

    def as_input(self) -> dict[str, Any]:
        body: dict[str, Any] = {"name": self.name, "timeZone": self.time_zone, "language": self.language}
        if self.email:
            body["email"] = self.email
        if self.phone_number:
            body["phoneNumber"] = self.phone_number
        return body


@dataclass(frozen=True)
class Booking:
    id: int
    uid: str
    status: str  # accepted | cancelled | rejected | pending (lowercase, as the API gives it)
    start: datetime
    end: datetime
    title: str = ""
    event_type_id: int | None = None
    attendees: tuple[Attendee, ...] = ()
    host_user_ids: tuple[int, ...] = ()
    metadata: dict[str, str] = field(default_factory=dict)
    rescheduled_from_uid: str | None = None
    rescheduled_to_uid: str | None = None
    cancellation_reason: str | None = None
    created_at: datetime | None = None
    updated_at: datetime | None = None
    raw: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def from_api(cls, data: dict[str, Any]) -> Booking:
        event_type = data.get("eventType") or {}
        start = parse_time(data.get("start"))
        end = parse_time(data.get("end"))
        if start is None or end is None:
            raise CalcomError(_("Cal.com returned a booking without start or end."), details={"uid": data.get("uid")})
        return cls(
            id=int(data.get("id") or 0), uid=str(data["uid"]), status=str(data.get("status") or "").lower(),
            start=start, end=end, title=str(data.get("title") or ""),
            event_type_id=event_type.get("id") or data.get("eventTypeId"),
            attendees=tuple(Attendee.from_api(a) for a in data.get("attendees") or []),
            host_user_ids=tuple(int(h["id"]) for h in data.get("hosts") or [] if "id" in h),
            metadata=dict(data.get("metadata") or {}),
            rescheduled_from_uid=data.get("rescheduledFromUid"), rescheduled_to_uid=data.get("rescheduledToUid"),
            cancellation_reason=data.get("cancellationReason"),
            created_at=parse_time(data.get("createdAt")), updated_at=parse_time(data.get("updatedAt")),
            raw=data,
        )


@dataclass(frozen=True)
class BookingPage:
    bookings: list[Booking]
    total: int
    has_next: bool


# --- client ---------------------------------------------------------------------------------


class CalcomClient:
    """One tenant's Cal.com API (``api_key``); ``base_url`` points at cal.com or the local sandbox."""

    def __init__(self, api_key: str, base_url: str = "", *, http: ResilientClient | None = None,
                 retry: RetryPolicy | None = None, transport: httpx.BaseTransport | None = None) -> None:
        self.base_url = (base_url or settings.CALCOM_API_URL).rstrip("/")
        self.http = http or ResilientClient(
            "calcom", self.base_url, headers={"Authorization": f"Bearer {api_key}", "Accept": "application/json"},
            retry=retry, transport=transport, timeout=httpx.Timeout(settings.CALCOM_TIMEOUT_SECONDS, connect=3.0),
        )

    @classmethod
    def for_current_tenant(cls) -> CalcomClient:
        """The client of the tenant whose schema is active (its stored connection)."""
        from integrations.calcom.models import CalcomConnection

        connection = CalcomConnection.objects.filter(is_active=True).first()
        if connection is None or not connection.api_key:
            raise CalcomAuthError(_("Cal.com is not connected for this business."))
        return cls(connection.api_key, connection.api_url)

    def close(self) -> None:
        self.http.close()

    def __enter__(self) -> CalcomClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # event types

    def list_event_types(self, *, username: str | None = None) -> list[EventType]:
        params = {"username": username} if username else None
        data = self._call("GET", "/v2/event-types", VERSION_EVENT_TYPES, params=params)
        return [EventType.from_api(item) for item in data or []]

    def list_team_event_types(self, team_id: int) -> list[EventType]:
        data = self._call("GET", f"/v2/teams/{team_id}/event-types", VERSION_ANY)
        return [EventType.from_api(item) for item in data or []]

    def get_event_type(self, event_type_id: int) -> EventType:
        return EventType.from_api(self._call("GET", f"/v2/event-types/{event_type_id}", VERSION_EVENT_TYPES))

    def create_event_type(self, *, title: str, slug: str, length_minutes: int, description: str = "",
                          team_id: int | None = None, **extra: Any) -> EventType:
        body = {"title": title, "slug": slug, "lengthInMinutes": length_minutes, "description": description, **extra}
        if team_id is not None:
            return EventType.from_api(self._call("POST", f"/v2/teams/{team_id}/event-types", VERSION_ANY, json=body))
        return EventType.from_api(self._call("POST", "/v2/event-types", VERSION_EVENT_TYPES, json=body))

    def update_event_type(self, event_type_id: int, *, team_id: int | None = None, **fields: Any) -> EventType:
        if team_id is not None:
            path, version = f"/v2/teams/{team_id}/event-types/{event_type_id}", VERSION_ANY
        else:
            path, version = f"/v2/event-types/{event_type_id}", VERSION_EVENT_TYPES
        return EventType.from_api(self._call("PATCH", path, version, json=fields))

    # slots

    def get_slots(self, event_type_id: int, start: datetime | date, end: datetime | date, *,
                  time_zone: str = "UTC", duration: int | None = None,
                  booking_uid_to_reschedule: str | None = None, use_cache: bool = True) -> list[Slot]:
        """Free start times (``format=range``), flattened and sorted; cached briefly per tenant."""
        params: dict[str, Any] = {
            "eventTypeId": event_type_id, "start": _query_time(start), "end": _query_time(end),
            "timeZone": time_zone, "format": "range",
        }
        if duration:
            params["duration"] = duration
        if booking_uid_to_reschedule:
            params["bookingUidToReschedule"] = booking_uid_to_reschedule
        cache_key = _slots_cache_key(params)
        if use_cache and settings.CALCOM_SLOTS_CACHE_SECONDS > 0:
            cached = _cache_get(cache_key)
            if cached is not None:
                return [Slot(parse_time(s) or datetime.min, parse_time(e)) for s, e in cached]
        data = self._call("GET", "/v2/slots", VERSION_SLOTS, params=params) or {}
        slots = sorted(
            (Slot(start=parse_time(item["start"]) or datetime.min, end=parse_time(item.get("end")))
             for day in data.values() for item in day),
            key=lambda slot: slot.start,
        )
        if settings.CALCOM_SLOTS_CACHE_SECONDS > 0:
            _cache_set(cache_key, [(utc_iso(s.start), utc_iso(s.end) if s.end else None) for s in slots])
        return slots

    # bookings

    def list_bookings(self, *, status: list[str] | None = None, after_updated_at: datetime | None = None,
                      after_created_at: datetime | None = None, after_start: datetime | None = None,
                      before_end: datetime | None = None,
                      event_type_ids: list[int] | None = None, attendee_email: str | None = None,
                      take: int = 100, skip: int = 0, sort_updated_at: str = "asc") -> BookingPage:
        params: dict[str, Any] = {"take": min(max(take, 1), 250), "skip": skip, "sortUpdatedAt": sort_updated_at}
        if status:
            params["status"] = ",".join(status)
        if after_updated_at:
            params["afterUpdatedAt"] = utc_iso(after_updated_at)
        if after_created_at:
            params["afterCreatedAt"] = utc_iso(after_created_at)
        if after_start:
            params["afterStart"] = utc_iso(after_start)
        if before_end:
            params["beforeEnd"] = utc_iso(before_end)
        if event_type_ids:
            params["eventTypeIds"] = ",".join(str(i) for i in event_type_ids)
        if attendee_email:
            params["attendeeEmail"] = attendee_email
        body = self._call_raw("GET", "/v2/bookings", VERSION_BOOKINGS, params=params)
        pagination = body.get("pagination") or {}
        bookings = [Booking.from_api(item) for item in body.get("data") or []]
        return BookingPage(bookings=bookings, total=int(pagination.get("totalItems", len(bookings))),
                           has_next=bool(pagination.get("hasNextPage", False)))

    def iter_bookings(self, **filters: Any) -> Iterator[Booking]:
        """Every booking matching the filters, page by page (``take`` up to 250)."""
        skip, take = 0, int(filters.pop("take", 100))
        while True:
            page = self.list_bookings(take=take, skip=skip, **filters)
            yield from page.bookings
            if not page.has_next or not page.bookings:
                return
            skip += len(page.bookings)

    def get_booking(self, uid: str) -> Booking:
        data = self._call("GET", f"/v2/bookings/{uid}", VERSION_BOOKINGS)
        if isinstance(data, list):  # a recurring series: the first occurrence represents it
            data = data[0]
        return Booking.from_api(data)

    def create_booking(self, *, event_type_id: int, start: datetime, attendee: Attendee,
                       metadata: dict[str, str] | None = None, length_minutes: int | None = None,
                       booking_fields: dict[str, Any] | None = None, guests: list[str] | None = None) -> Booking:
        body: dict[str, Any] = {"start": utc_iso(start), "eventTypeId": event_type_id, "attendee": attendee.as_input()}
        if metadata:
            body["metadata"] = _valid_metadata(metadata)
        if length_minutes:
            body["lengthInMinutes"] = length_minutes
        if booking_fields:
            body["bookingFieldsResponses"] = booking_fields
        if guests:
            body["guests"] = guests
        data = self._call("POST", "/v2/bookings", VERSION_BOOKINGS, json=body)
        invalidate_availability()
        return Booking.from_api(data[0] if isinstance(data, list) else data)

    def reschedule_booking(self, uid: str, *, start: datetime, rescheduled_by: str | None = None,
                           reason: str | None = None) -> Booking:
        """Returns the NEW booking (new uid; ``rescheduled_from_uid`` is the old one)."""
        body: dict[str, Any] = {"start": utc_iso(start)}
        if rescheduled_by:
            body["rescheduledBy"] = rescheduled_by
        if reason:
            body["reschedulingReason"] = reason
        data = self._call("POST", f"/v2/bookings/{uid}/reschedule", VERSION_BOOKINGS, json=body)
        invalidate_availability()
        return Booking.from_api(data)

    def cancel_booking(self, uid: str, *, reason: str = "") -> Booking:
        data = self._call("POST", f"/v2/bookings/{uid}/cancel", VERSION_BOOKINGS,
                          json={"cancellationReason": reason or "Cancelled in AskPro"})
        invalidate_availability()
        return Booking.from_api(data[0] if isinstance(data, list) else data)

    # webhooks

    def create_webhook(self, *, subscriber_url: str, secret: str, triggers: list[str], active: bool = True) -> dict[str, Any]:
        body = {"subscriberUrl": subscriber_url, "secret": secret, "triggers": triggers, "active": active}
        return dict(self._call("POST", "/v2/webhooks", VERSION_ANY, json=body))

    # transport

    def _call(self, method: str, path: str, version: str, **kwargs: Any) -> Any:
        return self._call_raw(method, path, version, **kwargs).get("data")

    def _call_raw(self, method: str, path: str, version: str, *, params: dict[str, Any] | None = None,
                  json: Any = None) -> dict[str, Any]:
        response = self.http.request(method, path, params=params, json=json, headers={"cal-api-version": version})
        try:
            body = response.json()
        except ValueError:
            body = {}
        if response.status_code >= 400:
            raise _error_from(response, body if isinstance(body, dict) else {})
        if not isinstance(body, dict) or body.get("status") != "success":
            raise CalcomError(_("Cal.com returned an unexpected answer."), status=response.status_code,
                              details={"path": path})
        return body


def _error_from(response: httpx.Response, body: dict[str, Any]) -> CalcomError:
    raw_error = body.get("error")
    error: dict[str, Any] = raw_error if isinstance(raw_error, dict) else {}
    message = str(error.get("message") or body.get("message") or response.reason_phrase)
    kwargs: dict[str, Any] = {
        "status": response.status_code, "calcom_code": str(error.get("code") or ""),
        "request_id": response.headers.get("X-Request-Id", ""),
        "details": {"calcom_message": message[:500], "calcom_code": error.get("code"), "status": response.status_code},
    }
    status = response.status_code
    if status in (401, 403, 498):
        return CalcomAuthError(**kwargs)
    if status == 429:
        from integrations.http import retry_after_seconds

        return CalcomRateLimited(retry_after=retry_after_seconds(response), **kwargs)
    if status == 404:
        return CalcomNotFound(**kwargs)
    if status == 409:
        return CalcomConflict(**kwargs)
    if status in (400, 422):
        lowered = message.lower()
        if any(marker in lowered for marker in _SLOT_TAKEN_MARKERS):
            return CalcomSlotUnavailable(**kwargs)
        return CalcomValidationError(**kwargs)
    if status >= 500:
        return CalcomServerError(**kwargs)
    return CalcomError(**kwargs)


def _valid_metadata(metadata: dict[str, str]) -> dict[str, str]:
    """Cal.com limits: ≤ 50 keys, key ≤ 40 chars, value ≤ 500 chars, strings only."""
    if len(metadata) > 50:
        raise CalcomValidationError(_("Cal.com accepts at most 50 metadata keys."))
    result = {}
    for key, value in metadata.items():
        if len(key) > 40:
            raise CalcomValidationError(_("Cal.com metadata keys have at most 40 characters."), details={"key": key})
        result[key] = str(value)[:500]
    return result


def _query_time(value: datetime | date) -> str:
    return utc_iso(value) if isinstance(value, datetime) else value.isoformat()


# --- availability cache (tenant-scoped: django_tenants.cache.make_key prefixes the schema) ----


def _slots_cache_key(params: dict[str, Any]) -> str:
    generation = _cache_generation()
    digest = hashlib.sha1(repr(sorted(params.items())).encode(), usedforsecurity=False).hexdigest()
    return f"calcom:slots:{generation}:{digest}"


def _cache_generation() -> int:
    try:
        return int(cache.get(_SLOTS_GENERATION_KEY) or 0)
    except Exception:
        return 0


def _cache_get(key: str) -> Any:
    try:
        return cache.get(key)
    except Exception:
        return None


def _cache_set(key: str, value: Any) -> None:
    try:
        cache.set(key, value, timeout=settings.CALCOM_SLOTS_CACHE_SECONDS)
    except Exception:
        logger.warning("could not cache Cal.com slots", exc_info=True)


def invalidate_availability() -> None:
    """Drop the current tenant's cached Cal.com slots (call on every booking change)."""
    try:
        cache.add(_SLOTS_GENERATION_KEY, 0, timeout=None)
        cache.incr(_SLOTS_GENERATION_KEY)
    except Exception:
        logger.warning("could not invalidate cached Cal.com slots", exc_info=True)
