"""Bounded-memory copies between two stores (the engine of ``transfer_from`` when no server-side copy
applies).

* Small objects are pipelined: the destination's upload batch pulls its items lazily from the source's
  download batch, so at most about two engine windows of objects are in memory, never a whole block.
* A large object (above :data:`STREAM_THRESHOLD`) is never held whole: a :class:`RangedReader` presents
  it as a seekable file fetched in ranged GETs (a few parts ahead), and the destination's own put path
  consumes it the way it consumes a local file handle: S3 as a multipart upload, GCS as a composite
  upload, file:// as a temp file renamed into place. The reader checks the server's MD5/CRC32C over the
  bytes as they pass, so a corrupt or changed object fails the put instead of landing.
* file:// sources are opened, not read: the destination streams from the file descriptor.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import io
import os
import queue
import threading
import weakref
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from . import compression, lib
from .exceptions import CloudFilesError, CRC32CIntegrityError, MD5IntegrityError
from .interfaces.base import GetItem, StorageInterface

MiB = 1 << 20
#: objects larger than this are streamed in ranges instead of downloaded whole
STREAM_THRESHOLD = 16 * MiB
#: ranged GET size and how many run ahead of the reader
READ_PART = 8 * MiB
READ_AHEAD = 4
#: upload memory allowed for one streamed object (bounds the destination's parts in flight)
UPLOAD_BUDGET = 192 * MiB


class ObjectChangedError(CloudFilesError):
    """The source object changed (or shrank) while it was being streamed."""


@dataclass(slots=True)
class Planned:
    """One object to copy: source name, destination name, stored size (None: missing or unknown)."""

    src: str
    dest: str
    size: int | None


def expected_hashes(head: dict[str, Any] | None) -> tuple[str | None, int | None]:
    """(md5 as base64, crc32c as int) the server states for a whole object, from a head dict."""
    if not head:
        return None, None
    md5 = head.get("Content-Md5")
    etag = (head.get("ETag") or "").strip('"')
    if not md5 and len(etag) == 32 and "-" not in etag:
        try:
            md5 = base64.b64encode(bytes.fromhex(etag)).decode("ascii")
        except ValueError:
            md5 = None
    crc = head.get("Content-Crc32c")
    crc_int = int.from_bytes(base64.b64decode(crc), "big") if crc else None
    return md5 or None, crc_int


class RangedReader(io.RawIOBase):
    """A read-only, seekable file over one stored object, fetched as ranged GETs.

    A thread fetches the parts after the read position, ``ahead`` at a time concurrently, and hands
    them over through a queue of ``ahead`` parts, so the network keeps busy while the consumer writes.
    Parts are dropped once read: memory stays near ``2 * ahead * part_size`` whatever the object's size.
    Reading the object front to back checks the stated MD5/CRC32C at the last byte.
    """

    def __init__(
        self,
        iface: StorageInterface,
        path: str,
        size: int,
        *,
        md5: str | None = None,
        crc32c: int | None = None,
        part_size: int | None = None,
        ahead: int | None = None,
    ) -> None:
        super().__init__()
        self.iface = iface
        self.path = path
        self.size = size
        self.part_size = READ_PART if part_size is None else part_size
        self.ahead = max(1, READ_AHEAD if ahead is None else ahead)
        self.encoding: str | None = None
        self._parts: dict[int, bytes] = {}
        self._pos = 0
        self._md5 = hashlib.md5(usedforsecurity=False) if md5 else None
        self._want_md5 = md5
        self._crc: int | None = 0 if crc32c is not None else None
        self._want_crc = crc32c
        self._hashed = 0  # bytes hashed so far (only while reads are sequential)
        self._prefetch: _Prefetch | None = None

    @classmethod
    def open(cls, iface: StorageInterface, path: str, **kwargs: Any) -> RangedReader:
        """Head the object (size, hashes) and fetch its first parts (which tell its encoding)."""
        heads = list(iface.head_files([path]))
        head = heads[0].head if heads else None
        if heads and heads[0].error is not None:
            raise heads[0].error
        if head is None:
            raise FileNotFoundError(f"{path} does not exist in the source")
        md5, crc = expected_hashes(head)
        reader = cls(iface, path, int(head["Content-Length"] or 0), md5=md5, crc32c=crc, **kwargs)
        # One part alone first: it tells the encoding, and an interface that learns how its server
        # reports encodings on a first response (gs) does so before several large bodies are in flight.
        reader._fill(0, count=1)
        return reader

    # -- io.RawIOBase ------------------------------------------------------------------------------
    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def seek(self, offset: int, whence: int = os.SEEK_SET) -> int:
        if whence == os.SEEK_CUR:
            offset += self._pos
        elif whence == os.SEEK_END:
            offset += self.size
        self._pos = max(0, min(self.size, offset))
        return self._pos

    def tell(self) -> int:
        return self._pos

    def readinto(self, buffer: Any) -> int:
        data = self.read(len(buffer))
        memoryview(buffer)[: len(data)] = data
        return len(data)

    def read(self, n: int | None = -1) -> bytes:
        if n is None or n < 0:
            n = self.size - self._pos
        n = min(n, self.size - self._pos)
        if n <= 0:
            return b""
        out = bytearray()
        while len(out) < n:
            index, within = divmod(self._pos, self.part_size)
            if index not in self._parts:
                self._next_part(index)
            part = self._parts[index]
            take = part[within : within + n - len(out)]
            out += take
            self._pos += len(take)
            if within + len(take) >= len(part):
                self._parts.pop(index, None)  # consumed: release it
        data = bytes(out)
        self._hash(self._pos - len(data), data)
        return data

    def close(self) -> None:
        self._stop_prefetch()
        self._parts.clear()
        super().close()

    # -- internals ---------------------------------------------------------------------------------
    def _next_part(self, index: int) -> None:
        """Make part ``index`` available: from the prefetch thread when it is heading there, else by
        (re)starting it at ``index`` (a seek elsewhere)."""
        pre = self._prefetch
        if pre is None or pre.next_index != index:
            self._stop_prefetch()
            pre = self._prefetch = _Prefetch(self, index)
        got_index, data = pre.take()
        self._parts[got_index] = data

    def _stop_prefetch(self) -> None:
        if self._prefetch is not None:
            self._prefetch.stop()
            self._prefetch = None

    def _last_index(self) -> int:
        return -(-self.size // self.part_size)

    def _fill(self, index: int, count: int) -> None:
        """Fetch parts ``index .. index + count - 1`` in this thread (one engine batch)."""
        stop = min(self._last_index(), index + count)
        for i, data in self._fetch(range(index, stop)):
            self._parts[i] = data

    def _fetch(self, indices: Iterable[int]) -> Iterator[tuple[int, bytes]]:
        """``(index, bytes)`` of each part, in completion order, checked for its length."""
        items = [
            GetItem(self.path, i * self.part_size, min(self.size, (i + 1) * self.part_size), tags=i) for i in indices
        ]
        for res in self.iface.get_files(items):
            if res.error is not None:
                raise res.error
            start, end = res.item.start or 0, res.item.end or 0
            if res.content is None:
                raise ObjectChangedError(f"{self.path} disappeared while it was being copied")
            if len(res.content) != end - start:
                raise ObjectChangedError(
                    f"{self.path}: bytes {start}-{end} came back as {len(res.content)} bytes; "
                    "the object changed while it was being copied"
                )
            if res.item.tags == 0 or self.encoding is None:
                self.encoding = res.encoding
            yield res.item.tags, bytes(res.content)

    def _hash(self, offset: int, data: bytes) -> None:
        if offset != self._hashed or (self._md5 is None and self._crc is None):
            self._md5 = self._crc = None  # not front to back: cannot check a whole-object hash
            return
        if self._md5 is not None:
            self._md5.update(data)
        if self._crc is not None:
            self._crc = lib.crc32c(data, self._crc)
        self._hashed += len(data)
        if self._hashed == self.size:
            self._verify()

    def _verify(self) -> None:
        if self._md5 is not None and self._want_md5:
            got = base64.b64encode(self._md5.digest()).decode("ascii")
            if got.rstrip("=") != self._want_md5.rstrip("="):
                raise MD5IntegrityError(f"{self.path} failed its md5 check. server md5: {self._want_md5} computed md5: {got}")
        if self._crc is not None and self._want_crc is not None and self._crc != self._want_crc:
            raise CRC32CIntegrityError(f"crc32c mismatch for {self.path}: server {self._want_crc} ; client {self._crc}")


class _Prefetch:
    """The thread that fetches a reader's parts from ``index`` on, in order, into a bounded queue."""

    def __init__(self, reader: RangedReader, index: int) -> None:
        # A weak reference: a reader dropped without close() is collected, and its close() stops this.
        self._reader = weakref.ref(reader)
        self._ahead = reader.ahead
        self._last = reader._last_index()
        self.next_index = index
        self._queue: queue.Queue[tuple[int, bytes] | BaseException] = queue.Queue(maxsize=self._ahead)
        self._stopped = threading.Event()
        self._thread = threading.Thread(target=self._run, args=(index,), name="cloudfiles-prefetch", daemon=True)
        self._thread.start()

    def take(self) -> tuple[int, bytes]:
        """The next part in order (raising what the fetch raised)."""
        got = self._queue.get()
        if isinstance(got, BaseException):
            raise got
        self.next_index = got[0] + 1
        return got

    def stop(self) -> None:
        self._stopped.set()
        if threading.current_thread() is self._thread:
            return  # the reader was collected in this thread: the loop ends on its own
        while self._thread.is_alive():  # unblock a put waiting on a full queue
            with contextlib.suppress(queue.Empty):
                self._queue.get(timeout=0.05)
        self._thread.join()

    def _put(self, item: tuple[int, bytes] | BaseException) -> bool:
        while not self._stopped.is_set():
            try:
                self._queue.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def _run(self, index: int) -> None:
        last = self._last
        try:
            while index < last and not self._stopped.is_set():
                stop = min(last, index + self._ahead)
                reader = self._reader()
                if reader is None:
                    return
                window = dict(reader._fetch(range(index, stop)))
                del reader
                for i in range(index, stop):
                    if not self._put((i, window.pop(i))):
                        return
                index = stop
        except BaseException as err:  # noqa: BLE001 - handed to the reader, which raises it in its own thread
            self._put(err)


