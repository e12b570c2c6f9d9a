"""The one customer identity service: phone normalisation and lookup, first contacts becoming
leads, the journey, notes and consent. The voice agent, the booking API, the admin and the
Cal.com pull find and create customers only here.

A phone number is one identity: every creation by number takes a transaction-level advisory
lock on the normalised number (``askpro.locks``, scoped to the tenant schema) and then looks the
number up as main *or* other number, so concurrent first contacts in different notations make
one customer. Writes lock the customer row; reads by phone are one indexed query."""

from __future__ import annotations

from typing import Any

import phonenumbers
from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from appointments.errors import AppointmentErrorCode, InvalidBookingRequest
from appointments.models import Customer, CustomerJourneyTransition, CustomerNote
from askpro.errors import ValidationFailed
from askpro.locks import lock_names

DEFAULT_REGION = "DE"
MIN_SIGNIFICANT_DIGITS = 6


class InvalidPhoneNumber(ValidationFailed):
    code = AppointmentErrorCode.PHONE_INVALID
    default_message = _("This is not a valid phone number.")


class InvalidJourneyStatus(ValidationFailed):
    code = AppointmentErrorCode.JOURNEY_STATUS_INVALID
    default_message = _("Unknown journey status.")


def normalize_phone(raw: str | None, region: str = DEFAULT_REGION) -> str | None:
    """E.164 for any common German or international notation ("0151 123-4567", "0049 151 ...",
    "+49 (0)151 ..."), or None when it is not a plausible number."""
    if not raw:
        return None
    text = str(raw).strip().replace("(0)", "")
    if text.startswith("00"):
        text = "+" + text[2:]
    try:
        parsed = phonenumbers.parse(text, region)
    except phonenumbers.NumberParseException:
        return None
    # German numbers may be short, but nobody calls from fewer than six significant digits.
    if not phonenumbers.is_possible_number(parsed) or len(str(parsed.national_number)) < MIN_SIGNIFICANT_DIGITS:
        return None
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)


def require_phone(raw: str | None) -> str:
    number = normalize_phone(raw)
    if number is None:
        raise InvalidPhoneNumber(details={"phone": raw or ""})
    return number


def find_customer_by_phone(raw: str | None) -> Customer | None:
    """The customer owning this number as main or other number (oldest first), or None."""
    number = normalize_phone(raw)
    if number is None:
        return None
    return (
        Customer.objects.filter(Q(phone=number) | Q(other_phones__contains=[number]))
        .order_by("created_at", "id")
        .first()
    )


def lock_phone_numbers(numbers: list[str]) -> None:
    """Serialise identity changes of these (normalised) numbers in this tenant until the
    transaction ends: whoever creates or assigns a number holds its lock."""
    lock_names(f"phone:{number}" for number in numbers if number)


def get_or_create_caller(
    phone: str, *, name: str = "", email: str = "", language: str = Customer.Language.DE,
    source: str = Customer.Source.PHONE, actor: str = "system",
) -> tuple[Customer, bool]:
    """The customer behind a phone number (main or other number, any notation); a first contact
    becomes a ``lead`` (exactly once, even for concurrent contacts). A given name or email fills
    an empty field, never overwrites one."""
    number = require_phone(phone)
    with transaction.atomic():
        lock_phone_numbers([number])
        customer = find_customer_by_phone(number)
        if customer is not None:
            _fill_blanks(customer, name=name, email=email)
            return customer, False
        customer = _create_lead(phone=number, name=name, email=email, language=language, source=source, actor=actor)
        return customer, True


def ensure_customer(
    *, phone: str = "", name: str = "", email: str = "", language: str = Customer.Language.DE,
    source: str = Customer.Source.OTHER, actor: str = "system",
) -> Customer:
    """The customer for a booking by someone outside (booking API, Cal.com): by phone number
    as :func:`get_or_create_caller`; without a number by email (locked per address, oldest
    first), else a new customer from the name."""
    if phone:
        return get_or_create_caller(phone, name=name, email=email, language=language, source=source, actor=actor)[0]
    email = email.strip()
    if not (name.strip() or email):
        raise InvalidBookingRequest(_("A customer needs a name, phone or email."), details={"field": "customer"})
    with transaction.atomic():
        if email:
            lock_names([f"email:{email.lower()}"])
            existing = Customer.objects.filter(email__iexact=email).order_by("created_at", "id").first()
            if existing is not None:
                _fill_blanks(existing, name=name, email="")
                return existing
        return _create_lead(phone="", name=name, email=email, language=language, source=source, actor=actor)


def _create_lead(*, phone: str, name: str, email: str, language: str, source: str, actor: str) -> Customer:
    customer = Customer.objects.create(
        name=" ".join(name.split())[:200], phone=phone, email=email.strip(),
        language=language if language in Customer.Language.values else Customer.Language.DE, source=source,
        journey_status=Customer.Journey.LEAD, journey_changed_at=timezone.now(),
    )
    CustomerJourneyTransition.objects.create(
        customer=customer, from_status="", to_status=Customer.Journey.LEAD, reason="first contact", actor=actor,
    )
    return customer


