"""A small, thread-safe, size-bounded mapping for per-process caches keyed by tenant.

With a thousand tenants, a plain dict per process grows with every tenant that ever sent a
request. This keeps the ``maxsize`` most recently used entries; the least recently used one is
dropped on insert. Entries are rebuilt on a miss, so eviction costs a reload, never correctness.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Hashable
from threading import Lock
from typing import Generic, TypeVar

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


class BoundedCache(Generic[K, V]):
    def __init__(self, maxsize: int) -> None:
        if maxsize < 1:
            raise ValueError("maxsize must be at least 1")
        self.maxsize = maxsize
        self._data: OrderedDict[K, V] = OrderedDict()
        self._mutex = Lock()
        self.evictions = 0

    def get(self, key: K, default: V | None = None) -> V | None:
        with self._mutex:
            try:
                self._data.move_to_end(key)
            except KeyError:
                return default
            return self._data[key]

    def __getitem__(self, key: K) -> V:
        with self._mutex:
            self._data.move_to_end(key)
            return self._data[key]

    def __setitem__(self, key: K, value: V) -> None:
        with self._mutex:
            self._data[key] = value
            self._data.move_to_end(key)
            while len(self._data) > self.maxsize:
                self._data.popitem(last=False)
                self.evictions += 1

    def pop(self, key: K, default: V | None = None) -> V | None:
        with self._mutex:
            return self._data.pop(key, default)

    def values(self) -> list[V]:
        with self._mutex:
            return list(self._data.values())

    def clear(self) -> None:
        with self._mutex:
            self._data.clear()

    def __len__(self) -> int:
        return len(self._data)

    def __contains__(self, key: object) -> bool:
        return key in self._data
