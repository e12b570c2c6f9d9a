"""Retention per tenant: old transcripts, recordings and message contents are pruned, inactive
customers are erased; a second run changes nothing; every run is logged."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.utils import timezone


def _age(model: Any, pk: int, days: int) -> None:
    model.objects.filter(pk=pk).update(created_at=timezone.now() - dt.timedelta(days=days))


def test_retention_prunes_what_is_older_than_the_policy_and_a_second_run_changes_nothing(
    erika_everywhere: Any, customer_hans: Any
) -> None:
    from calls.models import Call
    from notifications.models import NotificationDelivery
    from privacy import services
    from privacy.models import PrivacyAuditEntry

    # given: Erika's call is 100 days old, her messages 200 days; Hans's message is new
    call = Call.objects.get(call_id="call_erika")
    _age(Call, call.pk, 100)
    for delivery in NotificationDelivery.objects.exclude(customer=customer_hans):
        _age(NotificationDelivery, delivery.pk, 200)
    policy = services.retention_policy()
    assert (policy.transcript_days, policy.recording_days, policy.notification_days) == (90, 30, 180)

    first = services.apply_retention()
    second = services.apply_retention()

    assert first.counts["call_transcripts"] == 2  # the transcript and the cached function answer
    assert first.counts["call_recordings"] == 1
    assert first.counts["notification_contents"] == 2
    assert first.counts["inactive_customers"] == 0
    assert set(second.counts.values()) == {0}
    call.refresh_from_db()
    assert (call.transcript, call.recording_url, call.summary, call.transcript_object) == ("", "", "", [])
    assert call.from_number == "+4915112345678"  # the call itself stays until the customer is erased
    assert NotificationDelivery.objects.get(customer=customer_hans).body == "Guten Tag Hans Meier"
    runs = PrivacyAuditEntry.objects.filter(action="retention").order_by("id")
    assert [run.counts["notification_contents"] for run in runs] == [2, 0]


def test_retention_erases_customers_inactive_for_the_configured_years_once(customer_erika: Any, customer_hans: Any) -> None:
    from appointments.models import Customer
    from privacy import services
    from privacy.models import PrivacyAuditEntry

    Customer.objects.filter(pk=customer_erika.pk).update(created_at=timezone.now() - dt.timedelta(days=4 * 365))

    first = services.apply_retention()
    second = services.apply_retention()

    assert first.erased_customers == [customer_erika.pk]
    assert second.erased_customers == []
    assert Customer.objects.get(pk=customer_erika.pk).phone == ""
    assert Customer.objects.get(pk=customer_hans.pk).phone == "+4917099887766"
    assert PrivacyAuditEntry.objects.filter(action="erasure", customer_ref=customer_erika.pk).count() == 1


def test_a_policy_of_zero_keeps_everything(erika_everywhere: Any) -> None:
    from calls.models import Call
    from privacy import services
    from privacy.models import RetentionPolicy

    RetentionPolicy.objects.create(transcript_days=0, recording_days=0, notification_days=0, inactive_customer_years=0)
    Call.objects.filter(call_id="call_erika").update(created_at=timezone.now() - dt.timedelta(days=3000))

    result = services.apply_retention()

    assert set(result.counts.values()) == {0}
    assert Call.objects.get(call_id="call_erika").transcript != ""
