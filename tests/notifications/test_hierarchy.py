from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from notifications.models import NotificationConfiguration, NotificationTemplate
from notifications.queries import resolve_configuration


def _ids(cast, staff=None):
    return {"branch_id": cast.branch.pk, "service_id": cast.haarschnitt.pk, "staff_id": (staff or cast.anna).pk}


def test_without_any_configuration_the_builtin_defaults_apply(notif_cast):
    config = resolve_configuration("reminder_24h", **_ids(notif_cast))

    assert (config.enabled, config.channel, config.fallback_channel, config.retry_count, config.retry_delay_minutes, config.template) == (
        True, "sms", "", 3, 1, None)


def test_the_most_specific_level_wins_staff_then_service_then_branch_then_company(notif_cast):
    # given rows on every level
    NotificationConfiguration.objects.create(scope="company", event="reminder_24h", channel="email", fallback_channel="sms", retry_count=5, retry_delay_minutes=2)
    NotificationConfiguration.objects.create(scope="branch", branch=notif_cast.branch, event="reminder_24h", channel="whatsapp", retry_count=4)
    NotificationConfiguration.objects.create(scope="service", service=notif_cast.haarschnitt, event="reminder_24h", retry_count=1)
    NotificationConfiguration.objects.create(scope="staff", staff=notif_cast.anna, event="reminder_24h", channel="telegram")

    # when
    anna = resolve_configuration("reminder_24h", **_ids(notif_cast))
    ben = resolve_configuration("reminder_24h", **_ids(notif_cast, notif_cast.ben))
    other_service = resolve_configuration("reminder_24h", branch_id=notif_cast.branch.pk, service_id=notif_cast.farbe.pk, staff_id=notif_cast.ben.pk)

    # then
    assert (anna.channel, anna.retry_count, anna.retry_delay_minutes, anna.fallback_channel) == ("telegram", 1, 2, "sms")
    assert anna.sources == {"enabled": "default", "template": "default", "channel": "staff",
                            "fallback_channel": "company", "retry_count": "service", "retry_delay_minutes": "company"}
    assert (ben.channel, ben.retry_count) == ("whatsapp", 1)
    assert (other_service.channel, other_service.retry_count) == ("whatsapp", 4)


def test_a_staff_member_may_choose_channel_and_template(notif_cast):
    template = NotificationTemplate.objects.create(event="reminder_24h", channel="telegram", language="de", body="Bis morgen, {{customer_name}}!")
    row = NotificationConfiguration(scope="staff", staff=notif_cast.anna, event="reminder_24h", channel="telegram", template=template)
    row.full_clean()
    row.save()

    config = resolve_configuration("reminder_24h", **_ids(notif_cast))

    assert (config.channel, config.template) == ("telegram", template)


@pytest.mark.parametrize("rule", [{"enabled": False}, {"retry_count": 0}, {"retry_delay_minutes": 60}, {"fallback_channel": "email"}])
def test_a_staff_member_may_not_change_business_rules(notif_cast, rule):
    # given a staff row that tries to change a business rule
    row = NotificationConfiguration(scope="staff", staff=notif_cast.anna, event="reminder_24h", **rule)

    # then the form validation refuses it ...
    with pytest.raises(ValidationError) as refused:
        row.full_clean()
    assert list(rule) == list(refused.value.message_dict)
    # ... and so does the database, whoever writes
    with pytest.raises(IntegrityError), transaction.atomic():
        row.save()
    assert NotificationConfiguration.objects.count() == 0
    assert resolve_configuration("reminder_24h", **_ids(notif_cast)).enabled is True


def test_a_mandatory_event_cannot_be_switched_off_on_any_level(notif_cast):
    row = NotificationConfiguration(scope="branch", branch=notif_cast.branch, event="appointment_confirmed", enabled=False)

    with pytest.raises(ValidationError) as refused:
        row.full_clean()

    assert list(refused.value.message_dict) == ["enabled"]
    row.save()  # even a row written around validation does not switch it off
    config = resolve_configuration("appointment_confirmed", **_ids(notif_cast))
    assert (config.enabled, config.sources["enabled"]) == (True, "mandatory")


def test_an_optional_event_can_be_switched_off_for_one_service(notif_cast):
    NotificationConfiguration.objects.create(scope="service", service=notif_cast.farbe, event="reminder_2h", enabled=False)

    assert resolve_configuration("reminder_2h", service_id=notif_cast.farbe.pk).enabled is False
    assert resolve_configuration("reminder_2h", service_id=notif_cast.haarschnitt.pk).enabled is True


def test_a_level_needs_exactly_its_target(notif_cast):
    row = NotificationConfiguration(scope="branch", service=notif_cast.haarschnitt, event="reminder_24h")

    with pytest.raises(ValidationError) as refused:
        row.full_clean()

    assert set(refused.value.message_dict) == {"branch", "service"}
