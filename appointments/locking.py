"""The booking domain's lock order: a staff calendar is locked before a booking writes it.

Booking, rescheduling and series take a transaction-level advisory lock per staff member whose
calendar they write (``staff:<id>`` in ``askpro.locks``, ascending key order), re-check
availability under that lock and insert, so conflicting writes queue: the second one sees the
first one's committed segments and answers SLOT_UNAVAILABLE instead of both inserting and
waiting on each other inside the exclusion constraint (which PostgreSQL resolves by aborting one
with "deadlock detected" after ``deadlock_timeout``).

Only the calendars of the slot about to be written are locked (:func:`assign_under_lock`). A
booking for a named staff member waits for that calendar. An "any staff" booking first searches
without locks, then *tries* the chosen slot's calendars (``pg_try_advisory_xact_lock``) inside a
savepoint: when someone else is writing one of them it gives its own back (rolling back to the
savepoint releases locks taken inside it) and takes the next free candidate; only when every
candidate is being written does it wait, for its first choice. Under the lock it checks again;
when the slot was taken meanwhile, it gives the lock back the same way and moves on. So it never
holds a calendar it does not write, never waits while holding one (the savepoint's locks are
gone before the next attempt), and never locks the whole branch.

The exclusion constraint ``no_double_booking`` stays the last guard, and a residual deadlock
or serialization failure (another lock order we do not control, e.g. row locks taken by a
caller's outer transaction) is retried once by :func:`retry_once`.

Order of locks in one transaction: rows the caller locked (a call, an appointment), then staff
calendars in ascending key order; a transaction that already holds calendars (a series books
its occurrences) passes them as ``held`` and then only *tries* calendars of smaller keys, never
waits for them. Nothing takes a row lock after a staff lock except inside the booking itself.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable, Iterable
from typing import ParamSpec, TypeVar

from django.db import OperationalError, transaction

from appointments import schedule_snapshot as schedules
from appointments.availability import BookingPlan, Slot
from askpro.locks import lock_names, take_names

logger = logging.getLogger(__name__)

P = ParamSpec("P")
T = TypeVar("T")

# deadlock_detected, serialization_failure
RETRYABLE_SQLSTATES = frozenset({"40P01", "40001"})


def staff_lock_name(staff_id: int) -> str:
    return f"staff:{staff_id}"


def lock_staff(staff_ids: Iterable[int]) -> frozenset[int]:
    """Lock these staff members' calendars until the transaction ends (waiting, ascending key
    order); returns the ids locked."""
    ids = frozenset(staff_ids)
    lock_names(staff_lock_name(staff_id) for staff_id in ids)
    return ids


def candidate_staff(plan: BookingPlan, *, staff_id: int | None, branch_id: int | None) -> set[int]:
    """Everyone whose calendar a booking of ``plan`` may write: ``staff_id`` when given, else
    every active staff member qualified for one of its steps (at ``branch_id`` when given)."""
    if staff_id is not None:
        return {staff_id}
    schedule = schedules.snapshot()
    return {data.staff_id for data in schedule.qualified_staff(plan.qualification_ids, branch_id=branch_id)}


def staff_of(slot: Slot) -> set[int]:
    """The staff members whose calendars booking ``slot`` writes."""
    return {slot.staff_id, *(segment.staff_id for segment in slot.segments)}


class _Busy(Exception):
    """Another transaction is writing ``staff_id``'s calendar (a tried lock was not free)."""

    def __init__(self, staff_id: int) -> None:
        self.staff_id = staff_id


class _Moved(Exception):
    """Under the lock the slot was no longer free; ``slot`` is the search's next answer."""

    def __init__(self, slot: Slot | None) -> None:
        self.slot = slot


# find(excluded staff, fresh): a slot; fresh=False may reuse the busy times of the last search.
Finder = Callable[[frozenset[int], bool], "Slot | None"]


