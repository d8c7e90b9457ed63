"""Compression names and codecs, compatible with ``cloudfiles.compression`` from cloud-files.

Encodings are named as cloud-files names them (``None``/``False``/``''``, ``True``/``'gzip'``, ``'br'``,
``'zstd'``, ``'bz2'``/``'bzip2'``, ``'xz'``/``'lzma'``) and map to codecs:

=========  ==========================================  =============  ==========
encoding   codec                                       default level  suffix
=========  ==========================================  =============  ==========
gzip       :mod:`cloudfiles._gzip` (libdeflate, zlib)  9              ``.gz``
br         :mod:`cloudfiles._brotli` (libbrotli)       quality 5      ``.br``
zstd       :mod:`cloudfiles._zstd` (libzstd)           3              ``.zstd``
bz2        stdlib :mod:`bz2`                           9              ``.bz2``
xz         stdlib :mod:`lzma`                          preset 6       ``.xz``
=========  ==========================================  =============  ==========

Every codec call releases the GIL on large inputs, so threads decode in parallel. Every decompression
takes ``max_size`` (default :data:`DEFAULT_MAX_SIZE`, ``None`` for no limit) and raises
:class:`~cloudfiles.exceptions.DecompressedSizeError` instead of producing more. Corrupt or truncated data
raises :class:`~cloudfiles.exceptions.DecompressionError`; an unknown encoding raises
:class:`~cloudfiles.exceptions.UnsupportedCompressionType` (a ``ValueError``).

Streamed bodies are decoded with :func:`decompressor`, which returns an object with ``decompress(chunk)``,
``finish()`` and ``eof``. Such an object must not be used from two threads at once.
"""

from __future__ import annotations

import bz2
import lzma
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import TYPE_CHECKING, Any, Protocol, cast

from . import _brotli, _gzip, _zstd
from .buffers import nbytes as _nbytes  # private alias: not a cloudfiles.compression name
from .exceptions import (
    CompressionError,
    DecompressedSizeError,
    DecompressionError,
    UnsupportedCompressionType,
)
from .lib import toiter

if TYPE_CHECKING:
    from typing_extensions import Buffer

    Content = Buffer | str

__all__ = [
    "COMPRESSION_TYPES",
    "CONTENT_ENCODINGS",
    "DEFAULT_LEVELS",
    "DEFAULT_MAX_SIZE",
    "ENCODINGS",
    "FILE_SUFFIXES",
    "SUFFIX_ENCODINGS",
    "CompressionError",
    "DecompressionError",
    "StreamDecompressor",
    "brotli_compress",
    "brotli_decompress",
    "bz2_compress",
    "bz2_decompress",
    "compress",
    "decompress",
    "decompressor",
    "encoding_from_suffix",
    "encoding_header",
    "gunzip",
    "gzip_compress",
    "normalize_encoding",
    "toiter",
    "transcode",
    "xz_compress",
    "xz_decompress",
    "zstd_compress",
    "zstd_decompress",
]

#: Every ``compress=`` value cloud-files accepts (same list, same order).
COMPRESSION_TYPES: list[Any] = [None, False, True, "", "bz2", "bzip2", "gzip", "br", "zstd", "xz", "lzma"]

#: Canonical encoding names, as :func:`normalize_encoding` returns them.
ENCODINGS: tuple[str, ...] = ("gzip", "br", "zstd", "bz2", "xz")

#: Decompressed-size guard used when no ``max_size`` is given: 4 GiB.
DEFAULT_MAX_SIZE = 4 * 1024**3

#: Level used when ``compress_level`` is None (cloud-files' defaults).
DEFAULT_LEVELS: dict[str, int] = {"gzip": 9, "br": 5, "zstd": 3, "bz2": 9, "xz": 6}

#: Filename suffix that marks an encoding on the file and mem schemes.
FILE_SUFFIXES: dict[str | None, str] = {
    None: "",
    "gzip": ".gz",
    "br": ".br",
    "zstd": ".zstd",
    "bz2": ".bz2",
    "xz": ".xz",
}

#: Suffix -> encoding (the inverse of :data:`FILE_SUFFIXES`, without identity).
SUFFIX_ENCODINGS: dict[str, str] = {suffix: enc for enc, suffix in FILE_SUFFIXES.items() if enc}

