"""The upload pipeline behind ``puts``: items validated, compressed on the codec pool, stored in batch.

Items are prepared (path checked, content encoded, buffers snapshotted where the store keeps them) in
input order on the codec pool, handed to the interface as one lazy batch, and counted as they land.
One file's failure does not stop the others; the first error is raised after the batch.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

from . import codecpool, compression
from .buffers import buffer_nbytes
from .exceptions import ObjectExistsError
from .interfaces.base import PutItem, StorageInterface
from .monitoring import TransmissionMonitor
from .shapes import contiguous, item_dict, normalize_compress, snapshot


def check_batch(items: Iterable[Any], compress: Any) -> None:
    """Reject duplicate paths and unknown codecs before anything is written."""
    seen: set[str] = set()
    dupes: list[str] = []
    for file in items:
        spec = item_dict(file)
        path = spec["path"]
        if path in seen:
            dupes.append(path)
        seen.add(path)
        normalize_compress(spec.get("compress", compress))
    if dupes:
        raise ValueError(
            "Cannot write the same file multiple times in one pass. This causes a race condition. "
            "Files: " + ", ".join(sorted(set(dupes)))
        )


def prepare_put(spec: dict[str, Any], defaults: dict[str, Any], raw: bool, keep_objects: bool = False) -> PutItem:
    """Validate and (unless raw) compress one put item.

    ``keep_objects`` (mem://): ``raw=True`` content is kept as the very object given (a numpy array
    comes back as that array, as cloud-files' memory store did; CloudVolume relies on it). Otherwise
    buffers are snapshotted as bytes, so later changes to the caller's buffer do not leak in.
    """
    def pick(name: str) -> Any:
        return spec.get(name, defaults[name])

    if not isinstance(spec.get("path"), str):
        # Caught here for every scheme: gs would otherwise have formatted a number into a key.
        raise TypeError(f"a put path must be a str, got {type(spec.get('path')).__name__}")
    encoding = normalize_compress(pick("compress"))
    content = spec["content"]
    if isinstance(content, str):
        content = content.encode("utf8")
    elif (
        not isinstance(content, (bytes, bytearray)) and not hasattr(content, "read") and not (keep_objects and raw)
    ):
        content = contiguous(content)
    if not raw and encoding is not None:
        if hasattr(content, "read"):
            content = content.read()
        level = pick("compression_level")
        content = compression.compress(content, method=encoding, compress_level=level)
    if keep_objects and not raw and not isinstance(content, bytes) and not hasattr(content, "read"):
        content = snapshot(content)
    return PutItem(
        path=spec["path"],
        content=content,
        content_type=pick("content_type"),
        encoding=encoding,
        cache_control=pick("cache_control"),
        storage_class=pick("storage_class"),
        if_not_exists=bool(spec.get("if_not_exists", defaults.get("if_not_exists", False))),
    )


def exists_error(errors: list[ObjectExistsError]) -> ObjectExistsError:
    """One ObjectExistsError for every path of a batch that ``if_not_exists`` found already stored."""
    if len(errors) == 1:
        return errors[0]
    paths = sorted({p for err in errors for p in err.paths})
    shown = ", ".join(paths[:20]) + (f" ... ({len(paths) - 20} more)" if len(paths) > 20 else "")
    return ObjectExistsError(
        f"{len(paths)} paths already exist (if_not_exists=True: not overwritten; the rest were written): {shown}",
        paths=paths,
    )


def iputs(
    iface: StorageInterface,
    items: Iterable[Any],
    defaults: dict[str, Any],
    raw: bool,
    bar: Any,
    tm: TransmissionMonitor | None,
    *,
    inline: bool,
) -> int:
    """Store every item through ``iface``; the number written. ``inline`` encodes on this thread (gevent)."""
    keep_objects = iface.stores_objects

    def prepare(file: Any) -> PutItem:
        return prepare_put(item_dict(file), defaults, raw, keep_objects)

    def size_of(file: Any) -> int:
        spec = item_dict(file)
        content = spec.get("content")
        needs_codec = not raw and normalize_compress(spec.get("compress", defaults["compress"]))
        if not needs_codec:
            return 0
        return buffer_nbytes(content) if not hasattr(content, "read") else codecpool.INLINE_LIMIT

    prepared: Iterator[PutItem] = codecpool.imap_ordered(prepare, items, size_of=size_of, inline=inline)
    flights: dict[str, list[Any]] = {}
    if tm is not None:
        prepared = _recorded_puts(prepared, tm, flights)
    count = 0
    first: BaseException | None = None
    existed: list[ObjectExistsError] = []
    results = iface.put_files(prepared)
    try:
        for res in results:
            if tm is not None:
                ids = flights.get(res.path)
                if ids:
                    flight = ids.pop(0)
                    if res.error is None:
                        tm.end_io(flight, res.nbytes)
                    else:
                        tm.end_error(flight)
            if isinstance(res.error, ObjectExistsError):
                existed.append(res.error)  # if_not_exists: reported together after the batch
                continue
            if res.error is not None:
                # The other files of the batch are still written; the first error is raised after.
                first = first or res.error
                continue
            count += 1
            bar.update(1)
    finally:
        close = getattr(results, "close", None)
        if close is not None:
            close()
    if first is not None:
        raise first
    if existed:
        raise exists_error(existed)
    return count


def _recorded_puts(
    prepared: Iterator[PutItem], tm: TransmissionMonitor, flights: dict[str, list[Any]]
) -> Iterator[PutItem]:
    for item in prepared:
        flights.setdefault(item.path, []).append(tm.start_io(buffer_nbytes(item.content)))
        yield item


__all__ = ["check_batch", "exists_error", "iputs", "prepare_put"]
