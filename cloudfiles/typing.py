"""Type aliases of the public API (the same names as ``cloudfiles.typing`` in cloud-files)."""

import datetime
from collections.abc import Iterable
from typing import IO, Any, TypedDict, TypeVar, Union

__all__ = [
    "CompressType",
    "CompressionLevel",
    "GetPathDict",
    "GetPathScalarType",
    "GetPathType",
    "GetResultDict",
    "HeadDict",
    "ParallelType",
    "PutContent",
    "PutScalarType",
    "PutType",
    "ScalarOrIterable",
    "SecretsType",
    "T",
]

T = TypeVar("T")

ScalarOrIterable = Union[T, Iterable[T]]  # noqa: UP007 - mypy rejects a TypeVar in a `|` alias
"""One item or an iterable of them (``str``/``dict`` items count as scalars)."""


class GetPathDict(TypedDict, total=False):
    """A ranged read: ``end`` is exclusive; None means open-ended."""

    path: str
    start: int | None
    end: int | None
    tags: Any


GetPathScalarType = str | GetPathDict | dict[str, Any]
"""A key, or a ``{'path', 'start', 'end', 'tags'}`` dict."""

GetPathType = ScalarOrIterable[GetPathScalarType]
"""What ``get``/``exists``/``head``/``size``/``delete`` accept."""

PutContent = bytes | bytearray | memoryview | str | IO[bytes]
"""Content of a put: a buffer, a str (UTF-8) or a readable, seekable binary file handle."""

PutScalarType = tuple[str, PutContent] | dict[str, Any]
"""``(path, content)`` or ``{'path', 'content', 'content_type', 'compress', ...}``."""

PutType = ScalarOrIterable[PutScalarType]
"""What ``puts`` accepts."""

CompressType = str | bool | None
"""``None``/``False``/``''`` (none), ``True``/``'gzip'``, ``'br'``, ``'zstd'``, ``'bz2'``, ``'xz'``..."""

CompressionLevel = int | None
"""Codec level: gzip/bz2 level, brotli quality, zstd level, lzma preset; None = codec default."""

ParallelType = int | bool
"""Process count for ``parallel=`` (0 = all cores)."""

SecretsType = str | dict[str, Any] | None
"""A secrets override: a dict, a JSON string, or None (use the secret files)."""


class GetResultDict(TypedDict):
    """One result of a multi-item ``get``: these seven keys, always, in this order."""

    path: str
    #: bytes, None when missing or failed; on mem:// a Python object put there with ``raw=True``
    content: Any
    #: ``(start, end)`` as asked (``end`` exclusive; ``(None, None)`` for the whole object)
    byte_range: tuple[int | None, int | None]
    error: BaseException | None
    #: the stored encoding as the scheme names it (None for identity or a missing object)
    compress: str | None
    raw: bool
    tags: Any


HeadDict = TypedDict(
    "HeadDict",
    {
        "Cache-Control": "str | None",
        "Content-Length": "int | None",
        "Content-Type": "str | None",
        "ETag": "str | None",
        "Last-Modified": "datetime.datetime | None",
        "Content-Md5": "str | None",
        "Content-Crc32c": "str | None",
        "Content-Encoding": "str | None",
        "Content-Disposition": "str | None",
        "Content-Language": "str | None",
        "Storage-Class": "str | None",
        "Request-Charged": "str | None",
        "Parts-Count": "int | None",
        "Component-Count": "int | None",
    },
    total=False,
)
"""Metadata of one object from ``head``. With ``consistent_shapes=True`` every key is present on every
scheme; otherwise each scheme gives the keys cloud-files 6.4.3 gave (a subset)."""