#: ``Content-Encoding`` stored per service and encoding. Only bz2 differs: cloud-files labels it
#: ``bz2`` on GCS but ``bzip2`` on S3; everything else is stored under its canonical name.
CONTENT_ENCODINGS: dict[str, dict[str, str]] = {
    "gs": {"gzip": "gzip", "br": "br", "zstd": "zstd", "bz2": "bz2", "xz": "xz"},
    "s3": {"gzip": "gzip", "br": "br", "zstd": "zstd", "bz2": "bzip2", "xz": "xz"},
}

# Accepted spellings (lowercased, stripped) -> canonical name; None is identity.
_ALIASES: dict[str, str | None] = {
    "": None,
    "identity": None,
    "none": None,
    "gzip": "gzip",
    "x-gzip": "gzip",
    "br": "br",
    "zstd": "zstd",
    "bz2": "bz2",
    "bzip2": "bz2",
    "xz": "xz",
    "lzma": "xz",
}
# Content-Encoding tokens that describe transfer framing, not the stored bytes (S3 adds aws-chunked).
_TRANSPARENT_TOKENS = frozenset({"aws-chunked", "identity"})


def normalize_encoding(encoding: Any) -> str | None:
    """Return the canonical encoding name for ``encoding``, or None for no compression.

    ``None``/``False``/``''``/``0``/``'identity'`` -> None; ``True``/``1``/``'gzip'`` -> ``'gzip'``;
    ``'bzip2'`` -> ``'bz2'``; ``'lzma'`` -> ``'xz'``; names are case-insensitive. A comma-separated
    ``Content-Encoding`` value is accepted when it names at most one codec besides ``aws-chunked``
    (which S3 may add). Anything else raises :class:`UnsupportedCompressionType`.
    """
    if encoding is None or encoding is False:
        return None
    if encoding is True:
        return "gzip"
    if isinstance(encoding, int) and not isinstance(encoding, bool):
        if encoding == 0:
            return None
        if encoding == 1:
            return "gzip"
        raise UnsupportedCompressionType(f"unsupported compression type: {encoding!r}")
    if isinstance(encoding, bytes):
        encoding = encoding.decode("latin-1")
    if not isinstance(encoding, str):
        raise UnsupportedCompressionType(f"unsupported compression type: {encoding!r}")
    value = encoding.strip().lower()
    if value in _ALIASES:
        return _ALIASES[value]
    if "," in value:
        tokens = [t.strip() for t in value.split(",")]
        codecs = [t for t in tokens if t and t not in _TRANSPARENT_TOKENS]
        if not codecs:
            return None
        if len(codecs) == 1 and codecs[0] in _ALIASES:
            return _ALIASES[codecs[0]]
    if value == "aws-chunked":
        return None
    raise UnsupportedCompressionType(
        f"unsupported compression type: {encoding!r}. Supported: None, gzip, br, zstd, bz2 (bzip2), xz (lzma)"
    )


def encoding_header(encoding: Any, service: str = "gs") -> str | None:
    """The ``Content-Encoding`` value to store for ``encoding`` on ``service`` (``'gs'``, ``'s3'``, ...).

    Returns None for identity. Services other than s3 use the gs names.
    """
    enc = normalize_encoding(encoding)
    if enc is None:
        return None
    return CONTENT_ENCODINGS.get(service, CONTENT_ENCODINGS["gs"])[enc]


def encoding_from_suffix(path: str) -> str | None:
    """The encoding a file/mem path's suffix stands for (``'x.gz'`` -> ``'gzip'``), or None."""
    for suffix, enc in SUFFIX_ENCODINGS.items():
        if path.endswith(suffix):
            return enc
    return None


def _as_bytes_like(content: Any) -> Any:
    if isinstance(content, str):
        return content.encode("utf8")
    return content


def _check_max_size(max_size: int | None) -> int | None:
    if max_size is not None and max_size < 0:
        raise ValueError(f"max_size must be >= 0, got {max_size}")
    return max_size


# -- per-codec helpers (cloud-files names) ---------------------------------------------------------------


