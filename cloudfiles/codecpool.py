"""A small shared pool of codec workers, so (de)compression overlaps with transfers still in flight.

The native codecs release the GIL around every C call, so a handful of OS threads (one per core) really
do decode in parallel with the thread that drives the transfers. Handing a body to another thread costs
tens of microseconds, more than decoding a small one takes, so bodies under :data:`INLINE_LIMIT` bytes
are processed on the calling thread. Under gevent (``green=True``) everything runs inline too: a codec
call never yields to the hub, so a worker "thread" would only be another greenlet taking turns.

Two shapes of use:

* :class:`CompletionQueue` (downloads): submit finished bodies as they arrive, take results back in
  completion order, never more than a bounded number pending.
* :func:`imap_ordered` (uploads): prepare (compress) items a bounded number ahead of the consumer,
  yielding them in input order, so a batch is never compressed whole into memory.
"""

from __future__ import annotations

import collections
import os
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from typing import Generic, TypeVar

from . import forksafe

T = TypeVar("T")
R = TypeVar("R")

#: Bodies smaller than this are (de)compressed on the calling thread.
INLINE_LIMIT = 64 * 1024

_pool: ThreadPoolExecutor | None = None
_pool_lock = forksafe.new_lock()


#: Name prefix of the pool's threads (work running on one must not wait for more work on the pool).
THREAD_PREFIX = "cloudfiles-codec"


def num_workers() -> int:
    """Worker threads in the shared pool: one per core."""
    return max(1, os.cpu_count() or 1)


def get_pool() -> ThreadPoolExecutor:
    """The process-wide codec pool, created on first use."""
    global _pool
    pool = _pool
    if pool is None:
        with _pool_lock:
            if _pool is None:
                _pool = ThreadPoolExecutor(max_workers=num_workers(), thread_name_prefix=THREAD_PREFIX)
            pool = _pool
    return pool


def shutdown() -> None:
    """Stop the pool's threads (a new pool is made on next use)."""
    global _pool
    with _pool_lock:
        pool, _pool = _pool, None
    if pool is not None:
        pool.shutdown(wait=True)


def _forget_after_fork() -> None:
    # A forked child has the pool object but none of its threads: start afresh (forksafe resets the lock).
    global _pool
    _pool = None


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forget_after_fork)


def should_offload(nbytes: int, inline: bool = False) -> bool:
    """True when a body of ``nbytes`` is worth handing to a worker thread."""
    return not inline and nbytes >= INLINE_LIMIT and num_workers() > 1


class CompletionQueue(Generic[R]):
    """Run callables inline or on the pool; collect their results in completion order.

    ``fn`` must not raise for an expected failure: let it return its error as part of the result.
    """

    def __init__(self, *, max_pending: int | None = None, inline: bool = False) -> None:
        self._pending: set[Future[R]] = set()
        self._ready: collections.deque[R] = collections.deque()
        self._max_pending = max_pending if max_pending is not None else 2 * num_workers() + 2
        self._inline = inline

    @property
    def empty(self) -> bool:
        """Nothing pending or waiting to be taken: a result computed now may go out at once."""
        return not self._pending and not self._ready

    def submit(self, fn: Callable[[], R], nbytes: int) -> None:
        """Run ``fn`` now if small (or inline mode), else on the pool. Blocks if too many are pending."""
        if not should_offload(nbytes, self._inline):
            self._ready.append(fn())
            return
        while len(self._pending) >= self._max_pending:
            self._collect(block=True)
        self._pending.add(get_pool().submit(fn))

    def _collect(self, *, block: bool) -> None:
        if not self._pending:
            return
        if block:
            done, self._pending = wait(self._pending, return_when=FIRST_COMPLETED)
        else:
            done = {f for f in self._pending if f.done()}
            self._pending -= done
        for fut in done:
            self._ready.append(fut.result())

    def ready(self) -> Iterator[R]:
        """Results finished so far (does not wait)."""
        self._collect(block=False)
        while self._ready:
            yield self._ready.popleft()

    def drain(self) -> Iterator[R]:
        """Every remaining result, waiting for those still running."""
        while self._ready or self._pending:
            if not self._ready:
                self._collect(block=True)
            while self._ready:
                yield self._ready.popleft()

    def cancel(self) -> None:
        """Drop pending work (used when the consumer stops early)."""
        for fut in self._pending:
            fut.cancel()
        self._pending.clear()
        self._ready.clear()


def imap_ordered(
    fn: Callable[[T], R],
    items: Iterable[T],
    *,
    size_of: Callable[[T], int],
    ahead: int | None = None,
    inline: bool = False,
) -> Iterator[R]:
    """``map(fn, items)`` in input order, with up to ``ahead`` large items prepared on the pool.

    ``items`` is consumed lazily: at most ``ahead`` items are taken before the consumer takes the first
    result. Small items (``size_of(item) < INLINE_LIMIT``) run inline when their turn comes.
    """
    limit = ahead if ahead is not None else num_workers() + 1
    window: collections.deque[Future[R] | tuple[T]] = collections.deque()
    try:
        for item in items:
            if should_offload(size_of(item), inline):
                window.append(get_pool().submit(fn, item))
            else:
                window.append((item,))
            while len(window) > limit:
                yield _resolve(fn, window.popleft())
        while window:
            yield _resolve(fn, window.popleft())
    finally:
        for entry in window:
            if isinstance(entry, Future):
                entry.cancel()


def _resolve(fn: Callable[[T], R], entry: Future[R] | tuple[T]) -> R:
    if isinstance(entry, Future):
        return entry.result()
    return fn(entry[0])


__all__ = [
    "INLINE_LIMIT",
    "CompletionQueue",
    "get_pool",
    "imap_ordered",
    "num_workers",
    "should_offload",
    "shutdown",
]
