"""Type stubs for the compiled `cloudfiles._sink` extension: response sinks and request-body sources."""

from collections.abc import Callable

from typing_extensions import Buffer, Self, disjoint_base

@disjoint_base
class BodySink:
    """Collects one response (header lines and body) from libcurl's C callbacks, or from Python."""

    @property
    def header_lines(self) -> list[bytes]:
        """The header lines received after the status line (raw ``bytes``, line endings kept)."""
    @property
    def content_length(self) -> int: ...
    @property
    def status(self) -> int: ...
    @property
    def accept_ranges(self) -> bool: ...
    @property
    def strong_etag(self) -> bool: ...
    @property
    def split_threshold(self) -> int: ...
    @split_threshold.setter
    def split_threshold(self, value: int) -> None: ...
    @property
    def split_requested(self) -> bool: ...
    @property
    def max_size(self) -> int: ...
    @max_size.setter
    def max_size(self, value: int) -> None: ...
    @property
    def too_large(self) -> bool: ...
    @property
    def part_mismatch(self) -> bool: ...
    @property
    def alloc_failed(self) -> bool:
        """No memory could be had for the body (the transfer was aborted)."""
    def attach_to(self, curl: object) -> None:
        """Make libcurl hand ``curl``'s (a pycurl.Curl) header lines and body to this sink directly."""
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
        """pycurl HEADERFUNCTION (and tests): one header line."""
    def write(self, data: bytes) -> int | None:
        """pycurl WRITEFUNCTION (and tests). Returning 0 aborts the transfer (CURLE_WRITE_ERROR)."""
    def header_value(self, name: bytes) -> str | None:
        """Value of header ``name`` (lower-case bytes) among the received lines (the first wins), or None."""
    def pick_headers(self, wanted: dict[bytes, str]) -> dict[str, str]:
        """:func:`pick_headers` over the received lines, read in place (no list of lines is built)."""
    def take_body(self) -> bytes:
        """The body, after which this sink holds no body memory (its header lines stay)."""
    def body(self) -> bytes:
        """The body as ``bytes``: the buffer itself when it was filled exactly, else a trimmed copy."""
    def complete(self) -> bool:
        """True when a known Content-Length was fully received (or a part got its whole range)."""

@disjoint_base
class BufferSource:
    """A request body read from any buffer-protocol object by libcurl directly, or through ``read``."""

    def __new__(cls, data: Buffer) -> Self: ...
    @property
    def size(self) -> int: ...
    def rewind(self) -> None: ...
    def attach_to(self, curl: object) -> None:
        """Make libcurl read ``curl``'s upload body from this source directly (kept alive by the caller)."""
    def read(self, size: int) -> bytes: ...

@disjoint_base
class FileSource:
    """A request body read from a binary file object's ``read``, which libcurl calls through C."""

    error: BaseException | None
    def __new__(cls, read: Callable[[int], bytes]) -> Self: ...
    def attach_to(self, curl: object) -> None:
        """Make libcurl read ``curl``'s upload body through this source (kept alive by the caller)."""

def header_value(lines: list[bytes], name: bytes) -> str | None:
    """Value of header ``name`` (lower-case bytes) in raw header lines (the first line wins), or None."""

def pick_headers(lines: list[bytes], wanted: dict[bytes, str]) -> dict[str, str]:
    """``{wanted[name]: value}`` for the lines whose lower-cased name is a key of ``wanted``."""

def prefault(buf: bytes, offset: int = 0, length: int = -1) -> bool:
    """Fault in the pages of ``buf[offset:offset + length]`` without changing its bytes, GIL released."""

def keep_forever(obj: object) -> None:
    """Take a reference to ``obj`` that is never released, so it is never freed (not even at shutdown)."""
