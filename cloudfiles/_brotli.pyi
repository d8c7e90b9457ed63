"""Type stubs for the compiled `cloudfiles._brotli` extension: brotli (RFC 7932) on libbrotlienc/libbrotlidec."""

from typing_extensions import Buffer, Self, disjoint_base

DEFAULT_LEVEL: int
MIN_LEVEL: int
MAX_LEVEL: int
DEFAULT_MAX_SIZE: int
DEFAULT_WINDOW: int
BROTLI_VERSION: str

def compress(data: Buffer, level: int | None = None, *, window: int | None = None) -> bytes:
    """Compress ``data`` (read in place) into one brotli stream."""

def decompress(data: Buffer, *, max_size: int | None = ...) -> bytes:
    """Decompress a whole brotli stream; raises DecompressionError / DecompressedSizeError."""

@disjoint_base
class Decompressor:
    """Incremental brotli decoder; one instance must not be shared between threads."""

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
