"""Resumable HTTP(S) downloads to a local file through a ``.part`` file.

``dest.part`` grows in order, one verified chunk at a time, beside a small ``dest.part.json`` that
records the object's validator (ETag, else Last-Modified) and size. A restart resumes from the
``.part`` size with ``Range`` + ``If-Range``: a server whose object changed answers 200 with the whole
body instead of 206, which is detected and the download starts over. When every byte is there the
``.part`` is fsynced and renamed to the destination (with its codec suffix), so a partial download
never appears under the final name.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Iterator
from typing import Any

from . import engine
from .compression import normalize_encoding
from .interfaces.file import FileInterface, suffix_for
from .interfaces.remote import RemoteInterface, response_error
from .streaming import ObjectChangedError

CHUNK = 8 << 20
#: chunk requests in flight at once (written in order; out-of-order ones wait in memory)
WINDOW = 4
PART_SUFFIX = ".part"
META_SUFFIX = ".part.json"


def _validator(headers: dict[str, str]) -> str | None:
    etag = headers.get("etag")
    if etag and not etag.startswith("W/"):  # a weak ETag cannot validate a byte range
        return etag
    return headers.get("last-modified")


class PartDownload:
    """One object downloaded into ``final`` via ``final.part``, resuming what an earlier run left."""

    def __init__(self, iface: RemoteInterface, key: str, final: str, *, chunk: int | None = None, window: int | None = None) -> None:
        self.iface = iface
        self.key = key
        self.final = final
        self.chunk = CHUNK if chunk is None else chunk
        self.window = WINDOW if window is None else window
        self.url: str = iface.url(key)  # type: ignore[attr-defined]
        self.headers: list[str] = list(getattr(iface, "auth_headers", []))

    def _head(self) -> engine.Response:
        req = engine.Request("HEAD", self.url, [*self.headers, "Accept-Encoding: identity"])
        return self.iface.run_one(req)

    def run(self) -> int | None:
        """Download (or finish) the object. Returns its size, or None when the server has no such object."""
        head = self._head()
        if head.error is None and head.status in (403, 404):
            return None
        if not head.ok:
            raise response_error(head)
        size = int(head.headers.get("content-length", "-1"))
        validator = _validator(head.headers)
        encoding = head.headers.get("content-encoding")
        part = self.final + PART_SUFFIX
        meta_path = self.final + META_SUFFIX
        state = {"url": self.url, "validator": validator, "size": size}
        have = self._resumable_bytes(part, meta_path, state)
        if have == 0:
            os.makedirs(os.path.dirname(part) or ".", exist_ok=True)
            with open(part, "wb"):
                pass
            with open(meta_path, "w") as fh:
                json.dump(state, fh)
        if size < 0 or validator is None:
            have = 0  # nothing to resume against: fetch the whole body in one go
            self._whole(part)
        else:
            self._append_chunks(part, have, size, validator)
        done = os.path.getsize(part)
        if size >= 0 and done != size:
            raise ObjectChangedError(f"{self.url}: downloaded {done} bytes, expected {size}")
        with open(part, "rb+") as fh:
            os.fsync(fh.fileno())
        target = self.final + suffix_for(normalize_encoding(encoding))
        os.replace(part, target)
        if os.path.exists(meta_path):
            os.unlink(meta_path)
        return done

    @staticmethod
    def _resumable_bytes(part: str, meta_path: str, state: dict[str, Any]) -> int:
        """Bytes of ``part`` that belong to the same object version; 0 means start over."""
        try:
            with open(meta_path) as fh:
                saved = json.load(fh)
            have = os.path.getsize(part)
        except (OSError, ValueError):
            return 0
        if saved != state or have > int(state["size"]):
            return 0
        return have

    def _whole(self, part: str) -> None:
        req = engine.Request("GET", self.url, [*self.headers, "Accept-Encoding: identity"])
        resp = self.iface.run_one(req)
        if not resp.ok:
            raise response_error(resp)
        with open(part, "wb") as fh:
            fh.write(resp.body)

    def _append_chunks(self, part: str, have: int, size: int, validator: str) -> None:
        def requests() -> Iterator[engine.Request]:
            for start in range(have, size, self.chunk):
                end = min(size, start + self.chunk)
                headers = [*self.headers, "Accept-Encoding: identity", f"Range: bytes={start}-{end - 1}",
                           f"If-Range: {validator}"]
                # max_size: a changed object answers 200 with its whole body; do not buffer it.
                yield engine.Request("GET", self.url, headers, context=(start, end), max_size=end - start,
                                     options=self.iface.curl_options)

        pending: dict[int, bytes] = {}
        with open(part, "r+b") as out:
            out.seek(have)
            pos = have
            stream = engine.transfer(requests(), concurrency=self.window, retry=self.iface.retry,
                                     timeout=self.iface.timeout)
            for resp in stream:
                start, end = resp.context
                if resp.status == 200:
                    raise ObjectChangedError(f"{self.url} changed during the download (answered 200 to If-Range)")
                if not resp.ok or resp.status != 206:
                    raise response_error(resp)
                if len(resp.body) != end - start:
                    raise ObjectChangedError(f"{self.url}: range {start}-{end} came back as {len(resp.body)} bytes")
                pending[start] = bytes(resp.body)
                while pos in pending:  # append in order only: the .part is always a valid prefix
                    data = pending.pop(pos)
                    out.write(data)
                    out.flush()
                    pos += len(data)


def resumes(src: Any, dest: Any) -> bool:
    """Can :func:`download_files` serve this pair: an http(s) source and a file:// destination?"""
    return isinstance(src, RemoteInterface) and src.path.protocol in ("http", "https") and isinstance(dest, FileInterface)


def download_files(
    src: Any, dest: Any, pairs: Iterable[tuple[str, str]], *, allow_missing: bool, bar: Any
) -> None:
    """Resumable download of each ``(src name, dest name)`` from an http(s) interface to a file one.

    An object that changed since its ``.part`` was started is downloaded again from the beginning (once).
    """
    if not isinstance(dest, FileInterface):
        raise TypeError("resumable downloads write to file://")
    for src_key, dest_key in pairs:
        final = dest.fullpath(dest_key)
        job = PartDownload(src, src_key, final)
        try:
            found = job.run()
        except ObjectChangedError:
            for leftover in (final + PART_SUFFIX, final + META_SUFFIX):
                if os.path.exists(leftover):
                    os.unlink(leftover)
            found = job.run()
        if found is None:
            if not allow_missing:
                raise FileNotFoundError(f"{src_key} does not exist in the source")
            FileInterface.write_atomic(final, b"")
        bar.update(1)


__all__ = ["CHUNK", "META_SUFFIX", "PART_SUFFIX", "ObjectChangedError", "PartDownload", "download_files", "resumes"]
