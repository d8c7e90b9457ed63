"""Type aliases of the public API (the same names as ``cloudfiles.typing`` in cloud-files)."""

from collections.abc import Iterable
from typing import IO, Any, TypedDict, TypeVar, Union

__all__ = [
    "CompressType",
    "CompressionLevel",
    "GetPathDict",
    "GetPathScalarType",
    "GetPathType",
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
