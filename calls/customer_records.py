"""Public: the calls app's part of merging two customers (``appointments.merge`` finds this module
by convention). Calls and callback requests follow the customer they belong to."""

from __future__ import annotations

from typing import Any

from calls.models import Call, CallbackRequest


def move_customer_records(from_customer_id: int, to_customer_id: int, *,
                          only: dict[str, Any] | None = None) -> dict[str, Any]:
    """Re-point this customer's calls and callback requests to another customer; with ``only``
    (what an earlier move returned) exactly those rows. Returns the ids moved, per kind."""
    moved: dict[str, Any] = {}
    for kind, model in (("calls", Call), ("callback_requests", CallbackRequest)):
        rows = model.objects.filter(customer_id=from_customer_id)
        if only is not None:
            rows = rows.filter(pk__in=only.get(kind, []))
        ids = sorted(rows.values_list("pk", flat=True))
        model.objects.filter(pk__in=ids).update(customer_id=to_customer_id)
        moved[kind] = ids
    return moved
