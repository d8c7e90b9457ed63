"""Is a ranged answer the range asked for? And the named error of a failed transfer.

A 206 must carry the Content-Range asked for; a split part must come from the same object (size, ETag)
as the others, else the object changed mid-download and is fetched again whole.
"""

from __future__ import annotations

from ._sink import BodySink
from .exceptions import CloudFilesError, ContentRangeError, NetworkError, RequestTimeoutError, TransportError
from .inflight import Transfer
from .messages import header_value
from .retry import TIMEOUT_CURL_CODES

#: pseudo curl code of a ranged answer that is not the asked range (retried, then ContentRangeError)
BAD_RANGE = -1


def transport_error(code: int, message: str, url: str) -> TransportError:
    """The named error of a transfer that failed with curl ``code`` (or :data:`BAD_RANGE`)."""
    if code == BAD_RANGE:
        return ContentRangeError(message, url=url)
    cls = RequestTimeoutError if code in TIMEOUT_CURL_CODES else NetworkError
    return cls(f"curl error {code}: {message}", url=url, curl_code=code)


#: the failure of a split whose object changed mid-download (412, a whole-body answer, another ETag or
#: size): never reported, the object is fetched again whole
OBJECT_CHANGED = CloudFilesError("the object changed during a split download")
#: the failure of a split whose batch was abandoned
ABANDONED = CloudFilesError("the batch was abandoned")


def content_range(lines: list[bytes]) -> tuple[int, int, int | None] | None:
    """``(first, last, total)`` of a ``Content-Range: bytes first-last/total`` header (total None for
    ``*``); None when the header is absent or not of that form."""
    value = header_value(lines, b"content-range")
    if value is None:
        return None
    unit, _, spec = value.partition(" ")
    span, _, total = spec.strip().partition("/")
    first, _, last = span.partition("-")
    if unit.lower() != "bytes":
        return None
    try:
        return int(first), int(last), None if total.strip() == "*" else int(total)
    except ValueError:
        return None


def range_problem(t: Transfer, sink: BodySink) -> str | CloudFilesError | None:
    """Why a 206 is not the range ``t`` asked for: a message, :data:`OBJECT_CHANGED` (a split part
    from another version of the object) or None when it is the asked range."""
    got = content_range(sink.header_lines)
    split = t.split
    start: int
    end: int | None
    if split is not None and t.range is not None:
        start, end = t.range
        if got is not None and got[2] is not None and got[2] != split.size:
            return OBJECT_CHANGED  # another size: another object
        if split.etag and header_value(sink.header_lines, b"etag") not in (None, split.etag):
            return OBJECT_CHANGED  # a server that ignored If-Match
    else:
        range_start, range_end = t.request.byte_range or (None, None)
        start, end = range_start or 0, range_end
    nbytes = sink.received
    if got is None:
        return "a 206 answer without a valid Content-Range"
    first, last, total = got
    if total is not None and nbytes == 0 and start >= total:
        return None  # the range starts at or past the end: nothing (some servers send 206, not 416)
    if last < first or last - first + 1 != nbytes or (total is not None and last >= total):
        return f"Content-Range bytes {first}-{last}/{total} does not describe the {nbytes} bytes received"
    if start < 0:  # a suffix: the last -start bytes
        ok = last - first + 1 <= -start if total is None else (first == max(0, total + start) and last == total - 1)
    elif first != start:
        ok = False
    elif end is None:
        ok = total is None or last == total - 1
    else:
        ok = last == end - 1 or (total is not None and last == total - 1 and total < end)
    if ok:
        return None
    asked = f"bytes={start}-" if end is None else f"bytes={start}-{end - 1}"
    if start < 0:
        asked = f"bytes={start}"
    return f"asked for {asked}, answered Content-Range bytes {first}-{last}/{'*' if total is None else total}"


class PartStatus(CloudFilesError):
    """A part of a split GET got a final non-206 status (e.g. 412: the object changed)."""

    def __init__(self, status: int) -> None:
        super().__init__(f"ranged part answered {status}")
        self.status = status
