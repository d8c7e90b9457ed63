"""What the engine is asked and what it answers: :class:`Request` and :class:`Response`, and the raw
header-line lookups both the engine and the response use (no parsing of every header per request)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ._sink import BodySink, pick_headers
from ._sink import header_value as header_value  # raw header-line lookups, in C
from .exceptions import CloudFilesError, TransportError


class Request:
    """One HTTP request for the engine. ``context`` is carried to the Response untouched."""

    __slots__ = (
        "body",
        "body_size",
        "byte_range",
        "context",
        "headers",
        "max_size",
        "method",
        "on_part",
        "options",
        "resign",
        "signing",
        "split",
        "url",
    )

    def __init__(
        self,
        method: str,
        url: str,
        headers: list[str] | None = None,
        body: Any = None,
        *,
        body_size: int | None = None,
        context: Any = None,
        split: bool = False,
        max_size: int = -1,
        options: tuple[tuple[int, Any], ...] = (),
        byte_range: tuple[int | None, int | None] | None = None,
        resign: Callable[[Request, list[tuple[str, str]]], list[str]] | None = None,
        signing: Any = None,
        on_part: Callable[[list[bytes], bytes, int, int], None] | None = None,
    ) -> None:
        self.method = method
        self.url = url
        #: "Name: value" strings, sent as given
        self.headers = headers if headers is not None else []
        #: None, a buffer (bytes, bytearray, memoryview, numpy array) or a readable binary file
        self.body = body
        #: bytes to send from a file body (default: from its position to its end)
        self.body_size = body_size
        self.context = context
        #: whole-object GET that may be fetched as parallel ranged parts when large
        self.split = split
        #: refuse bodies longer than this (-1: no limit)
        self.max_size = max_size
        #: extra ``(pycurl option, value)`` pairs (redirects, CA bundle): a scheme's transport settings,
        #: one shared tuple per interface, so a kept handle is reconfigured only when they differ
        self.options = options
        #: the [start, end) of a ranged GET (Python slice bounds; a negative start with no end is a suffix).
        #: The Range header is the caller's; the engine checks a 206's Content-Range against this, and
        #: cuts it out of a 200 (a server that ignores Range sends the whole object).
        self.byte_range = byte_range
        #: ``resign(request, extra)``: every header line of ``request`` freshly signed, with ``extra`` (a
        #: split part's Range and If-Match) added. Called for each retry, each part of a split GET and a
        #: re-fetch, never for the first try (whose headers were signed when the request was built): a
        #: signature expires, credentials rotate. ``signing`` is the signer's own state, kept here for it.
        self.resign = resign
        self.signing = signing
        #: ``on_part(header_lines, buffer, start, end)``: called by the engine when a part of a split GET
        #: has arrived whole and checked, its bytes final in ``buffer[start:end]`` (the one buffer all
        #: parts fill; ``header_lines``: the first response's). Lets a caller hash parts while the others
        #: are still in flight. Runs in the engine's loop: must be quick and must not raise.
        self.on_part = on_part

    def __repr__(self) -> str:
        return f"Request({self.method} {self.url})"


class Response:
    """The outcome of one Request: a status and body, or a transport ``error`` (after retries).

    The header lines are given as a list, or as the :class:`~cloudfiles._sink.BodySink` that received
    them: then the list is built only if asked for, and :meth:`header` looks in the raw lines in C.
    """

    __slots__ = ("_headers", "_lines", "attempts", "body", "end", "error", "request", "start", "status")

    def __init__(
        self,
        request: Request,
        status: int,
        body: bytes,
        header_lines: list[bytes] | BodySink,
        error: TransportError | CloudFilesError | None,
        attempts: int,
        start: float,
        end: float,
    ) -> None:
        self.request = request
        self.status = status
        self.body = body
        self._lines = header_lines
        self.error = error
        self.attempts = attempts
        self.start = start
        self.end = end
        self._headers: dict[str, str] | None = None

    @property
    def header_lines(self) -> list[bytes]:
        """The raw header lines after the status line (line endings kept)."""
        lines = self._lines
        if isinstance(lines, list):
            return lines
        built = self._lines = lines.header_lines
        return built

    @property
    def context(self) -> Any:
        return self.request.context

    @property
    def headers(self) -> dict[str, str]:
        """Response headers, names lower-cased (parsed on first use only)."""
        if self._headers is None:
            parsed: dict[str, str] = {}
            for raw in self.header_lines:
                line = raw.decode("latin-1")
                name, sep, value = line.partition(":")
                if sep:
                    key = name.strip().lower()
                    value = value.strip()
                    # Repeated headers (e.g. x-goog-hash) are joined as HTTP allows.
                    parsed[key] = f"{parsed[key]},{value}" if key in parsed else value
            self._headers = parsed
        return self._headers

    def header(self, name: str) -> str | None:
        """One header's value; scans the raw lines unless the full dict was already parsed."""
        if self._headers is not None:
            return self._headers.get(name.lower())
        lines = self._lines
        if isinstance(lines, list):
            return header_value(lines, name.lower().encode("latin-1"))
        return lines.header_value(name.lower().encode("latin-1"))

    def pick_headers(self, wanted: dict[bytes, str]) -> dict[str, str]:
        """``{wanted[name]: value}`` of the headers named in ``wanted`` (lower-case bytes -> key), found in
        one pass over the raw lines in C (:func:`cloudfiles._sink.pick_headers`), a later line winning."""
        lines = self._lines
        if isinstance(lines, list):
            return pick_headers(lines, wanted)
        return lines.pick_headers(wanted)

    @property
    def ok(self) -> bool:
        return self.error is None and 200 <= self.status < 300

    def __repr__(self) -> str:
        return f"Response({self.request.method} {self.request.url} -> {self.status}, error={self.error!r})"


def retry_after(lines: list[bytes]) -> float | None:
    """Seconds a 429/503 asks to wait (``Retry-After`` in seconds); None when absent or an HTTP date."""
    value = header_value(lines, b"retry-after")
    if value is None:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        return None  # an HTTP date: fall back to our own backoff
