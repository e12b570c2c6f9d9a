"""Marketing campaigns: only to customers with consent who did not opt out; quiet hours and a
rate limit hold messages back; the report names who was skipped and why."""

from __future__ import annotations

import datetime as dt
from typing import Any
from zoneinfo import ZoneInfo

import pytest

BERLIN = ZoneInfo("Europe/Berlin")


@pytest.fixture
def audience(in_salon: Any) -> dict[str, Any]:
    from appointments.models import Customer
    from notifications.models import CustomerContactPreference

    cast = {
        "yes": Customer.objects.create(name="Anke Ja", phone="+4915100000001", email="anke@example.com", marketing_consent=True),
        "no_consent": Customer.objects.create(name="Bernd Nein", phone="+4915100000002", email="bernd@example.com"),
        "opted_out": Customer.objects.create(name="Clara Stopp", phone="+4915100000003", email="clara@example.com",
                                             marketing_consent=True, sms_opt_out=True),
        "no_email": Customer.objects.create(name="Dieter Ohne", phone="+4915100000004", marketing_consent=True),
    }
    CustomerContactPreference.objects.create(customer=cast["opted_out"], email_opt_out=True)
    return cast


def test_a_campaign_skips_exactly_the_customers_without_consent_opt_in_or_address(audience: dict[str, Any]) -> None:
    from notifications.models import NotificationDelivery
    from notifications.services import send_campaign

    report = send_campaign([c.pk for c in audience.values()], campaign="herbst", channel="email",
                           subject="Herbstaktion", message="10 % auf Pflege im Oktober.")

    assert report.queued == [audience["yes"].pk]
    assert report.skipped == {audience["no_consent"].pk: "no_consent", audience["opted_out"].pk: "opted_out",
                              audience["no_email"].pk: "no_address"}
    sent = NotificationDelivery.objects.get(event="marketing_message", status="pending")
    assert (sent.recipient, sent.subject) == ("anke@example.com", "Herbstaktion")
    assert "10 % auf Pflege im Oktober." in sent.body and "Anke Ja" in sent.body
    assert NotificationDelivery.objects.filter(event="marketing_message", status="skipped").count() == 3


def test_a_campaign_sent_twice_reaches_nobody_twice(audience: dict[str, Any]) -> None:
    from notifications.models import NotificationDelivery
    from notifications.services import send_campaign

    for _ in range(2):
        send_campaign([c.pk for c in audience.values()], campaign="herbst", channel="email", message="Hallo")

    assert NotificationDelivery.objects.filter(event="marketing_message").count() == 4


def test_campaign_sms_wait_for_the_end_of_quiet_hours_and_opted_out_sms_are_skipped(audience: dict[str, Any]) -> None:
    from notifications.models import NotificationDelivery
    from notifications.services import send_campaign

    night = dt.datetime(2026, 11, 10, 22, 30, tzinfo=BERLIN)
    report = send_campaign([c.pk for c in audience.values()], campaign="sms", channel="sms", message="Hallo", now=night)

    assert sorted(report.queued) == [audience["yes"].pk, audience["no_email"].pk]
    assert report.skipped == {audience["no_consent"].pk: "no_consent", audience["opted_out"].pk: "opted_out"}
    waiting = NotificationDelivery.objects.filter(event="marketing_message", status="pending")
    assert {d.next_attempt_at for d in waiting} == {dt.datetime(2026, 11, 11, 8, 0, tzinfo=BERLIN)}


def test_a_large_campaign_is_spread_over_minutes_by_the_rate_limit(in_salon: Any) -> None:
    from appointments.models import Customer
    from notifications.models import NotificationDelivery
    from notifications.services import CAMPAIGN_MESSAGES_PER_MINUTE, send_campaign

    noon = dt.datetime(2026, 11, 10, 12, 0, tzinfo=BERLIN)
    ids = [Customer.objects.create(name=f"Kunde {n}", email=f"k{n}@example.com", marketing_consent=True).pk
           for n in range(CAMPAIGN_MESSAGES_PER_MINUTE + 1)]
    send_campaign(ids, campaign="gross", channel="email", message="Hallo", now=noon)

    assert set(NotificationDelivery.objects.values_list("status", "skip_reason", "error")) == {("pending", "", "")}
    times = sorted(NotificationDelivery.objects.values_list("next_attempt_at", flat=True))
    assert times.count(noon) == CAMPAIGN_MESSAGES_PER_MINUTE
    assert times[-1] == noon + dt.timedelta(minutes=1)
