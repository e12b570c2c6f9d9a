"""Per-process caches stay bounded however many tenants, hosts and routes a process serves."""

from __future__ import annotations

import importlib
import inspect
import pkgutil
from collections import OrderedDict

import pytest
from django.conf import settings
from django_tenants.utils import get_public_schema_name, schema_context

import askpro.celery
from appointments import demo, schedule_snapshot
from askpro.lru import BoundedCache
from calls import function_args, functions
from tenants import middleware
from tenants.models import Domain

# Our own packages: every module-level cache in them must be bounded.
PACKAGES = ["askpro", "tenants", "appointments", "calls", "notifications", "integrations", "billing"]
# Keyed by code, not by tenant: as many entries as there are event classes.
CODE_KEYED = {"askpro.hooks._hint_cache"}


def _modules():
    for name in PACKAGES:
        package = importlib.import_module(name)
        yield package
        for info in pkgutil.walk_packages(package.__path__, f"{name}."):
            if ".migrations" in info.name or ".settings" in info.name or info.name.endswith((".wsgi", ".asgi")):
                continue
            yield importlib.import_module(info.name)


def test_no_module_level_cache_is_an_unbounded_dict_or_lru_cache():
    unbounded = []
    for module in _modules():
        for attribute, value in vars(module).items():
            if getattr(value, "__module__", module.__name__) != module.__name__ and callable(value):
                continue  # imported from elsewhere
            if type(value) in (dict, OrderedDict) and "cache" in attribute.lower() and (
                f"{module.__name__}.{attribute}" not in CODE_KEYED
            ):
                unbounded.append(f"{module.__name__}.{attribute} (dict)")
            parameters = getattr(value, "cache_parameters", None)
            if callable(parameters) and parameters()["maxsize"] is None:
                wrapped = inspect.unwrap(value)
                if inspect.signature(wrapped).parameters:  # a cache without arguments holds one value
                    unbounded.append(f"{module.__name__}.{attribute} (functools cache)")
    assert sorted(unbounded) == []


@pytest.mark.parametrize(
    ("cache", "size"),
    [
        (middleware._tenant_cache, "ASKPRO_TENANT_CACHE_SIZE"),
        (functions._route_cache, "ASKPRO_TENANT_CACHE_SIZE"),
        (function_args._catalogs, "ASKPRO_TENANT_CACHE_SIZE"),
        (function_args._spans, "ASKPRO_TENANT_CACHE_SIZE"),
        (function_args._dayparts, "ASKPRO_TENANT_CACHE_SIZE"),
        (demo._segment_cache, "ASKPRO_TENANT_CACHE_SIZE"),
        (schedule_snapshot._snapshots, "ASKPRO_SNAPSHOT_CACHE_SIZE"),
    ],
    ids=["hosts", "voice routes", "catalogues", "opening spans", "day parts", "demo segments", "snapshots"],
)
def test_each_tenant_keyed_cache_is_an_lru_sized_from_settings(cache, size):
    assert isinstance(cache, BoundedCache)
    assert cache.maxsize == getattr(settings, size)


def test_the_host_cache_keeps_only_the_most_recently_used_hosts(salon, physio, settings, monkeypatch):
    settings.ASKPRO_TENANT_CACHE_SECONDS = 10
    monkeypatch.setattr(middleware, "_tenant_cache", BoundedCache(3))
    with schema_context(get_public_schema_name()):
        hosts = [f"filiale-{n}.salon.example" for n in range(6)]
        for host in hosts:
            Domain.objects.create(domain=host, tenant=salon, is_primary=False)

        for host in hosts:
            assert middleware.tenant_for_host(host) == salon
        assert middleware.tenant_for_host("physio-nord.localhost") == physio

    assert len(middleware._tenant_cache) == 3
    assert middleware._tenant_cache.evictions == 4
    assert "physio-nord.localhost" in middleware._tenant_cache and hosts[0] not in middleware._tenant_cache
    with schema_context(get_public_schema_name()):
        assert middleware.tenant_for_host(hosts[0]) == salon  # evicted: reloaded, still right


def test_the_worker_tenant_cache_is_bounded(salon, physio, public_tenant, monkeypatch):
    monkeypatch.setattr(askpro.celery, "_task_tenants", BoundedCache(2))
    task_class = askpro.celery.app.Task
    assert issubclass(task_class, askpro.celery.BoundedTenantTask)

    for schema in (salon.schema_name, physio.schema_name, get_public_schema_name(), salon.schema_name):
        assert task_class.get_tenant_for_schema(schema).schema_name == schema

    assert len(askpro.celery._task_tenants) == 2
    assert salon.schema_name in askpro.celery._task_tenants
    assert physio.schema_name not in askpro.celery._task_tenants


def test_the_bounded_cache_drops_the_least_recently_used_entry():
    cache: BoundedCache[str, int] = BoundedCache(2)
    cache["a"], cache["b"] = 1, 2
    assert cache.get("a") == 1  # "a" used: "b" is now the oldest
    cache["c"] = 3
    assert sorted(cache.values()) == [1, 3] and cache["a"] == 1 and cache.get("b") is None
    assert cache.evictions == 1


def test_demo_segments_are_cached_per_tenant_schema(monkeypatch):
    # Service ids repeat in every schema: the cache key must tell tenants apart.
    monkeypatch.setattr(demo, "_segment_cache", BoundedCache(8))
    calls = []

    class FakeService:
        pk = 1

        class segments:  # noqa: N801
            @staticmethod
            def all():
                calls.append(demo.current_schema())
                return []

    with schema_context("salon_schmidt"):
        demo._segments(FakeService)
    with schema_context("physio_nord"):
        demo._segments(FakeService)
    assert calls == ["salon_schmidt", "physio_nord"]

