"""Typed domain events between apps, delivered durably through the outbox.

An app declares each event it emits as a frozen dataclass in ``<app>/events.py``::

    @dataclass(frozen=True)
    class CallEnded(DomainEvent):
        event_name: ClassVar[str] = "calls.call_ended"
        call_id: str
        duration_seconds: int

A service emits an instance inside its transaction (``emit(CallEnded(call_id=..., ...))``);
other apps react in ``<app>/listeners.py``::

    @listens_to(CallEnded, queue="billing")
    def charge_finished_call(event: CallEnded) -> None:
        ...  # runs in a worker, in the emitting schema; must be idempotent

``emit`` refuses undeclared events and fields of the wrong type, and writes one
``askpro.outbox`` row per listener in the emitter's transaction: a listener runs only if the
change committed, and runs even if Redis was down or a worker died in between (the outbox
dispatcher and sweeper deliver it, with retries). A failing listener never undoes the change
that committed; it is retried, then reported by the health check.

The events and their fields are the classes in ``appointments/events.py``, ``billing/events.py``
and ``calls/events.py``.
"""

from __future__ import annotations

import dataclasses
import logging
import types
import typing
import uuid
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, ClassVar, TypeVar, Union

from askpro import outbox
from askpro.discovery import app_modules

logger = logging.getLogger(__name__)

DELIVER = "hooks.deliver"


class UnknownEvent(TypeError):
    """An event that no app declared (or a class that is not the declared one)."""


class InvalidEvent(TypeError):
    """A declared event with a missing, unknown or wrongly typed field."""


class DomainEvent:
    """Base of every declared event: a frozen dataclass with a unique ``event_name``."""

    event_name: ClassVar[str] = ""

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        name = cls.__dict__.get("event_name")
        if not name:
            raise TypeError(f"{cls.__name__} must set event_name")
        known = _events.get(name)
        if known is not None and f"{known.__module__}.{known.__qualname__}" != f"{cls.__module__}.{cls.__qualname__}":
            raise TypeError(f"event {name!r} is declared twice ({known.__qualname__}, {cls.__qualname__})")
        _events[name] = cls


E = TypeVar("E", bound=DomainEvent)
Listener = Callable[[Any], None]
_events: dict[str, type[DomainEvent]] = {}


@dataclass(frozen=True)
class _Registration:
    name: str  # module.qualname: what the outbox row names
    func: Listener
    queue: str
    deadline: timedelta | None


_listeners: dict[type[DomainEvent], list[_Registration]] = defaultdict(list)
_by_name: dict[str, _Registration] = {}
_discovered = False


def declared_events() -> dict[str, type[DomainEvent]]:
    autodiscover()
    return dict(_events)


def listens_to(
    *event_types: type[DomainEvent], queue: str = "default", deadline: timedelta | None = None,
) -> Callable[[Listener], Listener]:
    """Register ``listener(event)`` for these declared event classes; it runs in a worker on ``queue``."""
    for event_type in event_types:
        if not (isinstance(event_type, type) and issubclass(event_type, DomainEvent)):
            raise UnknownEvent(f"{event_type!r} is not a declared event class")

    def register(listener: Listener) -> Listener:
        name = f"{listener.__module__}.{listener.__qualname__}"
        registration = _Registration(name=name, func=listener, queue=queue, deadline=deadline)
        _by_name[name] = registration
        for event_type in event_types:
            kept = [r for r in _listeners[event_type] if r.name != name]
            _listeners[event_type] = [*kept, registration]
        return listener

    return register


def unregister(listener: Listener) -> None:
    """Remove a listener everywhere (tests register listeners and must remove them again)."""
    name = f"{listener.__module__}.{listener.__qualname__}"
    _by_name.pop(name, None)
    for event_type, registered in _listeners.items():
        _listeners[event_type] = [r for r in registered if r.name != name]


def autodiscover() -> None:
    global _discovered
    if not _discovered:
        app_modules("events")
        app_modules("listeners")
        _discovered = True


def listeners_for(event_type: type[DomainEvent]) -> list[Listener]:
    autodiscover()
    return [registration.func for registration in _listeners.get(event_type, [])]


def emit(event: DomainEvent) -> DomainEvent:
    """Owe ``event`` to every listener: one outbox row each, in the current transaction.

    Raises ``UnknownEvent`` for an undeclared event and ``InvalidEvent`` for a wrongly typed field.
    """
    validate(event)
    autodiscover()
    event_id = uuid.uuid4().hex
    data = {field.name: getattr(event, field.name) for field in dataclasses.fields(event)}  # type: ignore[arg-type]
    outbox.enqueue_many([
        outbox.Effect(
            handler=DELIVER, key=f"{event.event_name}:{event_id}:{registration.name}",
            payload={"event": event.event_name, "listener": registration.name, "data": data},
            queue=registration.queue, deadline=registration.deadline,
        )
        for registration in _listeners.get(type(event), [])
    ])
    return event


def validate(event: object) -> None:
    if not isinstance(event, DomainEvent) or not dataclasses.is_dataclass(event):
        raise UnknownEvent(f"{event!r} is not a declared event")
    if _events.get(event.event_name) is not type(event):
        raise UnknownEvent(f"{event.event_name!r} is not a declared event")
    if not type(event).__dataclass_params__.frozen:  # type: ignore[attr-defined]
        raise InvalidEvent(f"{event.event_name} must be a frozen dataclass")
    for name, hint in _hints(type(event)).items():
        value = getattr(event, name)
        if not _matches(value, hint):
            raise InvalidEvent(f"{event.event_name}.{name} must be {hint}, not {type(value).__name__} ({value!r})")


_hint_cache: dict[type, dict[str, Any]] = {}


def _hints(cls: type[DomainEvent]) -> dict[str, Any]:
    if cls not in _hint_cache:
        hints = typing.get_type_hints(cls)
        _hint_cache[cls] = {field.name: hints[field.name] for field in dataclasses.fields(cls)}  # type: ignore[arg-type]
    return _hint_cache[cls]


def _matches(value: Any, hint: Any) -> bool:
    origin = typing.get_origin(hint)
    if origin in (Union, types.UnionType):
        return any(_matches(value, arg) for arg in typing.get_args(hint))
    if hint is type(None):
        return value is None
    if hint is int:
        return isinstance(value, int) and not isinstance(value, bool)
    if hint is datetime:
        return isinstance(value, datetime) and value.tzinfo is not None
    if hint is Any:
        return True
    return isinstance(value, hint)


def _decode(cls: type[E], data: dict[str, Any]) -> E:
    values = {}
    for name, hint in _hints(cls).items():
        value = data.get(name)
        if isinstance(value, str) and _accepts_datetime(hint):
            value = datetime.fromisoformat(value)
        values[name] = value
    return cls(**values)


def _accepts_datetime(hint: Any) -> bool:
    if typing.get_origin(hint) in (Union, types.UnionType):
        return datetime in typing.get_args(hint)
    return bool(hint is datetime)


@outbox.effect_handler(DELIVER)
def deliver(payload: dict[str, Any]) -> None:
    """The outbox handler: rebuild the typed event and call the one listener it is owed to."""
    autodiscover()
    event_type = _events.get(payload["event"])
    registration = _by_name.get(payload["listener"])
    if event_type is None or registration is None:
        raise LookupError(f"no listener {payload['listener']!r} for {payload['event']!r} in this process")
    registration.func(_decode(event_type, payload["data"]))
