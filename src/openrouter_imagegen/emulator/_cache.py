"""A least-recently-used map held to a byte budget, shared by the server's threads."""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Generic, TypeVar

__all__ = ["BudgetCache"]

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


class BudgetCache(Generic[K, V]):
    """The most recently used entries whose weights (`weigh(key, value)`, in bytes) fit in
    `budget`. An entry heavier than the whole budget is never kept."""

    def __init__(self, budget: int, weigh: Callable[[K, V], int]) -> None:
        self._budget = budget
        self._weigh = weigh
        self._used = 0
        self._entries: OrderedDict[K, tuple[V, int]] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: K) -> V | None:
        with self._lock:
            found = self._entries.get(key)
            if found is None:
                return None
            self._entries.move_to_end(key)
            return found[0]

    def put(self, key: K, value: V) -> None:
        weight = self._weigh(key, value)
        if weight > self._budget:
            return
        with self._lock:
            if key in self._entries:
                return
            self._entries[key] = (value, weight)
            self._used += weight
            while self._used > self._budget:
                _, (_, evicted) = self._entries.popitem(last=False)
                self._used -= evicted
