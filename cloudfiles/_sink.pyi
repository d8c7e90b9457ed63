"""Type stubs for the compiled `cloudfiles._sink` extension: response sinks and request-body sources."""

from typing_extensions import Buffer, Self, disjoint_base

@disjoint_base
class BodySink:
    """Collects one response: header lines and a body written into a single preallocated buffer."""

    header_lines: list[bytes]
    content_length: int
    status: int
    accept_ranges: bool
    strong_etag: bool
    split_threshold: int
    split_requested: bool
    max_size: int
    too_large: bool
    part_mismatch: bool
    def reset(self) -> None:
        """Forget everything received (used before a retry)."""
    def allocate(self, size: int) -> None:
        """Allocate the whole-object buffer up front (parts of a split GET then fill it)."""
    def attach(self, parent: BodySink, offset: int, length: int) -> None:
        """Make this sink write a byte range of ``parent``'s buffer (a part of a split GET)."""
    @property
    def buffer(self) -> bytes | None:
        """The body buffer (``bytes``) being filled, or None before the first byte or ``allocate``."""
    @property
    def received(self) -> int:
        """Body bytes received so far."""
    def header(self, line: bytes) -> None:
        """pycurl HEADERFUNCTION."""
    def write(self, data: bytes) -> int | None:
        """pycurl WRITEFUNCTION. Returning 0 aborts the transfer (CURLE_WRITE_ERROR)."""
    def body(self) -> bytes:
        """The body as ``bytes``: the buffer itself when it was filled exactly, else a trimmed copy."""
    def complete(self) -> bool:
        """True when a known Content-Length was fully received (or a part got its whole range)."""

@disjoint_base
class BufferSource:
    """A pycurl READFUNCTION over any buffer-protocol object (bytes, bytearray, memoryview, numpy)."""

    size: int
    def __new__(cls, data: Buffer) -> Self: ...
    def rewind(self) -> None: ...
    def read(self, size: int) -> bytes: ...

def prefault(buf: bytes, offset: int = 0, length: int = -1) -> bool:
    """Fault in the pages of ``buf[offset:offset + length]`` without changing its bytes, GIL released."""

def keep_forever(obj: object) -> None:
    """Take a reference to ``obj`` that is never released, so it is never freed (not even at shutdown)."""