def assign_under_lock(
    find: Finder, *, staff_id: int | None, candidates: int, held: frozenset[int] = frozenset()
) -> Slot | None:
    """A slot from ``find(excluded staff, fresh)`` whose calendars this transaction has locked (until it
    ends) and checked again under that lock; None when nothing is free.

    ``staff_id`` (a named staff member): wait for that calendar, then search. Otherwise search
    without locks, then try the slot's calendars (see the module docstring); ``candidates`` (how
    many staff could take the booking) bounds the attempts. ``held``: calendars this transaction
    already holds (waits only for larger keys, tries the others). Each attempt runs in a
    savepoint, so the calendars of an attempt that does not book are released at once.
    """
    skipped: set[int] = set()
    if staff_id is not None and not held:
        # A named staff member and no calendar held yet: wait for theirs outside a savepoint (the
        # booking is theirs whatever the search finds, so the lock is never given back early; two
        # statements less on the voice agent's hot path), then search under it.
        lock_names([staff_lock_name(staff_id)])
        slot = find(frozenset(), True)
        if slot is None or staff_of(slot) <= {staff_id}:
            return slot
        held = frozenset({staff_id})  # a composite service needs more calendars: try those
        wanted, wait = staff_of(slot), False
    elif staff_id is not None:
        slot = None
        wanted, wait = {staff_id}, True
    else:
        slot = find(frozenset(), True)
        wanted, wait = (staff_of(slot) if slot is not None else set()), False
    for _attempt in range((candidates + 2) ** 2):
        if not wanted:
            return None
        try:
            with transaction.atomic():  # a savepoint: rolled back, it releases this attempt's locks
                names = {staff_lock_name(sid): sid for sid in wanted}
                busy = take_names(names, wait=wait, held=(staff_lock_name(sid) for sid in held))
                if busy is not None:
                    raise _Busy(names[busy])
                # Again, under the lock (committed bookings are visible now), leaving out the same
                # calendars as the search that chose it: is it still free?
                slot = find(frozenset(skipped), True)
                if slot is not None and staff_of(slot) <= wanted | held:
                    return slot  # the savepoint is released: its locks stay until the transaction ends
                raise _Moved(slot)
        except _Busy as exc:
            skipped.add(exc.staff_id)
            slot = find(frozenset(skipped), False)  # a candidate from the same data: no new query
        except _Moved as exc:
            slot = exc.slot
        wait = False
        if slot is None and skipped:
            # Nothing free but calendars someone is writing right now (perhaps at another time):
            # queue for the first choice among all of them.
            skipped.clear()
            slot, wait = find(frozenset(), False), True
        wanted = staff_of(slot) if slot is not None else set()
    logger.warning("no calendar could be locked after %s attempts", (candidates + 2) ** 2)
    return None


def is_retryable(exc: OperationalError) -> bool:
    return getattr(exc.__cause__, "sqlstate", None) in RETRYABLE_SQLSTATES


class CalendarTaken(Exception):
    """Raised inside a locked booking transaction when the time is not free. The decorator turns
    it into ``give_up(**kwargs)`` after the transaction has ended, so the search for alternatives
    does not hold the staff locks the next request in the queue is waiting for."""


def retry_once(give_up: Callable[..., Exception]) -> Callable[[Callable[P, T]], Callable[P, T]]:
    """Decorate a keyword-only service whose body is one ``transaction.atomic``: after a deadlock
    or serialization failure it runs once more; after a second one, or when it raised
    :class:`CalendarTaken`, it raises ``give_up(**kwargs)`` (SLOT_UNAVAILABLE with
    alternatives) instead of an internal error."""

    def decorate(service: Callable[P, T]) -> Callable[P, T]:
        @functools.wraps(service)
        def run(*args: P.args, **kwargs: P.kwargs) -> T:
            try:
                return service(*args, **kwargs)
            except CalendarTaken:
                raise give_up(**kwargs) from None
            except OperationalError as exc:
                if not is_retryable(exc):
                    raise
                logger.warning("%s: %s, retrying once", service.__name__, exc.__cause__.__class__.__name__)
            try:
                return service(*args, **kwargs)
            except CalendarTaken:
                raise give_up(**kwargs) from None
            except OperationalError as exc:
                if not is_retryable(exc):
                    raise
                raise give_up(**kwargs) from exc

        return run

    return decorate
