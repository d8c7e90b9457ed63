"""``mem://bucket/dir``: a process-global in-memory store, ``{bucket: {key: value}}``.

Encodings are key suffixes exactly like ``file://`` (``x``, ``x.gz``, ...). Values are bytes, or any
Python object when written with ``raw=True`` (returned as-is by a raw get). Fixes over cloud-files
(SPEC section 9): listing is scoped to the CloudFiles' directory, ``head`` of a missing key is None,
``subtree_size`` works, and writing one encoding removes the key's other variants.

Thread-safe: every access to the store holds one lock; reads copy nothing (bytes are immutable).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

from .. import forksafe
from ..exceptions import object_exists
from ..paths import ExtractedPath
from .base import (
    DeleteResult,
    GetItem,
    GetResult,
    HeadResult,
    InterfaceOptions,
    ListEntry,
    PutItem,
    PutResult,
    StorageInterface,
    empty_head,
)
from .file import ENCODING_SUFFIXES, strip_suffix, suffix_for

_DATA: dict[str, dict[str, Any]] = {}
_LOCK = forksafe.new_rlock()
_MISSING = object()


def clear_memory() -> None:
    """Forget every ``mem://`` object in this process."""
    with _LOCK:
        _DATA.clear()


def _stored_value(content: Any) -> Any:
    """What a put keeps: the object itself, as cloud-files' memory store did (the facade snapshots
    buffers as bytes unless ``raw=True``, where a numpy array must come back as that array)."""
    if hasattr(content, "read"):
        return bytes(content.read())
    return content


def _length(value: Any) -> int | None:
    if isinstance(value, (bytes, bytearray)):
        return len(value)
    if isinstance(value, str):
        return len(value.encode("utf8"))
    try:
        return memoryview(value).nbytes
    except TypeError:
        return None  # an arbitrary Python object has no byte size


class MemoryInterface(StorageInterface):
    """In-memory storage; one namespace per bucket, keys relative to the cloudpath's directory."""

    stores_objects = True
    in_process = True

    def __init__(self, path: ExtractedPath, options: InterfaceOptions) -> None:
        super().__init__(path, options)
        self.bucket: str = path.bucket or ""
        self.base: str = (path.path or "").strip("/")

    def _key(self, path: str) -> str:
        if not isinstance(path, str):
            raise TypeError(f"key must be a str. Got: {type(path).__name__}")
        return f"{self.base}/{path}" if self.base else path

    def _bucket(self) -> dict[str, Any]:
        data = _DATA.get(self.bucket)
        if data is None:
            with _LOCK:
                data = _DATA.setdefault(self.bucket, {})
        return data

    def _find(self, key: str) -> tuple[str | None, Any]:
        """(encoding, value) of the stored variant; value is _MISSING when absent."""
        with _LOCK:
            data = _DATA.get(self.bucket)
            if data is None:
                return None, _MISSING
            for enc, suffix in ENCODING_SUFFIXES:
                value = data.get(key + suffix, _MISSING)
                if value is not _MISSING:
                    return enc, value
        return None, _MISSING

    # -- reads -------------------------------------------------------------------------------------
    def get_files(self, items: Iterable[GetItem]) -> Iterator[GetResult]:
        for item in items:
            try:
                enc, value = self._find(self._key(item.path))
                if value is _MISSING:
                    yield GetResult(item=item)
                    continue
                if item.start is not None or item.end is not None:
                    value = value[item.start : item.end]
                yield GetResult(item=item, content=value, encoding=enc)
            except Exception as err:  # noqa: BLE001 - the failure is this item's result
                yield GetResult(item=item, error=err)

    def head_files(self, paths: Iterable[str]) -> Iterator[HeadResult]:
        for path in paths:
            enc, value = self._find(self._key(path))
            if value is _MISSING:
                yield HeadResult(path=path, head=None)
                continue
            head = empty_head()
            head["Content-Length"] = _length(value)
            head["Content-Encoding"] = enc
            yield HeadResult(path=path, head=head)

    def exists_files(self, paths: Iterable[str]) -> Iterator[tuple[str, bool, BaseException | None]]:
        for path in paths:
            yield path, self._find(self._key(path))[1] is not _MISSING, None

    def get_acl(self, path: str) -> Any:
        """Memory objects have no ACL: always None."""
        return None

    # -- writes ------------------------------------------------------------------------------------
    def put_files(self, items: Iterable[PutItem]) -> Iterator[PutResult]:
        for item in items:
            try:
                key = self._key(item.path)
                stored = key + suffix_for(item.encoding)
                value = _stored_value(item.content)
                data = self._bucket()
                with _LOCK:
                    # Checked and written under one lock hold: no other writer can slip in between.
                    existed = item.if_not_exists and any(key + suffix in data for _enc, suffix in ENCODING_SUFFIXES)
                    if not existed:
                        for _enc, suffix in ENCODING_SUFFIXES:
                            data.pop(key + suffix, None)
                        data[stored] = value
                if existed:
                    yield PutResult(path=item.path, error=object_exists(item.path))
                    continue
                yield PutResult(path=item.path, nbytes=_length(value) or 0)
            except Exception as err:  # noqa: BLE001 - the failure is this item's result
                yield PutResult(path=item.path, error=err)

    def delete_files(self, paths: Iterable[str]) -> Iterator[DeleteResult]:
        for path in paths:
            key = self._key(path)
            with _LOCK:
                data = _DATA.get(self.bucket)
                if data is not None:
                    for _enc, suffix in ENCODING_SUFFIXES:
                        data.pop(key + suffix, None)
            yield DeleteResult(path=path)

    def touch_files(self, paths: Iterable[str]) -> Iterator[tuple[str, BaseException | None]]:
        """Create an empty object for each missing path (memory objects have no mtime)."""
        for path in paths:
            key = self._key(path)
            data = self._bucket()
            with _LOCK:
                if not any(key + suffix in data for _enc, suffix in ENCODING_SUFFIXES):
                    data[key] = b""
            yield path, None

    # -- listing -----------------------------------------------------------------------------------
    def list_files(
        self, prefix: str, *, flat: bool, size: bool, resume_token: str | None = None
    ) -> Iterator[ListEntry]:
        """Names under ``prefix`` within this directory, sorted (resume tokens are ignored)."""
        prefix = prefix or ""
        scope = f"{self.base}/" if self.base else ""
        pdir = prefix[: prefix.rfind("/") + 1]
        with _LOCK:
            data = _DATA.get(self.bucket, {})
            snapshot = [
                (strip_suffix(key[len(scope) :])[0], value)
                for key, value in data.items()
                if key.startswith(scope)
            ]
        # Sorted by the listed name (encoding suffix stripped), as cloud-files sorts its listing.
        snapshot.sort(key=lambda kv: kv[0])
        seen: set[str] = set()
        for name, value in snapshot:
            if not name.startswith(prefix):
                continue
            rest = name[len(pdir) :]
            slash = rest.find("/")
            if flat and slash >= 0:
                entry = ListEntry(name=pdir + rest[: slash + 1])
            else:
                entry = ListEntry(name=name, size=_length(value) if size else None)
            if entry.name in seen:
                continue
            seen.add(entry.name)
            yield entry


__all__ = ["MemoryInterface", "clear_memory"]
