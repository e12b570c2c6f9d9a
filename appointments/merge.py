"""Duplicate customers: finding them, merging one into another, and undoing a merge for 30 days.

Possible duplicates share a phone number (normalised, main or other number), an e-mail address
(case-insensitive) or have similar names (folded: lower case, umlauts and accents spelled out,
words sorted; then compared with difflib). PostgreSQL's pg_trgm/unaccent are not available, so
names are compared in Python, within blocks of customers sharing the start of a word.

A merge moves everything of the removed customer to the kept one - appointments, recurring series,
booking changes, notes, journey history, and through each app's public ``<app>/customer_records.py``
the calls, callback requests, notification deliveries and contact preferences; Cal.com links
belong to the appointments and move with them - adds its numbers and missing contact data and
consents to the kept customer, records all of it in a ``CustomerMerge`` (who, when, what moved, a
snapshot of the removed customer) and deletes the removed customer. ``undo_merge`` recreates it
with the same id and moves back exactly what was moved.
"""

from __future__ import annotations

import json
import unicodedata
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta
from difflib import SequenceMatcher
from typing import Any

from django.core.serializers.json import DjangoJSONEncoder
from django.db import transaction
from django.db.models import F
from django.forms.models import model_to_dict
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext_lazy as _

from appointments import crm, journey
from appointments.customers import lock_phone_numbers
from appointments.errors import AppointmentErrorCode
from appointments.models import (
    Appointment,
    AppointmentModification,
    Customer,
    CustomerBookingStats,
    CustomerJourneyTransition,
    CustomerMerge,
    CustomerNote,
    RecurringSeries,
)
from askpro.admin_display import upper_first
from askpro.discovery import app_modules
from askpro.errors import NotFound, ValidationFailed

UNDO_DAYS = 30
NAME_SIMILARITY = 0.85

# The booking domain's own records that follow the customer (kind -> model).
_OWN_RECORDS: dict[str, Any] = {
    "appointments": Appointment,
    "series": RecurringSeries,
    "modifications": AppointmentModification,
    "notes": CustomerNote,
    "journey_transitions": CustomerJourneyTransition,
}
_COUNTERS = ("reschedule_count", "cancellation_count", "violation_count", "fees_cents")
_CONSENTS = (("gdpr_consent", "gdpr_consent_at"), ("marketing_consent", "marketing_consent_at"))


class MergeRefused(ValidationFailed):
    code = AppointmentErrorCode.MERGE_REFUSED
    default_message = _("These customers cannot be merged.")


class MergeNotFound(NotFound):
    code = AppointmentErrorCode.MERGE_CUSTOMER_NOT_FOUND
    default_message = _("The customer does not exist in this business.")


class UndoRefused(ValidationFailed):
    code = AppointmentErrorCode.MERGE_UNDO_REFUSED
    default_message = _("This merge cannot be undone.")


# --- finding duplicates ------------------------------------------------------------------------

_SPELLED = str.maketrans({"ä": "ae", "ö": "oe", "ü": "ue", "ß": "ss"})


def fold_name(name: str) -> str:
    """"Jürgen  MÜLLER" and "Mueller, Jurgen" fold alike: lower case, umlauts spelled out,
    accents dropped, punctuation gone, words sorted."""
    text = name.lower().translate(_SPELLED)
    text = "".join(ch for ch in unicodedata.normalize("NFKD", text) if not unicodedata.combining(ch))
    words = "".join(ch if ch.isalnum() else " " for ch in text).split()
    return " ".join(sorted(words))


def names_similar(a: str, b: str) -> bool:
    left, right = fold_name(a), fold_name(b)
    if len(left) < 3 or len(right) < 3:
        return False
    return left == right or SequenceMatcher(None, left, right).ratio() >= NAME_SIMILARITY


@dataclass(frozen=True)
class DuplicatePair:
    first_id: int
    second_id: int
    reasons: tuple[str, ...]  # "phone", "email", "name"


