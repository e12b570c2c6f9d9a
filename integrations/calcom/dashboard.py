"""Tenant dashboard card: Cal.com syncs that need attention."""

from __future__ import annotations

from django.db.models import Q
from django.http import HttpRequest
from django.urls import reverse
from django.utils.translation import gettext as _

from askpro.dashboard import Card
from integrations.calcom.models import BookingSync, CalcomConnection, DriftRecord, SyncState


def tenant_cards(request: HttpRequest) -> list[Card]:
    if not CalcomConnection.objects.filter(is_active=True).exists():
        return []
    failing = BookingSync.objects.filter(Q(state=SyncState.FAILED) | Q(state=SyncState.CONFLICT)).count()
    review = DriftRecord.objects.filter(state__in=(DriftRecord.State.DRIFT, DriftRecord.State.MANUAL_REVIEW)).count()
    return [Card(
        title=_("Cal.com sync"),
        value=_("%(failing)s failing · %(review)s to review") % {"failing": failing, "review": review},
        footer=_("Pushes that failed or clashed, and open drift records."),
        href=reverse("admin:calcom_driftrecord_changelist") if review else
        reverse("admin:calcom_bookingsync_changelist"),
        icon="sync",
    )]
