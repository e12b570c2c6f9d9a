"""A suspension reaches the voice agent at once, though routes are cached per process."""

from __future__ import annotations

from calls import functions
from tenants import routing_cache, services
from tests.fixtures.calls import SALON_NUMBER, call_object, retell_post

URL = "/api/retell/check-customer"


def _call() -> dict:
    return {"name": "check_customer", "args": {}, "call": call_object("call_1", to_number=SALON_NUMBER, agent_id="agent_unknown")}


def test_a_suspension_reaches_cached_voice_routes_at_once(salon, public_client, salon_route, retell_key, settings,
                                                          django_capture_on_commit_callbacks):
    # given routes cached for 10 s, warmed by a first call
    settings.ASKPRO_TENANT_CACHE_SECONDS = 10
    functions._route_cache.clear()
    assert retell_post(public_client, URL, _call()).status_code == 200
    assert len(functions._route_cache) == 1
    before = routing_cache.current()

    # when an operator suspends the tenant
    with django_capture_on_commit_callbacks(execute=True):
        services.set_tenant_status(salon, "suspended", reason="unpaid")

    # then the generation in Redis moved, and the next call is refused without waiting for the TTL
    assert routing_cache.current() == before + 1
    response = retell_post(public_client, URL, _call())
    assert response.status_code == 403
    assert len(functions._route_cache) == 1  # the stale entry is not used, it is replaced


def test_a_cached_route_remembers_the_generation_it_was_filled_under(salon, public_client, salon_route, retell_key,
                                                                     settings):
    settings.ASKPRO_TENANT_CACHE_SECONDS = 10
    functions._route_cache.clear()

    retell_post(public_client, URL, _call())

    [(_expires, generation, tenant)] = functions._route_cache.values()
    assert (generation, tenant.slug) == (routing_cache.current(), "salon-schmidt")
