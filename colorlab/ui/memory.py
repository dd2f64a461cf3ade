"""How the app keeps its memory bounded: caches bounded in bytes, and a budget for heavy work.

A small upload can decode to a huge image (a 143 KB PNG of 7000 x 7000 zeros is 49 MP), and
each full-resolution job holds several float copies of it. Two things keep a burst of such
requests from taking the server down:

- :class:`ByteCache`: every cached image, palette, recolorer and result is counted by the bytes
  of the arrays and tensors it holds (:func:`nbytes`), and the least recently used entries go
  once the total passes the bound. (The caches were bounded by count, so idle memory stayed at
  gigabytes after a burst.)
- :class:`MemoryBudget`: a job reserves its estimated peak (``pixels x bytes per pixel``) before
  it runs and waits while the reservations of running jobs leave too little. A job larger than
  the whole budget is refused at once. Reservations nest: a job's inner steps are covered by its
  outermost reservation, so a thread never waits on itself.

When the last reservation is released the C allocator is asked to return freed memory to the
system (``malloc_trim``), so a burst's peak does not stay resident.
"""

from __future__ import annotations

import ctypes
import functools
import os
import threading
import types
from collections import OrderedDict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import numpy as np

from colorlab.errors import ColorLabError


class ServerBusyError(ColorLabError):
    """The app has no memory to spare for this job right now, or never will for one this big."""


def nbytes(value: Any) -> int:
    """Bytes held by the arrays and tensors inside ``value``, followed through containers,
    objects' attributes, bound methods and closures (each array's memory counted once)."""
    seen: set[int] = set()
    owners: set[int] = set()  # arrays whose memory is already counted
    total = 0
    stack = [value]
    while stack:
        item = stack.pop()
        if id(item) in seen or isinstance(item, _ATOMS):
            continue
        seen.add(id(item))
        if isinstance(item, np.ndarray):
            while isinstance(item.base, np.ndarray):  # a view: count the memory it looks into
                item = item.base
            if id(item) not in owners:
                owners.add(id(item))
                total += item.nbytes
            continue
        if _is_tensor(item):
            total += item.element_size() * item.nelement()
            continue
        if isinstance(item, dict):
            stack.extend(item.values())
        elif isinstance(item, list | tuple | set | frozenset):
            stack.extend(item)
        elif isinstance(item, functools.partial):
            stack.extend((item.func, item.args, item.keywords))
        elif isinstance(item, types.MethodType):
            stack.append(item.__self__)
        elif isinstance(item, types.FunctionType) and item.__closure__:
            stack.extend(cell.cell_contents for cell in item.__closure__ if _filled(cell))
        if hasattr(item, "__dict__"):
            stack.extend(vars(item).values())
    return total


_ATOMS = (type(None), str, bytes, int, float, complex, bool, type, types.ModuleType)


def _is_tensor(item: Any) -> bool:
    return type(item).__module__.startswith("torch") and hasattr(item, "element_size")


def _filled(cell) -> bool:
    try:
        cell.cell_contents  # noqa: B018 (an empty cell raises)
    except ValueError:
        return False
    return True


class ByteCache:
    """One LRU cache for several functions, bounded by the bytes its values hold.

    >>> cache = ByteCache(max_bytes=512 * 2**20)
    >>> @cache.memoize
    ... def full_image(key): ...

    A value larger than the whole bound is returned but not kept. Thread-safe; two threads
    asking for the same missing entry may both compute it (the second result is kept).
    """

    def __init__(self, max_bytes: int) -> None:
        self.max_bytes = int(max_bytes)
        self._entries: OrderedDict[tuple, tuple[Any, int]] = OrderedDict()
        self._lock = threading.Lock()
        self.bytes = 0

    def memoize(self, fn: Callable) -> Callable:
        @functools.wraps(fn)
        def cached(*args: Any, **kwargs: Any) -> Any:
            key = (fn.__qualname__, args, tuple(sorted(kwargs.items())))
            with self._lock:
                if key in self._entries:
                    self._entries.move_to_end(key)
                    return self._entries[key][0]
            value = fn(*args, **kwargs)
            self._put(key, value)
            return value

        cached.cache = self  # type: ignore[attr-defined]
        return cached

    def _put(self, key: tuple, value: Any) -> None:
        size = nbytes(value)
        if size > self.max_bytes:
            return
        with self._lock:
            if key in self._entries:
                self.bytes -= self._entries.pop(key)[1]
            self._entries[key] = (value, size)
            self.bytes += size
            while self.bytes > self.max_bytes:
                _, (_, dropped) = self._entries.popitem(last=False)
                self.bytes -= dropped

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()
            self.bytes = 0


class MemoryBudget:
    """Reservations of memory for heavy jobs, at most ``capacity`` bytes at once.

    ``reserve(n)`` waits up to ``timeout`` seconds for room, then raises
    :class:`ServerBusyError`; a job that needs more than ``capacity`` is refused at once.
    """

    def __init__(self, capacity: int, timeout: float = 120.0) -> None:
        self.capacity = int(capacity)
        self.timeout = timeout
        self.used = 0
        self._room = threading.Condition()
        self._held = threading.local()

    @contextmanager
    def reserve(self, size: int) -> Iterator[None]:
        if getattr(self._held, "depth", 0):  # inside this thread's own job: already covered
            self._held.depth += 1
            try:
                yield
            finally:
                self._held.depth -= 1
            return
        size = int(size)
        if size > self.capacity:
            raise ServerBusyError(
                f"this job needs about {size / 2**20:,.0f} MB, more than the "
                f"{self.capacity / 2**20:,.0f} MB the app allows for one; use a smaller image"
            )
        with self._room:
            if not self._room.wait_for(lambda: self.used + size <= self.capacity, self.timeout):
                raise ServerBusyError("the server is busy with other images; try again shortly")
            self.used += size
        self._held.depth = 1
        try:
            yield
        finally:
            self._held.depth = 0
            with self._room:
                self.used -= size
                idle = self.used == 0
                self._room.notify_all()
            if idle:
                release_free_memory()


@functools.cache
def _libc() -> Any:
    try:
        libc = ctypes.CDLL(None)
        return libc if hasattr(libc, "malloc_trim") else None
    except OSError:
        return None


def release_free_memory() -> None:
    """Hand memory freed by Python, numpy and torch back to the system (glibc only)."""
    libc = _libc()
    if libc is not None:
        libc.malloc_trim(0)


def physical_memory() -> int:
    """Bytes of memory this process may use: the cgroup limit if there is one, else the RAM."""
    total = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    try:
        with open("/sys/fs/cgroup/memory.max") as file:
            limit = file.read().strip()
        if limit.isdigit():
            total = min(total, int(limit))
    except OSError:
        pass
    return total