def _fill_blanks(customer: Customer, *, name: str, email: str) -> None:
    name, email = " ".join(name.split())[:200], email.strip()
    if not (name and not customer.name) and not (email and not customer.email):
        return
    locked = Customer.objects.select_for_update().get(pk=customer.pk)
    changed = [field for field, value in (("name", name), ("email", email)) if value and not getattr(locked, field)]
    for field in changed:
        setattr(locked, field, name if field == "name" else email)
    if changed:
        locked.save(update_fields=[*changed, "updated_at"])
    customer.refresh_from_db()


def numbers_taken(numbers: list[str], *, exclude_pk: int | None = None) -> dict[str, Customer]:
    """Which of these normalised numbers another customer already has (main or other number)."""
    taken: dict[str, Customer] = {}
    others = Customer.objects.all() if exclude_pk is None else Customer.objects.exclude(pk=exclude_pk)
    for number in numbers:
        owner = (
            others.filter(Q(phone=number) | Q(other_phones__contains=[number])).order_by("created_at", "id").first()
        )
        if owner is not None:
            taken[number] = owner
    return taken


def fill_customer_name(customer_id: int, name: str) -> bool:
    """Set the name when it is still empty (names from calls never overwrite a known one)."""
    name = " ".join(name.split())[:200]
    if not name:
        return False
    with transaction.atomic():
        customer = Customer.objects.select_for_update().get(pk=customer_id)
        if customer.name:
            return False
        customer.name = name
        customer.save(update_fields=["name", "updated_at"])
        return True


def add_phone_number(customer_id: int, phone: str) -> Customer:
    """Remember another number the customer uses (idempotent)."""
    number = require_phone(phone)
    with transaction.atomic():
        lock_phone_numbers([number])
        customer = Customer.objects.select_for_update().get(pk=customer_id)
        if number not in customer.phone_numbers:
            if not customer.phone:
                customer.phone = number
            else:
                customer.other_phones = [*customer.other_phones, number]
            customer.save(update_fields=["phone", "other_phones", "updated_at"])
        return customer


def change_journey_status(customer_id: int, to_status: str, *, reason: str = "", actor: str = "system") -> bool:
    """Move a customer to ``to_status`` and record the transition; False when already there."""
    if to_status not in Customer.Journey.values:
        raise InvalidJourneyStatus(details={"status": to_status})
    with transaction.atomic():
        customer = Customer.objects.select_for_update().get(pk=customer_id)
        if customer.journey_status == to_status:
            return False
        CustomerJourneyTransition.objects.create(
            customer=customer, from_status=customer.journey_status, to_status=to_status,
            reason=reason[:255], actor=actor[:150],
        )
        customer.journey_status = to_status
        customer.journey_changed_at = timezone.now()
        customer.save(update_fields=["journey_status", "journey_changed_at", "updated_at"])
        return True


# Where a booking moves a customer in the journey: a lead now has an appointment planned; someone
# drifting away (or gone) who books again is a customer again. Everyone else stays where they are.
_AFTER_BOOKING: dict[str, str] = {
    Customer.Journey.LEAD: Customer.Journey.PROSPECT,
    Customer.Journey.AT_RISK: Customer.Journey.CUSTOMER,
    Customer.Journey.CHURNED: Customer.Journey.CUSTOMER,
}


def note_booking(customer_id: int, *, actor: str = "system", current: str | None = None) -> str | None:
    """Advance the journey after a booking (lead -> prospect, at_risk/churned -> customer);
    returns the new status, or None when the booking changes nothing. ``current`` (the status
    the caller just read) only spares a query when nothing is to change; the change itself
    re-checks under a row lock."""
    if current is None:
        current = Customer.objects.filter(pk=customer_id).values_list("journey_status", flat=True).first()
    target = _AFTER_BOOKING.get(current) if current else None
    if target is None:
        return None
    return target if change_journey_status(customer_id, target, reason="appointment booked", actor=actor) else None


def add_note(
    customer_id: int, content: str, *, subject: str = "", type: str = CustomerNote.Type.GENERAL,
    visibility: str = CustomerNote.Visibility.STAFF, pinned: bool = False, created_by: Any = None,
) -> CustomerNote:
    """Attach a note to a customer."""
    if not content.strip():
        raise ValidationFailed(_("A note needs content."), details={"content": "empty"})
    return CustomerNote.objects.create(
        customer_id=customer_id, content=content.strip(), subject=subject[:200], type=type,
        visibility=visibility, is_pinned=pinned, created_by=created_by,
    )


def set_consent(
    customer_id: int, *, gdpr: bool | None = None, marketing: bool | None = None, sms_opt_out: bool | None = None
) -> Customer:
    """Record consent changes with their date; unchanged values keep their old date."""
    now = timezone.now()
    with transaction.atomic():
        customer = Customer.objects.select_for_update().get(pk=customer_id)
        fields = ["updated_at"]
        for value, flag, stamp in (
            (gdpr, "gdpr_consent", "gdpr_consent_at"),
            (marketing, "marketing_consent", "marketing_consent_at"),
            (sms_opt_out, "sms_opt_out", "sms_opt_out_at"),
        ):
            if value is not None and getattr(customer, flag) != value:
                setattr(customer, flag, value)
                setattr(customer, stamp, now)
                fields += [flag, stamp]
        customer.save(update_fields=fields)
        return customer
