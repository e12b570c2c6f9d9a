"""Refusals of the booking domain, each with a stable machine-readable code."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _

from askpro.errors import Conflict, DomainError, NotFound, ValidationFailed


class SlotUnavailable(Conflict):
    """The requested time is taken or outside availability; ``details["alternatives"]`` lists
    the next free slots (``starts_at``, ``ends_at``, ``staff_id``, ``branch_id``)."""

    code = "SLOT_UNAVAILABLE"
    default_message = _("This time is no longer available.")


class PolicyViolation(DomainError):
    """A cancellation, reschedule or series that the effective policy blocks."""

    code = "POLICY_VIOLATION"
    http_status = 422
    default_message = _("The booking policy does not allow this change.")


class InvalidTransition(DomainError):
    code = "INVALID_TRANSITION"
    http_status = 409
    default_message = _("The appointment cannot change to this status.")


class StaleAppointment(Conflict):
    """The caller's ``expected_version`` is older than the stored one (optimistic locking)."""

    code = "STALE_APPOINTMENT"
    default_message = _("The appointment was changed in the meantime. Reload and try again.")


class AppointmentNotFound(NotFound):
    code = "APPOINTMENT_NOT_FOUND"
    default_message = _("The appointment does not exist.")


class InvalidBookingRequest(ValidationFailed):
    """Inconsistent input: unknown or inactive service, staff not qualified, branch mismatch."""

    code = "INVALID_BOOKING_REQUEST"
    default_message = _("The booking request is not valid.")


class UnknownReference(InvalidBookingRequest):
    """The request names a service, customer or branch that does not exist (or is inactive):
    404, like a path naming a missing object; the code stays ``INVALID_BOOKING_REQUEST``."""

    http_status = 404
