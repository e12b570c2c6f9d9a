from __future__ import annotations

import httpx
import pytest

from integrations.calcom.client import CalcomClient, CalcomNotFound, CalcomServerError
from integrations.errors import CircuitOpen, ProviderUnavailable
from integrations.http import CircuitBreaker, ResilientClient, RetryPolicy


class FakeClock:
    def __init__(self) -> None:
        self.now = 1_800_000_000.0

    def __call__(self) -> float:
        return self.now


def _client(sandbox, clock, sleeps, **kwargs):
    breaker = CircuitBreaker("calcom-test", failure_threshold=3, reset_seconds=30, clock=clock)
    breaker.reset()
    http = ResilientClient("calcom-test", sandbox.url, breaker=breaker, sleep=sleeps.append,
                           headers={"Authorization": "Bearer cal_test_sandbox_key"}, **kwargs)
    return CalcomClient("cal_test_sandbox_key", sandbox.url, http=http), breaker


def _fail(sandbox, status, count=1, retry_after=None):
    sandbox.state.data["failures"].extend(
        [{"status": status, "retry_after": retry_after, "message": "down", "code": "X"}] * count)


def test_a_get_is_retried_after_a_503_and_a_429_honouring_retry_after(calcom_sandbox):
    sleeps: list[float] = []
    client, breaker = _client(calcom_sandbox, FakeClock(), sleeps)
    _fail(calcom_sandbox, 503)
    _fail(calcom_sandbox, 429, retry_after=2)

    event_types = client.list_event_types()

    assert [e.id for e in event_types] == [101, 102]
    assert len(sleeps) == 2
    assert 0.25 <= sleeps[0] <= 0.5  # first backoff: 0.5 s with equal jitter
    assert sleeps[1] == 2.0
    assert breaker.snapshot()["breaker"] == "closed"


def test_a_post_is_not_repeated_after_a_5xx_so_nothing_is_booked_twice(calcom_sandbox):
    from datetime import UTC, datetime, timedelta

    from integrations.calcom.client import Attendee

    sleeps: list[float] = []
    client, _ = _client(calcom_sandbox, FakeClock(), sleeps)
    _fail(calcom_sandbox, 502)
    start = datetime.now(UTC).replace(hour=9, minute=0, second=0, microsecond=0) + timedelta(days=14)

    with pytest.raises(CalcomServerError):
        client.create_booking(event_type_id=101, start=start, attendee=Attendee(name="A", email="a@example.com"))

    assert sleeps == []
    assert calcom_sandbox.state.data["bookings"] == {}


def test_the_breaker_opens_after_repeated_failures_and_recovers_through_a_half_open_probe(calcom_sandbox):
    clock, sleeps = FakeClock(), []
    client, breaker = _client(calcom_sandbox, clock, sleeps, retry=RetryPolicy(max_attempts=1))
    _fail(calcom_sandbox, 503, count=3)

    for _ in range(3):
        with pytest.raises(CalcomServerError):
            client.list_event_types()
    assert breaker.snapshot()["breaker"] == "open"

    calcom_sandbox.state.data["failures"].clear()
    with pytest.raises(CircuitOpen) as paused:
        client.list_event_types()  # not even sent
    assert paused.value.details["retry_in_seconds"] == 30.0

    clock.now += 31
    assert breaker.snapshot()["breaker"] == "half_open"
    _fail(calcom_sandbox, 500)
    with pytest.raises(CalcomServerError):
        client.list_event_types()  # the probe fails: open again
    assert breaker.snapshot()["breaker"] == "open"

    clock.now += 31
    assert [e.id for e in client.list_event_types()] == [101, 102]  # the probe succeeds
    snapshot = breaker.snapshot()
    assert (snapshot["breaker"], snapshot["failures"]) == ("closed", 0)
    assert snapshot["last_success_at"] is not None


def test_only_one_probe_runs_while_half_open(calcom_sandbox):
    clock = FakeClock()
    breaker = CircuitBreaker("probe-test", failure_threshold=1, reset_seconds=10, clock=clock)
    breaker.reset()
    breaker.record_failure("boom")
    clock.now += 11

    assert breaker.before_call() == "half_open"
    with pytest.raises(CircuitOpen):
        breaker.before_call()
    breaker.record_success()
    assert breaker.before_call() == "closed"


def test_four_hundreds_do_not_count_against_the_breaker(calcom_sandbox):
    client, breaker = _client(calcom_sandbox, FakeClock(), [])
    for _ in range(4):
        with pytest.raises(CalcomNotFound) as raised:
            client.get_booking("missing")
        assert raised.value.status == 404

    assert breaker.snapshot()["breaker"] == "closed"


def test_connection_errors_become_provider_unavailable_after_retries():
    sleeps: list[float] = []
    breaker = CircuitBreaker("dead-test", failure_threshold=5, clock=FakeClock())
    breaker.reset()
    client = ResilientClient("dead-test", "http://127.0.0.1:1", breaker=breaker, sleep=sleeps.append,
                             timeout=httpx.Timeout(1.0))

    with pytest.raises(ProviderUnavailable) as raised:
        client.request("POST", "/v2/bookings", json={})

    assert len(sleeps) == 2  # connect errors are safe to retry even for POST
    assert raised.value.details == {"provider": "dead-test", "error": "ConnectError"}
    assert breaker.snapshot()["failures"] == 1


def test_the_breaker_lets_calls_through_when_redis_is_down(unreachable_redis):
    breaker = CircuitBreaker("no-redis")

    assert breaker.call(lambda: 42) == 42
