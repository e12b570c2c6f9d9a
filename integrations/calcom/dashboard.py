"""Tenant dashboard: Cal.com syncs that need attention, as an integration health item."""

from __future__ import annotations

from django.db.models import Q
from django.http import HttpRequest
from django.urls import reverse
from django.utils.translation import gettext as _

from askpro.dashboard import HealthItem, Panel, cached
from integrations.calcom.models import BookingSync, CalcomConnection, DriftRecord, SyncState


def sync_attention() -> tuple[bool, int, int]:
    """(connected, failing or clashing pushes, open drift records)."""
    if not CalcomConnection.objects.filter(is_active=True).exists():
        return False, 0, 0
    failing = BookingSync.objects.filter(Q(state=SyncState.FAILED) | Q(state=SyncState.CONFLICT)).count()
    review = DriftRecord.objects.filter(state__in=(DriftRecord.State.DRIFT, DriftRecord.State.MANUAL_REVIEW)).count()
    return True, failing, review


def tenant_panels(request: HttpRequest) -> list[Panel]:
    connected, failing, review = cached("calcom:attention", sync_attention)
    if not connected:
        item = HealthItem(_("Cal.com sync"), _("not connected"), "unknown",
                          reverse("admin:calcom_calcomconnection_changelist"))
    else:
        item = HealthItem(
            _("Cal.com sync"),
            _("%(failing)s failing · %(review)s to review") % {"failing": failing, "review": review},
            "danger" if failing else "warning" if review else "ok",
            reverse("admin:calcom_driftrecord_changelist") if review else reverse("admin:calcom_bookingsync_changelist"),
        )
    return [Panel("integration-health", "health", _("Integrations"), [item], order=31, width="third")]
