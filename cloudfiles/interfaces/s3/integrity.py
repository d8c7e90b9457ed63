"""What a whole-object S3 GET can be checked against, and checking it while a large GET's parts arrive.

A GET names one of: a full-object CRC32C (``x-amz-checksum-crc32c``, asked for with
``x-amz-checksum-mode``; a single PUT or a FULL_OBJECT multipart upload stores one), the MD5 of a
single-part object (its ETag), or a multipart ETag, ``md5(md5(part 1) + ... + md5(part N))-N``. For a
split GET (parallel ranged parts into one buffer, see :mod:`cloudfiles.engine`), :class:`InFlightCheck`
is the request's ``on_part`` hook: it hashes the uploader's parts (or CRC32C slices) on the codec workers
as soon as the ranged parts covering them are in, so no hashing pass follows the download. The multipart
part size is a guess (:func:`~cloudfiles.checksums.s3_part_size_candidates`, first fit); when the guess
is wrong the caller falls back to trying every candidate and asking the server.
"""

from __future__ import annotations

import base64
import hashlib
import re
from typing import Any

from ... import engine
from ..._sink import pick_headers
from ...checksums import crc32c_concat, crc32c_view, s3_part_size_candidates
from ...partdigests import PartDigests, run_inline

__all__ = ["CRC32C_UNIT", "InFlightCheck", "b64_crc32c", "expected_hash", "scan_headers"]

# Dell ECS reports synthetic "<digits>-" ETags for objects written over NFS: not a hash, skip it.
_SYNTHETIC_ETAG = re.compile(r"^\d+-$")
_HEX_MD5 = re.compile(r"^[0-9a-fA-F]{32}$")
_MULTIPART_ETAG = re.compile(r"^[0-9a-fA-F]{32}-(\d+)$")

#: slices of a split GET whose CRC32Cs are computed as they arrive, then joined
CRC32C_UNIT = 8 * 1024 * 1024

# Response headers a GET needs, found in one pass over the raw lines.
_GET_HEADERS = {
    b"content-encoding": "content-encoding",
    b"etag": "etag",
    b"x-amz-server-side-encryption": "x-amz-server-side-encryption",
    b"x-amz-server-side-encryption-customer-algorithm": "x-amz-server-side-encryption-customer-algorithm",
    b"x-amz-checksum-crc32c": "x-amz-checksum-crc32c",
    b"x-amz-checksum-type": "x-amz-checksum-type",
}


def scan_headers(source: list[bytes] | engine.Response) -> dict[str, str]:
    """The headers a GET's integrity and decoding need (names lower-cased), from raw header lines or a
    response (read in place, no list of lines built)."""
    if isinstance(source, list):
        return pick_headers(source, _GET_HEADERS)
    return source.pick_headers(_GET_HEADERS)


def expected_hash(headers: dict[str, str]) -> tuple[str, str] | None:
    """What a whole object's bytes can be checked against: ``('crc32c', base64)``, ``('md5', hex)``,
    ``('multipart', etag)`` or None (nothing usable)."""
    crc = headers.get("x-amz-checksum-crc32c")
    # A whole-object CRC32C only: a composite one ("...-N", or checksum type COMPOSITE) covers parts.
    if crc and len(crc) == 8 and headers.get("x-amz-checksum-type", "").upper() != "COMPOSITE":
        return "crc32c", crc
    etag = headers.get("etag", "").strip().strip('"')
    if not etag:
        return None
    sse = headers.get("x-amz-server-side-encryption", "").lower()
    if sse.startswith("aws:kms") or "x-amz-server-side-encryption-customer-algorithm" in headers:
        return None  # the ETag of an SSE-KMS / SSE-C object is not its MD5
    if len(etag) == 32 and _HEX_MD5.match(etag):
        return "md5", etag
    if "-" not in etag or _SYNTHETIC_ETAG.match(etag):
        return None
    return "multipart", etag


def _md5_of(view: memoryview) -> bytes:
    return hashlib.md5(view, usedforsecurity=False).digest()  # an ETag check, not security


class InFlightCheck:
    """``Request.on_part`` hook of a whole-object GET: digests its parts as they arrive (see module doc).

    Nothing happens unless the engine splits the GET; the first part decides what to hash, from the
    first response's headers.
    """

    __slots__ = ("_digests", "_started", "expected", "part_size")

    def __init__(self, part_size: int) -> None:
        #: the part size to try first for a multipart ETag (the caller's, else the interface's)
        self.part_size = part_size
        self.expected: tuple[str, str] | None = None
        self._digests: PartDigests[Any] | None = None
        self._started = False

    def __call__(self, header_lines: list[bytes], buffer: bytes, start: int, end: int) -> None:
        if not self._started:
            self._started = True
            self._digests = self._plan(header_lines, len(buffer))
        if self._digests is not None:
            self._digests.arrived(buffer, start, end)

    def _plan(self, header_lines: list[bytes], size: int) -> PartDigests[Any] | None:
        self.expected = expected_hash(scan_headers(header_lines))
        if self.expected is None:
            return None
        kind, value = self.expected
        inline = run_inline(engine.gevent_patched())
        if kind == "crc32c":
            return PartDigests(size, CRC32C_UNIT, crc32c_view, inline=inline)
        match = _MULTIPART_ETAG.match(value)
        if kind != "multipart" or match is None:
            return None  # a single-part MD5 is one sequential pass: the facade checks it
        guesses = s3_part_size_candidates(size, int(match.group(1)), self.part_size)
        return PartDigests(size, guesses[0], _md5_of, inline=inline) if guesses else None

    def _results(self, kind: str, content: object) -> list[Any] | None:
        """The unit digests of ``content`` if they were computed in flight for a ``kind`` check."""
        if self._digests is None or self.expected is None or self.expected[0] != kind:
            return None
        return self._digests.results(content)

    def crc32c(self, content: object) -> int | None:
        """The CRC32C of ``content`` (the GET's body) if it was computed in flight, else None."""
        crcs = self._results("crc32c", content)
        if crcs is None or self._digests is None:
            return None
        unit, size = self._digests.unit, self._digests.size
        return crc32c_concat(crcs, (min(unit, size - lo) for lo in range(0, size, unit)))

    def multipart_etag(self, content: object) -> str | None:
        """The multipart ETag of ``content`` at the guessed part size (lower-case hex, ``-N``) if it was
        computed in flight, else None (not split, another buffer, or no guess fitted)."""
        md5s = self._results("multipart", content)
        if md5s is None:
            return None
        return f"{hashlib.md5(b''.join(md5s), usedforsecurity=False).hexdigest()}-{len(md5s)}"

    def cancel(self) -> None:
        """Drop queued digests (the result is not going to be checked)."""
        if self._digests is not None:
            self._digests.cancel()


def b64_crc32c(value: str) -> int | None:
    """A base64 CRC32C header value as an int; None if it is not 4 bytes of base64."""
    try:
        raw = base64.b64decode(value, validate=True)
    except ValueError:
        return None
    return int.from_bytes(raw, "big") if len(raw) == 4 else None