def gzip_compress(content: Content, compresslevel: int | None = None) -> bytes:
    """gzip ``content`` with libdeflate (levels 0-12; default 9; -1 is zlib's default level, 6)."""
    if compresslevel == -1:  # accepted by cloud-files (its libdeflate binding took -1 for 6)
        compresslevel = 6
    return _gzip.compress(_as_bytes_like(content), compresslevel)


def gunzip(content: Buffer, *, max_size: int | None = DEFAULT_MAX_SIZE) -> bytes:
    """Decompress gzip data (one or more members). Raises DecompressionError if it is not gzip."""
    return _gzip.decompress(content, max_size=max_size)


def brotli_compress(content: Content, quality: int | None = None) -> bytes:
    """brotli-compress ``content`` (quality 0-11; default 5)."""
    return _brotli.compress(_as_bytes_like(content), quality)


def brotli_decompress(content: Buffer, *, max_size: int | None = DEFAULT_MAX_SIZE) -> bytes:
    """Decompress one brotli stream."""
    return _brotli.decompress(content, max_size=max_size)


def zstd_compress(content: Content, level: int | None = None) -> bytes:
    """zstd-compress ``content`` into one frame that records its size (default level 3)."""
    return _zstd.compress(_as_bytes_like(content), level)


def zstd_decompress(content: Buffer, *, max_size: int | None = DEFAULT_MAX_SIZE) -> bytes:
    """Decompress zstd data (any number of frames, with or without recorded sizes)."""
    return _zstd.decompress(content, max_size=max_size)


def bz2_compress(content: Content, compresslevel: int | None = None) -> bytes:
    """bzip2-compress ``content`` with the stdlib (levels 1-9; default 9)."""
    level = DEFAULT_LEVELS["bz2"] if compresslevel is None else compresslevel
    if isinstance(level, bool) or not 1 <= level <= 9:
        raise ValueError(f"bz2 level must be in 1..9, got {compresslevel!r}")
    return bz2.compress(_as_bytes_like(content), compresslevel=level)


def bz2_decompress(content: Buffer, *, max_size: int | None = DEFAULT_MAX_SIZE) -> bytes:
    """Decompress bzip2 data (concatenated streams allowed)."""
    return _whole(_Bz2Stream(max_size), content)


def xz_compress(content: Content, preset: int | None = None) -> bytes:
    """xz-compress ``content`` with the stdlib (presets 0-9, optionally ``| lzma.PRESET_EXTREME``; default 6)."""
    if preset is not None and (
        isinstance(preset, bool) or not 0 <= (preset & ~lzma.PRESET_EXTREME) <= 9 or preset < 0
    ):
        raise ValueError(f"xz preset must be in 0..9 (optionally | lzma.PRESET_EXTREME), got {preset!r}")
    try:
        return lzma.compress(_as_bytes_like(content), preset=preset)
    except lzma.LZMAError as err:
        raise CompressionError(f"xz compression failed: {err}") from err


def xz_decompress(content: Buffer, *, max_size: int | None = DEFAULT_MAX_SIZE) -> bytes:
    """Decompress xz (or legacy .lzma) data; concatenated streams and stream padding allowed."""
    return _whole(_XzStream(max_size), content)


# -- streaming ---------------------------------------------------------------------------------------------


class StreamDecompressor(Protocol):
    """What :func:`decompressor` returns: feed chunks, then ``finish()`` to check the stream ended."""

    def decompress(self, data: Buffer) -> bytes:
        """Consume ``data`` entirely and return the bytes it decoded."""
        ...

    def finish(self) -> bytes:
        """Return any remaining output; raise DecompressionError if the stream is truncated."""
        ...

    def flush(self) -> bytes:
        """Alias of :meth:`finish`."""
        ...

    @property
    def eof(self) -> bool:
        """True when the input so far ends at a stream (or member/frame) boundary."""
        ...