def duplicate_pairs() -> list[DuplicatePair]:
    """Every pair of possible duplicates among the current schema's customers (older id first)."""
    reasons: dict[tuple[int, int], set[str]] = defaultdict(set)
    by_phone: dict[str, list[int]] = defaultdict(list)
    by_email: dict[str, list[int]] = defaultdict(list)
    blocks: dict[str, list[int]] = defaultdict(list)
    names: dict[int, str] = {}
    for pk, name, phone, others, email in Customer.objects.values_list("pk", "name", "phone", "other_phones", "email"):
        for number in {n for n in [phone, *(others or [])] if n}:
            by_phone[number].append(pk)
        if email:
            by_email[email.strip().lower()].append(pk)
        folded = fold_name(name or "")
        names[pk] = folded
        for word in set(folded.split()):
            if len(word) >= 2:
                blocks[word[:3]].append(pk)
    for kind, groups in (("phone", by_phone), ("email", by_email)):
        for ids in groups.values():
            for i, first in enumerate(ids):
                for second in ids[i + 1:]:
                    if first != second:
                        reasons[(min(first, second), max(first, second))].add(kind)
    compared: set[tuple[int, int]] = set()
    for ids in blocks.values():
        for i, first in enumerate(ids):
            for second in ids[i + 1:]:
                pair = (min(first, second), max(first, second))
                if pair in compared:
                    continue
                compared.add(pair)
                a, b = names[pair[0]], names[pair[1]]
                if len(a) >= 3 and len(b) >= 3 and (a == b or SequenceMatcher(None, a, b).ratio() >= NAME_SIMILARITY):
                    reasons[pair].add("name")
    order = ("phone", "email", "name")
    return [DuplicatePair(a, b, tuple(kind for kind in order if kind in found))
            for (a, b), found in sorted(reasons.items())]


def customers_with_duplicates() -> set[int]:
    """Ids of the customers that have at least one possible duplicate (the admin's list filter)."""
    return {pk for pair in duplicate_pairs() for pk in (pair.first_id, pair.second_id)}


def duplicates_of(customer_id: int) -> list[DuplicatePair]:
    """The possible duplicates of one customer."""
    return [pair for pair in duplicate_pairs() if customer_id in (pair.first_id, pair.second_id)]


# --- merging ----------------------------------------------------------------------------------


def _snapshot(customer: Customer) -> dict[str, Any]:
    data = model_to_dict(customer, exclude=["id"])
    data |= {"created_at": customer.created_at, "updated_at": customer.updated_at,
             "journey_changed_at": customer.journey_changed_at, "journey_manual_baseline": customer.journey_manual_baseline}
    for field in ("gdpr_consent_at", "marketing_consent_at", "sms_opt_out_at"):
        data[field] = getattr(customer, field)
    stats = CustomerBookingStats.objects.filter(customer_id=customer.pk).values(*_COUNTERS, "last_modification_at").first()
    data["_booking_stats"] = stats
    return _json(data)


class _ExactEncoder(DjangoJSONEncoder):
    """Datetimes with their microseconds (Django's encoder cuts them to milliseconds): an undo
    restores them exactly."""

    def default(self, o: Any) -> Any:
        if isinstance(o, datetime):
            return o.isoformat()
        return super().default(o)


def _json(data: Any) -> Any:
    return json.loads(json.dumps(data, cls=_ExactEncoder))


def _customer_record_modules() -> list[Any]:
    return [module for module in app_modules("customer_records") if hasattr(module, "move_customer_records")]


