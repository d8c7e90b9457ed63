"""Sizes of the things a caller may hand us as content: buffers, and file objects read from their position."""

from __future__ import annotations

import os
from typing import Any


def nbytes(content: Any) -> int:
    """Length in bytes of a buffer (bytes, bytearray, memoryview of any item size, numpy array...);
    ``len()`` for anything else that has one."""
    try:
        return memoryview(content).nbytes
    except TypeError:
        return len(content)


def buffer_nbytes(content: Any) -> int:
    """Like :func:`nbytes` for bytes-like content, 0 for anything else (file objects, None): what
    transfer accounting counts before a stream has been read."""
    if isinstance(content, (bytes, bytearray)):
        return len(content)
    if isinstance(content, memoryview):
        return content.nbytes
    return 0


def remaining(fh: Any) -> int:
    """Bytes between a seekable file object's position and its end; the position is left unchanged."""
    pos = fh.tell()
    end = fh.seek(0, os.SEEK_END)
    fh.seek(pos)
    return int(end - pos)
