"""The download pipeline behind ``get``: requests out, verified and decoded result dicts back.

The interface streams stored bytes in completion order; each result is checked against the server's
hash and decompressed (on the codec pool when that work is large), then turned into the public result
dict. A body that fails its hash is fetched once more before the error stands. Shared by the facade
and the client-side copy (:mod:`cloudfiles.copying`), so neither imports the other.
"""

from __future__ import annotations

import base64
import functools
import hashlib
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from . import coalesce, codecpool, compression
from .buffers import buffer_nbytes
from .exceptions import CRC32CIntegrityError, IntegrityError, MD5IntegrityError
from .interfaces.base import GetItem, GetResult, StorageInterface
from .monitoring import TransmissionMonitor
from .shapes import path_of_get, to_bytes
from .typing import GetResultDict

#: Keys of every multi-item ``get`` result dict, in this order.
RESULT_KEYS = ("path", "content", "byte_range", "error", "compress", "raw", "tags")

#: ``byte_range`` of every whole-object result: one shared tuple of None. A result dict that holds only
#: atomic values (str, bytes, None, a shared tuple of None) is never tracked by the cyclic GC, so a list
#: of a million results adds nothing to the collections it triggers (a fresh tuple per result made each
#: dict a container the collector walks, young and old: README "Design").
WHOLE_OBJECT = (None, None)


def byte_range_of(item: GetItem) -> tuple[int | None, int | None]:
    """The result's ``byte_range`` of ``item`` (the shared :data:`WHOLE_OBJECT` for a whole object)."""
    if item.start is None and item.end is None:
        return WHOLE_OBJECT
    return (item.start, item.end)


def check_integrity(res: GetResult, content: Any) -> None:
    """Compare the server's hash of a whole object with the downloaded bytes."""
    if res.server_hash is None or res.verified or res.item.start is not None or res.item.end is not None:
        return
    if res.hash_type == "md5":
        digest = base64.b64encode(hashlib.md5(content, usedforsecurity=False).digest()).decode("ascii")
        if digest.rstrip("=") != res.server_hash.rstrip("="):
            raise MD5IntegrityError(
                f"{res.item.path} failed its md5 check. server md5: {res.server_hash} computed md5: {digest}"
            )
    elif res.hash_type == "crc32c":
        from . import lib

        server = int.from_bytes(base64.b64decode(res.server_hash), "big")
        computed = lib.crc32c(content)
        if computed != server:
            raise CRC32CIntegrityError(
                f"crc32c mismatch for {res.item.path}: server {server} ; client {computed}"
            )


def finish_get(
    res: GetResult, raw: bool, label: Callable[[str | None, bool], str | None] | None = None
) -> GetResultDict:
    """Turn one interface result into the public result dict (verify + decompress).

    ``label`` names the stored encoding in ``compress`` as the scheme's cloud-files did
    (``StorageInterface.encoding_label``); without it the canonical name is given.
    """
    item = res.item
    content = res.content
    error = res.error
    if error is None and content is not None:
        try:
            check_integrity(res, content)
            if not raw and res.encoding is not None:
                content = compression.decompress(content, res.encoding, filename=item.path)
            content = to_bytes(content)
        except Exception as err:  # noqa: BLE001 - a corrupt or mismatched object is this result's error
            error = err
            content = None
    elif error is not None:
        content = None
    return {
        "path": item.path,
        "content": content,
        "byte_range": byte_range_of(item),
        "error": error,
        "compress": res.encoding if label is None else label(res.encoding, res.content is not None),
        "raw": raw,
        "tags": item.tags,
    }


def refetch(done: GetResultDict, again: list[GetItem], part_size: int | None) -> bool:
    """Queue a result that failed its integrity check for one more download; True if queued."""
    if not isinstance(done["error"], IntegrityError):
        return False
    start, end = done["byte_range"]
    again.append(GetItem(path=done["path"], start=start, end=end, tags=done["tags"], part_size=part_size))
    return True


def decode_cost(res: GetResult, raw: bool) -> int:
    """Bytes of codec or hashing work a result needs (0: not worth a worker thread)."""
    if res.content is None or res.error is not None:
        return 0
    if (raw or res.encoding is None) and (res.server_hash is None or res.verified):
        return 0
    return buffer_nbytes(res.content)


def get_item(path: Any, part_size: int | None) -> GetItem:
    """The interface request of one get item (a str or a ``{'path', 'start', 'end', 'tags'}`` dict)."""
    if type(path) is str:  # the common case, without the general shape check
        return GetItem(path, None, None, None, part_size)
    key, start, end, tags = path_of_get(path)
    return GetItem(path=key, start=start, end=end, tags=tags, part_size=part_size)