def merge_customers(kept_id: int, removed_id: int, *, actor: str) -> CustomerMerge:
    """Merge the customer ``removed_id`` into ``kept_id`` (both of the current business); returns
    the merge record, from which :func:`undo_merge` can restore the removed customer."""
    if kept_id == removed_id:
        raise MergeRefused(_("A customer cannot be merged with itself."), details={"customer": kept_id})
    with transaction.atomic():
        found = {c.pk: c for c in Customer.objects.select_for_update().filter(pk__in=[kept_id, removed_id])
                 .order_by("pk")}
        if kept_id not in found or removed_id not in found:
            raise MergeNotFound(details={"missing": [pk for pk in (kept_id, removed_id) if pk not in found]})
        kept, removed = found[kept_id], found[removed_id]
        lock_phone_numbers([*kept.phone_numbers, *removed.phone_numbers])
        snapshot = _snapshot(removed)
        moved: dict[str, Any] = {}
        for kind, model in _OWN_RECORDS.items():
            ids = sorted(model.objects.filter(customer_id=removed_id).values_list("pk", flat=True))
            model.objects.filter(pk__in=ids).update(customer_id=kept_id)
            moved[kind] = ids
        moved["calcom_links"] = _calcom_links(moved["appointments"])
        for module in _customer_record_modules():
            moved[module.__name__.split(".")[0]] = module.move_customer_records(removed_id, kept_id)
        kept_changes = _absorb(kept, removed)
        moved["booking_stats"] = _add_counters(kept_id, snapshot["_booking_stats"])
        record = CustomerMerge.objects.create(
            kept=kept, kept_name=str(kept)[:200], removed_customer_id=removed_id, removed_name=str(removed)[:200],
            removed_snapshot=snapshot, moved=_json(moved), kept_changes=_json(kept_changes), merged_by=actor[:150],
        )
        removed.delete()
        crm.refresh_customer(kept_id, actor=actor)
        return record


def _calcom_links(appointment_ids: list[int]) -> int:
    """How many Cal.com bookings hang on the moved appointments (they move with them)."""
    from django.apps import apps

    try:
        model = apps.get_model("calcom", "BookingSync")
    except LookupError:
        return 0
    return int(model.objects.filter(appointment_id__in=appointment_ids).count())


def _absorb(kept: Customer, removed: Customer) -> dict[str, Any]:
    """Give the kept customer the removed one's numbers, missing name/e-mail/language, consents it
    lacks and opt-outs it lacks; returns the kept customer's previous values of what changed."""
    before: dict[str, Any] = {}
    added_numbers = [n for n in removed.phone_numbers if n not in kept.phone_numbers]
    if added_numbers:
        before["other_phones"] = list(kept.other_phones)
        if not kept.phone:
            before["phone"] = kept.phone
            kept.phone, added_numbers = added_numbers[0], added_numbers[1:]
        kept.other_phones = [*kept.other_phones, *added_numbers]
    for field in ("name", "email"):
        if not getattr(kept, field) and getattr(removed, field):
            before[field] = getattr(kept, field)
            setattr(kept, field, getattr(removed, field))
    for flag, stamp in (*_CONSENTS, ("sms_opt_out", "sms_opt_out_at")):
        if getattr(removed, flag) and not getattr(kept, flag):
            before[flag], before[stamp] = False, getattr(kept, stamp)
            setattr(kept, flag, True)
            setattr(kept, stamp, getattr(removed, stamp))
    if before:
        kept.save(update_fields=[*{f for f in before}, "updated_at"])
    return before


def _add_counters(kept_id: int, removed_stats: dict[str, Any] | None, *, sign: int = 1) -> dict[str, Any]:
    """Add (or with ``sign=-1`` take back) the removed customer's booking-change counters."""
    if not removed_stats:
        return {}
    CustomerBookingStats.objects.get_or_create(customer_id=kept_id)
    CustomerBookingStats.objects.filter(customer_id=kept_id).update(
        **{field: F(field) + sign * int(removed_stats.get(field) or 0) for field in _COUNTERS})
    return {field: removed_stats.get(field) for field in _COUNTERS}


