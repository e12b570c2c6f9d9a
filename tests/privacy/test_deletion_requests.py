"""Deletion requests are due a month after receipt; the owner is reminded once a day when one is
due within a week or overdue; erasing the customer closes the request."""

from __future__ import annotations

import datetime as dt
from typing import Any
from zoneinfo import ZoneInfo

BERLIN = ZoneInfo("Europe/Berlin")


def test_a_deletion_request_is_due_one_calendar_month_after_receipt(customer_erika: Any) -> None:
    from privacy import services

    request = services.request_deletion(customer_erika.pk, actor="user:1", reason="Brief vom 31.10.",
                                        received_at=dt.datetime(2026, 10, 31, 9, 0, tzinfo=BERLIN))

    assert request.due_at == dt.datetime(2026, 11, 30, 9, 0, tzinfo=BERLIN)
    assert request.status == "open"


def test_the_owner_is_reminded_of_requests_due_within_a_week_once_a_day(customer_erika: Any, customer_hans: Any,
                                                                        salon: Any) -> None:
    from notifications.models import NotificationDelivery, NotificationSettings
    from privacy import services

    NotificationSettings.objects.update_or_create(pk=1, defaults={"business_email": "inhaber@salon-schmidt.example"})
    now = dt.datetime(2026, 11, 25, 7, 0, tzinfo=BERLIN)
    due_soon = services.request_deletion(customer_erika.pk, actor="user:1", received_at=now - dt.timedelta(days=26))
    services.request_deletion(customer_hans.pk, actor="user:1", received_at=now - dt.timedelta(days=3))

    first = services.remind_due_requests(salon, now=now)
    again = services.remind_due_requests(salon, now=now + dt.timedelta(hours=2))
    next_day = services.remind_due_requests(salon, now=now + dt.timedelta(days=1))

    assert (first, again, next_day) == (1, 0, 1)
    reminders = NotificationDelivery.objects.filter(event="deletion_request_due").order_by("pk")
    assert [(r.recipient, r.subject) for r in reminders] == [
        ("inhaber@salon-schmidt.example", f"Löschantrag fällig am 30.11.2026: Kunde #{due_soon.customer_id}")] * 2


def test_erasing_the_customer_closes_the_open_request(customer_erika: Any) -> None:
    from privacy import services
    from privacy.models import DeletionRequest

    services.request_deletion(customer_erika.pk, actor="user:1", reason="Anruf")
    services.erase_customer(customer_erika.pk, actor="user:2", reason="Löschantrag erledigt")

    request = DeletionRequest.objects.get()
    assert (request.status, request.handled_by) == ("done", "user:2")
    assert DeletionRequest.objects.filter(status="open").count() == 0


def test_the_demo_has_one_open_deletion_request_and_the_default_policy(salon: Any, in_salon: Any,
                                                                       customer_erika: Any) -> None:
    from privacy import demo
    from privacy.models import DeletionRequest, RetentionPolicy

    demo.seed_tenant(salon)
    demo.seed_tenant(salon)

    assert list(DeletionRequest.objects.values_list("customer_id", "status")) == [(customer_erika.pk, "open")]
    assert RetentionPolicy.objects.count() == 1


def test_the_nightly_privacy_tasks_are_in_celery_beat() -> None:
    from askpro.celery import app

    assert app.conf.beat_schedule["privacy-apply-retention"]["task"] == "privacy.apply_retention"
    assert app.conf.beat_schedule["privacy-remind-deletion-requests"]["task"] == "privacy.remind_deletion_requests"