def iget(
    iface: StorageInterface,
    items: Iterable[Any],
    *,
    raw: bool,
    part_size: int | None,
    bar: Any,
    raise_errors: bool,
    tm: TransmissionMonitor | None,
    inline: bool,
) -> Iterator[GetResultDict]:
    """Stream result dicts in completion order; decoding overlaps with transfers in flight.

    ``inline`` decodes on the calling thread (gevent); ``tm`` records each transfer when given.
    """
    requests: Iterator[GetItem] = (get_item(p, part_size) for p in items)
    flights: dict[int, Any] = {}
    if tm is not None:
        requests = _recorded(requests, tm, flights)
    queue: codecpool.CompletionQueue[GetResultDict] = codecpool.CompletionQueue(inline=inline)
    # Network schemes: nearby ranges of one object go out as one request, sliced back per item.
    if iface.coalesce_ranges:
        gap = coalesce.max_gap_for(iface.options.coalesce_gap)
        results = coalesce.coalesced_gets(iface.get_files, requests, max_gap=gap)
    else:
        results = iface.get_files(requests)
    label = iface.encoding_label
    plain_label = label(None, True)  # the ``compress`` of a found object stored without encoding
    # Bytes that fail their hash are fetched once more before the error stands: a corrupted
    # transfer should not fail the caller when a second read is clean.
    again: list[GetItem] = []
    try:
        for res in results:
            if tm is not None:
                _land(res, tm, flights)
            content = res.content
            if (type(content) is bytes and res.error is None and res.encoding is None
                    and (res.server_hash is None or res.verified) and queue.empty):
                # Whole bytes with nothing to verify or decode, and nothing ahead of them: the result
                # dict finish_get would build, built here (the common small GET, once per object).
                item = res.item
                bar.update(1)
                yield {
                    "path": item.path,
                    "content": content,
                    "byte_range": byte_range_of(item),
                    "error": None,
                    "compress": plain_label,
                    "raw": raw,
                    "tags": item.tags,
                }
                continue
            cost = decode_cost(res, raw)
            if queue.empty and not codecpool.should_offload(cost, inline):
                # Too little work for a codec worker (the queue would run it here and now), and nothing
                # ahead of it: finished and out at once, no queue round trip.
                done = finish_get(res, raw, label)
                if not refetch(done, again, part_size):
                    yield _account(done, bar, raise_errors)
                continue
            queue.submit(functools.partial(finish_get, res, raw, label), cost)
            for done in queue.ready():
                if not refetch(done, again, part_size):
                    yield _account(done, bar, raise_errors)
        for done in queue.drain():
            if not refetch(done, again, part_size):
                yield _account(done, bar, raise_errors)
        if again:
            for res in iface.get_files(again):
                yield _account(finish_get(res, raw, label), bar, raise_errors)
    finally:
        queue.cancel()
        close = getattr(results, "close", None)
        if close is not None:
            close()


def _recorded(requests: Iterator[GetItem], tm: TransmissionMonitor, flights: dict[int, Any]) -> Iterator[GetItem]:
    # A flight starts when the interface takes the request, and ends when its result is ready.
    for item in requests:
        flights[id(item)] = tm.start_io(0)
        yield item


def _land(res: GetResult, tm: TransmissionMonitor, flights: dict[int, Any]) -> None:
    flight = flights.pop(id(res.item), None)
    if flight is None:
        return
    if res.error is None:
        tm.end_io(flight, buffer_nbytes(res.content))
    else:
        tm.end_error(flight)


def _account(res: GetResultDict, bar: Any, raise_errors: bool) -> GetResultDict:
    bar.update(1)
    if raise_errors and res["error"] is not None:
        raise res["error"]
    return res


def fill_buffers(results: Iterable[GetResultDict], views: list[memoryview], abspath: Callable[[str], str]) -> list[int]:
    """Copy each result of a ``get_into`` batch (``tags``: its index) into its buffer; bytes written."""
    written = [0] * len(views)
    for res in results:
        i = res["tags"]
        content = res["content"]
        if content is None:
            raise FileNotFoundError(f"{abspath(res['path'])} does not exist")
        view = views[i]
        n = len(content)
        if n > view.nbytes:
            raise ValueError(f"{res['path']}: {n} bytes do not fit the {view.nbytes}-byte buffer given as out")
        view[:n] = content
        written[i] = n
    return written


__all__ = [
    "RESULT_KEYS",
    "WHOLE_OBJECT",
    "byte_range_of",
    "check_integrity",
    "decode_cost",
    "fill_buffers",
    "finish_get",
    "get_item",
    "iget",
    "refetch",
]
