from __future__ import annotations

from askpro.lru import BoundedCache


def test_the_least_recently_used_entry_is_dropped_first():
    cache: BoundedCache[str, int] = BoundedCache(2)
    cache["salon"] = 1
    cache["physio"] = 2
    assert cache.get("salon") == 1  # salon is now the most recently used

    cache["beauty"] = 3

    assert ("salon" in cache, "physio" in cache, "beauty" in cache) == (True, False, True)
    assert (len(cache), cache.evictions) == (2, 1)


def test_a_thousand_tenants_keep_the_cache_at_its_bound():
    cache: BoundedCache[str, int] = BoundedCache(256)
    for index in range(1000):
        cache[f"tenant_{index}"] = index

    assert len(cache) == 256
    assert cache.get("tenant_999") == 999 and cache.get("tenant_0") is None
