"""The voice agent's error codes, declared once (the agent's prompt branches on them).

Each refusal is its own exception class with a fixed ``code``; a code is never assigned to an
exception instance at runtime.
"""

from __future__ import annotations

from enum import StrEnum, unique

from askpro.errors import NotFound, ValidationFailed


@unique
class CallErrorCode(StrEnum):
    SERVICE_NOT_FOUND = "SERVICE_NOT_FOUND"
    SERVICE_AMBIGUOUS = "SERVICE_AMBIGUOUS"
    STAFF_NOT_FOUND = "STAFF_NOT_FOUND"
    STAFF_AMBIGUOUS = "STAFF_AMBIGUOUS"
    BRANCH_NOT_FOUND = "BRANCH_NOT_FOUND"
    BRANCH_AMBIGUOUS = "BRANCH_AMBIGUOUS"
    SERVICE_MISSING = "SERVICE_MISSING"
    DATE_MISSING = "DATE_MISSING"
    TIME_MISSING = "TIME_MISSING"
    PHONE_MISSING = "PHONE_MISSING"
    DATE_IN_PAST = "DATE_IN_PAST"
    APPOINTMENT_NOT_FOUND = "APPOINTMENT_NOT_FOUND"
    APPOINTMENT_AMBIGUOUS = "APPOINTMENT_AMBIGUOUS"
    DATE_NOT_UNDERSTOOD = "DATE_NOT_UNDERSTOOD"
    TIME_NOT_UNDERSTOOD = "TIME_NOT_UNDERSTOOD"
    DATE_AMBIGUOUS = "DATE_AMBIGUOUS"
    TIME_AMBIGUOUS = "TIME_AMBIGUOUS"
    CALL_EVENT_MALFORMED = "CALL_EVENT_MALFORMED"


class StaffAmbiguous(ValidationFailed):
    code = CallErrorCode.STAFF_AMBIGUOUS


class BranchAmbiguous(ValidationFailed):
    code = CallErrorCode.BRANCH_AMBIGUOUS


class ServiceMissing(ValidationFailed):
    code = CallErrorCode.SERVICE_MISSING


class DateMissing(ValidationFailed):
    code = CallErrorCode.DATE_MISSING


class TimeMissing(ValidationFailed):
    code = CallErrorCode.TIME_MISSING


class PhoneMissing(ValidationFailed):
    code = CallErrorCode.PHONE_MISSING


class DateInPast(ValidationFailed):
    code = CallErrorCode.DATE_IN_PAST


class AppointmentNotFound(NotFound):
    code = CallErrorCode.APPOINTMENT_NOT_FOUND


class AppointmentAmbiguous(ValidationFailed):
    code = CallErrorCode.APPOINTMENT_AMBIGUOUS


MISSING: dict[str, type[ValidationFailed]] = {"service": ServiceMissing, "date": DateMissing, "time": TimeMissing}
