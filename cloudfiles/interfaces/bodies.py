"""Upload bodies of the network schemes: what the engine reads a request body from.

* :class:`ChainBody`: one read-only, seekable body over buffers and file regions, streamed to the
  engine without joining them in memory. An S3 part of a file is one region read with ``os.pread`` (many
  parts of one file go out at once without sharing a file position); a GCS multipart upload is its JSON
  head, the content and its closing boundary.
* :class:`UploadSource` / :func:`upload_source`: what a caller handed to ``put`` (a buffer, a file with
  a descriptor, another readable handle), cut into parts and hashed in place.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any, NamedTuple

from ..buffers import remaining

__all__ = ["ChainBody", "FileRegion", "UploadSource", "upload_source"]

MiB = 1 << 20
#: bytes read at a time when a file region is hashed
HASH_CHUNK = 4 * MiB
#: a readable handle without a file descriptor up to this size is read into memory whole
READ_WHOLE_LIMIT = 64 * MiB


class FileRegion(NamedTuple):
    """``length`` bytes of the file behind descriptor ``fd``, from ``offset`` (read with ``os.pread``)."""

    fd: int
    offset: int
    length: int


# Kinds of piece in a ChainBody.
_BUFFER, _REGION, _HANDLE = 0, 1, 2


class ChainBody:
    """A read-only, seekable concatenation of pieces, with what the engine needs: read/tell/seek.

    A piece is a buffer (any bytes-like object), a :class:`FileRegion`, or a readable, seekable handle
    (from its current position to its end, read with seek + read).
    """

    __slots__ = ("_pieces", "_pos", "_size")

    def __init__(self, pieces: Iterable[Any]) -> None:
        # Each piece: (kind, object, offset, size).
        self._pieces: list[tuple[int, Any, int, int]] = []
        for piece in pieces:
            if isinstance(piece, FileRegion):
                self._pieces.append((_REGION, piece.fd, piece.offset, piece.length))
            elif hasattr(piece, "read"):
                self._pieces.append((_HANDLE, piece, piece.tell(), remaining(piece)))
            else:
                view = memoryview(piece).cast("B")
                self._pieces.append((_BUFFER, view, 0, view.nbytes))
        self._size = sum(p[3] for p in self._pieces)
        self._pos = 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._pos

    def seek(self, offset: int, whence: int = os.SEEK_SET) -> int:
        base = {os.SEEK_SET: 0, os.SEEK_CUR: self._pos, os.SEEK_END: self._size}[whence]
        self._pos = max(0, min(self._size, base + offset))
        return self._pos

    def read(self, n: int | None = -1) -> bytes:
        if n is None or n < 0 or n > self._size - self._pos:
            n = self._size - self._pos
        out: list[bytes] = []
        want = n
        start = 0
        for kind, obj, offset, size in self._pieces:
            if want <= 0:
                break
            pos = self._pos
            if pos < start + size:
                within = pos - start
                take = min(size - within, want)
                if kind == _BUFFER:
                    data = bytes(obj[within : within + take])
                elif kind == _REGION:
                    data = os.pread(obj, take, offset + within)
                else:
                    obj.seek(offset + within)
                    data = obj.read(take)
                if not data:
                    break  # the file is shorter than it was: end the body here
                out.append(data)
                self._pos += len(data)
                want -= len(data)
                if len(data) < take:
                    break
            start += size
        return out[0] if len(out) == 1 else b"".join(out)


def _fileno(fh: Any) -> int | None:
    try:
        fd = fh.fileno()
        os.fstat(fd)
        return int(fd)
    except (AttributeError, OSError, ValueError, TypeError):
        return None


@dataclass
class UploadSource:
    """Upload source: a buffer (``view``) or a file (``fd`` + ``offset``) or any other readable handle."""

    size: int
    view: memoryview | None = None
    fd: int | None = None
    offset: int = 0
    handle: Any = None

    def part(self, offset: int, length: int) -> Any:
        """A request body for ``[offset, offset + length)`` of this source."""
        if self.view is not None:
            return self.view[offset : offset + length]
        if self.fd is not None:
            return ChainBody((FileRegion(self.fd, self.offset + offset, length),))
        # A handle without a file descriptor: read the part now (parts are pulled in order).
        return self.handle.read(length)

    def whole(self) -> Any:
        """A request body for the whole source."""
        return self.part(0, self.size)

    def chunks(self, offset: int, length: int) -> Iterator[Any]:
        """``[offset, offset + length)`` in pieces of at most :data:`HASH_CHUNK` bytes (for hashing)."""
        if self.view is not None:
            yield self.view[offset : offset + length]
            return
        if self.fd is not None:
            end = offset + length
            while offset < end:
                data = os.pread(self.fd, min(HASH_CHUNK, end - offset), self.offset + offset)
                if not data:
                    break
                yield data
                offset += len(data)
            return
        raise TypeError("a stream without a file descriptor cannot be hashed in place")


def upload_source(content: Any) -> UploadSource:
    """The :class:`UploadSource` of ``content``: buffers as they are (cast to bytes), BytesIO as its
    buffer, files by descriptor from their position, other handles read whole up to
    :data:`READ_WHOLE_LIMIT` (else streamed as they are)."""
    if isinstance(content, (bytes, bytearray, memoryview)) or not hasattr(content, "read"):
        view = memoryview(content)
        if view.ndim != 1 or view.itemsize != 1 or not view.c_contiguous:
            view = view.cast("B") if view.c_contiguous else memoryview(view.tobytes())
        return UploadSource(size=view.nbytes, view=view)
    getbuffer = getattr(content, "getbuffer", None)
    if getbuffer is not None:  # BytesIO: its buffer, from the current position
        view = getbuffer()[content.tell():]
        return UploadSource(size=view.nbytes, view=view)
    fd = _fileno(content)
    if fd is not None:
        pos = content.tell()
        size = os.fstat(fd).st_size - pos
        return UploadSource(size=max(0, size), fd=fd, offset=pos)
    size = remaining(content)
    if size <= READ_WHOLE_LIMIT:
        view = memoryview(content.read())
        return UploadSource(size=view.nbytes, view=view)
    return UploadSource(size=size, handle=content)
