"""Digests of a buffer that fills in pieces, in any order: each fixed-size unit is hashed as soon as all of
its bytes have arrived, on the codec workers, so the hashing of a large download overlaps the transfer
instead of following it as one single-core pass.

A split GET (:mod:`cloudfiles.engine`) fills one buffer with ranged parts; its ``Request.on_part`` hook
feeds :meth:`PartDigests.arrived`. The units need not line up with the pieces: an S3 multipart ETag covers
the uploader's parts, whatever size the download's parts have.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import Future
from typing import Generic, TypeVar

from . import codecpool

__all__ = ["PartDigests", "run_inline"]

T = TypeVar("T")


def run_inline(green: bool) -> bool:
    """True when unit digests should run on the calling thread: under gevent (a worker thread would only
    be another greenlet), on one core, or on a codec worker itself (which must not wait on its own pool)."""
    return (
        green
        or codecpool.num_workers() < 2
        or threading.current_thread().name.startswith(codecpool.THREAD_PREFIX)
    )


class PartDigests(Generic[T]):
    """``digest`` of every ``unit``-byte slice of a ``size``-byte buffer (the last one shorter), each
    computed once all its bytes have arrived.

    Pieces must not overlap and each must arrive once (a split GET's parts do); anything else (another
    buffer, bytes arriving twice) marks the digests broken, and :meth:`results` then gives None.
    """

    __slots__ = ("_broken", "_buffer", "_digest", "_inline", "_missing", "_results", "size", "unit")

    def __init__(self, size: int, unit: int, digest: Callable[[memoryview], T], *, inline: bool) -> None:
        if unit <= 0:
            raise ValueError(f"unit must be positive, got {unit}")
        self.size = size
        self.unit = unit
        self._digest = digest
        self._inline = inline
        count = max(1, -(-size // unit))
        #: bytes of each unit still to arrive
        self._missing = [min(unit, size - k * unit) for k in range(count)]
        self._results: list[Future[T] | tuple[T] | None] = [None] * count
        self._buffer: bytes | None = None
        self._broken = False

    def arrived(self, buffer: bytes, start: int, end: int) -> None:
        """``buffer[start:end]`` holds its final bytes: digest every unit this completes."""
        if self._buffer is None:
            self._buffer = buffer
        if buffer is not self._buffer or len(buffer) != self.size or not 0 <= start <= end <= self.size:
            self._broken = True
        if self._broken or start == end:
            return
        unit = self.unit
        missing = self._missing
        for k in range(start // unit, (end - 1) // unit + 1):
            lo = k * unit
            hi = min(lo + unit, self.size)
            missing[k] -= min(end, hi) - max(start, lo)
            if missing[k] < 0:
                self._broken = True  # bytes counted twice: no digest of this buffer can be trusted
                return
            if missing[k] == 0:
                view = memoryview(buffer)[lo:hi]
                if self._inline:
                    self._results[k] = (self._digest(view),)
                else:
                    try:
                        self._results[k] = codecpool.get_pool().submit(self._digest, view)
                    except RuntimeError:  # pool shut down (interpreter exit): whole body checked after
                        self._broken = True
                        return

    def results(self, buffer: object) -> list[T] | None:
        """Every unit's digest, in order, if all of ``buffer`` (the buffer the pieces filled) was digested;
        else None. Waits for digests still running."""
        if self._broken or buffer is not self._buffer or any(self._missing):
            self.cancel()
            return None
        out: list[T] = []
        for entry in self._results:
            if isinstance(entry, Future):
                out.append(entry.result())
            elif entry is not None:
                out.append(entry[0])
        return out

    def cancel(self) -> None:
        """Drop digests not started yet (the buffer is not going to be checked)."""
        for entry in self._results:
            if isinstance(entry, Future):
                entry.cancel()
