"""Type stubs for the compiled `cloudfiles._gzip` extension: gzip (RFC 1952): libdeflate for whole buffers, zlib inflate for streams."""

from typing_extensions import Buffer, Self, disjoint_base

DEFAULT_LEVEL: int
MIN_LEVEL: int
MAX_LEVEL: int
DEFAULT_MAX_SIZE: int
LIBDEFLATE_VERSION: str
ZLIB_VERSION: str

def compress(data: Buffer, level: int | None = None) -> bytes:
    """Compress ``data`` (read in place) into one gzip stream."""

def decompress(data: Buffer, *, max_size: int | None = ...) -> bytes:
    """Decompress a whole gzip stream; raises DecompressionError / DecompressedSizeError."""

@disjoint_base
class Decompressor:
    """Incremental gzip decoder; one instance must not be shared between threads."""

    def __new__(cls, *, max_size: int | None = ...) -> Self: ...
    @property
    def eof(self) -> bool: ...
    @property
    def max_size(self) -> int: ...
    @property
    def total_out(self) -> int: ...
    def decompress(self, data: Buffer) -> bytes: ...
    def finish(self) -> bytes: ...
    def flush(self) -> bytes: ...