def plan_sizes(
    src: StorageInterface, pairs: Iterable[tuple[str, str, int | None]], lookup: bool
) -> Iterator[Planned]:
    """Attach stored sizes: given ones are trusted; with ``lookup`` the others are asked for in one
    batch (stat or HEAD), so a large object is streamed even when its size was not given."""
    block = list(pairs)
    unknown = [s for s, _d, size in block if size is None] if lookup else []
    sizes: dict[str, int | None] = {}
    if unknown:
        for name, size, error in src.size_files(unknown):
            if error is not None:
                raise error
            sizes[name] = size
    for s, d, size in block:
        yield Planned(s, d, size if size is not None else sizes.get(s))


@contextlib.contextmanager
def bounded_uploads(dest: StorageInterface, part_bytes: int) -> Iterator[None]:
    """Lower the destination's parts in flight so one streamed upload stays within UPLOAD_BUDGET."""
    options = dest.options
    before = options.concurrency
    options.concurrency = max(1, min(int(before or 1), UPLOAD_BUDGET // max(1, part_bytes)))
    try:
        yield
    finally:
        options.concurrency = before


def upload_part_bytes(dest: StorageInterface) -> int:
    """Bytes one in-flight upload part of a streamed object holds at the destination."""
    part = getattr(dest, "part_size", None)  # s3 multipart
    if part is None:
        part = getattr(dest, "composite_threshold", None)  # gs composite parts
    return int(part or READ_PART)


def transcode(content: Any, encoding: str | None, target: str | None, path: str) -> tuple[Any, str | None]:
    """Content re-encoded from ``encoding`` to ``target`` (None: identity)."""
    if encoding == target:
        return content, encoding
    if encoding:
        content = compression.decompress(content, encoding, filename=path)
    if target:
        content = compression.compress(content, method=target)
    return content, target


__all__ = [
    "READ_AHEAD",
    "READ_PART",
    "STREAM_THRESHOLD",
    "UPLOAD_BUDGET",
    "ObjectChangedError",
    "Planned",
    "RangedReader",
    "bounded_uploads",
    "expected_hashes",
    "plan_sizes",
    "transcode",
    "upload_part_bytes",
]
