"""Public: the notifications app's part of merging two customers (``appointments.merge`` finds
this module by convention). Deliveries follow the customer; contact preferences are moved, or
combined when both customers have one (an opt-out of either stays an opt-out)."""

from __future__ import annotations

from typing import Any

from django.forms.models import model_to_dict

from notifications.models import CustomerContactPreference, NotificationDelivery

_OPT_OUTS = ("whatsapp_opt_out", "email_opt_out", "telegram_opt_out")
_FIELDS = ("preferred_channel", "telegram_chat_id", *_OPT_OUTS)


def move_customer_records(from_customer_id: int, to_customer_id: int, *,
                          only: dict[str, Any] | None = None) -> dict[str, Any]:
    """Move the deliveries and the contact preference of one customer to another. Without ``only``
    (a merge) everything moves; with ``only`` (an undo: what the merge returned) exactly that is
    moved back and a combined preference is split again. Returns what was done."""
    deliveries = NotificationDelivery.objects.filter(customer_id=from_customer_id)
    if only is not None:
        deliveries = deliveries.filter(pk__in=only.get("deliveries", []))
    ids = sorted(deliveries.values_list("pk", flat=True))
    NotificationDelivery.objects.filter(pk__in=ids).update(customer_id=to_customer_id)
    done: dict[str, Any] = {"deliveries": ids}
    if only is None:
        done |= _combine_preferences(from_customer_id, to_customer_id)
    else:
        _split_preferences(from_customer_id, to_customer_id, only)
    return done


def _combine_preferences(from_id: int, to_id: int) -> dict[str, Any]:
    source = CustomerContactPreference.objects.filter(customer_id=from_id).first()
    if source is None:
        return {}
    target = CustomerContactPreference.objects.filter(customer_id=to_id).first()
    if target is None:
        CustomerContactPreference.objects.filter(pk=source.pk).update(customer_id=to_id)
        return {"contact_preference": source.pk}
    before = model_to_dict(target, fields=_FIELDS)
    for field in _OPT_OUTS:
        setattr(target, field, getattr(target, field) or getattr(source, field))
    for field in ("preferred_channel", "telegram_chat_id"):
        setattr(target, field, getattr(target, field) or getattr(source, field))
    target.save()
    removed = model_to_dict(source, fields=_FIELDS)
    source.delete()
    return {"contact_preference_kept_before": before, "contact_preference_removed": removed}


def _split_preferences(from_id: int, to_id: int, only: dict[str, Any]) -> None:
    if "contact_preference" in only:
        CustomerContactPreference.objects.filter(pk=only["contact_preference"], customer_id=from_id).update(
            customer_id=to_id)
    if "contact_preference_removed" in only:
        CustomerContactPreference.objects.create(customer_id=to_id, **only["contact_preference_removed"])
        CustomerContactPreference.objects.filter(customer_id=from_id).update(
            **only.get("contact_preference_kept_before", {}))