class _Identity:
    """Pass-through 'decompressor' for unencoded bodies (still honours max_size)."""

    def __init__(self, max_size: int | None = DEFAULT_MAX_SIZE) -> None:
        self._max_size = _check_max_size(max_size)
        self._total = 0

    def decompress(self, data: Buffer) -> bytes:
        out = data if isinstance(data, bytes) else bytes(data)
        self._total += len(out)
        if self._max_size is not None and self._total > self._max_size:
            raise DecompressedSizeError(f"body is larger than max_size={self._max_size} bytes")
        return out

    def finish(self) -> bytes:
        return b""

    def flush(self) -> bytes:
        return b""

    @property
    def eof(self) -> bool:
        return True


class _StdlibStream:
    """Chunked decoding on a stdlib decompressor object (bz2/lzma) with a max-size guard.

    The stdlib objects decode one stream each; a new one is started for each concatenated stream.
    Output per call is bounded with ``max_length`` so a bomb stops after ``max_size`` + 1 bytes.
    """

    name = ""
    _errors: tuple[type[BaseException], ...] = (OSError, EOFError, ValueError)

    def __init__(self, max_size: int | None = DEFAULT_MAX_SIZE) -> None:
        self._max_size = _check_max_size(max_size)
        self._total = 0
        self._d: Any = None  # the current stream's stdlib decompressor; None between streams
        self._streams = 0
        self._fed = False
        self._finished = False

    def _new(self) -> Any:
        raise NotImplementedError

    def _skip_padding(self, data: bytes) -> bytes:
        return data

    @property
    def eof(self) -> bool:
        return self._streams > 0 and self._d is None

    def decompress(self, data: Buffer) -> bytes:
        if self._finished:
            raise DecompressionError("decompress() called after finish()")
        pending = bytes(data)
        if not pending:
            return b""
        self._fed = True
        parts: list[bytes] = []
        try:
            while True:
                if self._d is None:
                    pending = self._skip_padding(pending)
                    if not pending:
                        break
                    self._d = self._new()
                budget = -1
                if self._max_size is not None:
                    budget = self._max_size - self._total + 1
                out = self._d.decompress(pending, budget)
                pending = b""
                if out:
                    self._total += len(out)
                    if self._max_size is not None and self._total > self._max_size:
                        raise DecompressedSizeError(
                            f"{self.name} data decompresses to more than max_size={self._max_size} bytes"
                        )
                    parts.append(out)
                if self._d.eof:
                    pending = self._d.unused_data
                    self._d = None
                    self._streams += 1
                    continue
                if self._d.needs_input:
                    break
        except DecompressionError:
            raise
        except self._errors as err:
            raise DecompressionError(f"corrupt {self.name} data: {err}") from err
        return b"".join(parts)

    def finish(self) -> bytes:
        if not self._finished:
            self._finished = True
            if not self._fed:
                raise DecompressionError(f"truncated {self.name} stream: no data")
            if self._d is not None or self._streams == 0:
                raise DecompressionError(f"truncated {self.name} stream: input ended inside a stream")
        return b""

    def flush(self) -> bytes:
        return self.finish()


class _Bz2Stream(_StdlibStream):
    name = "bz2"

    def _new(self) -> Any:
        return bz2.BZ2Decompressor()


class _XzStream(_StdlibStream):
    name = "xz"
    _errors = (lzma.LZMAError, EOFError, ValueError, OSError)

    def _new(self) -> Any:
        return lzma.LZMADecompressor(format=lzma.FORMAT_AUTO)

    def _skip_padding(self, data: bytes) -> bytes:
        # xz allows zero padding between and after concatenated streams.
        return data.lstrip(b"\x00")


def _whole(stream: _StdlibStream, content: Buffer) -> bytes:
    out = stream.decompress(content)
    stream.finish()
    return out


_STREAMS: dict[str | None, Callable[..., StreamDecompressor]] = {
    None: _Identity,
    "gzip": _gzip.Decompressor,
    "br": _brotli.Decompressor,
    "zstd": _zstd.Decompressor,
    "bz2": _Bz2Stream,
    "xz": _XzStream,
}


def decompressor(encoding: Any, max_size: int | None = DEFAULT_MAX_SIZE) -> StreamDecompressor:
    """A streaming decoder for ``encoding`` (None gives a pass-through that still enforces max_size)."""
    return _STREAMS[normalize_encoding(encoding)](max_size=max_size)


# -- the cloud-files entry points --------------------------------------------------------------------------