def undo_merge(merge_id: int, *, actor: str, now: datetime | None = None) -> Customer:
    """Restore the removed customer of a merge (same id, same data) and move back exactly what the
    merge moved; possible for ``UNDO_DAYS`` days, once."""
    now = now or timezone.now()
    with transaction.atomic():
        record = CustomerMerge.objects.select_for_update().filter(pk=merge_id).first()
        if record is None:
            raise NotFound(details={"merge": merge_id})
        if record.undone_at is not None:
            raise UndoRefused(_("This merge was already undone."), details={"merge": merge_id})
        if now - record.merged_at > timedelta(days=UNDO_DAYS):
            raise UndoRefused(_("A merge can only be undone within %(days)d days.") % {"days": UNDO_DAYS},
                              details={"merge": merge_id})
        if record.kept_id is None:
            raise UndoRefused(_("The kept customer no longer exists."), details={"merge": merge_id})
        if not record.removed_snapshot:
            raise UndoRefused(_("The customer's personal data was erased; the merge can no longer be undone."),
                              details={"merge": merge_id})
        kept = Customer.objects.select_for_update().get(pk=record.kept_id)
        removed_id = record.removed_customer_id
        if Customer.objects.filter(pk=removed_id).exists():
            raise UndoRefused(details={"merge": merge_id, "customer": removed_id})
        snapshot = dict(record.removed_snapshot)
        stats = snapshot.pop("_booking_stats", None)
        lock_phone_numbers([snapshot.get("phone") or "", *(snapshot.get("other_phones") or [])])
        _restore_kept(kept, record.kept_changes)
        restored = Customer(pk=removed_id, **{k: _value(k, v) for k, v in snapshot.items()
                                              if k not in ("created_at", "updated_at")})
        restored.save(force_insert=True)
        Customer.objects.filter(pk=removed_id).update(created_at=_value("created_at", snapshot["created_at"]))
        moved = record.moved
        for kind, model in _OWN_RECORDS.items():
            model.objects.filter(customer_id=kept.pk, pk__in=moved.get(kind, [])).update(customer_id=removed_id)
        for module in _customer_record_modules():
            kind = module.__name__.split(".")[0]
            if kind in moved:
                module.move_customer_records(kept.pk, removed_id, only=moved[kind])
        if stats:
            _add_counters(kept.pk, stats, sign=-1)
            CustomerBookingStats.objects.update_or_create(
                customer_id=removed_id,
                defaults={**{f: stats.get(f) or 0 for f in _COUNTERS},
                          "last_modification_at": _value("last_modification_at", stats.get("last_modification_at"))})
        record.undone_at, record.undone_by = now, actor[:150]
        record.save(update_fields=["undone_at", "undone_by"])
        for customer_id in (kept.pk, removed_id):
            journey.recompute(customer_id, actor=actor)
            crm.refresh_customer_value(customer_id)
        return restored


_DATETIMES = {"created_at", "updated_at", "journey_changed_at", "gdpr_consent_at", "marketing_consent_at",
              "sms_opt_out_at", "last_modification_at"}


def _value(field: str, value: Any) -> Any:
    if field in _DATETIMES and isinstance(value, str):
        return parse_datetime(value)
    return value


def _restore_kept(kept: Customer, before: dict[str, Any]) -> None:
    if not before:
        return
    for field, value in before.items():
        setattr(kept, field, _value(field, value))
    kept.save(update_fields=[*before, "updated_at"])


def can_undo(record: CustomerMerge, *, now: datetime | None = None) -> bool:
    now = now or timezone.now()
    return record.undone_at is None and record.kept_id is not None and (
        now - record.merged_at <= timedelta(days=UNDO_DAYS))


_KIND_LABELS = {
    "appointments": _("appointments"), "series": _("recurring series"), "modifications": _("booking changes"),
    "notes": _("notes"), "journey_transitions": _("journey changes"), "calls": _("calls"),
    "callback_requests": _("callback requests"), "deliveries": _("notifications"),
    "deletion_requests": _("deletion requests"),
}


def moved_counts(record: CustomerMerge) -> dict[str, int]:
    """How many records of each kind a merge moved (flattened over the apps)."""
    counts: dict[str, int] = {}

    def walk(data: dict[str, Any]) -> None:
        for kind, value in data.items():
            if isinstance(value, list):
                counts[kind] = counts.get(kind, 0) + len(value)
            elif isinstance(value, dict) and kind in ("calls", "notifications", "privacy"):
                walk(value)

    walk(record.moved)
    return counts


def moved_summary(record: CustomerMerge) -> str:
    """"Termine: 3, Notizen: 1, Anrufe: 2" (kinds with nothing moved left out)."""
    parts = [f"{_KIND_LABELS.get(kind, kind)}: {count}" for kind, count in moved_counts(record).items() if count]
    links = record.moved.get("calcom_links") or 0
    if links:
        parts.append(f"{_('Cal.com links')}: {links}")
    return upper_first(", ".join(parts)) if parts else str(_("nothing"))
