"""Refusals of the booking domain, each with a stable machine-readable code."""

from __future__ import annotations

from enum import StrEnum, unique

from django.utils.translation import gettext_lazy as _

from askpro.errors import Conflict, DomainError, NotFound, ValidationFailed


@unique
class AppointmentErrorCode(StrEnum):
    """Every code the appointments app answers with, declared once; exception classes refer to these."""

    SLOT_UNAVAILABLE = "SLOT_UNAVAILABLE"
    MERGE_REFUSED = "MERGE_REFUSED"
    MERGE_CUSTOMER_NOT_FOUND = "MERGE_CUSTOMER_NOT_FOUND"
    MERGE_UNDO_REFUSED = "MERGE_UNDO_REFUSED"
    POLICY_VIOLATION = "POLICY_VIOLATION"
    INVALID_TRANSITION = "INVALID_TRANSITION"
    STALE_APPOINTMENT = "STALE_APPOINTMENT"
    APPOINTMENT_NOT_FOUND = "APPOINTMENT_NOT_FOUND"
    INVALID_BOOKING_REQUEST = "INVALID_BOOKING_REQUEST"
    PHONE_INVALID = "PHONE_INVALID"
    JOURNEY_STATUS_INVALID = "JOURNEY_STATUS_INVALID"


class SlotUnavailable(Conflict):
    """The requested time is taken or outside availability; ``details["alternatives"]`` lists
    the next free slots (``starts_at``, ``ends_at``, ``staff_id``, ``branch_id``)."""

    code = AppointmentErrorCode.SLOT_UNAVAILABLE
    default_message = _("This time is no longer available.")


class PolicyViolation(DomainError):
    """A cancellation, reschedule or series that the effective policy blocks."""

    code = AppointmentErrorCode.POLICY_VIOLATION
    http_status = 422
    default_message = _("The booking policy does not allow this change.")


class InvalidTransition(DomainError):
    code = AppointmentErrorCode.INVALID_TRANSITION
    http_status = 409
    default_message = _("The appointment cannot change to this status.")


class StaleAppointment(Conflict):
    """The caller's ``expected_version`` is older than the stored one (optimistic locking)."""

    code = AppointmentErrorCode.STALE_APPOINTMENT
    default_message = _("The appointment was changed in the meantime. Reload and try again.")


class AppointmentNotFound(NotFound):
    code = AppointmentErrorCode.APPOINTMENT_NOT_FOUND
    default_message = _("The appointment does not exist.")


class InvalidBookingRequest(ValidationFailed):
    """Inconsistent input: unknown or inactive service, staff not qualified, branch mismatch."""

    code = AppointmentErrorCode.INVALID_BOOKING_REQUEST
    default_message = _("The booking request is not valid.")


class UnknownReference(InvalidBookingRequest):
    """The request names a service, customer or branch that does not exist (or is inactive):
    404, like a path naming a missing object; the code stays ``INVALID_BOOKING_REQUEST``."""

    http_status = 404
