"""/metrics, second part: request latency by view (summed across processes), bookings and calls per
tenant class, notification outcomes by channel and status, outbox depth and lag per effect kind."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import timedelta

from django.conf import settings as django_settings
from django.utils import timezone
from django_tenants.utils import tenant_context

from appointments.services import book_appointment
from billing.models import BillingAccount
from integrations.models import OutboxEffect
from notifications import services as notification_services
from notifications.models import NotificationDelivery
from tenants import services as tenant_services
from tests.fixtures.appointments import berlin

TOKEN = "metrics-token-for-tests"


def scrape(client) -> dict[str, float]:
    response = client.get("/metrics", HTTP_AUTHORIZATION=f"Bearer {TOKEN}")
    assert response.status_code == 200
    samples = {}
    for line in response.content.decode().splitlines():
        if line and not line.startswith("#"):
            name, value = line.rsplit(" ", 1)
            samples[name] = float(value)
    return samples


def plan_of(tenant) -> str:
    return BillingAccount.objects.filter(tenant=tenant).values_list("plan__name", flat=True).first() or "none"


def test_a_scrape_counts_bookings_calls_and_notifications_by_tenant_class_and_outbox_lag(
    public_client, salon, physio, settings, in_salon, erika_haarschnitt, anna, customer_erika, haarschnitt,
    next_monday, physio_lena, physio_praxis, krankengymnastik, customer_max,
):
    settings.HEALTH_TOKEN = TOKEN
    from calls import services as call_services
    from tests.fixtures.calls import call_object

    # given: Salon Schmidt (active) has an admin and a phone booking, one ended and one ongoing call
    book_appointment(customer_id=customer_erika.pk, service_id=haarschnitt.pk, staff_id=anna.pk,
                     starts_at=berlin(next_monday, "15:00"), source="phone", actor="phone:call_m1")
    call_services.apply_call_event({"event": "call_ended", "call": {
        **call_object("call_m1"), "duration_ms": 61000, "end_timestamp": 1767200061000}})
    call_services.apply_call_event({"event": "call_started", "call": call_object("call_m2")})
    # its confirmation e-mail went out (delivered through the real service, locmem backend)
    created = notification_services.notify_appointment_event("appointment_confirmed", erika_haarschnitt.pk)
    emails = [d for d in created if d.channel == "email"]
    assert len(emails) == 1
    assert notification_services.deliver(emails[0].pk).status == "sent"
    # Physio Nord (suspended afterwards) has one online booking
    with tenant_context(physio):
        book_appointment(customer_id=customer_max.pk, service_id=krankengymnastik.pk, staff_id=physio_lena.pk,
                         starts_at=berlin(next_monday, "09:00"), source="api", actor="api:test")
    tenant_services.set_tenant_status(physio, "suspended")
    # the oldest owed effect of a kind is two minutes old
    pending = OutboxEffect.objects.filter(status="pending").order_by("pk")
    kinds = sorted(set(pending.values_list("handler", flat=True)))
    assert kinds, "a booking owes effects through the outbox"
    first = pending.filter(handler=kinds[0]).first()
    OutboxEffect.objects.filter(pk=first.pk).update(created_at=timezone.now() - timedelta(seconds=120))

    # when
    samples = scrape(public_client)

    # then: bookings and calls per tenant class (plan, status), never per tenant
    salon_plan, physio_plan = plan_of(salon), plan_of(physio)
    assert samples[f'askpro_bookings_total{{plan="{salon_plan}",source="admin",tenant_status="active"}}'] == 1
    assert samples[f'askpro_bookings_total{{plan="{salon_plan}",source="phone",tenant_status="active"}}'] == 1
    assert samples[f'askpro_bookings_total{{plan="{physio_plan}",source="api",tenant_status="suspended"}}'] == 1
    assert samples[f'askpro_calls_total{{plan="{salon_plan}",status="ended",tenant_status="active"}}'] == 1
    assert samples[f'askpro_calls_total{{plan="{salon_plan}",status="ongoing",tenant_status="active"}}'] == 1
    assert not any("salon" in name or "physio" in name for name in samples)
    # notification outcomes by channel and status, equal to the deliveries stored
    with tenant_context(salon):
        stored = {(d.channel, d.status) for d in NotificationDelivery.objects.all()}
        expected = {key: NotificationDelivery.objects.filter(channel=key[0], status=key[1]).count() for key in stored}
    assert expected[("email", "sent")] == 1
    for (channel, status), count in expected.items():
        assert samples[f'askpro_notification_deliveries{{channel="{channel}",status="{status}"}}'] == count
    # outbox depth and lag per effect kind
    for kind in kinds:
        assert samples[f'askpro_outbox_pending{{effect="{kind}"}}'] == pending.filter(handler=kind).count()
    assert 120 <= samples[f'askpro_outbox_oldest_pending_age_seconds{{effect="{kinds[0]}"}}'] < 600
    assert samples['askpro_outbox_failed{effect="' + kinds[0] + '"}'] == 0


def test_request_latency_is_recorded_by_url_name_not_by_path(public_client, salon_client, settings, salon):
    settings.HEALTH_TOKEN = TOKEN
    key = 'askpro_http_request_duration_seconds_count{method="GET",status="2xx",view="health"}'
    before = scrape(public_client).get(key, 0)

    public_client.get("/api/health")
    public_client.get("/api/health?probe=1")
    salon_client.get("/no/such/page/123456")

    samples = scrape(public_client)
    assert samples[key] == before + 2
    assert samples['askpro_http_request_duration_seconds_bucket{le="+Inf",method="GET",status="2xx",view="health"}'] \
        == before + 2
    assert samples.get('askpro_http_request_duration_seconds_count{method="GET",status="4xx",view="unmatched"}', 0) >= 1
    assert not any("123456" in name for name in samples)


def test_latency_from_several_processes_is_summed_in_multiprocess_mode(public_client, settings, tmp_path):
    # given: two separate processes (as Granian's two workers) record requests into one directory
    settings.HEALTH_TOKEN = TOKEN
    env = {**os.environ, "PROMETHEUS_MULTIPROC_DIR": str(tmp_path)}
    script = ("from askpro.request_metrics import observe; "
              "observe(view='appointments:calendar_feed', method='GET', status=200, seconds={s})")
    for seconds in (0.02, 0.3):
        subprocess.run([sys.executable, "-c", script.replace("{s}", str(seconds))], env=env, check=True,  # noqa: S603
                       cwd=django_settings.BASE_DIR, timeout=120)
    assert len(list(tmp_path.glob("histogram_*.db"))) == 2

    # when this process scrapes in multiprocess mode
    settings.METRICS_MULTIPROC_DIR = str(tmp_path)
    samples = scrape(public_client)

    # then both processes' requests count
    labels = 'method="GET",status="2xx",view="appointments:calendar_feed"'
    assert samples[f"askpro_http_request_duration_seconds_count{{{labels}}}"] == 2
    assert abs(samples[f"askpro_http_request_duration_seconds_sum{{{labels}}}"] - 0.32) < 1e-9
    assert samples[f'askpro_http_request_duration_seconds_bucket{{le="0.025",{labels}}}'] == 1
    assert samples[f'askpro_http_request_duration_seconds_bucket{{le="0.5",{labels}}}'] == 2
    assert "askpro_outbox_pending" in " ".join(samples) or "askpro_tenants" in " ".join(samples)


def test_the_dev_runner_empties_the_multiprocess_directory_on_start(tmp_path):
    from askpro.dev import prepare_metrics_dir

    # given a sample file of an earlier run's worker
    directory = tmp_path / "metrics"
    directory.mkdir()
    (directory / "histogram_4711.db").write_bytes(b"stale")
    environ = {"PROMETHEUS_MULTIPROC_DIR": str(directory)}

    # when
    prepared = prepare_metrics_dir(environ)

    # then
    assert prepared == directory
    assert list(directory.iterdir()) == []