_COMPRESSORS: dict[str, Callable[[Any, Any], bytes]] = {
    "gzip": gzip_compress,
    "br": brotli_compress,
    "zstd": zstd_compress,
    "bz2": bz2_compress,
    "xz": xz_compress,
}

_DECOMPRESSORS: dict[str, Callable[..., bytes]] = {
    "gzip": gunzip,
    "br": brotli_decompress,
    "zstd": zstd_decompress,
    "bz2": bz2_decompress,
    "xz": xz_decompress,
}


def compress(content: Any, method: Any = "gzip", compress_level: int | None = None) -> Any:
    """Compress ``content`` with ``method`` (any :data:`COMPRESSION_TYPES` value).

    A ``str`` is encoded as UTF-8 first. With no method (None/False/'') ``content`` is returned unchanged.
    ``compress_level`` is the gzip level, brotli quality, zstd level, bz2 level or xz preset; None
    picks the default in :data:`DEFAULT_LEVELS`. Raises UnsupportedCompressionType for an unknown method
    and ValueError for a level the codec does not accept.
    """
    encoding = normalize_encoding(method)
    if encoding is None:
        return content
    return _COMPRESSORS[encoding](content, compress_level)


def decompress(
    content: Any, encoding: Any, filename: str = "N/A", *, max_size: int | None = DEFAULT_MAX_SIZE
) -> Any:
    """Decompress ``content`` stored under ``encoding`` (a COMPRESSION_TYPES value or Content-Encoding).

    With no encoding ``content`` is returned unchanged. An empty body with an encoding, data that is not
    in the encoding (gzip must start with ``1f8b``), and corrupt or truncated data raise
    DecompressionError, naming ``filename``; more than ``max_size`` bytes of output raises
    DecompressedSizeError. An unknown encoding raises UnsupportedCompressionType.
    """
    enc = normalize_encoding(encoding)
    if enc is None:
        return content
    if content is None or _nbytes(content) == 0:
        raise DecompressionError(f"File contains zero bytes: {filename}")
    try:
        return _DECOMPRESSORS[enc](content, max_size=max_size)
    except DecompressionError as err:
        if filename == "N/A":
            raise
        raise type(err)(f"{filename}: {err}") from err


# -- transcode ---------------------------------------------------------------------------------------------


def _iter_files(files: Any) -> Iterable[Any]:
    if isinstance(files, Mapping):
        return [files]
    if isinstance(files, tuple) and len(files) == 2 and isinstance(files[0], str):
        return [files]
    return cast("Iterable[Any]", files)


def transcode(
    files: Any,
    encoding: Any,
    level: int | None = None,
    progress: bool | str = False,
    in_place: bool = False,
) -> Iterator[dict[str, Any]]:
    """Re-encode get()-style results into ``encoding``, lazily.

    ``files`` is one or many dicts (``{'path', 'content', 'raw', 'compress', ...}``) or
    ``(path, content)`` tuples (plain content). Raw items (``raw=True``) are decoded from their
    ``compress`` encoding first, unless it already equals ``encoding``, in which case they pass through
    untouched. Yields dicts with ``raw=True`` and ``compress`` set to the normalized ``encoding``;
    items whose content is None pass through. ``in_place=True`` updates the given dicts instead of
    copies. ``progress`` shows a tqdm bar (a str is used as its description).
    """
    target = normalize_encoding(encoding)
    items = _iter_files(files)
    if progress:
        from tqdm import tqdm

        desc = progress if isinstance(progress, str) else "Transcoding"
        items = tqdm(items, desc=desc)
    for item in items:
        if isinstance(item, tuple):
            f: dict[str, Any] = {"path": item[0], "content": item[1], "compress": None, "raw": False}
        else:
            f = item if in_place else dict(item)
        content = f.get("content")
        if content is None:
            yield f
            continue
        raw = bool(f.get("raw", False))
        source = normalize_encoding(f.get("compress")) if raw else None
        if raw and source == target:
            f["compress"] = target
            yield f
            continue
        if raw and source is not None:
            content = decompress(content, source, f.get("path", "N/A"))
        f["content"] = compress(content, target, level) if target is not None else content
        f["raw"] = True
        f["compress"] = target
        yield f
