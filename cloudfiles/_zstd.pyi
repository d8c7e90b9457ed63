"""Type stubs for the compiled `cloudfiles._zstd` extension: Zstandard (RFC 8878) on libzstd."""

from typing_extensions import Buffer, Self, disjoint_base

DEFAULT_LEVEL: int
MIN_LEVEL: int
MAX_LEVEL: int
DEFAULT_MAX_SIZE: int
ZSTD_VERSION: str

def compress(data: Buffer, level: int | None = None, *, checksum: bool = True) -> bytes:
    """Compress ``data`` (read in place) into one zstd stream."""

def decompress(data: Buffer, *, max_size: int | None = ...) -> bytes:
    """Decompress a whole zstd stream; raises DecompressionError / DecompressedSizeError."""

@disjoint_base
class Decompressor:
    """Incremental zstd decoder; one instance must not be shared between threads."""

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
