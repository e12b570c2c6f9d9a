"""The booking domain's lock order: staff calendars are locked before they are read and written.

Booking, rescheduling and series take a transaction-level advisory lock per staff member whose
calendar they may write (``staff:<id>`` in ``askpro.locks``, ascending key order) before they
check availability and insert segments. Conflicting writes therefore queue: the second one sees
the first one's committed segments in its availability check and answers SLOT_UNAVAILABLE
instead of both inserting and waiting on each other inside the exclusion constraint (which
PostgreSQL resolves by aborting one with "deadlock detected" after ``deadlock_timeout``).

The exclusion constraint ``no_double_booking`` stays the last guard, and a residual deadlock
or serialization failure (another lock order we do not control, e.g. row locks taken by a
caller's outer transaction) is retried once by :func:`retry_once`.

Order of locks in one transaction: rows the caller locked (a call, an appointment), then staff
calendars; nothing takes a row lock after a staff lock except inside the booking itself.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable, Iterable
from typing import ParamSpec, TypeVar

from django.db import OperationalError

from appointments import schedule_snapshot as schedules
from appointments.availability import BookingPlan, Slot
from askpro.locks import lock_names

logger = logging.getLogger(__name__)

P = ParamSpec("P")
T = TypeVar("T")

# deadlock_detected, serialization_failure
RETRYABLE_SQLSTATES = frozenset({"40P01", "40001"})


def lock_staff(staff_ids: Iterable[int]) -> frozenset[int]:
    """Lock these staff members' calendars until the transaction ends; returns the ids locked."""
    ids = frozenset(staff_ids)
    lock_names(f"staff:{staff_id}" for staff_id in ids)
    return ids


def candidate_staff(plan: BookingPlan, *, staff_id: int | None, branch_id: int | None) -> set[int]:
    """Everyone whose calendar a booking of ``plan`` may write: ``staff_id`` when given, else
    every active staff member qualified for one of its steps (at ``branch_id`` when given)."""
    if staff_id is not None:
        return {staff_id}
    schedule = schedules.snapshot()
    return {data.staff_id for data in schedule.qualified_staff(plan.qualification_ids, branch_id=branch_id)}


def lock_candidates(plan: BookingPlan, *, staff_id: int | None, branch_id: int | None) -> frozenset[int]:
    """Lock the calendars :func:`candidate_staff` names, in the fixed order."""
    return lock_staff(candidate_staff(plan, staff_id=staff_id, branch_id=branch_id))


def staff_of(slot: Slot) -> set[int]:
    """The staff members whose calendars booking ``slot`` writes."""
    return {slot.staff_id, *(segment.staff_id for segment in slot.segments)}


def assign_under_lock(
    find: Callable[[], Slot | None], locked: frozenset[int], *, attempts: int = 3
) -> Slot | None:
    """``find()`` a slot and make sure every calendar it writes is locked.

    The candidates were locked from this process's schedule snapshot; when the search (which
    reloads an outdated snapshot) picks someone not locked yet (staff added meanwhile), that
    calendar is locked too and the search runs again, so the answer is always checked under lock.
    """
    slot = find()
    for _attempt in range(attempts):
        if slot is None:
            return None
        missing = staff_of(slot) - locked
        if not missing:
            return slot
        locked = locked | lock_staff(missing)
        slot = find()
    return None if slot is None or staff_of(slot) - locked else slot


def is_retryable(exc: OperationalError) -> bool:
    return getattr(exc.__cause__, "sqlstate", None) in RETRYABLE_SQLSTATES


def retry_once(give_up: Callable[..., Exception]) -> Callable[[Callable[P, T]], Callable[P, T]]:
    """Decorate a keyword-only service whose body is one ``transaction.atomic``: after a deadlock
    or serialization failure it runs once more; after a second one it raises
    ``give_up(**kwargs)`` (SLOT_UNAVAILABLE with alternatives) instead of an internal error."""

    def decorate(service: Callable[P, T]) -> Callable[P, T]:
        @functools.wraps(service)
        def run(*args: P.args, **kwargs: P.kwargs) -> T:
            try:
                return service(*args, **kwargs)
            except OperationalError as exc:
                if not is_retryable(exc):
                    raise
                logger.warning("%s: %s, retrying once", service.__name__, exc.__cause__.__class__.__name__)
            try:
                return service(*args, **kwargs)
            except OperationalError as exc:
                if not is_retryable(exc):
                    raise
                raise give_up(**kwargs) from exc

        return run

    return decorate
