"""Public: the privacy app's part of merging two customers (``appointments.merge`` finds this
module by convention). A deletion request follows the customer: the kept record is the person
who asked, so the request (and its due date) must not be lost with the removed duplicate."""

from __future__ import annotations

from typing import Any

from privacy.models import DeletionRequest


def move_customer_records(from_customer_id: int, to_customer_id: int, *,
                          only: dict[str, Any] | None = None) -> dict[str, Any]:
    """Move the deletion requests of one customer to another; with ``only`` (an undo) exactly
    those the merge moved go back. Returns the moved ids."""
    requests = DeletionRequest.objects.filter(customer_id=from_customer_id)
    if only is not None:
        requests = requests.filter(pk__in=only.get("deletion_requests", []))
    ids = sorted(requests.values_list("pk", flat=True))
    DeletionRequest.objects.filter(pk__in=ids).update(customer_id=to_customer_id)
    return {"deletion_requests": ids}
